"""Elastic Common Schema documents (Winlogbeat with ingest mapping) -> events.

An ECS document is translated back into the flat Windows dict (Sysmon or 4688 names) and
handed to :mod:`proxyhunt.normalise.windows`, so both routes give identical fields. Ingest
pipelines *move* fields out of ``winlog.event_data``, so values are looked for in both.
"""

from __future__ import annotations

import logging
from typing import Any

from proxyhunt.model import Event, Record
from proxyhunt.normalise import windows
from proxyhunt.sources.jsonlog import event_id, from_winlog, mapping

log = logging.getLogger(__name__)

# Sysmon name -> ECS dotted path.
_SYSMON_PATHS = {
    "Image": "process.executable",
    "CommandLine": "process.command_line",
    "ParentImage": "process.parent.executable",
    "ParentCommandLine": "process.parent.command_line",
    "ProcessId": "process.pid",
    "ParentProcessId": "process.parent.pid",
    "ProcessGuid": "process.entity_id",
    "ParentProcessGuid": "process.parent.entity_id",
    "CurrentDirectory": "process.working_directory",
    "OriginalFileName": "process.pe.original_file_name",
    "TargetObject": "registry.path",
    "PipeName": "file.name",
    "SourceIp": "source.ip",
    "SourcePort": "source.port",
    "DestinationIp": "destination.ip",
    "DestinationPort": "destination.port",
    "Protocol": "network.transport",
    "RuleName": "rule.name",
}
# Security 4688 name -> ECS dotted path (winlogbeat security module).
_4688_PATHS = {
    "NewProcessName": "process.executable",
    "CommandLine": "process.command_line",
    "ParentProcessName": "process.parent.executable",
    "NewProcessId": "process.pid",
    "ProcessId": "process.parent.pid",
    "SubjectUserName": "user.name",
    "SubjectDomainName": "user.domain",
}
# Without a channel, what the document is about decides which Sysmon event it resembles.
_CATEGORY_EVENT_IDS = {"process": 1, "network": 3, "registry": 13}


def normalise(record: Record) -> Event | None:
    """An ECS document as an event, through the Windows normaliser."""
    doc = record.data
    flat = from_winlog(doc, mapping(doc, "winlog"))
    flat["EventID"] = event_id(flat.get("EventID") or get(doc, "event.code"))
    schema, eid = _schema(doc, flat)
    paths = _4688_PATHS if flat.get("EventID") == 4688 else _SYSMON_PATHS
    for name, path in paths.items():
        value = get(doc, path)
        if value is not None and name not in flat:
            flat[name] = value
    _fill_user(doc, flat)
    _fill_details(doc, flat)
    if "Initiated" not in flat:
        direction = get(doc, "network.direction")
        if direction:
            flat["Initiated"] = "true" if direction in ("outbound", "egress") else "false"
    flat["Computer"] = flat.get("Computer") or get(doc, "host.name")
    event = windows.build(flat, record, schema=schema, event_id=eid)
    if get(doc, "host.os.type") in ("linux", "macos"):
        event.product = get(doc, "host.os.type")
    return event


def get(doc: dict[str, Any], path: str) -> Any:
    """The value at a dotted path, also when a shipper wrote the dotted key literally."""
    if path in doc:
        return doc[path]
    node: Any = doc
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _schema(doc: dict[str, Any], flat: dict[str, Any]) -> tuple[str | None, int | None]:
    """The Windows schema and event id to use when the document has no channel."""
    if flat.get("Channel") or get(doc, "event.module") == "sysmon":
        schema = windows.SYSMON if get(doc, "event.module") == "sysmon" else None
        return schema, None
    if flat.get("EventID") == 4688:
        return windows.SECURITY, 4688
    categories = get(doc, "event.category") or []
    if isinstance(categories, str):
        categories = [categories]
    for category in categories:
        if category in _CATEGORY_EVENT_IDS:
            return windows.SYSMON, _CATEGORY_EVENT_IDS[category]
    return None, None


def _fill_user(doc: dict[str, Any], flat: dict[str, Any]) -> None:
    # Sysmon's User ("DOMAIN\\user") is split into user.domain + user.name by the pipeline.
    if "User" in flat:
        return
    name, domain = get(doc, "user.name"), get(doc, "user.domain")
    if name:
        flat["User"] = f"{domain}\\{name}" if domain else name


def _fill_details(doc: dict[str, Any], flat: dict[str, Any]) -> None:
    if "Details" in flat:
        return
    strings = get(doc, "registry.data.strings")
    if isinstance(strings, list) and strings:
        flat["Details"] = strings[0]
