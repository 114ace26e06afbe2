"""Windows events saved as XML (Event Viewer, wevtutil): sniffed, cut per event, parsed safely."""

from __future__ import annotations

from pathlib import Path

from proxyhunt.diagnostics import Diagnostics
from proxyhunt.sources.base import Limits
from proxyhunt.sources.registry import iter_records
from tests.conftest import FIXTURES

XML = FIXTURES / "eventxml"
NETSH = (
    "netsh interface portproxy add v4tov4 listenport=8080 listenaddress=0.0.0.0 "
    "connectport=80 connectaddress=10.0.0.5"
)


def _read(*paths: Path, limits: Limits | None = None) -> tuple[list, Diagnostics]:
    diag = Diagnostics()
    records = list(iter_records([str(p) for p in paths], diag, limits or Limits()))
    return records, diag


def test_event_viewer_utf16_export_with_events_root() -> None:
    records, diag = _read(XML / "security_4688_viewer.xml")

    assert [r.data["EventRecordID"] for r in records] == [101, 102]
    assert records[1].data["CommandLine"] == NETSH
    assert records[1].data["Channel"] == "Security"
    assert records[1].fmt == "event-xml"
    assert diag.skipped == 0


def test_wevtutil_export_without_root_element() -> None:
    records, diag = _read(XML / "security_4688_wevtutil.xml")

    assert [r.data["EventID"] for r in records] == [4688, 4688]
    assert records[0].data["NewProcessName"] == "C:\\Windows\\System32\\netsh.exe"
    assert records[0].data["TimeCreated"].startswith("2024-03-01T10:00:00")
    assert diag.skipped == 0


def _events(tmp_path: Path, middle: str) -> Path:
    good = (XML / "security_4688_wevtutil.xml").read_text()
    first, second = good.split("</Event>", 1)
    path = tmp_path / "mixed.xml"
    path.write_text(first + "</Event>" + middle + second)
    return path


def test_broken_event_in_the_middle_costs_only_itself(tmp_path: Path) -> None:
    path = _events(tmp_path, "<Event><System><EventID>1</Event>")

    records, diag = _read(path)

    assert len(records) == 2
    assert diag.skipped == 1
    assert "mixed.xml: event 2" in diag.warnings[0]


def test_entity_declarations_are_refused_not_expanded(tmp_path: Path) -> None:
    bomb = (
        '<Event><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
        "<System><EventID>1</EventID></System><EventData><Data Name='CommandLine'>&b;</Data>"
        "</EventData></Event>"
    )
    path = _events(tmp_path, bomb)

    records, diag = _read(path)

    assert len(records) == 2
    assert diag.skipped_by_reason["unsafe XML"] == 1


def test_an_event_larger_than_the_record_limit_is_skipped_and_reading_goes_on(
    tmp_path: Path,
) -> None:
    huge = "<Event><System><EventID>1</EventID></System><EventData><Data Name='x'>"
    path = _events(tmp_path, huge + "A" * 50_000)

    records, diag = _read(path, limits=Limits(max_record_bytes=10_000))

    assert [r.data["EventRecordID"] for r in records] == [201, 202]
    assert diag.skipped_by_reason["event too large"] == 1


def test_an_unterminated_event_longer_than_a_read_chunk_is_dropped_in_bounded_memory(
    tmp_path: Path,
) -> None:
    huge = "<Event><System><EventID>1</EventID></System><EventData><Data Name='x'>"
    path = _events(tmp_path, huge + "B" * 3_000_000)

    records, diag = _read(path, limits=Limits(max_record_bytes=100_000))

    assert [r.data["EventRecordID"] for r in records] == [201, 202]
    assert diag.skipped_by_reason["event too large"] == 1
