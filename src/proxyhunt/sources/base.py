"""The reader interface and the limits every reader enforces."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO, Protocol

from proxyhunt.diagnostics import Diagnostics
from proxyhunt.model import Record


@dataclass(frozen=True)
class Limits:
    """Bounds that keep a hostile or broken file from hanging a run or eating memory."""

    max_line_bytes: int = 4 * 1024 * 1024  # one NDJSON line / one audit record
    max_json_depth: int = 64
    max_record_bytes: int = 16 * 1024 * 1024  # one JSON array element or EVTX record as JSON
    max_decompressed_bytes: int = 64 * 1024**3  # per .gz stream or .zip member
    max_compression_ratio: int = 1000  # decompressed / compressed, checked past 1 MiB out
    max_archive_members: int = 100_000
    max_nesting: int = 4  # a .zip inside a .zip inside ...
    # EVTX is parsed in a worker process (evtx-rs can loop forever on one bad byte): it is
    # killed after this long without a record, and runs under this address-space limit.
    # 0 seconds parses in-process, without the watchdog.
    evtx_stall_seconds: float = 30.0
    evtx_worker_memory: int = 2 * 1024**3


DEFAULT_LIMITS = Limits()


class Reader(Protocol):
    """A format reader. ``sniff`` sees the first bytes (up to 64 KiB) and the name."""

    name: str

    def sniff(self, head: bytes, name: str) -> bool: ...

    def read(
        self, stream: BinaryIO, source: str, diag: Diagnostics, limits: Limits
    ) -> Iterator[Record]: ...


class RecordError(ValueError):
    """A record a reader cannot use; ``reason`` is counted in the summary, ``detail`` shown."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


class Prepended(io.RawIOBase):
    """Bytes already read from a stream (to sniff it), followed by the rest of it."""

    def __init__(self, head: bytes, rest: BinaryIO) -> None:
        self._head = memoryview(head)
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        if self._head:
            n = min(len(buffer), len(self._head))
            buffer[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        data = self._rest.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)
