"""Falcon Data Replicator events -> events with Sigma field names.

Falcon identifies processes by its own ids (``TargetProcessId``, ``ContextProcessId``), gives
the image as an NT device path (kept as is: rules match on the path's end) and the parent
only as a base name. Those native values also fill the triage columns unchanged.
"""

from __future__ import annotations

import logging
from typing import Any

from proxyhunt.model import (
    NETWORK_CONNECTION,
    OTHER,
    PROCESS_CREATION,
    REGISTRY_SET,
    Event,
    Record,
)
from proxyhunt.normalise.values import first_time, text

log = logging.getLogger(__name__)

_PROCESS_EVENTS = frozenset({"ProcessRollup2", "SyntheticProcessRollup2"})
# Connect = this host initiated; accept = a peer connected in; listen = a socket bound.
_NETWORK_EVENTS = {
    "NetworkConnectIP4": "true",
    "NetworkConnectIP6": "true",
    "NetworkReceiveAcceptIP4": "false",
    "NetworkReceiveAcceptIP6": "false",
    "NetworkListenIP4": "false",
    "NetworkListenIP6": "false",
}
_REGISTRY_EVENTS = frozenset({"RegGenericValueUpdate", "AsepValueUpdate"})
_PLATFORMS = {"Win": "windows", "Lin": "linux", "Mac": "macos"}
_PROTOCOLS = {"6": "tcp", "17": "udp"}
# Falcon writes kernel registry paths; Sysmon and Sigma rules use the short hive names.
_HIVES = (("\\REGISTRY\\MACHINE\\", "HKLM\\"), ("\\REGISTRY\\USER\\", "HKU\\"))


def normalise(record: Record) -> Event | None:
    """One FDR event as an :class:`Event` (category ``other`` for event types not mapped)."""
    data = record.data
    name = str(data.get("event_simpleName") or "")
    if name in _PROCESS_EVENTS:
        category, fields = PROCESS_CREATION, _process(data)
        stamp = first_time(data, "ProcessStartTime", "timestamp")
    elif name in _NETWORK_EVENTS:
        category, fields = NETWORK_CONNECTION, _network(data, _NETWORK_EVENTS[name])
        stamp = first_time(data, "ContextTimeStamp", "timestamp")
    elif name in _REGISTRY_EVENTS:
        category, fields = REGISTRY_SET, _registry(data)
        stamp = first_time(data, "ContextTimeStamp", "timestamp")
    else:
        category, fields = OTHER, {}
        stamp = first_time(data, "ContextTimeStamp", "timestamp")
    fields["Computer"] = _computer(data)
    return Event(
        fields=fields,
        time=stamp,
        category=category,
        product=_product(data),
        service="falcon",
        event_id=name,
        source=record.source,
        locator=record.locator,
        fmt=record.fmt,
        columns=_columns(data) if category != OTHER else {},
    )


def _computer(data: dict[str, Any]) -> str | None:
    return text(data.get("ComputerName") or data.get("aid"))


def _user(data: dict[str, Any]) -> str | None:
    return text(data.get("UserName") or data.get("UserSid"))


def _product(data: dict[str, Any]) -> str:
    platform = _PLATFORMS.get(str(data.get("event_platform") or ""))
    if platform:
        return platform
    image = str(data.get("ImageFileName") or "")
    return "linux" if image.startswith("/") else "windows"


def _present(data: dict[str, Any], mapping: dict[str, str]) -> dict[str, str | None]:
    """Sigma name -> value for each Falcon field (value of ``mapping``) that ``data`` has."""
    return {sigma: text(data[falcon]) for sigma, falcon in mapping.items() if falcon in data}


def _process(data: dict[str, Any]) -> dict[str, str | None]:
    fields = _present(
        data,
        {
            "Image": "ImageFileName",
            "CommandLine": "CommandLine",
            "ParentImage": "ParentBaseFileName",
            "ProcessId": "TargetProcessId",
            "ParentProcessId": "ParentProcessId",
        },
    )
    if fields.get("Image") in (None, "", "/") and fields.get("CommandLine"):
        # Container children are reported with ImageFileName "/": argv[0] names the program.
        fields["Image"] = _argv0(fields["CommandLine"] or "")
    user = _user(data)
    if user is not None:
        fields["User"] = user
    return fields


def _argv0(command_line: str) -> str:
    stripped = command_line.lstrip()
    if stripped.startswith('"'):
        return stripped[1:].split('"', 1)[0]
    return stripped.split(maxsplit=1)[0] if stripped else ""


def _network(data: dict[str, Any], initiated: str) -> dict[str, str | None]:
    fields = _present(
        data,
        {
            "ProcessId": "ContextProcessId",
            "SourcePort": "LocalPort",
            "DestinationPort": "RemotePort",
        },
    )
    local = data.get("LocalAddressIP4") or data.get("LocalAddressIP6")
    remote = data.get("RemoteAddressIP4") or data.get("RemoteAddressIP6")
    if local is not None:
        fields["SourceIp"] = text(local)
    if remote is not None:
        fields["DestinationIp"] = text(remote)
    protocol = str(data.get("Protocol") or "")
    if protocol:
        fields["Protocol"] = _PROTOCOLS.get(protocol, protocol)
    fields["Initiated"] = initiated
    if data.get("ContextBaseFileName"):
        fields["Image"] = text(data["ContextBaseFileName"])
    return fields


def _registry(data: dict[str, Any]) -> dict[str, str | None]:
    key = str(data.get("RegObjectName") or "")
    for prefix, hive in _HIVES:
        if key.upper().startswith(prefix):
            key = hive + key[len(prefix) :]
            break
    value = data.get("RegValueName")
    fields: dict[str, str | None] = {
        "EventType": "SetValue",
        "TargetObject": f"{key}\\{value}" if value else key,
    }
    details = data.get("RegStringValue")
    if details is None and "RegNumericValue" in data:
        details = data["RegNumericValue"]
    if details is not None:
        fields["Details"] = text(details)
    if "ContextProcessId" in data:
        fields["ProcessId"] = text(data["ContextProcessId"])
    return fields


def _columns(data: dict[str, Any]) -> dict[str, str]:
    """The triage columns from Falcon's own fields, as Falcon writes them."""
    candidates = {
        "ComputerName": _computer(data),
        "UserName": _user(data),
        "ImageFileName": text(data.get("ImageFileName")),
        "ParentBaseFileName": text(data.get("ParentBaseFileName")),
        "TargetProcessId": text(data.get("TargetProcessId")),
        "ContextProcessId": text(data.get("ContextProcessId")),
    }
    return {name: value for name, value in candidates.items() if value}
