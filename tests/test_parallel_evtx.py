"""EVTX in a parallel scan: pool processes parse in-process under an exit watchdog.

A pool process that meets a parser hang ends itself; the scan runs its tasks again through
the guarded parser, so the result is the one a single-process (guarded) scan gives: the
same hits, the same counts and the same located warnings.
"""

from __future__ import annotations

import logging
import resource
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from hostile_inputs import (
    EVTX_MANY_CHUNKS,
    EVTX_MANY_CHUNKS_FIRST,
    EVTX_PORTPROXY,
    evtx_copy,
    need_corpus_file,
    patch,
    run_cli_subprocess,
    truncate,
)
from proxyhunt.cli import exitcodes
from proxyhunt.diagnostics import Diagnostics
from proxyhunt.engines import local
from proxyhunt.pipeline import ScanResult, scan
from proxyhunt.sources import evtx_watchdog
from proxyhunt.sources.base import DEFAULT_LIMITS
from proxyhunt.sources.evtx_guard import _runs
from proxyhunt.sources.evtx_layout import _Run, read_layout
from proxyhunt.sources.evtx_watchdog import ExitWatchdog

pytestmark = pytest.mark.corpus

HANG_OFFSET = 0x11688  # chunk 1 of EVTX_MANY_CHUNKS: evtx 0.14 loops forever (test_limits_evtx)
LIMITS = replace(DEFAULT_LIMITS, evtx_stall_seconds=2.0)


def _key(result: ScanResult) -> tuple[object, ...]:
    diag = result.diagnostics
    hits = [(h.event.source, h.event.locator, tuple(h.rules)) for h in result.hits]
    return hits, result.events, dict(diag.skipped_by_reason), diag.warnings, diag.files


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """Good logs around one that hangs the parser, several files to a task."""
    folder = tmp_path / "triage"
    evtx_copy(EVTX_PORTPROXY, folder / "a-good.evtx")
    hang = evtx_copy(EVTX_MANY_CHUNKS, folder / "b-hang.evtx")
    patch(hang, HANG_OFFSET, b"\x01")
    evtx_copy(EVTX_PORTPROXY, folder / "c-good.evtx")
    evtx_copy(EVTX_MANY_CHUNKS, folder / "d-clean.evtx")
    return folder


def test_a_hang_in_a_pool_process_gives_the_single_process_result(
    folder: Path, caplog: pytest.LogCaptureFixture
) -> None:
    one = scan([str(folder)], jobs=1, limits=LIMITS)
    with caplog.at_level(logging.WARNING, logger="proxyhunt"):
        two = scan([str(folder)], jobs=2, limits=LIMITS)

    assert _key(two) == _key(one)
    assert any("b-hang.evtx: chunk 1 @0x11000" in line for line in two.diagnostics.warnings)
    lost = EVTX_MANY_CHUNKS_FIRST[2] - EVTX_MANY_CHUNKS_FIRST[1]
    assert two.diagnostics.skipped == lost
    assert len(two.hits) == 2 * len(scan([str(folder / "a-good.evtx")], jobs=1).hits)
    assert "run again" in caplog.text, "the rerun is said, not silent"


def test_clean_logs_are_read_whole_in_the_pool(tmp_path: Path) -> None:
    """Without a hang the pool is never rebuilt and nothing is skipped."""
    paths = [str(evtx_copy(EVTX_MANY_CHUNKS, tmp_path / f"{n}.evtx")) for n in range(3)]
    result = scan(paths, jobs=2, limits=LIMITS)
    assert result.events == 3 * 565
    assert not result.diagnostics.partial


