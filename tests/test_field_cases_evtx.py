"""Field cases C01, C02, C04, C07: damaged and huge EVTX files (../shared/cases/).

Each broken file is built here from a copy of a real corpus log. The kind of fault under test:
damage costs the damaged part only, is reported once with file, chunk and offset, never hangs,
and never stops the folder run.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from hostile_inputs import (
    EVTX_MANY_CHUNKS,
    EVTX_MANY_CHUNKS_FIRST,
    EVTX_MANY_CHUNKS_RECORDS,
    EVTX_PORTPROXY,
    chunk_offset,
    evtx_copy,
    first_record_offset,
    jsonl_rows,
    need_corpus_file,
    patch,
    patch_u32,
    pristine_ids,
    read_records,
    read_records_guarded,
    run_cli,
    scan_args,
    truncate,
)
from proxyhunt.cli import exitcodes

pytestmark = pytest.mark.corpus


def _warnings_about(warnings: list[str], name: str) -> list[str]:
    return [line for line in warnings if name in line]


def _mentions_chunk(line: str, n: int) -> bool:
    offset = chunk_offset(n)
    return bool(re.search(rf"chunk {n}\b", line)) and f"{offset:#x}" in line.lower()


# -- C01: one cut file in a folder ------------------------------------------------------------


@pytest.fixture
def folder_with_cut_file(tmp_path: Path) -> Path:
    folder = tmp_path / "triage"
    evtx_copy(EVTX_PORTPROXY, folder / "good.evtx")
    cut = evtx_copy(EVTX_PORTPROXY, folder / "cut.evtx")
    # File header, one whole chunk, half the next: a log copied while it was being written.
    truncate(cut, chunk_offset(1) + 0x8000)
    return folder


def test_c01_cut_file_keeps_its_first_chunk_and_is_named(folder_with_cut_file: Path) -> None:
    cut = folder_with_cut_file / "cut.evtx"
    records, diag = read_records([cut])

    expected = pristine_ids(EVTX_PORTPROXY)[:38]
    assert [r.data.get("EventRecordID") for r in records] == list(expected)
    lines = _warnings_about(diag.warnings, "cut.evtx")
    assert len(lines) == 1, diag.warnings
    assert _mentions_chunk(lines[0], 1), lines[0]
    assert str(cut) in diag.files_partial


def test_c01_folder_run_reports_good_file_hits_and_exits_partial(
    folder_with_cut_file: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli(scan_args(folder_with_cut_file), capfd)

    assert code == exitcodes.PARTIAL_HITS, err
    hits = jsonl_rows(out)
    # The portproxy records sit in chunk 1: only good.evtx still has them.
    assert hits, err
    assert "portproxy" in " ".join(str(h.get("CommandLine", "")) for h in hits).lower()
    assert "cut.evtx" in err and "0x11000" in err.lower()
    assert re.search(r"files read in part: 1\b", err), err


def test_c01_strict_turns_the_loss_into_a_failure(
    folder_with_cut_file: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli(scan_args(folder_with_cut_file, extra=["--strict"]), capfd)

    assert code == exitcodes.STRICT
    assert jsonl_rows(out), "hits are still written under --strict"


def test_c01_clean_copy_exits_differently(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    good = evtx_copy(EVTX_PORTPROXY, tmp_path / "good.evtx")
    code, _, err = run_cli(scan_args(good), capfd)
    assert code == exitcodes.HITS, err


@pytest.mark.parametrize(
    "cut_at,at_least",
    [(0x1000 + 0x200, 0), (0x1000 + 0x10000, 38), (0x31000 + 0x1200, 119)],
    ids=["inside-chunk-0", "on-a-chunk-border", "inside-last-chunk"],
)
def test_c01_any_cut_point_ends_and_is_reported(tmp_path: Path, cut_at: int, at_least: int) -> None:
    """The file header names the last chunk (3): a file that ends before it was cut."""
    path = evtx_copy(EVTX_PORTPROXY, tmp_path / "cut.evtx")
    truncate(path, cut_at)

    result = read_records_guarded(path)
    assert len(result["ids"]) >= at_least  # type: ignore[arg-type]
    assert result["partial"], "a cut file must be reported"


# -- C02: one chunk with a broken signature -----------------------------------------------------


@pytest.mark.parametrize("chunk", [0, 1, 2])
def test_c02_bad_chunk_signature_costs_that_chunk_only(tmp_path: Path, chunk: int) -> None:
    path = evtx_copy(EVTX_MANY_CHUNKS, tmp_path / "bad.evtx")
    patch(path, chunk_offset(chunk), b"\0" * 8)

    result = read_records_guarded(path)
    all_ids = pristine_ids(EVTX_MANY_CHUNKS)
    lost = all_ids[EVTX_MANY_CHUNKS_FIRST[chunk] : EVTX_MANY_CHUNKS_FIRST[chunk + 1]]
    assert result["ids"] == [i for i in all_ids if i not in lost]

    lines = _warnings_about(result["warnings"], "bad.evtx")  # type: ignore[arg-type]
    assert len(lines) == 1, lines
    assert _mentions_chunk(lines[0], chunk), lines[0]
    assert re.search(r"signature|magic", lines[0], re.I), lines[0]


def test_c02_unused_zeroed_chunks_are_not_losses(tmp_path: Path) -> None:
    """The corpus file's chunks 15 and 16 are preallocated zeros: no record was ever there."""
    path = evtx_copy(EVTX_MANY_CHUNKS, tmp_path / "clean.evtx")
    records, diag = read_records([path])
    assert len(records) == EVTX_MANY_CHUNKS_RECORDS
    assert not diag.partial, diag.warnings


