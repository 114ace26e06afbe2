"""Patterns over raw JSON text that are implied by tests on the decoded string values.

The prefilter looks for rule evidence in undecoded NDJSON bytes. A value ``v`` that a rule
tests appears there JSON-encoded, so each test on ``v`` is rewritten into a byte pattern
that matches wherever the encoding of a matching ``v`` can be. Every rewrite may match more
than the original (a superset), never less:

* a character may be written as itself or escaped: ``\\\\`` for a backslash, ``\\"`` for a
  quote, ``\\n``/``\\t``..., and ``\\uXXXX`` for anything an encoder chooses (Falcon writes
  ``=`` as ``\\u003d``). Only ASCII letters, digits, space and ``-_.:,`` are taken to be
  written as themselves: no JSON encoder escapes those;
* matching is case-insensitive (ASCII), which covers Sigma's case folding for ASCII text;
  the few non-ASCII characters whose case variants are ASCII (Kelvin sign, long s,
  ligatures, ...) make a line a candidate on their own (:data:`FOLDS_TO_ASCII`);
* non-ASCII text is matched as "some non-ASCII bytes or ``\\u`` escapes";
* regular expression anchors become the string's quotes, word boundaries and lookarounds
  are dropped (which only widens the match).

Patterns never cross a line: ``.`` and negated classes exclude the newline byte, which
cannot occur unescaped inside a JSON line.
"""

from __future__ import annotations

import logging
from re import _constants as sre  # type: ignore[attr-defined]
from re import _parser as sre_parser  # type: ignore[attr-defined]
from typing import Any

log = logging.getLogger("proxyhunt.engines")

# Written as themselves by every JSON encoder; everything else may appear escaped.
_PLAIN = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 -_.:,")
_SHORT_ESCAPES = {
    0x22: '"',
    0x5C: "\\\\",
    0x2F: "/",
    0x08: "b",
    0x0C: "f",
    0x0A: "n",
    0x0D: "r",
    0x09: "t",
}
_U_ESCAPE = r"\\u[0-9a-fA-F]{4}"
# One non-ASCII character: 2-4 UTF-8 bytes, or one or two (surrogate pair) \u escapes.
_NON_ASCII = r"(?:[\x80-\xff]{2,4}|\\u[0-9a-fA-F]{4}(?:\\u[0-9a-fA-F]{4})?)"
# Any one character of a decoded value, in any encoding: 1-4 UTF-8 bytes or an escape.
ANY_CHAR = r"(?:[^\n\\]{1,4}|\\[^\nu]|\\u[0-9a-fA-F]{4}(?:\\u[0-9a-fA-F]{4})?)"
_BACKSLASHES = r"(?:\\\\|\\u005[cC])+"
# Any run of characters inside one line.
ANY_RUN = r"[^\n]*"
# Non-ASCII characters whose case variants or case folding contain ASCII letters (sharp s,
# dotted/dotless i, long s, Kelvin sign, ligatures ...). Spelled out because computing it
# walks all of Unicode; tests/test_prefilter.py recomputes it for the running Python.
FOLDS_TO_ASCII = tuple(
    "\u00df\u0130\u0131\u0149\u017f\u01f0\u1e96\u1e97\u1e98\u1e99\u1e9a\u1e9e\u212a"
    "\ufb00\ufb01\ufb02\ufb03\ufb04\ufb05\ufb06"
)


def folds_to_ascii() -> tuple[str, ...]:
    """:data:`FOLDS_TO_ASCII` as this Python's Unicode tables give it (slow: for tests)."""
    return tuple(
        chr(c)
        for c in range(0x80, 0x110000)
        if any(x.isascii() for x in chr(c).casefold() + chr(c).lower() + chr(c).upper())
    )


_CATEGORY_CHARS: dict[object, bytes] = {
    sre.CATEGORY_DIGIT: b"0123456789",
    sre.CATEGORY_SPACE: b" \t\n\r\f\v",
    sre.CATEGORY_WORD: b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_",
}


class NoPattern(Exception):
    """No useful raw pattern exists (the test could match anything)."""


def literal(text: str) -> str:
    """Pattern for ``text`` (already casefolded or not: matched case-insensitively)."""
    return "".join(char(ord(c)) for c in text)


def literal_exact(text: str) -> str:
    """Pattern for ``text`` written without escapes (names the encoder never escapes)."""
    return "".join(_escape_byte(b) for b in text.encode())


def char(code: int) -> str:
    """Pattern for one decoded character."""
    if code >= 0x80:
        return _NON_ASCII
    if code == 0x5C:
        # Some exports double every backslash and normalisers undo that; a run of escaped
        # backslashes covers one backslash either way.
        return _BACKSLASHES
    return char_set({code})


