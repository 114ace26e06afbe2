"""Synthetic Falcon Data Replicator ProcessRollup2 NDJSON, reproducible from a seed.

The lines have the field set and value shapes of real PR2 events (see the project's notes on
telemetry formats, section 4): every value a string, NT device paths in ``ImageFileName``,
13-digit millisecond ``timestamp``, ``ProcessStartTime`` as seconds with 3 decimals, 32-hex
``aid``/``cid``, Linux and macOS variants with their own id fields. Every command line is
unique (a counter-derived token is woven into it). About one line in a thousand (by default)
is proxy or tunnel activity taken from real tunnelling command lines.

Lines are assembled from pre-escaped JSON pieces instead of ``json.dumps`` per event, so one
core writes a gigabyte in a few seconds and a 10 GB stream can be piped into a scanner.

    python -m bench.fdr --size 100M --seed 7 > sample.ndjson
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from bench.sizes import parse_size

DEFAULT_PROXY_RATE = 0.001
T0_MS = 1_717_200_000_000  # 2024-06-01, the start of the synthetic timeline
CID = "5ddb0407bef249c19c7a975f17979a1f"
BLOCK_LINES = 2048


@dataclass(frozen=True)
class Program:
    """A process the synthetic hosts run: image, parent, and a command line template.

    ``{t}`` in ``cmd`` is replaced by a per-event unique token, ``{n}`` by a small number.
    """

    platform: str  # Win, Lin, Mac
    image: str  # path without the volume prefix for Windows
    parent: str
    cmd: str
    weight: int = 10


WINDOWS = [
    Program(
        "Win",
        r"\Windows\System32\svchost.exe",
        "services.exe",
        r"C:\Windows\system32\svchost.exe -k netsvcs -p -s Schedule {t}",
        40,
    ),
    Program(
        "Win",
        r"\Windows\System32\svchost.exe",
        "services.exe",
        r"C:\Windows\system32\svchost.exe -k LocalServiceNetworkRestricted -p -s {t}",
        30,
    ),
    Program(
        "Win",
        r"\Program Files\Google\Chrome\Application\chrome.exe",
        "chrome.exe",
        r'"C:\Program Files\Google\Chrome\Application\chrome.exe" --type=renderer '
        r"--lang=en-US --renderer-client-id={n} --field-trial-handle={t}",
        60,
    ),
    Program(
        "Win",
        r"\Program Files (x86)\Microsoft\Edge\Application\msedge.exe",
        "msedge.exe",
        r'"C:\Program Files (x86)\Microsoft\Edge\Application\msedge.exe" --type=utility '
        r"--utility-sub-type=network.mojom.NetworkService --mojo-platform-channel-handle={t}",
        40,
    ),
    Program(
        "Win",
        r"\Windows\System32\conhost.exe",
        "cmd.exe",
        r"\??\C:\Windows\system32\conhost.exe 0xffffffff -ForceV1 {t}",
        25,
    ),
    Program(
        "Win",
        r"\Windows\System32\cmd.exe",
        "explorer.exe",
        r'C:\Windows\system32\cmd.exe /c "C:\Users\{u}\AppData\Local\Temp\{t}.bat"',
        20,
    ),
    Program(
        "Win",
        r"\Windows\System32\WindowsPowerShell\v1.0\powershell.exe",
        "cmd.exe",
        r"powershell.exe -NoProfile -ExecutionPolicy Bypass -File "
        r"C:\ProgramData\Scripts\inventory-{t}.ps1",
        15,
    ),
    Program(
        "Win",
        r"\Windows\System32\rundll32.exe",
        "svchost.exe",
        r"C:\Windows\System32\rundll32.exe C:\Windows\System32\shell32.dll,"
        r"SHCreateLocalServerRunDll {{{t}}} -Embedding",
        10,
    ),
    Program(
        "Win",
        r"\Program Files\Git\cmd\git.exe",
        "Code.exe",
        r'"C:\Program Files\Git\cmd\git.exe" -c core.quotepath=false fetch origin {t}',
        10,
    ),
    Program(
        "Win",
        r"\Users\{u}\AppData\Local\Microsoft\Teams\current\Teams.exe",
        "Teams.exe",
        r'"C:\Users\{u}\AppData\Local\Microsoft\Teams\current\Teams.exe" --type=gpu-process '
        r"--user-data-dir=C:\Users\{u}\AppData\Roaming\Microsoft\Teams --session={t}",
        15,
    ),
    Program(
        "Win",
        r"\Windows\System32\netsh.exe",
        "cmd.exe",
        r"netsh advfirewall firewall add rule name=app-{t} dir=in action=allow "
        r"protocol=TCP localport={n}",
        2,
    ),
    Program(
        "Win",
        r"\Windows\System32\OpenSSH\ssh.exe",
        "powershell.exe",
        r"ssh.exe git@github.com git-upload-pack 'org/repo-{t}.git'",
        2,
    ),
    Program(
        "Win",
        r"\Windows\System32\reg.exe",
        "cmd.exe",
        r"reg query HKLM\Software\Microsoft\Windows\CurrentVersion\Run /v agent{t}",
        5,
    ),
    Program(
        "Win",
        r"\Program Files\Java\jdk-17\bin\java.exe",
        "cmd.exe",
        r'"C:\Program Files\Java\jdk-17\bin\java.exe" -Xmx2g -jar build-{t}.jar',
        5,
    ),
]
LINUX = [
    Program("Lin", "/usr/bin/bash", "sshd", "/bin/bash -c /opt/app/bin/healthcheck --id {t}", 20),
    Program(
        "Lin",
        "/usr/bin/python3.11",
        "bash",
        "/usr/bin/python3 /opt/etl/run.py --batch {t} --workers {n}",
        15,
    ),
    Program(
        "Lin",
        "/usr/bin/pgbackrest",
        "postgres",
        "pgbackrest --stanza=main archive-push pg_wal/{t}",
        8,
    ),
    Program("Lin", "/usr/bin/curl", "bash", "curl -fsS https://repo.example.net/{t}.tar.gz", 8),
    Program("Lin", "/usr/bin/ssh", "bash", "ssh -o BatchMode=yes backup@10.1.{n}.7 true {t}", 3),
    Program("Lin", "/usr/sbin/cron", "cron", "/usr/sbin/CRON -f -P {t}", 10),
]
MAC = [
    Program("Mac", "/usr/libexec/xpcproxy", "launchd", "xpcproxy com.apple.mdworker.{t}", 10),
    Program("Mac", "/usr/bin/osascript", "launchd", "osascript -e 'display {t}'", 3),
]
# Real tunnelling command lines (netsh from EVTX-ATTACK-SAMPLES, the rest in the shapes the
# tools' own documentation gives), with {a}/{p} for addresses and ports.
PROXY = [
    Program(
        "Win",
        r"\Windows\System32\netsh.exe",
        "cmd.exe",
        "netsh  interface portproxy add v4tov4 listenport={p} listenaddress=0.0.0.0 "
        "connectport=3389 connectaddress={a}",
    ),
    Program(
        "Win",
        r"\Windows\System32\netsh.exe",
        "cmd.exe",
        "netsh  I p a v l={p} listena=1.2.3.4 connectp=3389 c={a}",
    ),
    Program(
        "Win",
        r"\Users\Public\plink.exe",
        "cmd.exe",
        "plink.exe -ssh -R {p}:127.0.0.1:3389 user1@{a}",
    ),
    Program(
        "Win",
        r"\Windows\System32\OpenSSH\ssh.exe",
        "powershell.exe",
        "ssh.exe -N -R {p}:127.0.0.1:3389 user1@{a}",
    ),
    Program(
        "Win",
        r"\Users\Public\chisel.exe",
        "cmd.exe",
        "chisel.exe client {a}:8443 R:{p}:127.0.0.1:3389",
    ),
    Program("Win", r"\ProgramData\frpc.exe", "cmd.exe", r"C:\ProgramData\frpc.exe -c frpc.ini"),
    Program("Lin", "/usr/bin/ssh", "bash", "ssh -N -L {p}:10.0.0.5:80 user1@{a}"),
    Program("Lin", "/usr/bin/socat", "bash", "socat TCP-LISTEN:{p},fork TCP:{a}:22"),
    Program(
        "Lin", "/tmp/ligolo-agent", "bash", "/tmp/ligolo-agent -connect {a}:11601 -ignore-cert"
    ),
]
PLATFORMS = ("Win", "Lin", "Mac")
_AUTH_IDS = (997, 999, 996, 5234911)
_INTEGRITY = ("8192", "16384", "12288", "8192")
_UIDS = (0, 1000, 1001, 33)
USERS = ["alice", "bob", "svc_backup", "j.doe", "m.rossi", "admin01"]


def _j(text: str) -> str:
    """``text`` as the inside of a JSON string (no quotes)."""
    return json.dumps(text, ensure_ascii=False)[1:-1]


def _cumulative(programs: list[Program]) -> list[int]:
    total, out = 0, []
    for program in programs:
        total += program.weight
        out.append(total)
    return out


def _escape_cmd(cmd: str, platform: str) -> str:
    # The sensor's encoder writes "=" as \u003d in Linux/macOS command lines (observed).
    text = _j(cmd)
    return text if platform == "Win" else text.replace("=", "\\u003d")


def _pairs(pairs: list[tuple[str, str]]) -> str:
    # Escaped for %-formatting: these pieces become part of a template.
    return ", ".join(f'"{k}": "{_j(v)}"' for k, v in pairs).replace("%", "%%")


def _hex(rng: random.Random, digits: int) -> str:
    return f"{rng.getrandbits(digits * 4):0{digits}x}"


@dataclass(frozen=True)
class Host:
    platform: str
    aid: str
    aip: str
    volume: int
    name: str
    user: str
    sid: str


class Generator:
    """Writes the stream; the same seed gives the same bytes."""

    def __init__(self, seed: int, proxy_rate: float = DEFAULT_PROXY_RATE) -> None:
        self.rng = random.Random(seed)
        self.proxy_rate = proxy_rate
        self.hosts = [self._host(i) for i in range(200)]
        self.benign = {p: [x for x in WINDOWS + LINUX + MAC if x.platform == p] for p in PLATFORMS}
        self.cum_weights = {p: _cumulative(self.benign[p]) for p in PLATFORMS}
        self.hashes: dict[str, tuple[str, str]] = {}
        self.templates: dict[tuple[str, Program], str] = {}
        self.counter = 0
        self.time_ms = T0_MS

    def _host(self, i: int) -> Host:
        rng = self.rng
        platform = rng.choices(["Win", "Lin", "Mac"], weights=[80, 15, 5])[0]
        user = rng.choice(USERS)
        rid = 1100 + i
        return Host(
            platform=platform,
            aid=_hex(rng, 32),
            aip=f"198.51.100.{rng.randrange(1, 255)}",
            volume=rng.choice([1, 2, 3, 4]),
            name=f"{'WS' if platform == 'Win' else 'srv'}{i:04d}",
            user=user,
            sid=f"S-1-5-21-1004336348-1177238915-682003330-{rid}",
        )

    def lines(self, size: int) -> Iterator[bytes]:
        """Blocks of whole lines until at least ``size`` bytes were produced."""
        produced = 0
        while produced < size:
            block = "".join(self._line() for _ in range(BLOCK_LINES)).encode()
            produced += len(block)
            yield block

    def _line(self) -> str:
        rng = self.rng
        self.counter += 1
        self.time_ms += rng.randrange(1, 40)
        host = self.hosts[rng.getrandbits(16) % len(self.hosts)]
        if rng.random() < self.proxy_rate:
            candidates = [p for p in PROXY if p.platform == host.platform] or PROXY
            program = rng.choice(candidates)
        else:
            pool = self.benign[host.platform]
            program = rng.choices(pool, cum_weights=self.cum_weights[host.platform])[0]
        return self._render(host, program)

    def _render(self, host: Host, program: Program) -> str:
        rng = self.rng
        bits = rng.getrandbits
        token = f"{self.counter:x}{bits(24):06x}"
        cmd = program.cmd.format(
            t=token,
            n=bits(7) + 1,
            u=host.user,
            p=1025 + bits(15),
            a=f"203.0.113.{bits(7) + 1}",
        )
        tpid = 7_000_000_000 + self.counter * 13
        return self._template(host, program) % (
            self.time_ms,
            (self.time_ms - 5 - bits(9)) / 1000,
            bits(32),
            bits(16),
            _escape_cmd(cmd, host.platform),
            tpid,
            tpid - (13 + bits(16)) * 13,
            tpid - 13,
            100 + bits(16),
            300_000_000_000 + bits(24),
            self._varying(host),
            (self.counter >> 20) % 100,
        )

    def _template(self, host: Host, program: Program) -> str:
        """The line with %-slots for what changes per event; cached per host and program."""
        key = (host.aid, program)
        cached = self.templates.get(key)
        if cached is not None:
            return cached
        image = program.image.format(u=host.user)
        if program.platform == "Win":
            image = f"\\Device\\HarddiskVolume{host.volume}{image}"
        md5, sha256 = self._hashes(image)
        name = {
            "Win": "ProcessRollup2V19",
            "Lin": "ProcessRollup2LinV6",
            "Mac": "ProcessRollup2MacV5",
        }
        head = [
            ("event_simpleName", "ProcessRollup2"),
            ("name", name[host.platform]),
            ("event_platform", host.platform),
        ]
        fixed = [
            ("aid", host.aid),
            ("cid", CID),
            ("aip", host.aip),
        ]
        tail = [
            ("MD5HashData", md5),
            ("SHA256HashData", sha256),
            ("SHA1HashData", "0" * 40),
            ("ConfigBuild", "1007.3.0017312.1"),
        ]
        template = (
            _pairs(head)
            + ', "timestamp": "%d", "ProcessStartTime": "%.3f", "ProcessEndTime": "", '
            + _pairs(fixed)
            + ', "id": "%08x-20bb-11ed-%04x-0685b11669dd", '
            + _pairs([("ImageFileName", image)])
            + ', "CommandLine": "%s", '
            + _pairs([("ParentBaseFileName", program.parent)])
            + ', "TargetProcessId": "%d", "ParentProcessId": "%d", "SourceProcessId": "%d", '
            + '"RawProcessId": "%d", "SourceThreadId": "%d", %s, '
            + _pairs(tail)
            + ', "ConfigStateHash": "27649968%02d", "Entitlements": "15", '
            + '"EffectiveTransmissionClass": "3", '
            + '"Tags": "41, 53, 54, 12094627905582, 12094627906234"}\n'
        )
        template = "{" + template
        self.templates[key] = template
        return template

    def _varying(self, host: Host) -> str:
        """The identity fields, which differ per event as much as per host."""
        bits = self.rng.getrandbits
        if host.platform == "Win":
            return (
                f'"UserSid": "{host.sid}", "AuthenticationId": "{_AUTH_IDS[bits(2)]}", '
                f'"ParentAuthenticationId": "997", "SessionId": "{bits(1)}", '
                f'"IntegrityLevel": "{_INTEGRITY[bits(2)]}", "TokenType": "2", '
                f'"ImageSubsystem": "{2 + bits(1)}", "ProcessCreateFlags": "525324", '
                '"WindowFlags": "128", "SignInfoFlags": "9175042"'
            )
        uid = _UIDS[bits(2)]
        user = "root" if uid == 0 else host.user
        ids = ", ".join(f'"{k}": "{uid}"' for k in ("UID", "GID", "RUID", "RGID", "SVUID", "SVGID"))
        return (
            f'"ComputerName": "{host.name}", "UserName": "{_j(user)}", {ids}, '
            f'"SessionProcessId": "{10**12 + bits(39)}", "ProcessGroupId": "{10**12 + bits(39)}"'
        )

    def _hashes(self, image: str) -> tuple[str, str]:
        # The same binary has the same hashes everywhere, as in real data.
        key = image.rsplit("\\", 1)[-1].rsplit("/", 1)[-1]
        if key not in self.hashes:
            self.hashes[key] = (_hex(self.rng, 32), _hex(self.rng, 64))
        return self.hashes[key]


def write(out: BinaryIO, size: int, seed: int, proxy_rate: float = DEFAULT_PROXY_RATE) -> int:
    """Write at least ``size`` bytes of whole lines to ``out``; returns the bytes written."""
    written = 0
    for block in Generator(seed, proxy_rate).lines(size):
        out.write(block)
        written += len(block)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.fdr", description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=parse_size, default=parse_size("100M"))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--proxy-rate", type=float, default=DEFAULT_PROXY_RATE)
    args = parser.parse_args(argv)
    try:
        write(sys.stdout.buffer, args.size, args.seed, args.proxy_rate)
    except BrokenPipeError:
        # The reader stopped early (e.g. `| head`): not an error for a generator.
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
