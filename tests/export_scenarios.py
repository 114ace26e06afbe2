"""Scenario events for the export tests, in three forms: normalised (for the local engine),
Falcon FDR rows and ECS documents (for the exported queries).

One list of events drives every executed export test, so "the exported query finds the same
hits as `proxyhunt scan`" is checked on the same inputs for every target. The events mix true
positives of each indicator family with look-alikes (logins, `show` commands, substring
traps) so a wrong translation changes the result.
"""

from __future__ import annotations

import ntpath
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from proxyhunt.model import Event

PROCESS, REG_SET, PIPE, NETWORK = (
    "process_creation",
    "registry_set",
    "pipe_created",
    "network_connection",
)
BASE_TIME = datetime(2024, 3, 1, 10, 0, tzinfo=UTC)
SYS32 = "\\Device\\HarddiskVolume2\\Windows\\System32\\"
PORTPROXY_KEY = "\\REGISTRY\\MACHINE\\SYSTEM\\ControlSet001\\Services\\PortProxy\\v4tov4\\tcp"


@dataclass(frozen=True)
class Scenario:
    key: str  # also the process id, so a hit can be traced back to its scenario
    category: str
    product: str
    fields: dict[str, str | None]


def _proc(
    key: str, image: str, command_line: str | None, product: str = "windows", **extra: str
) -> Scenario:
    fields: dict[str, str | None] = {"Image": image, "CommandLine": command_line}
    fields.update(extra)
    return Scenario(key, PROCESS, product, fields)


SCENARIOS: tuple[Scenario, ...] = (
    _proc(
        "1001",
        SYS32 + "netsh.exe",
        "netsh interface portproxy add v4tov4 listenport=8080"
        " connectaddress=10.0.0.5 connectport=3389",
    ),
    _proc(
        "1002", SYS32 + "netsh.exe", "netsh  I p a v l=8001 listena=1.2.3.4 connectp=3389 c=1.2.3.5"
    ),
    _proc("1003", SYS32 + "netsh.exe", "netsh interface portproxy show all"),
    _proc(
        "1004",
        SYS32 + "NETSH.EXE",
        "NETSH INTERFACE PORTPROXY ADD V4TOV4 LISTENPORT=1 CONNECTPORT=2",
    ),
    _proc("1005", SYS32 + "netsh.exe", "netsh interface portproxy delete v4tov4 listenport=8080"),
    _proc(
        "1010",
        "\\Device\\HarddiskVolume2\\Users\\a\\chisel.exe",
        "chisel.exe client 10.0.0.99:8443 R:socks",
    ),
    _proc("1011", "\\Device\\HarddiskVolume2\\tools\\lcx.exe", "lcx.exe -tran 53 10.0.0.1 3389"),
    _proc("1012", "\\Device\\HarddiskVolume2\\tools\\gost.exe", None),
    _proc(
        "1013", "\\Device\\HarddiskVolume2\\tools\\chisel.exe", "chisel.exe server listenport=9000"
    ),
    _proc("1014", "/usr/bin/socat", "socat TCP-LISTEN:8080,fork TCP:10.0.0.5:22", product="linux"),
    _proc("1015", "\\Device\\HarddiskVolume2\\tools\\nc.exe", "nc.exe -l -p 4444 -e cmd.exe"),
    _proc("1020", SYS32 + "OpenSSH\\ssh.exe", "ssh.exe -L 9090:192.168.1.50:445 user@10.0.0.1"),
    _proc("1021", SYS32 + "OpenSSH\\ssh.exe", "ssh.exe -l root 10.0.0.1"),
    _proc(
        "1022",
        "\\Device\\HarddiskVolume2\\tools\\plink.exe",
        "plink.exe -R 8080:127.0.0.1:3389 -l u -pw p 203.0.113.5 -P 443",
    ),
    _proc("1023", "/usr/bin/ssh", "ssh -N -D 1080 user@203.0.113.5", product="linux"),
    _proc(
        "1030",
        SYS32 + "svchost.exe",
        "C:\\Windows\\system32\\svchost.exe -k LocalServiceNetworkRestricted"
        " -p -s WinHttpAutoProxySvc",
    ),
    _proc("1031", SYS32 + "cmd.exe", "cmd.exe /c echo hello"),
    Scenario(
        "1040",
        REG_SET,
        "windows",
        {
            "TargetObject": PORTPROXY_KEY + "\\0.0.0.0/8080",
            "Details": "10.0.0.5/3389",
            "EventType": "SetValue",
            "Image": SYS32 + "netsh.exe",
        },
    ),
    Scenario(
        "1041",
        REG_SET,
        "windows",
        {
            "TargetObject": "\\REGISTRY\\MACHINE\\SOFTWARE\\Vendor\\UplinkBps",
            "Details": "DWORD (0x00000001)",
            "EventType": "SetValue",
            "Image": SYS32 + "svchost.exe",
        },
    ),
    Scenario(
        "1050",
        PIPE,
        "windows",
        {
            "PipeName": "\\msagent_fedac123",
            "EventType": "CreatePipe",
            "Image": "\\Device\\HarddiskVolume2\\TMP\\beacon.exe",
        },
    ),
    Scenario(
        "1051",
        PIPE,
        "windows",
        {
            "PipeName": "\\mojo.3240.7112.9121936055355962917",
            "EventType": "CreatePipe",
            "Image": "\\Device\\HarddiskVolume2\\Program Files\\Google\\Chrome\\chrome.exe",
        },
    ),
)


def time_of(index: int) -> datetime:
    return BASE_TIME + timedelta(minutes=index)


