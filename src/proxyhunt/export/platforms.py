"""Field names and event filters of the platforms proxyhunt exports to.

Each map goes from a Sigma field (the names ``proxyhunt scan`` normalises every source to) to
the platform's field, per Sigma log source category. A rule using a field that is not listed
is reported as not covered on that platform instead of being half-translated.
"""

from __future__ import annotations

from proxyhunt.export.convert import FieldMap

PROCESS = "process_creation"
REG_SET, REG_ADD, REG_DELETE = "registry_set", "registry_add", "registry_delete"
PIPE = "pipe_created"
NETWORK = "network_connection"

# CrowdStrike Falcon events (FDR / LogScale "Falcon" repository). Registry events carry the
# key and the value name separately; exporters build TargetObject = key + "\" + value name.
FALCON_FIELDS: FieldMap = {
    PROCESS: {
        "Image": "ImageFileName",
        "CommandLine": "CommandLine",
        "User": "UserName",
        "Computer": "ComputerName",
        "ProcessId": "RawProcessId",
    },
    REG_SET: {"TargetObject": "TargetObject", "Details": "RegStringValue"},
    NETWORK: {
        "SourceIp": "LocalAddressIP4",
        "SourcePort": "LocalPort",
        "DestinationIp": "RemoteAddressIP4",
        "DestinationPort": "RemotePort",
    },
}
FALCON_EVENTS: dict[str, tuple[str, ...]] = {
    PROCESS: ("ProcessRollup2", "SyntheticProcessRollup2"),
    REG_SET: ("RegGenericValueUpdate", "RegSystemConfigValueUpdate", "AsepValueUpdate"),
    NETWORK: ("NetworkConnectIP4", "NetworkReceiveAcceptIP4"),
}
FALCON_PLATFORMS = {"windows": "Win", "linux": "Lin", "macos": "Mac"}
FALCON_TRIAGE = {
    "ComputerName": "ComputerName",
    "UserName": "UserName",
    "ImageFileName": "ImageFileName",
    "CommandLine": "CommandLine",
    "ParentBaseFileName": "ParentBaseFileName",
    "TargetProcessId": "TargetProcessId",
    "ContextProcessId": "ContextProcessId",
}

# Elastic Common Schema as Winlogbeat/Elastic Agent write Sysmon and Security 4688 events.
ECS_FIELDS: FieldMap = {
    PROCESS: {
        "Image": "process.executable",
        "CommandLine": "process.command_line",
        "OriginalFileName": "process.pe.original_file_name",
        "ParentImage": "process.parent.executable",
        "ParentCommandLine": "process.parent.command_line",
        "User": "user.name",
        "Computer": "host.name",
        "ProcessId": "process.pid",
        "ParentProcessId": "process.parent.pid",
        "CurrentDirectory": "process.working_directory",
    },
    REG_SET: {"TargetObject": "registry.path", "Image": "process.executable"},
    REG_ADD: {"TargetObject": "registry.path", "Image": "process.executable"},
    REG_DELETE: {"TargetObject": "registry.path", "Image": "process.executable"},
    PIPE: {"PipeName": "file.name", "Image": "process.executable"},
    NETWORK: {
        "Image": "process.executable",
        "SourceIp": "source.ip",
        "SourcePort": "source.port",
        "DestinationIp": "destination.ip",
        "DestinationPort": "destination.port",
    },
}
# Sysmon event codes (winlog event_id / event.code) per category; 4688 for process starts.
ECS_EVENT_CODES: dict[str, tuple[str, ...]] = {
    PROCESS: ("1", "4688"),
    REG_SET: ("13",),
    REG_ADD: ("12",),
    REG_DELETE: ("12",),
    PIPE: ("17",),
    NETWORK: ("3",),
}
ECS_TRIAGE = {
    "ComputerName": "host.name",
    "UserName": "user.name",
    "ImageFileName": "process.executable",
    "CommandLine": "process.command_line",
    "ParentBaseFileName": "process.parent.name",
    "TargetProcessId": "process.pid",
    "ContextProcessId": "process.parent.pid",
}
