"""Value matchers: each Sigma value type becomes a small Python callable on one field value.

Strings are compiled to the cheapest test that gives Sigma's meaning: ``==`` for a literal,
``startswith``/``endswith``/``in`` for one leading or trailing ``*``, an ordered ``find``
chain for patterns with only ``*``, and RE2 only for ``?`` wildcards and ``re`` values.

Case rules: uncased comparisons (Sigma's default) compare ``str.casefold()`` of both sides, so
``?`` matches one character of the *casefolded* value. ``re`` values are matched by RE2 on
the original value, case-insensitively only with the ``i`` flag. RE2 runs in linear time; its
``\\d``, ``\\w``, ``\\s`` and ``\\b`` are ASCII-only, unlike Python's.
"""

from __future__ import annotations

import functools
import ipaddress
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from re import _constants as sre_constants  # type: ignore[attr-defined]
from re import _parser as sre_parser  # type: ignore[attr-defined]
from typing import Any

import re2
from sigma.types import (
    CompareOperators,
    Placeholder,
    SigmaCIDRExpression,
    SigmaCompareExpression,
    SigmaNumber,
    SigmaRegularExpression,
    SigmaRegularExpressionFlag,
    SigmaString,
    SpecialChars,
)

log = logging.getLogger("proxyhunt.engine")

StrTest = Callable[[str], bool]
Literals = frozenset[str] | None


class UnsupportedValue(Exception):
    """A value the local engine cannot evaluate; the message says why, for a person."""


@dataclass(frozen=True)
class StringTest:
    """A compiled string comparison.

    ``kind`` is ``eq``, ``prefix``, ``suffix``, ``contains``, ``any`` (only ``*``) or
    ``pattern`` (anything else); for the first four ``literal`` is the text compared (already
    casefolded unless the value is cased). ``fragments`` are the literal pieces a matching
    value must contain, casefolded, for the prefilter.
    """

    kind: str
    literal: str
    test: StrTest
    fragments: tuple[str, ...]


def compile_string(value: SigmaString, cased: bool, contains: bool = False) -> StringTest:
    """Compile a Sigma string (wildcards ``*``/``?``, escapes already resolved by pySigma).

    ``contains`` wraps the pattern in ``*`` as keyword searches need.
    """
    parts = _string_parts(value, cased)
    if contains:
        parts = [SpecialChars.WILDCARD_MULTI, *parts, SpecialChars.WILDCARD_MULTI]
    parts = _squeeze_stars(parts)
    fragments = tuple(p.casefold() for p in parts if isinstance(p, str) and p)
    return _literal_test(parts, fragments) or _pattern_test(parts, fragments)


def _string_parts(value: SigmaString, cased: bool) -> list[str | SpecialChars]:
    parts: list[str | SpecialChars] = []
    for part in value.s:
        if isinstance(part, Placeholder):
            raise UnsupportedValue(
                f"placeholder %{part.name}% (the 'expand' modifier needs a processing "
                "pipeline to fill it in)"
            )
        if isinstance(part, str):
            part = part if cased else part.casefold()
            if parts and isinstance(parts[-1], str):
                parts[-1] += part
                continue
        parts.append(part)
    return parts


def _squeeze_stars(parts: list[str | SpecialChars]) -> list[str | SpecialChars]:
    # "a**b" means the same as "a*b"; squeezing keeps the shape checks below simple.
    out: list[str | SpecialChars] = []
    for part in parts:
        if part is SpecialChars.WILDCARD_MULTI and out and out[-1] is part:
            continue
        out.append(part)
    return out


def _literal_test(parts: list[str | SpecialChars], fragments: tuple[str, ...]) -> StringTest | None:
    """The shapes plain ``str`` operations cover: lit, lit*, *lit, *lit*, *."""
    star = SpecialChars.WILDCARD_MULTI
    if not parts:
        return StringTest("eq", "", "".__eq__, fragments)
    if parts == [star]:
        return StringTest("any", "", _always, fragments)
    texts = [p for p in parts if isinstance(p, str)]
    if len(texts) != 1 or SpecialChars.WILDCARD_SINGLE in parts:
        return None
    lit = texts[0]
    if parts == [lit]:
        return StringTest("eq", lit, lit.__eq__, fragments)
    if parts == [lit, star]:
        return StringTest("prefix", lit, lambda v: v.startswith(lit), fragments)
    if parts == [star, lit]:
        return StringTest("suffix", lit, lambda v: v.endswith(lit), fragments)
    return StringTest("contains", lit, lambda v: lit in v, fragments)


