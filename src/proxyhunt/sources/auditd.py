"""Linux audit logs: raw ``audit.log``, ``log_format=ENRICHED``, ``ausearch -i`` and auoms.

The kernel writes one audit *event* as several *records* (SYSCALL, EXECVE, CWD, PATH,
PROCTITLE, EOE) that share ``msg=audit(<time>:<serial>)``. They are not guaranteed to be
adjacent, so the reader keeps a bounded set of open events and emits one ``KIND_AUDITD``
record per execve event once its EOE record arrives or it has seen no new record for
``PENDING_LINES`` lines. Memory therefore stays bounded on a file of any size.

Value encoding, as the kernel writes it: an untrusted string (argument, exe, comm, cwd, path,
key, proctitle) is written in double quotes when it is plain printable ASCII without a space
or double quote, and otherwise as unquoted upper-case hex of its bytes. A quoted value is
therefore always text and an unquoted hex value is always bytes. ``ausearch -i`` output is
already decoded and never quoted; such records are recognised by their timestamp form,
their ``" : "`` header or symbolic ``arch``/``syscall`` values, and are never hex-decoded.

Data shape of an emitted record (``Record.data``): ``exe``, ``argv`` (list of str), ``pid``,
``ppid``, ``uid``, ``auid`` (int or None), ``user``/``auid_user`` (names when the log gives
them), ``cwd``, ``node``, ``time`` (float epoch), ``serial``, ``comm``, ``success`` (bool or
None), ``key``, ``argv_source`` (``execve``, ``proctitle`` or ``none``), ``argv_truncated``
(PROCTITLE at the kernel's 128-byte cap), ``interpreted`` and ``record_type``. auoms records
add ``cmdline``, the command line exactly as auoms joined it.
"""

from __future__ import annotations

import logging
import re
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, BinaryIO

from proxyhunt.diagnostics import Diagnostics
from proxyhunt.model import KIND_AUDITD, Record
from proxyhunt.sources.base import Limits, RecordError

log = logging.getLogger(__name__)

FORMAT = "auditd"

# An event whose records are not closed by EOE (most audit.log files have no EOE lines) is
# complete once no record of it has appeared for this many lines; auditd writes an event's
# records within a few lines of each other even when events interleave.
PENDING_LINES = 1024

# A hostile file could claim thousands of records for one serial; past this many the rest
# of that event is dropped with a counted skip.
MAX_RECORDS_PER_EVENT = 4096
# Open events may hold this many times Limits.max_record_bytes of lines in all.
_PENDING_EVENTS = 4

# The kernel caps PROCTITLE at this many bytes (PATH_MAX-free fixed buffer in auditsc.c).
PROCTITLE_CAP = 128

# ENRICHED format: interpreted fields follow a group separator byte.
GROUP_SEPARATOR = "\x1d"

# execve and execveat numbers by audit arch (x86_64, i386, aarch64, arm, ppc64le, s390x).
_EXEC_SYSCALLS: dict[str, frozenset[str]] = {
    "c000003e": frozenset({"59", "322"}),
    "40000003": frozenset({"11", "358"}),
    "c00000b7": frozenset({"221", "281"}),
    "40000028": frozenset({"11", "387"}),
    "c0000015": frozenset({"11", "362"}),
    "80000016": frozenset({"11", "354"}),
}
_EXEC_NAMES = frozenset({"execve", "execveat"})

_HEADER = re.compile(
    r"^(?:node=(?P<node>\S+)\s+)?type=(?P<type>[A-Za-z0-9_]+)\s+(?:msg=)?audit\("
    r"(?P<stamp>[^)]*)\)\s?:\s?(?P<body>.*)$"
)
_SNIFF = re.compile(rb"^(?:node=\S+ )?type=[A-Z0-9_]+ msg=audit\(", re.MULTILINE)
_STAMP = re.compile(r"^(?P<time>.+):(?P<serial>\d+)$")
_EPOCH = re.compile(r"^\d+(?:\.\d+)?$")
_LOCAL_DATE = re.compile(
    r"^(?P<mon>\d{1,2})/(?P<day>\d{1,2})/(?P<year>\d{2}|\d{4}) "
    r"(?P<clock>\d{1,2}:\d{2}:\d{2})(?:\.(?P<ms>\d+))?$"
)
_KEY = re.compile(r"\s*([^\s=\"']+)=")
_HEX = re.compile(r"^(?:[0-9A-F]{2})+$")
_EXECVE_KEY = re.compile(r"(?:^|(?<=\s))(argc|a\d+(?:_len|\[\d+\])?)=")
_ARG_PIECE = re.compile(r"^a(\d+)\[(\d+)\]$")
_ARG = re.compile(r"^a(\d+)$")


