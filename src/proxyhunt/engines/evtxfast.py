"""EVTX files with the record screen: records that cannot match are counted, not decoded.

evtx-rs renders each record as JSON text in the parser's worker process, which screens the
texts in batches with one Hyperscan pass (:mod:`proxyhunt.engines.screen`) and sends back
only the records some rule could match; the others arrive as counts of consecutive records.
So the JSON decoding, flattening and normalising that make up most of a record's cost, and
the pipe between the processes, are spent on a handful of records. Every record that is sent
takes exactly the EVTX reader's path (its record helper, the normaliser), and the guarded
parser accounts for every chunk, so losses are reported as in a plain scan.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from proxyhunt.diagnostics import Diagnostics
from proxyhunt.engines.fdrfast import NORMALISE_ERRORS, judge
from proxyhunt.sources import evtx as reader
from proxyhunt.sources.base import Limits
from proxyhunt.sources.evtx_guard import guarded_items, screened_items

if TYPE_CHECKING:
    from proxyhunt.engines.screen import ScreenSpec
    from proxyhunt.pipeline import Detector
    from proxyhunt.score import Hit

log = logging.getLogger("proxyhunt.engines")


@dataclass
class RecordsOutcome:
    events: int = 0
    hits: list[Hit] = field(default_factory=list)


def scan_evtx(
    path: str,
    source: str,
    diag: Diagnostics,
    limits: Limits,
    screen: ScreenSpec | None,
    detector: Detector,
) -> RecordsOutcome:
    """Hits of one EVTX file, in record order (``screen`` None: every record decoded)."""
    out = RecordsOutcome()
    stall, memory = limits.evtx_stall_seconds, limits.evtx_worker_memory
    items: Iterator[dict[str, Any] | int]
    if screen is None:
        items = guarded_items(path, source, diag, stall, memory)
    else:
        items = screened_items(path, source, diag, stall, memory, screen)
    screened = 0
    try:
        for item in items:
            if isinstance(item, int):
                screened += item
                continue
            # The reader's own steps: size limit, lenient decoding, flattening, locator.
            record = reader._record(item, source, diag, limits)
            if record is None:
                continue
            try:
                counted, hit = judge(record, detector)
            except NORMALISE_ERRORS as exc:
                diag.skip(source, record.locator, "cannot normalise", repr(exc))
                continue
            out.events += counted
            if hit is not None:
                out.hits.append(hit)
    except Exception as exc:
        # As the registry does for any reader: a bug on one file costs that file's rest.
        log.debug("%s: evtx fast path failed", source, exc_info=True)
        where = f"after {out.events + screened} events"
        diag.skip(source, where, "reader error", f"{type(exc).__name__}: {exc}")
    if screened:
        # Screened records are whole event records, each one event, as the reader counts.
        diag.read(reader.FMT, screened)
        out.events += screened
    return out
