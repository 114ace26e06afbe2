"""The string compiler against a reference glob, and the prefilter literal guarantee."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sigma.rule import SigmaRule
from sigma.types import SigmaCasedString, SigmaString

from proxyhunt.engine import compile_rules
from proxyhunt.engine.matchers import compile_string, regex_literals
from proxyhunt.model import Event

PATTERNS = st.text(alphabet="ab*?\\", max_size=8)
VALUES = st.text(alphabet="abAB*?\\\n", max_size=10)


def reference_glob(pattern: SigmaString, value: str, cased: bool) -> bool:
    """Sigma glob semantics spelled out with Python's re, for comparison."""
    pieces = []
    for part in pattern.s:
        if isinstance(part, str):
            pieces.append(re.escape(part if cased else part.casefold()))
        else:
            pieces.append(".*" if part.name == "WILDCARD_MULTI" else ".")
    target = value if cased else value.casefold()
    return re.fullmatch("".join(pieces), target, re.DOTALL) is not None


@settings(max_examples=400, deadline=None)
@given(PATTERNS, VALUES, st.booleans())
def test_compiled_string_equals_reference_glob(raw: str, value: str, cased: bool) -> None:
    pattern = SigmaCasedString(raw) if cased else SigmaString(raw)
    compiled = compile_string(pattern, cased)
    target = value if cased else value.casefold()
    assert compiled.test(target) == reference_glob(pattern, value, cased)


@settings(max_examples=400, deadline=None)
@given(PATTERNS, VALUES, st.booleans())
def test_fragments_appear_in_every_match(raw: str, value: str, cased: bool) -> None:
    pattern = SigmaCasedString(raw) if cased else SigmaString(raw)
    compiled = compile_string(pattern, cased)
    if compiled.test(value if cased else value.casefold()):
        assert all(fragment in value.casefold() for fragment in compiled.fragments)


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("\\badd\\b", {"add"}),
        ("lcx[\\s.]", {"lcx"}),
        # weak but true: the first branch only promises its dash
        ("(\\s-[lrd]\\s|localforward|remoteforward)", {"-", "localforward", "remoteforward"}),
        ("(localforward|RemoteForward)=\\d+", {"localforward", "remoteforward"}),
        ("chisel(\\.exe)?\\s+client", {"chisel"}),
        ("(?:ab)+cd", {"ab"}),
        ("x*", None),
        ("[ab]c", {"c"}),
        ("é+x", {"x"}),  # non-ASCII runs are left out on purpose
        ("[ab]c|d", {"c", "d"}),
        ("[ab]+|x", None),  # the first branch promises no literal
    ],
)
def test_regex_literals(pattern: str, expected: set[str] | None) -> None:
    found = regex_literals(pattern)
    assert found == (None if expected is None else frozenset(expected))


def _rule(detection: dict[str, object]) -> SigmaRule:
    return SigmaRule.from_dict(
        {
            "title": "t",
            "logsource": {"category": "process_creation"},
            "detection": {"condition": "sel", **detection},
        }
    )


@pytest.mark.parametrize(
    ("detection", "expected"),
    [
        ({"sel": {"CommandLine|contains": "PortProxy"}}, {"portproxy"}),
        ({"sel": {"CommandLine|contains|cased": " -L "}}, {" -l "}),
        ({"sel": {"CommandLine|contains": ["v4tov4", "v6tov4"]}}, {"v4tov4", "v6tov4"}),
        ({"sel": {"Image|endswith": "\\ssh.exe", "CommandLine|contains": " -R "}}, {"\\ssh.exe"}),
        (
            {"sel": {"CommandLine|windash|contains": " -R "}},
            {" -r ", " /r ", " \u2013r ", " \u2014r ", " \u2015r "},
        ),
        ({"sel": ["tunnel"]}, {"tunnel"}),
        ({"sel": {"User": "x"}, "condition": "not sel"}, None),
        ({"sel": {"ProcessId|gt": 4}}, None),
        ({"sel": {"User": None}}, None),
        ({"sel": {"User": "*"}}, None),
        ({"sel": {"User": "a"}, "other": {"ProcessId": 1}, "condition": "sel or other"}, None),
    ],
)
def test_required_literals(detection: dict[str, object], expected: set[str] | None) -> None:
    ruleset = compile_rules([_rule(detection)])
    literals = ruleset.required_literals()[ruleset.rules[0].id]
    assert literals == (None if expected is None else frozenset(expected))


COMMAND_LINES = st.text(alphabet="aAbB -/L\u2013", max_size=12)


@settings(max_examples=300, deadline=None)
@given(COMMAND_LINES)
def test_required_literals_guarantee(command_line: str) -> None:
    """Whenever a rule matches, one of its literals occurs in a casefolded field value."""
    detections = [
        {"sel": {"CommandLine|contains|cased": " -L"}},
        {"sel": {"CommandLine|windash|contains": "-b"}},
        {"sel": {"CommandLine|re": "a+B"}},
        {"sel": {"CommandLine": "*a?b*"}},
        {"sel": {"CommandLine|contains|all": ["ab", "L"]}},
    ]
    ruleset = compile_rules([_rule(d) for d in detections])
    literals = ruleset.required_literals()
    event = Event(
        {"CommandLine": command_line}, None, "process_creation", "windows", "", "", "", "", ""
    )
    folded = command_line.casefold()
    for rule in ruleset.match(event):
        required = literals[rule.id]
        assert required is None or any(s in folded for s in required)


REGEXES = ["a+B", "(?i)sk", "ab|(?i:KS)", "^a.b$"]


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="abABkKsS\u212a\u017f\n", max_size=8))
def test_literal_guard_never_hides_a_regex_match(value: str) -> None:
    """The engine skips RE2 when no required literal is present; that must change nothing."""
    rules = [_rule({"sel": {"CommandLine|re": pattern}}) for pattern in REGEXES]
    for rule, pattern in zip(rules, REGEXES, strict=True):
        rule.title = pattern
    event = Event({"CommandLine": value}, None, "process_creation", "windows", "", "", "", "", "")
    matched = {rule.title for rule in compile_rules(rules).match(event)}
    expected = {p for p in REGEXES if re.search(p, value)}
    assert matched == expected
