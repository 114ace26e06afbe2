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


class SparkConditionBackend(DatabricksBackend):
    """Databricks backend that returns one bare, fully parenthesised boolean expression."""

    parenthesize = True

    def convert_condition_not(self, cond: ConditionNOT, state: ConversionState) -> Any:
        inner = self.convert_condition(cond.args[0], state)
        if not isinstance(inner, str):
            return super().convert_condition_not(cond, state)
        return f"NOT COALESCE(({inner}), FALSE)"

    def finalize_query_default(
        self, rule: SigmaRule, query: Any, index: int, state: ConversionState
    ) -> Any:
        return query
