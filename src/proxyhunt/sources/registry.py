"""Walk the inputs, open archives, sniff each stream and hand it to the reader that fits.

Inputs are files, folders (walked recursively in sorted order, so two runs read the same
records in the same order) or ``-`` for stdin. ``.gz`` and ``.zip`` are recognised by their
magic bytes, whatever the name; a reader is chosen by sniffing the first 64 KiB, the name
being only a hint. Everything that goes wrong is a counted, located entry in
:class:`~proxyhunt.diagnostics.Diagnostics`; the run goes on.

Readers are listed in :data:`READERS` by name as ``"module:attribute"`` and imported only when
first needed. Adding a reader is one line at the bottom of the list::

    register("auditd", "proxyhunt.sources.auditd:READER")

Sniffing tries readers in registration order, so a more specific format goes first. Each
reader counts what it reads with ``diag.read(fmt)``; the registry counts files.
"""

from __future__ import annotations

import importlib
import io
import logging
import os
import shutil
import stat
import sys
import tempfile
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from typing import IO, BinaryIO

from proxyhunt.diagnostics import Diagnostics
from proxyhunt.model import Record
from proxyhunt.sources.base import DEFAULT_LIMITS, Limits, Prepended, Reader

log = logging.getLogger(__name__)

HEAD_BYTES = 64 * 1024
STDIN = "-"
STDIN_SOURCE = "<stdin>"

_GZIP_MAGIC = b"\x1f\x8b"
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")  # a member, or an empty archive
_CHUNK = 64 * 1024
_OUT_CHUNK = 1024 * 1024
# Ratio checks start only past this much output: tiny files compress absurdly well.
_RATIO_GRACE = 1024 * 1024
# Spooled copies of non-seekable streams (stdin, archive members) stay in memory up to this.
_SPOOL_MEMORY = 32 * 1024 * 1024

READERS: dict[str, str | Reader] = {}
_loaded: list[Reader] | None = None


def register(name: str, target: str | Reader) -> None:
    """Add a reader under ``name``: an object, or ``"module:attribute"`` imported lazily."""
    global _loaded
    if name in READERS:
        raise ValueError(f"a reader named {name!r} is already registered")
    READERS[name] = target
    _loaded = None


def readers() -> list[Reader]:
    """The registered readers in sniffing order, importing their modules on first use."""
    global _loaded
    if _loaded is None:
        _loaded = [reader for name in READERS if (reader := _load(name)) is not None]
    return _loaded


def _load(name: str) -> Reader | None:
    target = READERS[name]
    if not isinstance(target, str):
        return target
    module_name, _, attribute = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        # A reader listed before its module exists (parallel work) is left out, not fatal;
        # a missing dependency *inside* an existing module still raises.
        if exc.name != module_name:
            raise
        log.debug("reader %s: module %s not found", name, module_name)
        return None
    reader: Reader = getattr(module, attribute)
    READERS[name] = reader
    return reader


def choose_reader(head: bytes, name: str) -> Reader | None:
    """The first registered reader whose ``sniff`` accepts these first bytes."""
    for reader in readers():
        if reader.sniff(head, name):
            return reader
    return None


# -- inputs ----------------------------------------------------------------------------------


def iter_records(
    paths: Sequence[str], diag: Diagnostics, limits: Limits = DEFAULT_LIMITS
) -> Iterator[Record]:
    """Every record in ``paths`` (files, folders, ``-``), in a deterministic order."""
    for path in expand_paths(paths, diag):
        yield from read_path(path, diag, limits)


def expand_paths(paths: Sequence[str], diag: Diagnostics) -> list[str]:
    """Files to read: folders walked recursively, sorted; a missing path is reported.

    A path named on the command line is read whatever it is (a FIFO, ``/dev/fd/63`` from
    ``<(zcat x)``, a file of an unknown format, which is then a loss). Inside a folder, only
    regular files whose first bytes some reader (or gzip/zip) recognises are read; the rest
    (a README, a licence, a FIFO that would block forever) is listed as ignored, not lost.
    """
    files: list[str] = []
    for path in paths:
        if path == STDIN or (os.path.exists(path) and not os.path.isdir(path)):
            files.append(path)
        elif os.path.isdir(path):
            files.extend(_walk(path, diag))
        else:
            diag.unreadable(path, "not found")
    return _once_each(files, diag)


