"""A compiled rule set: rules indexed by log source, matched against normalised events."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sigma.rule import SigmaRule, SigmaRuleBase

from proxyhunt.engine.compiler import (
    DEFAULT_LEVEL,
    CompileContext,
    EventView,
    Node,
    compile_condition,
    rule_indicator,
)
from proxyhunt.engine.matchers import Literals
from proxyhunt.errors import RuleError
from proxyhunt.model import Event

log = logging.getLogger("proxyhunt.engine")


@dataclass(frozen=True)
class CompiledRule:
    """A rule ready to evaluate; satisfies :class:`proxyhunt.score.scoring.MatchedRule`."""

    id: str
    title: str
    indicator: str
    level: str
    category: str | None
    product: str | None
    service: str | None
    source_path: str | None
    evaluate: Node = field(repr=False, compare=False)
    literals: Literals = field(repr=False, compare=False, default=None)

    def applies_to(self, category: str, product: str, service: str) -> bool:
        """Logsource check: category (and product) when the rule has a category, else
        product and service; a field the rule leaves out matches anything."""
        if self.product is not None and self.product != product.lower():
            return False
        if self.category is not None:
            return self.category == category.lower()
        return self.service is None or self.service == service.lower()


class RuleSet:
    """Compiled rules, indexed so an event is only tested against rules for its log source."""

    def __init__(self, rules: Sequence[CompiledRule]) -> None:
        self._rules = tuple(rules)
        self._index: dict[tuple[str, str, str], tuple[CompiledRule, ...]] = {}

    @property
    def rules(self) -> tuple[CompiledRule, ...]:
        return self._rules

    def __len__(self) -> int:
        return len(self._rules)

    def rules_for(self, category: str, product: str, service: str = "") -> tuple[CompiledRule, ...]:
        """The rules whose log source covers events of this category/product/service."""
        key = (category, product, service)
        try:
            return self._index[key]
        except KeyError:
            selected = tuple(r for r in self._rules if r.applies_to(category, product, service))
            self._index[key] = selected
            return selected

    def match(self, event: Event) -> list[CompiledRule]:
        """The rules that match ``event``, in rule-set order."""
        candidates = self.rules_for(event.category, event.product, event.service)
        if not candidates:
            return []
        view = EventView(event.fields)
        return [rule for rule in candidates if rule.evaluate(view)]

    def required_literals(self) -> dict[str, frozenset[str] | None]:
        """Per rule id, literals at least one of which a matching event must contain.

        Guarantee: if the set ``S`` for a rule is not None, then for every event the rule
        matches there is an ``s`` in ``S`` and a field value ``v`` of that event (``v`` not
        None) with ``s in v.casefold()``. Hence ``s`` also occurs in any text that contains
        every casefolded field value, such as ``"\\n".join(v.casefold() for v in values)``.
        The literals are casefolded and non-empty. An event containing none of them can be
        skipped for that rule; an event containing one may still not match.

        None means no such set could be derived (e.g. a rule that is only ``not ...``, ``null``
        or ``exists`` tests, numeric or network comparisons, or a regex the analysis does not
        understand): the rule must always be evaluated.
        """
        return {rule.id: rule.literals for rule in self._rules}


def compile_rules(rules: Sequence[SigmaRuleBase]) -> RuleSet:
    """Compile pySigma rules; raises RuleError listing every rule that cannot be evaluated."""
    compiled: list[CompiledRule] = []
    problems: list[str] = []
    seen: dict[str, str] = {}
    for rule in rules:
        result, reasons = _compile_one(rule)
        if result is not None and result.id in seen:
            if isinstance(rule, SigmaRule) and rule.id is not None:
                reasons.append(f"duplicate rule id {result.id} (also in {seen[result.id]})")
            else:
                # Rules without an id are keyed by name or title, made unique here.
                result = replace(result, id=_unique(result.id, seen))
        if reasons:
            problems.append(f"  - {_describe(rule)}: " + "; ".join(reasons))
            continue
        if result is not None:
            seen[result.id] = result.source_path or "?"
            compiled.append(result)
            _warn_impossible_fields(rule, result.id)
    if problems:
        raise RuleError(
            f"{len(problems)} rule(s) cannot be evaluated by the local engine:\n"
            + "\n".join(problems)
            + "\nRewrite these rules or remove them from the profile's packs / --rules."
        )
    log.debug("compiled %d rules", len(compiled))
    return RuleSet(compiled)


# Security's Windows Filtering Platform events name connection facts differently from
# Sysmon; a rule for them written with Sysmon's names can never match (field case C25,
# SigmaHQ fixed several such rules).
_WFP_EVENT_IDS = frozenset({"5154", "5155", "5156", "5157", "5158", "5159"})
_WFP_NAMES = {
    "DestinationPort": "DestPort",
    "DestinationIp": "DestAddress",
    "SourceIp": "SourceAddress",
    "Image": "Application",
    "ProcessId": "ProcessID",
}


def _warn_impossible_fields(rule: SigmaRuleBase, rule_id: str) -> None:
    """Warn when a rule for Security WFP events uses field names those events never have."""
    if not isinstance(rule, SigmaRule):
        return
    items = [
        item
        for detection in rule.detection.detections.values()
        for item in _detection_items(detection)
    ]
    _warn_drive_letters(items, rule_id)
    if rule.logsource.service != "security":
        return
    event_ids = {str(v) for item in items if item.field == "EventID" for v in item.value}
    if not event_ids & _WFP_EVENT_IDS:
        return
    wrong = sorted({item.field for item in items if item.field in _WFP_NAMES})
    if wrong:
        renamed = ", ".join(f"{name} is {_WFP_NAMES[name]}" for name in wrong)
        log.warning(
            "rule %s: %s never occur in Security events %s (there %s): it cannot match them",
            rule_id,
            ", ".join(wrong),
            "/".join(sorted(event_ids & _WFP_EVENT_IDS)),
            renamed,
        )


def _warn_drive_letters(items: list[Any], rule_id: str) -> None:
    """Falcon writes images as device paths: a drive-letter anchor never holds there (C14)."""
    anchored = sorted(
        {
            item.field
            for item in items
            if item.field in _IMAGE_FIELDS and any(_DRIVE.match(str(value)) for value in item.value)
        }
    )
    if anchored:
        log.warning(
            "rule %s: %s anchored on a drive letter cannot match Falcon events, which name "
            "images by device path (\\Device\\HarddiskVolumeN\\...)",
            rule_id,
            ", ".join(anchored),
        )


_IMAGE_FIELDS = frozenset({"Image", "ParentImage"})
_DRIVE = re.compile(r"[A-Za-z]:\\")


def _detection_items(detection: Any) -> list[Any]:
    """Every field item of a detection, through nested detections (lists of maps)."""
    found: list[Any] = []
    for item in getattr(detection, "detection_items", []):
        if hasattr(item, "detection_items"):
            found.extend(_detection_items(item))
        else:
            found.append(item)
    return found


def _compile_one(rule: SigmaRuleBase) -> tuple[CompiledRule | None, list[str]]:
    if not isinstance(rule, SigmaRule):
        kind = type(rule).__name__.removeprefix("Sigma")
        return None, [f"{kind} rules are not supported (only single-event detection rules)"]
    if rule.errors:
        return None, [str(err) for err in rule.errors]
    ctx = CompileContext()
    condition = compile_condition(rule, ctx)
    if ctx.problems:
        return None, ctx.problems
    logsource = rule.logsource
    return (
        CompiledRule(
            id=_rule_id(rule),
            title=rule.title,
            indicator=rule_indicator(rule),
            level=str(rule.level) if rule.level is not None else DEFAULT_LEVEL,
            category=_lower(logsource.category),
            product=_lower(logsource.product),
            service=_lower(logsource.service),
            source_path=str(rule.source.path) if rule.source is not None else None,
            evaluate=condition.node,
            literals=condition.literals,
        ),
        [],
    )


def _rule_id(rule: SigmaRule) -> str:
    if rule.id is not None:
        return str(rule.id)
    return rule.name or rule.title


def _unique(key: str, seen: dict[str, str]) -> str:
    number = 2
    while f"{key}#{number}" in seen:
        number += 1
    return f"{key}#{number}"


def _lower(value: str | None) -> str | None:
    return value.lower() if value else None


def _describe(rule: SigmaRuleBase) -> str:
    where = f" ({rule.source.path})" if rule.source is not None else ""
    return f"{rule.title or rule.name or rule.id!s}{where}"
