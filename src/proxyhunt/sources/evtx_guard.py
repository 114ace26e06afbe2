"""Run evtx-rs where it can be stopped, and account for every chunk of the file.

Two faults of the parser are handled here rather than in the reader:

* **It can hang.** One flipped byte inside a record's BinXML makes evtx 0.14 loop forever
  inside Rust, holding the GIL, so no signal or thread can interrupt it (see
  ``tests/test_limits_evtx.py``). Parsing therefore runs in a worker process that streams
  records back; when no record arrives for ``Limits.evtx_stall_seconds`` the worker is
  killed, the chunk it was in is reported, and parsing resumes with the next chunk. The
  worker also runs under an address-space limit, so a size field that asks for gigabytes
  kills the worker, not the run.
* **It is silent about some losses.** A file cut inside a chunk, or one whose header lists
  chunks the file no longer has, loses records without any error; a record-level error does
  not say which chunk it abandoned. A pass over the chunk headers (64 bytes per 64 KiB) gives
  the expected records per chunk, so every loss is counted and located ``chunk N @0x...``.

The worker is one long-lived process per scanning process, reused from file to file, so its
start-up cost is paid once; it is restarted only after a hang or a crash.
"""

from __future__ import annotations

import bisect
import faulthandler
import io
import json
import logging
import os
import select
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from typing import IO, Any, BinaryIO

from proxyhunt.diagnostics import Diagnostics
from proxyhunt.engines.screen import ScreenSpec

log = logging.getLogger(__name__)

HEADER_SIZE = 0x1000
CHUNK_SIZE = 0x10000
FILE_MAGIC = b"ElfFile\x00"
CHUNK_MAGIC = b"ElfChnk\x00"
# evtx-rs says which chunk failed only for chunk-level errors.
_CHUNK_ERROR = "chunk number "

# A file that makes the parser hang in chunk after chunk is not worth more restarts.
MAX_RESTARTS = 8

Frame = tuple[bytes, int, bytes]

# Worker frames: kind (R record, E error, D done), record id, payload length; then the payload.
_FRAME = struct.Struct("<cQI")
# Below the allocator's mmap threshold: a 1 MiB read buffer costs a mmap and munmap a read.
_READ_SIZE = 64 * 1024


# -- the chunk table ---------------------------------------------------------------------------


