"""Shared KQL assembly for the Microsoft Sentinel and Defender XDR targets.

Both targets first bring every table they read into one shape with Sigma's field names
(``Image``, ``CommandLine``, ``TargetObject``, ``PipeName`` ...) plus a ``SigmaCategory``
column, in a ``let`` prelude. The rule conditions, converted by the pySigma Kusto backend,
then use Sigma names directly, and the category filter is added once per rule by us. This is
why no stock pipeline is stacked: the Sentinel and XDR pipelines each add their own table and
event filters, and combining them is how ``EventID=4688 and EventID=1`` contradictions arise.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sigma.backends.kusto import KustoBackend
from sigma.conditions import ConditionFieldEqualsValueExpression
from sigma.conversion.state import ConversionState
from sigma.rule import SigmaRule
from sigma.types import SigmaString, SpecialChars

from proxyhunt.export.convert import convert_categories
from proxyhunt.export.detection import (
    Detection,
    ExportRule,
    RuleFlag,
    comment_block,
    detection_order,
    header_lines,
    indicator_sources,
    severity_order,
    weights,
)


class KqlConditionBackend(KustoBackend):
    """The Kusto backend, fixed where its output would differ from Sigma semantics.

    A value with a wildcard in the middle (``*\\frpc*.ini``) is rendered by the backend as
    ``contains "\\frpc" and contains ".ini"``, which loses the order and ``?``; we emit an
    anchored, case-insensitive ``matches regex`` instead, and keep only wildcard-free values
    in ``in~`` lists.
    """

    in_expressions_allow_wildcards = False

    def convert_condition_field_eq_val_str(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> Any:
        value = cond.value
        if isinstance(value, SigmaString) and _inner_wildcard(value):
            field = self.escape_and_quote_field(cond.field)
            return f'{field} matches regex "{_kql_string(_wildcard_regex(value))}"'
        return super().convert_condition_field_eq_val_str(cond, state)

    def finalize_query_default(
        self, rule: SigmaRule, query: Any, index: int, state: ConversionState
    ) -> Any:
        return query


def _inner_wildcard(value: SigmaString) -> bool:
    parts = value.s
    inner = parts[1:-1] if len(parts) > 2 else ()
    edges = [p for p in (parts[0], parts[-1]) if p == SpecialChars.WILDCARD_SINGLE]
    return any(isinstance(p, SpecialChars) for p in inner) or bool(edges)


def _wildcard_regex(value: SigmaString) -> str:
    out = []
    for part in value.s:
        if part == SpecialChars.WILDCARD_MULTI:
            out.append(".*")
        elif part == SpecialChars.WILDCARD_SINGLE:
            out.append(".")
        else:
            out.append(re.escape(str(part)))
    return "(?is)^" + "".join(out) + "$"


def _kql_string(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def render_kql(
    det: Detection,
    target: str,
    prelude: list[str],
    categories: Mapping[str, tuple[str, ...]],
    assumptions: list[str],
    triage: Mapping[str, str],
) -> str:
    """The whole detection as one KQL query over the normalised ``events`` of ``prelude``."""
    flags, uncovered, mapping = convert_categories(
        KqlConditionBackend, det.rules, target, categories
    )
    header = header_lines(det, target, assumptions, mapping, flags, uncovered)
    lines = [*prelude, "events", *_scoring(det, flags), *_output(det, flags, triage)]
    return comment_block(header, "//") + "\n" + "\n".join(lines) + "\n"


def _rule_filter(rule: ExportRule) -> str:
    where = f'SigmaCategory == "{rule.category}"'
    return f'{where} and SigmaProduct == "{rule.product}"' if rule.product else where


def _scoring(det: Detection, flags: list[RuleFlag]) -> list[str]:
    cats = sorted({f.rule.category for f in flags})
    lines = [
        f"| where SigmaCategory in ({', '.join(repr(c) for c in cats)})"
        if cats
        else "| where false"
    ]
    for flag in flags:
        lines.append(
            f"| extend {flag.name} = iff(({_rule_filter(flag.rule)}) and ({flag.condition}), 1, 0)"
        )
    for indicator, sources in indicator_sources(det, flags).items():
        lines.append(f"| extend {indicator} = {_max(sources)}")
    score = " + ".join(f"{w} * {i}" for i, w in weights(det).items() if w) or "0"
    lines.append(f"| extend suspicion_score = {score}")
    lines.append("| where suspicion_score > 0")
    return lines


def _max(names: list[str]) -> str:
    if not names:
        return "0"
    return names[0] if len(names) == 1 else f"max_of({', '.join(names)})"


def _output(det: Detection, flags: list[RuleFlag], triage: Mapping[str, str]) -> list[str]:
    dtype = ", ".join(f'{i} == 1, "{t}"' for i, t in detection_order(det))
    severity = ", ".join(f'{_max(ns)} == 1, "{lvl}"' for lvl, ns in severity_order(flags))
    lines = [
        f'| extend detection_type = case({dtype}, "Unknown")',
        f'| extend severity = case({severity}, "medium")'
        if severity
        else '| extend severity = "medium"',
    ]
    extend = ", ".join(f"{col} = {expr}" for col, expr in triage.items())
    lines.append(f"| extend {extend}")
    lines.append(f"| project {', '.join(det.columns)}")
    lines.append("| sort by _timeutc desc")
    return lines


@dataclass(frozen=True)
class Leg:
    """One source table of the ``events`` union and how it becomes Sigma-named columns."""

    table: str
    where: str | None
    assign: tuple[tuple[str, str], ...]  # (column, KQL expression), evaluated in order
    native: tuple[str, ...] = ()  # output columns the table already has under that name


def union_prelude(legs: list[Leg], columns: tuple[str, ...]) -> list[str]:
    """``let events = union isfuzzy=true (...), (...);`` with the same columns in every leg.

    A leg gets ``""`` for a column its table lacks: ``project`` of a column that does not
    exist is an error in KQL, and ``""`` is what KQL string functions see for a null anyway.
    """
    lines = ["let events = union isfuzzy=true"]
    for number, leg in enumerate(legs, 1):
        lines.append(f"  ({leg.table}")
        if leg.where:
            lines.append(f"    | where {leg.where}")
        given = {name for name, _ in leg.assign} | set(leg.native)
        assign = [*leg.assign, *((c, '""') for c in columns if c not in given)]
        for name, expr in assign:
            lines.append(f"    | extend {name} = {expr}")
        end = ")," if number < len(legs) else ");"
        lines.append(f"    | project {', '.join(columns)}{end}")
    return lines
