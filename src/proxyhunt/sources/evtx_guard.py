"""Run evtx-rs where it can be stopped; every chunk of the file accounted for.

Two faults of the parser are handled here rather than in the reader:

* **It can hang.** One flipped byte inside a record's BinXML makes evtx 0.14 loop forever
  inside Rust, holding the GIL, so no signal or thread can interrupt it (see
  ``tests/test_limits_evtx.py``). Parsing therefore runs in a worker process that streams
  records back; when no record arrives for ``Limits.evtx_stall_seconds`` the worker is
  killed, the chunk it was in is reported, and parsing resumes with the next chunk. The
  worker also runs under an address-space limit, so a size field that asks for gigabytes
  kills the worker, not the run. With a screen (:mod:`proxyhunt.engines.screen`) the
  worker sends only the records a rule could match, and counts of the others.
* **It is silent about some losses.** :mod:`proxyhunt.sources.evtx_layout` reads the chunk
  table, so every loss is counted and located ``chunk N @0x...``.

A worker is one long-lived process per scanning thread, reused from file to file, so its
start-up cost is paid once; it is restarted only after a hang or a crash. A process that
may end itself (:mod:`proxyhunt.sources.evtx_watchdog`) parses in-process instead.
"""

from __future__ import annotations

import atexit
import contextlib
import io
import json
import logging
import os
import select
import signal
import struct
import subprocess
import sys
import threading
from collections.abc import Generator, Iterator
from typing import IO, Any, BinaryIO

from proxyhunt.diagnostics import Diagnostics
from proxyhunt.engines.screen import ScreenSpec
from proxyhunt.procs import die_with_parent
from proxyhunt.sources import evtx_watchdog
from proxyhunt.sources.evtx_layout import (
    CHUNK_SIZE,
    HEADER_SIZE,
    MAX_RESTARTS,
    Layout,
    _Run,
    read_layout,
)

log = logging.getLogger(__name__)


Frame = tuple[bytes, int, bytes]

