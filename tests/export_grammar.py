"""Small syntax checkers for the query languages `proxyhunt export` writes, and the field
schemas of the platforms (from each vendor's documented table/event fields).

They are not parsers: they catch the classes of mistakes the reference query made (Splunk
idioms in CQL, unbalanced groups, invalid regexes, fields that do not exist).
"""

from __future__ import annotations

import re

FALCON_SCHEMA = {
    "#event_simpleName", "event_simpleName", "event_platform", "@timestamp", "timestamp",
    "ImageFileName", "CommandLine", "ParentBaseFileName", "UserName", "ComputerName",
    "TargetProcessId", "ContextProcessId", "RawProcessId", "ParentProcessId", "RegObjectName",
    "RegValueName", "RegStringValue", "LocalAddressIP4", "LocalPort", "RemoteAddressIP4",
    "RemotePort", "aid",
}  # fmt: skip
SENTINEL_SCHEMA = {
    # SecurityEvent
    "TimeGenerated", "EventID", "Computer", "CommandLine", "NewProcessName", "NewProcessId",
    "ParentProcessName", "ProcessId", "SubjectUserName", "SubjectDomainName",
    # WindowsEvent
    "Provider", "EventData",
    # tables
    "SecurityEvent", "WindowsEvent",
}  # fmt: skip
DEFENDER_SCHEMA = {
    "Timestamp", "DeviceName", "ActionType", "FolderPath", "ProcessCommandLine", "ProcessId",
    "InitiatingProcessFolderPath", "InitiatingProcessCommandLine", "InitiatingProcessId",
    "InitiatingProcessParentFileName", "InitiatingProcessParentId", "AccountDomain",
    "AccountName", "InitiatingProcessAccountDomain", "InitiatingProcessAccountName",
    "ProcessVersionInfoOriginalFileName", "RegistryKey", "RegistryValueName",
    "RegistryValueData", "AdditionalFields",
    # tables
    "DeviceProcessEvents", "DeviceRegistryEvents", "DeviceEvents",
}  # fmt: skip
SPLUNK_SCHEMA = {
    "index", "source", "EventCode", "_time", "Image", "CommandLine", "ParentImage",
    "ParentCommandLine", "OriginalFileName", "User", "Computer", "ProcessId", "ParentProcessId",
    "CurrentDirectory", "TargetObject", "Details", "EventType", "PipeName", "NewProcessId",
    "NewProcessName", "ParentProcessName", "SubjectDomainName", "SubjectUserName",
}  # fmt: skip
CIM_SCHEMA = {
    "_time", "dest", "user", "process_path", "process", "parent_process_path",
    "parent_process", "parent_process_name", "original_file_name", "process_id",
    "parent_process_id",
}  # fmt: skip

CQL_KEYWORDS = {"or", "and", "not", "case", "then", "else", "field", "timezone", "order",
                "desc", "limit", "#event_simpleName"}  # fmt: skip
KQL_KEYWORDS = {
    "let", "union", "isfuzzy", "true", "false", "where", "extend", "project", "sort", "by",
    "desc", "and", "or", "not", "in", "contains", "startswith", "endswith", "matches",
    "regex", "has", "events",
}  # fmt: skip
SPL_KEYWORDS = {"AND", "OR", "NOT", "IN", "eval", "where", "sort", "table", "search", "rename",
                "as", "tstats", "summariesonly", "false", "count", "from", "datamodel",
                "Endpoint.Processes", "by", "span", "EventCode"}  # fmt: skip

_STRING = re.compile(r'@"[^"]*"|"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'')
_IDENT = re.compile(r"(?<![\w.@#])[#@]?[A-Za-z_]\w*(?:\.\w+)*")


def strip_comments(text: str, marker: str) -> str:
    if marker == "```":
        return re.sub(r"```.*?```", "", text, flags=re.S)
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith(marker))


def cql_regexes(text: str) -> list[tuple[str, str]]:
    """(pattern, flags) of every /regex/flags literal after `=` in CQL."""
    return re.findall(r"=/((?:[^/\\\n]|\\.)*)/([imsx]*)", text)


def without_strings(text: str) -> str:
    return _STRING.sub('""', text)


def balanced(text: str) -> bool:
    stack, pairs = [], {")": "(", "]": "[", "}": "{"}
    for char in text:
        if char in "([{":
            stack.append(char)
        elif char in pairs and (not stack or stack.pop() != pairs[char]):
            return False
    return not stack


def quotes_closed(text: str) -> bool:
    return '"' not in _STRING.sub("", text)


def identifiers(code: str) -> set[str]:
    """Names used as fields: identifiers not followed by `(` (functions) or `=` in a call."""
    names = set()
    for match in _IDENT.finditer(code):
        after = code[match.end() :].lstrip()
        if after.startswith("(") or re.match(r"=(?!=|~)", after) and _in_call(code, match.start()):
            continue
        names.add(match.group())
    return names


def _in_call(code: str, pos: int) -> bool:
    depth = 0
    for char in reversed(code[:pos]):
        if char == ")":
            depth += 1
        elif char == "(":
            if depth == 0:
                return True
            depth -= 1
        elif char == "\n" and depth == 0:
            return False
    return False


def defined(code: str, pattern: str) -> set[str]:
    return set(re.findall(pattern, code))
