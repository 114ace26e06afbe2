"""Falcon FDR NDJSON in big blocks: only the lines the prefilter picks are decoded.

A block is a run of whole lines (at most ``max_line_bytes + 1`` bytes, so no line in it can
be over the limit). The prefilter names the lines that could match a rule or that the
reader must judge itself (blank, cut or odd lines); each of those goes through the FDR
reader's own steps (``parse_line``, the same skip reasons, the Falcon normaliser, the
engine). Every other line is counted as one event, as the reader would count it.

Line numbers are relative to the start of the byte range a worker was given; the parent adds
the lines of the ranges before it (see :mod:`proxyhunt.engines.local`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, BinaryIO

from proxyhunt.model import KIND_FALCON, Record
from proxyhunt.sources.base import Limits
from proxyhunt.sources.fdr import FMT
from proxyhunt.sources.jsonlog import parse_line, split_reason

if TYPE_CHECKING:
    from proxyhunt.engines.prefilter import LinePrefilter
    from proxyhunt.pipeline import Detector
    from proxyhunt.score import Hit

log = logging.getLogger("proxyhunt.engines")

# Errors a normaliser raises on shapes no exporter produces (as in pipeline.iter_events).
NORMALISE_ERRORS = (KeyError, ValueError, TypeError, AttributeError, OverflowError)


def judge(record: Record, detector: Detector) -> tuple[bool, Hit | None]:
    """Normalise and match one record: (it is an event, its hit). Raises NORMALISE_ERRORS."""
    from proxyhunt.normalise import normalise

    event = normalise(record)
    if event is None:
        return False, None
    return True, detector.hit(event)


_READ = 1024 * 1024


@dataclass
class LinesOutcome:
    """What a run of lines gave: hits and skips keyed by line number (relative)."""

    lines: int = 0
    events: int = 0
    records: int = 0  # decoded or counted FDR records (the reader's diag.read count)
    bytes: int = 0
    hits: list[tuple[int, Hit]] = field(default_factory=list)
    skips: list[tuple[int, str, str]] = field(default_factory=list)  # line, reason, detail


def blocks(stream: BinaryIO, limits: Limits, out: LinesOutcome) -> Iterator[bytes]:
    """Blocks of whole lines from ``stream``; over-long lines are skipped and drained.

    The last block may end without a newline (end of input). ``out.lines`` counts lines as
    they are handed out so skipped lines keep the numbering right.
    """
    limit = limits.max_line_bytes
    carry = b""
    while True:
        data = stream.read(limit + 1 - len(carry))
        if not data:
            if carry:
                out.bytes += len(carry)
                yield carry
            return
        # One copy per block: the carried partial line joined to the new data up to its last
        # newline (a 4 MiB block is not worth copying twice).
        cut = data.rfind(b"\n") + 1
        if cut:
            block = b"".join((carry, memoryview(data)[:cut])) if carry else data[:cut]
            out.bytes += len(block)
            yield block
            carry = data[cut:]
        else:
            carry += data
        if len(carry) > limit:
            # No newline within limit + 1 bytes: the reader's "line too long".
            out.bytes += len(carry) + _drain(stream)
            out.lines += 1
            out.skips.append((out.lines, "line too long", f"over {limit}"))
            carry = b""


def _drain(stream: BinaryIO) -> int:
    """Read up to and including the next newline; the number of bytes read."""
    total = 0
    while True:
        piece = stream.readline(_READ)
        total += len(piece)
        if not piece or piece.endswith(b"\n"):
            return total


def scan_block(
    block: bytes,
    prefilter: LinePrefilter | None,
    detector: Detector,
    source: str,
    limits: Limits,
    out: LinesOutcome,
) -> None:
    """Count the lines of ``block``, decode the candidates, collect hits and skips."""
    base = out.lines
    starts = _all_starts(block) if prefilter is None else prefilter.candidates(block)
    decoded = 0
    # Line numbers by counting newlines between consecutive candidates: one pass in all.
    position, number = 0, base + 1
    for start in starts:
        number += block.count(b"\n", position, start)
        position = start
        end = block.find(b"\n", start)
        line = block[start:] if end < 0 else block[start : end + 1]
        decoded += 1
        if not line.strip():
            continue
        value, problem = parse_line(line, limits)
        if problem:
            reason, detail = split_reason(problem)
            out.skips.append((number, reason, detail))
            continue
        if not isinstance(value, dict):
            out.skips.append((number, "not a JSON object", ""))
            continue
        out.records += 1
        record = Record(KIND_FALCON, value, source, f"line {number}", FMT)
        try:
            counted, hit = judge(record, detector)
        except NORMALISE_ERRORS as exc:
            out.skips.append((number, "cannot normalise", repr(exc)))
            continue
        out.events += counted
        if hit is not None:
            out.hits.append((number, hit))
    lines = number - base - 1 + block.count(b"\n", position)
    lines += 0 if block.endswith(b"\n") else 1
    out.lines = base + lines
    # Lines never decoded are plain flat objects of strings: one record and one event each.
    skipped = lines - decoded
    out.records += skipped
    out.events += skipped


def _all_starts(block: bytes) -> list[int]:
    starts = [0]
    find = block.find
    position = find(b"\n")
    size = len(block)
    while 0 <= position < size - 1:
        starts.append(position + 1)
        position = find(b"\n", position + 1)
    return starts
