"""What a scan does with the paths it is given: folders, empty input, FIFOs, unlistable folders."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from proxyhunt.cli import exitcodes
from proxyhunt.cli.main import main
from tests.conftest import REPO

SAMPLE = REPO / "examples" / "telemetry" / "sysmon_srv02_mordor.json"


def _scan(capsys, *args: str) -> tuple[int, str]:
    code = main(["scan", "-j", "1", "--no-progress", "-f", "jsonl", *args])
    return code, capsys.readouterr().err


def test_an_empty_folder_is_no_input_not_a_clean_run(capsys, tmp_path: Path) -> None:
    code, err = _scan(capsys, str(tmp_path))

    assert code == exitcodes.NO_INPUT
    assert "files opened: 0" in err


def test_documents_beside_the_evidence_are_ignored_not_lost(capsys, tmp_path: Path) -> None:
    shutil.copy(SAMPLE, tmp_path / "sysmon.json")
    (tmp_path / "README.md").write_text("# case notes\nhost SRV02 collected 2024-03-01\n")
    (tmp_path / "LICENSE").write_text("Permission is hereby granted ...\n")

    code, err = _scan(capsys, str(tmp_path))

    assert code == exitcodes.HITS, err
    assert "files ignored (not telemetry, or already read): 2" in err
    assert "README.md (unknown format)" in err
    assert "PARTIAL" not in err


def test_an_unknown_file_named_explicitly_is_a_loss(capsys, tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("just notes\n")

    code, err = _scan(capsys, str(SAMPLE), str(notes))

    assert code == exitcodes.PARTIAL_HITS
    assert "notes.txt: not read (unknown format)" in err


def test_a_fifo_inside_a_folder_is_ignored_instead_of_blocking(capsys, tmp_path: Path) -> None:
    shutil.copy(SAMPLE, tmp_path / "sysmon.json")
    os.mkfifo(tmp_path / "pipe.json")

    code, err = _scan(capsys, str(tmp_path))

    assert code == exitcodes.HITS, err
    assert "pipe.json (not a regular file)" in err


def test_a_fifo_named_explicitly_is_read(capsys, tmp_path: Path) -> None:
    fifo = tmp_path / "stream"
    os.mkfifo(fifo)
    writer = threading.Thread(target=lambda: fifo.write_bytes(SAMPLE.read_bytes()))
    writer.start()

    code, err = _scan(capsys, str(fifo))
    writer.join(timeout=10)

    assert code == exitcodes.HITS, err


@pytest.mark.skipif(shutil.which("setpriv") is None, reason="needs setpriv (util-linux)")
def test_a_folder_that_cannot_be_listed_makes_the_run_partial(tmp_path: Path) -> None:
    locked = tmp_path / "evidence" / "locked"
    locked.mkdir(parents=True)
    shutil.copy(SAMPLE, locked / "sysmon.json")
    shutil.copy(SAMPLE, tmp_path / "evidence" / "readable.json")
    locked.chmod(0)
    # Root reads anything; drop the capabilities that let it, as an ordinary analyst has none.
    caps = "-dac_override,-dac_read_search"
    command = [
        "setpriv",
        f"--inh-caps={caps}",
        f"--bounding-set={caps}",
        "--",
        sys.executable,
        "-m",
        "proxyhunt.cli.main",
        "scan",
        "-j",
        "1",
        "-f",
        "jsonl",
        str(tmp_path / "evidence"),
    ]

    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    finally:
        locked.chmod(0o755)

    assert done.returncode == exitcodes.PARTIAL_HITS, done.stderr
    assert "cannot list folder" in done.stderr


def test_a_file_reached_twice_is_read_once(capsys, tmp_path: Path) -> None:
    """Named twice, inside a folder also named, or through a link: one file, its hits once.
    Found by a fresh-user review (hits were doubled)."""
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    shutil.copy(SAMPLE, evidence / "sysmon.json")
    (evidence / "link.json").symlink_to(evidence / "sysmon.json")
    code, once = _scan(capsys, str(evidence / "sysmon.json"))
    assert code == exitcodes.HITS, once

    sample = str(evidence / "sysmon.json")
    code, err = _scan(capsys, str(evidence), sample, sample)

    assert code == exitcodes.HITS, err
    assert "files opened: 1" in err
    assert _line(err, "hits:") == _line(once, "hits:")
    assert _line(err, "events:") == _line(once, "events:")
    assert "(the same file as " in err and "read once)" in err
    assert "PARTIAL" not in err


def _line(summary: str, label: str) -> str:
    return next(line for line in summary.splitlines() if line.strip().startswith(label))
