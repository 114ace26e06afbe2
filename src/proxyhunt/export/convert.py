"""Per-rule condition conversion with pySigma backends, and the guards our targets need.

Each target maps Sigma field names to its own with a small processing pipeline built here
(one field map per log source category), instead of the backends' stock pipelines: those
add their own event filters (``EventID=1``, ``event_platform=Win``, a table name) that would
stack with ours into contradictions such as ``EventID=4688 AND EventID=1``, and most of them
only fire for ``product: windows`` while our rules are product-neutral. The category and
product filters are added by the target itself, once, next to the condition.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

from sigma.conversion.base import Backend
from sigma.conversion.deferred import DeferredQueryExpression
from sigma.exceptions import SigmaError
from sigma.processing.conditions import (
    ExcludeFieldCondition,
    IncludeFieldCondition,
    LogsourceCondition,
)
from sigma.processing.pipeline import ProcessingItem, ProcessingPipeline
from sigma.processing.transformations import (
    DetectionItemFailureTransformation,
    FieldMappingTransformation,
)
from sigma.rule import SigmaDetection, SigmaDetectionItem, SigmaRule

from proxyhunt.export.detection import ExportRule, RuleFlag, Uncovered

log = logging.getLogger("proxyhunt.export")

# category -> {Sigma field -> platform field}
FieldMap = Mapping[str, Mapping[str, str]]


class NotCovered(Exception):
    """The rule cannot be expressed on this target; the message says why."""


def field_pipeline(name: str, fields: FieldMap) -> ProcessingPipeline:
    """A pipeline that renames fields per category and refuses fields the platform lacks."""
    items: list[ProcessingItem] = []
    for category, mapping in fields.items():
        # The refusal runs first: after the mapping, field names are the platform's.
        items.append(
            ProcessingItem(
                identifier=f"proxyhunt_{category}_unmapped",
                transformation=DetectionItemFailureTransformation(
                    f"uses a field {name} has no equivalent for (mapped: {', '.join(mapping)})"
                ),
                rule_conditions=[LogsourceCondition(category=category)],
                field_name_conditions=[ExcludeFieldCondition(fields=list(mapping))],
            )
        )
        items.append(
            ProcessingItem(
                identifier=f"proxyhunt_{category}_fields",
                transformation=FieldMappingTransformation(_typed(mapping)),
                rule_conditions=[LogsourceCondition(category=category)],
                field_name_conditions=[IncludeFieldCondition(fields=list(mapping))],
            )
        )
    return ProcessingPipeline(name=f"proxyhunt {name} fields", priority=20, items=items)


def convert_rule(backend: Backend, rule: ExportRule, fields: FieldMap) -> str:
    """The rule's condition as one expression of the backend's language, or NotCovered."""
    if rule.category not in fields:
        raise NotCovered(f"category {rule.category} has no table/event type on this target")
    sigma = rule.sigma()
    if _has_keywords(sigma):
        # Keyword (field-less) searches become free-text searches that several backends render
        # as invalid or unbounded queries (KQL `"x"` alone is not a predicate); refuse them.
        raise NotCovered("keyword search without a field is not portable")
    missing = sorted(_fields(sigma) - set(fields[rule.category]))
    if missing:
        raise NotCovered(f"uses {', '.join(missing)}, which this platform's events do not carry")
    try:
        queries = backend.convert_rule(sigma)
    except SigmaError as exc:
        raise NotCovered(str(exc).split("\n")[0]) from exc
    if len(queries) != 1 or not isinstance(queries[0], str):
        raise NotCovered(f"condition converts to {len(queries)} queries, expected one")
    return queries[0]


def convert_all(
    rules: tuple[ExportRule, ...], convert: Callable[[ExportRule], str]
) -> tuple[list[RuleFlag], list[Uncovered]]:
    """Run ``convert(rule) -> str`` over the rules; NotCovered ones go to the second list."""
    flags: list[RuleFlag] = []
    uncovered: list[Uncovered] = []
    for rule in rules:
        try:
            condition = convert(rule)
        except NotCovered as exc:
            log.warning("export: %s: not covered: %s", rule.title, exc)
            uncovered.append(Uncovered(rule, str(exc)))
            continue
        flags.append(RuleFlag(f"rule_{len(flags) + 1}", rule, condition))
    return flags, uncovered


def convert_categories(
    backend_type: Callable[..., Backend],
    rules: tuple[ExportRule, ...],
    target: str,
    categories: Mapping[str, tuple[str, ...]],
) -> tuple[list[RuleFlag], list[Uncovered], dict[str, str]]:
    """Convert every rule with ``backend_type`` where each category's fields keep their Sigma
    names (the query's prelude renames the platform's columns); also the header's mapping."""
    fields = {cat: {name: name for name in names} for cat, names in categories.items()}
    backend = backend_type(processing_pipeline=field_pipeline(target, fields))

    def convert(rule: ExportRule) -> str:
        return bare_query(convert_rule(backend, rule, fields))

    flags, uncovered = convert_all(rules, convert)
    mapping = {cat: ", ".join(names) for cat, names in categories.items()}
    return flags, uncovered, mapping


def bare_query(query: str | DeferredQueryExpression) -> str:
    """Reject deferred parts (``| regex ...``): they cannot live inside an expression."""
    if not isinstance(query, str):
        raise NotCovered("the backend needs a separate pipeline stage for this condition")
    return query


def _fields(rule: SigmaRule) -> set[str]:
    return {f for det in rule.detection.detections.values() for f in _fields_in(det)}


def _fields_in(item: SigmaDetection | SigmaDetectionItem) -> set[str]:
    if isinstance(item, SigmaDetectionItem):
        return {item.field} if item.field else set()
    return {f for sub in item.detection_items for f in _fields_in(sub)}


def _has_keywords(rule: SigmaRule) -> bool:
    return any(_keywords_in(det) for det in rule.detection.detections.values())


def _keywords_in(item: SigmaDetection | SigmaDetectionItem) -> bool:
    if isinstance(item, SigmaDetectionItem):
        return item.field is None
    return any(_keywords_in(sub) for sub in item.detection_items)


def _typed(mapping: Mapping[str, str]) -> dict[str | None, str | list[str]]:
    # FieldMappingTransformation's annotation admits None keys and list values; ours are plain.
    return {name: target for name, target in mapping.items()}
