"""Sigma matching semantics of the local engine: one fixed event, grouped true and false cases.

Each case is a detection written inline; ``condition: sel`` unless the detection gives one.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from sigma.rule import SigmaRule

from proxyhunt.engine import compile_rules
from proxyhunt.errors import RuleError
from proxyhunt.model import Event

FIELDS: dict[str, str | None] = {
    "Image": "C:\\Windows\\System32\\OpenSSH\\ssh.exe",
    "CommandLine": "ssh.exe -L 9090:192.168.1.50:445 -N user@10.0.0.1",
    "ParentImage": "C:\\Windows\\System32\\cmd.exe",
    "ParentCommandLine": "cmd.exe /c whoami /priv",
    "DashCommandLine": "tool.exe \u2013L 8080",  # en dash, as pasted from a document
    "User": "CORP\\Alice",
    "ProcessId": "4242",
    "ParentProcessId": "0100",
    "SourceIp": "10.1.2.3",
    "DestinationIp": "2001:db8::17",
    "Literal": "50% off *today* really?",
    "Initiated": "true",
    "Empty": "",
    "Nothing": None,
    "Copy": "c:\\windows\\system32\\openssh\\SSH.EXE",
    "Multi": "first line\nsecond line",
}


def make_event(fields: dict[str, str | None] | None = None, **kw: str) -> Event:
    return Event(
        fields=dict(FIELDS if fields is None else fields),
        time=None,
        category=kw.get("category", "process_creation"),
        product=kw.get("product", "windows"),
        service=kw.get("service", "sysmon"),
        event_id="1",
        source="test",
        locator="record 1",
        fmt="test",
    )


def make_rule(detection: dict[str, Any], logsource: dict[str, str] | None = None, **extra: Any):
    body: dict[str, Any] = {
        "title": extra.pop("title", "inline test rule"),
        "logsource": logsource or {"category": "process_creation"},
        "detection": {"condition": "sel", **detection},
        **extra,
    }
    return SigmaRule.from_dict(body)


def matches(detection: dict[str, Any], event: Event | None = None, **kw: Any) -> bool:
    ruleset = compile_rules([make_rule(detection, **kw)])
    return bool(ruleset.match(event or make_event()))


TRUE_CASES: dict[str, dict[str, Any]] = {
    # plain strings: whole-value equality, case-insensitive by default
    "equal ignoring case": {"sel": {"User": "corp\\alice"}},
    "equal cased": {"sel": {"User|cased": "CORP\\Alice"}},
    "contains ignoring case": {"sel": {"CommandLine|contains": "USER@10"}},
    "contains cased -L": {"sel": {"CommandLine|contains|cased": " -L "}},
    "startswith": {"sel": {"Image|startswith": "c:\\windows\\"}},
    "endswith": {"sel": {"Image|endswith": "\\SSH.exe"}},
    # Sigma reads \* as a literal star; a backslash then a wildcard is \\* in the rule
    "star inside": {"sel": {"Image": "C:\\Windows\\\\*\\ssh.exe"}},
    "two stars inside": {"sel": {"CommandLine": "ssh*9090*@10.0.0.1"}},
    "question mark": {"sel": {"ProcessId": "42?2"}},
    "question mark with star": {"sel": {"CommandLine": "ssh.exe -? 9090*"}},
    "escaped star and question mark": {"sel": {"Literal": "50% off \\*today\\* really\\?"}},
    "star matches across newline": {"sel": {"Multi": "first*line"}},
    "any value": {"sel": {"Empty": "*"}},
    "list is OR": {"sel": {"User": ["nobody", "corp\\alice"]}},
    "all modifier": {"sel": {"CommandLine|contains|all": ["-L", "-N", "user@"]}},
    "map is AND": {"sel": {"Image|endswith": "ssh.exe", "User": "CORP\\Alice"}},
    # regular expressions (search semantics, RE2)
    "re case-insensitive": {"sel": {"CommandLine|re|i": "SSH\\.EXE\\s+-l"}},
    "re case-sensitive": {"sel": {"CommandLine|re": "\\s-L\\s\\d+:"}},
    "re anchored": {"sel": {"ProcessId|re": "^\\d{4}$"}},
    "re multiline": {"sel": {"Multi|re|m": "^second"}},
    "re dotall": {"sel": {"Multi|re|s": "line.second"}},
    # windash: - / and the Unicode dashes are interchangeable
    "windash dash": {"sel": {"CommandLine|windash|contains": " -L "}},
    "windash slash in rule": {"sel": {"CommandLine|windash|contains": " /L "}},
    "windash en dash in event": {"sel": {"DashCommandLine|windash|contains": " -L "}},
    "windash slash in event": {"sel": {"ParentCommandLine|windash|contains": " -priv"}},
    # null, empty, existence
    "null matches missing": {"sel": {"NoSuchField": None}},
    "null matches explicit null": {"sel": {"Nothing": None}},
    "empty matches empty": {"sel": {"Empty": ""}},
    "exists true": {"sel": {"Empty|exists": True}},
    "exists false on missing": {"sel": {"NoSuchField|exists": False}},
    "exists false on null": {"sel": {"Nothing|exists": False}},
    # numbers compare as numbers and as strings
    "number equals string pid": {"sel": {"ProcessId": 4242}},
    "number ignores leading zeros": {"sel": {"ParentProcessId": 100}},
    "gt on string pid": {"sel": {"ProcessId|gt": 4000}},
    "lte on string pid": {"sel": {"ParentProcessId|lte": 100}},
    "bool": {"sel": {"Initiated": True}},
    # networks
    "cidr v4": {"sel": {"SourceIp|cidr": "10.0.0.0/8"}},
    "cidr v6": {"sel": {"DestinationIp|cidr": "2001:db8::/32"}},
    # encodings pySigma expands before the engine sees them
    "base64 of event text": {
        "sel": {"Encoded|base64": "hello"},
        "event": {"Encoded": "aGVsbG8="},
    },
    "base64offset": {
        "sel": {"Encoded|base64offset|contains": "hello"},
        "event": {"Encoded": "xxYWJoZWxsbw=="},  # base64("abhello") shifted
    },
    # field references
    "fieldref equal ignoring case": {"sel": {"Image|fieldref": "Copy"}},
    "fieldref endswith": {
        "sel": {"CommandLine|fieldref|endswith": "Tail"},
        "event": {"CommandLine": "run x.exe", "Tail": "X.EXE"},
    },
    # keywords search every field value, as substrings
    "keyword": {"sel": ["192.168.1.50"]},
    "keyword case-insensitive": {"sel": ["ALICE"]},
    "keyword all": {"sel": {"|all": ["whoami", "openssh"]}},
    "keyword re": {"sel": {"|re": "user@\\d+\\."}},
    # condition operators
    "not": {"sel": {"User": "bob"}, "condition": "not sel"},
    "and not": {
        "sel": {"Image|endswith": "ssh.exe"},
        "filter": {"User": "bob"},
        "condition": "sel and not filter",
    },
    "1 of sel*": {
        "sel_a": {"User": "bob"},
        "sel_b": {"User": "corp\\alice"},
        "condition": "1 of sel_*",
    },
    "all of them": {
        "sel_a": {"Image|endswith": "ssh.exe"},
        "sel_b": {"ProcessId": "4242"},
        "condition": "all of them",
    },
    "condition list is OR": {
        "sel": {"User": "bob"},
        "other": {"User": "corp\\alice"},
        "condition": ["sel", "other"],
    },
    "parentheses": {
        "a": {"User": "bob"},
        "b": {"ProcessId": "4242"},
        "c": {"Image|endswith": "ssh.exe"},
        "condition": "(a or b) and c",
    },
    "neq modifier on missing value": {"sel": {"User|neq": "bob"}},
}

FALSE_CASES: dict[str, dict[str, Any]] = {
    "equal is whole value": {"sel": {"User": "alice"}},
    "cased differs": {"sel": {"User|cased": "corp\\alice"}},
    "contains cased -l": {"sel": {"CommandLine|contains|cased": " -l "}},
    "startswith wrong": {"sel": {"Image|startswith": "\\Windows"}},
    "question mark is one char": {"sel": {"ProcessId": "4?2"}},
    "escaped star is literal": {"sel": {"Literal": "50% off \\*today\\* really"}},
    "backslash star is a literal star": {"sel": {"Image": "C:\\Windows\\*\\ssh.exe"}},
    "escaped question is literal": {"sel": {"ProcessId": "424\\?"}},
    "any value not null": {"sel": {"Nothing": "*"}},
    "any value not missing": {"sel": {"NoSuchField": "*"}},
    "all needs every value": {"sel": {"CommandLine|contains|all": ["-L", "-R"]}},
    "map needs every field": {"sel": {"Image|endswith": "ssh.exe", "User": "bob"}},
    "re case-sensitive": {"sel": {"CommandLine|re": "SSH\\.EXE"}},
    "re without multiline": {"sel": {"Multi|re": "^second"}},
    "re dot without s": {"sel": {"Multi|re": "line.second"}},
    "windash not other letters": {"sel": {"CommandLine|windash|contains": " -R "}},
    "no windash no slash": {"sel": {"ParentCommandLine|contains": " -priv"}},
    "null not on empty": {"sel": {"Empty": None}},
    "null not on value": {"sel": {"User": None}},
    "empty not on null": {"sel": {"Nothing": ""}},
    "empty not on missing": {"sel": {"NoSuchField": ""}},
    "exists true on null": {"sel": {"Nothing|exists": True}},
    "exists true on missing": {"sel": {"NoSuchField|exists": True}},
    "exists false on empty": {"sel": {"Empty|exists": False}},
    "number differs": {"sel": {"ProcessId": 4243}},
    "number on text": {"sel": {"User": 1}},
    "lt on string pid": {"sel": {"ProcessId|lt": 4242}},
    "gt on non-number": {"sel": {"User|gt": 1}},
    "gt on missing": {"sel": {"NoSuchField|gt": 1}},
    "bool false": {"sel": {"Initiated": False}},
    "cidr outside": {"sel": {"SourceIp|cidr": "192.168.0.0/16"}},
    "cidr other family": {"sel": {"DestinationIp|cidr": "10.0.0.0/8"}},
    "cidr on text": {"sel": {"User|cidr": "0.0.0.0/0"}},
    "fieldref differs": {"sel": {"Image|fieldref": "ParentImage"}},
    "fieldref missing": {"sel": {"Image|fieldref": "NoSuchField"}},
    "keyword absent": {"sel": ["mimikatz"]},
    "keyword cased": {"sel": {"|cased": ["ALICE"]}},
    "keyword all": {"sel": {"|all": ["whoami", "mimikatz"]}},
    "not": {"sel": {"User": "corp\\alice"}, "condition": "not sel"},
    "all of them": {
        "sel_a": {"Image|endswith": "ssh.exe"},
        "sel_b": {"ProcessId": "1"},
        "condition": "all of them",
    },
    "1 of sel*": {
        "sel_a": {"User": "bob"},
        "sel_b": {"User": "carol"},
        "filter": {"User": "corp\\alice"},
        "condition": "1 of sel_*",
    },
    "neq modifier": {"sel": {"User|neq": "corp\\alice"}},
}


def _run(case: dict[str, Any]) -> bool:
    case = dict(case)
    fields = case.pop("event", None)
    event = make_event({**FIELDS, **fields}) if fields is not None else make_event()
    return matches(case, event)


@pytest.mark.parametrize("name", list(TRUE_CASES))
def test_matches(name: str) -> None:
    assert _run(TRUE_CASES[name]), name


@pytest.mark.parametrize("name", list(FALSE_CASES))
def test_does_not_match(name: str) -> None:
    assert not _run(FALSE_CASES[name]), name


class TestLogsource:
    SEL = {"sel": {"User": "corp\\alice"}}

    def test_other_category_not_applied(self) -> None:
        logsource = {"category": "network_connection"}
        assert not matches(self.SEL, logsource=logsource)

    def test_unknown_category_not_applied(self) -> None:
        assert not matches(self.SEL, logsource={"category": "quantum_teleport"})

    def test_product_must_match(self) -> None:
        assert matches(self.SEL, logsource={"category": "process_creation", "product": "windows"})
        assert not matches(self.SEL, logsource={"category": "process_creation", "product": "linux"})

    def test_service_ignored_when_category_set(self) -> None:
        logsource = {"category": "process_creation", "service": "security"}
        assert matches(self.SEL, logsource=logsource)

    def test_service_rule_without_category(self) -> None:
        assert matches(self.SEL, logsource={"product": "windows", "service": "sysmon"})
        assert not matches(self.SEL, logsource={"product": "windows", "service": "security"})

    def test_rules_indexed_by_category(self) -> None:
        rules = [
            make_rule(self.SEL, {"category": "process_creation"}, title="a"),
            make_rule(self.SEL, {"category": "registry_set"}, title="b"),
        ]
        ruleset = compile_rules(rules)
        assert [r.title for r in ruleset.rules_for("process_creation", "windows")] == ["a"]
        assert [r.title for r in ruleset.rules_for("registry_set", "linux")] == ["b"]
        assert ruleset.rules_for("other", "windows") == ()


class TestUnsupported:
    def test_every_unsupported_rule_and_reason_is_reported(self) -> None:
        rules = [
            make_rule({"sel": {"User|expand": "%Admins%"}}, title="uses expand"),
            make_rule({"sel": {"CommandLine|re": "(a)\\1"}}, title="uses backreference"),
            make_rule(
                {"sel": {"CommandLine|re": "(?<=ssh) -L", "Image|re": "x(?!y)"}},
                title="uses lookaround twice",
            ),
            make_rule({"sel": {"User": "fine"}}, title="a supported rule"),
            make_rule({"sel": {"Time|minute": 5}}, title="uses timestamp part"),
        ]
        with pytest.raises(RuleError) as caught:
            compile_rules(rules)
        message = str(caught.value)
        assert "4 rule(s)" in message
        for title in ("uses expand", "uses backreference", "uses lookaround", "timestamp"):
            assert title in message
        assert "%Admins%" in message
        assert "invalid escape sequence" in message  # RE2's reason for \1
        assert message.count("look-around") >= 2  # both regexes of one rule are named
        assert "a supported rule" not in message

    def test_correlation_rule_is_reported(self) -> None:
        from sigma.collection import SigmaCollection

        collection = SigmaCollection.from_yaml(
            """
