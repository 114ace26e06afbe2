"""CrowdStrike Falcon Data Replicator: one JSON event per line, every value a string.

S3 batches arrive gzip'd; the registry unwraps them. A bad line is a counted skip with its
line number, and an over-long line is read through in bounded pieces, never held whole.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import BinaryIO

from proxyhunt.diagnostics import Diagnostics
from proxyhunt.model import KIND_FALCON, Record
from proxyhunt.sources.base import Limits
from proxyhunt.sources.jsonlog import iter_lines, loads, parse_line, split_reason

log = logging.getLogger(__name__)

FMT = "fdr-ndjson"
# How many lines of the head sniffing looks at before giving up.
_SNIFF_LINES = 5
_FALCON_KEYS = re.compile(
    rb'"event_simpleName"\s*:.*"(?:aid|timestamp)"\s*:|'
    rb'"(?:aid|timestamp)"\s*:.*"event_simpleName"\s*:'
)


class FdrReader:
    """Falcon Data Replicator NDJSON."""

    name = FMT

    def sniff(self, head: bytes, name: str) -> bool:
        if b"event_simpleName" not in head:
            return False
        lines = [line for line in head.splitlines() if line.strip()][:_SNIFF_LINES]
        for line in lines:
            try:
                value = loads(line)
            except ValueError:
                continue  # the head may cut the last line short
            return isinstance(value, dict) and _is_falcon(value)
        # A first line longer than the head cannot be parsed: judge it by its keys.
        first = lines[0] if lines else b""
        return first.lstrip().startswith(b"{") and bool(_FALCON_KEYS.search(first))

    def read(
        self, stream: BinaryIO, source: str, diag: Diagnostics, limits: Limits
    ) -> Iterator[Record]:
        for number, line in iter_lines(stream, limits):
            locator = f"line {number}"
            if line is None:
                diag.skip(source, locator, "line too long", f"over {limits.max_line_bytes}")
                continue
            if not line.strip():
                continue
            value, problem = parse_line(line, limits)
            if problem:
                diag.skip(source, locator, *split_reason(problem))
                continue
            if not isinstance(value, dict):
                diag.skip(source, locator, "not a JSON object")
                continue
            diag.read(FMT)
            yield Record(kind=KIND_FALCON, data=value, source=source, locator=locator, fmt=FMT)


def _is_falcon(value: dict[str, object]) -> bool:
    return "event_simpleName" in value and ("aid" in value or "timestamp" in value)


READER = FdrReader()
