"""Typed access to a condition's value: pySigma types it as the SigmaType base class."""

from __future__ import annotations

from sigma.conditions import ConditionFieldEqualsValueExpression
from sigma.exceptions import SigmaFeatureNotSupportedByBackendError
from sigma.types import SigmaRegularExpression, SigmaString


def string_value(cond: ConditionFieldEqualsValueExpression) -> SigmaString:
    if not isinstance(cond.value, SigmaString):
        raise SigmaFeatureNotSupportedByBackendError(f"expected a string, got {cond.value!r}")
    return cond.value


def regex_value(cond: ConditionFieldEqualsValueExpression) -> SigmaRegularExpression:
    if not isinstance(cond.value, SigmaRegularExpression):
        raise SigmaFeatureNotSupportedByBackendError(f"expected a regex, got {cond.value!r}")
    return cond.value
