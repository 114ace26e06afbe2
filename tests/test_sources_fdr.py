"""Falcon Data Replicator NDJSON: sniffing, bad lines, long lines."""

from __future__ import annotations

import json
from pathlib import Path

from proxyhunt.diagnostics import Diagnostics
from proxyhunt.model import KIND_FALCON
from proxyhunt.sources.base import Limits
from proxyhunt.sources.fdr import READER
from proxyhunt.sources.registry import iter_records

FIXTURES = Path(__file__).parent / "fixtures"
NETWORK = FIXTURES / "falcon_network.ndjson"


def test_sniff_needs_event_simple_name_and_aid_or_timestamp() -> None:
    assert READER.sniff(NETWORK.read_bytes()[:300], "x")  # cut mid-line: the first line decides
    assert not READER.sniff(b'{"event_simpleName": "X"}\n', "x")
    assert not READER.sniff(b'{"EventID": 1, "Channel": "Security"}\n', "x")


def test_fixture_lines_are_falcon_records_with_line_locators() -> None:
    diag = Diagnostics()
    records = list(iter_records([str(NETWORK)], diag))
    assert [r.locator for r in records] == [f"line {n}" for n in range(1, 6)]
    assert {r.kind for r in records} == {KIND_FALCON}
    assert {r.fmt for r in records} == {"fdr-ndjson"}
    assert diag.events_by_format == {"fdr-ndjson": 5}


def test_invalid_json_line_is_one_located_skip(tmp_path: Path) -> None:
    lines = NETWORK.read_text().splitlines()
    lines.insert(2, '{"event_simpleName": "NetworkConnectIP4", "aid": ')
    path = tmp_path / "fdr.json"
    path.write_text("\n".join(lines) + "\n")
    diag = Diagnostics()
    records = list(iter_records([str(path)], diag))
    assert len(records) == 5
    assert diag.skipped_by_reason == {"invalid JSON": 1}
    assert diag.warnings[0].startswith(f"{path}: line 3: skipped (invalid JSON)")


def test_over_long_line_is_skipped_without_reading_it_whole(tmp_path: Path) -> None:
    long_event = {"event_simpleName": "X", "aid": "a", "CommandLine": "A" * 5000}
    path = tmp_path / "fdr.json"
    path.write_text(NETWORK.read_text() + json.dumps(long_event) + "\n" + NETWORK.read_text())
    diag = Diagnostics()
    records = list(iter_records([str(path)], diag, Limits(max_line_bytes=1000)))
    assert len(records) == 10
    assert diag.skipped_by_reason == {"line too long": 1}
    assert "line 6" in diag.warnings[0]
