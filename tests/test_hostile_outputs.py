"""Hostile values end to end: attacker text in real input formats, through ``proxyhunt scan``,
to every output format and to the warnings and summary on stderr.

The unit tests of ``outputs/safe.py`` are in ``test_outputs_safety.py``; these check that no
path from a log to the analyst's screen or spreadsheet skips them: command lines, hex-encoded
audit arguments, file names and the text of broken records.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
from pathlib import Path

import pytest

from hostile_inputs import ndjson, run_cli, scan_args
from hostile_inputs import write_bytes as write
from proxyhunt.cli import exitcodes
from proxyhunt.outputs import writers
from proxyhunt.outputs.atomic import atomic_text

PORTPROXY = "netsh interface portproxy add v4tov4 listenport=8001 connectaddress=10.0.0.5 "
# Each payload rides on a command line that is a real hit, so it reaches every output.
PAYLOADS = {
    "clear-screen": "\x1b[2J\x1b[1;1H",
    "retitle": "\x1b]0;owned\x07",
    "hide": "\x1b[8mhidden\x1b[0m",
    "c1-csi": "\x9b31m",
    "formula": "=cmd|' /C calc'!A0",
    "bidi": "\u202egnp.exe",
    "newline": "\r\nfake row,1,2,3",
    "markup": "[bold red]x[/]",
    "separators": 'a,"b";c\td',
}
# Characters that must never reach a terminal raw: C0 (but TAB/LF), DEL, C1, bidi/invisible.
FORBIDDEN_ON_TERMINAL = (
    {chr(c) for c in range(0x20) if c not in (0x09, 0x0A)}
    | {"\x7f"}
    | {chr(c) for c in range(0x80, 0xA0)}
    | {"\u202e", "\u202d", "\u2066", "\u2067", "\u2068", "\u2069", "\u200b", "\ufeff"}
)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _sysmon(command: str) -> dict[str, object]:
    return {
        "EventID": 1,
        "Channel": "Microsoft-Windows-Sysmon/Operational",
        "SourceName": "Microsoft-Windows-Sysmon",
        "Hostname": "ws01\x1b[31m",
        "Image": "C:\\Windows\\System32\\netsh.exe",
        "CommandLine": command,
        "User": "CORP\\=evil",
        "UtcTime": "2024-03-01 10:00:00.000",
    }


def _falcon(command: str) -> dict[str, object]:
    return {
        "event_simpleName": "ProcessRollup2",
        "event_platform": "Win",
        "ImageFileName": "\\Device\\HarddiskVolume3\\Windows\\System32\\netsh.exe",
        "CommandLine": command,
        "ComputerName": '=HYPERLINK("http://x")',
        "UserName": "@admin",
        "RawProcessId": "6108",
        "timestamp": "1709287200000",
    }


def _audit(serial: int, payload: str | bytes) -> bytes:
    """An ssh -R execve whose last argument is hex: the kernel's encoding carries any byte."""
    raw = payload.encode() if isinstance(payload, str) else payload
    arg = raw.hex().upper()
    stamp = f"msg=audit(1700000000.123:{serial}):"
    return (
        f"type=SYSCALL {stamp} arch=c000003e syscall=59 success=yes exit=0 ppid=1 pid=2 uid=0 "
        f'comm="ssh" exe="/usr/bin/ssh" key=(null)\n'
        f'type=EXECVE {stamp} argc=6 a0="ssh" a1="-N" a2="-R" a3="9000:127.0.0.1:22" '
        f'a4="user1@203.0.113.10" a5={arg}\n'
    ).encode()


@pytest.fixture
def hostile_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "evidence"
    commands = [PORTPROXY + f"connectport=3389 {p}" for p in PAYLOADS.values()]
    write(folder / "sysmon.json", ndjson(*map(_sysmon, commands)))
    write(folder / "fdr.ndjson.gz", gzip.compress(ndjson(*map(_falcon, commands))))
    write(folder / "audit.log", b"".join(_audit(n, p) for n, p in enumerate(PAYLOADS.values())))
    # A broken record and a hostile file name: both end up in warnings and the summary.
    write(folder / "broken\x1b]0;pwned\x07\u202e.json", ndjson(_sysmon(PORTPROXY)) + b"{\x1b[2J\n")
    return folder


def _assert_terminal_safe(text: str, where: str) -> None:
    bad = sorted({f"U+{ord(c):04X}" for c in text if c in FORBIDDEN_ON_TERMINAL})
    assert not bad, f"{where} carries raw control characters: {bad}"


