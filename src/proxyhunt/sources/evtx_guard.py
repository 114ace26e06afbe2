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
import io
import json
import logging
import os
import queue
import struct
import subprocess
import sys
import threading
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from typing import IO, Any, BinaryIO

from proxyhunt.diagnostics import Diagnostics

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


def _read_all_zero(handle: BinaryIO, offset: int) -> bool:
    handle.seek(offset)
    return not handle.read(CHUNK_SIZE).strip(b"\0")


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


def _parse(path: str, start: int) -> Iterator[tuple[bytes, int, bytes]]:
    """(kind, record id, payload) for one file from chunk ``start``; runs in the worker."""
    import evtx as evtx_rs

    source: Any = path if start == 0 else _Spliced(path, start)
    try:
        parser = evtx_rs.PyEvtxParser(source, number_of_threads=1)
        records = parser.records_json()
    except (OSError, RuntimeError) as exc:
        yield b"E", 0, str(exc).encode("utf-8", "replace")
        return
    while True:
        try:
            item = next(records)
        except StopIteration:
            return
        except RuntimeError as exc:
            yield b"E", 0, str(exc).encode("utf-8", "replace")
            continue
        if not isinstance(item, dict):
            continue
        yield b"R", int(item["event_record_id"]), item["data"].encode("utf-8", "surrogatepass")


def serve(requests: IO[bytes], replies: IO[bytes]) -> None:
    """The worker loop: one JSON request per line, frames back, a ``D`` frame per file."""
    for line in requests:
        request = json.loads(line)
        for kind, record_id, payload in _parse(request["path"], request["start"]):
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
    """A parser process and a thread that turns its frames into queue items."""

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
        self.items: queue.Queue[tuple[bytes, int, bytes] | None] = queue.Queue(maxsize=4096)
        self._thread = threading.Thread(target=self._pump, daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        stdout = self.process.stdout
        assert stdout is not None
        while True:
            head = stdout.read(_FRAME.size)
            if len(head) < _FRAME.size:
                self.items.put(None)  # the worker died
                return
            kind, record_id, length = _FRAME.unpack(head)
            payload = stdout.read(length) if length else b""
            self.items.put((kind, record_id, payload))

    def ask(self, path: str, start: int) -> None:
        stdin = self.process.stdin
        assert stdin is not None
        stdin.write(json.dumps({"path": path, "start": start}).encode() + b"\n")
        stdin.flush()

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()


_worker: Worker | None = None


def _get_worker(memory: int) -> Worker:
    global _worker
    if _worker is not None and _worker.owner != os.getpid():
        _worker = None  # the parent's worker, inherited through fork: leave it to the parent
    if _worker is None or not _worker.alive() or _worker.memory != memory:
        if _worker is not None and _worker.alive():
            _worker.kill()
        _worker = Worker(memory)
    return _worker


def _drop_worker() -> None:
    global _worker
    if _worker is not None:
        _worker.kill()
        _worker = None


# -- the reader's entry point --------------------------------------------------------------------


def guarded_items(
    path: str, source: str, diag: Diagnostics, stall_seconds: float, memory: int
) -> Iterator[dict[str, Any]]:
    """evtx-rs items (``event_record_id``, ``data``) of ``path``; every loss reported.

    ``stall_seconds`` 0 parses in this process (no hang protection, no worker start-up).
    """
    with open(path, "rb") as handle:
        layout = read_layout(handle)
    run = _Run(layout, source, diag)
    frames = _frames_inline if stall_seconds <= 0 else _frames_guarded
    for kind, record_id, payload in frames(run, path, stall_seconds, memory):
        if kind == b"R":
            run.delivered(record_id)
            yield {"event_record_id": record_id, "data": payload.decode("utf-8", "replace")}
        else:
            run.failed(payload.decode("utf-8", "replace"))
    run.report()


def _frames_inline(
    run: _Run, path: str, stall_seconds: float, memory: int
) -> Iterator[tuple[bytes, int, bytes]]:
    yield from _parse(path, 0)


def _frames_guarded(
    run: _Run, path: str, stall_seconds: float, memory: int
) -> Iterator[tuple[bytes, int, bytes]]:
    restarts = 0
    while True:
        worker = _get_worker(memory)
        worker.ask(path, run.start)
        outcome = yield from _drain(worker, stall_seconds)
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


def _drain(worker: Worker, stall_seconds: float) -> Generator[Frame, None, str]:
    """Frames of one request until ``D``; returns "done", "stall" or "died"."""
    while True:
        try:
            frame = worker.items.get(timeout=stall_seconds)
        except queue.Empty:
            return "stall"
        if frame is None:
            return "died"
        if frame[0] == b"D":
            return "done"
        yield frame


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