# -- C04: size and link fields that could loop ---------------------------------------------------

_SIZE_FIELD = 4  # record header: signature u32, size u32, record id u64, FILETIME u64


@pytest.mark.parametrize(
    "size", [0, 1, 23, 0x10000, 0xB8B8B8B8, 0xFFFFFFFF], ids=lambda s: f"size={s:#x}"
)
@pytest.mark.parametrize("chunk", [0, 1])
def test_c04_bad_record_size_abandons_one_chunk_in_bounded_time(
    tmp_path: Path, size: int, chunk: int
) -> None:
    path = evtx_copy(EVTX_MANY_CHUNKS, tmp_path / "size.evtx")
    patch_u32(path, first_record_offset(chunk) + _SIZE_FIELD, size)

    result = read_records_guarded(path)
    # Every record outside the damaged chunk survives.
    all_ids = pristine_ids(EVTX_MANY_CHUNKS)
    first, after = EVTX_MANY_CHUNKS_FIRST[chunk], EVTX_MANY_CHUNKS_FIRST[chunk + 1]
    others = set(all_ids[:first] + all_ids[after:])
    assert others <= set(result["ids"])  # type: ignore[arg-type]
    assert result["partial"], "the abandoned chunk must be reported"
    lines = _warnings_about(result["warnings"], "size.evtx")  # type: ignore[arg-type]
    assert any(_mentions_chunk(line, chunk) for line in lines), lines


def _link_offset(path: Path, table_at: int, entries: int) -> int:
    data = path.read_bytes()
    table = [
        int.from_bytes(data[table_at + 4 * i : table_at + 4 * i + 4], "little")
        for i in range(entries)
    ]
    return next(offset for offset in table if offset)


@pytest.mark.parametrize(
    "table_at,entries", [(0x80, 64), (0x180, 32)], ids=["string-table", "template-table"]
)
def test_c04_self_referencing_links_end(tmp_path: Path, table_at: int, entries: int) -> None:
    path = evtx_copy(EVTX_MANY_CHUNKS, tmp_path / "loop.evtx")
    entry = _link_offset(path, chunk_offset(0) + table_at, entries)
    # The entry's next-offset now points at itself.
    patch_u32(path, chunk_offset(0) + entry, entry)

    result = read_records_guarded(path)
    assert len(result["ids"]) >= EVTX_MANY_CHUNKS_RECORDS - 44  # type: ignore[arg-type]


