"""Windows events exported as JSON: JSON lines, a JSON array, or ``{"events": [...]}``.

The dialect is decided per record, because merged exports mix them:

* OTRF/Mordor (HELK flattened, and the older NXLog ``im_msvistalog`` layout) -> windows
* Winlogbeat raw (``winlog.event_data``) -> windows; Winlogbeat/Elastic ECS-mapped -> ecs
* Azure ``WindowsEvent`` (``EventData`` is a JSON string) and ``SecurityEvent`` -> windows
* Azure ``Syslog`` rows carrying Sysmon for Linux XML or auoms text -> the Linux parsers
* a Falcon event that strayed into a JSON export -> falcon

Every bad record is counted and located (``line N``, ``element N``); none stops the file.
The line helpers here are shared with the FDR reader.
"""

from __future__ import annotations

import codecs
import contextlib
import importlib
import json
import logging
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO

from proxyhunt.diagnostics import Diagnostics
from proxyhunt.model import KIND_AUDITD, KIND_ECS, KIND_FALCON, KIND_WINDOWS, Record
from proxyhunt.sources.base import Limits

log = logging.getLogger(__name__)

try:  # orjson is 3-5x faster on the hot path; json is the fallback (optional extra "fast").
    import orjson

    def loads(data: bytes | str) -> Any:
        """Parse one JSON document (bytes or text)."""
        return orjson.loads(data)

except ImportError:  # pragma: no cover - exercised only without the extra

    def loads(data: bytes | str) -> Any:
        """Parse one JSON document (bytes or text)."""
        return json.loads(data)


_READ_CHUNK = 1024 * 1024
_BOM = "\ufeff"
_BOM_BYTES = b"\xef\xbb\xbf"
# Keys under which exports wrap a list of events in one object.
_CONTAINER_KEYS = ("events", "records", "Records", "value", "rows")
# Top-level objects that show an event was mapped to ECS (winlogbeat ingest pipelines).
_ECS_OBJECTS = ("process", "registry", "destination", "source", "file", "network")


# -- shared helpers --------------------------------------------------------------------------


def iter_lines(stream: BinaryIO, limits: Limits) -> Iterator[tuple[int, bytes | None]]:
    """``(line number, line)`` pairs; ``None`` for a line over ``max_line_bytes``.

    An over-long line is read through in bounded pieces and dropped, never held whole.
    """
    number = 0
    while True:
        line = stream.readline(limits.max_line_bytes + 1)
        if not line:
            return
        number += 1
        if len(line) > limits.max_line_bytes and not line.endswith(b"\n"):
            _drain_line(stream)
            yield number, None
        else:
            yield number, line


def _drain_line(stream: BinaryIO) -> None:
    while True:
        piece = stream.readline(_READ_CHUNK)
        if not piece or piece.endswith(b"\n"):
            return


def too_deep(value: Any, limit: int) -> bool:
    """Whether ``value`` nests dicts/lists deeper than ``limit`` (iterative: no recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        children = node.values() if isinstance(node, dict) else node
        for child in children:
            if isinstance(child, dict | list):
                if depth + 1 > limit:
                    return True
                stack.append((child, depth + 1))
    return False


def parse_line(line: bytes, limits: Limits) -> tuple[Any, str | None]:
    """``(object, None)`` or ``(None, reason)`` for one JSON line."""
    if line.startswith(_BOM_BYTES):
        # The first line of an export written by a Windows tool (field case C11).
        line = line[len(_BOM_BYTES) :]
    try:
        value = loads(line)
    except RecursionError:
        return None, "JSON nesting too deep"
    except ValueError as exc:
        if "depth" in str(exc) or "recursion" in str(exc):  # orjson's own nesting limit
            return None, "JSON nesting too deep"
        return None, f"invalid JSON: {str(exc)[:120]}"
    if isinstance(value, dict | list) and too_deep(value, limits.max_json_depth):
        return None, "JSON nesting too deep"
    if isinstance(value, dict) and line.count(b'":') > _key_count(value):
        # More key-like tokens than keys: duplicate keys (or '":' inside a string). JSON
        # parsers keep one value silently, which lets a writer hide another; read the line
        # again keeping every value of a repeated key, in order (field case C30).
        with contextlib.suppress(ValueError, RecursionError):
            value = json.loads(line, object_pairs_hook=_keep_repeated)
    return value, None


def _key_count(value: dict[str, Any]) -> int:
    count = 0
    stack: list[Any] = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            count += len(node)
            stack.extend(v for v in node.values() if isinstance(v, dict | list))
        else:
            stack.extend(v for v in node if isinstance(v, dict | list))
    return count


def _keep_repeated(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object whose repeated keys hold the list of their values, in file order."""
    result: dict[str, Any] = {}
    repeated: set[str] = set()
    for key, item in pairs:
        if key not in result:
            result[key] = item
        elif key in repeated:
            result[key].append(item)
        else:
            result[key] = [result[key], item]
            repeated.add(key)
    return result