class AuditLineError(RecordError):
    """A line that cannot be read as an audit record; ``reason`` is counted in the summary."""


@dataclass(slots=True)
class Value:
    """One ``key=value`` as written: the text without quotes and whether it was quoted."""

    text: str
    quoted: bool


@dataclass(slots=True)
class AuditRecord:
    """One line of an audit log, split but not yet decoded."""

    type: str
    node: str | None
    stamp: str
    time: float | None
    serial: int
    fields: dict[str, Value]
    enriched: dict[str, str]
    interpreted: bool
    timestamp_local: bool
    line: int


@dataclass(slots=True)
class _OpenEvent:
    first_line: int
    last_line: int
    records: list[AuditRecord] = field(default_factory=list)
    size: int = 0  # bytes of the lines held


# ---------------------------------------------------------------------------------------
# Lines


def iter_bounded_lines(stream: BinaryIO, max_bytes: int) -> Iterator[tuple[int, bytes | None]]:
    """Yield ``(line number, bytes)``; ``None`` instead of bytes for a line over ``max_bytes``.

    An overlong line is drained in small pieces so it never sits in memory whole.
    """
    lineno = 0
    while True:
        line = stream.readline(max_bytes + 1)
        if not line:
            return
        lineno += 1
        if len(line) > max_bytes and not line.endswith(b"\n"):
            while True:
                rest = stream.readline(64 * 1024)
                if not rest or rest.endswith(b"\n"):
                    break
            yield lineno, None
            continue
        yield lineno, line


# ---------------------------------------------------------------------------------------
# Values


def decode_hex(text: str) -> str:
    """Upper-case hex of bytes -> text (UTF-8, undecodable bytes replaced)."""
    return bytes.fromhex(text).decode("utf-8", "replace")


def _text(value: Value | None, interpreted: bool) -> str | None:
    """The string a field holds: quoted text, hex decoded, or the interpreted literal."""
    if value is None:
        return None
    if value.quoted or interpreted:
        return value.text
    if value.text == "(null)":
        return None
    if _HEX.match(value.text):
        return decode_hex(value.text)
    return value.text


def _int(value: Value | None) -> int | None:
    if value is None:
        return None
    text = value.text.strip()
    if text.lstrip("-").isdigit():
        return int(text)
    return None


def _name(value: Value | None) -> str | None:
    """An interpreted id (``uid=vagrant``) is a name; a number is not."""
    if value is None or _int(value) is not None:
        return None
    return value.text or None


# ---------------------------------------------------------------------------------------
# Records


def _parse_time(text: str) -> tuple[float | None, bool]:
    """Seconds since the epoch and whether the text was an ``ausearch -i`` local date.

    ``ausearch -i`` prints the time in the local zone of whoever ran it, which the text does
    not say; it is taken as UTC and the record is marked so.
    """
    if _EPOCH.match(text):
        return float(text), False
    m = _LOCAL_DATE.match(text)
    if not m:
        raise AuditLineError("bad audit timestamp", text[:60])
    year = int(m["year"])
    year += 2000 if year < 100 else 0
    try:
        moment = datetime.strptime(
            f"{year}-{m['mon']}-{m['day']} {m['clock']}", "%Y-%m-%d %H:%M:%S"
        ).replace(tzinfo=UTC)
    except ValueError as exc:
        raise AuditLineError("bad audit timestamp", text[:60]) from exc
    fraction = float(f"0.{m['ms']}") if m["ms"] else 0.0
    return moment.timestamp() + fraction, True


def _split_pairs(body: str) -> dict[str, Value]:
    """``key=value`` pairs; a stray word (``user`` in USER_CMD) is passed over."""
    pairs: dict[str, Value] = {}
    pos, end = 0, len(body)
    while pos < end:
        m = _KEY.match(body, pos)
        if not m:
            space = body.find(" ", pos + 1)
            pos = end if space < 0 else space
            continue
        key, pos = m.group(1), m.end()
        if pos < end and body[pos] in "\"'":
            close = body.find(body[pos], pos + 1)
            if close < 0:
                raise AuditLineError("truncated audit record", f"unterminated quote in {key}=")
            value = Value(body[pos + 1 : close], True)
            pos = close + 1
        else:
            space = body.find(" ", pos)
            stop = end if space < 0 else space
            value = Value(body[pos:stop], False)
            pos = stop
        pairs.setdefault(key, value)
    return pairs