def _once_each(files: list[str], diag: Diagnostics) -> list[str]:
    """Each regular file once: a file named twice, inside a folder also named, or reached
    through a link would otherwise count its events and hits twice."""
    seen: dict[tuple[int, int], str] = {}
    kept: list[str] = []
    for path in files:
        try:
            info = os.stat(path) if path != STDIN else None
        except OSError:
            info = None  # read_path reports it
        if info is not None and stat.S_ISREG(info.st_mode):
            first = seen.setdefault((info.st_dev, info.st_ino), path)
            if first == path and path in kept:
                log.info("%s: named more than once, read once", path)
                continue
            if first != path:
                diag.ignore(path, f"the same file as {first}, read once")
                continue
        kept.append(path)
    return kept


def _walk(folder: str, diag: Diagnostics) -> Iterator[str]:
    def unlistable(error: OSError) -> None:
        diag.unreadable(error.filename or folder, f"cannot list folder: {error.strerror}")

    for root, dirs, names in os.walk(folder, onerror=unlistable):
        dirs.sort()
        for name in sorted(names):
            path = os.path.join(root, name)
            reason = _not_telemetry(path)
            if reason is None:
                yield path
            elif reason == _UNOPENABLE:
                yield path  # read_path reports why it cannot be opened
            else:
                diag.ignore(path, reason)


_UNOPENABLE = "cannot open"


