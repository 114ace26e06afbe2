"""Screen rendered Windows records with one Hyperscan pass: which ones could match a rule.

The rule-derived formula and its patterns come from :func:`proxyhunt.engines.prefilter.
plan_windows`; this module holds only what runs per record, without pySigma, so the EVTX
parser's worker process (:mod:`proxyhunt.sources.evtx_guard`) can screen records where they
are parsed and send the parent only the few that could match. A :class:`ScreenSpec` is plain
data (it crosses a pipe as JSON); a :class:`RecordScreen` is its compiled form.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from itertools import accumulate
from pathlib import Path
from typing import Any

log = logging.getLogger("proxyhunt.engines")

# A formula: True ("maybe"), a pattern index, or ("and"|"or", children).
Formula = bool | int | tuple[str, tuple["Formula", ...]]

# evtx-rs always renders a System block; a record without one must reach the reader,
# which reports it ("not an event record").
_SYSTEM = '"System":'


def evaluate(formula: Any, found: set[int]) -> bool:
    """Whether the patterns ``found`` in a text satisfy ``formula``.

    ``formula`` may also be the JSON form of one (lists where the tuples were).
    """
    if formula is True or formula is False:
        return bool(formula)
    if isinstance(formula, int):
        return formula in found
    op, children = formula
    if op == "and":
        return all(evaluate(c, found) for c in children)
    return any(evaluate(c, found) for c in children)


def rule_flags() -> int:
    """Flags of rule patterns: case-insensitive, and Hyperscan's prefilter mode, in which it
    may report more matches than the pattern has (never fewer) in exchange for speed:
    exactly the contract a prefilter needs."""
    import hyperscan

    return int(hyperscan.HS_FLAG_CASELESS | hyperscan.HS_FLAG_PREFILTER)


@dataclass(frozen=True)
class ScreenSpec:
    """What a record screen needs, as plain data: patterns, formula, record size limit."""

    expressions: tuple[str, ...]
    formula: Any  # a Formula, or its JSON form
    max_record_bytes: int

    @cached_property
    def key(self) -> str:
        """Identifies the spec, so a long-lived worker compiles each one once."""
        return hashlib.sha256(self.to_json().encode()).hexdigest()[:32]

    def to_json(self) -> str:
        document = {
            "expressions": list(self.expressions),
            "formula": self.formula,
            "max_record_bytes": self.max_record_bytes,
        }
        return json.dumps(document, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> ScreenSpec:
        document = json.loads(text)
        return cls(
            tuple(document["expressions"]), document["formula"], document["max_record_bytes"]
        )


class RecordScreen:
    """Verdicts for batches of records rendered as JSON (UTF-8 bytes), one scan a batch."""

    def __init__(self, spec: ScreenSpec) -> None:
        self.spec = spec
        self._formula = spec.formula
        self._db: Any = None
        if spec.expressions and spec.formula is not True and spec.formula is not False:
            self._db = compile_database(spec.expressions, [rule_flags()] * len(spec.expressions))
        self._verdicts: dict[frozenset[int], bool] = {}

    def screen(self, texts: Sequence[str]) -> tuple[Callable[[int], bytes], list[bool]]:
        """The records as UTF-8 and, for each, whether the reader must see it: a rule could
        match it, or only the reader's own checks (size limit, event shape) can say what
        it is."""
        joined = "\n".join(texts)
        if joined.isascii():
            # One encode for the batch; records are cut out of it only when they are sent.
            data = joined.encode()
            starts = list(accumulate((len(t) + 1 for t in texts), initial=0))
        else:
            data = b"\n".join(t.encode("utf-8", "surrogatepass") for t in texts)
            starts = [0]
            for text in texts:
                starts.append(starts[-1] + len(text.encode("utf-8", "surrogatepass")) + 1)
        verdicts = self._scan(data, starts, len(texts))
        limit = self.spec.max_record_bytes
        for index, text in enumerate(texts):
            if _SYSTEM not in text or len(text) > limit:
                verdicts[index] = True

        def payload(index: int) -> bytes:
            return data[starts[index] : starts[index + 1] - 1]

        return payload, verdicts

    def _scan(self, data: bytes, starts: list[int], count: int) -> list[bool]:
        if self._db is None:
            return [bool(self._formula)] * count
        found: dict[int, set[int]] = {}

        def on_match(pattern: int, _start: int, end: int, _flags: int, _ctx: object) -> None:
            record = bisect_right(starts, end - 1) - 1
            hits = found.get(record)
            if hits is None:
                found[record] = {pattern}
            else:
                hits.add(pattern)

        self._db.scan(data, match_event_handler=on_match)
        verdicts = [False] * count
        for record, hits in found.items():
            verdicts[record] = self._verdict(hits)
        return verdicts

    def _verdict(self, hits: set[int]) -> bool:
        key = frozenset(hits)
        verdict = self._verdicts.get(key)
        if verdict is None:
            verdict = evaluate(self._formula, hits)
            if len(self._verdicts) < 65536:
                self._verdicts[key] = verdict
        return verdict


_COMPILED: dict[str, RecordScreen] = {}


def compiled(spec: ScreenSpec) -> RecordScreen:
    """The compiled screen for ``spec``, built once per process."""
    screen = _COMPILED.get(spec.key)
    if screen is None:
        screen = _COMPILED[spec.key] = RecordScreen(spec)
    return screen


# -- compiled pattern databases ----------------------------------------------------------------


def compile_database(expressions: Sequence[str], flags: Sequence[int]) -> Any:
    """A Hyperscan block-mode database, loaded from the cache when compiled before.

    Compiling the pack's patterns takes about a second; the serialised database loads in
    milliseconds. The cache key covers the Hyperscan version, the patterns and their flags.
    """
    import hyperscan

    key = hashlib.sha256(
        repr((getattr(hyperscan, "__version__", "?"), list(expressions), list(flags))).encode()
    ).hexdigest()[:32]
    path = _cache_dir() / f"hs-{key}.db"
    try:
        db = hyperscan.loadb(path.read_bytes(), hyperscan.HS_MODE_BLOCK)
        db.scratch = hyperscan.Scratch(db)
        return db
    except (OSError, hyperscan.error):
        pass
    db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    db.compile(
        expressions=[e.encode() for e in expressions],
        ids=list(range(len(expressions))),
        elements=len(expressions),
        flags=list(flags),
    )
    _store(path, hyperscan.dumpb(db))
    return db


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "proxyhunt"


def _store(path: Path, data: bytes) -> None:
    # A cache that cannot be written (read-only home, full disk) only costs compile time.
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.partial")
        partial.write_bytes(data)
        partial.replace(path)
    except OSError as exc:
        log.debug("cannot cache a compiled pattern database in %s: %s", path, exc)
