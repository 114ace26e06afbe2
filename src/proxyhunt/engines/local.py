"""The local engine: inputs split into ordered tasks, run on every core, merged in order.

Each input file becomes one task, except plain Falcon FDR files, which are cut into byte
ranges at line boundaries (:data:`RANGE_BYTES`), and FDR on stdin, which the parent reads
in blocks and hands out. Workers return hits and skips with line numbers relative to their
range; the parent consumes results strictly in task order, adds the lines of the ranges
before, and replays the skips into the run's :class:`Diagnostics`. So a run on N cores
gives the same hits, the same locators and the same diagnostics, in the same order, as a
run on one core, which executes the very same tasks in-process.

At most ``2 * jobs`` tasks are in flight, so memory stays bounded whatever the input size.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import logging
import multiprocessing
import os
import signal
import threading
import zlib
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from proxyhunt.diagnostics import Diagnostics
from proxyhunt.engines import fdrfast
from proxyhunt.errors import ProxyhuntError
from proxyhunt.procs import die_with_parent
from proxyhunt.sources import evtx_guard, registry
from proxyhunt.sources.base import Limits
from proxyhunt.sources.evtx_watchdog import ExitWatchdog

if TYPE_CHECKING:
    from proxyhunt.engines.prefilter import LinePrefilter
    from proxyhunt.engines.screen import ScreenSpec
    from proxyhunt.pipeline import Detector
    from proxyhunt.score import Hit

log = logging.getLogger("proxyhunt.engines")

RANGE_BYTES = 64 * 1024 * 1024
# EVTX files are handed out in groups of about this size (a large log is a task of its own).
EVTX_GROUP_BYTES = 16 * 1024 * 1024
_FDR = "fdr-ndjson"
_EVTX = "evtx"


@dataclass(frozen=True)
class Setup:
    """What a worker needs to rebuild the parent's matcher."""

    profile: str
    rules: tuple[str, ...]
    limits: Limits
    prefilter: bool


@dataclass
class ScanProgress:
    """Where a scan is, for a progress display."""

    files_done: int = 0
    files_total: int = 0
    bytes_done: int = 0
    bytes_total: int = 0
    events: int = 0
    hits: int = 0
    source: str = ""


ProgressCallback = Callable[[ScanProgress], None]


@dataclass(frozen=True)
class Task:
    seq: int
    kind: str  # "fdr-range", "fdr-gzip", "fdr-block", "evtx", "file", "skips"
    path: str
    source: str
    start: int = 0
    end: int = 0
    payload: bytes | None = None
    base_line: int | None = None  # known up front only for stdin blocks
    size: int = 0  # bytes of input this task covers, for progress
    last_of_file: bool = True
    local: bool = False  # must run in the parent (it reads stdin)
    skips: tuple[tuple[int, str, str], ...] = ()
    stream: Any = None  # stdin already peeked at (local tasks only, never pickled)
    paths: tuple[str, ...] = ()  # an EVTX task's files (small logs go several to a task)

    @property
    def files(self) -> int:
        """Input files this task finishes."""
        return len(self.paths) if self.paths else int(self.last_of_file)


@dataclass
class TaskResult:
    task: Task
    events: int = 0
    lines: int = 0
    records: int = 0
    bytes: int = 0
    hits: list[tuple[int | None, Hit]] = field(default_factory=list)
    skips: list[tuple[int, str, str]] = field(default_factory=list)
    diag: Diagnostics = field(default_factory=lambda: Diagnostics(echo=_echo()))


_quiet = threading.local()


def _echo() -> bool:
    """Whether a task logs its warnings as they happen: only when it runs where the scan
    consumes results. Pool processes and EVTX threads leave them to the merge, which logs
    them in input order."""
    return not _IN_POOL and not getattr(_quiet, "on", False)


def _run_quietly(task: Task, matcher: Matcher) -> TaskResult:
    _quiet.on = True
    return run_task(task, matcher)


# -- the matcher each process holds ----------------------------------------------------------