def _always(_value: str) -> bool:
    return True


def _pattern_test(parts: list[str | SpecialChars], fragments: tuple[str, ...]) -> StringTest:
    if SpecialChars.WILDCARD_SINGLE not in parts:
        return StringTest("pattern", "", _star_chain(parts), fragments)
    regex = "".join(_glob_piece(p) for p in parts)
    options = re2.Options()
    options.log_errors = False
    options.dot_nl = True  # a Sigma wildcard matches any character, newlines included
    compiled = re2.compile(regex, options)
    return StringTest(
        "pattern", "", lambda v: _re2_call(compiled.fullmatch, v) is not None, fragments
    )


def _glob_piece(part: str | SpecialChars) -> str:
    if part is SpecialChars.WILDCARD_MULTI:
        return ".*"
    if part is SpecialChars.WILDCARD_SINGLE:
        return "."
    return re2.escape(part)


def _star_chain(parts: list[str | SpecialChars]) -> StrTest:
    """Match ``lit*lit*...`` by finding the literals left to right.

    Taking the leftmost occurrence of each middle literal is always safe for ``*``-only
    globs: it leaves the most room for the rest.
    """
    head = parts[0] if isinstance(parts[0], str) else ""
    tail = parts[-1] if isinstance(parts[-1], str) and len(parts) > 1 else ""
    inner = parts[1:-1] if len(parts) > 1 else []
    middle = tuple(p for p in inner if isinstance(p, str))
    minimum = len(head) + len(tail)

    def test(value: str) -> bool:
        if len(value) < minimum or not value.startswith(head) or not value.endswith(tail):
            return False
        pos, end = len(head), len(value) - len(tail)
        for lit in middle:
            found = value.find(lit, pos, end)
            if found < 0:
                return False
            pos = found + len(lit)
        return True

    return test


# --- regular expressions ---------------------------------------------------------------------


def compile_regex(value: SigmaRegularExpression) -> tuple[StrTest, Literals]:
    """Compile a Sigma ``re`` value with RE2 (search semantics, as Sigma backends use)."""
    pattern = str(value.regexp)
    inline = "".join(
        flag
        for sigma_flag, flag in (
            (SigmaRegularExpressionFlag.MULTILINE, "m"),
            (SigmaRegularExpressionFlag.DOTALL, "s"),
        )
        if sigma_flag in value.flags
    )
    options = re2.Options()
    options.log_errors = False
    options.case_sensitive = SigmaRegularExpressionFlag.IGNORECASE not in value.flags
    try:
        compiled = re2.compile(f"(?{inline}){pattern}" if inline else pattern, options)
    except re2.error as err:
        raise UnsupportedValue(_re2_reason(pattern, err)) from None
    return (lambda v: _re2_call(compiled.search, v) is not None), regex_literals(pattern)


def _re2_call(method: Callable[[str], Any], value: str) -> Any:
    """``method(value)``, also for text with lone surrogates (RE2 needs valid UTF-8).

    A JSON ``\\ud800`` escape in a hostile command line would otherwise raise out of the
    engine and stop the run; the surrogate becomes U+FFFD, as in every output.
    """
    try:
        return method(value)
    except UnicodeEncodeError:
        return method(value.encode("utf-8", "surrogatepass").decode("utf-8", "replace"))


def _re2_reason(pattern: str, err: re2.error) -> str:
    detail = err.args[0] if err.args else "unknown error"
    if isinstance(detail, bytes):
        detail = detail.decode("utf-8", "replace")
    hint = " (RE2 has no backreferences or look-around; write \\z, not \\Z, for end of text)"
    return f"regular expression {pattern!r} cannot be compiled by RE2: {detail}{hint}"


