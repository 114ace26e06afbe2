"""EVTX: flattening, and tolerance of corrupt chunks in real files."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from proxyhunt.diagnostics import Diagnostics
from proxyhunt.sources.evtx import flatten
from proxyhunt.sources.registry import iter_records

CORPUS = Path(__file__).parents[1].parent / "shared" / "corpus"
NETSH = CORPUS / "EVTX-ATTACK-SAMPLES/Defense Evasion/de_portforward_netsh_rdp_sysmon_13_1.evtx"
SYSMON = CORPUS / "omerbenamram-evtx/samples/sysmon.evtx"
RDP_1149 = (
    CORPUS / "EVTX-ATTACK-SAMPLES/Command and Control/"
    "DE_RDP_Tunneling_TerminalServices-RemoteConnectionManagerOperational_1149.evtx"
)


def _need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"corpus file not available: {path} (../shared/corpus is not staged)")
    return path


@pytest.mark.corpus
def test_netsh_portproxy_records_are_flattened() -> None:
    diag = Diagnostics()
    records = list(iter_records([str(_need(NETSH))], diag))
    assert [r.locator for r in records] == ["record 1025", "record 1026", "record 1027"]
    netsh = records[1].data
    assert netsh["Channel"] == "Microsoft-Windows-Sysmon/Operational"
    assert netsh["EventID"] == 1
    assert netsh["Provider"] == "Microsoft-Windows-Sysmon"
    assert netsh["Computer"] == "IEWIN7"
    assert netsh["TimeCreated"] == "2019-05-23T17:46:04.671625Z"
    assert netsh["EventRecordID"] == 1026
    assert netsh["Image"] == "C:\\Windows\\System32\\netsh.exe"
    assert diag.events_by_format == {"evtx": 3}
    assert diag.skipped == 0


@pytest.mark.corpus
def test_sysmon_sample_reads_every_readable_record_and_locates_corrupt_chunks() -> None:
    diag = Diagnostics()
    records = list(iter_records([str(_need(SYSMON))], diag))
    assert len(records) == 358
    assert diag.events_by_format == {"evtx": 358}
    assert diag.skipped_by_reason == {"corrupt chunk": 8}
    assert str(SYSMON) in diag.files_partial
    # Each bad chunk once, with its number and file offset.
    assert diag.warnings[0].startswith(f"{SYSMON}: chunk 9 @0x91000: skipped (corrupt chunk)")
    assert len(diag.warnings) == 8
    assert Counter(r.data["EventID"] for r in records)[1] == 227


@pytest.mark.corpus
def test_user_data_is_flattened_one_level() -> None:
    records = list(iter_records([str(_need(RDP_1149))], Diagnostics()))
    logons = [r.data for r in records if r.data["EventID"] == 1149]
    assert logons and {"Param1", "Param2", "Param3"} <= set(logons[0])


def _event(event_data: object) -> dict:
    system = {
        "Provider": {"#attributes": {"Name": "Service Control Manager"}},
        "EventID": {"#attributes": {"Qualifiers": 16384}, "#text": 7036},
        "TimeCreated": {"#attributes": {"SystemTime": "2024-03-01T10:00:00Z"}},
        "EventRecordID": 7,
        "Channel": "System",
        "Computer": "WS01",
    }
    return {"Event": {"System": system, "EventData": event_data}}


def test_unnamed_data_elements_become_params() -> None:
    data = flatten(_event({"Data": ["Windows Update", "running"], "Binary": "7700"}))
    assert data is not None
    assert data["EventID"] == 7036
    assert data["Provider"] == "Service Control Manager"
    assert (data["param1"], data["param2"]) == ("Windows Update", "running")
    assert data["Binary"] == "7700"


def test_single_unnamed_data_and_text_form() -> None:
    assert flatten(_event({"Data": "only"}))["param1"] == "only"  # type: ignore[index]
    text_form = flatten(_event({"Data": {"#text": ["a", "b"]}}))
    assert text_form is not None and text_form["param2"] == "b"


def test_event_without_system_is_not_an_event() -> None:
    assert flatten({"Event": {"EventData": {}}}) is None


@pytest.mark.corpus
def test_file_cut_inside_a_chunk_is_reported_with_the_chunk(tmp_path: Path) -> None:
    cut = tmp_path / "cut.evtx"
    cut.write_bytes(_need(NETSH).read_bytes()[: 0x1000 + 0x8000])
    diag = Diagnostics()
    list(iter_records([str(cut)], diag))
    # Counted in records: the cut chunk's header lists the file's 3 records.
    assert diag.skipped_by_reason["truncated file"] == 3
    assert any(f"{cut}: chunk 0 @0x1000: skipped (truncated file)" in w for w in diag.warnings)
