"""Microsoft Sentinel KQL over SecurityEvent (4688) and Sysmon in WindowsEvent."""

from __future__ import annotations

from proxyhunt.export import platforms as pf
from proxyhunt.export.detection import Detection
from proxyhunt.export.kql import Leg, render_kql, union_prelude
from proxyhunt.export.registry import Target, register

TARGET = "sentinel"
COLUMNS = (
    "TimeGenerated", "SigmaCategory", "SigmaProduct", "Computer", "Image", "CommandLine",
    "ParentImage", "ParentCommandLine", "OriginalFileName", "User", "ProcessId",
    "ParentProcessId", "TargetObject", "Details", "EventType", "PipeName",
)  # fmt: skip
_SYSMON_CATEGORY = (
    'case(EventID == 1, "process_creation", EventID == 13, "registry_set", EventID == 12'
    ' and tostring(EventData.EventType) startswith "Delete", "registry_delete",'
    ' EventID == 12, "registry_add", "pipe_created")'
)
_SYSMON_FIELDS = (
    "Image", "CommandLine", "ParentImage", "ParentCommandLine", "OriginalFileName", "User",
    "ProcessId", "ParentProcessId", "TargetObject", "Details", "EventType", "PipeName",
)  # fmt: skip
LEGS = [
    Leg(
        "SecurityEvent",
        "EventID == 4688",
        (
            ("SigmaCategory", '"process_creation"'),
            ("SigmaProduct", '"windows"'),
            # ParentProcessId first: it reads 4688's ProcessId (the creator) before the next
            # line reuses the name for the new process.
            ("ParentProcessId", "ProcessId"),
            ("ProcessId", "NewProcessId"),
            ("Image", "NewProcessName"),
            ("ParentImage", "ParentProcessName"),
            ("User", 'strcat(SubjectDomainName, "\\\\", SubjectUserName)'),
        ),
        native=("TimeGenerated", "Computer", "CommandLine"),
    ),
    Leg(
        "WindowsEvent",
        'Provider == "Microsoft-Windows-Sysmon" and EventID in (1, 12, 13, 17)',
        (
            ("SigmaCategory", _SYSMON_CATEGORY),
            ("SigmaProduct", '"windows"'),
            *((name, f"tostring(EventData.{name})") for name in _SYSMON_FIELDS),
        ),
        native=("TimeGenerated", "Computer"),
    ),
]
CATEGORIES = {
    pf.PROCESS: (
        "Image", "CommandLine", "ParentImage", "ParentCommandLine", "OriginalFileName", "User",
        "Computer", "ProcessId", "ParentProcessId",
    ),
    pf.REG_SET: ("TargetObject", "Details", "EventType", "Image", "User", "Computer"),
    pf.REG_ADD: ("TargetObject", "EventType", "Image", "User", "Computer"),
    pf.REG_DELETE: ("TargetObject", "EventType", "Image", "User", "Computer"),
    pf.PIPE: ("PipeName", "EventType", "Image", "User", "Computer"),
}  # fmt: skip
TRIAGE = {
    "_timeutc": "TimeGenerated",
    "ComputerName": "Computer",
    "UserName": "User",
    "ImageFileName": "Image",
    "ParentBaseFileName": 'extract(@"([^\\\\/]+)$", 1, ParentImage)',
    "TargetProcessId": "ProcessId",
    "ContextProcessId": "ParentProcessId",
}
ASSUMPTIONS = [
    "Log Analytics workspace with SecurityEvent (4688 with command-line auditing on) and/or"
    " WindowsEvent holding Sysmon events 1, 12, 13 and 17 (Azure Monitor Agent DCR for"
    " Microsoft-Windows-Sysmon/Operational); a missing table is skipped (union isfuzzy=true)",
    "4688 has no OriginalFileName/ParentCommandLine: rules on those fields only see Sysmon",
    "4688 process ids are hex strings (0x1048), Sysmon's decimal",
    "no network table is read: network_connection rules are not covered",
]


def render(det: Detection) -> str:
    prelude = union_prelude(LEGS, COLUMNS)
    return render_kql(det, TARGET, prelude, CATEGORIES, ASSUMPTIONS, TRIAGE)


register(Target(TARGET, "Microsoft Sentinel KQL (SecurityEvent 4688, Sysmon)", render, ".kql"))
