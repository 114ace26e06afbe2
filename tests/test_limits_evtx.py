"""The EVTX watchdog: a parser hang or blow-up costs one chunk, never the run.

Found by mutating a corpus log (``fuzz/``): setting the byte at 0x11688 of
PanacheSysmon_vs_AtomicRedTeam01.evtx (inside chunk 1's first records) to 0x01 makes evtx 0.14
loop forever inside Rust while holding the GIL, so neither signals nor threads can stop it in
process. Measured: the file takes 0.01 s to read when intact, and never finishes when damaged.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest

from hostile_inputs import (
    EVTX_MANY_CHUNKS,
    EVTX_MANY_CHUNKS_FIRST,
    EVTX_MANY_CHUNKS_RECORDS,
    EVTX_PORTPROXY,
    evtx_copy,
    jsonl_rows,
    patch,
    pristine_ids,
    read_records,
    read_records_guarded,
    run_cli_subprocess,
    truncate,
)
from proxyhunt.cli import exitcodes
from proxyhunt.diagnostics import Diagnostics
from proxyhunt.sources import evtx_guard
from proxyhunt.sources.evtx_guard import guarded_items
from proxyhunt.sources.evtx_layout import read_layout

pytestmark = pytest.mark.corpus

HANG_OFFSET = 0x11688  # chunk 1, inside the BinXML of its first record
STALL = 2.0


@pytest.fixture
def hanging_evtx(tmp_path: Path) -> Path:
    path = evtx_copy(EVTX_MANY_CHUNKS, tmp_path / "hang.evtx")
    patch(path, HANG_OFFSET, b"\x01")
    return path


def _ids(path: Path, stall: float = STALL) -> tuple[list[int], Diagnostics, float]:
    diag = Diagnostics()
    started = time.monotonic()
    items = list(guarded_items(str(path), path.name, diag, stall, 2 * 1024**3))
    return [item["event_record_id"] for item in items], diag, time.monotonic() - started


def test_parser_hang_costs_one_chunk_and_the_rest_is_read(hanging_evtx: Path) -> None:
    ids, diag, elapsed = _ids(hanging_evtx)

    chunk1 = range(EVTX_MANY_CHUNKS_FIRST[1] + 1, EVTX_MANY_CHUNKS_FIRST[2] + 1)
    assert ids == [i for i in range(1, EVTX_MANY_CHUNKS_RECORDS + 1) if i not in chunk1]
    assert diag.warnings == [
        "hang.evtx: chunk 1 @0x11000: skipped (corrupt chunk): parser stopped responding; "
        "the rest of this chunk was not read"
    ]
    assert diag.skipped == len(chunk1)
    # A guard against hanging CI, far above the stall limit, not a timing assertion.
    assert elapsed < 60


def test_worker_is_reused_across_files_and_replaced_after_a_hang(hanging_evtx: Path) -> None:
    clean = evtx_copy(EVTX_MANY_CHUNKS, hanging_evtx.parent / "clean.evtx")
    _ids(clean)
    first = evtx_guard.current_worker()
    _ids(clean)
    assert evtx_guard.current_worker() is first, "one worker process serves file after file"
    _ids(hanging_evtx)
    _ids(clean)
    assert evtx_guard.current_worker() is not first
    assert first is not None and not first.alive(), "the stuck worker was killed"


def test_in_process_mode_gives_the_same_records(tmp_path: Path) -> None:
    path = evtx_copy(EVTX_MANY_CHUNKS, tmp_path / "clean.evtx")
    guarded, _, _ = _ids(path)
    inline, diag, _ = _ids(path, stall=0)
    assert guarded == inline == list(range(1, EVTX_MANY_CHUNKS_RECORDS + 1))
    assert not diag.partial


def test_worker_runs_under_the_memory_limit(tmp_path: Path) -> None:
    path = evtx_copy(EVTX_MANY_CHUNKS, tmp_path / "clean.evtx")
    list(guarded_items(str(path), "clean.evtx", Diagnostics(), STALL, 1536 * 1024**2))
    worker = evtx_guard.current_worker()
    assert worker is not None
    limits = Path(f"/proc/{worker.process.pid}/limits").read_text()
    line = next(row for row in limits.splitlines() if row.startswith("Max address space"))
    assert str(1536 * 1024**2) in line


def test_a_dying_worker_costs_one_chunk_at_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker killed by its memory limit (or any crash) looks like this to the reader."""
    path = evtx_copy(EVTX_MANY_CHUNKS, tmp_path / "clean.evtx")
    evtx_guard._drop_worker()
    monkeypatch.setattr(evtx_guard, "_WORKER_START", "import sys; sys.stdin.readline()")
    diag = Diagnostics()
    items = list(guarded_items(str(path), "clean.evtx", diag, STALL, 0))
    evtx_guard._drop_worker()

    assert items == []
    assert diag.partial
    # Restarts are bounded: a file that kills every worker is given up, and said so.
    assert len(diag.warnings) <= evtx_guard.MAX_RESTARTS + 2, diag.warnings
    assert all("@0x" in line for line in diag.warnings), diag.warnings
    assert any("parser process died" in line for line in diag.warnings)


