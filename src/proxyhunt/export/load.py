"""Load a profile and its rules for export, through the project's rule loader.

:func:`proxyhunt.rules.loader.load_rules` validates the files and extends the profile with the
indicators of ``--rules`` files, so ``export`` sees exactly the detection ``scan`` runs. Each
rule is kept as its dict form: pySigma pipelines change a parsed rule in place, so every
conversion starts from a fresh copy, and the ``sigma`` target writes the dict back out.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sigma.rule import SigmaRule

from proxyhunt.export.detection import Detection, ExportRule
from proxyhunt.rules.loader import load_profile, load_rules

log = logging.getLogger("proxyhunt.export")


def load_detection(profile: str = "default", extra: Sequence[str] = ()) -> Detection:
    """Profile ``profile`` (name or file) with its packs' rules plus the ``extra`` rule paths."""
    rules, prof = load_rules(load_profile(profile), list(extra))
    exported = tuple(_export_rule(rule) for rule in rules)
    log.info("export: %d rules for profile %s", len(exported), prof.name)
    return Detection(profile=prof, rules=exported)


def _export_rule(rule: SigmaRule) -> ExportRule:
    data = _portable_dict(rule)
    custom = rule.custom_attributes.get("proxyhunt") or {}
    return ExportRule(
        id=str(rule.id) if rule.id else rule.title,
        title=rule.title,
        indicator=str(custom["indicator"]),
        level=rule.level.name.lower() if rule.level else "medium",
        category=rule.logsource.category or "other",
        product=rule.logsource.product,
        path=Path(str(rule.source.path)) if rule.source and rule.source.path else None,
        data=data,
    )


def _portable_dict(rule: SigmaRule) -> dict[str, Any]:
    data = copy.deepcopy(rule.to_dict())
    # to_dict() writes where the rule was loaded from as `logsource.source`; that is a local
    # path, not part of the rule, and must not leak into exported rules.
    data.get("logsource", {}).pop("source", None)
    return data
