"""The pySigma Databricks backend, adjusted to produce conditions Spark SQL evaluates like Sigma.

Two faults are fixed here rather than in the rules:
- parentheses: every AND/OR group is parenthesised (``parenthesize``), so an OR nested in an
  AND can never be re-associated by a reader or a later string edit;
- NULL: SQL's three-valued logic makes ``NOT (CommandLine LIKE ...)`` NULL, i.e. false, when
  the field is missing, while in Sigma (and ``proxyhunt scan``) a missing field simply does
  not match, so its negation does. ``NOT`` is emitted as ``NOT COALESCE((...), FALSE)``.
"""

from __future__ import annotations

from typing import Any

from sigma.backends.databricks import DatabricksBackend
from sigma.conditions import ConditionNOT
from sigma.conversion.state import ConversionState
from sigma.rule import SigmaRule


class BareQuery:
    """Mixin: a backend's query is used as one expression inside ours, so the backend's own
    finishing (index prefixes, ``| where`` heads) is left off."""

    def finalize_query_default(
        self, rule: SigmaRule, query: Any, index: int, state: ConversionState
    ) -> Any:
        return query


class NullSafeNot(BareQuery):
    """Mixin for SQL-like targets: ``NOT`` of a condition on a missing field is true, as in
    Sigma, instead of SQL's NULL (see the module docstring)."""

    def convert_condition_not(self, cond: ConditionNOT, state: ConversionState) -> Any:
        backend: Any = self
        inner = backend.convert_condition(cond.args[0], state)
        if not isinstance(inner, str):
            stock = getattr(super(NullSafeNot, backend), "convert_condition_not")  # noqa: B009
            return stock(cond, state)
        return f"NOT COALESCE(({inner}), FALSE)"


class SparkConditionBackend(NullSafeNot, DatabricksBackend):
    """Databricks backend that returns one bare, fully parenthesised boolean expression."""

    parenthesize = True
