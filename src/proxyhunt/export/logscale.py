"""CrowdStrike Falcon LogScale (CQL) over Falcon events.

Per-rule filters come from the pySigma CrowdStrike backend; this module turns them into CQL
that scores like ``proxyhunt scan``: ``case { <filter> | rule_N := 1 ; * | rule_N := 0 ; }``
per rule, the same for indicators, ``:=`` arithmetic for the score, ``test()`` to keep hits,
``formatTime()`` for ``_timeutc``, ``table([...])`` and ``sort(..., order=desc)``. None of
the reference query's Splunk idioms (``eval``, ``where``, ``match()``, ``true()``) appear.
"""

from __future__ import annotations

import re
from typing import Any

from sigma.backends.crowdstrike import LogScaleBackend
from sigma.conversion.state import ConversionState
from sigma.rule import SigmaRule
from sigma.types import SigmaRegularExpression

from proxyhunt.export import platforms as pf
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
from proxyhunt.export.registry import Target, register

TARGET = "logscale"
LIMIT = 20000  # table()'s and sort()'s row cap; LogScale's default of 200 would hide hits
_UNESCAPED_SLASH = re.compile(r"(?<!\\)((?:\\\\)*)/")

ASSUMPTIONS = [
    "repository holding Falcon sensor events (the Falcon Data Replicator / Falcon LogScale"
    " `#event_simpleName` tag); run over the time range you want to hunt",
    "ComputerName and UserName as the Falcon repository enriches them; on raw FDR join the"
    " aid_master lookup for ComputerName",
    "Falcon has no named-pipe event: pipe_created rules are not covered",
    "registry rules run on RegGenericValueUpdate, RegSystemConfigValueUpdate and"
    " AsepValueUpdate; TargetObject is built as RegObjectName + \\ + RegValueName",
    f"table() and sort() keep up to {LIMIT} hits",
]


class LogScaleConditionBackend(LogScaleBackend):
    """The CrowdStrike backend with two faults fixed for our rules.

    - It leaves ``a or b c`` unparenthesised (LogScale's implicit AND next to ``or``), which
      reads differently from the rule; ``parenthesize`` groups every AND/OR.
    - It writes a Sigma ``re`` value inside ``/.../`` without escaping ``/``, so a regex with a
      slash ends the literal early; unescaped slashes are escaped here.
    """

    parenthesize = True

    def convert_value_re(self, r: SigmaRegularExpression, state: ConversionState) -> Any:
        return _UNESCAPED_SLASH.sub(r"\1\\/", str(super().convert_value_re(r, state)))

    def finalize_query_default(
        self, rule: SigmaRule, query: Any, index: int, state: ConversionState
    ) -> Any:
        return query


def render(det: Detection) -> str:
    backend = LogScaleConditionBackend(processing_pipeline=field_pipeline(TARGET, pf.FALCON_FIELDS))

    def convert(rule: ExportRule) -> str:
        return bare_query(convert_rule(backend, rule, pf.FALCON_FIELDS))

    flags, uncovered = convert_all(det.rules, convert)
    mapping = {f"{c}.{k}": v for c, m in pf.FALCON_FIELDS.items() for k, v in m.items()}
    header = header_lines(det, TARGET, ASSUMPTIONS, mapping, flags, uncovered)
    return comment_block(header, "//") + "\n" + "\n".join(_query(det, flags)) + "\n"


def _event_filter(rule: ExportRule) -> str:
    names = "|".join(pf.FALCON_EVENTS[rule.category])
    where = f"#event_simpleName=/^({names})$/"
    platform = pf.FALCON_PLATFORMS.get(rule.product or "")
    return f"{where} event_platform={platform}" if platform else where


def _query(det: Detection, flags: list[RuleFlag]) -> list[str]:
    names = sorted({n for f in flags for n in pf.FALCON_EVENTS[f.rule.category]})
    lines = [f"#event_simpleName=/^({'|'.join(names)})$/" if names else "#event_simpleName=/^$/"]
    if any(f.rule.category in (pf.REG_SET,) for f in flags):
        lines.append('| TargetObject := format("%s\\\\%s", field=[RegObjectName, RegValueName])')
    for flag in flags:
        lines += _case(f"{_event_filter(flag.rule)} ({flag.condition})", flag.name, "1", "0")
    for indicator, sources in indicator_sources(det, flags).items():
        lines += _any_case(indicator, sources)
    score = " + ".join(f"{w} * {i}" if w != 1 else i for i, w in weights(det).items() if w)
    lines.append(f"| suspicion_score := {score or '0'}")
    lines.append("| test(suspicion_score > 0)")
    lines += _first_case(
        "detection_type", [(f"{i}=1", f'"{t}"') for i, t in detection_order(det)], '"Unknown"'
    )
    severity = [(f"{n}=1", f'"{level}"') for level, ns in severity_order(flags) for n in ns]
    lines += _first_case("severity", severity, '"medium"')
    lines.append(
        '| _timeutc := formatTime("%Y-%m-%dT%H:%M:%S.%LZ", field=@timestamp, timezone="UTC")'
    )
    lines.append(f"| table([{', '.join(det.columns)}], limit={LIMIT})")
    lines.append(f"| sort(_timeutc, order=desc, limit={LIMIT})")
    return lines


def _case(condition: str, field: str, then: str, otherwise: str) -> list[str]:
    return [
        "| case {",
        f"    {condition} | {field} := {then} ;",
        f"    * | {field} := {otherwise} ;",
        "  }",
    ]


def _any_case(field: str, sources: list[str]) -> list[str]:
    if not sources:
        return [f"| {field} := 0"]
    branches = [f"    {name}=1 | {field} := 1 ;" for name in sources]
    return ["| case {", *branches, f"    * | {field} := 0 ;", "  }"]


def _first_case(field: str, branches: list[tuple[str, str]], default: str) -> list[str]:
    body = [f"    {cond} | {field} := {value} ;" for cond, value in branches]
    return ["| case {", *body, f"    * | {field} := {default} ;", "  }"]


register(Target(TARGET, "CrowdStrike Falcon LogScale CQL over Falcon events", render, ".cql"))
