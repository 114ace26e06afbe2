"""Allowlists: YAML entries that suppress hits a team has reviewed and accepted.

An allowlist file is a list of entries (or a mapping with an ``entries`` list). Each entry names
why it exists (``reason``, required), optionally until when (``expires``, a date; the entry is
valid through that day), and one or more conditions, all of which must hold for a hit to be
suppressed:

``host``, ``user``, ``image``, ``parent``
    glob patterns (``*``, ``?``), case-insensitive, or a list of them (any may match). ``image``
    and ``parent`` compare against the base name when the pattern has no path separator, and
    ``user`` against the name without its domain when the pattern has no backslash.
``command_line``
    an RE2 regular expression searched in the command line (add ``(?i)`` to ignore case).
``detection_type``
    the hit's detection type (``NetshPortProxy``, ``SSHTunneling`` ...), exact.

Suppressed hits are not dropped silently: the pipeline counts them and ``--show-suppressed``
lists them with the entry that matched.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import re2
import yaml

from proxyhunt.errors import UsageError
from proxyhunt.score import Hit

log = logging.getLogger("proxyhunt.tuning")

GLOB_FIELDS = ("host", "user", "image", "parent")
MATCH_FIELDS = (*GLOB_FIELDS, "command_line", "detection_type")
KNOWN_KEYS = frozenset((*MATCH_FIELDS, "reason", "expires", "id"))

Pattern = Callable[[str], bool]


class AllowlistError(UsageError):
    """An allowlist file cannot be used; the message names the file and the entry."""


@dataclass
class AllowEntry:
    """One allowlist entry: why, until when, and the conditions a hit must meet."""

    source: str  # file name, for messages
    index: int  # 1-based position in the file
    line: int  # 1-based line where the entry starts
    reason: str
    expires: date | None
    conditions: dict[str, tuple[str, ...]]
    _tests: dict[str, list[Pattern]] = field(default_factory=dict, repr=False)
    _warned: bool = field(default=False, repr=False)

    def __str__(self) -> str:
        return f"{self.source} entry {self.index} (line {self.line}): {self.reason}"

    def expired(self, today: date) -> bool:
        return self.expires is not None and today > self.expires

    def matches(self, hit: Hit) -> bool:
        """True when every condition of the entry holds for ``hit`` (expiry not considered)."""
        return all(
            any(test(value) for test in tests for value in _hit_values(hit, name))
            for name, tests in self._tests.items()
        )

    def warn_expired(self) -> None:
        """Log once that this entry has expired and no longer suppresses anything."""
        if not self._warned:
            self._warned = True
            log.warning(
                "%s expired on %s and no longer suppresses anything; renew or remove it",
                self,
                self.expires,
            )


@dataclass
class Allowlist:
    entries: list[AllowEntry]
    today: date = field(default_factory=date.today)

    def match(self, hit: Hit) -> AllowEntry | None:
        """The first valid entry that suppresses ``hit``, or None. Expired entries never do."""
        for entry in self.entries:
            if entry.expired(self.today):
                continue
            if entry.matches(hit):
                return entry
        return None

    def __len__(self) -> int:
        return len(self.entries)


def load_allowlist(path: str | Path, today: date | None = None) -> Allowlist:
    """Read and check an allowlist file; raise AllowlistError naming the file and entry."""
    where = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as err:
        raise AllowlistError(f"allowlist {where}: cannot read: {err.strerror}") from None
    except UnicodeDecodeError:
        raise AllowlistError(f"allowlist {where}: not UTF-8 text") from None
    return parse_allowlist(text, where, today)


def parse_allowlist(text: str, where: str, today: date | None = None) -> Allowlist:
    """Parse allowlist YAML ``text``; ``where`` names it in messages."""
    items, lines = _entries(text, where)
    allowlist = Allowlist(
        [_entry(item, where, i, lines[i - 1]) for i, item in enumerate(items, 1)],
        today or date.today(),
    )
    for entry in allowlist.entries:
        if entry.expired(allowlist.today):
            entry.warn_expired()
    log.info("allowlist %s: %d entries", where, len(allowlist))
    return allowlist


def _entries(text: str, where: str) -> tuple[list[Any], list[int]]:
    """The entry list and the line each entry starts on."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.load(text, Loader=yaml.SafeLoader)  # noqa: S506 - SafeLoader is safe
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        at = f" line {mark.line + 1}" if mark is not None else ""
        raise AllowlistError(f"allowlist {where}:{at} invalid YAML") from None
    except ValueError as err:
        # YAML turns 2027-13-45 into a date and fails: say so instead of crashing.
        raise AllowlistError(f"allowlist {where}: invalid value: {err}") from None
    if data is None:
        return [], []
    if isinstance(data, dict) and isinstance(node, yaml.MappingNode):
        if set(data) - {"entries"}:
            extra = ", ".join(sorted(map(str, set(data) - {"entries"})))
            raise AllowlistError(f"allowlist {where}: unknown top-level keys: {extra}")
        data = data.get("entries") or []
        node = next((v for k, v in node.value if k.value == "entries"), None)
    if not isinstance(data, list) or not isinstance(node, yaml.SequenceNode):
        raise AllowlistError(f"allowlist {where}: expected a list of entries")
    return data, [child.start_mark.line + 1 for child in node.value]