def regex_literals(pattern: str) -> Literals:
    """Casefolded literals one of which every match of ``pattern`` contains, or None.

    Conservative: only ASCII runs are taken (so case-insensitive matching cannot reach a
    literal through a non-ASCII case fold), and anything the walk does not understand
    gives None.
    """
    try:
        tree = sre_parser.parse(pattern)
    except (re.error, RecursionError, ValueError):
        return None
    return _sequence_literals(list(tree))


def _sequence_literals(items: list[tuple[Any, Any]]) -> Literals:
    candidates: list[frozenset[str]] = []
    run: list[str] = []
    for op, arg in items:
        if op is sre_constants.LITERAL and arg < 128:
            run.append(chr(arg))
            continue
        if run:
            candidates.append(frozenset({"".join(run).casefold()}))
            run = []
        found = _item_literals(op, arg)
        if found is not None:
            candidates.append(found)
    if run:
        candidates.append(frozenset({"".join(run).casefold()}))
    return best_literals(candidates)


def _item_literals(op: Any, arg: Any) -> Literals:
    if op is sre_constants.SUBPATTERN:
        return _sequence_literals(list(arg[-1]))
    if op in (sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT) and arg[0] >= 1:
        return _sequence_literals(list(arg[2]))
    if op is sre_constants.BRANCH:
        branches = [_sequence_literals(list(branch)) for branch in arg[1]]
        return union_literals(branches)
    return None


def best_literals(candidates: list[frozenset[str]]) -> Literals:
    """Of several sets that are each required, the most selective one (longest shortest)."""
    usable = [c for c in candidates if c and all(c)]
    if not usable:
        return None
    return max(usable, key=lambda c: (min(len(s) for s in c), -len(c)))


def union_literals(alternatives: list[Literals]) -> Literals:
    """Either alternative may match, so a match contains a literal of one of them."""
    if not alternatives or any(a is None or not a for a in alternatives):
        return None
    return frozenset().union(*alternatives)  # type: ignore[arg-type]


# --- numbers, comparisons, addresses -----------------------------------------------------------


def parse_number(value: str) -> int | float | None:
    """A field value as a number, or None; accepts what Sigma rules compare PIDs and ports as."""
    text = value.strip()
    try:
        return int(text)
    except ValueError:
        pass
    try:
        number = float(text)
    except ValueError:
        return None
    return number if number == number else None  # NaN equals nothing


def number_test(value: SigmaNumber) -> StrTest:
    """Equal as numbers (``"0042"`` == 42) or as strings (``"42"``)."""
    number = value.number
    text = str(number)

    def test(v: str) -> bool:
        return v == text or parse_number(v) == number or _hex_number(v) == number

    return test


def _hex_number(value: str) -> int | None:
    """``0x100`` as 256: Windows writes masks and ids in hex, and a YAML 1.1 loader turns an
    unquoted ``0x100`` in a rule into the number 256 (field case C22)."""
    text = value.strip()
    if text[:2].lower() != "0x":
        return None
    try:
        return int(text, 16)
    except ValueError:
        return None


_COMPARE: dict[CompareOperators, Callable[[float, float], bool]] = {
    CompareOperators.LT: lambda a, b: a < b,
    CompareOperators.LTE: lambda a, b: a <= b,
    CompareOperators.GT: lambda a, b: a > b,
    CompareOperators.GTE: lambda a, b: a >= b,
    CompareOperators.NEQ: lambda a, b: a != b,
}


def compare_test(value: SigmaCompareExpression) -> StrTest:
    """``lt``/``lte``/``gt``/``gte``: a value that is not a number never matches."""
    op = _COMPARE[value.op]
    bound = value.number.number

    def test(v: str) -> bool:
        number = parse_number(v)
        return number is not None and op(number, bound)

    return test


@functools.lru_cache(maxsize=4096)
def _parse_ip(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(value.strip())
    except ValueError:
        return None


def cidr_test(value: SigmaCIDRExpression) -> StrTest:
    """``cidr``: the value parses as an address of the network's family inside it."""
    network = value.network

    def test(v: str) -> bool:
        address = _parse_ip(v)
        return address is not None and address.version == network.version and address in network

    return test


def bool_test(value: bool) -> StrTest:
    """Booleans compare with the strings ``true``/``false`` (field values are text)."""
    expected = "true" if value else "false"
    return lambda v: v.strip().casefold() == expected