@dataclass
class Chunk:
    """One 64 KiB chunk as its header describes it (record numbers are the file's own)."""

    index: int
    offset: int
    state: str  # "ok", "empty" (never used: all zeros), "bad signature", "truncated"
    first: int = 0
    last: int = 0
    read: int = 0  # records the parser delivered from it
    problem: str = ""  # first error seen in it

    @property
    def expected(self) -> int:
        if self.state not in ("ok", "truncated") or not 0 < self.first <= self.last:
            return 0
        # A header that claims more than a chunk can hold is itself corrupt.
        return min(self.last - self.first + 1, CHUNK_SIZE // 24)

    @property
    def locator(self) -> str:
        return f"chunk {self.index} @{self.offset:#x}"


@dataclass
class Layout:
    size: int
    header_last_chunk: int | None  # what the file header claims; stale headers claim less
    chunks: list[Chunk] = field(default_factory=list)

    _hint: int = 0
    _starts: list[tuple[int, int]] | None = None  # (first record number, chunk index), sorted

    def chunk_of(self, record_id: int) -> Chunk | None:
        # Records arrive in chunk order: look where the last one was found first.
        for index in (self._hint, self._hint + 1):
            if index < len(self.chunks) and self._holds(self.chunks[index], record_id):
                self._hint = index
                return self.chunks[index]
        # Otherwise a binary search, never a scan: a file whose chunk headers all lie must
        # not make the accounting quadratic.
        if self._starts is None:
            self._starts = sorted((c.first, c.index) for c in self.chunks if c.expected)
        at = bisect.bisect_right(self._starts, (record_id, len(self.chunks))) - 1
        if at >= 0 and self._holds(self.chunks[self._starts[at][1]], record_id):
            self._hint = self._starts[at][1]
            return self.chunks[self._hint]
        return None

    @staticmethod
    def _holds(chunk: Chunk, record_id: int) -> bool:
        return chunk.state in ("ok", "truncated") and chunk.first <= record_id <= chunk.last

    def after(self, record_id: int | None, start: int) -> Chunk | None:
        """The chunk the parser was in after delivering ``record_id`` (None: nothing yet).

        evtx-rs parses a whole chunk before it hands out its records, so after the last
        record of a chunk the parser is working on the next chunk that has records.
        """
        current = self.chunk_of(record_id) if record_id is not None else None
        if current is not None and record_id is not None and record_id < current.last:
            return current
        begin = current.index + 1 if current is not None else start
        return next((c for c in self.chunks[begin:] if c.state != "empty"), None)


def read_layout(handle: BinaryIO) -> Layout:
    """The chunk table of an EVTX file, from its headers only (never the whole file)."""
    handle.seek(0, os.SEEK_END)
    size = handle.tell()
    handle.seek(0)
    header = handle.read(HEADER_SIZE)
    last_chunk = None
    if header[:8] == FILE_MAGIC and len(header) >= 24:
        last_chunk = struct.unpack_from("<Q", header, 16)[0]
    layout = Layout(size, last_chunk)
    index = 0
    while (offset := HEADER_SIZE + index * CHUNK_SIZE) < size:
        layout.chunks.append(_chunk(handle, index, offset, size))
        index += 1
    return layout


def _chunk(handle: BinaryIO, index: int, offset: int, size: int) -> Chunk:
    handle.seek(offset)
    head = handle.read(48)
    whole = offset + CHUNK_SIZE <= size
    if head[:8] != CHUNK_MAGIC:
        if whole and not _read_all_zero(handle, offset):
            return Chunk(index, offset, "bad signature")
        return Chunk(index, offset, "empty" if whole else "truncated")
    first, last = struct.unpack_from("<QQ", head, 24) if len(head) >= 40 else (0, 0)
    return Chunk(index, offset, "ok" if whole else "truncated", first, last)


_ZERO_CHUNK = bytes(CHUNK_SIZE)


def _read_all_zero(handle: BinaryIO, offset: int) -> bool:
    handle.seek(offset)
    return handle.read(CHUNK_SIZE) == _ZERO_CHUNK


# -- accounting --------------------------------------------------------------------------------


@dataclass
class _Run:
    """What one file's parse delivered and lost, chunk by chunk."""

    layout: Layout
    source: str
    diag: Diagnostics
    last_id: int | None = None
    start: int = 0
    gave_up: Chunk | None = None  # the parser failed too often: nothing from here on was read

    def delivered(self, record_id: int) -> None:
        chunk = self.layout.chunk_of(record_id)
        if chunk is None:
            # A record whose id lies outside its chunk's range (id 0, a stale chunk header)
            # still came from the chunk the parser is in.
            chunk = self.layout.after(self.last_id, self.start)
        if chunk is not None:
            chunk.read += 1
        if record_id == 0:
            log.warning(
                "%s: %s: record id 0 (a log numbers records from 1): kept, but suspicious",
                self.source,
                chunk.locator if chunk else "record",
            )
        self.last_id = record_id

    def delivered_run(self, first: int, count: int) -> None:
        """``count`` records with the consecutive ids from ``first`` on."""
        last = first + count - 1
        chunk = self.layout.chunk_of(first) if first > 0 else None
        if chunk is None or not self.layout._holds(chunk, last):
            # Across chunks or outside the headers' ranges: one at a time, as delivered.
            for record_id in range(first, last + 1):
                self.delivered(record_id)
            return
        chunk.read += count
        self.last_id = last

    def failed(self, message: str) -> None:
        """A parser error: blame the chunk it names, else the chunk the parser was in."""
        chunk: Chunk | None = None
        if _CHUNK_ERROR in message:
            number = message.split(_CHUNK_ERROR, 1)[1].split(":", 1)[0]
            if number.isdigit() and self.start + int(number) < len(self.layout.chunks):
                chunk = self.layout.chunks[self.start + int(number)]
        if chunk is None:
            chunk = self.layout.after(self.last_id, self.start)
        if chunk is not None and not chunk.problem:
            chunk.problem = _short(message)

    def report(self) -> None:
        """One located, counted warning per chunk that lost records; unused chunks are fine."""
        missing, missing_detail = self._missing_chunks()
        chunks = self.layout.chunks
        if self.gave_up is not None:
            rest = chunks[self.gave_up.index :]
            chunks = chunks[: self.gave_up.index]
            lost = sum(max(c.expected - c.read, 0) for c in rest) + missing
            detail = f"{MAX_RESTARTS} parser restarts; not read from here to the end of the file"
            self.diag.skip(self.source, self.gave_up.locator, "parser failure", detail, n=lost)
            missing = 0
        for chunk in chunks:
            lost = max(chunk.expected - chunk.read, 0)
            if chunk.state == "empty" or (chunk.state == "ok" and not lost and not chunk.problem):
                continue
            if chunk.state == "bad signature":
                detail = f"bad chunk signature: {chunk.problem or 'not ElfChnk'}"
                reason, lost = "corrupt chunk", max(lost, 1)
            elif chunk.state == "truncated":
                # The chunks the header lists beyond the cut are part of the same loss.
                reason = "truncated file"
                detail = f"the file ends at {self.layout.size:#x}, inside this chunk"
                detail += f"; {missing_detail}" if missing else ""
                lost, missing = max(lost, 1) + missing, 0
            else:
                reason, detail = "corrupt chunk", chunk.problem or "records missing"
            self.diag.skip(self.source, chunk.locator, reason, detail, n=max(lost, 1))
        if missing:
            present = len(self.layout.chunks)
            locator = f"chunk {present} @{HEADER_SIZE + present * CHUNK_SIZE:#x}"
            self.diag.skip(self.source, locator, "truncated file", missing_detail, n=missing)

    def _missing_chunks(self) -> tuple[int, str]:
        """Chunks the file header lists that the file does not have (a cut on a border)."""
        claimed = self.layout.header_last_chunk
        present = len(self.layout.chunks)
        # A header claiming fewer chunks is only stale; an absurd claim is corruption.
        if claimed is None or claimed < present or claimed > 0xFFFF:
            return 0, ""
        detail = f"the header lists chunks up to {claimed}, missing from the file"
        return claimed - present + 1, detail


def _short(message: str) -> str:
    return " ".join(message.split())[:200]


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
    path: str, start: int, spec: ScreenSpec | None = None, chunk_flush: bool = True
) -> Iterator[Frame]:
    """Frames for one file from chunk ``start``; runs in the worker (or inline).

    Without a screen every record is an ``R`` frame. With one, records are screened in
    batches and those no rule could match become ``S`` frames: a run of consecutive record
    ids, counted, never sent. ``F`` frames say "flush now": at the end of every chunk, so a
    hang in the next chunk never holds back records already parsed.
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
        yield from _unscreened(records)
        return
    batch = _Batch(spec, _chunk_ends(path) if chunk_flush else set())
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


def _unscreened(records: Iterator[Any]) -> Iterator[Frame]:
    while True:
        try:
            for item in records:
                if isinstance(item, dict):
                    data = item["data"].encode("utf-8", "surrogatepass")
                    yield b"R", int(item["event_record_id"]), data
            return
        except RuntimeError as exc:
            yield b"E", 0, str(exc).encode("utf-8", "replace")


_FLUSH: Frame = (b"F", 0, b"")
_SKIPPED = b"S"
SCREEN_BATCH = 512


class _Batch:
    """Records parsed but not yet screened; full at SCREEN_BATCH or at a chunk's end."""

    def __init__(self, spec: ScreenSpec, ends: set[int]) -> None:
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