def _split_execve(body: str) -> dict[str, Value]:
    """EXECVE pairs split only at ``argc=``/``aN=`` keys.

    Interpreted (``ausearch -i``) arguments are unquoted and may hold spaces or ``x=y``
    text, so only the EXECVE key names themselves can mark where a value ends.
    """
    keys = list(_EXECVE_KEY.finditer(body))
    pairs: dict[str, Value] = {}
    for i, m in enumerate(keys):
        stop = keys[i + 1].start() if i + 1 < len(keys) else len(body)
        raw = body[m.end() : stop].rstrip()
        if raw.startswith('"'):
            if len(raw) < 2 or not raw.endswith('"'):
                raise AuditLineError("truncated audit record", f"unterminated quote in {m[1]}=")
            pairs.setdefault(m.group(1), Value(raw[1:-1], True))
        else:
            pairs.setdefault(m.group(1), Value(raw, False))
    return pairs


def _split_proctitle(body: str) -> dict[str, Value]:
    """PROCTITLE is one value that, when interpreted, holds spaces."""
    text = body.removeprefix("proctitle=").rstrip()
    if len(text) >= 2 and text.startswith('"') and text.endswith('"'):
        return {"proctitle": Value(text[1:-1], True)}
    if text.startswith('"'):
        raise AuditLineError("truncated audit record", "unterminated quote in proctitle=")
    return {"proctitle": Value(text, False)}


def _looks_interpreted(fields: dict[str, Value]) -> bool:
    """``arch=x86_64`` / ``syscall=execve`` appear only in ``ausearch -i`` output."""
    arch, syscall = fields.get("arch"), fields.get("syscall")
    if arch is not None and not re.fullmatch(r"[0-9a-f]+", arch.text):
        return True
    return syscall is not None and not syscall.text.isdigit()


def parse_line(text: str, lineno: int = 0) -> AuditRecord:
    """Split one audit log line into an :class:`AuditRecord`; raise :class:`AuditLineError`."""
    raw, _, extra = text.partition(GROUP_SEPARATOR)
    m = _HEADER.match(raw.strip())
    if not m:
        raise AuditLineError("not an audit record", raw[:80])
    stamp = _STAMP.match(m["stamp"])
    if not stamp:
        raise AuditLineError("bad audit timestamp", m["stamp"][:60])
    when, local = _parse_time(stamp["time"])
    rtype, body = m["type"], m["body"]
    if rtype == "EXECVE":
        fields = _split_execve(body)
    elif rtype == "PROCTITLE":
        fields = _split_proctitle(body)
    else:
        fields = _split_pairs(body)
    enriched = {k: v.text for k, v in _split_pairs(extra).items()} if extra else {}
    interpreted = local or " : " in text[: m.start("body") + 1] or _looks_interpreted(fields)
    return AuditRecord(
        type=rtype,
        node=m["node"],
        stamp=stamp["time"],
        time=when,
        serial=int(stamp["serial"]),
        fields=fields,
        enriched=enriched,
        interpreted=interpreted,
        timestamp_local=local,
        line=lineno,
    )


# ---------------------------------------------------------------------------------------
# Events


def _is_execve(records: list[AuditRecord]) -> bool:
    for rec in records:
        if rec.type == "EXECVE":
            return True
        if rec.type == "SYSCALL":
            arch = rec.fields.get("arch")
            syscall = rec.fields.get("syscall")
            number = syscall.text if syscall else ""
            if number in _EXEC_NAMES or rec.enriched.get("SYSCALL") in _EXEC_NAMES:
                return True
            if arch is not None and number in _EXEC_SYSCALLS.get(arch.text, ()):
                return True
    return False


def _arg_bytes(value: Value, interpreted: bool) -> bytes:
    if value.quoted or interpreted or not _HEX.match(value.text):
        return value.text.encode("utf-8")
    return bytes.fromhex(value.text)