# Worker frames: kind (R record, E error, D done), record id, payload length; then the payload.
_FRAME = struct.Struct("<cQI")
# Silent windows in a row in which the worker used little CPU before it counts as stuck all
# the same (a stopped scan resumes within them; a deadlock would not).
_QUIET_WINDOWS = 10
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _cpu_seconds(pid: int) -> float | None:
    """CPU time a process has used (user + system), from /proc; None where there is none."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return None
    # After the command name: state is field 3 of stat(5), utime and stime fields 14 and 15.
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


# Below the allocator's mmap threshold: a 1 MiB read buffer costs a mmap and munmap a read.
_READ_SIZE = 64 * 1024


# -- the worker process ------------------------------------------------------------------------


class _Spliced(io.RawIOBase):
    """The file header followed by the file from chunk ``start`` on: a restart point."""

    def __init__(self, path: str, start: int) -> None:
        self._file = open(path, "rb")  # noqa: SIM115 - closed with this object
        self._header = self._file.read(HEADER_SIZE)
        self._skip = start * CHUNK_SIZE
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        if whence == os.SEEK_END:
            end = os.fstat(self._file.fileno()).st_size - self._skip
            offset += end
        elif whence == os.SEEK_CUR:
            offset += self._pos
        self._pos = max(offset, 0)
        return self._pos

    def tell(self) -> int:
        return self._pos

    def readinto(self, buffer: Any) -> int:
        if self._pos < HEADER_SIZE:
            data = self._header[self._pos : self._pos + len(buffer)]
        else:
            self._file.seek(self._pos + self._skip)
            data = self._file.read(len(buffer))
        buffer[: len(data)] = data
        self._pos += len(data)
        return len(data)

    def close(self) -> None:
        self._file.close()
        super().close()


def _parse(
    path: str, start: int, spec: ScreenSpec | None = None, ends: frozenset[int] = frozenset()
) -> Iterator[Frame]:
    """Frames for one file from chunk ``start``; runs in the worker (or inline).

    Without a screen every record is an ``R`` frame. With one, records are screened in
    batches and those no rule could match become ``S`` frames: a run of consecutive record
    ids, counted, never sent. ``F`` frames say "flush now": after each record id in
    ``ends`` (the last of a chunk, from the parent's chunk table), so a hang in the next
    chunk never holds back records already parsed.
    """
    import evtx as evtx_rs

    source: Any = path if start == 0 else _Spliced(path, start)
    try:
        parser = evtx_rs.PyEvtxParser(source, number_of_threads=1)
        records = parser.records_json()
    except (OSError, RuntimeError) as exc:
        yield b"E", 0, str(exc).encode("utf-8", "replace")
        return
    if spec is None:
        yield from _unscreened(records, ends)
        return
    batch = _Batch(spec, ends)
    add = batch.add
    while True:
        try:
            # The loop is the hot path: one call per record, everything else per batch.
            for item in records:
                if add(item):
                    yield from batch.frames()
            break
        except RuntimeError as exc:
            yield from batch.frames()
            yield b"E", 0, str(exc).encode("utf-8", "replace")
            yield _FLUSH
    yield from batch.frames()


def _unscreened(records: Iterator[Any], ends: frozenset[int]) -> Iterator[Frame]:
    while True:
        try:
            for item in records:
                if isinstance(item, dict):
                    record_id = int(item["event_record_id"])
                    yield b"R", record_id, item["data"].encode("utf-8", "surrogatepass")
                    if record_id in ends:
                        yield _FLUSH
            return
        except RuntimeError as exc:
            yield b"E", 0, str(exc).encode("utf-8", "replace")


_FLUSH: Frame = (b"F", 0, b"")
_SKIPPED = b"S"
SCREEN_BATCH = 512


class _Batch:
    """Records parsed but not yet screened; full at SCREEN_BATCH or at a chunk's end."""

    def __init__(self, spec: ScreenSpec, ends: frozenset[int]) -> None:
        from proxyhunt.engines.screen import compiled

        self.screen = compiled(spec)
        self.ends = ends
        self.ids: list[int] = []
        self.texts: list[str] = []

    def add(self, item: Any) -> bool:
        """Keep a record; True when the batch should be screened now."""
        record_id = item["event_record_id"]
        self.ids.append(record_id)
        self.texts.append(item["data"])
        return len(self.ids) >= SCREEN_BATCH or record_id in self.ends

    def frames(self) -> Iterator[Frame]:
        """The batch as frames, in record order: runs of screened-out ids, records to read."""
        ids, texts = self.ids, self.texts
        if not ids:
            return
        self.ids, self.texts = [], []
        payload, verdicts = self.screen.screen(texts)
        run = 0  # index of the first record of the current screened-out run
        for index in (i for i, keep in enumerate(verdicts) if keep):
            yield from _runs(ids, run, index)
            yield b"R", ids[index], payload(index)
            run = index + 1
        yield from _runs(ids, run, len(ids))
        yield _FLUSH


def _runs(ids: list[int], begin: int, end: int) -> Iterator[Frame]:
    """``S`` frames for ids[begin:end]: one per stretch of consecutive record ids."""
    if begin >= end:
        return
    first = ids[begin]
    if ids[end - 1] - first == end - 1 - begin and ids[begin:end] == list(
        range(first, first + end - begin)
    ):
        yield _SKIPPED, first, _count(end - begin)
        return
    count = 0
    for record_id in ids[begin:end]:
        if count and record_id == first + count:
            count += 1
            continue
        if count:
            yield _SKIPPED, first, _count(count)
        first, count = record_id, 1
    yield _SKIPPED, first, _count(count)


def _count(n: int) -> bytes:
    return n.to_bytes(4, "little")


def serve(requests: IO[bytes], replies: IO[bytes]) -> None:
    """The worker loop: one JSON request per line, frames back, a ``D`` frame per file.

    A request may carry a screen spec (once per worker, then only its key).
    """
    specs: dict[str, ScreenSpec] = {}
    for line in requests:
        request = json.loads(line)
        if request.get("screen_spec"):
            specs[request["screen"]] = ScreenSpec.from_json(request["screen_spec"])
        spec = specs.get(request.get("screen") or "")
        ends = frozenset(request.get("ends", ()))
        for kind, record_id, payload in _parse(request["path"], request["start"], spec, ends):
            if kind == b"F":
                replies.flush()
            else:
                replies.write(_FRAME.pack(kind, record_id, len(payload)) + payload)
        replies.write(_FRAME.pack(b"D", 0, 0))
        replies.flush()


def _worker_main() -> None:
    memory = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    parent = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    # The scan decides when this worker ends (a Ctrl-C reaches the scan, which kills it);
    # if the scan itself dies, the kernel ends the worker with it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    die_with_parent(parent)
    if memory > 0:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    serve(sys.stdin.buffer, sys.stdout.buffer)


_WORKER_START = "from proxyhunt.sources.evtx_guard import _worker_main; _worker_main()"


class WorkerStopped(BaseException):
    """The scan ended (Ctrl-C, an error elsewhere) while a file was being read.

    A BaseException, like KeyboardInterrupt: no reader's "skip the rest of this file"
    handler may take it for a bad file and go on.
    """


class Worker:
    """A parser process, and the frames it sends back, read with a deadline."""

    def __init__(self, memory: int) -> None:
        self.memory = memory
        # A forked scanning process inherits this object: only its creator may use it.
        self.owner = os.getpid()
        self.process = subprocess.Popen(
            [sys.executable, "-c", _WORKER_START, str(memory), str(os.getpid())],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        self.screens: set[str] = set()  # keys of the screen specs this worker has been sent
        self.stopped = False  # ended by close_workers(): the scan is over
        assert self.process.stdout is not None
        # Read straight from the pipe (never through the buffered reader, which could hold
        # bytes the deadline cannot see), in large reads, frames cut out of one buffer.
        self._fd = self.process.stdout.fileno()
        self._poll = select.poll()
        self._poll.register(self._fd, select.POLLIN)
        self._buffer = b""
        self._cpu_mark = _cpu_seconds(self.process.pid)
        self._quiet_windows = 0

    def frames(self, stall_seconds: float) -> Generator[Frame, None, str]:
        """Frames of one request until ``D``; returns "done", "stall" or "died"."""
        buffer, at = self._buffer, 0
        head = _FRAME.size
        while True:
            while len(buffer) - at >= head:
                kind, record_id, length = _FRAME.unpack_from(buffer, at)
                if len(buffer) - at - head < length:
                    break
                payload = buffer[at + head : at + head + length]
                at += head + length
                if kind == b"D":
                    self._buffer = buffer[at:]
                    return "done"
                yield kind, record_id, payload
            if not self._poll.poll(stall_seconds * 1000):
                if self._spinning(stall_seconds):
                    return "stall"
                continue
            try:
                data = os.read(self._fd, _READ_SIZE)
            except OSError:
                data = b""
            if not data:
                return "died"
            buffer = buffer[at:] + data
            at = 0
            self._quiet_windows = 0
            self._cpu_mark = _cpu_seconds(self.process.pid)

    def _spinning(self, stall_seconds: float) -> bool:
        """After a silent ``stall_seconds``: is the parser stuck, or only not running?

        A parser hang burns CPU. A worker that used little CPU in the window was stopped
        (Ctrl-Z, a paused VM) or starved (a slow disk, a busy machine): wait another
        window, a bounded number of times.
        """
        used = _cpu_seconds(self.process.pid)
        if used is None or self._cpu_mark is None:
            return True  # no /proc: wall time alone decides, as it always did
        spent, self._cpu_mark = used - self._cpu_mark, used
        self._quiet_windows += 1
        return spent >= stall_seconds / 4 or self._quiet_windows > _QUIET_WINDOWS

    def ask(self, path: str, start: int, spec: ScreenSpec | None, layout: Layout) -> None:
        ends = [c.last for c in layout.chunks[start:] if c.expected]
        request: dict[str, Any] = {"path": path, "start": start, "ends": ends}
        if spec is not None:
            request["screen"] = spec.key
            if spec.key not in self.screens:
                request["screen_spec"] = spec.to_json()
                self.screens.add(spec.key)
        stdin = self.process.stdin
        assert stdin is not None
        stdin.write(json.dumps(request).encode() + b"\n")
        stdin.flush()

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()
        for pipe in (self.process.stdin, self.process.stdout):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()


class _Slot(threading.local):
    worker: Worker | None = None


# One worker per thread: a parallel scan's threads each drive their own parser process.
_slot = _Slot()
_live: set[Worker] = set()
_live_lock = threading.Lock()


def current_worker() -> Worker | None:
    """This thread's parser process, if it has one."""
    return _slot.worker


def _get_worker(memory: int) -> Worker:
    worker = _slot.worker
    if worker is not None and worker.owner != os.getpid():
        worker = None  # the parent's worker, inherited through fork: leave it to the parent
    if worker is None or not worker.alive() or worker.memory != memory:
        if worker is not None:
            _retire(worker)
        worker = Worker(memory)
        with _live_lock:
            _live.add(worker)
    _slot.worker = worker
    return worker


def _drop_worker() -> None:
    if _slot.worker is not None:
        _retire(_slot.worker)
        _slot.worker = None


def _retire(worker: Worker) -> None:
    if worker.owner == os.getpid():
        worker.kill()
    with _live_lock:
        _live.discard(worker)


def close_workers() -> None:
    """End every parser process this process started (from any thread).

    Killed, not asked: between files a worker only waits for its next request, and one that
    is stuck in the parser could not answer anyway.
    """
    with _live_lock:
        workers = [w for w in _live if w.owner == os.getpid()]
        _live.difference_update(workers)
    for worker in workers:
        worker.stopped = True  # a thread still reading from it gives up instead of restarting
        worker.kill()
    for worker in workers:
        if worker is _slot.worker:
            _slot.worker = None


atexit.register(close_workers)


# -- the reader's entry point --------------------------------------------------------------------


def guarded_items(
    path: str, source: str, diag: Diagnostics, stall_seconds: float, memory: int
) -> Iterator[dict[str, Any]]:
    """evtx-rs items (``event_record_id``, ``data``) of ``path``; every loss reported.

    ``stall_seconds`` 0 parses in this process (no hang protection, no worker start-up).
    """
    for item in _guarded(path, source, diag, stall_seconds, memory, None):
        assert isinstance(item, dict)
        yield item


def screened_items(
    path: str,
    source: str,
    diag: Diagnostics,
    stall_seconds: float,
    memory: int,
    spec: ScreenSpec,
) -> Iterator[dict[str, Any] | int]:
    """As :func:`guarded_items`, but records the screen rules out are only counted: an
    ``int`` item is that many records no rule can match, in their place in the file."""
    return _guarded(path, source, diag, stall_seconds, memory, spec)


def _guarded(
    path: str,
    source: str,
    diag: Diagnostics,
    stall_seconds: float,
    memory: int,
    spec: ScreenSpec | None,
) -> Iterator[dict[str, Any] | int]:
    with open(path, "rb") as handle:
        layout = read_layout(handle)
    run = _Run(layout, source, diag)
    if stall_seconds <= 0:
        frames = _parse(path, 0, spec)
    elif (watchdog := evtx_watchdog.active()) is not None:
        frames = watchdog.watch(_parse(path, 0, spec))
    else:
        frames = _frames_guarded(run, path, stall_seconds, memory, spec)
    for kind, record_id, payload in frames:
        if kind == b"R":
            run.delivered(record_id)
            yield {"event_record_id": record_id, "data": payload.decode("utf-8", "replace")}
        elif kind == _SKIPPED:
            count = int.from_bytes(payload, "little")
            run.delivered_run(record_id, count)
            yield count
        elif kind == b"E":
            run.failed(payload.decode("utf-8", "replace"))
    run.report()


def _frames_guarded(
    run: _Run, path: str, stall_seconds: float, memory: int, spec: ScreenSpec | None
) -> Iterator[Frame]:
    restarts = 0
    while True:
        worker = _get_worker(memory)
        worker.ask(path, run.start, spec, run.layout)
        outcome = yield from worker.frames(stall_seconds)
        if outcome == "done":
            return
        if worker.stopped:
            raise WorkerStopped(f"{run.source}: the scan stopped while this file was read")
        _drop_worker()
        stuck = run.layout.after(run.last_id, run.start)
        what = "parser stopped responding" if outcome == "stall" else "parser process died"
        if stuck is None:
            log.warning("%s: %s after the last chunk", run.source, what)
            return
        stuck.problem = stuck.problem or f"{what}; the rest of this chunk was not read"
        restarts += 1
        if restarts >= MAX_RESTARTS:
            run.gave_up = stuck
            return
        run.start = stuck.index + 1
        if run.start >= len(run.layout.chunks):
            return


def local_path(stream: BinaryIO) -> tuple[str, bool]:
    """A path the worker can open for ``stream``: its own, or a temporary copy (to delete)."""
    name = getattr(stream, "name", None)
    if isinstance(name, str) and os.path.isfile(name) and stream.seekable():
        return name, False
    import shutil
    import tempfile

    if stream.seekable():
        stream.seek(0)
    with tempfile.NamedTemporaryFile(prefix="proxyhunt-", suffix=".evtx", delete=False) as copy:
        shutil.copyfileobj(stream, copy, 1024 * 1024)
    return copy.name, True
