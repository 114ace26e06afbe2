"""Each shortfall of the reference detection listed in issue 3, as its own test: the default
profile gets it right, and the seed profile still shows the reference's behaviour."""

from __future__ import annotations

import pytest

from conftest import process_event
from proxyhunt.pipeline import Detector

NETSH = "C:\\Windows\\System32\\netsh.exe"
SSH_WIN = "C:\\Windows\\System32\\OpenSSH\\ssh.exe"
PLINK = "C:\\Tools\\plink.exe"


@pytest.fixture(scope="module")
def default() -> Detector:
    return Detector.load("default")


@pytest.fixture(scope="module")
def seed() -> Detector:
    return Detector.load("seed")


def fired(detector: Detector, command_line: str, image: str, product: str = "windows") -> set[str]:
    event = process_event(command_line, image)
    event.product = product
    hit = detector.hit(event)
    return set(hit.fired) if hit else set()


def detection_type(detector: Detector, command_line: str, image: str) -> str | None:
    hit = detector.hit(process_event(command_line, image))
    return hit.detection_type if hit else None


def test_test5_linux_ssh_dynamic_forward(default: Detector, seed: Detector) -> None:
    line = "ssh -D 1080 user@192.168.1.10"
    assert fired(default, line, "/usr/bin/ssh", "linux") == {"is_ssh_tunnel"}
    assert fired(seed, line, "/usr/bin/ssh", "linux") == set()


def test_test4_netcat_relay(default: Detector, seed: Detector) -> None:
    line = "nc.exe -l -p 4444 -e cmd.exe"
    assert detection_type(default, line, "C:\\Tools\\nc.exe") == "NetcatRelay"
    assert detection_type(seed, line, "C:\\Tools\\nc.exe") is None


def test_test3_renamed_chisel(default: Detector, seed: Detector) -> None:
    line = '"C:\\Users\\Public\\svcupdate.exe" client 10.0.0.99:8443 R:socks'
    assert detection_type(default, line, "C:\\Users\\Public\\svcupdate.exe") == "ProxyToolArguments"
    assert detection_type(seed, line, "C:\\Users\\Public\\svcupdate.exe") is None


@pytest.mark.parametrize(
    ("image", "line"),
    [
        (SSH_WIN, "ssh.exe -l admin 10.0.0.5"),
        ("/usr/bin/ssh", "ssh -l root -p 2222 203.0.113.5"),
        (PLINK, "plink.exe -ssh -P 22 -l root -pw secret 10.0.0.9"),
    ],
)
def test_lowercase_login_and_port_flags_are_not_forwards(
    default: Detector, seed: Detector, image: str, line: str
) -> None:
    assert fired(default, line, image) == set()
    if image != "/usr/bin/ssh":  # the reference only looks at ssh.exe and plink.exe
        assert fired(seed, line, image) == {"is_ssh_tunnel"}, "reference folds -l into -L"


@pytest.mark.parametrize(
    ("line", "seed_fires"),
    [
        ("ssh -D1080 -N user@203.0.113.5", False),
        ("ssh -L8080:10.0.0.5:80 -N user@203.0.113.5", False),
        ("ssh -fNL 8080:10.0.0.5:80 user@203.0.113.5", False),
        ("ssh -NR 8080:127.0.0.1:3389 user@203.0.113.5", False),
        # Clustered flags before a separate -R: the reference sees the " -r ".
        ("ssh -nNT -R 2222:localhost:22 user@203.0.113.5", True),
    ],
)
def test_glued_and_clustered_flags(
    default: Detector, seed: Detector, line: str, seed_fires: bool
) -> None:
    assert "is_ssh_tunnel" in fired(default, line, SSH_WIN)
    assert bool(fired(seed, line.replace("ssh ", "ssh.exe ", 1), SSH_WIN)) is seed_fires


@pytest.mark.parametrize(
    "image", [SSH_WIN.replace("ssh.exe", "sshd.exe"), "/usr/sbin/sshd", "/usr/bin/sshd"]
)
def test_sshd_reexec_flag_is_silent(default: Detector, image: str) -> None:
    assert fired(default, f'"{image}" -R', image) == set()
    assert fired(default, f"{image} -D -R", image) == set()


