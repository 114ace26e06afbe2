"""Field cases about Linux audit logs (../shared/cases/): C26, C28, C29.

The kind of fault: the kernel's value encoding (quoted text versus unquoted hex), NUL-separated
PROCTITLE, and line framing (``node=`` prefix, CRLF) must all yield the argv the process got.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sigma.rule import SigmaRule

from hostile_inputs import jsonl_rows, read_events, read_records, run_cli, scan_args
from hostile_inputs import write_bytes as write
from proxyhunt.cli import exitcodes
from proxyhunt.engine import compile_rules
from proxyhunt.model import PROCESS_CREATION

LINUX = {"category": "process_creation", "product": "linux"}


def _hits(path: Path, capfd: pytest.CaptureFixture[str]) -> tuple[int, list[dict], str]:
    code, out, err = run_cli(scan_args(path), capfd)
    return code, jsonl_rows(out), err


# -- C26: quoted text versus hex arguments -----------------------------------------------------

C26 = (
    b"type=SYSCALL msg=audit(1700000000.123:4242): arch=c000003e syscall=59 success=yes exit=0 "
    b'ppid=1 pid=4300 auid=1000 uid=1000 comm="ssh" exe="/usr/bin/ssh" key=(null)\n'
    b'type=EXECVE msg=audit(1700000000.123:4242): argc=5 a0="ssh" a1="-p" a2="2222" a3="-o" '
    b"a4=50726F7879436F6D6D616E643D6E632031302E302E302E35203232\n"
)
C26_ARGV = ["ssh", "-p", "2222", "-o", "ProxyCommand=nc 10.0.0.5 22"]


@pytest.mark.parametrize("with_syscall", [True, False], ids=["with-syscall", "execve-alone"])
def test_c26_quoted_is_text_unquoted_is_hex(tmp_path: Path, with_syscall: bool) -> None:
    text = C26 if with_syscall else C26.split(b"\n", 1)[1]
    records, diag = read_records([write(tmp_path / "audit.log", text)])
    assert [r.data["argv"] for r in records] == [C26_ARGV], diag.warnings

    events, _ = read_events([tmp_path / "audit.log"])
    command = events[0].fields["CommandLine"] or ""
    # The joined form may quote the argument with spaces; the argument itself is intact.
    assert command.startswith("ssh -p 2222 -o ")
    assert "ProxyCommand=nc 10.0.0.5 22" in command


def test_c26_proxycommand_is_found(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    code, hits, err = _hits(write(tmp_path / "audit.log", C26), capfd)
    assert code == exitcodes.HITS, err
    assert len(hits) == 1


# -- C28: hex PROCTITLE with NUL separators ----------------------------------------------------

C28_HEX = "737368002D4E002D4C00383038303A31302E302E302E353A38300075736572403230332E302E3131332E3130"
# What the hex really holds (the case's prose says user1@, its bytes say user@).
SSH_L = bytes.fromhex(C28_HEX).replace(b"\0", b" ").decode()
C28 = (
    b"type=SYSCALL msg=audit(1700000002.000:4244): arch=c000003e syscall=59 success=yes exit=0 "
    b'ppid=1 pid=4301 uid=1000 comm="ssh" exe="/usr/bin/ssh" key=(null)\n'
    b"type=PROCTITLE msg=audit(1700000002.000:4244): proctitle=" + C28_HEX.encode() + b"\n"
)


def test_c28_nul_separated_proctitle_keeps_every_argument(tmp_path: Path) -> None:
    events, diag = read_events([write(tmp_path / "audit.log", C28)])
    assert [e.fields["CommandLine"] for e in events] == [SSH_L], diag.warnings


def test_c28_local_forward_is_found(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    code, hits, err = _hits(write(tmp_path / "audit.log", C28), capfd)
    assert code == exitcodes.HITS, err
    assert len(hits) == 1


def test_c28_quoted_proctitle_is_text(tmp_path: Path) -> None:
    text = C28.split(b"proctitle=")[0] + b'proctitle="ssh"\n'
    records, diag = read_records([write(tmp_path / "audit.log", text)])
    assert [r.data["argv"] for r in records] == [["ssh"]], diag.warnings


def test_c28_proctitle_at_the_kernel_cap_is_flagged_and_execve_preferred(tmp_path: Path) -> None:
    title = ("ssh\0-R\0" + "9" * 121).encode()[:128]
    assert len(title) == 128
    text = (
        C28.split(b"type=PROCTITLE")[0]
        + b'type=EXECVE msg=audit(1700000002.000:4244): argc=2 a0="ssh" a1="-V"\n'
        + b"type=PROCTITLE msg=audit(1700000002.000:4244): proctitle="
        + title.hex().upper().encode()
        + b"\n"
    )
    records, _ = read_records([write(tmp_path / "audit.log", text)])
    assert records[0].data["argv"] == ["ssh", "-V"]

    proctitle_only = C28.split(b"proctitle=")[0] + b"proctitle=" + title.hex().upper().encode()
    records, _ = read_records([write(tmp_path / "p.log", proctitle_only + b"\n")])
    assert records[0].data["argv_truncated"] is True


# -- C29: node= prefix and CRLF ----------------------------------------------------------------

C29 = (
    b"node=srv01.example.local type=SYSCALL msg=audit(1700000003.100:4245): arch=c000003e "
    b'syscall=59 success=yes exit=0 comm="ssh" exe="/usr/bin/ssh" key="tunnel"\r\n'
    b'node=srv01.example.local type=EXECVE msg=audit(1700000003.100:4245): argc=3 a0="ssh" '
    b'a1="-D" a2="1080"\r\n'
)


def test_c29_node_prefix_and_crlf_make_one_clean_event(tmp_path: Path) -> None:
    records, diag = read_records([write(tmp_path / "audit.log", C29)])
    assert len(records) == 1, diag.warnings
    data = records[0].data
    assert data["node"] == "srv01.example.local"
    assert data["key"] == "tunnel"
    assert data["exe"] == "/usr/bin/ssh"
    assert data["argv"] == ["ssh", "-D", "1080"]
    assert not diag.partial

    (event,) = read_events([tmp_path / "audit.log"])[0]
    assert event.category == PROCESS_CREATION
    assert event.fields["Computer"] == "srv01.example.local"
    for value in event.fields.values():
        assert not str(value).endswith(("\r", "\n"))


def test_c29_key_rule_and_dynamic_socks_match(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path / "audit.log", C29)
    (event,) = read_events([path])[0]
    key_rule = SigmaRule.from_dict(
        {
            "title": "key",
            "logsource": LINUX,
            "detection": {"sel": {"key": "tunnel"}, "condition": "sel"},
        }
    )
    assert compile_rules([key_rule]).match(event)

    code, hits, err = _hits(path, capfd)
    assert code == exitcodes.HITS, err
    assert len(hits) == 1
