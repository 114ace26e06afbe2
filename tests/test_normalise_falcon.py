"""Falcon normaliser: process, network and registry events, times in every shape."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from proxyhunt.diagnostics import Diagnostics
from proxyhunt.model import KIND_FALCON, NETWORK_CONNECTION, OTHER, REGISTRY_SET, Record
from proxyhunt.normalise import normalise
from proxyhunt.pipeline import iter_events

FIXTURES = Path(__file__).parent / "fixtures"


def _event(**data: str):  # type: ignore[no-untyped-def]
    event = normalise(Record(KIND_FALCON, dict(data), "t", "line 1", "fdr-ndjson"))
    assert event is not None
    return event


def test_process_keeps_device_path_and_falcon_columns() -> None:
    (event,) = list(iter_events([str(FIXTURES / "same_event" / "falcon.ndjson")], Diagnostics()))
    assert event.get("Image") == "\\Device\\HarddiskVolume3\\Windows\\System32\\netsh.exe"
    assert event.get("ParentImage") == "cmd.exe"
    assert event.product == "windows" and event.service == "falcon"
    assert event.columns == {
        "ComputerName": "WS01",
        "UserName": "CORP\\alice",
        "ImageFileName": "\\Device\\HarddiskVolume3\\Windows\\System32\\netsh.exe",
        "ParentBaseFileName": "cmd.exe",
        "TargetProcessId": "4400112233",
    }


def test_network_fixture() -> None:
    events = list(iter_events([str(FIXTURES / "falcon_network.ndjson")], Diagnostics()))
    network = [e for e in events if e.category == NETWORK_CONNECTION]
    assert [e.event_id for e in network] == [
        "NetworkListenIP4",
        "NetworkReceiveAcceptIP4",
        "NetworkConnectIP4",
        "NetworkConnectIP6",
    ]
    listen, accept, connect, connect6 = network
    assert (listen.get("SourceIp"), listen.get("SourcePort")) == ("0.0.0.0", "8080")
    assert (accept.get("Initiated"), accept.get("DestinationIp")) == ("false", "10.0.0.77")
    assert (connect.get("Initiated"), connect.get("DestinationPort")) == ("true", "80")
    assert connect.get("Protocol") == "tcp"
    assert connect6.get("DestinationIp") == "0:0:0:0:0:0:0:1"
    assert {e.columns["ContextProcessId"] for e in network} == {"4400112299"}
    assert {e.get("ProcessId") for e in network} == {"4400112299"}
    # No ComputerName in network events: the sensor id stands in.
    assert connect.get("Computer") == "0d1c2b3a4f5e60718293a4b5c6d7e8f9"
    assert connect.time == datetime(2024, 3, 1, 10, 1, 0, 318000, tzinfo=UTC)
    (registry,) = [e for e in events if e.category == REGISTRY_SET]
    assert registry.get("TargetObject") == (
        "HKLM\\SYSTEM\\ControlSet001\\Services\\PortProxy\\v4tov4\\tcp\\0.0.0.0/8080"
    )
    assert registry.get("Details") == "10.0.0.5/80"


def test_times_in_every_shape() -> None:
    expected = datetime(2024, 3, 1, 10, 0, tzinfo=UTC)
    for stamp in ("1709287200000", "2024-03-01T10:00:00Z", "133537608000000000"):
        assert _event(event_simpleName="DnsRequest", timestamp=stamp).time == expected, stamp
    assert _event(event_simpleName="DnsRequest", timestamp="").time is None


def test_linux_process_and_unknown_events() -> None:
    event = _event(
        event_simpleName="ProcessRollup2", event_platform="Lin", ImageFileName="/usr/bin/ssh",
        CommandLine="ssh -R 9000:localhost:22 relay", UserName="root", ComputerName="srv1",
        ProcessStartTime="1709287200.5", ParentBaseFileName="bash",
    )  # fmt: skip
    assert (event.product, event.get("User"), event.get("Computer")) == ("linux", "root", "srv1")
    assert event.time == datetime(2024, 3, 1, 10, 0, 0, 500000, tzinfo=UTC)
    other = _event(event_simpleName="AgentOnline", aid="abc", timestamp="1709287200000")
    assert (other.category, other.fields) == (OTHER, {"Computer": "abc"})


def test_user_falls_back_to_sid() -> None:
    event = _event(event_simpleName="ProcessRollup2", UserSid="S-1-5-18", aid="x")
    assert event.get("User") == "S-1-5-18"
