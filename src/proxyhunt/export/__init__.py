"""`proxyhunt export`: the rule pack and its scoring as queries for other platforms.

``export_text(detection, target)`` renders one target; ``load_detection(profile, rules)``
loads what to render. Targets live in :mod:`proxyhunt.export.registry`, one module each.
"""

from __future__ import annotations

from proxyhunt.export import registry
from proxyhunt.export.detection import Detection
from proxyhunt.export.load import load_detection


def export_text(det: Detection, target: str) -> str | bytes:
    """The detection rendered for ``target`` (bytes for archive outputs such as a zip)."""
    return registry.get(target).render(det)


__all__ = ["Detection", "export_text", "load_detection"]
