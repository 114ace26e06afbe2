"""Builders for broken and hostile inputs shared by the field-case, limit and hostile tests.

EVTX damage is always made at test time from a copy of a real corpus file (the corpus stays
outside the repository: its licences differ), by the offsets of the format: the file header
is 0x1000 bytes, chunk ``n`` starts at ``0x1000 + n * 0x10000`` and its first record
``0x200`` bytes into the chunk.
"""

from __future__ import annotations

import functools
import json
import logging
import shutil
import struct
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from proxyhunt.cli.main import main
from proxyhunt.diagnostics import Diagnostics
from proxyhunt.model import Event, Record

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"
_SAMPLES = CORPUS / "EVTX-ATTACK-SAMPLES" / "AutomatedTestingTools"
# 122 Sysmon records in chunks 0-3 (ids 1-38, 39-80, 81-119, 120-122); the netsh portproxy
# records (ids 63-73) are in chunk 1.
EVTX_PORTPROXY = _SAMPLES / "panache_sysmon_vs_EDRTestingScript.evtx"
# 565 Sysmon records in chunks 0-14, no proxy activity; chunk 0 holds ids 1-44, chunk 1 45-87,
# chunk 2 88-124.
EVTX_MANY_CHUNKS = _SAMPLES / "PanacheSysmon_vs_AtomicRedTeam01.evtx"
EVTX_MANY_CHUNKS_RECORDS = 565
# Index (in file order) of the first record of chunks 0-3.
EVTX_MANY_CHUNKS_FIRST = {0: 0, 1: 44, 2: 87, 3: 124}

FILE_HEADER = 0x1000
CHUNK = 0x10000
FIRST_RECORD = 0x200


def chunk_offset(n: int) -> int:
    return FILE_HEADER + n * CHUNK


def first_record_offset(n: int) -> int:
    return chunk_offset(n) + FIRST_RECORD


@functools.cache
def pristine_ids(source: Path) -> tuple[object, ...]:
    """EventRecordID of every record of an undamaged corpus file, in file order."""
    records, diag = read_records([need_corpus_file(source)])
    assert not diag.partial, diag.warnings
    return tuple(record.data.get("EventRecordID") for record in records)


def need_corpus_file(path: Path) -> Path:
    if not path.is_file():
        pytest.skip(f"shared corpus file not found: {path} (the corpus lives beside the repo)")
    return path


def evtx_copy(source: Path, target: Path) -> Path:
    """A private copy of a corpus EVTX to damage."""
    need_corpus_file(source)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    return target


def patch(path: Path, offset: int, data: bytes) -> None:
    with path.open("r+b") as handle:
        handle.seek(offset)
        handle.write(data)


def patch_u32(path: Path, offset: int, value: int) -> None:
    patch(path, offset, struct.pack("<I", value))


def truncate(path: Path, size: int) -> None:
    with path.open("r+b") as handle:
        handle.truncate(size)


# -- running the reader and the CLI -------------------------------------------------------------


def read_records(paths: Sequence[Path | str]) -> tuple[list[Record], Diagnostics]:
    from proxyhunt.sources.registry import iter_records

    diag = Diagnostics()
    return list(iter_records([str(p) for p in paths], diag)), diag


def read_events(paths: Sequence[Path | str]) -> tuple[list[Event], Diagnostics]:
    from proxyhunt.pipeline import iter_events

    diag = Diagnostics()
    return list(iter_events([str(p) for p in paths], diag)), diag


_GUARDED_READ = """
import json, sys
from proxyhunt.diagnostics import Diagnostics
from proxyhunt.sources.registry import iter_records
diag = Diagnostics()
ids = [r.data.get("EventRecordID") for r in iter_records([sys.argv[1]], diag)]
print(json.dumps({"ids": ids, "warnings": diag.warnings,
                  "partial": sorted(diag.files_partial | diag.files_unreadable),
                  "skipped": diag.skipped}, default=str))
"""


def read_records_guarded(path: Path, timeout: float = 120.0) -> dict[str, object]:
    """Read ``path`` in a child process, so a parser that loops fails the test, not CI.

    The timeout is a generous guard for a hang, not a performance assertion.
    """
    try:
        done = subprocess.run(
            [sys.executable, "-c", _GUARDED_READ, str(path)],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"reading {path.name} did not finish within {timeout} s (parser hang)")
    assert done.returncode == 0, f"reader process failed on {path.name}:\n{done.stderr[-2000:]}"
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    result["stderr"] = done.stderr
    return result


def run_cli(args: Sequence[str], capfd: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """``proxyhunt ARGS`` in process: exit code, stdout, stderr."""
    try:
        code = main(list(args))
    finally:
        # The CLI points the package logger at its own stderr handler; give caplog it back.
        package = logging.getLogger("proxyhunt")
        package.handlers.clear()
        package.propagate = True
        package.setLevel(logging.NOTSET)
    captured = capfd.readouterr()
    return code, captured.out, captured.err


def scan_args(*paths: Path | str, fmt: str = "jsonl", extra: Sequence[str] = ()) -> list[str]:
    # One process: pool workers exit without flushing a captured (block-buffered) stderr, so
    # their warnings would be lost to capfd. The parallel path is run as a real subprocess in
    # test_limits_evtx.py.
    return ["scan", *map(str, paths), "--format", fmt, "--no-progress", "--jobs", "1", *extra]


def run_cli_subprocess(args: Sequence[str], timeout: float = 120) -> tuple[int, str, str]:
    """``proxyhunt ARGS`` as a real process (the default, parallel path): code, out, err."""
    command = [sys.executable, "-m", "proxyhunt.cli.main", *args]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        pytest.fail(f"proxyhunt {' '.join(args[:2])} did not finish within {timeout} s")
    return done.returncode, done.stdout, done.stderr


def jsonl_rows(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def write_bytes(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def ndjson(*objects: object, eol: bytes = b"\n") -> bytes:
    return b"".join(json.dumps(obj).encode() + eol for obj in objects)
