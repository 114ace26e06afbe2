"""Windows event log records (EVTX, Mordor, NXLog, Winlogbeat raw, Azure) -> events.

Sysmon events already use Sigma's field names; Security 4688 is mapped onto them (hex pids
to decimal, ``DOMAIN\\user``). Other channels and event ids become category ``other`` with
only ``Computer``, so they are counted without costing much.
"""

from __future__ import annotations

import html
import ipaddress
import logging
from typing import Any

from proxyhunt.model import (
    NETWORK_CONNECTION,
    OTHER,
    PIPE_CREATED,
    PROCESS_CREATION,
    REGISTRY_ADD,
    REGISTRY_DELETE,
    REGISTRY_SET,
    Event,
    Record,
)
from proxyhunt.normalise.values import basename, first_time, pid, text, undouble_backslashes

log = logging.getLogger(__name__)

SYSMON = "sysmon"
SECURITY = "security"
LINUX_SYSMON_CHANNEL = "Linux-Sysmon/Operational"
_SYSMON_PROVIDERS = ("Microsoft-Windows-Sysmon", "Linux-Sysmon")
_SECURITY_PROVIDER = "Microsoft-Windows-Security-Auditing"

# Sigma's registry_event is what pySigma calls the category of EID 14 (key/value rename).
REGISTRY_EVENT = "registry_event"

_PROCESS_FIELDS = (
    "Image", "CommandLine", "OriginalFileName", "ParentImage", "ParentCommandLine", "User",
    "ProcessId", "ParentProcessId", "CurrentDirectory", "IntegrityLevel", "Hashes",
    "ProcessGuid", "ParentProcessGuid", "ParentUser", "LogonId", "LogonGuid",
    "TerminalSessionId", "Description", "Product", "Company", "FileVersion", "RuleName",
)  # fmt: skip
_NETWORK_FIELDS = (
    "Image", "User", "ProcessId", "ProcessGuid", "Protocol", "Initiated", "SourceIsIpv6",
    "SourceIp", "SourceHostname", "SourcePort", "SourcePortName", "DestinationIsIpv6",
    "DestinationIp", "DestinationHostname", "DestinationPort", "DestinationPortName", "RuleName",
)  # fmt: skip
_REGISTRY_FIELDS = (
    "EventType", "Image", "ProcessId", "ProcessGuid", "TargetObject", "Details", "NewName",
    "User", "RuleName",
)  # fmt: skip
# Windows Filtering Platform connection events (permitted, blocked, listen).
_WFP_EVENTS = (5154, 5155, 5156, 5157, 5158, 5159)
_WFP_FIELDS = (
    "ProcessID", "Application", "Direction", "SourceAddress", "SourcePort", "DestAddress",
    "DestPort", "Protocol", "FilterRTID", "LayerName", "LayerRTID", "RemoteUserID",
    "RemoteMachineID",
)  # fmt: skip
_PIPE_FIELDS = ("EventType", "Image", "ProcessId", "ProcessGuid", "PipeName", "User", "RuleName")
_4688_FIELDS = (
    "CommandLine", "NewProcessName", "ParentProcessName", "SubjectUserSid", "SubjectUserName",
    "SubjectDomainName", "SubjectLogonId", "TokenElevationType", "MandatoryLabel",
    "TargetUserName", "TargetDomainName",
)  # fmt: skip

# Fields where Logstash's doubled backslashes are undone.
_PATH_FIELDS = (
    "Image", "ParentImage", "CommandLine", "ParentCommandLine", "CurrentDirectory",
    "TargetObject", "NewName", "PipeName", "NewProcessName", "ParentProcessName",
)  # fmt: skip
_GUID_FIELDS = ("ProcessGuid", "ParentProcessGuid", "LogonGuid")
_INTEGRITY = {
    "S-1-16-4096": "Low",
    "S-1-16-8192": "Medium",
    "S-1-16-12288": "High",
    "S-1-16-16384": "System",
}
# The time a record happened, best first. NXLog's EventTime is local time: never used.
_TIME_KEYS = ("UtcTime", "@timestamp", "TimeCreated", "TimeGenerated")