def test_the_exit_watchdog_ends_a_hung_process(tmp_path: Path) -> None:
    hang = evtx_copy(EVTX_MANY_CHUNKS, tmp_path / "hang.evtx")
    patch(hang, HANG_OFFSET, b"\x01")
    code = (
        "import sys\n"
        "from dataclasses import replace\n"
        "from proxyhunt.diagnostics import Diagnostics\n"
        "from proxyhunt.sources.base import DEFAULT_LIMITS\n"
        "from proxyhunt.sources.evtx_guard import guarded_items\n"
        "from proxyhunt.sources.evtx_watchdog import ExitWatchdog\n"
        "limits = replace(DEFAULT_LIMITS, evtx_stall_seconds=1.0)\n"
        "with ExitWatchdog(limits):\n"
        "    list(guarded_items(sys.argv[1], 'h', Diagnostics(), 1.0, 0))\n"
        "print('not reached')\n"
    )
    # The timeout only guards CI against a watchdog that never fires.
    done = subprocess.run(
        [sys.executable, "-c", code, str(hang)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode != 0
    assert "not reached" not in done.stdout


def test_the_exit_watchdog_bounds_the_address_space_and_restores_it() -> None:
    before = resource.getrlimit(resource.RLIMIT_AS)
    limits = replace(DEFAULT_LIMITS, evtx_stall_seconds=30.0, evtx_worker_memory=512 * 1024**2)
    with ExitWatchdog(limits):
        soft, _hard = resource.getrlimit(resource.RLIMIT_AS)
        with open("/proc/self/statm") as statm:
            used = int(statm.read().split()[0]) * resource.getpagesize()
        assert used < soft <= used + 2 * 512 * 1024**2
        assert evtx_watchdog.active() is not None
    assert resource.getrlimit(resource.RLIMIT_AS) == before
    assert evtx_watchdog.active() is None


def test_runs_of_screened_records_follow_consecutive_ids() -> None:
    frames = list(_runs([5, 6, 7, 9, 10, 10, 11, 3], 0, 8))
    runs = [(first, int.from_bytes(count, "little")) for _kind, first, count in frames]
    assert runs == [(5, 3), (9, 2), (10, 2), (3, 1)]
    assert all(kind == b"S" for kind, _first, _count in frames)
    assert list(_runs([1, 2, 3], 1, 1)) == []


def test_a_run_across_chunks_is_counted_in_each() -> None:
    path = need_corpus_file(EVTX_MANY_CHUNKS)
    with path.open("rb") as handle:
        layout = read_layout(handle)
    run = _Run(layout, "m.evtx", Diagnostics())
    # Records 40..49: the end of chunk 0 (1..44) and the start of chunk 1 (45..87).
    run.delivered_run(40, 10)
    assert layout.chunks[0].read == 5
    assert layout.chunks[1].read == 5
    assert run.last_id == 49


def test_small_logs_are_grouped_and_progress_counts_every_file(tmp_path: Path) -> None:
    paths = [str(evtx_copy(EVTX_PORTPROXY, tmp_path / f"{n:02}.evtx")) for n in range(20)]
    seen: list[local.ScanProgress] = []
    result = scan(paths, jobs=2, limits=LIMITS, progress=seen.append)
    assert seen[-1].files_done == seen[-1].files_total == 20
    # Fewer progress steps than files: several small logs went to one task.
    assert len(seen) < 20
    assert result.events == 20 * scan([paths[0]], jobs=1).events
    assert _key(result) == _key(scan(paths, jobs=1, limits=LIMITS))


@pytest.mark.parametrize("jobs", ["1", "2"])
@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL])
def test_no_process_outlives_a_scan_stopped_during_a_hang(
    tmp_path: Path, jobs: str, how: signal.Signals
) -> None:
    """Ctrl-C, kill or kill -9 while evtx-rs spins in Rust: nothing is left spinning.

    Found by a fresh-user review: the parser's process, which cannot act on a signal while
    the hang holds the GIL, went on at 100 % CPU after the scan exited.
    """
    psutil = pytest.importorskip("psutil")
    hang = evtx_copy(EVTX_MANY_CHUNKS, tmp_path / "hang.evtx")
    patch(hang, HANG_OFFSET, b"\x01")
    command = [
        sys.executable, "-m", "proxyhunt.cli.main", "scan", str(hang), "--format", "jsonl",
        "--no-progress", "--jobs", jobs,
    ]  # fmt: skip
    scan_process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    parent = psutil.Process(scan_process.pid)
    descendants = _descendants_once_busy(parent)
    assert descendants, "the scan started no process to parse in"

    scan_process.send_signal(how)
    code = scan_process.wait(timeout=20)

    # SIGKILL gives the scan no chance to clean up: the kernel ends its helpers with it.
    assert code == {signal.SIGINT: 130, signal.SIGTERM: 143, signal.SIGKILL: -9}[how], code
    _gone, alive = psutil.wait_procs(descendants, timeout=10)
    assert not alive, [p.cmdline() for p in alive]


def _descendants_once_busy(parent: Any) -> list[Any]:
    """The scan's child processes, once one of them has spun on the hang for a while."""

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        children = parent.children(recursive=True)
        busy = [c for c in children if _cpu_seconds(c) > 1.0]
        if busy:
            return children
        time.sleep(0.2)
    return parent.children(recursive=True)


def _cpu_seconds(process: Any) -> float:
    import psutil

    try:
        times = process.cpu_times()
    except psutil.Error:
        return 0.0
    return float(times.user + times.system)


def test_warnings_are_printed_once_in_input_order_on_any_jobs(folder: Path) -> None:
    """Found by a fresh-user review: pool processes logged as they ran, so a parallel scan
    printed warnings in a varying order, twice after a rerun, without the CLI's prefix."""
    cut = evtx_copy(EVTX_MANY_CHUNKS, folder / "e-cut.evtx")
    truncate(cut, 0x1000 + 2 * 0x10000 + 0x100)
    (folder / "f-broken.json").write_text('{"not": "telemetry"', encoding="utf-8")
    stderr = {}
    for jobs in ("1", "2"):
        args = [
            "scan",
            str(folder),
            "-f",
            "jsonl",
            "--no-progress",
            "-j",
            jobs,
            "--evtx-stall",
            "2",
        ]
        code, _out, err = run_cli_subprocess(args, timeout=150)
        assert code == exitcodes.PARTIAL_HITS, err
        stderr[jobs] = [line for line in err.splitlines() if ": skipped (" in line]
    assert stderr["2"] == stderr["1"]
    assert all(line.startswith("proxyhunt: WARNING: ") for line in stderr["2"])
    assert len(set(stderr["2"])) == len(stderr["2"]), "no line twice"
    assert any("b-hang.evtx: chunk 1 @0x11000" in line for line in stderr["2"])
    assert any("e-cut.evtx: chunk 2" in line for line in stderr["2"])


def test_two_hangs_far_apart_each_cost_one_chunk(tmp_path: Path) -> None:
    """Each hang costs a rerun of its own tasks; the logs between stay in the pool."""
    folder = tmp_path / "many"
    for name in ("a-hang.evtx", "z-hang.evtx"):
        patch(evtx_copy(EVTX_MANY_CHUNKS, folder / name), HANG_OFFSET, b"\x01")
    for n in range(40):
        evtx_copy(EVTX_MANY_CHUNKS, folder / f"m{n:02}.evtx")
    local_limits = replace(LIMITS, evtx_stall_seconds=1.5)
    one = scan([str(folder)], jobs=1, limits=local_limits)
    two = scan([str(folder)], jobs=2, limits=local_limits)
    assert _key(two) == _key(one)
    lost = EVTX_MANY_CHUNKS_FIRST[2] - EVTX_MANY_CHUNKS_FIRST[1]
    assert two.diagnostics.skipped == 2 * lost