def _execve_argv(records: list[AuditRecord], interpreted: bool) -> tuple[list[str], int | None]:
    """argv from every EXECVE record of the event, and ``argc`` when one said it.

    Long arguments come as ``aN_len=`` plus pieces ``aN[0]= aN[1]=...`` and a big argv
    spills over several EXECVE records; arguments are placed by index, so neither the
    record order nor the piece order in the file matters.
    """
    argc: int | None = None
    whole: dict[int, bytes] = {}
    pieces: dict[int, dict[int, bytes]] = {}
    for rec in records:
        if rec.type != "EXECVE":
            continue
        for key, value in rec.fields.items():
            if key == "argc":
                argc = argc if argc is not None else _int(value)
            elif m := _ARG.match(key):
                whole.setdefault(int(m[1]), _arg_bytes(value, interpreted))
            elif m := _ARG_PIECE.match(key):
                part = pieces.setdefault(int(m[1]), {})
                part.setdefault(int(m[2]), _arg_bytes(value, interpreted))
    for index, parts in pieces.items():
        whole.setdefault(index, b"".join(parts[k] for k in sorted(parts)))
    # Only the indexes present are visited: a hostile argc or index of 10**30 must not make
    # this loop over the range (found by fuzzing).
    argv = [whole[i].decode("utf-8", "replace") for i in sorted(whole) if argc is None or i < argc]
    return argv, argc


def _proctitle_argv(value: Value | None, interpreted: bool) -> tuple[list[str], bool]:
    """argv from PROCTITLE (NUL-separated when hex) and whether it hit the 128-byte cap."""
    if value is None or not value.text:
        return [], False
    if value.quoted:
        return [value.text], False
    if interpreted or not _HEX.match(value.text):
        return value.text.split(" "), False
    raw = bytes.fromhex(value.text)
    parts = raw.rstrip(b"\0").split(b"\0")
    return [p.decode("utf-8", "replace") for p in parts], len(raw) >= PROCTITLE_CAP


def _first(records: list[AuditRecord], rtype: str) -> AuditRecord | None:
    return next((r for r in records if r.type == rtype), None)


def _success(syscall: AuditRecord | None) -> bool | None:
    value = syscall.fields.get("success") if syscall else None
    if value is None:
        return None
    return value.text == "yes"


def _key(syscall: AuditRecord | None, interpreted: bool) -> str | None:
    """The rule key; several keys are joined by 0x01 and hex-encoded by the kernel."""
    text = _text(syscall.fields.get("key"), interpreted) if syscall else None
    return text.replace("\x01", ",") if text else None


def _ids(syscall: AuditRecord | None) -> dict[str, Any]:
    if syscall is None:
        return {"pid": None, "ppid": None, "uid": None, "auid": None}
    f = syscall.fields
    return {
        "pid": _int(f.get("pid")),
        "ppid": _int(f.get("ppid")),
        "uid": _int(f.get("uid")),
        "auid": _int(f.get("auid")),
    }


def _names(syscall: AuditRecord | None) -> tuple[str | None, str | None]:
    """User names from ENRICHED (``UID="root"``) or interpreted (``uid=vagrant``) fields."""
    if syscall is None:
        return None, None
    user = syscall.enriched.get("UID") or _name(syscall.fields.get("uid"))
    auid = syscall.enriched.get("AUID") or _name(syscall.fields.get("auid"))
    return user, auid


def _pick_argv(
    records: list[AuditRecord], interpreted: bool, success: bool | None
) -> tuple[list[str], str, bool, bool]:
    """(argv, its source, possibly truncated, EXECVE incomplete).

    EXECVE is preferred. PROCTITLE is used when EXECVE is missing or incomplete, but not
    for a failed execve: its PROCTITLE is the calling process's, not the one asked for.
    """
    argv, argc = _execve_argv(records, interpreted)
    has_execve = any(r.type == "EXECVE" for r in records)
    incomplete = has_execve and argc is not None and len(argv) < argc
    if has_execve and not incomplete:
        return argv, "execve", False, False
    title = _first(records, "PROCTITLE")
    if title is not None and success is not False:
        value = title.fields.get("proctitle")
        title_argv, capped = _proctitle_argv(value, interpreted or title.interpreted)
        if title_argv:
            return title_argv, "proctitle", capped, incomplete
    return argv, ("execve" if has_execve else "none"), False, incomplete


def assemble(records: list[AuditRecord]) -> tuple[dict[str, Any] | None, bool]:
    """The data of one execve event (None for other events) and whether EXECVE lost args."""
    if not _is_execve(records):
        return None, False
    syscall = _first(records, "SYSCALL")
    interpreted = any(r.interpreted for r in records)
    success = _success(syscall)
    argv, source, truncated, incomplete = _pick_argv(records, interpreted, success)
    cwd_rec = _first(records, "CWD")
    user, auid_user = _names(syscall)
    first = records[0]
    data: dict[str, Any] = {
        "record_type": "EXECVE",
        "exe": _text(syscall.fields.get("exe"), interpreted) if syscall else None,
        "argv": argv,
        **_ids(syscall),
        "user": user,
        "auid_user": auid_user,
        "cwd": _text(cwd_rec.fields.get("cwd"), interpreted) if cwd_rec else None,
        "node": next((r.node for r in records if r.node), None),
        "time": first.time,
        "serial": first.serial,
        "comm": _text(syscall.fields.get("comm"), interpreted) if syscall else None,
        "success": success,
        "key": _key(syscall, interpreted),
        "argv_source": source,
        "argv_truncated": truncated,
        "interpreted": interpreted,
        "timestamp_local": first.timestamp_local,
    }
    return data, incomplete