title: base
name: base
logsource: {category: process_creation}
detection: {sel: {User: x}, condition: sel}
---
title: many logons
correlation: {type: event_count, rules: [base], group-by: [User], timespan: 5m,
              condition: {gte: 10}}
"""
        )
        with pytest.raises(RuleError, match="many logons.*CorrelationRule rules are not supported"):
            compile_rules(collection.rules)


class TestLinearTime:
    def test_catastrophic_pattern_finishes_instantly(self) -> None:
        event = make_event({"CommandLine": "a" * 100_000 + "!"})
        ruleset = compile_rules([make_rule({"sel": {"CommandLine|re": "(a+)+$"}})])
        started = time.perf_counter()
        assert ruleset.match(event) == []
        assert ruleset.match(make_event({"CommandLine": "a" * 100_000}))
        assert time.perf_counter() - started < 0.5

    def test_wildcard_pattern_with_many_stars_is_linear(self) -> None:
        event = make_event({"CommandLine": "a" * 100_000})
        rule = make_rule({"sel": {"CommandLine": "*a*a*a*a*a*a*a*a*b"}})
        started = time.perf_counter()
        assert compile_rules([rule]).match(event) == []
        assert time.perf_counter() - started < 0.5


class TestCompiledRule:
    def test_attributes(self) -> None:
        rule = make_rule(
            {"sel": {"User": "x"}},
            {"category": "process_creation", "product": "Windows"},
            id="5f0b2a6c-3a49-4b8e-9d43-0d5f1b0e7a11",
            level="high",
            proxyhunt={"indicator": "is_test"},
        )
        compiled = compile_rules([rule]).rules[0]
        assert compiled.id == "5f0b2a6c-3a49-4b8e-9d43-0d5f1b0e7a11"
        assert (compiled.indicator, compiled.level) == ("is_test", "high")
        assert (compiled.category, compiled.product) == ("process_creation", "windows")

    def test_defaults(self) -> None:
        compiled = compile_rules([make_rule({"sel": {"User": "x"}})]).rules[0]
        assert (compiled.indicator, compiled.level) == ("is_custom_rule", "medium")
