"""Sysmon for Linux in plain syslog files: one ``<Event>`` XML document per syslog line.

Sysmon for Linux logs through syslog with program name ``sysmon``. The line forms read here:

* RFC 3164 / rsyslog: ``May 11 18:10:33 host sysmon: <Event>...</Event>`` (or an ISO time)
* journald ``short`` export: ``May 11 18:10:33 host sysmon[1590]: <Event>...</Event>``
* RFC 5424: ``<14>1 2022-05-11T18:10:33Z host sysmon 1590 - - <Event>...</Event>``

Every other line is ignored: a syslog file is mostly other programs. The XML is attacker
influenced (command lines, file names), so it is parsed only after any DOCTYPE or ENTITY
declaration has been rejected: no external entities, no entity expansion.
"""

from __future__ import annotations

import logging
import re
import xml.etree.ElementTree as ET  # noqa: S405 - input is checked by _reject_dtd first
from collections.abc import Iterator
from typing import Any, BinaryIO, cast

from proxyhunt.diagnostics import Diagnostics
from proxyhunt.model import KIND_WINDOWS, Record
from proxyhunt.sources.auditd import iter_bounded_lines
from proxyhunt.sources.base import Limits, RecordError

log = logging.getLogger(__name__)

FORMAT = "syslog-sysmon"

# Up to five tokens (date, time, host, an optional ``<pri>``) before the program tag, so a
# "sysmon: <Event" quoted inside another program's message is not taken for one.
_LINE_3164 = re.compile(r"^(?:\S+\s+){1,5}?sysmon(?:\[\d+\])?:\s*\ufeff?(?P<msg><.*)$")
_LINE_5424 = re.compile(
    r"^<\d{1,3}>\d{1,2}\s+\S+\s+\S+\s+sysmon\s+\S+\s+\S+\s+(?:-|(?:\[.*?\])+)\s*\ufeff?"
    r"(?P<msg><.*)$"
)
_DTD = re.compile(r"<!\s*(?:DOCTYPE|ENTITY)", re.IGNORECASE)
_SNIFF = re.compile(rb"^[^{\[\s].*?\bsysmon(?:\[\d+\])?:?\s.*?<Event[\s>]", re.MULTILINE)
_FRACTION = re.compile(r"^(?P<base>[^.]+)(?:\.(?P<frac>\d+))?Z?$")
# Sysmon for Linux writes a space where an entity's semicolon belongs (``&lt unknown
# process&gt ``, ``&quot SELECT ...&quot ``); any other bare ``&`` is a literal ampersand.
_SPACED_ENTITY = re.compile(r"&(lt|gt|amp|quot|apos) ")
_BARE_AMP = re.compile(r"&(?!(?:lt|gt|amp|quot|apos|#\d+|#x[0-9A-Fa-f]+);)")


class SysmonXmlError(RecordError):
    """A Sysmon ``<Event>`` that cannot be used; ``reason`` is counted in the summary."""


def _local(tag: str) -> str:
    """Tag name without the ``{namespace}`` Windows exports add."""
    return tag.rsplit("}", 1)[-1]


def _iso_z(system_time: str) -> str:
    """``2022-05-11T18:10:33.150833000Z`` -> ``2022-05-11T18:10:33.150833Z`` (microseconds).

    Sysmon for Linux writes nine fractional digits; Python's datetime takes six.
    """
    m = _FRACTION.match(system_time.strip())
    if not m:
        return system_time
    frac = (m["frac"] or "")[:6]
    return f"{m['base']}.{frac}Z" if frac else f"{m['base']}Z"


def _reject_dtd(text: str) -> None:
    # Entities can only be declared inside a DTD; refusing the DTD refuses entity expansion
    # (billion laughs) and external entities alike, before expat sees a byte.
    if _DTD.search(text):
        raise SysmonXmlError("unsafe XML", "DOCTYPE or ENTITY declaration")


def _repair_entities(text: str) -> str:
    return _BARE_AMP.sub("&amp;", _SPACED_ENTITY.sub(r"&\1;", text))


def _close_truncated(text: str) -> tuple[str, bool]:
    """Close the elements a cut-off ``<Event>`` left open; (text, whether it was cut).

    Syslog relays cut long messages (the corpus has one Sysmon EID 1 cut at 2 KiB inside
    ParentCommandLine). Everything before the cut is still good evidence, so the open
    elements are closed and the unfinished tag or entity at the end is dropped.
    """
    if text.rstrip().endswith("</Event>"):
        return text, False
    if text.rfind("<") > text.rfind(">"):
        text = text[: text.rfind("<")]
    if text.rfind("&") > text.rfind(";"):
        text = text[: text.rfind("&")]
    parser: ET.XMLPullParser[ET.Element] = ET.XMLPullParser(events=("start", "end"))
    open_tags: list[str] = []
    try:
        parser.feed(text)
        for event in parser.read_events():
            kind, element = cast(tuple[str, Any], event)
            if kind == "start" and isinstance(element, ET.Element):
                open_tags.append(_local(element.tag))
            elif kind == "end":
                open_tags.pop()
    except ET.ParseError as exc:
        raise SysmonXmlError("bad XML", str(exc)) from exc
    return text + "".join(f"</{tag}>" for tag in reversed(open_tags)), True