@dataclass
class Matcher:
    detector: Detector
    limits: Limits
    falcon: LinePrefilter | None
    windows: ScreenSpec | None  # the screen of EVTX records
    setup: Setup

    @classmethod
    def build(
        cls, setup: Setup, detector: Detector | None = None, rules: Sequence[Any] | None = None
    ) -> Matcher:
        """The matcher for ``setup``; pass the parent's detector and pySigma rules to reuse them."""
        from proxyhunt.engine import compile_rules
        from proxyhunt.pipeline import Detector
        from proxyhunt.rules.loader import load_profile, load_rules

        if detector is None or rules is None:
            rules, profile = load_rules(load_profile(setup.profile), setup.rules)
            detector = Detector(profile, compile_rules(rules))
        falcon, windows = _prefilters(rules, setup.limits) if setup.prefilter else (None, None)
        return cls(detector, setup.limits, falcon, windows, setup)


def _prefilters(
    rules: Sequence[Any], limits: Limits
) -> tuple[LinePrefilter | None, ScreenSpec | None]:
    try:
        import hyperscan  # noqa: F401 - only to know whether the fast path exists
    except ImportError:
        log.info("hyperscan is not installed: every record is decoded (pip install hyperscan)")
        return None, None
    from proxyhunt.engines import prefilter

    plan, everything = prefilter.plan_falcon(rules)
    falcon = None if everything else prefilter.LinePrefilter(plan)
    windows = prefilter.windows_screen(rules, limits.max_record_bytes)
    return falcon, windows


_MATCHER: Matcher | None = None
_IN_POOL = False  # this process is a pool process: it may end itself on a parser hang


def _init_worker(setup: Setup, log_level: int, parent: int) -> None:
    global _MATCHER, _IN_POOL
    _IN_POOL = True
    # A pool process may be stuck in the EVTX parser: it must not outlive the scan, and
    # SIGTERM (which the CLI turns into a clean stop in the parent) simply ends it.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    # Ctrl-C reaches the whole process group; the parent handles it and ends the pool
    # (an idle pool process would only print a KeyboardInterrupt traceback).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    die_with_parent(parent)
    if _MATCHER is None or _MATCHER.setup != setup:
        # A worker that did not fork from the parent has none of its logging set-up: keep
        # at least its verbosity, so --quiet stays quiet.
        logging.getLogger("proxyhunt").setLevel(log_level)
        _MATCHER = Matcher.build(setup)


def _run_in_worker(task: Task) -> TaskResult:
    assert _MATCHER is not None
    return run_task(task, _MATCHER)


# -- tasks -----------------------------------------------------------------------------------


def run_task(task: Task, matcher: Matcher) -> TaskResult:
    """Run one task; every kind returns hits in input order."""
    runner = _RUNNERS[task.kind]
    return runner(task, matcher)


def _run_fdr_range(task: Task, matcher: Matcher) -> TaskResult:
    result = TaskResult(task)
    with open(task.path, "rb") as raw:
        stream = _Range(raw, task.start, task.end)
        _scan_lines(stream, task, matcher, result)
    return result


def _run_fdr_gzip(task: Task, matcher: Matcher) -> TaskResult:
    import io

    result = TaskResult(task)
    with open(task.path, "rb") as raw:
        inner = registry.GzipStream(raw, task.source, matcher.limits)
        _scan_lines(io.BufferedReader(inner, 1024 * 1024), task, matcher, result)
        if inner.problem:
            reason, locator, detail = inner.problem
            result.diag.skip(task.source, locator, reason, detail)
    return result


def _run_fdr_block(task: Task, matcher: Matcher) -> TaskResult:
    result = TaskResult(task)
    out = fdrfast.LinesOutcome()
    assert task.payload is not None
    fdrfast.scan_block(
        task.payload, matcher.falcon, matcher.detector, task.source, matcher.limits, out
    )
    _take(out, result)
    return result


def _scan_lines(stream: Any, task: Task, matcher: Matcher, result: TaskResult) -> None:
    out = fdrfast.LinesOutcome()
    for block in fdrfast.blocks(stream, matcher.limits, out):
        fdrfast.scan_block(
            block, matcher.falcon, matcher.detector, task.source, matcher.limits, out
        )
    _take(out, result)


def _take(out: fdrfast.LinesOutcome, result: TaskResult) -> None:
    result.events, result.lines, result.records = out.events, out.lines, out.records
    result.bytes = out.bytes
    result.hits = [(line, hit) for line, hit in out.hits]
    result.skips = out.skips


