"""Windows normaliser: Sysmon event ids, Security 4688, and the real netsh portproxy file."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from proxyhunt.diagnostics import Diagnostics
from proxyhunt.model import (
    KIND_WINDOWS,
    NETWORK_CONNECTION,
    OTHER,
    PIPE_CREATED,
    PROCESS_CREATION,
    REGISTRY_ADD,
    REGISTRY_DELETE,
    REGISTRY_SET,
    Record,
)
from proxyhunt.normalise import normalise
from proxyhunt.pipeline import iter_events
from proxyhunt.sources.registry import iter_records

CORPUS = Path(__file__).parents[1].parent / "shared" / "corpus"
NETSH = CORPUS / "EVTX-ATTACK-SAMPLES/Defense Evasion/de_portforward_netsh_rdp_sysmon_13_1.evtx"
SECURITY_ZIP = (
    CORPUS / "Security-Datasets/datasets/compound/Log4Shell/"
    "securityauditing_log4shell_cve2021_44228_java_serialized_object.zip"
)
MORDOR_PIPES = (
    CORPUS / "Security-Datasets/datasets/atomic/windows/other/aptsimulator_cobaltstrike.zip"
)
SYSMON = "Microsoft-Windows-Sysmon/Operational"


def _need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"corpus file not available: {path} (../shared/corpus is not staged)")
    return path


def _event(**data: object):  # type: ignore[no-untyped-def]
    record = Record(KIND_WINDOWS, dict(data), "test", "line 1", "test")
    event = normalise(record)
    assert event is not None
    return event


@pytest.mark.corpus
def test_real_netsh_portproxy_file() -> None:
    events = list(iter_events([str(_need(NETSH))], Diagnostics()))
    process = [e for e in events if e.category == PROCESS_CREATION]
    netsh = next(e for e in process if e.get("Image") == "C:\\Windows\\System32\\netsh.exe")
    assert (
        netsh.get("CommandLine") == "netsh  I p a v l=8001 listena=1.2.3.4 connectp=3389 c=1.2.3.5"
    )
    assert netsh.get("ParentImage") == "C:\\Windows\\System32\\cmd.exe"
    assert netsh.get("User") == "IEWIN7\\IEUser"
    assert netsh.time == datetime(2019, 5, 23, 17, 46, 4, 651000, tzinfo=UTC)  # UtcTime
    assert netsh.columns == {
        "ComputerName": "IEWIN7",
        "UserName": "IEWIN7\\IEUser",
        "ImageFileName": "C:\\Windows\\System32\\netsh.exe",
        "ParentBaseFileName": "cmd.exe",
        "TargetProcessId": "4088",
        "ContextProcessId": "712",
    }
    (registry,) = [e for e in events if e.category == REGISTRY_SET]
    assert registry.get("TargetObject") == (
        "HKLM\\System\\CurrentControlSet\\services\\PortProxy\\v4tov4\\tcp\\1.2.3.4/8001"
    )
    assert registry.get("Details") == "1.2.3.5/3389"
    assert registry.get("EventType") == "SetValue"


@pytest.mark.corpus
def test_azure_security_4688_maps_hex_pids_and_user() -> None:
    events = list(iter_events([str(_need(SECURITY_ZIP))], Diagnostics()))
    process = [e for e in events if e.category == PROCESS_CREATION]
    assert len(process) == 2
    for event in process:
        assert event.service == "security"
        assert str(event.get("ProcessId")).isdigit()
        assert str(event.get("ParentProcessId")).isdigit()
        assert event.get("User") == "NT AUTHORITY\\LOCAL SERVICE"
    first = process[0]
    assert first.get("Image") == "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe"
    assert (first.get("ProcessId"), first.get("ParentProcessId")) == ("2084", "3936")
    assert str(first.get("ParentImage")).endswith("tomcat9.exe")


@pytest.mark.corpus
def test_mordor_pipes_and_both_4688_and_sysmon() -> None:
    events = list(iter_events([str(_need(MORDOR_PIPES))], Diagnostics()))
    pipes = {e.get("PipeName") for e in events if e.category == PIPE_CREATED}
    assert {"\\msagent_fedac123", "\\MSSE-1337-server", "\\postex_ssh_fedac123"} <= pipes
    security = [e for e in events if e.service == "security" and e.category == PROCESS_CREATION]
    users = {e.get("User") for e in security}
    assert "WORKSTATION5\\APT-Simulator" in users
    assert all("\\" in str(user) for user in users)
    assert all(e.time is not None and e.time.tzinfo is not None for e in events)


def test_4688_version_1_has_no_parent_image_and_empty_command_line() -> None:
    event = _event(
        Channel="Security", EventID=4688, Computer="H", TimeCreated="2015-01-01T00:00:00Z",
        SubjectUserName="bob", SubjectDomainName="D", NewProcessId="0x10",
        NewProcessName="C:\\x.exe", ProcessId="0xa", CommandLine="",
    )  # fmt: skip
    assert event.category == PROCESS_CREATION
    assert event.get("CommandLine") == ""
    assert "ParentImage" not in event.fields
    assert (event.get("ProcessId"), event.get("ParentProcessId")) == ("16", "10")
    assert event.get("User") == "D\\bob"


@pytest.mark.parametrize(
    ("eid", "event_type", "category"),
    [
        (12, "CreateKey", REGISTRY_ADD),
        (12, "DeleteKey", REGISTRY_DELETE),
        (12, "DeleteValue", REGISTRY_DELETE),
        (13, "SetValue", REGISTRY_SET),
        (14, "RenameKey", "registry_event"),
    ],
)
def test_sysmon_registry_categories(eid: int, event_type: str, category: str) -> None:
    event = _event(Channel=SYSMON, EventID=eid, EventType=event_type, TargetObject="HKLM\\x")
    assert event.category == category


def test_sysmon_pipe_unescapes_anonymous_pipe() -> None:
    event = _event(Channel=SYSMON, EventID=17, PipeName="&lt;Anonymous Pipe&gt;", EventType="x")
    assert (event.category, event.get("PipeName")) == (PIPE_CREATED, "<Anonymous Pipe>")


def test_sysmon_network_values_become_strings() -> None:
    event = _event(
        Channel=SYSMON, EventID=3, Initiated=True, SourcePort=49186, DestinationPort=3389,
        Image="C:\\plink.exe", UtcTime="2024-03-01 10:00:00.000",
    )  # fmt: skip
    assert event.category == NETWORK_CONNECTION
    assert (event.get("Initiated"), event.get("DestinationPort")) == ("true", "3389")


def test_linux_sysmon_channel_is_product_linux() -> None:
    event = _event(
        Channel="Linux-Sysmon/Operational", EventID=1, Image="/usr/bin/ssh", User="root",
        CommandLine="ssh -D 1080 host", UtcTime="2022-05-11 18:10:33.154",
    )  # fmt: skip
    assert (event.product, event.category, event.service) == (
        "linux",
        PROCESS_CREATION,
        "sysmon-linux",
    )


def test_logstash_doubled_backslashes_are_undone_but_unc_paths_kept() -> None:
    event = _event(
        Channel=SYSMON, EventID=1, Image="C:\\\\Windows\\\\System32\\\\netsh.exe",
        CommandLine="cmd /c sc.exe \\\\DC01\\share query",
    )  # fmt: skip
    assert event.get("Image") == "C:\\Windows\\System32\\netsh.exe"
    assert event.get("CommandLine") == "cmd /c sc.exe \\\\DC01\\share query"


def test_time_prefers_utctime_and_ignores_nxlog_local_eventtime() -> None:
    event = _event(
        Channel=SYSMON, EventID=1, UtcTime="2020-08-05 07:48:29.139",
        EventTime="2020-08-05 03:48:29", **{"@timestamp": "2020-08-05T07:48:30.000Z"},
    )  # fmt: skip
    assert event.time == datetime(2020, 8, 5, 7, 48, 29, 139000, tzinfo=UTC)
    azure = _event(Channel=SYSMON, EventID=1, UtcTime="2022-05-13T08:54:05.1230000Z")
    assert azure.time == datetime(2022, 5, 13, 8, 54, 5, 123000, tzinfo=UTC)


def test_other_events_are_cheap_but_counted() -> None:
    event = _event(Channel="System", EventID=7036, Computer="WS01", param1="x")
    assert (event.category, event.fields, event.columns) == (OTHER, {"Computer": "WS01"}, {})


def test_guids_get_one_spelling() -> None:
    event = _event(Channel=SYSMON, EventID=1, ProcessGuid="365ABB72-DC5C-5CE6-0000-001066E27200")
    assert event.get("ProcessGuid") == "{365abb72-dc5c-5ce6-0000-001066e27200}"


def test_records_read_from_the_corpus_all_normalise() -> None:
    if not CORPUS.exists():
        pytest.skip("../shared/corpus is not staged")
    diag = Diagnostics()
    paths = [str(p) for p in sorted(CORPUS.glob("**/*.evtx"))]
    records = list(iter_records(paths, diag))
    events = [normalise(r) for r in records]
    assert all(e is not None and e.time is not None for e in events)
