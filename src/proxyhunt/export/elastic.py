"""pySigma Elasticsearch backends adjusted for Elastic's real semantics (EQL and ES|QL)."""

from __future__ import annotations

from typing import Any

from sigma.backends.elasticsearch import EqlBackend, ESQLBackend
from sigma.conditions import ConditionFieldEqualsValueExpression
from sigma.conversion.state import ConversionState
from sigma.types import SigmaRegularExpressionFlag, SigmaString, SpecialChars

from proxyhunt.export import platforms as pf
from proxyhunt.export.detection import ExportRule
from proxyhunt.export.lucene import to_lucene
from proxyhunt.export.sql_backend import BareQuery, NullSafeNot
from proxyhunt.export.types import regex_value, string_value

# ECS fields as written, without the backends' `.caseless` sub-fields (a custom mapping most
# clusters do not have); case-insensitivity comes from the operators below instead.
ECS_FIELDS = pf.ECS_FIELDS


def _regex_parts(cond: ConditionFieldEqualsValueExpression) -> tuple[str, bool]:
    value = regex_value(cond)
    pattern = str(value.regexp)
    ignore_case = SigmaRegularExpressionFlag.IGNORECASE in value.flags
    if pattern.startswith("(?i)"):
        pattern, ignore_case = pattern[4:], True
    return pattern, ignore_case


def _quote(text: str) -> str:
    """A double-quoted EQL / ES|QL string literal."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + escaped.replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r") + '"'


class EqlConditionBackend(BareQuery, EqlBackend):
    """The EQL backend with explicit parentheses and Lucene-correct regexes.

    The stock backend writes every Sigma regex as ``regex~ "(?i)..."``: case-insensitive even
    for a case-sensitive Sigma ``re`` (our ssh flag rules depend on ``-L`` vs ``-l``), and with
    PCRE syntax Lucene does not parse. We emit ``regex`` or ``regex~`` by the rule's flag and
    translate the pattern (see :mod:`proxyhunt.export.lucene`).
    """

    parenthesize = True

    def convert_condition_field_eq_val_re(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> Any:
        pattern, ignore_case = _regex_parts(cond)
        op = "regex~" if ignore_case else "regex"
        field = self.escape_and_quote_field(cond.field)
        return f"{field} {op} {_quote(to_lucene(pattern))}"


class EsqlConditionBackend(NullSafeNot, ESQLBackend):
    """The ES|QL backend made case-insensitive and NULL-safe like Sigma.

    - ``LIKE`` and ``RLIKE`` are case-sensitive in ES|QL while Sigma strings are not: string
      matches become ``TO_LOWER(field) LIKE "<lower-cased pattern>"`` (``|cased`` values and
      case-sensitive regexes keep the plain field);
    - regexes are translated to Lucene syntax (ES|QL RLIKE is Lucene regex, whole-value);
    - ``NOT x`` on a missing field is NULL in ES|QL, i.e. the row is dropped, while in Sigma a
      missing field does not match so its negation does: ``NOT COALESCE((x), FALSE)``;
    - every AND/OR group is parenthesised.
    """

    parenthesize = True
    convert_or_as_in = False
    convert_and_as_in = False

    def convert_condition_field_eq_val_str(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> Any:
        field = self.escape_and_quote_field(cond.field)
        return f"TO_LOWER({field}) LIKE {_quote(_like(string_value(cond), lower=True))}"

    def convert_condition_field_eq_val_str_case_sensitive(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> Any:
        field = self.escape_and_quote_field(cond.field)
        return f"{field} LIKE {_quote(_like(string_value(cond), lower=False))}"

    def convert_condition_field_eq_val_re(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> Any:
        pattern, ignore_case = _regex_parts(cond)
        field = self.escape_and_quote_field(cond.field)
        if ignore_case:
            return f"TO_LOWER({field}) RLIKE {_quote(to_lucene(pattern, lower=True))}"
        return f"{field} RLIKE {_quote(to_lucene(pattern))}"


def _like(value: SigmaString, lower: bool) -> str:
    """A Sigma string as an ES|QL LIKE pattern (``*``, ``?``; literals escaped with ``\\``)."""
    out = []
    for part in value.s:
        if part == SpecialChars.WILDCARD_MULTI:
            out.append("*")
        elif part == SpecialChars.WILDCARD_SINGLE:
            out.append("?")
        else:
            text = str(part).lower() if lower else str(part)
            out.append("".join("\\" + c if c in "*?\\" else c for c in text))
    return "".join(out)


def ecs_rule_filter(rule: ExportRule, lang: str) -> str:
    """The rule's event filter: ``event.code`` in its category's ids, plus its OS if any."""
    codes = ", ".join(f'"{c}"' for c in pf.ECS_EVENT_CODES[rule.category])
    if lang == "eql":
        where = f"event.code : ({codes})"
        return f'{where} and host.os.type : "{rule.product}"' if rule.product else where
    where = f"TO_STRING(event.code) IN ({codes})"
    return f'{where} AND host.os.type == "{rule.product}"' if rule.product else where
