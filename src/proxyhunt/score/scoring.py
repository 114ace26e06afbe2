"""Turn the rules that matched one event into one triage hit, the way the reference does.

The reference sets one "1"/"0" flag per indicator, adds them up into ``suspicion_score``,
drops events that score 0, and names the hit after the first indicator that fired in a fixed
order. A profile (``rules/profiles/*.yml``) gives that order and the detection type of each
indicator; the rules say which indicator they raise (``proxyhunt: {indicator: ...}``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

from proxyhunt.model import Event

# Sigma levels, lowest first; a hit's severity is the highest level among its rules.
LEVELS = ("informational", "low", "medium", "high", "critical")


@dataclass(frozen=True)
class IndicatorSpec:
    name: str  # the column name, e.g. "is_netsh_proxy"
    detection_type: str  # e.g. "NetshPortProxy"
    weight: int = 1


@dataclass(frozen=True)
class Profile:
    """A named rule selection plus how its indicators score."""

    name: str
    description: str
    packs: tuple[str, ...]
    indicators: tuple[IndicatorSpec, ...]

    @property
    def indicator_names(self) -> tuple[str, ...]:
        return tuple(spec.name for spec in self.indicators)


class MatchedRule(Protocol):
    """What scoring needs to know of a rule that matched (see proxyhunt.engine)."""

    @property
    def id(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def indicator(self) -> str: ...
    @property
    def level(self) -> str: ...


@dataclass
class Hit:
    """One scored event: what the triage table shows, plus why."""

    event: Event
    indicators: dict[str, bool]  # every indicator of the profile, fired or not, in order
    detection_type: str
    suspicion_score: int
    severity: str
    rules: list[str] = field(default_factory=list)  # titles of the rules that matched
    # What the evidence says is forwarded where (proxyhunt.enrich), filled by the pipeline.
    forwards: list[str] = field(default_factory=list)

    @property
    def fired(self) -> list[str]:
        return [name for name, on in self.indicators.items() if on]


def score_event(event: Event, matched: Iterable[MatchedRule], profile: Profile) -> Hit | None:
    """Score ``event`` under ``profile``; None when no indicator of the profile fired."""
    matched = list(matched)
    fired = {rule.indicator for rule in matched}
    indicators = {spec.name: spec.name in fired for spec in profile.indicators}

    total = sum(spec.weight for spec in profile.indicators if indicators[spec.name])
    if total <= 0:
        return None

    detection_type = next(
        spec.detection_type for spec in profile.indicators if indicators[spec.name]
    )
    severity = max((rule.level for rule in matched), key=_level_rank, default="medium")
    rules = sorted({rule.title for rule in matched})
    return Hit(event, indicators, detection_type, total, severity, rules)


def _level_rank(level: str) -> int:
    return LEVELS.index(level) if level in LEVELS else LEVELS.index("medium")