def char_set(codes: set[int], non_ascii: bool = False) -> str:
    """Pattern for one decoded character out of ``codes`` (plus any non-ASCII one)."""
    plain = sorted(c for c in codes if c in _PLAIN)
    alternatives: list[str] = []
    if plain:
        alternatives.append(_byte_class(plain))
    others = sorted(c for c in codes if c not in _PLAIN and c < 0x80)
    if others:
        raw = [c for c in others if c >= 0x20 and c not in (0x22, 0x5C)]
        if raw:
            alternatives.append(_byte_class(raw))
        if 0x5C in others:
            alternatives.append(_BACKSLASHES)
        escapes = [_SHORT_ESCAPES[c] for c in others if c in _SHORT_ESCAPES and c != 0x5C]
        if escapes:
            alternatives.append(r"\\" + _byte_class([ord(e[-1]) for e in escapes]))
        alternatives.append(_U_ESCAPE)
    if non_ascii:
        alternatives.append(_NON_ASCII)
    if not alternatives:
        raise NoPattern("empty character set")
    return alternatives[0] if len(alternatives) == 1 else "(?:" + "|".join(alternatives) + ")"


def _byte_class(codes: list[int]) -> str:
    if len(codes) == 1:
        return _escape_byte(codes[0])
    return "[" + "".join(_escape_byte(c) for c in codes) + "]"


def _escape_byte(code: int) -> str:
    if chr(code).isalnum() and code < 0x80:
        return chr(code)
    return f"\\x{code:02x}"


# -- regular expressions ---------------------------------------------------------------------


# Where a string value starts or ends in raw JSON (its quote), or a line inside it starts.
VALUE_EDGE = '(?:"|\\\\n|\\\\r)'
# The same where a value may also be a bare JSON number or boolean (``"Initiated":true``).
LOOSE_EDGE = '(?:"|\\\\n|\\\\r|[:,}\\]])'
LOOSE_START = '(?:"|:)'
LOOSE_END = '(?:"|[,}\\]])'


def regex(pattern: str, anchored: bool = True) -> str:
    """A raw-JSON pattern implied by ``pattern`` (RE2 syntax) matching a decoded value.

    Raises NoPattern when the expression cannot be analysed or would match everywhere.
    """
    try:
        tree = sre_parser.parse(pattern)
    except Exception as exc:  # sre's parser raises several types for RE2-only syntax
        raise NoPattern(f"cannot parse {pattern!r}: {exc}") from None
    items = list(tree)
    if not items:
        raise NoPattern(f"{pattern!r} has no literal text to look for")
    out = _sequence(items)
    return out if anchored else out.replace(VALUE_EDGE, LOOSE_EDGE)


def _sequence(items: list[tuple[Any, Any]]) -> str:
    return "".join(_item(op, av) for op, av in items)


def _item(op: Any, av: Any) -> str:  # noqa: PLR0911 - one branch per node type
    if op is sre.LITERAL:
        return char(av)
    if op is sre.NOT_LITERAL:
        return _negated({av})
    if op is sre.ANY:
        return ANY_CHAR
    if op is sre.IN:
        return _in(av)
    if op is sre.BRANCH:
        _, branches = av
        return "(?:" + "|".join(_sequence(list(b)) for b in branches) + ")"
    if op is sre.SUBPATTERN:
        _group, _add, _del, sub = av
        return "(?:" + _sequence(list(sub)) + ")"
    if op is sre.ATOMIC_GROUP:
        return "(?:" + _sequence(list(av)) + ")"
    if op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT):
        return _repeat(av)
    if op is sre.AT:
        return _at(av)
    if op in (sre.ASSERT, sre.ASSERT_NOT):
        return ""  # dropping a lookaround only widens the match
    raise NoPattern(f"regex element {op}")


def _repeat(av: tuple[int, Any, Any]) -> str:
    low, high, sub = av
    inner = "(?:" + _sequence(list(sub)) + ")"
    if high is sre.MAXREPEAT:
        return f"{inner}{{{low},}}" if low else f"{inner}*"
    return f"{inner}{{{low},{high}}}"


def _at(where: object) -> str:
    # A value starts after its opening quote and ends at its closing one; inside the value
    # a line break is the escape \n. Anything else (word boundaries) is dropped.
    if where in (sre.AT_BEGINNING, sre.AT_BEGINNING_STRING, sre.AT_END, sre.AT_END_STRING):
        return VALUE_EDGE
    return ""


def _in(items: list[tuple[Any, Any]]) -> str:
    negate = False
    codes: set[int] = set()
    non_ascii = False
    for op, av in items:
        if op is sre.NEGATE:
            negate = True
        elif op is sre.LITERAL:
            codes.add(av)
        elif op is sre.RANGE:
            low, high = av
            codes.update(range(low, min(high, 0x7F) + 1))
            non_ascii = non_ascii or high >= 0x80
        elif op is sre.CATEGORY:
            chars = _CATEGORY_CHARS.get(av)
            if chars is None:  # \S, \W, \D and Unicode categories: anything, effectively
                return ANY_CHAR
            codes.update(chars)
        else:
            raise NoPattern(f"character class element {op}")
    if negate:
        return _negated(codes)
    ascii_codes = {c for c in codes if c < 0x80}
    return char_set(ascii_codes, non_ascii or any(c >= 0x80 for c in codes))


def _negated(excluded: set[int]) -> str:
    """Any character but ``excluded``: every other ASCII character, non-ASCII, escapes."""
    allowed = {c for c in range(0x80) if c not in excluded}
    return char_set(allowed, non_ascii=True)
