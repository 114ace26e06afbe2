"""``proxyhunt scan`` end to end on the bundled sample telemetry: rows, formats, exit codes."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from proxyhunt.cli import exitcodes
from proxyhunt.cli.main import main
from proxyhunt.outputs.rows import REFERENCE_COLUMNS
from tests.conftest import REPO

EXAMPLES = REPO / "examples" / "telemetry"


def _scan(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["scan", "--no-progress", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _rows(capsys: pytest.CaptureFixture[str], *args: str) -> list[dict]:
    code, out, err = _scan(capsys, "-f", "json", *args)
    assert code in (exitcodes.CLEAN, exitcodes.HITS), err
    return json.loads(out)


def test_sample_hits_come_newest_first_with_reference_columns(capsys) -> None:
    rows = _rows(capsys, str(EXAMPLES))

    assert rows, "the bundled sample must show hits"
    assert list(rows[0])[: len(REFERENCE_COLUMNS)] == list(REFERENCE_COLUMNS)
    times = [row["_timeutc"] for row in rows]
    assert times == sorted(times, reverse=True)


def test_seed_profile_scores_the_sample_like_the_reference(capsys) -> None:
    rows = _rows(capsys, "--profile", "seed", str(EXAMPLES / "falcon_fdr_ws01.ndjson.gz"))
    by_command = {row["CommandLine"]: row for row in rows}

    netsh = next(row for cmd, row in by_command.items() if "portproxy add" in cmd)
    assert netsh["detection_type"] == "NetshPortProxy"
    assert netsh["suspicion_score"] == 2
    assert (netsh["is_netsh_proxy"], netsh["is_portfwd"]) == ("1", "1")
    assert netsh["ComputerName"] == "WS01"

    ssh = next(row for cmd, row in by_command.items() if cmd.startswith("ssh.exe -N -L"))
    assert (ssh["detection_type"], ssh["suspicion_score"]) == ("SSHTunneling", 1)

    chisel = next(row for cmd, row in by_command.items() if cmd.startswith("chisel.exe"))
    assert chisel["detection_type"] == "KnownProxyTool"

    # The reference's blind spots: renamed chisel, netcat relay, Linux ssh -D.
    assert not any("OneDriveSync.exe" in cmd for cmd in by_command)
    assert not any(cmd.startswith("nc.exe") for cmd in by_command)
    assert not any(cmd.startswith("ssh -D") for cmd in by_command)


def test_csv_and_jsonl_carry_the_same_rows_as_json(capsys, tmp_path: Path) -> None:
    rows = _rows(capsys, str(EXAMPLES))
    out_csv = tmp_path / "hits.csv"
    out_jsonl = tmp_path / "hits.jsonl"

    _scan(capsys, "-f", "csv", "-o", str(out_csv), str(EXAMPLES))
    _scan(capsys, "-f", "jsonl", "-o", str(out_jsonl), str(EXAMPLES))

    from_csv = list(csv.DictReader(io.StringIO(out_csv.read_text(encoding="utf-8"))))
    from_jsonl = [json.loads(line) for line in out_jsonl.read_text().splitlines()]
    assert [r["CommandLine"] for r in from_csv] == [r["CommandLine"] for r in rows]
    assert from_jsonl == rows
    assert not list(tmp_path.glob(".*.part")), "no temporary file may be left behind"


def test_summary_counts_formats_and_hits_on_stderr(capsys) -> None:
    code, _out, err = _scan(capsys, str(EXAMPLES))

    assert code == exitcodes.HITS, err
    assert "fdr-ndjson 10" in err
    assert "hits:" in err


def test_exit_codes_for_clean_partial_and_missing_input(capsys, tmp_path: Path) -> None:
    benign = tmp_path / "benign.ndjson"
    line = (EXAMPLES.parent / "telemetry").glob("*.ndjson")
    benign.write_text(next(iter(line)).read_text().replace("ssh", "git"))
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"\x00\x01 not telemetry \xff" * 10)

    assert _scan(capsys, str(benign))[0] == exitcodes.CLEAN
    assert _scan(capsys, str(benign), str(junk))[0] == exitcodes.PARTIAL
    assert _scan(capsys, "--strict", str(benign), str(junk))[0] == exitcodes.STRICT
    assert _scan(capsys, str(EXAMPLES), str(junk))[0] == exitcodes.PARTIAL_HITS
    code, _, err = _scan(capsys, str(tmp_path / "missing.evtx"))
    assert code == exitcodes.USAGE
    assert "missing.evtx" in err


def test_stdin_is_read_when_the_path_is_a_dash(capsys, monkeypatch) -> None:
    import gzip
    import sys

    data = gzip.decompress((EXAMPLES / "falcon_fdr_ws01.ndjson.gz").read_bytes())
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))

    rows = _rows(capsys, "-")

    assert any("portproxy add" in row["CommandLine"] for row in rows)
