"""The seed pack (the reference detection) on hand-written events, through to scoring."""

from __future__ import annotations

import pytest

from proxyhunt.engine import RuleSet, compile_rules
from proxyhunt.model import Event
from proxyhunt.rules import load_profile, load_rules
from proxyhunt.score.scoring import Profile, score_event


@pytest.fixture(scope="module")
def seed() -> tuple[RuleSet, Profile]:
    rules, profile = load_rules(load_profile("seed"))
    return compile_rules(rules), profile


def process(image: str, command_line: str, product: str = "windows") -> Event:
    return Event(
        fields={"Image": image, "CommandLine": command_line, "User": "CORP\\alice"},
        time=None,
        category="process_creation",
        product=product,
        service="sysmon" if product == "windows" else "auditd",
        event_id="1",
        source="test",
        locator="record 1",
        fmt="test",
    )


NETSH = process(
    "C:\\Windows\\System32\\netsh.exe",
    "netsh interface portproxy add v4tov4 listenport=8080 listenaddress=0.0.0.0 "
    "connectport=445 connectaddress=192.168.1.50",
)
SSH_L = process(
    "C:\\Windows\\System32\\OpenSSH\\ssh.exe", "ssh.exe -L 9090:192.168.1.50:445 user@10.0.0.1"
)
CHISEL = process(
    "C:\\Users\\alice\\Downloads\\chisel.exe", "chisel.exe client 10.0.0.99:8443 R:socks"
)
SSH_D_LINUX = process("/usr/bin/ssh", "ssh -D 1080 user@192.168.1.10", product="linux")
BENIGN = process("C:\\Windows\\System32\\notepad.exe", "notepad.exe C:\\notes\\add.txt")

# event -> (indicators that fire, suspicion_score, detection_type) as the reference gives them
EXPECTED = {
    "netsh portproxy add": (NETSH, {"is_netsh_proxy", "is_portfwd"}, 2, "NetshPortProxy"),
    "ssh.exe -L": (SSH_L, {"is_ssh_tunnel"}, 1, "SSHTunneling"),
    "chisel client": (CHISEL, {"is_proxy_tool"}, 1, "KnownProxyTool"),
}


@pytest.mark.parametrize("name", list(EXPECTED))
def test_seed_detections(seed: tuple[RuleSet, Profile], name: str) -> None:
    ruleset, profile = seed
    event, indicators, score, detection_type = EXPECTED[name]
    matched = ruleset.match(event)
    assert {rule.indicator for rule in matched} == indicators

    hit = score_event(event, matched, profile)
    assert hit is not None
    assert set(hit.fired) == indicators
    assert (hit.suspicion_score, hit.detection_type) == (score, detection_type)
    assert hit.severity == "high"


@pytest.mark.parametrize(
    "event", [SSH_D_LINUX, BENIGN], ids=["linux ssh -D (blind spot)", "benign"]
)
def test_seed_blind_spots_and_benign(seed: tuple[RuleSet, Profile], event: Event) -> None:
    ruleset, profile = seed
    matched = ruleset.match(event)
    assert matched == []
    assert score_event(event, matched, profile) is None


def test_seed_literals_cover_the_seed_events(seed: tuple[RuleSet, Profile]) -> None:
    """Every seed rule has prefilter literals, and each matching event contains one."""
    ruleset, _ = seed
    literals = ruleset.required_literals()
    assert all(literals[rule.id] for rule in ruleset.rules)
    for event, *_ in EXPECTED.values():
        text = "\n".join(v.casefold() for v in event.fields.values() if v is not None)
        for rule in ruleset.match(event):
            assert any(s in text for s in literals[rule.id] or ()), rule.title