def _not_telemetry(path: str) -> str | None:
    """Why a file found in a folder is not read, or None when it looks like telemetry."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return "not a regular file"
        with open(path, "rb") as handle:
            head = handle.read(HEAD_BYTES)
    except OSError:
        return _UNOPENABLE
    if not head:
        return "empty"
    if head[:2] == _GZIP_MAGIC or head[:4] in _ZIP_MAGICS:
        return None
    return None if choose_reader(head, path) is not None else "unknown format"


def open_path(path: str) -> BinaryIO:
    """A binary stream for ``path`` (stdin for ``-``); the caller closes it."""
    if path == STDIN:
        return sys.stdin.buffer
    return open(path, "rb")  # noqa: SIM115 - the caller owns the stream


def read_path(path: str, diag: Diagnostics, limits: Limits = DEFAULT_LIMITS) -> Iterator[Record]:
    """Every record in one file; usable on its own by a scanner that splits work by file."""
    source = STDIN_SOURCE if path == STDIN else path
    try:
        stream = open_path(path)
    except OSError as exc:
        diag.unreadable(source, f"cannot open: {exc.strerror or exc}")
        return
    diag.files += 1
    try:
        yield from read_stream(stream, source, diag, limits)
    except Exception as exc:
        # Last resort: whatever one hostile file does, the run goes on with the next.
        log.debug("%s: reading failed", source, exc_info=True)
        diag.skip(source, "file", "reader error", f"{type(exc).__name__}: {exc}")
    finally:
        if path != STDIN:
            stream.close()


def read_stream(
    stream: BinaryIO, source: str, diag: Diagnostics, limits: Limits, depth: int = 0
) -> Iterator[Record]:
    """Records from a stream: unwraps gzip and zip (``depth`` = containers already open)."""
    try:
        head, stream = peek(stream, HEAD_BYTES)
    except OSError as exc:
        diag.unreadable(source, f"cannot read: {exc}")
        return
    if head[:2] == _GZIP_MAGIC or head[:4] in _ZIP_MAGICS:
        if depth >= limits.max_nesting:
            diag.skip(source, "byte 0", "archive nesting limit", f"deeper than {depth} levels")
            return
        container = _read_gzip if head[:2] == _GZIP_MAGIC else _read_zip
        try:
            yield from container(stream, source, diag, limits, depth)
        except Exception as exc:
            # zipfile and zlib raise more than their documented errors on crafted archives
            # (ValueError "negative seek value" was found by fuzzing): lose this container,
            # report it, and go on with the run.
            log.debug("%s: container failed", source, exc_info=True)
            diag.skip(source, "archive", "corrupt archive", f"{type(exc).__name__}: {exc}")
        return
    if not head:
        log.debug("%s: empty", source)
        return
    reader = choose_reader(head, source)
    if reader is None:
        diag.unreadable(source, "unknown format")
        return
    yield from _run_reader(reader, stream, source, diag, limits)


def _run_reader(
    reader: Reader, stream: BinaryIO, source: str, diag: Diagnostics, limits: Limits
) -> Iterator[Record]:
    count = 0
    try:
        for record in reader.read(stream, source, diag, limits):
            count += 1
            yield record
    except Exception as exc:
        # A reader bug on one hostile file must cost that file's remainder, not the run.
        log.debug("%s: %s reader failed", source, reader.name, exc_info=True)
        diag.skip(source, f"after record {count}", "reader error", f"{type(exc).__name__}: {exc}")


# -- stream helpers --------------------------------------------------------------------------


def peek(stream: BinaryIO, size: int) -> tuple[bytes, BinaryIO]:
    """The first ``size`` bytes, and a stream that still starts at them."""
    if stream.seekable():
        start = stream.tell()
        head = stream.read(size)
        stream.seek(start)
        return head, stream
    parts: list[bytes] = []
    got = 0
    while got < size:
        part = stream.read(size - got)
        if not part:
            break
        parts.append(part)
        got += len(part)
    head = b"".join(parts)
    return head, io.BufferedReader(Prepended(head, stream), _CHUNK)


def ensure_seekable(stream: BinaryIO) -> BinaryIO:
    """``stream`` itself if it can seek, else a spooled copy (memory, then a temp file)."""
    if stream.seekable():
        return stream
    spool = tempfile.SpooledTemporaryFile(max_size=_SPOOL_MEMORY)  # noqa: SIM115
    shutil.copyfileobj(stream, spool, _OUT_CHUNK)
    spool.seek(0)
    return spool  # type: ignore[return-value]


class _Guarded(io.RawIOBase):
    """Base of the decompressing streams: hands out whole lines and records one problem.

    On a cut, corrupt or over-limit stream the bytes after the last complete line are
    dropped, so a reader sees every record before the damage and nothing half-written;
    the registry then reports :attr:`problem` once, with its place in the file.
    """

    def __init__(self, source: str, limits: Limits) -> None:
        self.source = source
        self.limits = limits
        self.problem: tuple[str, str, str] | None = None  # reason, locator, detail
        self._ready = bytearray()
        self._pending = bytearray()
        self._done = False
        self.compressed = 0
        self.produced = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        while not self._ready and not self._done:
            self._fill()
        n = min(len(buffer), len(self._ready))
        buffer[:n] = self._ready[:n]
        del self._ready[:n]
        return n

    def _fill(self) -> None:
        raise NotImplementedError

    def _emit(self, data: bytes) -> None:
        room = self.limits.max_decompressed_bytes - self.produced
        over = len(data) > room
        if over:
            data = data[: max(room, 0)]  # never hand out a byte past the limit
        self.produced += len(data)
        self._pending += data
        cut = self._pending.rfind(b"\n")
        if cut >= 0:
            self._ready += self._pending[: cut + 1]
            del self._pending[: cut + 1]
        elif len(self._pending) > _OUT_CHUNK:
            # Binary or single-line content: holding it back would only cost memory.
            self._ready += self._pending
            self._pending.clear()
        if over:
            limit = self.limits.max_decompressed_bytes
            self._fail("decompression limit", f"more than {limit} bytes")
        elif self._ratio_exceeded():
            detail = f"{self.produced} bytes out of {self.compressed} compressed bytes"
            self._fail("compression ratio", detail)

    def _ratio_exceeded(self) -> bool:
        ratio = self.limits.max_compression_ratio
        return self.produced > _RATIO_GRACE and self.produced > ratio * max(self.compressed, 1)

    def _finish(self) -> None:
        self._ready += self._pending
        self._pending.clear()
        self._done = True

    def _fail(self, reason: str, detail: str) -> None:
        dropped = len(self._pending)
        self._pending.clear()
        self._done = True
        if dropped:
            detail += f"; {dropped} bytes of an incomplete record dropped"
        self.problem = (reason, self._locator(), detail)

    def _locator(self) -> str:
        # Where the damage is, in the bytes of the file the user has.
        return f"byte {self.compressed}"


class GzipStream(_Guarded):
    """Decompresses gzip (also concatenated members) with bounded memory and limits."""

    def __init__(self, raw: BinaryIO, source: str, limits: Limits) -> None:
        super().__init__(source, limits)
        self._raw = raw
        self._inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)
        self._input = b""
        self._started = False

    def _fill(self) -> None:
        if not self._input and not self._read_input():
            return
        if self._inflater.eof:
            if not self._input.strip(b"\0"):
                self._input = b""  # zero padding after the last member
                return
            self._inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)
        try:
            out = self._inflater.decompress(self._input, _OUT_CHUNK)
        except zlib.error as exc:
            self._fail("corrupt gzip", str(exc))
            return
        self._started = True
        inflater = self._inflater
        self._input = inflater.unused_data if inflater.eof else inflater.unconsumed_tail
        self._emit(out)

    def _read_input(self) -> bool:
        chunk = self._raw.read(_CHUNK)
        if chunk:
            self.compressed += len(chunk)
            self._input = chunk
            return True
        if self._inflater.eof or not self._started:
            self._finish()
        else:
            self._fail("truncated gzip", "the file ends inside the compressed data")
        return False


class MemberStream(_Guarded):
    """An archive member with its real size counted (headers can lie) and read errors caught."""

    def __init__(self, member: IO[bytes], compressed: int, source: str, limits: Limits) -> None:
        super().__init__(source, limits)
        self._member = member
        self.compressed = compressed

    def _fill(self) -> None:
        try:
            data = self._member.read(_OUT_CHUNK)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError) as exc:
            self._fail("corrupt archive member", str(exc))
            return
        if not data:
            self._finish()
            return
        self._emit(data)

    def _locator(self) -> str:
        # For a member the useful place is how far into its content the damage starts.
        return f"byte {self.produced}"


# -- containers ------------------------------------------------------------------------------


def _read_gzip(
    stream: BinaryIO, source: str, diag: Diagnostics, limits: Limits, depth: int
) -> Iterator[Record]:
    inner = GzipStream(stream, source, limits)
    yield from read_stream(io.BufferedReader(inner, _CHUNK), source, diag, limits, depth + 1)
    _report(inner, diag)


def _report(stream: _Guarded, diag: Diagnostics) -> None:
    if stream.problem:
        reason, locator, detail = stream.problem
        diag.skip(stream.source, locator, reason, detail)


def _read_zip(
    stream: BinaryIO, source: str, diag: Diagnostics, limits: Limits, depth: int
) -> Iterator[Record]:
    try:
        archive = zipfile.ZipFile(ensure_seekable(stream))
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        diag.unreadable(source, f"corrupt zip: {exc}")
        return
    with archive:
        members = [info for info in archive.infolist() if _is_content(info)]
        if len(members) > limits.max_archive_members:
            extra = len(members) - limits.max_archive_members
            diag.skip(
                source,
                f"member {limits.max_archive_members + 1}",
                "archive member limit",
                f"{extra} members not read",
                n=extra,
            )
            members = members[: limits.max_archive_members]
        for info in members:
            yield from _read_member(archive, info, source, diag, limits, depth)


def _is_content(info: zipfile.ZipInfo) -> bool:
    # macOS Finder adds resource forks (__MACOSX/, ._name): metadata, not evidence.
    name = info.filename
    base = name.rsplit("/", 1)[-1]
    return not (info.is_dir() or name.startswith("__MACOSX/") or base.startswith("._"))


def _read_member(
    archive: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    source: str,
    diag: Diagnostics,
    limits: Limits,
    depth: int,
) -> Iterator[Record]:
    member_source = f"{source}!{info.filename}"
    refusal = _refuse_member(info, limits)
    if refusal:
        diag.skip(member_source, "byte 0", *refusal)
        return
    try:
        handle = archive.open(info)
    except (zipfile.BadZipFile, NotImplementedError, RuntimeError, OSError, ValueError) as exc:
        diag.skip(member_source, "byte 0", "corrupt archive member", str(exc))
        return
    with handle:
        inner = MemberStream(handle, info.compress_size, member_source, limits)
        buffered = io.BufferedReader(inner, _CHUNK)
        yield from read_stream(buffered, member_source, diag, limits, depth + 1)
        _report(inner, diag)


def _refuse_member(info: zipfile.ZipInfo, limits: Limits) -> tuple[str, str] | None:
    """Why a member must not be opened at all, judged from its header (reason, detail)."""
    if info.flag_bits & 0x1:
        return "encrypted archive member", "no password"
    if info.file_size > limits.max_decompressed_bytes:
        return "decompression limit", f"declares {info.file_size} bytes"
    ratio_breach = info.file_size > limits.max_compression_ratio * max(info.compress_size, 1)
    if info.file_size > _RATIO_GRACE and ratio_breach:
        return "compression ratio", f"{info.file_size} bytes from {info.compress_size}"
    return None


# The readers, in sniffing order: binary magic first, specific JSON before generic JSON.
register("evtx", "proxyhunt.sources.evtx:READER")
register("fdr-ndjson", "proxyhunt.sources.fdr:READER")
register("jsonlog", "proxyhunt.sources.jsonlog:READER")
register("event-xml", "proxyhunt.sources.eventxml:READER")
register("auditd", "proxyhunt.sources.auditd:READER")
register("syslog-sysmon", "proxyhunt.sources.syslog:READER")
