"""The terminal table's layout, and where ``-o`` may and may not write."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from proxyhunt.cli import exitcodes
from proxyhunt.cli.main import main
from proxyhunt.errors import UsageError
from proxyhunt.outputs.atomic import atomic_text, check_writable
from proxyhunt.outputs.table import COLUMNS, MAX_CELL_CHARS, widths, write_table
from proxyhunt.score import Hit
from tests.conftest import REPO, process_event
from tests.test_outputs_safety import PROFILE

EXAMPLES = REPO / "examples" / "telemetry"


def _hit(command_line: str) -> Hit:
    flags = {
        "is_proxy_tool": False,
        "is_netsh_proxy": True,
        "is_ssh_tunnel": False,
        "is_portfwd": False,
    }
    return Hit(process_event(command_line), flags, "NetshPortProxy", 1, "high", ["r"])


def test_every_line_fits_the_width_and_every_hit_is_a_row(monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "240")
    out = io.StringIO()
    commands = [f"netsh interface portproxy add v4tov4 listenport={8000 + i}" for i in range(50)]

    write_table([_hit(c) for c in commands], PROFILE, out)

    lines = out.getvalue().splitlines()
    assert max(len(line) for line in lines) <= 240
    assert sum(1 for line in lines if line.startswith("2024-03-01T10:00:00.000Z")) == 50
    assert lines[0] == "proxyhunt: 50 hit(s), profile seed"


def test_column_widths_add_up_to_the_terminal() -> None:
    sizes = widths(240)

    assert set(sizes) == set(COLUMNS)
    assert sum(sizes.values()) + len(COLUMNS) - 1 <= 240


def test_a_huge_cell_is_shortened_in_the_terminal_only(monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "240")
    out = io.StringIO()

    write_table([_hit("A" * (MAX_CELL_CHARS + 5000))], PROFILE, out)

    words = " ".join(out.getvalue().split())
    assert "[5000 more characters; -f jsonl shows all]" in words
    assert out.getvalue().count("A") < MAX_CELL_CHARS + 100


def test_output_is_written_through_a_symlink(tmp_path: Path) -> None:
    real = tmp_path / "real.csv"
    real.write_text("old")
    link = tmp_path / "link.csv"
    link.symlink_to(real)

    with atomic_text(link) as out:
        out.write("new")

    assert link.is_symlink()
    assert real.read_text() == "new"


def test_output_to_a_fifo_is_written_not_replaced(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[str] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_text()))
    reader.start()

    with atomic_text(fifo) as out:
        out.write("rows\n")
    reader.join(timeout=10)

    assert got == ["rows\n"]
    assert fifo.is_fifo()


@pytest.mark.parametrize("case", ["missing-folder", "folder", "input"])
def test_unwritable_outputs_are_refused_before_the_scan(tmp_path: Path, case: str) -> None:
    evidence = tmp_path / "in.json"
    evidence.write_text("{}")
    target = {
        "missing-folder": tmp_path / "nodir" / "x.csv",
        "folder": tmp_path,
        "input": evidence,
    }[case]

    with pytest.raises(UsageError):
        check_writable(target, [str(evidence)])


def test_cli_refuses_to_overwrite_evidence(capsys, tmp_path: Path) -> None:
    evidence = tmp_path / "in.json"
    evidence.write_bytes((EXAMPLES / "sysmon_srv02_mordor.json").read_bytes())

    code = main(["scan", "-j", "1", "-f", "jsonl", "-o", str(evidence), str(evidence)])

    assert code == exitcodes.USAGE
    assert "one of the inputs" in capsys.readouterr().err
    assert evidence.read_bytes() == (EXAMPLES / "sysmon_srv02_mordor.json").read_bytes()


def test_a_closed_pipe_keeps_the_exit_code_of_the_run() -> None:
    command = (
        f"{sys.executable} -m proxyhunt.cli.main scan -j 1 -f jsonl {EXAMPLES} | head -n 1"
        "; echo status=${PIPESTATUS[0]}"
    )

    done = subprocess.run(
        ["bash", "-c", command], capture_output=True, text=True, timeout=120, check=True
    )

    assert f"status={exitcodes.HITS}" in done.stdout
    assert "Traceback" not in done.stderr