def _scan(folder: Path, fmt: str, capfd: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code, out, err = run_cli(scan_args(folder, fmt=fmt), capfd)
    assert code == exitcodes.PARTIAL_HITS, err
    return code, out, err


def test_table_and_stderr_show_no_raw_control_characters(
    hostile_folder: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    _, out, err = _scan(hostile_folder, "table", capfd)
    _assert_terminal_safe(out, "the table")
    _assert_terminal_safe(err, "stderr")
    # Escaped, not dropped: the analyst can see that something was there.
    assert "\\x1b" in out and "\\x1b" in err
    assert "[bold red]x[/]" in out.replace("\n", "").replace(" ", "") or "bold" in out


def test_warnings_name_hostile_files_visibly(
    hostile_folder: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    _, _, err = _scan(hostile_folder, "jsonl", capfd)
    _assert_terminal_safe(err, "stderr")
    assert "broken\\x1b]0;pwned\\x07\\u202e.json" in err


@pytest.mark.parametrize("fmt", ["csv"])
def test_csv_cells_are_inert_and_columns_stay_aligned(
    hostile_folder: Path, capfd: pytest.CaptureFixture[str], fmt: str
) -> None:
    _, out, err = _scan(hostile_folder, fmt, capfd)
    rows = list(csv.reader(io.StringIO(out, newline="")))
    header, body = rows[0], rows[1:]
    assert len(body) >= 3 * len(PAYLOADS), err
    for row in body:
        assert len(row) == len(header), row
        for cell in row:
            assert not cell.lstrip(" ").startswith(FORMULA_START), cell
    # CSV goes to the terminal when no -o is given: only TAB, CR and LF stay raw.
    _assert_terminal_safe(out.replace("\r", ""), "CSV output")


@pytest.mark.parametrize("fmt", ["json", "jsonl"])
def test_json_outputs_are_valid_ascii_and_keep_the_text(
    hostile_folder: Path, capfd: pytest.CaptureFixture[str], fmt: str
) -> None:
    _, out, err = _scan(hostile_folder, fmt, capfd)
    out.encode("ascii")  # raises if any raw non-ASCII (bidi, C1) reached the output
    rows = json.loads(out) if fmt == "json" else [json.loads(x) for x in out.splitlines() if x]
    commands = [str(row["CommandLine"]) for row in rows]
    assert len(rows) >= 3 * len(PAYLOADS), err
    # JSON keeps the exact text (escaped by the encoder), for tools that read it.
    assert any("\x1b]0;owned\x07" in c for c in commands)
    assert any("=cmd|' /C calc'!A0" in c for c in commands)


def test_lone_surrogates_in_json_input_do_not_hide_a_hit(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """``\\ud800`` is legal JSON text; a strict decoder must not turn it into a lost record."""
    line = json.dumps(_sysmon(PORTPROXY + "connectport=3389 \ud800")).encode()
    assert b"\\ud800" in line
    path = write(tmp_path / "surrogate.json", line + b"\n")
    code, out, err = run_cli(scan_args(path), capfd)
    assert code == exitcodes.HITS, err
    (row,) = [json.loads(x) for x in out.splitlines() if x]
    assert "\ufffd" in str(row["CommandLine"]) or "\\ud800" in out


def test_invalid_utf8_and_utf16_in_audit_hex_stay_valid_output(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    # Invalid UTF-8, a UTF-8-encoded surrogate (CESU), a sequence cut short.
    path = write(tmp_path / "audit.log", _audit(1, b"\xff\xfe\xed\xa0\x80 \xc3"))
    for fmt in ("json", "jsonl", "csv", "table"):
        code, out, err = run_cli(scan_args(path, fmt=fmt), capfd)
        assert code == exitcodes.HITS, err
        assert out.encode("utf-8", "surrogateescape"), fmt
        assert "\ufffd" in out or "\\ufffd" in out, fmt


# -- interrupted output ---------------------------------------------------------------------------


def test_atomic_write_interrupted_leaves_the_previous_file(tmp_path: Path) -> None:
    target = tmp_path / "hits.csv"
    target.write_text("previous complete output\n")

    with pytest.raises(RuntimeError), atomic_text(target) as out:
        out.write("half of a ne")
        raise RuntimeError("disk full")

    assert target.read_text() == "previous complete output\n"
    assert os.listdir(tmp_path) == ["hits.csv"], "no temporary file is left behind"


def test_atomic_write_interrupted_by_ctrl_c_leaves_no_file(tmp_path: Path) -> None:
    target = tmp_path / "new.jsonl"
    with pytest.raises(KeyboardInterrupt), atomic_text(target) as out:
        out.write('{"partial": ')
        raise KeyboardInterrupt
    assert os.listdir(tmp_path) == []


def test_scan_interrupted_mid_write_keeps_the_old_output(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    source = write(tmp_path / "in.json", ndjson(_sysmon(PORTPROXY + "connectport=3389")))
    target = tmp_path / "out" / "hits.jsonl"
    target.parent.mkdir()
    target.write_text("old\n")

    def exploding(hits, profile, out) -> None:  # type: ignore[no-untyped-def]
        out.write('{"CommandLine": "half')
        raise KeyboardInterrupt

    monkeypatch.setitem(writers.WRITERS, "jsonl", exploding)
    code, _, err = run_cli(scan_args(source, extra=["-o", str(target)]), capfd)

    assert code == exitcodes.INTERRUPTED, err
    assert target.read_text() == "old\n"
    assert os.listdir(target.parent) == ["hits.jsonl"]


def test_html_report_escapes_every_hostile_value(
    hostile_folder: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    if "html" not in writers.WRITERS:
        pytest.skip("no HTML writer")
    xss = PORTPROXY + 'connectport=3389 <script>alert(1)</script> "><img src=x onerror=alert(2)>'
    write(hostile_folder / "xss.json", ndjson(_sysmon(xss)))
    _, out, err = _scan(hostile_folder, "html", capfd)
    assert "<script>alert" not in out and "<img src=x" not in out
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in out
    _assert_terminal_safe(out.replace("\r", ""), "the HTML report")