def _run_evtx(task: Task, matcher: Matcher) -> TaskResult:
    from proxyhunt.engines.evtxfast import scan_evtx

    result = TaskResult(task, bytes=task.size)
    limits = matcher.limits
    watchdog = ExitWatchdog(limits) if _IN_POOL else contextlib.nullcontext()
    with watchdog:
        for path in task.paths:
            out = scan_evtx(path, path, result.diag, limits, matcher.windows, matcher.detector)
            result.events += out.events
            result.hits.extend((None, hit) for hit in out.hits)
    return result


def _run_file(task: Task, matcher: Matcher) -> TaskResult:
    """Any other file: the registry's readers, the normalisers, the engine, as in iter_events."""
    from proxyhunt.pipeline import detect, iter_events

    result = TaskResult(task, bytes=task.size)
    if task.stream is not None:
        result.diag.files += 1
        records = registry.read_stream(task.stream, task.source, result.diag, matcher.limits)
        events: Iterable[Any] = _normalised(records, result.diag)
    else:
        events = iter_events([task.path], result.diag, matcher.limits)
    counted = _Counted(events)
    result.hits = [(None, hit) for hit in detect(counted, matcher.detector)]
    result.events = counted.count
    return result


def _run_skips(task: Task, matcher: Matcher) -> TaskResult:
    return TaskResult(task, skips=list(task.skips))


_RUNNERS: dict[str, Callable[[Task, Matcher], TaskResult]] = {
    "fdr-range": _run_fdr_range,
    "fdr-gzip": _run_fdr_gzip,
    "fdr-block": _run_fdr_block,
    "evtx": _run_evtx,
    "file": _run_file,
    "skips": _run_skips,
}


def _normalised(records: Iterable[Any], diag: Diagnostics) -> Iterator[Any]:
    """As :func:`proxyhunt.pipeline.iter_events`, for records from an already open stream."""
    from proxyhunt.normalise import normalise

    for record in records:
        try:
            event = normalise(record)
        except fdrfast.NORMALISE_ERRORS as exc:
            diag.skip(record.source, record.locator, "cannot normalise", repr(exc))
            continue
        if event is not None:
            yield event


class _Counted:
    def __init__(self, events: Iterable[Any]) -> None:
        self._events = events
        self.count = 0

    def __iter__(self) -> Iterator[Any]:
        for event in self._events:
            self.count += 1
            yield event


class _Range:
    """The lines of ``raw`` that start in ``[start, end)``, as a readable stream.

    A range that does not start at 0 skips the rest of the line the previous range owns;
    a range reads past ``end`` to the end of the line that crosses it (in bounded pieces).
    """

    def __init__(self, raw: Any, start: int, end: int) -> None:
        self._raw = raw
        self._end = end
        self._state = "inside"  # then "finishing" (the crossing line), then "done"
        if start > 0:
            raw.seek(start - 1)
            if raw.read(1) != b"\n":
                fdrfast._drain(raw)
        self._position = raw.tell()
        if self._position >= end:
            self._state = "done"  # one line covers the whole range: the previous range's

    def read(self, size: int) -> bytes:
        if self._state == "inside":
            data = self._raw.read(min(size, self._end - self._position))
            self._position += len(data)
            if self._position >= self._end or not data:
                self._state = "done" if not data or data.endswith(b"\n") else "finishing"
            return data
        return self.readline(size)

    def readline(self, size: int = -1) -> bytes:
        if self._state == "done":
            return b""
        if self._state == "inside":
            limit = self._end - self._position
            size = limit if size < 0 else min(size, limit)
            line = self._raw.readline(size)
            self._position += len(line)
            if self._position >= self._end or not line:
                self._state = "done" if not line or line.endswith(b"\n") else "finishing"
            return line
        piece = self._raw.readline(size)
        if not piece or piece.endswith(b"\n"):
            self._state = "done"
        return piece


# -- planning --------------------------------------------------------------------------------


