"""Value shapes every normaliser meets: timestamps, paths, process ids.

Sources disagree on how to write the same value (epoch milliseconds, FILETIME, ISO strings
with seven fractional digits, Sysmon's ``YYYY-MM-DD HH:MM:SS.mmm``, hex or decimal pids, paths
with doubled backslashes). These helpers turn each into the one shape ``Event`` promises.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

# FILETIME counts 100 ns ticks since 1601-01-01; this is the offset to the Unix epoch.
_FILETIME_EPOCH = datetime(1601, 1, 1, tzinfo=UTC)
_UNIX_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# Magnitudes that tell epoch units apart: seconds stay below 1e11 until the year 5138,
# milliseconds below 1e14, and FILETIME for any plausible date is above 1e17.
_MAX_SECONDS = 1e11
_MAX_MILLIS = 1e14
_MIN_FILETIME = 1e17

# ISO-8601 and Sysmon's "2019-05-23 17:46:04.651"; fractions up to 9 digits (Azure writes 7,
# Sysmon for Linux 9), optional zone.
_ISO = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d+))?\s*(Z|[+-]\d{2}:?\d{2})?$",
    re.IGNORECASE,
)

_BACKSLASH_RUN = re.compile(r"\\+")
_GROUPED = re.compile(r"\d{1,3}(?:,\d{3})+\Z")


def parse_time(value: Any) -> datetime | None:
    """Return ``value`` as an aware UTC datetime, or ``None`` if it is not a time we know.

    Accepts datetimes, epoch seconds / milliseconds / FILETIME as numbers or numeric strings,
    and ISO-like strings. A string without a zone is taken as UTC: callers pass local-time
    fields (NXLog ``EventTime``) only as a last resort, if at all.
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, int | float):
        return _from_number(float(value))
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text:
        return None
    if text[0].isdigit() and _is_number(text):
        return _from_number(float(text))
    return _from_iso(text)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _from_number(number: float) -> datetime | None:
    try:
        if number >= _MIN_FILETIME:
            return _FILETIME_EPOCH + timedelta(microseconds=number / 10)
        if number >= _MAX_MILLIS:
            return None  # between ms and FILETIME: no format we know writes this
        if number >= _MAX_SECONDS:
            return _UNIX_EPOCH + timedelta(milliseconds=number)
        return _UNIX_EPOCH + timedelta(seconds=number)
    except OverflowError:
        return None


def _from_iso(text: str) -> datetime | None:
    match = _ISO.match(text)
    if not match:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    micros = int((fraction or "0")[:6].ljust(6, "0"))
    try:
        stamp = datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second), micros, UTC
        )
    except ValueError:
        return None
    if zone and zone.upper() != "Z":
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        stamp -= sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    return stamp


def first_time(data: dict[str, Any], *keys: str) -> datetime | None:
    """The first of ``keys`` in ``data`` that parses as a time."""
    for key in keys:
        stamp = parse_time(data.get(key))
        if stamp is not None:
            return stamp
    return None


def text(value: Any) -> str | None:
    """A field value as the string ``Event.fields`` holds (``None`` stays ``None``)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        # A key repeated in a JSON export keeps all its values (sources.jsonlog): one per
        # line, so every value can match and none is glued to the next.
        return "\n".join(t for t in map(text, value) if t is not None)
    return str(value)


def pid(value: Any) -> str | None:
    """A process id as a decimal string; Security 4688 writes ``0x1048``."""
    value = text(value)
    if value and value[:2].lower() == "0x":
        try:
            return str(int(value, 16))
        except ValueError:
            return value
    if value and _GROUPED.match(value):
        # Spreadsheet exports group digits: "6,108" is process 6108.
        return value.replace(",", "")
    return value


def undouble_backslashes(value: str | None) -> str | None:
    """Undo Logstash's doubling of every backslash (``C:\\\\Windows`` -> ``C:\\Windows``).

    Only when *every* run of backslashes has even length: a genuine UNC path in a command
    line (``\\\\host\\share``: runs of 2 and 1) is left alone.
    """
    if not value or "\\\\" not in value:
        return value
    runs = _BACKSLASH_RUN.findall(value)
    if any(len(run) % 2 for run in runs):
        return value
    return _BACKSLASH_RUN.sub(lambda m: "\\" * (len(m.group()) // 2), value)


def basename(path: str | None) -> str | None:
    """The last component of a Windows or POSIX path."""
    if not path:
        return path
    cut = max(path.rfind("\\"), path.rfind("/"))
    return path[cut + 1 :] if cut >= 0 else path


def iso_z(stamp: datetime | None) -> str | None:
    """An aware datetime as ``2024-03-01T10:00:00Z`` (microseconds only when present)."""
    if stamp is None:
        return None
    return stamp.astimezone(UTC).isoformat().replace("+00:00", "Z")