def normalise(record: Record) -> Event | None:
    """A flat Windows record (System + EventData fields) as an event."""
    return build(record.data, record)


def build(
    data: dict[str, Any],
    record: Record,
    *,
    schema: str | None = None,
    event_id: int | None = None,
    service: str | None = None,
) -> Event:
    """The event for ``data``; ``schema``/``event_id``/``service`` override what it says.

    The ECS normaliser calls this with a dict it translated, naming the schema when the
    document does not carry a Windows channel.
    """
    channel = str(data.get("Channel") or "")
    provider = str(data.get("Provider") or "")
    eid = event_id if event_id is not None else _int(data.get("EventID"))
    schema = schema or _schema(channel, provider)
    linux = channel.startswith("Linux-Sysmon") or provider == "Linux-Sysmon"
    if schema == SYSMON:
        category, fields = _sysmon(data, eid)
        service = service or ("sysmon-linux" if linux else SYSMON)
    elif schema == SECURITY and eid == 4688:
        category, fields = PROCESS_CREATION, _process_4688(data)
        service = service or SECURITY
        if not fields.get("CommandLine"):
            _coverage_gap(record.source)
    elif schema == SECURITY and eid in _WFP_EVENTS:
        category, fields = OTHER, _copy(data, _WFP_FIELDS)
        fields["EventID"] = str(eid)
        service = service or SECURITY
    else:
        category, fields = OTHER, {}
        service = service or schema or (channel.lower() or "windows")
    fields["Computer"] = text(data.get("Computer"))
    return Event(
        fields=fields,
        time=first_time(data, *_TIME_KEYS),
        category=category,
        product="linux" if linux else "windows",
        service=service,
        event_id=str(eid) if eid is not None else "",
        source=record.source,
        locator=record.locator,
        fmt=record.fmt,
        columns=columns(fields) if category != OTHER else {},
    )


_GAPS_REPORTED: set[str] = set()


def _coverage_gap(source: str) -> None:
    """Say once per file that its 4688 events carry no command line (field case C23).

    Command-line auditing is off on that host: every command-line rule is blind there, which
    must not read as a clean result.
    """
    if source in _GAPS_REPORTED or len(_GAPS_REPORTED) > 10_000:
        return
    _GAPS_REPORTED.add(source)
    log.warning(
        "%s: Security 4688 events without CommandLine (command-line process auditing is off "
        "on that host): command-line rules cannot fire on them",
        source,
    )


def _schema(channel: str, provider: str) -> str | None:
    if channel.endswith("Sysmon/Operational") or provider in _SYSMON_PROVIDERS:
        return SYSMON
    if channel == "Security" or provider == _SECURITY_PROVIDER:
        return SECURITY
    return None


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _sysmon(data: dict[str, Any], eid: int | None) -> tuple[str, dict[str, str | None]]:
    if eid == 1:
        return PROCESS_CREATION, _copy(data, _PROCESS_FIELDS)
    if eid == 3:
        fields = _copy(data, _NETWORK_FIELDS)
        check_network_fields(fields)
        return NETWORK_CONNECTION, fields
    if eid in (12, 13, 14):
        fields = _copy(data, _REGISTRY_FIELDS)
        return _registry_category(eid, fields.get("EventType")), fields
    if eid in (17, 18):
        fields = _copy(data, _PIPE_FIELDS)
        if fields.get("PipeName"):
            # Some JSON exports HTML-escape "<Anonymous Pipe>".
            fields["PipeName"] = html.unescape(fields["PipeName"] or "")
        return PIPE_CREATED, fields
    return OTHER, {}


