"""Windows EVTX files, parsed by evtx-rs (the ``evtx`` package) behind a small typed adapter.

evtx-rs renders each record as JSON; we flatten ``System`` + ``EventData`` (or one level of
``UserData``) into the flat dict Mordor exports use. The parser runs under the watchdog of
:mod:`proxyhunt.sources.evtx_guard` (evtx-rs can loop forever on a damaged record), which
also reports every lost chunk once, with its number and file offset, and cut files.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Iterator
from typing import Any, BinaryIO

from proxyhunt.diagnostics import Diagnostics
from proxyhunt.model import KIND_WINDOWS, Record
from proxyhunt.sources.base import Limits
from proxyhunt.sources.evtx_guard import guarded_items, local_path
from proxyhunt.sources.jsonlog import loads

log = logging.getLogger(__name__)

FMT = "evtx"
MAGIC = b"ElfFile\x00"
# File header then 64 KiB chunks: chunk n starts at 0x1000 + n * 0x10000.
HEADER_SIZE = 0x1000
CHUNK_SIZE = 0x10000
_CHUNK_COUNT_OFFSET = 42  # u16 in the file header
_CHUNK_NUMBER = re.compile(r"chunk number (\d+)")
# A file whose records all fail would otherwise loop through every error message.
_MAX_ERRORS = 10_000


class EvtxReader:
    """Windows event log files (``ElfFile`` magic)."""

    name = FMT

    def sniff(self, head: bytes, name: str) -> bool:
        return head.startswith(MAGIC)

    def read(
        self, stream: BinaryIO, source: str, diag: Diagnostics, limits: Limits
    ) -> Iterator[Record]:
        # evtx-rs runs in a watchdog worker (it can loop forever on one bad byte); the
        # guard also counts and locates every chunk the parser lost, cut files included.
        path, temporary = local_path(stream)
        try:
            items = guarded_items(
                path, source, diag, limits.evtx_stall_seconds, limits.evtx_worker_memory
            )
            for item in items:
                record = _record(item, source, diag, limits)
                if record is not None:
                    yield record
        finally:
            if temporary:
                os.unlink(path)


def _record(item: dict[str, Any], source: str, diag: Diagnostics, limits: Limits) -> Record | None:
    locator = f"record {item.get('event_record_id')}"
    if len(item["data"]) > limits.max_record_bytes:
        diag.skip(source, locator, "record too large")
        return None
    document = _decode(item["data"])
    data = flatten(document) if isinstance(document, dict) else None
    if data is None:
        diag.skip(source, locator, "not an event record")
        return None
    diag.read(FMT)
    locator = f"record {data.get('EventRecordID') or item.get('event_record_id')}"
    return Record(KIND_WINDOWS, data, source, locator, FMT)


def _decode(text: str) -> Any:
    try:
        return loads(text)
    except ValueError:
        pass
    # evtx-rs renders some damaged strings with raw control characters, which strict JSON
    # parsers refuse; the lenient stdlib mode keeps the record (found by fuzzing).
    try:
        return json.loads(text, strict=False)
    except ValueError:
        return None


# -- unguarded helpers, still used by engines/evtxfast.py (in-process evtx-rs) ------------


def _locator(item: dict[str, Any]) -> str:
    return f"record {item.get('event_record_id')}"


def _report_cut(stream: BinaryIO, reported: set[str], source: str, diag: Diagnostics) -> None:
    """A file that ends inside a chunk (copied while being written) lost that chunk's rest.

    evtx-rs stops quietly at a partial last chunk, so the size is checked here.
    """
    size = stream.seek(0, 2)
    stream.seek(_CHUNK_COUNT_OFFSET)
    declared = int.from_bytes(stream.read(2), "little")
    into = (size - HEADER_SIZE) % CHUNK_SIZE
    # Cut on a chunk border: only the header's chunk count shows chunks are missing.
    missing = size < HEADER_SIZE + declared * CHUNK_SIZE
    if size <= HEADER_SIZE or not (into or missing):
        return
    number = (size - HEADER_SIZE) // CHUNK_SIZE
    locator = f"chunk {number} @{HEADER_SIZE + number * CHUNK_SIZE:#x}"
    if locator not in reported:
        detail = f"the file ends {into} bytes into the chunk" if into else "the file ends here"
        diag.skip(source, locator, "truncated file", f"{detail}; the header declares {declared}")


def _items(
    records: Any, source: str, diag: Diagnostics, reported: set[str]
) -> Iterator[dict[str, Any]]:
    """The parser's items, with each bad chunk reported once (in ``reported``) and skipped."""
    errors = 0
    while True:
        try:
            item = next(records)
        except StopIteration:
            return
        except RuntimeError as exc:
            errors += 1
            _report(str(exc), reported, source, diag)
            if errors >= _MAX_ERRORS:
                diag.skip(source, "rest of file", "too many corrupt records")
                return
            continue
        yield item