def split_reason(reason: str) -> tuple[str, str]:
    """A skip reason with detail (``"invalid JSON: ..."``) as counted reason and detail."""
    head, _, detail = reason.partition(": ")
    return head, detail


# -- the reader ------------------------------------------------------------------------------


class JsonLogReader:
    """JSON lines / array / wrapped-array exports of Windows (and Azure Syslog) events."""

    name = "jsonlog"

    def sniff(self, head: bytes, name: str) -> bool:
        text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
        return text[:1] in (b"{", b"[")

    def read(
        self, stream: BinaryIO, source: str, diag: Diagnostics, limits: Limits
    ) -> Iterator[Record]:
        for locator, value in _values(stream, source, diag, limits):
            yield from _records(value, locator, source, diag, limits)


def _values(
    stream: BinaryIO, source: str, diag: Diagnostics, limits: Limits
) -> Iterator[tuple[str, Any]]:
    """Top-level JSON values with their locators, in line mode when the file allows it."""
    # Exports written by Windows tools often start with a UTF-8 byte order mark.
    first = stream.readline(limits.max_line_bytes + 1).removeprefix(b"\xef\xbb\xbf")
    value, problem = parse_line(first, limits)
    if problem is None and isinstance(value, dict):
        yield "line 1", value
        yield from _line_values(stream, source, diag, limits, 1)
        return
    if len(first) > limits.max_line_bytes and first.lstrip()[:1] == b"{":
        # An object line over the limit: JSON lines whose first record is too long. Drop that
        # line alone; reading it as one whole-file document would cost every later line.
        _drain_line(stream)
        diag.skip(source, "line 1", "line too long", f"over {limits.max_line_bytes}")
        yield from _line_values(stream, source, diag, limits, 1)
        return
    if not first.endswith(b"\n") or first.strip() in (b"{", b"["):
        # Pretty-printed, or one long line (a single-line array): read as one document.
        yield from _document_values(first, stream, source, diag, limits)
        return
    # A bad first line of a JSON-lines file must not cost the rest: look at the second.
    second = stream.readline(limits.max_line_bytes + 1)
    value2, problem2 = parse_line(second, limits)
    if problem2 is None and isinstance(value2, dict):
        diag.skip(source, "line 1", *split_reason(problem or "not a JSON object"))
        yield "line 2", value2
        yield from _line_values(stream, source, diag, limits, 2)
        return
    yield from _document_values(first + second, stream, source, diag, limits)


def _line_values(
    stream: BinaryIO, source: str, diag: Diagnostics, limits: Limits, offset: int
) -> Iterator[tuple[str, Any]]:
    """JSON lines after the ``offset`` lines the caller already read."""
    for number, line in iter_lines(stream, limits):
        number += offset
        if line is None:
            diag.skip(source, f"line {number}", "line too long", f"over {limits.max_line_bytes}")
            continue
        if not line.strip():
            continue
        value, problem = parse_line(line, limits)
        if problem:
            diag.skip(source, f"line {number}", *split_reason(problem))
            continue
        yield f"line {number}", value


