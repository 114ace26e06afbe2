"""Allowlist entries: conditions, reasons, expiry, error messages, and the pipeline's use."""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path

import pytest

from conftest import process_event
from proxyhunt.pipeline import Detector, scan
from proxyhunt.score import Hit
from proxyhunt.tuning import load_allowlist
from proxyhunt.tuning.allowlist import AllowlistError, parse_allowlist

TODAY = date(2026, 12, 4)
WSL_NETSH = (
    "netsh interface portproxy add v4tov4 listenport=3000 listenaddress=0.0.0.0 "
    "connectport=3000 connectaddress=172.28.1.2"
)
JUMP_PLINK = "plink.exe -ssh -batch -L 15432:db01.corp.local:5432 svc_jump@jump01.corp.local"


@pytest.fixture(scope="module")
def detector() -> Detector:
    return Detector.load("default")


def hit_for(detector: Detector, command_line: str, image: str, **fields: str) -> Hit:
    hit = detector.hit(process_event(command_line, image, **fields))
    assert hit is not None, command_line
    return hit


def allow(text: str, today: date = TODAY):
    return parse_allowlist(text, "allow.yml", today)


def test_entry_with_every_condition_suppresses_only_matching_hits(detector: Detector) -> None:
    allowlist = allow(
        """
entries:
  - reason: WSL2 dev server published by the devbox script
    host: ws*
    user: alice
    image: netsh.exe
    parent: powershell.exe
    command_line: 'connectaddress=172\\.2[0-9]\\.'
    detection_type: NetshPortProxy
"""
    )
    parent = {"ParentImage": "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe"}
    wsl = hit_for(detector, WSL_NETSH, "C:\\Windows\\System32\\netsh.exe", **parent)
    entry = allowlist.match(wsl)
    assert entry is not None and entry.reason.startswith("WSL2")
    assert "allow.yml entry 1" in str(entry)

    # Same command from cmd.exe: the parent condition fails, so the hit stays.
    other_parent = hit_for(
        detector, WSL_NETSH, "C:\\Windows\\System32\\netsh.exe", ParentImage="C:\\x\\cmd.exe"
    )
    assert allowlist.match(other_parent) is None
    # A forward to a non-WSL address is not covered by the command-line pattern.
    rdp = WSL_NETSH.replace("172.28.1.2", "10.0.0.5")
    assert (
        allowlist.match(hit_for(detector, rdp, "C:\\Windows\\System32\\netsh.exe", **parent))
        is None
    )


def test_list_values_mean_any_and_full_paths_compare_whole(detector: Detector) -> None:
    allowlist = allow(
        """
- reason: sanctioned jump host tunnels
  image: ['C:\\Program Files\\PuTTY\\plink.exe', 'klink.exe']
  user: ['CORP\\svc_jump', 'CORP\\alice']
"""
    )
    putty = hit_for(detector, JUMP_PLINK, "C:\\Program Files\\PuTTY\\plink.exe")
    assert allowlist.match(putty) is not None
    elsewhere = hit_for(detector, JUMP_PLINK, "C:\\Users\\Public\\plink.exe")
    assert allowlist.match(elsewhere) is None


def test_detection_type_condition_is_exact(detector: Detector) -> None:
    allowlist = allow("- {reason: ssh is fine here, detection_type: SSHTunneling}")
    ssh = hit_for(detector, "ssh -N -D 1080 u@h", "/usr/bin/ssh")
    netsh = hit_for(detector, WSL_NETSH, "C:\\Windows\\System32\\netsh.exe")
    assert allowlist.match(ssh) is not None
    assert allowlist.match(netsh) is None


def test_expired_entry_does_not_suppress_and_warns_once(
    detector: Detector, caplog: pytest.LogCaptureFixture
) -> None:
    text = """
- reason: frp pilot for the QA team
  image: frpc.exe
  expires: 2026-11-30
- reason: still valid
  image: frpc.exe
  expires: 2026-12-04
"""
    frpc = hit_for(detector, "frpc.exe -c frpc.toml", "C:\\dev\\frpc.exe")
    with caplog.at_level(logging.WARNING, logger="proxyhunt.tuning"):
        allowlist = allow(text)
        for _ in range(3):
            entry = allowlist.match(frpc)
            assert entry is not None and entry.reason == "still valid"
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "entry 1" in warnings[0] and "2026-11-30" in warnings[0]

    # The day after the second entry's last valid day nothing suppresses the hit.
    assert allow(text, date(2026, 12, 5)).match(frpc) is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("- {image: frpc.exe}", "entry 1 (line 1): 'reason' is required"),
        ("- {reason: ''}\n", "'reason' is required"),
        ("- {reason: everything}", "needs at least one of"),
        ("- {reason: x, image: a}\n- {reason: y, hostname: h}", "entry 2 (line 2): unknown key"),
        ("- {reason: x, command_line: '(?<=a)b'}", "not a valid RE2 expression"),
        ("- {reason: x, image: a, expires: next week}", "'expires' must be a date"),
        ("- {reason: x, image: [a, 3]}", "'image' must be a non-empty string"),
        ("just text", "expected a list of entries"),
        ("- [unclosed", "invalid YAML"),
        ("entries: []\nextra: 1", "unknown top-level keys: extra"),
    ],
)
def test_errors_name_the_file_and_the_entry(text: str, message: str) -> None:
    with pytest.raises(AllowlistError) as err:
        allow(text)
    assert "allow.yml" in str(err.value)
    assert message in str(err.value)


def test_empty_file_is_an_empty_allowlist() -> None:
    assert len(allow("")) == 0


def test_load_allowlist_reads_a_file(tmp_path: Path) -> None:
    path = tmp_path / "allow.yml"
    path.write_text("- {reason: lab, host: LAB-*}\n", encoding="utf-8")
    allowlist = load_allowlist(path)
    assert len(allowlist) == 1
    with pytest.raises(AllowlistError, match="cannot read"):
        load_allowlist(tmp_path / "missing.yml")


def test_scan_counts_suppressed_hits_with_their_entry(tmp_path: Path) -> None:
    events = tmp_path / "events.ndjson"
    events.write_text(
        '{"EventID":1,"Channel":"Microsoft-Windows-Sysmon/Operational","Hostname":"DEV01",'
        '"Image":"C:\\\\Windows\\\\System32\\\\netsh.exe","CommandLine":"' + WSL_NETSH + '"}\n'
        '{"EventID":1,"Channel":"Microsoft-Windows-Sysmon/Operational","Hostname":"SRV01",'
        '"Image":"C:\\\\Windows\\\\System32\\\\netsh.exe","CommandLine":"' + WSL_NETSH + '"}\n',
        encoding="utf-8",
    )
    allow_file = tmp_path / "allow.yml"
    allow_file.write_text("- {reason: developer laptops, host: DEV*}\n", encoding="utf-8")

    result = scan([str(events)], allowlist=str(allow_file))
    assert [h.event.columns.get("ComputerName") for h in result.hits] == ["SRV01"]
    assert len(result.suppressed) == 1
    hit, entry = result.suppressed[0]
    assert hit.detection_type == "NetshPortProxy" and entry.reason == "developer laptops"
