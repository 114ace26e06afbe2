"""Field cases about Sigma value semantics (../shared/cases/): C15-C20, C22.

Each case's exact rule and events, through the engine. The general semantics (one event, many
modifiers) are in ``test_engine_semantics.py``; these pin the cases where tools in the field
went wrong.
"""

from __future__ import annotations

from typing import Any

import pytest
from sigma.rule import SigmaRule

from proxyhunt.engine import compile_rules
from proxyhunt.errors import RuleError
from proxyhunt.model import Event


def event(category: str = "process_creation", **fields: Any) -> Event:
    return Event(
        fields=fields,
        time=None,
        category=category,
        product="windows",
        service="sysmon",
        event_id="1",
        source="case",
        locator="line 1",
        fmt="test",
    )


def rule(detection: dict[str, Any], category: str = "process_creation") -> SigmaRule:
    return SigmaRule.from_dict(
        {
            "title": "field case",
            "logsource": {"category": category, "product": "windows"},
            "detection": {"condition": "sel", **detection},
        }
    )


def matches(detection: dict[str, Any], ev: Event) -> bool:
    return bool(compile_rules([rule(detection)]).match(ev))


SSH = "C:\\Windows\\System32\\OpenSSH\\ssh.exe"


# -- C15: windash covers every dash Sigma lists ------------------------------------------------


@pytest.mark.parametrize("dash", ["-", "/", "\u2013", "\u2014", "\u2015"])
def test_c15_windash_matches_every_dash_form(dash: str) -> None:
    detection = {"sel": {"Image|endswith": "\\ssh.exe", "CommandLine|contains|windash": " -R "}}
    command = f"ssh.exe {dash}R 9000:127.0.0.1:3389 user1@203.0.113.10"
    assert matches(detection, event(Image=SSH, CommandLine=command))


# -- C16: windash with all ---------------------------------------------------------------------


def test_c16_windash_with_all_is_refused_or_means_each_value_in_any_form() -> None:
    detection = {"sel": {"CommandLine|contains|all|windash": [" -N ", " -R "]}}
    ev = event(CommandLine="ssh.exe -N -R 9000:127.0.0.1:3389 user1@203.0.113.10")
    try:
        ruleset = compile_rules([rule(detection)])
    except RuleError as exc:
        assert "windash" in str(exc) and "all" in str(exc)
        return
    # Lenient: each listed value must be present in at least one of its dash forms.
    assert ruleset.match(ev), "windash|all expanded into an impossible AND of all dash forms"
    assert not ruleset.match(event(CommandLine="ssh.exe -N user1@203.0.113.10"))
    assert ruleset.match(event(CommandLine="ssh.exe /N \u2013R 9000 user1@203.0.113.10"))


# -- C17: all stays AND --------------------------------------------------------------------------


def test_c17_all_is_and_not_or() -> None:
    detection = {
        "sel": {
            "Image|endswith": "\\netsh.exe",
            "CommandLine|contains|all": ["interface", "portproxy", "add"],
        }
    }
    netsh = "C:\\Windows\\System32\\netsh.exe"
    add = "netsh interface portproxy add v4tov4 listenport=8001 connectaddress=10.0.0.5"
    assert matches(detection, event(Image=netsh, CommandLine=add + " connectport=3389"))
    assert not matches(detection, event(Image=netsh, CommandLine="netsh interface show interface"))


# -- C18: null versus empty versus missing -----------------------------------------------------

SVCHOST = "C:\\Windows\\System32\\svchost.exe"
C18_EVENTS = {
    "A-missing": {"Image": SVCHOST},
    "B-null": {"Image": SVCHOST, "CommandLine": None},
    "C-empty": {"Image": SVCHOST, "CommandLine": ""},
    "D-value": {"Image": SVCHOST, "CommandLine": "svchost.exe -k netsvcs"},
}


def test_c18_not_null_filter_reports_empty_and_valued_only() -> None:
    detection = {
        "sel": {"Image|endswith": "\\svchost.exe"},
        "filter": {"CommandLine": None},
        "condition": "sel and not filter",
    }
    got = {name: matches(detection, event(**fields)) for name, fields in C18_EVENTS.items()}
    assert got == {"A-missing": False, "B-null": False, "C-empty": True, "D-value": True}


