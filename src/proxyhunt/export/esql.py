"""Elastic ES|QL over ECS documents: the whole detection, scoring included, in one query."""

from __future__ import annotations

from proxyhunt.export.convert import bare_query, convert_all, convert_rule, field_pipeline
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
from proxyhunt.export.elastic import ECS_FIELDS, EsqlConditionBackend, ecs_rule_filter
from proxyhunt.export.platforms import ECS_TRIAGE
from proxyhunt.export.registry import Target, register

TARGET = "esql"
INDEX = "logs-*, winlogbeat-*"
ASSUMPTIONS = [
    f"indices `{INDEX}` with ECS documents from Winlogbeat/Elastic Agent Sysmon or Security"
    " 4688; event.code is the Windows event id; edit the FROM line for your indices",
    "string matches compare TO_LOWER(field) with a lower-cased pattern (ES|QL LIKE/RLIKE are"
    " case-sensitive, Sigma is not); regexes are translated to Lucene syntax",
    "ES|QL returns at most 10000 rows per query by default (LIMIT below)",
]
TRIAGE = {"_timeutc": "`@timestamp`", **ECS_TRIAGE}


def render(det: Detection) -> str:
    backend = EsqlConditionBackend(processing_pipeline=field_pipeline(TARGET, ECS_FIELDS))

    def convert(rule: ExportRule) -> str:
        return bare_query(convert_rule(backend, rule, ECS_FIELDS))

    flags, uncovered = convert_all(det.rules, convert)
    mapping = {f"{c}.{k}": v for c, m in ECS_FIELDS.items() for k, v in m.items()}
    header = header_lines(det, TARGET, ASSUMPTIONS, mapping, flags, uncovered)
    return comment_block(header, "//") + "\n" + "\n".join(_query(det, flags)) + "\n"


def _any(names: list[str]) -> str:
    if not names:
        return "0"
    return names[0] if len(names) == 1 else f"GREATEST({', '.join(names)})"


def _query(det: Detection, flags: list[RuleFlag]) -> list[str]:
    filters = sorted({f"({ecs_rule_filter(f.rule, 'esql')})" for f in flags})
    lines = [f"FROM {INDEX}", f"| WHERE {' OR '.join(filters) or 'FALSE'}"]
    for flag in flags:
        cond = f"({ecs_rule_filter(flag.rule, 'esql')}) AND ({flag.condition})"
        lines.append(f"| EVAL {flag.name} = CASE({cond}, 1, 0)")
    for indicator, names in indicator_sources(det, flags).items():
        lines.append(f"| EVAL {indicator} = {_any(names)}")
    score = " + ".join(f"{w} * {i}" for i, w in weights(det).items() if w) or "0"
    lines += [f"| EVAL suspicion_score = {score}", "| WHERE suspicion_score > 0"]
    dtype = ", ".join(f'{i} == 1, "{t}"' for i, t in detection_order(det))
    lines.append(f'| EVAL detection_type = CASE({dtype}, "Unknown")')
    sev = ", ".join(f'{_any(ns)} == 1, "{lvl}"' for lvl, ns in severity_order(flags))
    lines.append(
        f'| EVAL severity = CASE({sev}, "medium")' if sev else '| EVAL severity = "medium"'
    )
    lines.append("| EVAL " + ", ".join(f"{col} = {expr}" for col, expr in TRIAGE.items()))
    lines.append(f"| KEEP {', '.join(det.columns)}")
    lines.append("| SORT _timeutc DESC")
    lines.append("| LIMIT 10000")
    return lines


register(Target(TARGET, "Elastic ES|QL over ECS (scored)", render, ".esql"))
