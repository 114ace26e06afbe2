"""Sigma regular expressions rewritten for Lucene's regex dialect (Elastic EQL and ES|QL).

Elastic matches ``regex``/``RLIKE`` with Lucene's automaton regex, not PCRE: the match is
anchored to the whole value, ``(?i)`` and ``\\b`` do not exist, and ``\\t``-style escapes
mean the letter. The pySigma Elasticsearch backends pass the PCRE text through unchanged, so
``(?i)\\badd\\b`` would be a syntax error or never match. This module translates the subset
our rules use and refuses the rest (the rule is then listed as not covered).
"""

from __future__ import annotations

from sigma.exceptions import SigmaFeatureNotSupportedByBackendError

_CLASSES = {"s": " \t\n\r", "d": "0-9", "w": "A-Za-z0-9_"}
_WORD = "A-Za-z0-9_"
_RESERVED = set('@&~<>#"')  # Lucene operators (with all syntax flags on) to escape


def to_lucene(pattern: str, lower: bool = False) -> str:
    """``pattern`` (PCRE-style, unanchored search) as an anchored Lucene regex.

    ``lower`` lower-cases literal characters, for matching against a lower-cased field.
    """
    body, lead = _leading(pattern, lower)
    body, trail = _trailing(body, lower)
    return lead + _translate(body, lower) + trail


def _leading(body: str, lower: bool) -> tuple[str, str]:
    """Translate how the pattern starts; Lucene matches the whole value, PCRE searches."""
    for opener in ("(?:^|", "(^|"):
        close = _group_end(body, 0)
        if body.startswith(opener) and close is not None:
            # "(?:^|X)" = at the start, or after X: anything-then-X is optional.
            inner = _translate(body[len(opener) : close], lower)
            return body[close + 1 :], f"(.*({inner}))?"
    if body.startswith("\\b"):
        return body[2:], f"(.*[^{_WORD}])?"
    if body.startswith("^"):
        return body[1:], ""
    return body, ".*"


def _trailing(body: str, lower: bool) -> tuple[str, str]:
    for closer in ("|$)",):
        start = _group_start(body)
        if body.endswith(closer) and start is not None:
            prefix = body[start:]
            opener = "(?:" if prefix.startswith("(?:") else "("
            inner = _translate(prefix[len(opener) : -len(closer)], lower)
            return body[:start], f"(({inner}).*)?"
    if body.endswith("\\b") and not body.endswith("\\\\b"):
        return body[:-2], f"([^{_WORD}].*)?"
    if body.endswith("$") and not body.endswith("\\$"):
        return body[:-1], ""
    return body, ".*"


def _group_end(body: str, start: int) -> int | None:
    """Index of the parenthesis closing the group opened at ``start``."""
    if not body.startswith("(", start):
        return None
    depth, i, in_class = 0, start, False
    while i < len(body):
        char = body[i]
        if char == "\\":
            i += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return None


def _group_start(body: str) -> int | None:
    """Index of the parenthesis opening the group that ends the pattern, if one does."""
    for start in range(len(body)):
        escaped = start > 0 and body[start - 1] == "\\"
        if body[start] == "(" and not escaped and _group_end(body, start) == len(body) - 1:
            return start
    return None


def _translate(body: str, lower: bool) -> str:
    out: list[str] = []
    in_class = False
    i = 0
    while i < len(body):
        char = body[i]
        if char == "\\" and i + 1 < len(body):
            out.append(_escape(body[i + 1], in_class, lower))
            i += 2
            continue
        if body.startswith("(?:", i):
            # Lucene groups never capture, so a non-capturing group is a plain group there.
            out.append("(")
            i += 3
            continue
        if char == "(" and body.startswith("(?", i):
            _refuse(f"inline group {body[i : i + 3]!r}")
        if char == "[":
            in_class = True
        elif char == "]":
            in_class = False
        elif char in _RESERVED:
            char = "\\" + char
        elif char in "^$" and not (char == "^" and out and out[-1] == "["):
            _refuse(f"anchor {char!r} inside the pattern")
        out.append(char.lower() if lower else char)
        i += 1
    return "".join(out)


def _escape(letter: str, in_class: bool, lower: bool) -> str:
    if letter in _CLASSES:
        chars = _CLASSES[letter]
        return chars if in_class else f"[{chars}]"
    if letter.lower() in _CLASSES and not in_class:
        return f"[^{_CLASSES[letter.lower()]}]"
    if letter.isalnum():
        _refuse(f"escape \\{letter}")
    return "\\" + (letter.lower() if lower else letter)


def _refuse(what: str) -> None:
    raise SigmaFeatureNotSupportedByBackendError(
        f"regex uses {what}, which Lucene regex (Elastic) cannot express"
    )