def normalised(scenarios: tuple[Scenario, ...] = SCENARIOS) -> list[Event]:
    """The scenarios as normalised events, the local engine's input."""
    events = []
    for index, sc in enumerate(scenarios):
        image = sc.fields.get("Image") or ""
        events.append(
            Event(
                fields=dict(sc.fields, ProcessId=sc.key),
                time=time_of(index),
                category=sc.category,
                product=sc.product,
                service="falcon",
                event_id=sc.category,
                source="scenario",
                locator=f"scenario {sc.key}",
                fmt="scenario",
                columns={"ImageFileName": image, "TargetProcessId": sc.key},
            )
        )
    return events


def falcon_rows(scenarios: tuple[Scenario, ...] = SCENARIOS) -> list[dict[str, str | None]]:
    """The scenarios as Falcon FDR events (every value a string, as FDR writes them)."""
    rows = []
    for index, sc in enumerate(scenarios):
        row = dict.fromkeys(FALCON_COLUMNS)
        row.update(
            {
                "event_platform": {"windows": "Win", "linux": "Lin"}[sc.product],
                "timestamp": str(int(time_of(index).timestamp() * 1000)),
                "aid": "12c684659c3842e19f0bfb2b23037bbd",
                "ComputerName": "WS01",
                "UserName": "alice",
            }
        )
        if sc.category == PROCESS:
            row.update(
                {
                    "event_simpleName": "ProcessRollup2",
                    "ImageFileName": sc.fields["Image"],
                    "CommandLine": sc.fields["CommandLine"],
                    "ParentBaseFileName": "cmd.exe",
                    "TargetProcessId": sc.key,
                    "RawProcessId": sc.key,
                }
            )
        elif sc.category == REG_SET:
            key, _, value = (sc.fields["TargetObject"] or "").rpartition("\\")
            row.update(
                {
                    "event_simpleName": "RegGenericValueUpdate",
                    "RegObjectName": key,
                    "RegValueName": value,
                    "RegStringValue": sc.fields["Details"],
                    "ContextProcessId": sc.key,
                }
            )
        else:  # no Falcon event for pipes: a row no rule may match
            row.update({"event_simpleName": "NamedPipeCreated", "ContextProcessId": sc.key})
        rows.append(row)
    return rows


FALCON_COLUMNS = (
    "event_simpleName",
    "event_platform",
    "timestamp",
    "aid",
    "ImageFileName",
    "CommandLine",
    "ParentBaseFileName",
    "UserName",
    "ComputerName",
    "TargetProcessId",
    "ContextProcessId",
    "RawProcessId",
    "RegObjectName",
    "RegValueName",
    "RegStringValue",
    "LocalAddressIP4",
    "LocalPort",
    "RemoteAddressIP4",
    "RemotePort",
)

_ECS_CODES = {PROCESS: "1", REG_SET: "13", PIPE: "17", NETWORK: "3"}
_ECS_CATEGORY = {PROCESS: "process", REG_SET: "registry", PIPE: "file", NETWORK: "network"}


def ecs_documents(scenarios: tuple[Scenario, ...] = SCENARIOS) -> list[dict[str, Any]]:
    """The scenarios as ECS documents, as Winlogbeat's Sysmon module writes them."""
    docs = []
    for index, sc in enumerate(scenarios):
        image = sc.fields.get("Image")
        # Every field the export maps exists in every document (null when the event has no
        # such value), as a cluster's mapping would have it: Spark needs the struct fields.
        process: dict[str, Any] = {
            "command_line": None,
            "working_directory": None,
            "pe": {"original_file_name": None},
            "pid": int(sc.key),
            "executable": image,
            "name": ntpath.basename(image or "") or None,
            "parent": {"pid": 1, "name": "cmd.exe", "executable": None, "command_line": None},
        }
        doc: dict[str, Any] = {
            "@timestamp": time_of(index).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "event": {"code": _ECS_CODES[sc.category], "category": [_ECS_CATEGORY[sc.category]]},
            "host": {"name": "WS01", "os": {"type": sc.product}},
            "user": {"name": "alice"},
            "process": process,
            "registry": {"path": None},
            "file": {"name": None},
            "source": {"ip": None, "port": None},
            "destination": {"ip": None, "port": None},
        }
        if sc.category == PROCESS:
            process["command_line"] = sc.fields["CommandLine"]
        elif sc.category == REG_SET:
            doc["registry"] = {"path": sc.fields["TargetObject"]}
        elif sc.category == PIPE:
            doc["file"] = {"name": sc.fields["PipeName"]}
        docs.append(doc)
    return docs


def engine_truth(
    profile: str, skip_rule_ids: set[str], skip_categories: set[str] = frozenset()
) -> dict[str, tuple[int, str, str, dict[str, bool]]]:
    """key -> (score, detection_type, severity, indicators) by proxyhunt's own engine.

    Rules the target reports as not covered, and events of categories it cannot see, are left
    out, so the comparison is about the rules the exported query claims to carry.
    """
    from proxyhunt.pipeline import Detector
    from proxyhunt.score import score_event

    detector = Detector.load(profile)
    truth = {}
    for sc, event in zip(SCENARIOS, normalised(), strict=True):
        if sc.category in skip_categories:
            continue
        matched = [r for r in detector.ruleset.match(event) if r.id not in skip_rule_ids]
        hit = score_event(event, matched, detector.profile)
        if hit is not None:
            truth[sc.key] = (hit.suspicion_score, hit.detection_type, hit.severity, hit.indicators)
    return truth
