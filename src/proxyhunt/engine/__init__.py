"""Evaluate Sigma rules on normalised events, locally, with Sigma's matching semantics.

``compile_rules(rules)`` turns pySigma rules into a :class:`RuleSet`; ``RuleSet.match(event)``
returns the :class:`CompiledRule` objects that match. Regular expressions run on RE2 (linear
time); anything the engine cannot evaluate is refused when compiling, never skipped.
"""

from proxyhunt.engine.compiler import DEFAULT_INDICATOR, EventView
from proxyhunt.engine.ruleset import CompiledRule, RuleSet, compile_rules

__all__ = ["DEFAULT_INDICATOR", "CompiledRule", "EventView", "RuleSet", "compile_rules"]
