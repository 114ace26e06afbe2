"""Shared pieces of the fuzz targets: small limits, seed inputs, the evtx base file.

Every target calls a reader directly (not through the registry, which turns a reader's
exception into a counted loss): any exception that escapes is a bug, and atheris reports it
as a crash with the input that caused it.
"""

from __future__ import annotations

import gzip
import io
import json
import zipfile
from pathlib import Path

from proxyhunt.diagnostics import Diagnostics
from proxyhunt.sources.base import Limits

# Small limits so that the limit code paths are reached by small inputs too.
LIMITS = Limits(
    max_line_bytes=2048,
    max_json_depth=8,
    max_record_bytes=4096,
    max_decompressed_bytes=256 * 1024,
    max_compression_ratio=50,
    max_archive_members=8,
    max_nesting=2,
    evtx_stall_seconds=5.0,
)
CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"
EVTX_BASE = (
    CORPUS
    / "EVTX-ATTACK-SAMPLES"
    / "AutomatedTestingTools"
    / "PanacheSysmon_vs_AtomicRedTeam01.evtx"
)

SYSMON = {
    "EventID": 1,
    "Channel": "Microsoft-Windows-Sysmon/Operational",
    "SourceName": "Microsoft-Windows-Sysmon",
    "Image": "C:\\Windows\\System32\\netsh.exe",
    "CommandLine": "netsh interface portproxy add v4tov4 listenport=8001 connectport=3389",
    "UtcTime": "2024-03-01 10:00:00.000",
}
FALCON = {
    "event_simpleName": "ProcessRollup2",
    "ImageFileName": "\\Device\\HarddiskVolume3\\Users\\Public\\plink.exe",
    "CommandLine": "plink.exe -ssh -R 9000:127.0.0.1:3389 user1@203.0.113.10",
    "RawProcessId": "6108",
    "timestamp": "1706386977497",
}
WINLOGBEAT = {
    "@timestamp": "2024-03-01T10:00:00Z",
    "winlog": {"channel": "Security", "event_id": 4688, "event_data": {"NewProcessName": "x"}},
}
AUDIT = (
    b"node=srv01 type=SYSCALL msg=audit(1700000003.100:4245): arch=c000003e syscall=59 "
    b'success=yes exit=0 ppid=1 pid=2 uid=0 comm="ssh" exe="/usr/bin/ssh" key="tunnel"\r\n'
    b'type=EXECVE msg=audit(1700000003.100:4245): argc=5 a0="ssh" a1="-p" a2="2222" a3="-o" '
    b"a4=50726F7879436F6D6D616E643D6E632031302E302E302E35203232\n"
    b"type=PROCTITLE msg=audit(1700000002.000:4244): proctitle=737368002D4E002D4C00\n"
    b"type=EOE msg=audit(1700000003.100:4245): \n"
)


def ndjson(*objects: object) -> bytes:
    return b"".join(json.dumps(o).encode() + b"\n" for o in objects)


def zip_of(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def seeds(target: str) -> list[bytes]:
    """Valid inputs each target starts from (the fuzzer mutates them)."""
    lines = ndjson(SYSMON, FALCON, WINLOGBEAT)
    table = {
        "ndjson": [
            lines,
            b"\xef\xbb\xbf" + lines.replace(b"\n", b"\r\n"),
            json.dumps([SYSMON]).encode(),
        ],
        "auditd": [AUDIT],
        "containers": [gzip.compress(lines), zip_of({"a.json": lines, "b/c.log": AUDIT})],
        "evtx": [bytes(16)],
    }
    return table[target]


def diagnostics() -> Diagnostics:
    return Diagnostics()