@pytest.mark.parametrize(
    ("image", "seed_fires"),
    [
        ("C:\\Users\\Public\\new.exe", True),
        ("C:\\Program Files\\App\\preview.exe", True),
        ("C:\\Tools\\ioxidresolver.exe", True),
        ("C:\\Program Files\\Antivenom\\avscan.exe", True),
        ("C:\\Users\\agostini\\bin\\tool.exe", True),
        ("/usr/bin/ghost", False),
        ("C:\\Games\\adventure.exe", False),
    ],
)
def test_tool_names_do_not_match_inside_other_words(
    default: Detector, seed: Detector, image: str, seed_fires: bool
) -> None:
    assert fired(default, image, image) == set()
    assert ("is_proxy_tool" in fired(seed, image, image)) is seed_fires


@pytest.mark.parametrize(
    "image",
    [
        "C:\\T\\chisel.exe",
        "/tmp/chisel",
        "C:\\T\\chisel_1.9.1_windows_amd64.exe",
        "C:\\T\\ew.exe",
        "/tmp/ew_for_linux64",
        "C:\\T\\ew_for_win_32.exe",
        "/opt/ligolo-ng_agent_0.5.1_linux_amd64",
        "/usr/bin/gost",
        "C:\\T\\gost-windows-amd64.exe",
        "C:\\T\\iox.exe",
        "/tmp/revsocks",
        "C:\\T\\frpc.exe",
        "/usr/bin/frps",
        "C:\\T\\htran.exe",
        "C:\\T\\lcx.exe",
        "C:\\T\\ZXPortMap.exe",
        "/tmp/agent_linux_x64",
        "C:\\T\\windows_x64_admin.exe",
        "/usr/bin/3proxy",
        "C:\\T\\npc.exe",
        "/usr/bin/socat",
    ],
)
def test_tool_names_match_whole_basenames(default: Detector, image: str) -> None:
    assert "is_proxy_tool" in fired(default, image.rsplit("\\", 1)[-1], image)


@pytest.mark.parametrize(
    "line",
    [
        "netsh interface portproxy add v4tov4 listenport=8080 connectaddress=10.0.0.5",
        "netsh  I p a v l=8001 listena=1.2.3.4 connectp=3389 c=1.2.3.5",
        "netsh int portp a v4tov6 listenport=4444 connectaddress=fd00::5",
        "netsh int portproxy add v6tov4 listenport=80 connectaddress=10.0.0.5",
        "netsh interface portproxy set v6tov6 listenport=443 connectaddress=fd00::7",
        'netsh -c "interface portproxy" add v4tov4 8080 10.0.0.5 3389',
    ],
)
def test_netsh_prefixes_all_types_and_set(default: Detector, line: str) -> None:
    assert detection_type(default, line, NETSH) == "NetshPortProxy"


@pytest.mark.parametrize(
    "line",
    [
        "netsh interface portproxy delete v4tov4 listenport=8080 listenaddress=0.0.0.0",
        "netsh i p de v6tov4 listenport=8080",
        "netsh interface portproxy reset",
        "netsh int portp r",
    ],
)
def test_netsh_removal_is_reported_apart(default: Detector, seed: Detector, line: str) -> None:
    assert detection_type(default, line, NETSH) == "NetshPortProxyRemoval"
    # The word add inside listenaddress does not make a removal a creation.
    assert "is_netsh_proxy" not in fired(default, line, NETSH)
    assert "is_netsh_proxy" not in fired(seed, line, NETSH)


@pytest.mark.parametrize(
    "line",
    [
        "netsh interface portproxy show all",
        "netsh interface portproxy show v4tov4",
        "netsh advfirewall firewall add rule name=x dir=in localport=3389 action=allow",
        "netsh.exe add helper AllTheThings.dll",
        "netsh trace start capture=yes tracefile=trace.etl",
        "netsh interface show interface",
        "netsh interface ipv4 add route 10.0.0.0/8 wg0 10.8.0.5",
    ],
)
def test_netsh_other_contexts_stay_silent(default: Detector, line: str) -> None:
    assert fired(default, line, NETSH) == set()
