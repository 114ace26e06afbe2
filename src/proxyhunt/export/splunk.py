"""Splunk SPL over Sysmon + Security 4688 (``splunk``) and over the CIM Endpoint model
(``splunk-cim``).

The pySigma Splunk backend writes *search* syntax (``Image="*netsh.exe*"``, ``| regex``
stages, ``rex`` tricks for OR-ed regexes). Search syntax cannot sit inside ``eval``, and the
per-rule 0/1 flags the scoring needs are ``eval`` expressions, so this module converts the
conditions with a small eval-expression backend built on pySigma's text backend instead:
every string match becomes ``match(coalesce(field, ""), "(?i)...")`` (case-insensitive as in
Sigma; ``coalesce`` keeps a missing field a non-match, so ``NOT`` behaves as in Sigma).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar

from sigma.conditions import (
    ConditionAND,
    ConditionFieldEqualsValueExpression,
    ConditionNOT,
    ConditionOR,
)
from sigma.conversion.base import TextQueryBackend
from sigma.conversion.state import ConversionState
from sigma.rule import SigmaRule
from sigma.types import SigmaRegularExpressionFlag, SigmaString, SpecialChars

from proxyhunt.export import platforms as pf
from proxyhunt.export.convert import convert_categories
from proxyhunt.export.detection import (
    Detection,
    ExportRule,
    RuleFlag,
    detection_order,
    header_lines,
    indicator_sources,
    severity_order,
    weights,
)
from proxyhunt.export.registry import Target, register
from proxyhunt.export.types import regex_value, string_value


class SplEvalBackend(TextQueryBackend):
    """Sigma conditions as SPL ``eval`` boolean expressions."""

    name: ClassVar[str] = "proxyhunt SPL eval"
    formats: ClassVar[dict[str, str]] = {"default": "SPL eval expression"}
    precedence: ClassVar[tuple[Any, Any, Any]] = (ConditionNOT, ConditionAND, ConditionOR)
    parenthesize = True
    group_expression: ClassVar[str] = "({expr})"
    token_separator: str = " "  # noqa: S105 (a query token, not a secret)
    or_token: ClassVar[str] = "OR"  # noqa: S105 (a query token, not a secret)
    and_token: ClassVar[str] = "AND"  # noqa: S105 (a query token, not a secret)
    not_token: ClassVar[str] = "NOT"  # noqa: S105 (a query token, not a secret)
    eq_token: ClassVar[str] = "=="  # noqa: S105 (a query token, not a secret)
    str_quote: ClassVar[str] = '"'
    escape_char: ClassVar[str] = "\\"
    wildcard_multi: ClassVar[str] = "*"
    wildcard_single: ClassVar[str] = "?"
    field_null_expression: ClassVar[str] = "isnull({field})"
    convert_or_as_in: ClassVar[bool] = False
    convert_and_as_in: ClassVar[bool] = False

    def convert_condition_field_eq_val_str(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> Any:
        return _match(cond.field, "(?i)" + _sigma_regex(string_value(cond)))

    def convert_condition_field_eq_val_str_case_sensitive(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> Any:
        return _match(cond.field, _sigma_regex(string_value(cond)))

    def convert_condition_field_eq_val_re(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> Any:
        value = regex_value(cond)
        flags = value.flags
        prefix = "(?i)" if SigmaRegularExpressionFlag.IGNORECASE in flags else ""
        prefix += "(?m)" if SigmaRegularExpressionFlag.MULTILINE in flags else ""
        prefix += "(?s)" if SigmaRegularExpressionFlag.DOTALL in flags else ""
        return _match(cond.field, prefix + str(value.regexp))

    def convert_condition_field_eq_val_num(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> Any:
        return f'tostring({cond.field})=="{cond.value}"'

    def finalize_query_default(
        self, rule: SigmaRule, query: Any, index: int, state: ConversionState
    ) -> Any:
        return query


def _sigma_regex(value: SigmaString) -> str:
    parts = []
    for part in value.s:
        if part == SpecialChars.WILDCARD_MULTI:
            parts.append(".*")
        elif part == SpecialChars.WILDCARD_SINGLE:
            parts.append(".")
        else:
            parts.append(re.escape(str(part)))
    regex = "^" + "".join(parts) + "$"
    # An unanchored search is what contains/startswith/endswith mean; drop the `^.*`/`.*$`.
    regex = regex.removeprefix("^.*")
    return regex[:-3] if regex.endswith(".*$") else regex


def _match(field: str, regex: str) -> str:
    return f'match(coalesce({field}, ""), {_spl_string("(?s)" + regex)})'


def _spl_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


# --- Sysmon + 4688 --------------------------------------------------------------------------

SPLUNK_SEARCH = (
    '(index=* source="XmlWinEventLog:Microsoft-Windows-Sysmon/Operational"'
    " EventCode IN (1, 12, 13, 17))"
    ' OR (index=* source="XmlWinEventLog:Security" EventCode=4688)'
)
SPLUNK_PRELUDE = [
    '| eval SigmaCategory=case(EventCode==4688 OR EventCode==1, "process_creation",'
    ' EventCode==13, "registry_set", EventCode==12 AND like(EventType, "Delete%"),'
    ' "registry_delete", EventCode==12, "registry_add", EventCode==17, "pipe_created",'
    ' true(), "other")',
    # ParentProcessId first: in 4688 `ProcessId` is the creator, reused below for the new one.
    "| eval ParentProcessId=if(EventCode==4688, ProcessId, ParentProcessId),"
    " ProcessId=if(EventCode==4688, NewProcessId, ProcessId),"
    " Image=if(EventCode==4688, NewProcessName, Image),"
    " ParentImage=if(EventCode==4688, ParentProcessName, ParentImage),"
    ' User=if(EventCode==4688, SubjectDomainName."\\\\".SubjectUserName, User)',
]
SPLUNK_FIELDS: dict[str, tuple[str, ...]] = {
    pf.PROCESS: (
        "Image", "CommandLine", "ParentImage", "ParentCommandLine", "OriginalFileName", "User",
        "Computer", "ProcessId", "ParentProcessId", "CurrentDirectory",
    ),
    pf.REG_SET: ("TargetObject", "Details", "EventType", "Image", "User", "Computer"),
    pf.REG_ADD: ("TargetObject", "EventType", "Image", "User", "Computer"),
    pf.REG_DELETE: ("TargetObject", "EventType", "Image", "User", "Computer"),
    pf.PIPE: ("PipeName", "EventType", "Image", "User", "Computer"),
}  # fmt: skip
SPLUNK_TRIAGE = {
    "_timeutc": 'strftime(_time, "%Y-%m-%dT%H:%M:%S.%3QZ")',
    "ComputerName": "Computer",
    "UserName": "User",
    "ImageFileName": "Image",
    "ParentBaseFileName": 'replace(ParentImage, "^.*[\\\\\\\\/]", "")',
    "TargetProcessId": "ProcessId",
    "ContextProcessId": "ParentProcessId",
}
SPLUNK_ASSUMPTIONS = [
    "Sysmon via the Splunk Add-on for Sysmon and 4688 via the Splunk Add-on for Windows, both"
    " as XmlWinEventLog (EventData field names); edit index= and source= on the first line",
    "4688 needs command-line auditing; it has no OriginalFileName/ParentCommandLine",
    "_timeutc is rendered in the search's time zone (set your user time zone to UTC)",
    "no network events are searched: network_connection rules are not covered",
]

# --- CIM Endpoint.Processes -----------------------------------------------------------------

CIM_SEARCH = (
    "| tstats summariesonly=false count from datamodel=Endpoint.Processes"
    " by _time span=1s Processes.dest Processes.user Processes.process_path Processes.process"
    " Processes.parent_process_path Processes.parent_process Processes.parent_process_name"
    " Processes.original_file_name Processes.process_id Processes.parent_process_id"
)
CIM_PRELUDE = [
    '| rename "Processes.*" as "*"',
    '| eval SigmaCategory="process_creation", Image=process_path, CommandLine=process,'
    " ParentImage=parent_process_path, ParentCommandLine=parent_process,"
    " OriginalFileName=original_file_name, User=user, Computer=dest,"
    " ProcessId=process_id, ParentProcessId=parent_process_id",
]
CIM_FIELDS: dict[str, tuple[str, ...]] = {
    pf.PROCESS: (
        "Image", "CommandLine", "ParentImage", "ParentCommandLine", "OriginalFileName", "User",
        "Computer", "ProcessId", "ParentProcessId",
    ),
}  # fmt: skip
CIM_TRIAGE = {**SPLUNK_TRIAGE, "ParentBaseFileName": "parent_process_name"}
CIM_ASSUMPTIONS = [
    "the CIM Endpoint data model (Processes dataset) populated by your add-ons; accelerate"
    " it and set summariesonly=true for speed",
    "this variant reads process starts only: registry and pipe rules are not covered here"
    " (use the `splunk` target, which searches Sysmon directly)",
    "_timeutc is rendered in the search's time zone (set your user time zone to UTC)",
]


def _render(
    det: Detection,
    target: str,
    search: str,
    prelude: list[str],
    categories: Mapping[str, tuple[str, ...]],
    triage: Mapping[str, str],
    assumptions: list[str],
) -> str:
    flags, uncovered, mapping = convert_categories(SplEvalBackend, det.rules, target, categories)
    header = header_lines(det, target, assumptions, mapping, flags, uncovered)
    lines = [_comment(header), search, *prelude, *_scoring(det, flags, triage)]
    return "\n".join(lines) + "\n"


def _comment(lines: list[str]) -> str:
    """An SPL comment block (triple backticks); backticks inside are replaced."""
    body = "\n".join(line.replace("```", "'''") for line in lines)
    return f"```\n{body}\n```"


def _rule_filter(rule: ExportRule) -> str:
    return f'SigmaCategory=="{rule.category}"'


def _any(names: list[str]) -> str:
    if not names:
        return "0"
    return names[0] if len(names) == 1 else f"max({', '.join(names)})"


def _scoring(det: Detection, flags: list[RuleFlag], triage: Mapping[str, str]) -> list[str]:
    lines = [
        f"| eval {f.name}=if(({_rule_filter(f.rule)}) AND ({f.condition}), 1, 0)" for f in flags
    ]
    lines += [f"| eval {ind}={_any(names)}" for ind, names in indicator_sources(det, flags).items()]
    score = " + ".join(f"{w} * {i}" for i, w in weights(det).items() if w) or "0"
    lines += [f"| eval suspicion_score={score}", "| where suspicion_score > 0"]
    dtype = ", ".join(f'{i}==1, "{t}"' for i, t in detection_order(det))
    lines.append(f'| eval detection_type=case({dtype}, true(), "Unknown")')
    sev = ", ".join(f'{_any(ns)}==1, "{lvl}"' for lvl, ns in severity_order(flags))
    lines.append(f'| eval severity=case({sev}, true(), "medium")')
    lines.append("| eval " + ", ".join(f"{col}={expr}" for col, expr in triage.items()))
    lines.append("| sort 0 - _time")
    lines.append(f"| table {' '.join(det.columns)}")
    return lines


def render_sysmon(det: Detection) -> str:
    return _render(
        det, "splunk", SPLUNK_SEARCH, SPLUNK_PRELUDE, SPLUNK_FIELDS, SPLUNK_TRIAGE,
        SPLUNK_ASSUMPTIONS,
    )  # fmt: skip


def render_cim(det: Detection) -> str:
    return _render(
        det, "splunk-cim", CIM_SEARCH, CIM_PRELUDE, CIM_FIELDS, CIM_TRIAGE, CIM_ASSUMPTIONS
    )


register(Target("splunk", "Splunk SPL over Sysmon and Security 4688", render_sysmon, ".spl"))
register(Target("splunk-cim", "Splunk SPL over the CIM Endpoint data model", render_cim, ".spl"))
