"""Scoring: the indicators that fired on an event -> suspicion_score, detection_type, severity."""

from proxyhunt.score.scoring import Hit, IndicatorSpec, Profile, score_event

__all__ = ["Hit", "IndicatorSpec", "Profile", "score_event"]
