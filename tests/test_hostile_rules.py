"""Rules and allowlists are data too: safe YAML, no aliases, RE2, and no quadratic work.

A rule pack or allowlist can come from anywhere (a shared repository, a colleague, a ticket),
so loading one must never run code, and neither a pattern nor an input may make a scan slow
in proportion to the square of its size.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hostile_inputs import ndjson, run_cli, scan_args
from hostile_inputs import write_bytes as write
from proxyhunt.cli import exitcodes
from proxyhunt.diagnostics import Diagnostics
from proxyhunt.errors import RuleError
from proxyhunt.rules.loader import load_profile, load_rules
from proxyhunt.sources.base import Limits

RULE = """title: user rule
logsource: {{category: process_creation}}
detection:
  sel: {{CommandLine|contains: {value}}}
  condition: sel
"""
EXECUTE = "!!python/object/apply:os.system ['touch {marker}']"
OBJECT = "!!python/object:proxyhunt.errors.RuleError {{}}"
EVENT = {
    "EventID": 1,
    "Channel": "Microsoft-Windows-Sysmon/Operational",
    "SourceName": "Microsoft-Windows-Sysmon",
    "Image": "C:\\Windows\\System32\\netsh.exe",
    "CommandLine": "netsh interface show interface",
}


@pytest.fixture
def marker(tmp_path: Path) -> Path:
    return tmp_path / "code-ran"


@pytest.mark.parametrize("tag", [EXECUTE, OBJECT], ids=["apply", "object"])
def test_python_tags_in_rule_files_are_refused_clearly(
    tmp_path: Path, marker: Path, tag: str
) -> None:
    path = write(tmp_path / "evil.yml", RULE.format(value=tag.format(marker=marker)).encode())
    with pytest.raises(RuleError) as error:
        load_rules(load_profile("seed"), [str(path)])
    assert "evil.yml" in str(error.value)
    assert "python/object" in str(error.value) or "constructor" in str(error.value)
    assert not marker.exists(), "loading a rule ran code"


def test_python_tag_in_rule_file_exits_3_from_the_cli(
    tmp_path: Path, marker: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    rule = write(tmp_path / "evil.yml", RULE.format(value=EXECUTE.format(marker=marker)).encode())
    data = write(tmp_path / "in.json", ndjson(EVENT))
    code, _, err = run_cli(scan_args(data, extra=["--rules", str(rule)]), capfd)
    assert code == exitcodes.RULES, err
    assert "evil.yml" in err
    assert not marker.exists()


def test_python_tag_in_profile_is_refused(tmp_path: Path, marker: Path) -> None:
    profile = write(
        tmp_path / "p.yml",
        f"name: {EXECUTE.format(marker=marker)}\npacks: [seed]\nindicators: []\n".encode(),
    )
    with pytest.raises(RuleError):
        load_profile(str(profile))
    assert not marker.exists()


def test_python_tag_in_allowlist_is_refused(tmp_path: Path, marker: Path) -> None:
    allowlist = pytest.importorskip("proxyhunt.tuning.allowlist")
    path = write(
        tmp_path / "allow.yml",
        f"- reason: {EXECUTE.format(marker=marker)}\n  computer: ws01\n".encode(),
    )
    with pytest.raises(Exception) as error:
        allowlist.load_allowlist(str(path))
    assert "allow.yml" in str(error.value)
    assert not marker.exists()


def test_alias_bomb_in_rule_file_is_refused(tmp_path: Path) -> None:
    # Nine levels of nine aliases: a few hundred bytes that expand to 9**9 strings.
    lines = ['a0: &a0 "x"']
    for level in range(1, 10):
        refs = ", ".join([f"*a{level - 1}"] * 9)
        lines.append(f"a{level}: &a{level} [{refs}]")
    text = RULE.format(value="x") + "\n".join(lines) + "\n"
    with pytest.raises(RuleError) as error:
        load_rules(load_profile("seed"), [str(write(tmp_path / "bomb.yml", text.encode()))])
    assert "alias" in str(error.value).lower()


def test_oversized_rule_file_is_refused(tmp_path: Path) -> None:
    text = RULE.format(value="x") + "#" * (2 * 1024 * 1024) + "\n"
    with pytest.raises(RuleError, match="too big"):
        load_rules(load_profile("seed"), [str(write(tmp_path / "big.yml", text.encode()))])


# -- regular expressions --------------------------------------------------------------------


def test_backreference_pattern_is_refused_not_run_on_a_backtracking_engine(
    tmp_path: Path,
) -> None:
    rule = RULE.replace("CommandLine|contains", "CommandLine|re").format(value="'(a+)\\1+$'")
    with pytest.raises(RuleError) as error:
        load_and_compile(write(tmp_path / "backref.yml", rule.encode()))
    assert "backref.yml" in str(error.value) or "\\1" in str(error.value)


def load_and_compile(path: Path) -> object:
    from proxyhunt.engine import compile_rules

    rules, _ = load_rules(load_profile("seed"), [str(path)])
    return compile_rules(rules)


def test_catastrophic_pattern_on_a_large_command_line_scans_in_bounded_time(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """(a+)+$ against 'aaaa...!' takes exponential time on a backtracking engine."""
    rule = RULE.replace("CommandLine|contains", "CommandLine|re").format(value="'(a+)+$'")
    rule_path = write(tmp_path / "redos.yml", rule.encode())
    events = [{**EVENT, "CommandLine": "a" * 200_000 + "!"} for _ in range(20)]
    data = write(tmp_path / "in.json", ndjson(*events))

    code, _, err = run_cli(scan_args(data, extra=["--rules", str(rule_path)]), capfd)
    assert code == exitcodes.CLEAN, err


# -- no quadratic work on hostile input ---------------------------------------------------


class _Counting:
    """A binary stream that counts the bytes handed out."""

    def __init__(self, data: bytes) -> None:
        import io

        self._inner = io.BytesIO(data)
        self.read_bytes = 0

    def __getattr__(self, name: str) -> object:
        return getattr(self._inner, name)

    def read(self, n: int = -1) -> bytes:
        data = self._inner.read(n)
        self.read_bytes += len(data)
        return data

    def readline(self, n: int = -1) -> bytes:
        data = self._inner.readline(n)
        self.read_bytes += len(data)
        return data


def _decode_work(monkeypatch: pytest.MonkeyPatch, size: int) -> int:
    """Characters the JSON scanner hands to the decoder for one huge pretty-printed record."""
    from proxyhunt.sources import jsonlog

    work = 0
    original = json.JSONDecoder.raw_decode

    def counting(self: json.JSONDecoder, s: str, idx: int = 0) -> tuple[object, int]:
        nonlocal work
        work += len(s) - idx
        return original(self, s, idx)

    monkeypatch.setattr(json.JSONDecoder, "raw_decode", counting)
    record = {**EVENT, "CommandLine": "netsh " + "x" * size}
    text = json.dumps([record, record], indent=2).encode()
    stream = _Counting(text)
    diag = Diagnostics()
    limits = Limits(max_record_bytes=64 * 1024 * 1024)
    list(jsonlog.READER.read(stream, "big.json", diag, limits))  # type: ignore[arg-type]
    assert stream.read_bytes <= 2 * len(text), "the file is read about once"
    return work


def test_one_huge_json_record_is_decoded_in_linear_work(monkeypatch: pytest.MonkeyPatch) -> None:
    small = _decode_work(monkeypatch, 2 * 1024 * 1024)
    large = _decode_work(monkeypatch, 8 * 1024 * 1024)
    # Four times the input may cost about four times the work, never sixteen.
    assert large < 6 * small, (small, large)


def test_auditd_with_thousands_of_open_events_stays_bounded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every line a new serial, none ever closed by EOE: the pending set must stay bounded."""
    from proxyhunt.sources import auditd

    most_open = 0
    original = auditd._Assembler.add

    def counting(self: auditd._Assembler, rec: auditd.AuditRecord, size: int = 0):  # type: ignore[no-untyped-def]
        nonlocal most_open
        yield from original(self, rec, size)
        most_open = max(most_open, len(self.open))

    monkeypatch.setattr(auditd._Assembler, "add", counting)
    lines = b"".join(
        f'type=EXECVE msg=audit(1700000000.1:{n}): argc=1 a0="x{n}"\n'.encode()
        for n in range(30_000)
    )
    stream = _Counting(lines)
    records = list(auditd.READER.read(stream, "a.log", Diagnostics(), Limits()))  # type: ignore[arg-type]

    assert len(records) == 30_000, "each event is emitted exactly once"
    assert most_open <= auditd.PENDING_LINES + 1
    assert stream.read_bytes == len(lines)


def test_rule_errors_are_one_problem_per_line_and_escaped(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    rules = tmp_path / "rules"
    write(rules / "a\x1b]0;owned\x07.yml", b"title: [unclosed\n")
    write(rules / "b.yml", RULE.format(value="!!python/object:os.system {}").encode())
    data = write(tmp_path / "in.json", ndjson(EVENT))
    code, _, err = run_cli(scan_args(data, extra=["--rules", str(rules)]), capfd)

    assert code == exitcodes.RULES
    assert "\x1b" not in err and "\x07" not in err
    problem_lines = [line for line in err.splitlines() if line.lstrip().startswith("- ")]
    assert len(problem_lines) == 2, err
    assert "a\\x1b]0;owned\\x07.yml" in problem_lines[0]
