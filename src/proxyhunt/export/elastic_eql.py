"""Elastic EQL over ECS documents: one query per indicator, plus one for any indicator.

EQL filters events but cannot compute columns, so the score cannot live in the query. The
export therefore writes one EQL query per indicator (create one Elastic rule each, with the
indicator's name and weight as tags/risk score); an event's suspicion_score is the sum of the
weights of the indicator queries it matches and its detection type the first of them in
profile order -- the header spells this out and the tests recompute it that way.
"""

from __future__ import annotations

from proxyhunt.export.convert import bare_query, convert_all, convert_rule, field_pipeline
from proxyhunt.export.detection import (
    Detection,
    ExportRule,
    RuleFlag,
    comment_block,
    header_lines,
    indicator_sources,
    weights,
)
from proxyhunt.export.elastic import ECS_FIELDS, EqlConditionBackend, ecs_rule_filter
from proxyhunt.export.registry import Target, register

TARGET = "elastic-eql"
SECTION = "// ==== "  # a line starting with this opens a query section: name then details
ASSUMPTIONS = [
    "index pattern with ECS documents from Winlogbeat/Elastic Agent Sysmon or Security"
    " 4688 (e.g. winlogbeat-*, logs-windows.*); event.code is the Windows event id",
    "EQL has no computed columns: each section below is one query; run all of them and add"
    " up the weights of the indicator queries an event (_id) matches to get suspicion_score",
    "Elastic evaluates `regex`/`regex~` with Lucene regex (anchored, no \\b or (?i)): the"
    " patterns here are already translated; `regex` is case-sensitive, `regex~` is not",
    "a `not` over a field the event lacks does not match in EQL (NULL), while in Sigma it"
    " does; rules with such conditions can miss events here",
    "triage columns are the documents' own fields: @timestamp, host.name, user.name,"
    " process.executable, process.command_line, process.parent.name, process.pid,"
    " process.parent.pid",
]


def render(det: Detection) -> str:
    backend = EqlConditionBackend(processing_pipeline=field_pipeline(TARGET, ECS_FIELDS))

    def convert(rule: ExportRule) -> str:
        return bare_query(convert_rule(backend, rule, ECS_FIELDS))

    flags, uncovered = convert_all(det.rules, convert)
    mapping = {f"{c}.{k}": v for c, m in ECS_FIELDS.items() for k, v in m.items()}
    header = header_lines(det, TARGET, ASSUMPTIONS, mapping, flags, uncovered)
    return comment_block(header, "//") + "\n\n" + "\n\n".join(_sections(det, flags)) + "\n"


def _rule_clause(flag: RuleFlag) -> str:
    return f"({ecs_rule_filter(flag.rule, 'eql')} and ({flag.condition}))"


def _sections(det: Detection, flags: list[RuleFlag]) -> list[str]:
    by_name = {flag.name: flag for flag in flags}
    order = {spec.name: (n, spec.detection_type) for n, spec in enumerate(det.profile.indicators)}
    sections = []
    for indicator, names in indicator_sources(det, flags).items():
        if not names or indicator not in order:
            continue
        position, dtype = order[indicator]
        weight = weights(det)[indicator]
        title = f"{indicator} detection_type={dtype} order={position + 1} weight={weight}"
        body = " or\n  ".join(_rule_clause(by_name[name]) for name in names)
        sections.append(f"{SECTION}{title}\nany where\n  {body}")
    everything = " or\n  ".join(_rule_clause(flag) for flag in flags) or "false"
    sections.append(f"{SECTION}any_indicator (all hits, unscored)\nany where\n  {everything}")
    return sections


register(Target(TARGET, "Elastic EQL over ECS (one query per indicator)", render, ".eql"))