class _Assembler:
    """Open events keyed by (node, time, serial), closed by EOE or by distance in lines."""

    def __init__(self, source: str, diag: Diagnostics, window: int, max_bytes: int) -> None:
        self.source = source
        self.diag = diag
        self.window = window
        # One event holds at most max_bytes of lines, and all open events together at most
        # _PENDING_EVENTS_BYTES of them: a file of endless records under one serial, or of
        # never-closed events, cannot grow memory without bound.
        self.max_bytes = max_bytes
        self.pending_bytes = 0
        self.open: OrderedDict[tuple[str | None, str, int], _OpenEvent] = OrderedDict()

    def add(self, rec: AuditRecord, size: int = 0) -> Iterator[Record]:
        key = (rec.node, rec.stamp, rec.serial)
        event = self.open.get(key)
        if event is None:
            event = self.open[key] = _OpenEvent(first_line=rec.line, last_line=rec.line)
        self.open.move_to_end(key)
        event.last_line = rec.line
        if len(event.records) >= MAX_RECORDS_PER_EVENT or event.size + size > self.max_bytes:
            self.diag.skip(
                self.source,
                f"line {rec.line}",
                "audit event too large",
                f"serial {rec.serial} has over {MAX_RECORDS_PER_EVENT} records "
                f"or {self.max_bytes} bytes",
            )
        elif rec.type != "EOE":
            event.records.append(rec)
            event.size += size
            self.pending_bytes += size
        if rec.type == "EOE":
            del self.open[key]
            yield from self._emit(event)
        yield from self._expire(rec.line)
        while self.pending_bytes > _PENDING_EVENTS * self.max_bytes and self.open:
            # Too much held open: close the stalest event now rather than wait for its EOE.
            _, stalest = self.open.popitem(last=False)
            yield from self._emit(stalest)

    def finish(self) -> Iterator[Record]:
        while self.open:
            _, event = self.open.popitem(last=False)
            yield from self._emit(event)

    def _expire(self, lineno: int) -> Iterator[Record]:
        # The dict is ordered by last record seen, so the stalest event is always first.
        while self.open:
            key, event = next(iter(self.open.items()))
            if lineno - event.last_line < self.window:
                return
            del self.open[key]
            yield from self._emit(event)

    def _emit(self, event: _OpenEvent) -> Iterator[Record]:
        self.pending_bytes -= event.size
        if not event.records:
            return
        self.diag.read(FORMAT)
        data, incomplete = assemble(event.records)
        if data is None:
            return
        locator = f"line {event.first_line} (audit serial {data['serial']})"
        if incomplete:
            # The lost part is an EXECVE record (a spill record or cut-off arguments); the
            # event itself is still emitted with the best argv available.
            detail = f"argc larger than the arguments found; argv from {data['argv_source']}"
            self.diag.skip(self.source, locator, "audit EXECVE incomplete", detail)
        yield Record(kind=KIND_AUDITD, data=data, source=self.source, locator=locator, fmt=FORMAT)


# ---------------------------------------------------------------------------------------
# The reader


def _is_filler(text: str) -> bool:
    """Blank lines and ``ausearch``'s ``----`` separators and ``time->`` lines."""
    stripped = text.strip()
    return not stripped or stripped.startswith("time->") or set(stripped) == {"-"}


