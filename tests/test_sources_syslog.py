"""Sysmon for Linux in syslog: line forms, safe XML parsing, real Azure rows."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest

from proxyhunt.diagnostics import Diagnostics
from proxyhunt.model import KIND_WINDOWS, Record
from proxyhunt.sources.base import DEFAULT_LIMITS
from proxyhunt.sources.syslog import READER, parse_sysmon_xml, split_syslog_line

CORPUS = Path(__file__).parents[1].parent / "shared" / "corpus"
FIXTURE = Path(__file__).parent / "fixtures" / "linux" / "sysmon_syslog.log"


def read_fixture() -> tuple[list[Record], Diagnostics]:
    diag = Diagnostics()
    with FIXTURE.open("rb") as stream:
        records = list(READER.read(stream, "syslog", diag, DEFAULT_LIMITS))
    return records, diag


def test_events_from_each_line_form() -> None:
    records, diag = read_fixture()
    assert [(r.locator, r.data["EventID"]) for r in records] == [
        ("line 2", 1),
        ("line 3", 3),
        ("line 5", 1),
    ]
    assert all(r.kind == KIND_WINDOWS and r.fmt == "syslog-sysmon" for r in records)
    assert diag.events_by_format["syslog-sysmon"] == 3


def test_eid1_ssh_dynamic_fields() -> None:
    records, _ = read_fixture()
    eid1 = records[0].data
    assert eid1["Channel"] == "Linux-Sysmon/Operational"
    assert (eid1["Provider"], eid1["Computer"]) == ("Linux-Sysmon", "srv01")
    assert eid1["TimeCreated"] == "2023-11-14T22:15:00.100000Z"
    assert eid1["EventRecordID"] == 1001
    assert eid1["CommandLine"] == "ssh -D 1080 user@192.168.1.10"
    assert (eid1["Image"], eid1["User"], eid1["ParentImage"]) == (
        "/usr/bin/ssh",
        "alice",
        "/usr/bin/bash",
    )


def test_eid3_network_fields() -> None:
    records, _ = read_fixture()
    eid3 = records[1].data
    assert (eid3["DestinationIp"], eid3["DestinationPort"]) == ("192.168.1.10", "22")
    assert (eid3["Initiated"], eid3["Protocol"]) == ("true", "tcp")


def test_sysmon_entity_without_semicolon_is_repaired() -> None:
    records, _ = read_fixture()
    assert records[2].data["ParentImage"] == "<unknown process>"
    assert records[2].data["CommandLine"] == "socat TCP-LISTEN:8080,fork TCP:10.0.0.5:80"


def test_bad_and_hostile_xml_are_located_skips() -> None:
    _, diag = read_fixture()
    assert diag.skipped_by_reason == {"bad XML": 1, "unsafe XML": 1}
    assert any("syslog: line 6: skipped (bad XML)" in w for w in diag.warnings)
    assert any("syslog: line 7: skipped (unsafe XML)" in w for w in diag.warnings)


def test_entity_expansion_is_never_performed() -> None:
    bomb = (
        '<!DOCTYPE Event [<!ENTITY a "x"><!ENTITY b "&a;&a;">]>'
        "<Event><System><EventID>1</EventID></System><EventData>"
        '<Data Name="CommandLine">&b;</Data></EventData></Event>'
    )
    assert parse_sysmon_xml(bomb) is None
    external = (
        '<!DOCTYPE Event [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        "<Event><System><EventID>1</EventID></System></Event>"
    )
    assert parse_sysmon_xml(external) is None
    # An undeclared entity reference is kept as literal text, never resolved.
    data = parse_sysmon_xml(
        '<Event><System><EventID>1</EventID></System><EventData><Data Name="A">&x;</Data>'
        "</EventData></Event>"
    )
    assert data is not None and data["A"] == "&x;"


def test_truncated_event_keeps_completed_fields() -> None:
    full = FIXTURE.read_text().splitlines()[1]
    xml = split_syslog_line(full)
    assert xml is not None
    cut = xml[:1200]
    data = parse_sysmon_xml(cut)
    assert data is not None and data["XmlTruncated"] is True
    assert data["EventID"] == 1 and data["Image"] == "/usr/bin/ssh"


def test_line_forms() -> None:
    xml = "<Event><System><EventID>1</EventID></System></Event>"
    assert split_syslog_line(f"Nov 14 22:15:00 srv01 sysmon: {xml}") == xml
    assert split_syslog_line(f"Nov  4 22:15:00 srv01 sysmon[812]: {xml}") == xml
    assert split_syslog_line(f"2023-11-14T22:15:00.1+00:00 srv01 sysmon: {xml}") == xml
    assert split_syslog_line(f"<14>1 2023-11-14T22:15:00Z srv01 sysmon 812 - - {xml}") == xml
    assert split_syslog_line(f'<14>1 2023-11-14T22:15:00Z h sysmon 8 - [a b="1"] {xml}') == xml
    # Another program quoting a sysmon line is not a sysmon event.
    assert split_syslog_line(f"Nov 14 22:15:00 srv01 sshd[1]: user sent sysmon: {xml}") is None
    assert split_syslog_line("Nov 14 22:15:00 srv01 sysmon: Sysmon started") is None


def test_sniff() -> None:
    assert READER.sniff(FIXTURE.read_bytes()[:65536], "syslog")
    assert not READER.sniff(b'{"SyslogMessage": "<Event><System>"}\n', "x.json")
    assert not READER.sniff(b'type=EXECVE msg=audit(1.2:3): argc=1 a0="id"\n', "audit.log")


@pytest.mark.corpus
def test_log4shell_sysmon_rows_all_parse() -> None:
    name = "syslog_sysmon_log4shell_cve2021_44228_jndi_reference.zip"
    path = CORPUS / "Security-Datasets" / "datasets" / "compound" / "Log4Shell" / name
    if not path.is_file():
        pytest.skip(f"corpus file {name} not found under {CORPUS} (shared corpus absent)")
    with zipfile.ZipFile(path) as archive:
        lines = archive.read(archive.namelist()[0]).decode("utf-8").splitlines()
    messages = [json.loads(line)["SyslogMessage"] for line in lines if line.strip()]
    results = [parse_sysmon_xml(m) for m in messages]
    assert len(results) == 93
    assert [i for i, p in enumerate(results) if p is None] == []
    parsed = [p for p in results if p is not None]
    counts: dict[int, int] = {}
    for p in parsed:
        counts[p["EventID"]] = counts.get(p["EventID"], 0) + 1
    assert counts == {1: 31, 3: 6, 5: 50, 11: 4, 23: 2}
    assert {p["Channel"] for p in parsed} == {"Linux-Sysmon/Operational"}
    # Sysmon for Linux writes "&quot " for '"'; the command line must come back intact.
    omi = [
        p["CommandLine"] for p in parsed if p.get("CommandLine", "").startswith("sh -c /opt/omi")
    ]
    assert omi and all('"SELECT PercentUserTime' in c for c in omi)


def test_syslog_reader_on_a_stream_of_corpus_like_lines() -> None:
    xml = (
        '<Event><System><Provider Name="Linux-Sysmon"/><EventID>5</EventID>'
        "<Channel>Linux-Sysmon/Operational</Channel><Computer>h</Computer></System>"
        '<EventData><Data Name="Image">&lt unknown process&gt </Data></EventData></Event>'
    )
    data = f"May 11 18:10:22 h sysmon: {xml}\n".encode()
    diag = Diagnostics()
    records = list(READER.read(io.BytesIO(data), "s", diag, DEFAULT_LIMITS))
    assert records[0].data["Image"] == "<unknown process>"