@dataclass
class _Planner:
    diag: Diagnostics
    limits: Limits
    matcher: Matcher
    range_bytes: int
    progress: ScanProgress
    seq: int = 0
    stdin_skips: list[tuple[int, str, str]] = field(default_factory=list)

    def tasks(self, paths: Sequence[str]) -> Iterator[Task]:
        files = registry.expand_paths(paths, self.diag)
        self.progress.files_total = len(files)
        self.progress.bytes_total = sum(_size(f) for f in files)
        group: list[tuple[str, int]] = []  # consecutive EVTX files not yet handed out
        for path in files:
            kind = _kind(path) if path != registry.STDIN else ""
            if kind == _EVTX and self.matcher.windows is not None:
                self.diag.files += 1
                group.append((path, _size(path)))
                if sum(size for _, size in group) >= EVTX_GROUP_BYTES or len(group) >= 64:
                    yield self._evtx(group)
                    group = []
                continue
            if group:
                yield self._evtx(group)
                group = []
            if path == registry.STDIN:
                yield from self._stdin()
            else:
                yield from self._file(path, kind)
        if group:
            yield self._evtx(group)

    def _evtx(self, group: list[tuple[str, int]]) -> Task:
        """One task for a run of EVTX files: small logs cost a task each otherwise."""
        paths = tuple(path for path, _ in group)
        size = sum(size for _, size in group)
        return self._next(kind="evtx", path=paths[0], source=paths[0], size=size, paths=paths)

    def _next(self, **fields: Any) -> Task:
        self.seq += 1
        return Task(seq=self.seq, **fields)

    def _file(self, path: str, kind: str) -> Iterator[Task]:
        size = _size(path)
        if kind == "file" or kind == _EVTX:  # EVTX here: no screen, the reader's own path
            yield self._next(kind="file", path=path, source=path, size=size)
            return
        self.diag.files += 1
        if kind == "fdr-gzip":
            yield self._next(kind="fdr-gzip", path=path, source=path, size=size)
        else:
            yield from self._ranges(path, size)

    def _ranges(self, path: str, size: int) -> Iterator[Task]:
        starts = list(range(0, max(size, 1), self.range_bytes))
        for i, start in enumerate(starts):
            end = min(start + self.range_bytes, size)
            last = i == len(starts) - 1
            yield self._next(
                kind="fdr-range", path=path, source=path, start=start, end=end,
                size=end - start, last_of_file=last,
            )  # fmt: skip

    def _stdin(self) -> Iterator[Task]:
        import sys

        stream = sys.stdin.buffer
        head, stream = registry.peek(stream, registry.HEAD_BYTES)
        reader = registry.choose_reader(head, registry.STDIN_SOURCE) if head else None
        if reader is None or reader.name != _FDR or head[:2] == b"\x1f\x8b":
            # Not plain FDR: the registry reads it (in this process: it is our stdin).
            yield self._next(
                kind="file", path=registry.STDIN, source=registry.STDIN_SOURCE, local=True,
                stream=stream,
            )  # fmt: skip
            return
        self.diag.files += 1
        out = fdrfast.LinesOutcome()
        reported = 0
        for block in fdrfast.blocks(stream, self.limits, out):
            if len(out.skips) > reported:
                yield self._skips(out.skips[reported:])
                reported = len(out.skips)
            base = out.lines
            out.lines += block.count(b"\n") + (0 if block.endswith(b"\n") else 1)
            yield self._next(
                kind="fdr-block", path=registry.STDIN, source=registry.STDIN_SOURCE,
                payload=block, base_line=base, size=len(block), last_of_file=False,
            )  # fmt: skip
        if len(out.skips) > reported:
            yield self._skips(out.skips[reported:])
        yield self._next(kind="skips", path=registry.STDIN, source=registry.STDIN_SOURCE)

    def _skips(self, skips: list[tuple[int, str, str]]) -> Task:
        return self._next(
            kind="skips", path=registry.STDIN, source=registry.STDIN_SOURCE,
            skips=tuple(skips), base_line=0, last_of_file=False,
        )  # fmt: skip


def _size(path: str) -> int:
    try:
        return os.path.getsize(path) if path != registry.STDIN else 0
    except OSError:
        return 0


def _kind(path: str) -> str:
    """``fdr``, ``fdr-gzip``, ``evtx`` or ``file`` (anything the registry handles itself)."""
    if not os.path.isfile(path):
        # A FIFO or /dev/fd/N can be read once only: sniffing here would eat its data.
        return "file"
    try:
        with open(path, "rb") as stream:
            head = stream.read(registry.HEAD_BYTES)
    except OSError:
        return "file"  # the registry reports it
    if head[:2] == b"\x1f\x8b":
        inner = _gunzip_head(head)
        reader = registry.choose_reader(inner, path) if inner else None
        return "fdr-gzip" if reader is not None and reader.name == _FDR else "file"
    if not head:
        return "file"
    reader = registry.choose_reader(head, path)
    if reader is None:
        return "file"
    if reader.name == _FDR:
        return "fdr"
    return _EVTX if reader.name == _EVTX else "file"