def _system_fields(system: ET.Element) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for child in system:
        tag = _local(child.tag)
        if tag == "Provider":
            out["Provider"] = child.get("Name", "")
        elif tag == "TimeCreated":
            out["TimeCreated"] = _iso_z(child.get("SystemTime", ""))
        elif tag in ("EventID", "EventRecordID"):
            text = (child.text or "").strip()
            out[tag] = int(text) if text.isdigit() else text
        elif tag in ("Channel", "Computer", "Version", "Level", "Task", "Opcode", "Keywords"):
            out[tag] = (child.text or "").strip()
    return out


def _event_data(node: ET.Element) -> dict[str, Any]:
    """Named ``<Data>`` elements by name; unnamed ones (WEC-forwarded and classic events) as
    the ordered list ``Data``, empty elements kept so positions stay meaningful (C06)."""
    named: dict[str, Any] = {}
    unnamed: list[str] = []
    for data in node:
        if _local(data.tag) != "Data":
            continue
        name = data.get("Name")
        if name:
            named[name] = data.text or ""
        else:
            unnamed.append(data.text or "")
    if unnamed:
        named["Data"] = unnamed
    return named


def event_from_xml(text: str) -> dict[str, Any]:
    """One Sysmon ``<Event>`` as a flat dict; raise :class:`SysmonXmlError` if unusable.

    A message cut short keeps the fields completed before the cut and gets
    ``XmlTruncated: True`` (the last, unfinished ``Data`` value may be partial or absent).
    """
    _reject_dtd(text)
    text, truncated = _close_truncated(_repair_entities(text))
    try:
        root = ET.fromstring(text)  # noqa: S314 - DTDs rejected above
    except ET.ParseError as exc:
        raise SysmonXmlError("bad XML", str(exc)) from exc
    if _local(root.tag) != "Event":
        raise SysmonXmlError("bad XML", f"root element is {_local(root.tag)!r}, not Event")
    out: dict[str, Any] = {}
    for section in root:
        name = _local(section.tag)
        if name == "System":
            out.update(_system_fields(section))
        elif name == "EventData":
            # EventData after System, so a Data named like a System field cannot hide it.
            for key, value in _event_data(section).items():
                out.setdefault(key, value)
    if not isinstance(out.get("EventID"), int):
        raise SysmonXmlError("bad XML", "no numeric EventID")
    if truncated:
        out["XmlTruncated"] = True
    return out


def parse_sysmon_xml(text: str) -> dict[str, Any] | None:
    """A Sysmon for Linux ``<Event>`` as a ``KIND_WINDOWS`` flat dict, or None if unusable.

    The dict holds ``Channel``, ``EventID`` (int), ``Provider``, ``Computer``,
    ``TimeCreated`` (ISO, ``Z``), ``EventRecordID`` and every named ``EventData/Data``.
    """
    try:
        return event_from_xml(text)
    except SysmonXmlError as exc:
        log.debug("Sysmon XML not used: %s", exc)
        return None


def split_syslog_line(text: str) -> str | None:
    """The XML message of a syslog line written by program ``sysmon``, else None."""
    m = _LINE_3164.match(text) or _LINE_5424.match(text)
    return m["msg"].rstrip() if m else None


class SyslogSysmonReader:
    """Reader for syslog / journald text files holding Sysmon for Linux events."""

    name = FORMAT

    def sniff(self, head: bytes, name: str) -> bool:
        """True when an early line is a ``sysmon`` syslog line carrying ``<Event``."""
        return bool(_SNIFF.search(head.removeprefix(b"\xef\xbb\xbf")))

    def read(
        self, stream: BinaryIO, source: str, diag: Diagnostics, limits: Limits
    ) -> Iterator[Record]:
        for lineno, raw in iter_bounded_lines(stream, limits.max_line_bytes):
            locator = f"line {lineno}"
            if raw is None:
                diag.skip(source, locator, "line too long", f"over {limits.max_line_bytes} bytes")
                continue
            xml = split_syslog_line(raw.decode("utf-8", "replace").rstrip("\r\n"))
            if xml is None:
                continue
            try:
                data = event_from_xml(xml)
            except SysmonXmlError as exc:
                diag.skip(source, locator, exc.reason, exc.detail)
                continue
            diag.read(FORMAT)
            if data.get("XmlTruncated"):
                diag.skip(
                    source,
                    locator,
                    "Sysmon XML truncated (event kept)",
                    "fields after the cut are lost",
                )
            yield Record(kind=KIND_WINDOWS, data=data, source=source, locator=locator, fmt=FORMAT)


READER = SyslogSysmonReader()
