"""What is forwarded where, read off the evidence of each kind of proxy."""

from __future__ import annotations

import pytest

from proxyhunt.enrich.forwarding import forwarding, split_command_line
from proxyhunt.model import REGISTRY_DELETE, REGISTRY_SET
from tests.conftest import process_event

CASES = [
    # netsh in the abbreviated syntax of the real corpus sample, and in full.
    (
        "netsh.exe",
        "netsh  I p a v l=8001 listena=1.2.3.4 connectp=3389 c=1.2.3.5",
        ["portproxy 1.2.3.4:8001 -> 1.2.3.5:3389"],
    ),
    (
        "netsh.exe",
        "netsh interface portproxy add v4tov6 listenport=8080 connectaddress=fe80::1 "
        "connectport=80",
        ["portproxy *:8080 -> fe80::1:80"],
    ),
    (
        "netsh.exe",
        "netsh int portp add v4tov4 8080 10.0.0.5 80",
        ["portproxy *:8080 -> 10.0.0.5:80"],
    ),
    (
        "netsh.exe",
        "netsh interface portproxy delete v4tov4 listenport=8080 listenaddress=0.0.0.0",
        ["portproxy-removed 0.0.0.0:8080"],
    ),
    ("netsh.exe", "netsh advfirewall firewall add rule name=x localport=3389", []),
    # ssh and plink: spaced, glued, clustered, -o options, bind addresses, login flags.
    (
        "ssh.exe",
        "ssh.exe -N -L 9090:192.168.1.50:445 svc@10.0.0.1",
        ["local *:9090 -> 192.168.1.50:445 via svc@10.0.0.1"],
    ),
    (
        "/usr/bin/ssh",
        "ssh -fNL 5985:10.30.0.8:5985 ops@10.30.0.2",
        ["local *:5985 -> 10.30.0.8:5985 via ops@10.30.0.2"],
    ),
    ("/usr/bin/ssh", "ssh -D1080 -l root 10.0.0.1", ["dynamic *:1080 -> socks via 10.0.0.1"]),
    (
        "/usr/bin/ssh",
        "ssh -R 0.0.0.0:8080:127.0.0.1:80 u@h",
        ["remote 0.0.0.0:8080 -> 127.0.0.1:80 via u@h"],
    ),
    ("/usr/bin/ssh", "ssh -R 1080 u@h", ["dynamic remote *:1080 -> socks via u@h"]),
    (
        "/usr/bin/ssh",
        'ssh -o "LocalForward=8080 intranet:80" u@h',
        ["local *:8080 -> intranet:80 via u@h"],
    ),
    (
        "plink.exe",
        "plink.exe -ssh -batch -pw secret -R 9000:127.0.0.1:3389 -P 443 t@203.0.113.10",
        ["remote *:9000 -> 127.0.0.1:3389 via t@203.0.113.10"],
    ),
    ("/usr/bin/ssh", "ssh -l admin 10.0.0.1", []),
    # relays
    (
        "/usr/bin/socat",
        "socat TCP-LISTEN:8443,fork,reuseaddr TCP:10.20.0.15:443",
        ["relay *:8443 -> 10.20.0.15:443"],
    ),
    ("nc.exe", "nc.exe -l -p 4444 -e cmd.exe", ["listener *:4444 -> exec cmd.exe"]),
    ("nc.exe", "nc.exe  127.0.0.1 1337", []),
    (
        "chisel.exe",
        "chisel.exe client 10.0.0.99:8443 R:socks",
        ["dynamic remote *:1080 -> socks via 10.0.0.99:8443"],
    ),
    # A renamed chisel is still read by its arguments, flag values skipped.
    (
        "C:\\Users\\Public\\OneDriveSync.exe",
        "OneDriveSync.exe client --fingerprint 3f2a 10.0.0.99:8443 3389:10.0.0.5:3389",
        ["local *:3389 -> 10.0.0.5:3389 via 10.0.0.99:8443"],
    ),
]


@pytest.mark.parametrize(("image", "command_line", "expected"), CASES)
def test_forwarding_from_command_lines(image: str, command_line: str, expected: list[str]) -> None:
    event = process_event(command_line, image=image)

    assert [str(f) for f in forwarding(event)] == expected


def test_forwarding_from_portproxy_registry_value_and_its_removal() -> None:
    key = "HKLM\\System\\ControlSet001\\Services\\PortProxy\\v4tov4\\tcp\\1.2.3.4/8001"
    event = process_event("", TargetObject=key, Details="1.2.3.5/3389")
    event.category = REGISTRY_SET

    assert [str(f) for f in forwarding(event)] == ["portproxy 1.2.3.4:8001 -> 1.2.3.5:3389"]

    event.category = REGISTRY_DELETE
    event.fields["EventType"] = "DeleteValue"
    assert [str(f) for f in forwarding(event)] == ["portproxy-removed 1.2.3.4:8001"]


def test_command_lines_split_on_windows_quoting() -> None:
    assert split_command_line('"C:\\Program Files\\x.exe"  -a "b c"d e') == [
        "C:\\Program Files\\x.exe",
        "-a",
        "b cd",
        "e",
    ]