def _gunzip_head(head: bytes) -> bytes:
    try:
        inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)
        return inflater.decompress(head, registry.HEAD_BYTES)
    except zlib.error:
        return b""


# -- running ---------------------------------------------------------------------------------


class _Done:
    """A result computed in-process, shaped like a Future."""

    def __init__(self, result: TaskResult) -> None:
        self._result = result

    def done(self) -> bool:
        return True

    def result(self) -> TaskResult:
        return self._result

    def cancel(self) -> bool:
        return False


def run_ordered(tasks: Iterable[Task], matcher: Matcher, jobs: int) -> Iterator[TaskResult]:
    """Results in task order; tasks run on ``jobs`` processes (in-process for 1).

    Pool processes parse EVTX in-process under an exit watchdog
    (:class:`~proxyhunt.sources.evtx_watchdog.ExitWatchdog`): evtx-rs can hang on a damaged
    record, and then the process ends itself. The pool is then rebuilt and the lost tasks
    run again, their EVTX files through the guarded parser (later tasks stay in the pool),
    which confines a hang to one chunk: :class:`_Runner`.
    """
    if jobs <= 1:
        try:
            for task in tasks:
                yield run_task(task, matcher)
        finally:
            # However the scan ends (Ctrl-C included), no parser process outlives it.
            evtx_guard.close_workers()
        return
    global _MATCHER
    _MATCHER = matcher  # inherited by forked workers; others rebuild it in _init_worker
    runner = _Runner(matcher, jobs)
    try:
        for task in tasks:
            runner.submit(task)
            while len(runner.pending) > 2 * jobs or runner.first_done():
                yield runner.take()
        while runner.pending:
            yield runner.take()
    except BaseException:
        # Ctrl-C, an error, or the consumer stopping early: do not wait for work in flight
        # (a pool process may be stuck in the parser until its watchdog fires).
        runner.abort()
        raise
    runner.close()


class _Runner:
    """Tasks in flight, in order, on a process pool (and threads once EVTX needs guarding)."""

    def __init__(self, matcher: Matcher, jobs: int) -> None:
        self.matcher = matcher
        self.jobs = jobs
        # (task, future, the executor running it: None for a result already computed)
        self.pending: deque[tuple[Task, Any, Any]] = deque()
        self.pool: ProcessPoolExecutor | None = None
        self.threads: ThreadPoolExecutor | None = None
        self.guarded: set[int] = set()  # EVTX tasks lost with a pool process: rerun guarded
        self.other_breaks = 0  # pool processes lost with no EVTX task to blame

    def submit(self, task: Task) -> None:
        self.pending.append((task, *self._start(task)))

    def _start(self, task: Task) -> tuple[Any, Any]:
        if task.local or task.kind == "skips":
            return _Done(run_task(task, self.matcher)), None
        if task.kind == "evtx" and task.seq in self.guarded:
            if self.threads is None:
                self.threads = ThreadPoolExecutor(self.jobs, thread_name_prefix="proxyhunt-evtx")
            return self.threads.submit(_run_quietly, task, self.matcher), self.threads
        if self.pool is None:
            # The start method is chosen now, knowing whether our threads are running.
            self.pool = ProcessPoolExecutor(
                self.jobs,
                mp_context=_context(),
                initializer=_init_worker,
                initargs=(
                    self.matcher.setup,
                    logging.getLogger("proxyhunt").getEffectiveLevel(),
                    os.getpid(),
                ),
            )
        return self.pool.submit(_run_in_worker, task), self.pool

    def first_done(self) -> bool:
        return bool(self.pending) and self.pending[0][1].done()

    def take(self) -> TaskResult:
        """The first task's result; a lost pool process costs a rerun, not the scan."""
        while True:
            try:
                result: TaskResult = self.pending[0][1].result()
            except BrokenProcessPool as exc:
                self._recover(exc)
                continue
            self.pending.popleft()
            return result

    def _recover(self, exc: BrokenProcessPool) -> None:
        broken = self.pool
        assert broken is not None
        # Every task of the broken pool either finished before the break or fails now.
        concurrent.futures.wait([f for _t, f, origin in self.pending if origin is broken])
        lost = [t for t, f, origin in self.pending if origin is broken and f.exception()]
        evtx = [task for task in lost if task.kind == "evtx"]
        if not evtx:
            self.other_breaks += 1
            if self.other_breaks > 1:
                # Not the EVTX parser: the same input kills workers again (out of memory ...).
                raise ProxyhuntError(
                    f"a worker process died ({exc}); run again with --jobs 1 to scan in one process"
                ) from exc
        # Each EVTX task is rerun guarded at most once, so breaks are bounded by the tasks.
        self.guarded.update(task.seq for task in evtx)
        log.warning(
            "a worker process stopped (an EVTX file may have hung or crashed the parser): "
            "%d task(s) run again, their EVTX files through the guarded parser",
            len(lost),
        )
        broken.shutdown(wait=False, cancel_futures=True)
        self.pool = None
        self.pending = deque(
            (task, *self._start(task)) if origin is broken and future.exception() else
            (task, future, origin)
            for task, future, origin in self.pending
        )  # fmt: skip

    def close(self) -> None:
        """After the last result: every executor is idle."""
        if self.threads is not None:
            self.threads.shutdown(wait=True)
        evtx_guard.close_workers()  # the threads' parsers, and one a local task started
        if self.pool is not None:
            self.pool.shutdown(wait=True)

    def abort(self) -> None:
        """Stop now: cancel what has not started, kill what runs (pool processes and parser
        processes), leave no process behind."""
        for _task, future, _origin in self.pending:
            future.cancel()
        evtx_guard.close_workers()  # unblocks threads waiting on a parser
        if self.pool is not None:
            # concurrent.futures has no public way to stop a running task.
            processes = list(getattr(self.pool, "_processes", {}).values())
            for process in processes:
                with contextlib.suppress(OSError, ValueError):
                    process.kill()
            self.pool.shutdown(wait=True, cancel_futures=True)
        if self.threads is not None:
            self.threads.shutdown(wait=True, cancel_futures=True)
            evtx_guard.close_workers()