def _document_values(
    first: bytes, stream: BinaryIO, source: str, diag: Diagnostics, limits: Limits
) -> Iterator[tuple[str, Any]]:
    """Values of a document: a top-level array element by element, or concatenated values."""
    scanner = _Scanner(first, stream, limits)
    in_array = False
    index = 0
    while True:
        char = scanner.next_char(skip_comma=in_array)
        if char is None:
            return
        if char == "[" and not in_array and index == 0:
            in_array = True
            scanner.advance()
            continue
        if char == "]" and in_array:
            in_array = False
            scanner.advance()
            continue
        index += 1
        locator = f"element {index}" if in_array else f"record {index}"
        value, problem = scanner.decode()
        if problem:
            diag.skip(source, locator, *split_reason(problem))
            if value is SKIPPED:
                continue
            # Without a parse there is no telling where the next value starts: stop here.
            return
        if isinstance(value, dict | list) and too_deep(value, limits.max_json_depth):
            diag.skip(source, locator, "JSON nesting too deep")
            continue
        yield locator, value


# A value that was parsed but is not used (over a limit): the scan can go on after it.
SKIPPED = object()


class _Scanner:
    """A text window over a stream for :meth:`json.JSONDecoder.raw_decode`, bounded in size."""

    def __init__(self, first: bytes, stream: BinaryIO, limits: Limits) -> None:
        self._stream = stream
        self._limits = limits
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._json = json.JSONDecoder()
        self._text = self._decoder.decode(first).lstrip(_BOM)
        self._pos = 0
        self._eof = False

    def _more(self) -> bool:
        if self._eof:
            return False
        want = max(_READ_CHUNK, len(self._text) - self._pos)  # grow geometrically
        data = self._stream.read(want)
        if not data:
            self._eof = True
            self._text = self._text[self._pos :] + self._decoder.decode(b"", final=True)
        else:
            self._text = self._text[self._pos :] + self._decoder.decode(data)
        self._pos = 0
        return bool(data)

    def next_char(self, skip_comma: bool) -> str | None:
        """The next significant character (after blanks and, inside an array, a comma)."""
        while True:
            while self._pos < len(self._text):
                char = self._text[self._pos]
                if char in " \t\r\n" or (skip_comma and char == ","):
                    self._pos += 1
                    continue
                return char
            if not self._more():
                return None

    def advance(self) -> None:
        self._pos += 1

    def decode(self) -> tuple[Any, str | None]:
        while True:
            try:
                value, end = self._json.raw_decode(self._text, self._pos)
            except RecursionError:
                return None, "JSON nesting too deep"
            except json.JSONDecodeError as exc:
                if len(self._text) - self._pos > self._limits.max_record_bytes:
                    return None, f"record too large: over {self._limits.max_record_bytes} bytes"
                if self._more() or not self._eof:
                    continue
                return None, f"invalid JSON: {exc.msg} at offset {exc.pos}"
            start, self._pos = self._pos, end
            if end - start > self._limits.max_record_bytes:
                # Parsed whole from the buffered window: skip it, the next one is readable.
                return SKIPPED, f"record too large: over {self._limits.max_record_bytes} bytes"
            return value, None


# -- dialects ---------------------------------------------------------------------------------


def _records(
    value: Any, locator: str, source: str, diag: Diagnostics, limits: Limits
) -> Iterator[Record]:
    for where, item in _unwrap(value, locator):
        if not isinstance(item, dict):
            diag.skip(source, where, "not a JSON object")
            continue
        result = classify(item, limits)
        if isinstance(result, str):
            diag.skip(source, where, *split_reason(result))
            continue
        kind, data, dialect = result
        fmt = f"json-{dialect}"
        diag.read(fmt)
        yield Record(kind=kind, data=data, source=source, locator=where, fmt=fmt)


def _unwrap(value: Any, locator: str) -> Iterator[tuple[str, Any]]:
    """The events inside a value: itself, a list's items, or a wrapper object's list."""
    if isinstance(value, dict):
        for key in _CONTAINER_KEYS:
            inner = value.get(key)
            if isinstance(inner, list) and len(value) <= 3:
                value = inner
                break
        else:
            yield locator, _elastic_source(value)
            return
    if isinstance(value, list):
        for index, item in enumerate(value, 1):
            yield f"{locator} element {index}", _elastic_source(item)
        return
    yield locator, value