def test_c18_empty_string_is_true_only_for_empty() -> None:
    detection = {"sel": {"CommandLine": ""}}
    got = {name: matches(detection, event(**fields)) for name, fields in C18_EVENTS.items()}
    assert got == {"A-missing": False, "B-null": False, "C-empty": True, "D-value": False}


def test_c18_no_comparison_with_an_internal_object_text() -> None:
    detection = {"sel": {"CommandLine|contains": "SigmaNull"}}
    text = "<sigma.types.SigmaNull object at 0x7f>"
    assert not matches(detection, event(CommandLine=None))
    assert matches(detection, event(CommandLine=text)), "a real value is still compared"


# -- C19: case defaults and regex flags --------------------------------------------------------

C19 = event(
    Image="C:\\USERS\\PUBLIC\\PLINK.EXE",
    CommandLine="PLINK.EXE -ssh -R 9000:LOCALHOST:3389 user1@203.0.113.10",
)


@pytest.mark.parametrize(
    "detection,expected",
    [
        ({"Image|endswith": "\\plink.exe"}, True),
        ({"CommandLine|re": "localhost:3389"}, False),
        ({"CommandLine|re|i": "localhost:3389"}, True),
        ({"CommandLine|contains|cased": "localhost"}, False),
    ],
    ids=["R1-plain-uncased", "R2-re-cased", "R3-re-i", "R4-cased"],
)
def test_c19_case_rules(detection: dict[str, Any], expected: bool) -> None:
    assert matches({"sel": detection}, C19) is expected


def test_c19_unicode_case_folding() -> None:
    ev = event(Image="C:\\Users\\Public\\\u00c6PLINK.exe")
    assert matches({"sel": {"Image|contains": "\u00e6plink"}}, ev)


# -- C20: base64offset -----------------------------------------------------------------------

C20_BLOB = (
    "bmV0c2ggaW50ZXJmYWNlIHBvcnRwcm94eSBhZGQgdjR0b3Y0IGxpc3RlbnBvcnQ9ODAwMSBjb25uZWN0YWRkcmVz"
    "cz0xMC4wLjAuNSBjb25uZWN0cG9ydD0zMzg5"
)


def test_c20_base64offset_finds_the_shifted_form() -> None:
    detection = {"sel": {"CommandLine|base64offset|contains": "portproxy"}}
    assert matches(detection, event(CommandLine=f"cmd.exe /c echo {C20_BLOB} > c.b64"))
    assert not matches(detection, event(CommandLine="cmd.exe /c echo portproxy > c.txt"))


@pytest.mark.parametrize("form", ["cG9ydHByb3h5", "BvcnRwcm94e", "wb3J0cHJveH"])
def test_c20_each_offset_form_matches(form: str) -> None:
    detection = {"sel": {"CommandLine|base64offset|contains": "portproxy"}}
    assert matches(detection, event(CommandLine=f"echo xx{form}yy"))


# -- C22: string versus number typing ------------------------------------------------------------

C22_RULES = {
    "rule1-int": {"EventID": 5156, "DestPort": 3389},
    "rule2-str": {"SourcePort": "3389"},
}


@pytest.mark.parametrize("name", list(C22_RULES))
@pytest.mark.parametrize(
    "fields",
    [
        {"EventID": "5156", "DestPort": "3389", "SourcePort": "3389"},
        {"EventID": 5156, "DestPort": 3389, "SourcePort": 3389},
    ],
    ids=["text-values", "number-values"],
)
def test_c22_numbers_and_text_compare_equal(name: str, fields: dict[str, Any]) -> None:
    ev = event(category="network_connection", **fields)
    compiled = compile_rules([rule({"sel": C22_RULES[name]}, category="network_connection")])
    assert compiled.match(ev)


def test_c22_hex_text_compares_as_text_and_as_number() -> None:
    ev = event(category="network_connection", AccessMask="0x100")
    as_text = rule({"sel": {"AccessMask": "0x100"}}, category="network_connection")
    assert compile_rules([as_text]).match(ev)
    # YAML 1.1 loaders may turn unquoted 0x100 into 256: it still matches the text '0x100'.
    loose = rule({"sel": {"AccessMask": 256}}, category="network_connection")
    assert compile_rules([loose]).match(ev)