def test_c04_record_id_zero_is_flagged(tmp_path: Path) -> None:
    path = evtx_copy(EVTX_MANY_CHUNKS, tmp_path / "id0.evtx")
    patch(path, first_record_offset(0) + 8, b"\0" * 8)

    result = read_records_guarded(path)
    assert len(result["ids"]) >= EVTX_MANY_CHUNKS_RECORDS - 1  # type: ignore[arg-type]
    assert "record id 0" in str(result["stderr"]), "record id 0 must be reported"


def test_c04_a_folder_of_damaged_logs_always_finishes(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "mixed"
    evtx_copy(EVTX_PORTPROXY, folder / "a_good.evtx")
    for name, offset, value in [
        ("b_size0.evtx", first_record_offset(0) + _SIZE_FIELD, 0),
        ("c_sizeb8.evtx", first_record_offset(1) + _SIZE_FIELD, 0xB8B8B8B8),
        ("d_magic.evtx", chunk_offset(2), 0),
    ]:
        patch_u32(evtx_copy(EVTX_MANY_CHUNKS, folder / name), offset, value)

    code, out, err = run_cli(scan_args(folder), capfd)
    assert code == exitcodes.PARTIAL_HITS, err
    assert jsonl_rows(out)
    for name in ("b_size0.evtx", "c_sizeb8.evtx", "d_magic.evtx"):
        assert name in err.split("files read in part")[-1], f"{name} missing from the summary"


# -- C07: size and memory -----------------------------------------------------------------------

_STREAM_SCRIPT = """
import json, resource, sys
from proxyhunt.diagnostics import Diagnostics
from proxyhunt.sources.registry import iter_records
diag = Diagnostics()
count, found_at = 0, -1
for record in iter_records([sys.argv[1]], diag):
    count += 1
    if "portproxy" in str(record.data.get("CommandLine")).lower():
        found_at = count
peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"count": count, "found_at": found_at, "peak_kib": peak_kib}))
"""


def _big_evtx(target: Path, copies: int) -> int:
    """Header + ``copies`` x the 15 used chunks of one log + the chunk with the netsh record.

    The header's chunk counters then lie (they say 15): a stale header must not stop the
    reader. Returns the number of records written.
    """
    many = need_corpus_file(EVTX_MANY_CHUNKS).read_bytes()
    tail = need_corpus_file(EVTX_PORTPROXY).read_bytes()[chunk_offset(1) : chunk_offset(2)]
    used = many[chunk_offset(0) : chunk_offset(15)]
    with target.open("wb") as out:
        out.write(many[: chunk_offset(0)])
        for _ in range(copies):
            out.write(used)
        out.write(tail)
    return copies * EVTX_MANY_CHUNKS_RECORDS + (80 - 39 + 1)


def _stream(path: Path, timeout: float) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", _STREAM_SCRIPT, str(path)],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=True,
    )
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_c07_large_file_streams_with_flat_memory(tmp_path: Path) -> None:
    path = tmp_path / "big.evtx"
    expected = _big_evtx(path, copies=40)  # about 39 MiB, 22,642 records
    result = _stream(path, timeout=600)

    assert result["count"] == expected
    # The netsh record is in the last chunk.
    assert int(result["found_at"]) > expected - 42, "the record at the very end is found"
    # Whole-file loading would need at least the file's size on top of the interpreter.
    assert int(result["peak_kib"]) * 1024 < path.stat().st_size + 200 * 1024 * 1024


@pytest.mark.slow
@pytest.mark.skipif(
    os.environ.get("PROXYHUNT_HUGE_EVTX") != "1",
    reason="writes a 4.1 GiB file; set PROXYHUNT_HUGE_EVTX=1 to run",
)
def test_c07_file_over_4_gib(tmp_path: Path) -> None:
    path = tmp_path / "huge.evtx"
    expected = _big_evtx(path, copies=4400)  # 15 x 64 KiB x 4400 > 4 GiB
    assert path.stat().st_size > 4 * 1024**3
    result = _stream(path, timeout=3600)
    assert result["count"] == expected
    assert int(result["found_at"]) > expected - 42
    assert int(result["peak_kib"]) < 1024 * 1024, "memory must not grow with the file"
