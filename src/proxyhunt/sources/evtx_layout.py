"""The chunk table of an EVTX file, and the account of what a parse delivered and lost.

evtx-rs is silent about some losses: a file cut inside a chunk, or one whose header lists
chunks the file no longer has, loses records without any error, and a record-level error does
not say which chunk it abandoned. A pass over the chunk headers (64 bytes per 64 KiB) gives
the expected records per chunk, so every loss is counted and located ``chunk N @0x...``.
"""

from __future__ import annotations

import bisect
import logging
import os
import struct
from dataclasses import dataclass, field
from typing import BinaryIO

from proxyhunt.diagnostics import Diagnostics

log = logging.getLogger("proxyhunt.sources.evtx_guard")

HEADER_SIZE = 0x1000
CHUNK_SIZE = 0x10000
FILE_MAGIC = b"ElfFile\x00"
CHUNK_MAGIC = b"ElfChnk\x00"
# evtx-rs says which chunk failed only for chunk-level errors.
_CHUNK_ERROR = "chunk number "

# A file that makes the parser hang in chunk after chunk is not worth more restarts.
MAX_RESTARTS = 8
# The most records a 64 KiB chunk can hold (a record takes at least 24 bytes).
RECORDS_PER_CHUNK = CHUNK_SIZE // 24

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
        return min(self.last - self.first + 1, RECORDS_PER_CHUNK)

    @property
    def locator(self) -> str:
        return f"chunk {self.index} @{self.offset:#x}"


@dataclass
class Layout:
    size: int
    header_last_chunk: int | None  # what the file header claims; stale headers claim less
    chunks: list[Chunk] = field(default_factory=list)
    header_next_record: int | None = None  # the file header's next record id (may be stale)

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
        if current is not None and current.index < start:
            current = None  # delivered before the parse restarted at chunk ``start``
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
    if header[:8] == FILE_MAGIC:
        # A header cut before its chunk count still promised a log: at least chunk 0.
        last_chunk = struct.unpack_from("<Q", header, 16)[0] if len(header) >= 24 else 0
    next_record = struct.unpack_from("<Q", header, 24)[0] if len(header) >= 32 else None
    layout = Layout(size, last_chunk, header_next_record=next_record)
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
        if self.gave_up is None:
            self._report_holes()

    def _missing_chunks(self) -> tuple[int, str]:
        """Records in chunks the file header lists that the file does not have (a cut on a
        chunk border), estimated from the header's next record id; at least one."""
        claimed = self.layout.header_last_chunk
        present = len(self.layout.chunks)
        # A header claiming fewer chunks is only stale; an absurd claim is corruption.
        if claimed is None or claimed < present or claimed > 0xFFFF:
            return 0, ""
        chunks = claimed - present + 1
        detail = f"the header lists chunks up to {claimed}: {chunks} missing from the file"
        seen = max((c.last for c in self.layout.chunks if c.expected), default=0)
        following = self.layout.header_next_record
        records = following - 1 - seen if following is not None and following > seen else 0
        return max(min(records, chunks * RECORDS_PER_CHUNK), 1), detail

    def _report_holes(self) -> None:
        """Record ids that no chunk holds between two chunks in use.

        Windows numbers records without gaps and fills chunks in order, so ids missing
        between consecutive chunks in use were lost: a chunk zeroed in the middle of a log,
        or a chunk header whose record range was altered to hide records (evtx-rs reads
        only what the header says). A wrapped log goes back in ids at its oldest chunk:
        that is no hole.
        """
        used = [c for c in self.layout.chunks if c.state in ("ok", "truncated") and c.expected]
        previous: Chunk | None = None
        for chunk in used:
            start = previous.index + 1 if previous else 0
            between = self.layout.chunks[start : chunk.index]
            if any(c.state != "empty" for c in between) or (previous is None and not between):
                previous = chunk  # a damaged chunk between: already reported as lost
                continue
            # Before the first chunk in use only zeroed chunks: the log starts at record 1.
            missing = chunk.first - (previous.last if previous else 0) - 1
            if missing > 0:
                span = len(between) + 1
                where = between[0] if between or previous is None else previous
                what = "all zeros before a chunk in use" if between else "its record range"
                detail = (
                    f"records {chunk.first - missing}..{chunk.first - 1} are in no chunk "
                    f"({what}; altered or wiped)"
                )
                count = min(missing, span * RECORDS_PER_CHUNK)
                self.diag.skip(self.source, where.locator, "corrupt chunk", detail, n=count)
            previous = chunk


def _short(message: str) -> str:
    return " ".join(message.split())[:200]
