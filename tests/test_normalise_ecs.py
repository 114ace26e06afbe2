"""ECS normaliser: mapped fields, fallback to winlog.event_data, network and registry."""

from __future__ import annotations

from proxyhunt.model import (
    KIND_ECS,
    NETWORK_CONNECTION,
    PROCESS_CREATION,
    REGISTRY_SET,
    Record,
)
from proxyhunt.normalise import normalise
from proxyhunt.normalise.ecs import get


def _event(doc: dict):  # type: ignore[no-untyped-def]
    event = normalise(Record(KIND_ECS, doc, "t", "line 1", "json-ecs"))
    assert event is not None
    return event


def test_security_4688_through_ecs_keeps_decimal_pids() -> None:
    event = _event(
        {
            "@timestamp": "2024-03-01T10:00:00Z",
            "event": {"code": "4688", "category": ["process"]},
            "winlog": {
                "channel": "Security",
                "event_id": "4688",
                "computer_name": "WS01",
                "event_data": {"SubjectUserName": "alice", "SubjectDomainName": "CORP"},
            },
            "process": {
                "executable": "C:\\Windows\\System32\\netsh.exe",
                "command_line": "netsh interface portproxy show all",
                "pid": 5124,
                "parent": {"executable": "C:\\Windows\\System32\\cmd.exe", "pid": 2832},
            },
        }
    )
    assert event.category == PROCESS_CREATION and event.service == "security"
    assert (event.get("ProcessId"), event.get("ParentProcessId")) == ("5124", "2832")
    assert event.get("User") == "CORP\\alice"
    assert event.get("ParentImage") == "C:\\Windows\\System32\\cmd.exe"


def test_event_data_wins_and_ecs_fills_the_gaps() -> None:
    event = _event(
        {
            "event": {"code": "1", "module": "sysmon"},
            "host": {"name": "ws01"},
            "winlog": {
                "channel": "Microsoft-Windows-Sysmon/Operational",
                "event_id": "1",
                "event_data": {"CommandLine": "C:\\\\Tools\\\\plink.exe -R 80:h:80 relay"},
            },
            "process": {"executable": "C:\\Tools\\plink.exe", "command_line": "ignored"},
        }
    )
    assert event.get("CommandLine") == "C:\\Tools\\plink.exe -R 80:h:80 relay"
    assert event.get("Image") == "C:\\Tools\\plink.exe"
    assert event.get("Computer") == "ws01"


def test_network_and_registry_without_a_channel() -> None:
    network = _event(
        {
            "event": {"category": ["network"]},
            "process": {"executable": "C:\\socat.exe", "pid": 10},
            "source": {"ip": "10.0.0.20", "port": 51545},
            "destination": {"ip": "10.0.0.5", "port": 80},
            "network": {"transport": "tcp", "direction": "outbound"},
            "host": {"name": "WS01", "os": {"type": "windows"}},
        }
    )
    assert network.category == NETWORK_CONNECTION
    assert (network.get("DestinationPort"), network.get("Initiated")) == ("80", "true")
    portproxy = "HKLM\\SYSTEM\\CurrentControlSet\\Services\\PortProxy\\v4tov4\\tcp"
    registry = _event(
        {
            "event": {"category": ["registry"]},
            "registry": {
                "path": portproxy + "\\0.0.0.0/8080",
                "data": {"strings": ["10.0.0.5/80"]},
            },
        }
    )
    assert registry.category == REGISTRY_SET
    assert registry.get("Details") == "10.0.0.5/80"


def test_dotted_keys_are_found_too() -> None:
    assert get({"process.pid": 4}, "process.pid") == 4
    assert get({"process": {"parent": {"pid": 5}}}, "process.parent.pid") == 5
    assert get({"process": "x"}, "process.pid") is None
