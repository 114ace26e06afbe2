"""The records readers produce and the normalised events the rules see.

A reader turns bytes into :class:`Record` objects: the fields as the source has them, plus
where they came from. A normaliser turns a record into an :class:`Event` whose ``fields`` use
Sigma's field names (``Image``, ``CommandLine``, ``ParentImage``, ``User``, ``ProcessId`` ...),
so one rule matches Sysmon, Security 4688, Falcon and Linux process events alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# Kinds of record a reader can produce; each has one normaliser (see proxyhunt.normalise).
KIND_WINDOWS = "windows"  # Windows event log shape: System fields + EventData flattened
KIND_FALCON = "falcon"  # CrowdStrike Falcon Data Replicator event
KIND_ECS = "ecs"  # Elastic Common Schema document (Winlogbeat with ECS mapping)
KIND_AUDITD = "auditd"  # one assembled Linux audit event (records merged by serial)

# Sigma log source categories proxyhunt's rules use.
PROCESS_CREATION = "process_creation"
NETWORK_CONNECTION = "network_connection"
REGISTRY_SET = "registry_set"
REGISTRY_DELETE = "registry_delete"
REGISTRY_ADD = "registry_add"
PIPE_CREATED = "pipe_created"
OTHER = "other"


@dataclass(slots=True)
class Record:
    """One event as a reader found it, before normalisation.

    ``data`` holds the source's own field names. For ``KIND_WINDOWS`` the System fields
    (``Channel``, ``EventID`` as int, ``Computer``, ``TimeCreated`` ISO string,
    ``EventRecordID``, ``Provider``) and the EventData fields share one flat dict, the way
    OTRF/Mordor exports them.
    """

    kind: str
    data: dict[str, Any]
    source: str  # the file as the user named it (with ``!member`` for archive members)
    locator: str  # where in the file: "record 1026", "line 12", "chunk 1 @0x11000"
    fmt: str  # the reader's format name, counted in the summary ("evtx", "fdr-ndjson", ...)


@dataclass(slots=True)
class Event:
    """A normalised event: Sigma field names, UTC time, and the columns the triage shows."""

    fields: dict[str, str | None]
    time: datetime | None
    category: str
    product: str  # "windows", "linux", "macos"
    service: str  # "sysmon", "security", "falcon", "auditd", "sysmon-linux", ...
    event_id: str
    source: str
    locator: str
    fmt: str
    # Falcon-style output columns (ComputerName, UserName, ImageFileName, ParentBaseFileName,
    # TargetProcessId, ContextProcessId), filled from whatever the source had.
    columns: dict[str, str] = field(default_factory=dict)

    def get(self, name: str) -> str | None:
        return self.fields.get(name)
