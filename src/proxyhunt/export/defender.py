"""Microsoft Defender XDR advanced hunting KQL (DeviceProcessEvents and friends)."""

from __future__ import annotations

from proxyhunt.export import platforms as pf
from proxyhunt.export.detection import Detection
from proxyhunt.export.kql import Leg, render_kql, union_prelude
from proxyhunt.export.registry import Target, register

TARGET = "defender"
COLUMNS = (
    "Timestamp", "SigmaCategory", "SigmaProduct", "DeviceName", "Image", "CommandLine",
    "ParentImage", "ParentCommandLine", "OriginalFileName", "User", "ProcessId",
    "ParentProcessId", "TargetObject", "Details", "EventType", "PipeName",
)  # fmt: skip
_INITIATOR = (
    ("Image", "InitiatingProcessFolderPath"),
    ("ParentImage", "InitiatingProcessParentFileName"),
    ("User", 'strcat(InitiatingProcessAccountDomain, "\\\\", InitiatingProcessAccountName)'),
    ("ProcessId", "tostring(InitiatingProcessId)"),
    ("ParentProcessId", "tostring(InitiatingProcessParentId)"),
)
_REGISTRY_ACTIONS = (
    '("RegistryValueSet", "RegistryKeyCreated", "RegistryValueDeleted", "RegistryKeyDeleted")'
)
LEGS = [
    Leg(
        "DeviceProcessEvents",
        None,
        (
            ("SigmaCategory", '"process_creation"'),
            ("SigmaProduct", 'iff(FolderPath startswith "/", "linux", "windows")'),
            ("Image", "FolderPath"),
            ("CommandLine", "ProcessCommandLine"),
            ("ParentImage", "InitiatingProcessFolderPath"),
            ("ParentCommandLine", "InitiatingProcessCommandLine"),
            ("OriginalFileName", "ProcessVersionInfoOriginalFileName"),
            ("User", 'strcat(AccountDomain, "\\\\", AccountName)'),
            ("ParentProcessId", "tostring(InitiatingProcessId)"),
            ("ProcessId", "tostring(ProcessId)"),
        ),
        native=("Timestamp", "DeviceName"),
    ),
    Leg(
        "DeviceRegistryEvents",
        f"ActionType in {_REGISTRY_ACTIONS}",
        (
            (
                "SigmaCategory",
                'case(ActionType == "RegistryValueSet", "registry_set",'
                ' ActionType == "RegistryKeyCreated", "registry_add", "registry_delete")',
            ),
            ("SigmaProduct", '"windows"'),
            (
                "TargetObject",
                'iff(isempty(RegistryValueName), RegistryKey, strcat(RegistryKey, "\\\\",'
                " RegistryValueName))",
            ),
            ("Details", "RegistryValueData"),
            ("EventType", "ActionType"),
            *_INITIATOR,
        ),
        native=("Timestamp", "DeviceName"),
    ),
    Leg(
        "DeviceEvents",
        'ActionType == "NamedPipeEvent"',
        (
            ("SigmaCategory", '"pipe_created"'),
            ("SigmaProduct", '"windows"'),
            (
                "PipeName",
                "replace_string(tostring(parse_json(AdditionalFields).PipeName),"
                ' "\\\\Device\\\\NamedPipe", "")',
            ),
            ("EventType", "tostring(parse_json(AdditionalFields).FileOperation)"),
            *_INITIATOR,
        ),
        native=("Timestamp", "DeviceName"),
    ),
]
CATEGORIES = {
    pf.PROCESS: (
        "Image", "CommandLine", "ParentImage", "ParentCommandLine", "OriginalFileName", "User",
        "ProcessId", "ParentProcessId",
    ),
    pf.REG_SET: ("TargetObject", "Details", "EventType", "Image", "User"),
    pf.REG_ADD: ("TargetObject", "EventType", "Image", "User"),
    pf.REG_DELETE: ("TargetObject", "EventType", "Image", "User"),
    pf.PIPE: ("PipeName", "Image", "User"),
}  # fmt: skip
TRIAGE = {
    "_timeutc": "Timestamp",
    "ComputerName": "DeviceName",
    "UserName": "User",
    "ImageFileName": "Image",
    "ParentBaseFileName": 'extract(@"([^\\\\/]+)$", 1, ParentImage)',
    "TargetProcessId": "ProcessId",
    "ContextProcessId": "ParentProcessId",
}
ASSUMPTIONS = [
    "Defender XDR advanced hunting (or Sentinel with the XDR connector) with"
    " DeviceProcessEvents, DeviceRegistryEvents and DeviceEvents",
    "pipes come from DeviceEvents ActionType NamedPipeEvent; the \\Device\\NamedPipe prefix is"
    " removed so PipeName looks like Sysmon's (\\msagent_12)",
    "registry TargetObject = RegistryKey + \\ + RegistryValueName (HKEY_LOCAL_MACHINE\\... form)",
    "SigmaProduct is linux when the image path starts with / (macOS counts as linux here)",
    "advanced hunting returns at most 100000 rows and looks back 30 days",
    "no network table is read: network_connection rules are not covered",
]


def render(det: Detection) -> str:
    prelude = union_prelude(LEGS, COLUMNS)
    return render_kql(det, TARGET, prelude, CATEGORIES, ASSUMPTIONS, TRIAGE)


register(Target(TARGET, "Microsoft Defender XDR advanced hunting KQL", render, ".kql"))