def _chunk_ends(path: str) -> set[int]:
    """The last record id of every chunk, as the chunk headers say."""
    try:
        with open(path, "rb") as handle:
            return {c.last for c in read_layout(handle).chunks if c.expected}
    except OSError:
        return set()


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
        for kind, record_id, payload in _parse(request["path"], request["start"], spec):
            if kind == b"F":
                replies.flush()
            else:
                replies.write(_FRAME.pack(kind, record_id, len(payload)) + payload)
        replies.write(_FRAME.pack(b"D", 0, 0))
        replies.flush()


def _worker_main() -> None:
    memory = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    if memory > 0:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    serve(sys.stdin.buffer, sys.stdout.buffer)


_WORKER_START = "from proxyhunt.sources.evtx_guard import _worker_main; _worker_main()"


class Worker:
    """A parser process, and the frames it sends back, read with a deadline."""

    def __init__(self, memory: int) -> None:
        self.memory = memory
        # A forked scanning process inherits this object: only its creator may use it.
        self.owner = os.getpid()
        self.process = subprocess.Popen(
            [sys.executable, "-c", _WORKER_START, str(memory)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        self.screens: set[str] = set()  # keys of the screen specs this worker has been sent
        assert self.process.stdout is not None
        # Read straight from the pipe (never through the buffered reader, which could hold
        # bytes the deadline cannot see), in large reads, frames cut out of one buffer.
        self._fd = self.process.stdout.fileno()
        self._poll = select.poll()
        self._poll.register(self._fd, select.POLLIN)
        self._buffer = b""

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
                return "stall"
            try:
                data = os.read(self._fd, _READ_SIZE)
            except OSError:
                data = b""
            if not data:
                return "died"
            buffer = buffer[at:] + data
            at = 0

    def ask(self, path: str, start: int, spec: ScreenSpec | None) -> None:
        request: dict[str, Any] = {"path": path, "start": start}
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

    def close(self) -> None:
        """Let the worker finish and exit (end of its requests); kill it if it does not."""
        try:
            if self.process.stdin is not None:
                self.process.stdin.close()
            self.process.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            self.kill()


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
    """End every parser process this process started (from any thread)."""
    with _live_lock:
        workers = [w for w in _live if w.owner == os.getpid()]
        _live.difference_update(workers)
    for worker in workers:
        worker.close()


# -- in a disposable process ------------------------------------------------------------------


class ExitWatchdog:
    """Parse in this process, which ends itself if the parser stops making progress.

    For a process whose loss costs nothing but a rerun (a pool process of a parallel scan):
    parsing here saves every record's trip through a pipe. While it is active, evtx-rs runs
    in-process; if no batch of records arrives for ``Limits.evtx_stall_seconds``, a C-level
    timer (``faulthandler``, which needs no GIL, so it fires while Rust holds it) ends the
    process, and the parent runs the file again through the guarded parser. The address
    space may grow by at most ``Limits.evtx_worker_memory`` meanwhile, so a size field that
    asks for gigabytes also ends this process rather than the machine's memory.
    """

    def __init__(self, limits: Any) -> None:
        self.stall = float(limits.evtx_stall_seconds)
        self.memory = int(limits.evtx_worker_memory)
        self._armed = 0.0
        self._devnull: IO[str] | None = None
        self._saved_limit: tuple[int, int] | None = None

    def __enter__(self) -> ExitWatchdog:
        global _watchdog
        if self.stall > 0:
            _watchdog = self
            self._devnull = open(os.devnull, "w")  # noqa: SIM115 - closed in __exit__
            self._arm()
            self._limit_memory()
        return self

    def __exit__(self, *exc: object) -> None:
        global _watchdog
        if _watchdog is self:
            _watchdog = None
            faulthandler.cancel_dump_traceback_later()
            self._restore_memory()
            if self._devnull is not None:
                self._devnull.close()

    def watch(self, frames: Iterator[Frame]) -> Iterator[Frame]:
        """``frames``, re-arming the timer as they come (at most 4 times a stall period)."""
        for frame in frames:
            if time.monotonic() - self._armed > self.stall / 4:
                self._arm()
            yield frame

    def _arm(self) -> None:
        # Re-arming starts a timer thread (~70 us): done rarely, not per batch.
        assert self._devnull is not None
        faulthandler.dump_traceback_later(self.stall, exit=True, file=self._devnull)
        self._armed = time.monotonic()

    def _limit_memory(self) -> None:
        if self.memory <= 0 or not os.path.exists("/proc/self/statm"):
            return
        import resource

        with open("/proc/self/statm") as statm:
            used = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        wanted = used + self.memory
        if soft == resource.RLIM_INFINITY or wanted < soft:
            if hard != resource.RLIM_INFINITY:
                wanted = min(wanted, hard)
            resource.setrlimit(resource.RLIMIT_AS, (wanted, hard))
            self._saved_limit = (soft, hard)

    def _restore_memory(self) -> None:
        if self._saved_limit is not None:
            import resource

            resource.setrlimit(resource.RLIMIT_AS, self._saved_limit)
            self._saved_limit = None


_watchdog: ExitWatchdog | None = None


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
        frames = _parse(path, 0, spec, chunk_flush=False)
    elif _watchdog is not None:
        frames = _watchdog.watch(_parse(path, 0, spec, chunk_flush=False))
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
        worker.ask(path, run.start, spec)
        outcome = yield from worker.frames(stall_seconds)
        if outcome == "done":
            return
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