def _context() -> multiprocessing.context.BaseContext:
    # Forking copies the compiled rules for free; it is only safe while no other thread runs
    # (a progress display's refresh thread could hold a lock the child would inherit).
    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")


@dataclass
class LocalScan:
    """Hits of ``paths`` in input order, with events counted and diagnostics filled."""

    detector: Detector
    setup: Setup
    diag: Diagnostics
    jobs: int = 1
    rules: Sequence[Any] | None = None  # the detector's pySigma rules, for the prefilter
    range_bytes: int = RANGE_BYTES
    progress_callback: ProgressCallback | None = None
    events: int = 0
    state: ScanProgress = field(default_factory=ScanProgress)

    def hits(self, paths: Sequence[str]) -> Iterator[Hit]:
        matcher = Matcher.build(self.setup, self.detector, self.rules)
        planner = _Planner(self.diag, self.setup.limits, matcher, self.range_bytes, self.state)
        lines_before: dict[str, int] = {}
        for result in run_ordered(planner.tasks(paths), matcher, self.jobs):
            yield from self._merge(result, lines_before)

    def _merge(self, result: TaskResult, lines_before: dict[str, int]) -> Iterator[Hit]:
        task = result.task
        if task.base_line is not None:
            base = task.base_line
        else:
            base = lines_before.get(task.source, 0)
            lines_before[task.source] = base + result.lines
        for line, reason, detail in result.skips:
            self.diag.skip(task.source, f"line {base + line}", reason, detail)
        if task.kind.startswith("fdr") and result.records:
            self.diag.read(_FDR, result.records)
        self.diag.merge(result.diag)
        self.events += result.events
        self.state.hits += len(result.hits)
        self._advance(result)
        for number, hit in result.hits:
            if number is not None:
                hit.event.locator = f"line {base + number}"
            yield hit

    def _advance(self, result: TaskResult) -> None:
        state = self.state
        state.events = self.events
        # The task's share of the input as stored (a byte range, a compressed file), so the
        # progress ends at exactly the total whatever the reading read around it.
        state.bytes_done += result.task.size
        state.source = result.task.source
        state.files_done += result.task.files
        if self.progress_callback is not None:
            self.progress_callback(state)


def default_jobs() -> int:
    """All cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1
