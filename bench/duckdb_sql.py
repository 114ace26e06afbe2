"""Translate the profile's Sigma rules into one DuckDB query over raw Falcon FDR NDJSON.

This is the benchmark's SQL baseline, written for it (pySigma has no DuckDB backend and its
SQLite backend is not installed here). It walks the same parsed pySigma condition trees the
local engine compiles and mirrors the engine's semantics where SQL differs:

* uncased strings compare ``lower(column)`` (the engine uses ``casefold``; they differ only
  for a handful of non-ASCII letters), ``?``/``*`` wildcards become ``LIKE`` patterns;
* ``re`` values run on DuckDB's RE2, as the engine's do, with ``(?i)``/``(?m)``/``(?s)``;
* every leaf is ``coalesce(..., false)``, so a missing field makes a comparison false and
  its negation true, as in the engine;
* a rule whose log source the FDR process events cannot have (``network_connection`` ...)
  becomes ``false``: on ProcessRollup2 data it can never match locally either.

Field names map to the FDR columns the Falcon normaliser reads (:data:`FDR_FIELDS`). A rule
with a value type the translator does not handle is left out and named in
:attr:`Translation.skipped`, so the table can say the SQL is not the full pack.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sigma.conditions import (
    ConditionAND,
    ConditionFieldEqualsValueExpression,
    ConditionNOT,
    ConditionOR,
    ConditionValueExpression,
)
from sigma.rule import SigmaRule
from sigma.types import (
    SigmaBool,
    SigmaCasedString,
    SigmaCompareExpression,
    SigmaExists,
    SigmaExpansion,
    SigmaFieldReference,
    SigmaNull,
    SigmaNumber,
    SigmaRegularExpression,
    SigmaRegularExpressionFlag,
    SigmaString,
    SpecialChars,
)

# Sigma field -> FDR column, for ProcessRollup2 events.
FDR_FIELDS: dict[str, str] = {
    "Image": "ImageFileName",
    "CommandLine": "CommandLine",
    "ParentImage": "ParentBaseFileName",
    "User": "UserName",
    "ProcessId": "RawProcessId",
    "Computer": "ComputerName",
}
PROCESS_EVENTS = ("ProcessRollup2", "SyntheticProcessRollup2")
PLATFORMS = {"windows": "Win", "linux": "Lin", "macos": "Mac"}
# What the query returns per hit: the triage columns the local output has.
RESULT_COLUMNS = (
    "timestamp",
    "aid",
    "ImageFileName",
    "CommandLine",
    "ParentBaseFileName",
    "TargetProcessId",
)
_REGEX_FLAGS = {
    SigmaRegularExpressionFlag.IGNORECASE: "i",
    SigmaRegularExpressionFlag.MULTILINE: "m",
    SigmaRegularExpressionFlag.DOTALL: "s",
}
_COMPARE = {"LT": "<", "LTE": "<=", "GT": ">", "GTE": ">="}


class Untranslatable(Exception):
    """A rule element this translator has no SQL for."""


@dataclass
class Translation:
    where: str  # the OR of every translated rule, with its log source test
    columns: list[str]  # the FDR columns the query reads
    translated: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # rule title -> why

    def query(self, path: str) -> str:
        spec = ", ".join(f"{_quote_ident(c)}: 'VARCHAR'" for c in self.columns)
        select = ", ".join(_quote_ident(c) for c in RESULT_COLUMNS)
        return (
            f"SELECT {select} FROM read_ndjson({_quote(path)}, columns={{{spec}}}) "
            f"WHERE {self.where}"
        )


def translate(rules: Sequence[SigmaRule]) -> Translation:
    """One WHERE clause for the whole pack (rule conditions OR-ed)."""
    parts: list[str] = []
    translated: list[str] = []
    skipped: dict[str, str] = {}
    for rule in rules:
        try:
            parts.append(f"({_logsource(rule)} AND ({_rule_condition(rule)}))")
            translated.append(rule.title)
        except Untranslatable as exc:
            skipped[rule.title] = str(exc)
    columns = sorted({"event_simpleName", "event_platform", *FDR_FIELDS.values(), *RESULT_COLUMNS})
    where = " OR ".join(parts) if parts else "false"
    return Translation(where, columns, translated, skipped)


def _logsource(rule: SigmaRule) -> str:
    source = rule.logsource
    tests = []
    if source.category is not None:
        if source.category.lower() != "process_creation":
            return "false"
        names = ", ".join(_quote(n) for n in PROCESS_EVENTS)
        tests.append(f"event_simpleName IN ({names})")
    elif source.service is not None:
        return "false"  # services (sysmon, security, ...) are not Falcon
    if source.product is not None:
        platform = PLATFORMS.get(source.product.lower())
        if platform is None:
            return "false"
        tests.append(f"event_platform = {_quote(platform)}")
    return " AND ".join(tests) or "true"


def _rule_condition(rule: SigmaRule) -> str:
    trees = [condition.parse() for condition in rule.detection.parsed_condition]
    return " OR ".join(f"({_node(tree)})" for tree in trees if tree is not None) or "false"


def _node(item: object) -> str:
    if isinstance(item, ConditionOR):
        return "(" + " OR ".join(_node(arg) for arg in item.args) + ")"
    if isinstance(item, ConditionAND):
        return "(" + " AND ".join(_node(arg) for arg in item.args) + ")"
    if isinstance(item, ConditionNOT):
        return f"(NOT {_node(item.args[0])})"
    if isinstance(item, ConditionFieldEqualsValueExpression):
        return _leaf(item.field, item.value)
    if isinstance(item, ConditionValueExpression):
        return _leaf(None, item.value)
    raise Untranslatable(f"condition element {type(item).__name__}")


def _leaf(name: str | None, value: object) -> str:
    if isinstance(value, SigmaExpansion):
        return "(" + " OR ".join(_leaf(name, v) for v in value.values) + ")"
    if name is None:
        # A keyword: any of the columns the mapping knows.
        return "(" + " OR ".join(_leaf(f, value) for f in FDR_FIELDS) + ")"
    column = FDR_FIELDS.get(name)
    if column is None:
        # The field is never in an FDR process event: comparisons are false, null is true.
        return "true" if isinstance(value, SigmaNull) else "false"
    return f"coalesce({_test(_quote_ident(column), value)}, false)"


def _test(col: str, value: object) -> str:
    if isinstance(value, SigmaString):
        return _string(col, value)
    if isinstance(value, SigmaRegularExpression):
        flags = "".join(sorted(_REGEX_FLAGS[f] for f in value.flags))
        prefix = f"(?{flags})" if flags else ""
        return f"regexp_matches({col}, {_quote(prefix + value.regexp.to_plain())})"
    if isinstance(value, SigmaNull):
        return f"{col} IS NULL"
    if isinstance(value, SigmaExists):
        return f"{col} IS {'NOT ' if value.exists else ''}NULL"
    if isinstance(value, SigmaNumber):
        return f"TRY_CAST({col} AS DOUBLE) = {value.number}"
    if isinstance(value, SigmaCompareExpression):
        op = _COMPARE[value.op.name]
        return f"TRY_CAST({col} AS DOUBLE) {op} {value.number.number}"
    if isinstance(value, SigmaBool):
        return f"lower({col}) = {_quote(str(value.boolean).lower())}"
    if isinstance(value, SigmaFieldReference):
        other = FDR_FIELDS.get(value.field)
        return "false" if other is None else f"lower({col}) = lower({_quote_ident(other)})"
    raise Untranslatable(f"value type {type(value).__name__}")


def _string(col: str, value: SigmaString) -> str:
    cased = isinstance(value, SigmaCasedString)
    subject = col if cased else f"lower({col})"
    parts = [p if not isinstance(p, str) or cased else p.lower() for p in value.s]
    star, one = SpecialChars.WILDCARD_MULTI, SpecialChars.WILDCARD_SINGLE
    texts = [p for p in parts if isinstance(p, str)]
    if one not in parts and len(texts) <= 1:
        lit = _quote(texts[0] if texts else "")
        shape = tuple("*" if p is star else "s" for p in parts if p is star or isinstance(p, str))
        simple = {
            ("s",): f"{subject} = {lit}",
            (): f"{subject} = ''",
            ("*",): f"{col} IS NOT NULL",
            ("s", "*"): f"starts_with({subject}, {lit})",
            ("*", "s"): f"ends_with({subject}, {lit})",
            ("*", "s", "*"): f"contains({subject}, {lit})",
        }
        if shape in simple:
            return simple[shape]
    pattern = "".join(_like_part(p) for p in parts)
    return f"{subject} LIKE {_quote(pattern)} ESCAPE '\\'"


def _like_part(part: object) -> str:
    if part is SpecialChars.WILDCARD_MULTI:
        return "%"
    if part is SpecialChars.WILDCARD_SINGLE:
        return "_"
    if isinstance(part, str):
        return part.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    raise Untranslatable(f"string part {part!r}")


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