def _elastic_source(value: Any) -> Any:
    # An Elasticsearch hit keeps the document under "_source".
    if isinstance(value, dict) and isinstance(value.get("_source"), dict):
        return value["_source"]
    return value


Classified = tuple[str, dict[str, Any], str]


def classify(obj: dict[str, Any], limits: Limits) -> Classified | str:
    """``(kind, data, dialect)`` for one exported event, or the reason it is skipped."""
    if "event_simpleName" in obj:
        return KIND_FALCON, obj, "fdr"
    winlog = obj.get("winlog")
    if isinstance(winlog, dict):
        if _ecs_mapped(obj):
            return KIND_ECS, obj, "ecs"
        return KIND_WINDOWS, from_winlog(obj, winlog), "winlogbeat"
    if "SyslogMessage" in obj:
        return _from_syslog(obj)
    if obj.get("category") == "execve" and isinstance(obj.get("details"), dict):
        return KIND_AUDITD, _from_audisp(obj, obj["details"]), "audisp"
    table = obj.get("Type")
    if table == "WindowsEvent":
        return _from_azure_windowsevent(obj, limits)
    if table == "SecurityEvent":
        return KIND_WINDOWS, _from_securityevent(obj), "azure-securityevent"
    if "EventID" in obj and ("Channel" in obj or "SourceName" in obj):
        nxlog = obj.get("SourceModuleType") == "im_msvistalog" or "EventReceivedTime" in obj
        return KIND_WINDOWS, _from_flat(obj), "nxlog" if nxlog else "mordor"
    if _ecs_mapped(obj):
        return KIND_ECS, obj, "ecs"
    return "unrecognised record"


def _ecs_mapped(obj: dict[str, Any]) -> bool:
    return any(isinstance(obj.get(key), dict) for key in _ECS_OBJECTS)


def event_id(value: Any) -> int | Any:
    """EventID as an int; exports write ``1``, ``"1"`` or ``"4688"``."""
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return value


def mapping(obj: dict[str, Any], key: str) -> dict[str, Any]:
    """``obj[key]`` when it is an object, else an empty dict (exports vary in shape)."""
    value = obj.get(key)
    return value if isinstance(value, dict) else {}


def from_winlog(obj: dict[str, Any], winlog: dict[str, Any]) -> dict[str, Any]:
    """A Winlogbeat document as the flat Windows dict (System fields + EventData)."""
    data: dict[str, Any] = {}
    event_data = winlog.get("event_data")
    if isinstance(event_data, dict):
        data.update(event_data)
        positional = _params_as_data(event_data)
        if positional is not None:
            data["Data"] = positional
    user_data = winlog.get("user_data")
    if isinstance(user_data, dict):
        data.update({k: v for k, v in user_data.items() if k != "xml_name"})
    event, host = mapping(obj, "event"), mapping(obj, "host")
    syslog = mapping(mapping(obj, "log"), "syslog")
    data["Channel"] = winlog.get("channel")
    data["EventID"] = event_id(winlog.get("event_id", event.get("code")))
    data["Provider"] = winlog.get("provider_name")
    data["Computer"] = (
        winlog.get("computer_name")
        or syslog.get("hostname")
        or host.get("hostname")
        or host.get("name")
    )
    data["EventRecordID"] = winlog.get("record_id")
    data["TimeCreated"] = obj.get("@timestamp")
    return data


def _params_as_data(event_data: dict[str, Any]) -> list[str] | None:
    """Winlogbeat renames unnamed ``<Data>`` to param1..N and drops empty ones; rebuild the
    ordered ``Data`` list the same event has in EVTX or XML, gaps as "" (field case C06)."""
    numbers = [int(key[5:]) for key in event_data if key.startswith("param") and key[5:].isdigit()]
    if not numbers or "Data" in event_data or max(numbers) > 1024:
        return None
    return [str(event_data.get(f"param{i}") or "") for i in range(1, max(numbers) + 1)]