def test_layout_reads_headers_only(tmp_path: Path) -> None:
    path = evtx_copy(EVTX_MANY_CHUNKS, tmp_path / "clean.evtx")
    with path.open("rb") as handle:
        layout = read_layout(handle)
    states = [chunk.state for chunk in layout.chunks]
    assert states == ["ok"] * 15 + ["empty"] * 2
    assert sum(chunk.expected for chunk in layout.chunks) == EVTX_MANY_CHUNKS_RECORDS


def test_reader_uses_the_watchdog(hanging_evtx: Path) -> None:
    """Through the registry, as a scan reads it; in a child process, since it may hang."""
    result = read_records_guarded(hanging_evtx, timeout=90)
    ids = pristine_ids(EVTX_MANY_CHUNKS)
    lost = ids[EVTX_MANY_CHUNKS_FIRST[1] : EVTX_MANY_CHUNKS_FIRST[2]]
    assert result["ids"] == [i for i in ids if i not in lost]
    assert any("chunk 1 @0x11000" in line for line in result["warnings"]), result  # type: ignore[attr-defined]


def test_record_id_zero_is_logged(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = evtx_copy(EVTX_MANY_CHUNKS, tmp_path / "id0.evtx")
    patch(path, 0x1000 + 0x200 + 8, b"\0" * 8)
    with caplog.at_level(logging.WARNING, logger="proxyhunt"):
        records, diag = read_records([path])
    assert len(records) == EVTX_MANY_CHUNKS_RECORDS
    assert "record id 0" in caplog.text


def test_default_parallel_scan_survives_a_hanging_log(hanging_evtx: Path) -> None:
    """The whole CLI, as a user runs it: a folder with a log that hangs evtx-rs still ends."""
    folder = hanging_evtx.parent
    evtx_copy(EVTX_PORTPROXY, folder / "good.evtx")
    args = ["scan", str(folder), "--format", "jsonl", "--no-progress", "--evtx-stall", "3"]
    code, out, err = run_cli_subprocess(args, timeout=90)
    assert code == exitcodes.PARTIAL_HITS, err
    assert jsonl_rows(out), "the good log's hits are reported"
    assert "hang.evtx: chunk 1 @0x11000" in err


def test_default_parallel_scan_prints_located_warnings(tmp_path: Path) -> None:
    folder = tmp_path / "triage"
    evtx_copy(EVTX_PORTPROXY, folder / "good.evtx")
    cut = evtx_copy(EVTX_PORTPROXY, folder / "cut.evtx")
    truncate(cut, 0x1000 + 0x10000 + 0x8000)
    args = ["scan", str(folder), "--format", "jsonl", "--no-progress"]
    code, out, err = run_cli_subprocess(args)
    assert code == exitcodes.PARTIAL_HITS, err
    assert "cut.evtx: chunk 1 @0x11000: skipped (truncated file)" in err


def test_a_forked_process_starts_its_own_worker(tmp_path: Path) -> None:
    """Parallel scans fork: a child must not talk to its parent's worker over shared pipes."""
    import multiprocessing

    path = evtx_copy(EVTX_MANY_CHUNKS, tmp_path / "clean.evtx")
    parent_ids, _, _ = _ids(path)
    parent_worker = evtx_guard.current_worker()
    context = multiprocessing.get_context("fork")
    with context.Pool(2) as pool:
        results = pool.map(_child_read, [str(path)] * 4)
    for ids, worker_pid in results:
        assert ids == parent_ids
        assert parent_worker is not None and worker_pid != parent_worker.process.pid
    assert parent_worker is evtx_guard.current_worker() and parent_worker.alive()
    assert _ids(path)[0] == parent_ids, "the parent's worker still answers correctly"


def _child_read(path: str) -> tuple[list[int], int]:
    items = list(guarded_items(path, "child.evtx", Diagnostics(), STALL, 2 * 1024**3))
    worker = evtx_guard.current_worker()
    assert worker is not None
    return [item["event_record_id"] for item in items], worker.process.pid


def test_a_stopped_worker_is_not_a_hung_one(tmp_path: Path) -> None:
    """Ctrl-Z (or a paused VM) for longer than the stall limit loses nothing: only a
    worker that burns CPU without output is stuck. Found by a fresh-user review."""
    import os
    import signal
    import threading

    path = evtx_copy(EVTX_MANY_CHUNKS, tmp_path / "clean.evtx")
    diag = Diagnostics()
    items = guarded_items(str(path), "clean.evtx", diag, 1.0, 2 * 1024**3)
    ids = [next(items)["event_record_id"]]
    worker = evtx_guard.current_worker()
    assert worker is not None
    os.kill(worker.process.pid, signal.SIGSTOP)
    resume = threading.Timer(3.5, os.kill, (worker.process.pid, signal.SIGCONT))
    resume.start()
    try:
        ids += [item["event_record_id"] for item in items]
    finally:
        resume.cancel()
        os.kill(worker.process.pid, signal.SIGCONT)
    assert ids == list(range(1, EVTX_MANY_CHUNKS_RECORDS + 1))
    assert not diag.partial, diag.warnings
    assert evtx_guard.current_worker() is worker, "not restarted"


@pytest.mark.parametrize("size", [8, 16, 23])
def test_a_header_cut_before_its_chunk_count_is_a_truncated_file(tmp_path: Path, size: int) -> None:
    """Found by a fresh-user review: 16 bytes of a log were a clean, empty log."""
    path = evtx_copy(EVTX_MANY_CHUNKS, tmp_path / "cut.evtx")
    truncate(path, size)
    records, diag = read_records([path])
    assert records == []
    assert diag.partial
    assert any("truncated file" in line for line in diag.warnings), diag.warnings


def test_hangs_in_two_chunks_in_a_row_cost_those_two_chunks(hanging_evtx: Path) -> None:
    """Found by a fresh-user review: the second hang was blamed on the first chunk again,
    so the guard retried until it gave up on the rest of the file."""
    data = hanging_evtx.read_bytes()
    chunk1 = data[0x11000:0x21000]
    patch(hanging_evtx, 0x21000, chunk1)  # chunk 2 now hangs the parser too

    ids, diag, _elapsed = _ids(hanging_evtx, stall=1.0)

    lost = set(range(EVTX_MANY_CHUNKS_FIRST[1] + 1, EVTX_MANY_CHUNKS_FIRST[3] + 1))
    assert ids == [i for i in range(1, EVTX_MANY_CHUNKS_RECORDS + 1) if i not in lost]
    located = [line for line in diag.warnings if "parser stopped responding" in line]
    assert [line.split(": ")[1] for line in located] == ["chunk 1 @0x11000", "chunk 2 @0x21000"]
    # The copy repeats chunk 1's record range, so the count is an upper bound (README).
    assert diag.skipped >= len(lost)