def _report(message: str, reported: set[str], source: str, diag: Diagnostics) -> None:
    match = _CHUNK_NUMBER.search(message)
    if match:
        number = int(match.group(1))
        locator = f"chunk {number} @{HEADER_SIZE + number * CHUNK_SIZE:#x}"
        reason = "corrupt chunk"
    else:
        locator, reason = "record", "corrupt record"
    if locator in reported:
        return
    reported.add(locator)
    diag.skip(source, locator, reason, message.split(":", 1)[-1].strip()[:200])


def flatten(document: dict[str, Any]) -> dict[str, Any] | None:
    """``Event.System`` + ``EventData`` (+ one level of ``UserData``) as one flat dict."""
    event = document.get("Event")
    if not isinstance(event, dict) or not isinstance(event.get("System"), dict):
        return None
    data = _system(event["System"])
    event_data = event.get("EventData")
    if isinstance(event_data, dict):
        data.update(_event_data(event_data))
    user_data = event.get("UserData")
    if isinstance(user_data, dict):
        for block in user_data.values():
            if isinstance(block, dict):
                data.update({k: v for k, v in block.items() if not k.startswith("#")})
    return data


def _system(system: dict[str, Any]) -> dict[str, Any]:
    return {
        "Channel": system.get("Channel"),
        "EventID": _text(system.get("EventID")),
        "Provider": _attribute(system.get("Provider"), "Name"),
        "Computer": system.get("Computer"),
        "TimeCreated": _attribute(system.get("TimeCreated"), "SystemTime"),
        "EventRecordID": system.get("EventRecordID"),
        "Version": system.get("Version"),
    }


def _text(value: Any) -> Any:
    # An element with attributes renders as {"#attributes": {...}, "#text": value}
    # (EventID with Qualifiers, for instance).
    if isinstance(value, dict):
        return value.get("#text")
    return value


def _attribute(value: Any, name: str) -> Any:
    if isinstance(value, dict):
        return (value.get("#attributes") or {}).get(name)
    return None


def _event_data(event_data: dict[str, Any]) -> dict[str, Any]:
    """Named ``<Data>`` elements as they are; unnamed ones as ``param1..paramN``."""
    flat: dict[str, Any] = {}
    for key, value in event_data.items():
        if key == "#attributes":
            continue
        if key in ("Data", "#text"):
            flat.update(_unnamed(value))
        else:
            flat[key] = _text(value)
    return flat


def _unnamed(value: Any) -> dict[str, Any]:
    value = _text(value)
    items = value if isinstance(value, list) else [value]
    named = {f"param{i}": _text(item) for i, item in enumerate(items, 1) if item is not None}
    # Also the ordered list Sigma's `Data` field means (field case C06), empties kept.
    named["Data"] = ["" if item is None else str(_text(item)) for item in items]
    return named


READER = EvtxReader()