def _from_flat(obj: dict[str, Any]) -> dict[str, Any]:
    data = dict(obj)
    # The rendered text duplicates the fields and is the bulk of each line.
    data.pop("Message", None)
    data["EventID"] = event_id(obj.get("EventID"))
    data["Provider"] = obj.get("SourceName") or obj.get("ProviderName") or obj.get("Provider")
    data["Computer"] = obj.get("Hostname") or obj.get("Computer")
    if "EventRecordID" not in data and "RecordNumber" in obj:
        data["EventRecordID"] = obj["RecordNumber"]
    return data


def _from_audisp(obj: dict[str, Any], details: dict[str, Any]) -> dict[str, Any]:
    """An audisp-json execve event as the auditd reader's record data."""
    path = details.get("path")
    # PATH records repeat "path": the executable's comes first, the loader's after it.
    exe = path[0] if isinstance(path, list) and path else path
    return {
        "record_type": "EXECVE",
        "exe": exe if isinstance(exe, str) else None,
        "cmdline": details.get("command"),
        "argv": [],
        "pid": details.get("pid"),
        "ppid": details.get("ppid"),
        "uid": details.get("uid"),
        "user": details.get("originaluser") or details.get("user"),
        "cwd": details.get("cwd"),
        "node": obj.get("hostname"),
        "serial": details.get("auditserial"),
        "key": details.get("auditkey"),
        "success": None,
        "time": None,
    }


def _from_azure_windowsevent(obj: dict[str, Any], limits: Limits) -> Classified | str:
    data: dict[str, Any] = {}
    event_data = obj.get("EventData")
    if isinstance(event_data, str) and event_data.lstrip().startswith("{"):
        decoded, problem = parse_line(event_data.encode(), limits)
        if problem or not isinstance(decoded, dict):
            return f"invalid EventData: {problem or 'not an object'}"
        data.update(decoded)
    elif isinstance(event_data, dict):
        data.update(event_data)
    data["Provider"] = obj.get("Provider")
    data["Channel"] = obj.get("Channel")
    data["Computer"] = obj.get("Computer")
    data["EventID"] = event_id(obj.get("EventID"))
    data["TimeCreated"] = obj.get("TimeGenerated")
    return KIND_WINDOWS, data, "azure-windowsevent"


def _from_securityevent(obj: dict[str, Any]) -> dict[str, Any]:
    # The fields are already top level; EventData repeats them as an XML string.
    data = {key: value for key, value in obj.items() if key != "EventData"}
    data["Provider"] = obj.get("EventSourceName")
    data["EventID"] = event_id(obj.get("EventID"))
    data["TimeCreated"] = obj.get("TimeGenerated")
    return data


def _from_syslog(obj: dict[str, Any]) -> Classified | str:
    message = obj.get("SyslogMessage")
    if not isinstance(message, str):
        return "unsupported record: no syslog message"
    if message.lstrip().startswith("<Event"):
        parse = _linux_parser("proxyhunt.sources.syslog", "parse_sysmon_xml")
        kind, dialect = KIND_WINDOWS, "azure-syslog-sysmon"
    elif obj.get("ProcessName") == "auoms" or message.startswith("type=AUOMS"):
        parse = _linux_parser("proxyhunt.sources.auditd", "parse_auoms")
        kind, dialect = KIND_AUDITD, "azure-syslog-auoms"
    else:
        return "unsupported record: plain syslog message"
    if parse is None:
        return f"unsupported record: no parser for {dialect}"
    data = parse(message)
    if data is None:
        return f"unsupported record: {dialect} message not parsed"
    if kind == KIND_WINDOWS and not data.get("Computer"):
        data["Computer"] = obj.get("Computer") or obj.get("HostName")
    return kind, data, dialect


_parsers: dict[str, Callable[[str], dict[str, Any] | None] | None] = {}


def _linux_parser(module: str, function: str) -> Callable[[str], dict[str, Any] | None] | None:
    """The Linux engineer's parser, imported on first use; ``None`` until it exists."""
    key = f"{module}:{function}"
    if key not in _parsers:
        try:
            _parsers[key] = getattr(importlib.import_module(module), function, None)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
            _parsers[key] = None
        if _parsers[key] is None:
            log.info("%s is not available: such Syslog rows are skipped", key)
    return _parsers[key]


READER = JsonLogReader()