def _entry(item: Any, where: str, index: int, line: int) -> AllowEntry:
    def fail(problem: str) -> AllowlistError:
        return AllowlistError(f"allowlist {where}: entry {index} (line {line}): {problem}")

    if not isinstance(item, dict):
        raise fail("expected a mapping with reason and at least one condition")
    unknown = sorted(str(k) for k in set(item) - KNOWN_KEYS)
    if unknown:
        known = ", ".join(sorted(KNOWN_KEYS))
        raise fail(f"unknown key(s) {', '.join(unknown)}; known keys: {known}")
    reason = item.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        raise fail("'reason' is required: say why this activity is accepted")

    conditions = {name: _strings(item[name], name, fail) for name in MATCH_FIELDS if name in item}
    if not conditions:
        # An entry without conditions would suppress every hit.
        raise fail(f"needs at least one of {', '.join(MATCH_FIELDS)}")
    entry = AllowEntry(
        where, index, line, reason.strip(), _expiry(item.get("expires"), fail), conditions
    )
    entry._tests = {
        name: [_compile(name, p, fail) for p in pats] for name, pats in conditions.items()
    }
    return entry


def _strings(value: Any, name: str, fail: Callable[[str], AllowlistError]) -> tuple[str, ...]:
    values = value if isinstance(value, list) else [value]
    if not values or not all(isinstance(v, str) and v for v in values):
        raise fail(f"'{name}' must be a non-empty string or a list of them")
    return tuple(values)


def _expiry(value: Any, fail: Callable[[str], AllowlistError]) -> date | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise fail(f"'expires' must be a date like 2027-01-31, not {value!r}")


def _quiet_options() -> re2.Options:
    # RE2 logs its own errors to stderr from C++; ours already say what is wrong, once.
    options = re2.Options()
    options.log_errors = False
    return options


_QUIET = _quiet_options()


def _compile(name: str, pattern: str, fail: Callable[[str], AllowlistError]) -> Pattern:
    if name == "detection_type":
        return lambda value: value == pattern
    if name == "command_line":
        try:
            regex = re2.compile(pattern, _QUIET)
        except re2.error as err:
            detail = err.args[0] if err.args else err
            if isinstance(detail, bytes):
                detail = detail.decode("utf-8", "replace")
            raise fail(
                f"command_line {pattern!r} is not a valid RE2 expression: {detail}"
            ) from None
        return lambda value: regex.search(value) is not None
    return _glob(name, pattern)


def _glob(name: str, pattern: str) -> Pattern:
    """A case-insensitive whole-value glob; path and domain parts are dropped when the
    pattern has none, so ``image: plink.exe`` matches ``C:\\Tools\\plink.exe``."""
    body = "".join(".*" if ch == "*" else "." if ch == "?" else re2.escape(ch) for ch in pattern)
    regex = re2.compile(f"(?is)^{body}$", _QUIET)
    strip = _base_name if name in ("image", "parent") else _user_name if name == "user" else None
    keep_full = strip is None or any(sep in pattern for sep in ("\\", "/"))

    def test(value: str) -> bool:
        candidate = value if keep_full or strip is None else strip(value)
        return regex.search(candidate) is not None

    return test


def _base_name(path: str) -> str:
    return path.replace("/", "\\").rsplit("\\", 1)[-1]


def _user_name(user: str) -> str:
    return user.rsplit("\\", 1)[-1]


def _hit_values(hit: Hit, name: str) -> Sequence[str]:
    """The event values an allowlist condition is compared with, by condition name."""
    fields, columns = hit.event.fields, hit.event.columns
    if name == "detection_type":
        return [hit.detection_type]
    keys: dict[str, tuple[tuple[dict[str, Any], str], ...]] = {
        "host": ((columns, "ComputerName"), (fields, "Computer")),
        "user": ((columns, "UserName"), (fields, "User")),
        "image": ((fields, "Image"), (columns, "ImageFileName")),
        "parent": ((fields, "ParentImage"), (columns, "ParentBaseFileName")),
        "command_line": ((fields, "CommandLine"),),
    }
    values = [source.get(key) for source, key in keys[name]]
    return [v for v in values if isinstance(v, str) and v]