def check_network_fields(fields: dict[str, str | None]) -> None:
    """Refuse a Sysmon network event whose values sit under the wrong names.

    Forwarded or re-rendered events can shift every value one field along (an empty
    SourcePortName, a different manifest): the ports then hold host names and the
    addresses hold ports, and rules would read nonsense without any error.
    """
    wrong = [
        f"{name}={value!r}"
        for name, value in fields.items()
        if value and name in _NETWORK_TYPES and not _NETWORK_TYPES[name](value)
    ]
    if wrong:
        raise ValueError(f"misaligned fields: {', '.join(wrong)}")


def _is_port(value: str) -> bool:
    return value.isdigit() and int(value) <= 65535


def _is_address(value: str) -> bool:
    try:
        ipaddress.ip_address(value.split("%", 1)[0])
    except ValueError:
        return False
    return True


def _is_bool(value: str) -> bool:
    return value.lower() in ("true", "false")


_NETWORK_TYPES = {
    "SourcePort": _is_port,
    "DestinationPort": _is_port,
    "SourceIp": _is_address,
    "DestinationIp": _is_address,
    "SourceIsIpv6": _is_bool,
    "DestinationIsIpv6": _is_bool,
    "Initiated": _is_bool,
}


def _registry_category(eid: int, event_type: str | None) -> str:
    if eid == 13:
        return REGISTRY_SET
    if eid == 14:
        return REGISTRY_EVENT
    if event_type == "CreateKey":
        return REGISTRY_ADD
    if event_type in ("DeleteKey", "DeleteValue"):
        return REGISTRY_DELETE
    return REGISTRY_EVENT


def _copy(data: dict[str, Any], names: tuple[str, ...]) -> dict[str, str | None]:
    """The named fields that ``data`` has, as strings, with source quirks undone."""
    fields = {name: text(data[name]) for name in names if name in data}
    for name in _PATH_FIELDS:
        if name in fields:
            fields[name] = undouble_backslashes(fields[name])
    for name in ("ProcessId", "ParentProcessId"):
        if name in fields:
            fields[name] = pid(fields[name])
    for name in _GUID_FIELDS:
        if fields.get(name):
            fields[name] = _guid(fields[name] or "")
    return fields


def _guid(value: str) -> str:
    # evtx-rs writes 365ABB72-...; Windows' rendering {365abb72-...}: one spelling for both.
    value = value.strip()
    if value and value[0] != "{":
        value = "{" + value + "}"
    return value.lower()


def _process_4688(data: dict[str, Any]) -> dict[str, str | None]:
    fields = _copy(data, _4688_FIELDS)
    if "NewProcessName" in fields:
        fields["Image"] = fields["NewProcessName"]
    if "ParentProcessName" in fields:
        fields["ParentImage"] = fields["ParentProcessName"]
    # NewProcessId is the new process; ProcessId is its creator (both hex).
    if "NewProcessId" in data:
        fields["ProcessId"] = pid(data["NewProcessId"])
    if "ProcessId" in data:
        fields["ParentProcessId"] = pid(data["ProcessId"])
    user = _user(fields.get("SubjectDomainName"), fields.get("SubjectUserName"))
    if user is not None:
        fields["User"] = user
    label = fields.get("MandatoryLabel")
    if label in _INTEGRITY:
        fields["IntegrityLevel"] = _INTEGRITY[label]
    return fields


def _user(domain: str | None, name: str | None) -> str | None:
    if domain and name:
        return f"{domain}\\{name}"
    return name or None


def columns(fields: dict[str, str | None]) -> dict[str, str]:
    """The triage columns from Sigma-named fields (Windows and Linux sources)."""
    candidates = {
        "ComputerName": fields.get("Computer"),
        "UserName": fields.get("User"),
        "ImageFileName": fields.get("Image"),
        "ParentBaseFileName": basename(fields.get("ParentImage")),
        "TargetProcessId": fields.get("ProcessId"),
        "ContextProcessId": fields.get("ParentProcessId"),
    }
    return {name: value for name, value in candidates.items() if value}
