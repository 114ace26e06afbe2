"""Windows events saved as XML: ``wevtutil qe /f:xml``, Event Viewer's "Save as XML", WEF dumps.

Such a file is a run of ``<Event xmlns=...>...</Event>`` elements, bare or inside an
``<Events>`` root, in UTF-8 or (Event Viewer) UTF-16 with a byte order mark. Each event is cut
out of the stream on its own, so one broken event costs only itself, and parsed by the same
DTD-refusing parser as Sysmon for Linux (``sources.syslog.event_from_xml``).
"""

from __future__ import annotations

import codecs
import io
import logging
import re
from collections.abc import Iterator
from typing import BinaryIO, NamedTuple

from proxyhunt.diagnostics import Diagnostics
from proxyhunt.model import KIND_WINDOWS, Record
from proxyhunt.sources.base import Limits, Prepended
from proxyhunt.sources.syslog import SysmonXmlError, event_from_xml

log = logging.getLogger(__name__)

FORMAT = "event-xml"

_EVENT_NS = "http://schemas.microsoft.com/win/2004/08/events/event"
# `<Event ` or `<Event>`, never `<Events>`, `<EventData>`, `<EventID>`.
_START = re.compile(r"<Event[\s>]")
_END = "</Event>"
_CHUNK_CHARS = 1024 * 1024
_XML_START = re.compile(rb"^\s*(?:<\?xml[^>]*\?>\s*)?(?:<!--.*?-->\s*)*<Events?[\s>]", re.DOTALL)


def _encoding(head: bytes) -> str:
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    return "utf-8-sig"


class EventXmlReader:
    name = FORMAT

    def sniff(self, head: bytes, name: str) -> bool:
        """An XML file whose first element is ``<Event>`` or ``<Events>`` of Windows' schema."""
        text = head.decode(_encoding(head), "replace").encode("utf-8", "replace")
        return bool(_XML_START.match(text)) and (_EVENT_NS.encode() in text or b"<System>" in text)

    def read(
        self, stream: BinaryIO, source: str, diag: Diagnostics, limits: Limits
    ) -> Iterator[Record]:
        head = stream.read(4)
        raw = io.BufferedReader(Prepended(head, stream))
        text = io.TextIOWrapper(raw, encoding=_encoding(head), errors="replace", newline="")
        for index, (offset, chunk) in enumerate(_events(text, limits.max_record_bytes), 1):
            locator = f"event {index} (char {offset})"
            if chunk is None:
                diag.skip(source, locator, "event too large", f"over {limits.max_record_bytes}")
                continue
            try:
                data = event_from_xml(chunk)
            except SysmonXmlError as exc:
                diag.skip(source, locator, exc.reason, exc.detail)
                continue
            diag.read(FORMAT)
            if data.pop("XmlTruncated", False):
                diag.skip(source, locator, "event XML truncated (event kept)")
            yield Record(kind=KIND_WINDOWS, data=data, source=source, locator=locator, fmt=FORMAT)


def _events(text: io.TextIOBase, max_chars: int) -> Iterator[tuple[int, str | None]]:
    """(offset, event text) for each ``<Event>``; None as text for one over ``max_chars``."""
    buffer = ""
    consumed = 0  # characters dropped from the front of buffer so far
    eof = False
    while True:
        start = _START.search(buffer)
        end = buffer.find(_END, start.start()) if start else -1
        following = _START.search(buffer, start.start() + 1) if start else None
        if start and following and (end < 0 or following.start() < end):
            # An event cut short by the next one's start tag: give it alone to the parser.
            yield (
                consumed + start.start(),
                _bounded(buffer[start.start() : following.start()], max_chars),
            )
            consumed += following.start()
            buffer = buffer[following.start() :]
            continue
        if start and end >= 0:
            yield (
                consumed + start.start(),
                _bounded(buffer[start.start() : end + len(_END)], max_chars),
            )
            consumed += end + len(_END)
            buffer = buffer[end + len(_END) :]
            continue
        if start and len(buffer) - start.start() > max_chars:
            # An event with no end in sight: report it and drop what was read of it.
            yield consumed + start.start(), None
            skipped = _skip_to_next_start(text, buffer[-16:])
            consumed += len(buffer) + skipped.consumed
            buffer = skipped.rest
            eof = skipped.eof
            continue
        if eof:
            if start:
                yield consumed + start.start(), buffer[start.start() :]
            return
        more = text.read(_CHUNK_CHARS)
        eof = not more
        if not start:
            # Keep a short tail: a start tag may straddle the chunk boundary.
            keep = buffer[-16:]
            consumed += len(buffer) - len(keep)
            buffer = keep
        buffer += more


def _bounded(chunk: str, max_chars: int) -> str | None:
    return chunk if len(chunk) <= max_chars else None


class _Skipped(NamedTuple):
    consumed: int
    rest: str
    eof: bool


def _skip_to_next_start(text: io.TextIOBase, tail: str) -> _Skipped:
    """Read on until the next ``<Event`` start, keeping only what follows it."""
    consumed = -len(tail)
    buffer = tail
    while True:
        found = _START.search(buffer)
        if found:
            return _Skipped(consumed + found.start(), buffer[found.start() :], False)
        more = text.read(_CHUNK_CHARS)
        if not more:
            return _Skipped(consumed + len(buffer), "", True)
        consumed += len(buffer) - 16
        buffer = buffer[-16:] + more


READER = EventXmlReader()
