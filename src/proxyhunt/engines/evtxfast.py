"""EVTX files with the prefilter: records that cannot match are counted, not decoded.

evtx-rs renders each record as JSON text. Batches of those texts go through one Hyperscan
pass (:class:`~proxyhunt.engines.prefilter.RecordPrefilter`); a record no rule could match
is counted as one event without ``json`` decoding, flattening or normalising, which is most
of the cost of a record. Every other record takes exactly the EVTX reader's path (its guarded
parser and its record helper), so losses are reported the same way.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from proxyhunt.diagnostics import Diagnostics
from proxyhunt.engines.fdrfast import NORMALISE_ERRORS
from proxyhunt.sources import evtx as reader
from proxyhunt.sources.base import Limits
from proxyhunt.sources.evtx_guard import guarded_items

if TYPE_CHECKING:
    from proxyhunt.engines.prefilter import RecordPrefilter
    from proxyhunt.pipeline import Detector
    from proxyhunt.score import Hit

log = logging.getLogger("proxyhunt.engines")

BATCH = 256
# evtx-rs always renders a System block; a record without one goes the reader's way.
_SYSTEM = '"System":'


@dataclass
class RecordsOutcome:
    events: int = 0
    hits: list[Hit] = field(default_factory=list)


def scan_evtx(
    path: str,
    source: str,
    diag: Diagnostics,
    limits: Limits,
    prefilter: RecordPrefilter | None,
    detector: Detector,
) -> RecordsOutcome:
    """Hits of one EVTX file, in record order.

    Records come from the EVTX reader's own guarded parser (evtx-rs in a watchdog worker
    that also locates every lost chunk), so hangs are caught and losses reported as in a
    plain scan.
    """
    out = RecordsOutcome()
    items = guarded_items(path, source, diag, limits.evtx_stall_seconds, limits.evtx_worker_memory)
    count = 0
    try:
        for batch in _batches(items):
            count += len(batch)
            _scan_batch(batch, source, diag, limits, prefilter, detector, out)
    except Exception as exc:
        # As the registry does for any reader: a bug on one file costs that file's rest.
        log.debug("%s: evtx fast path failed", source, exc_info=True)
        diag.skip(source, f"after record {count}", "reader error", f"{type(exc).__name__}: {exc}")
    return out


def _batches(items: Iterator[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for item in items:
        batch.append(item)
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _scan_batch(
    batch: list[dict[str, Any]],
    source: str,
    diag: Diagnostics,
    limits: Limits,
    prefilter: RecordPrefilter | None,
    detector: Detector,
    out: RecordsOutcome,
) -> None:
    from proxyhunt.normalise import normalise

    texts = [item["data"] for item in batch]
    verdicts = prefilter.batch(texts) if prefilter is not None else [True] * len(texts)
    counted = 0
    for item, text, candidate in zip(batch, texts, verdicts, strict=True):
        if not candidate and _SYSTEM in text and len(text) <= limits.max_record_bytes:
            counted += 1
            continue
        # The reader's own steps: size limit, lenient decoding, flattening, locator.
        record = reader._record(item, source, diag, limits)
        if record is None:
            continue
        try:
            event = normalise(record)
        except NORMALISE_ERRORS as exc:
            diag.skip(source, record.locator, "cannot normalise", repr(exc))
            continue
        if event is None:
            continue
        out.events += 1
        hit = detector.hit(event)
        if hit is not None:
            out.hits.append(hit)
    if counted:
        diag.read(reader.FMT, counted)
        out.events += counted