class AuditdReader:
    """Reader for ``audit.log`` text: raw, ENRICHED and ``ausearch -i`` output."""

    name = FORMAT

    def __init__(self, window: int = PENDING_LINES) -> None:
        self.window = window

    def sniff(self, head: bytes, name: str) -> bool:
        """True when one of the first lines is an audit record header."""
        lines = head.removeprefix(b"\xef\xbb\xbf").lstrip().splitlines()[:10]
        return any(_SNIFF.match(line) for line in lines)

    def read(
        self, stream: BinaryIO, source: str, diag: Diagnostics, limits: Limits
    ) -> Iterator[Record]:
        assembler = _Assembler(source, diag, self.window, limits.max_record_bytes)
        for lineno, raw in iter_bounded_lines(stream, limits.max_line_bytes):
            if raw is None:
                diag.skip(
                    source, f"line {lineno}", "line too long", f"over {limits.max_line_bytes} bytes"
                )
                continue
            text = raw.decode("utf-8", "replace").rstrip("\r\n")
            if _is_filler(text):
                continue
            try:
                rec = parse_line(text, lineno)
            except AuditLineError as exc:
                diag.skip(source, f"line {lineno}", exc.reason, exc.detail)
                continue
            yield from assembler.add(rec, len(raw))
        yield from assembler.finish()


READER = AuditdReader()


# ---------------------------------------------------------------------------------------
# auoms (Azure Monitor Agent) AUOMS_EXECVE


_AUOMS_HEADER = re.compile(
    r"^\s*(?:node=\S+\s+)?type=(?P<type>[A-Z_]+)\s+(?:msg=)?audit\((?P<stamp>[^)]*)\)\s?:\s?"
)


def _auoms_cmdline(body: str) -> tuple[str, str | None]:
    """Cut ``cmdline=`` out of an auoms body: (rest of the body, command line).

    auoms writes the joined command line between plain double quotes without escaping the
    quotes inside it (``cmdline="bash -c "{echo,...}""``), so its end is found from the
    fields auoms always writes after it, not from the next quote.
    """
    start = body.find(" cmdline=")
    if start < 0:
        return body, None
    value_start = start + len(" cmdline=")
    stop = len(body)
    for tail in (" redactors=", " containerid="):
        found = body.rfind(tail, value_start)
        if found >= 0:
            stop = min(stop, found)
    value = body[value_start:stop]
    if len(value) >= 2 and value.startswith('"') and value.endswith('"'):
        value = value[1:-1]
    elif _HEX.match(value):
        value = decode_hex(value).replace("\0", " ").strip()
    return body[:start] + body[stop:], value


def parse_auoms(text: str) -> dict[str, Any] | None:
    """The execve data of one auoms ``AUOMS_EXECVE`` message, or None for anything else.

    Accepts the whole syslog message (``type=AUOMS_EXECVE audit(...): ...``) or only its
    body (the Azure ``EventData`` column). ``argv`` is the command line split at spaces,
    since auoms does not keep the argument boundaries; ``cmdline`` keeps its exact text.
    """
    header = _AUOMS_HEADER.match(text)
    when: float | None = None
    serial: int | None = None
    body = text
    if header:
        if header["type"] != "AUOMS_EXECVE":
            return None
        stamp = _STAMP.match(header["stamp"])
        if stamp and _EPOCH.match(stamp["time"]):
            when, serial = float(stamp["time"]), int(stamp["serial"])
        body = text[header.end() :]
    body, cmdline = _auoms_cmdline(" " + body.strip())
    try:
        fields = _split_pairs(body)
    except AuditLineError:
        log.debug("auoms message with an unterminated quote: %.80s", text)
        return None
    syscall = fields.get("syscall")
    if syscall is None or syscall.text not in _EXEC_NAMES | {"59"}:
        return None
    return _auoms_data(fields, cmdline, when, serial)


def _auoms_data(
    fields: dict[str, Value], cmdline: str | None, when: float | None, serial: int | None
) -> dict[str, Any]:
    success = fields.get("success")
    user = fields.get("user")
    audit_user = fields.get("audit_user")
    return {
        "record_type": "AUOMS_EXECVE",
        "exe": _text(fields.get("exe"), False),
        "argv": cmdline.split() if cmdline else [],
        "cmdline": cmdline,
        "pid": _int(fields.get("pid")),
        "ppid": _int(fields.get("ppid")),
        "uid": _int(fields.get("uid")),
        "auid": _int(fields.get("auid")),
        "user": user.text if user and user.text else None,
        "auid_user": audit_user.text if audit_user and audit_user.text != "unset" else None,
        "cwd": _text(fields.get("cwd"), False),
        "node": fields["node"].text if "node" in fields else None,
        "time": when,
        "serial": serial,
        "comm": _text(fields.get("comm"), False),
        "success": None if success is None else success.text == "yes",
        "key": fields["key"].text if "key" in fields else None,
        "argv_source": "cmdline" if cmdline is not None else "none",
        "argv_truncated": False,
        "interpreted": True,
        "timestamp_local": False,
    }
