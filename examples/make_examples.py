"""Write the bundled sample telemetry in ``examples/telemetry/``.

Run ``python examples/make_examples.py`` to regenerate it. Every event is invented for this
project (documentation address ranges, neutral names); the five proxy scenarios are the ones
the reference LogScale detection lists in its testing methodology, mixed with ordinary
background activity, in the formats proxyhunt reads.
"""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

OUT = Path(__file__).parent / "telemetry"
T0 = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
WIN_AID = "4b1c0de5a6f7480a9b3c2d1e0f9a8b7c"
LIN_AID = "9e8d7c6b5a4f43e2a1b0c9d8e7f6a5b4"
CID = "0123456789abcdef0123456789abcdef"


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def falcon_process(
    minutes: float, image: str, cmd: str, parent: str, pid: int, **extra: str
) -> dict:
    when = at(minutes)
    platform = extra.pop("platform", "Win")
    event = {
        "event_simpleName": "ProcessRollup2",
        "name": "ProcessRollup2V19" if platform == "Win" else "ProcessRollup2LinV6",
        "event_platform": platform,
        "timestamp": str(int(when.timestamp() * 1000) + 412),
        "ProcessStartTime": f"{when.timestamp():.3f}",
        "ProcessEndTime": "",
        "aid": WIN_AID if platform == "Win" else LIN_AID,
        "cid": CID,
        "ComputerName": "WS01" if platform == "Win" else "web01",
        "UserName": "alice" if platform == "Win" else "deploy",
        "UserSid": "S-1-5-21-1004336348-1177238915-682003330-1105",
        "ImageFileName": image,
        "CommandLine": cmd,
        "ParentBaseFileName": parent,
        "TargetProcessId": str(7355100000 + pid),
        "ParentProcessId": str(7355100000 + pid - 7),
        "RawProcessId": str(pid),
        "IntegrityLevel": "8192",
        "SessionId": "1",
    }
    event.update(extra)
    return event


def falcon_events() -> list[dict]:
    vol = "\\Device\\HarddiskVolume3"
    return [
        falcon_process(
            1,
            f"{vol}\\Windows\\System32\\svchost.exe",
            "C:\\Windows\\system32\\svchost.exe -k LocalServiceNetworkRestricted -p -s "
            "WinHttpAutoProxySvc",
            "services.exe",
            4164,
        ),
        falcon_process(
            3,
            f"{vol}\\Program Files\\Google\\Chrome\\Application\\chrome.exe",
            '"C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe" '
            "--type=renderer --lang=en-US",
            "chrome.exe",
            5120,
        ),
        # Reference test 1: netsh portproxy rule creation.
        falcon_process(
            12,
            f"{vol}\\Windows\\System32\\netsh.exe",
            "netsh interface portproxy add v4tov4 listenport=8080 "
            "listenaddress=0.0.0.0 connectport=445 connectaddress=192.168.1.50",
            "cmd.exe",
            6012,
        ),
        # Reference test 2: SSH local port forwarding.
        falcon_process(
            20,
            f"{vol}\\Windows\\System32\\OpenSSH\\ssh.exe",
            "ssh.exe -N -L 9090:192.168.1.50:445 svc_backup@10.0.0.1",
            "powershell.exe",
            6230,
        ),
        # Reference test 3: chisel, once by name and once renamed.
        falcon_process(
            31,
            f"{vol}\\Users\\Public\\chisel.exe",
            "chisel.exe client 10.0.0.99:8443 R:socks",
            "cmd.exe",
            6410,
        ),
        falcon_process(
            33,
            f"{vol}\\Users\\Public\\Libraries\\OneDriveSync.exe",
            "OneDriveSync.exe client --fingerprint 3f2a 10.0.0.99:8443 R:1080:socks",
            "cmd.exe",
            6422,
        ),
        # Reference test 4: netcat relay.
        falcon_process(
            40, f"{vol}\\Users\\Public\\nc.exe", "nc.exe -l -p 4444 -e cmd.exe", "cmd.exe", 6530
        ),
        # Reference test 5: Linux SOCKS proxy through SSH dynamic forwarding.
        falcon_process(
            50, "/usr/bin/ssh", "ssh -D 1080 -N deploy@192.168.1.10", "bash", 21877, platform="Lin"
        ),
        falcon_process(
            52, "/usr/bin/git", "git fetch --prune origin", "bash", 21890, platform="Lin"
        ),
        falcon_process(
            55,
            f"{vol}\\Windows\\System32\\netsh.exe",
            "netsh advfirewall firewall show rule name=all",
            "cmd.exe",
            6801,
        ),
    ]


def sysmon_mordor(minutes: float, event_id: int, **data: str) -> dict:
    when = at(minutes)
    utc = when.strftime("%Y-%m-%d %H:%M:%S.") + "123"
    event = {
        "SourceName": "Microsoft-Windows-Sysmon",
        "ProviderGuid": "{5770385F-C22A-43E0-BF4C-06F5698FFBD9}",
        "Channel": "Microsoft-Windows-Sysmon/Operational",
        "Hostname": "SRV02.corp.example",
        "EventID": event_id,
        "@timestamp": when.strftime("%Y-%m-%dT%H:%M:%S.123Z"),
        "UtcTime": utc,
        "RuleName": "-",
    }
    event.update(data)
    return event


def sysmon_events() -> list[dict]:
    netsh = "C:\\Windows\\System32\\netsh.exe"
    return [
        sysmon_mordor(
            60,
            1,
            ProcessGuid="{e2c04bb9-08cb-60c4-eb40-400100000000}",
            ProcessId="4236",
            Image=netsh,
            CommandLine="netsh  I p a v l=8001 listena=10.1.2.3 connectp=3389 c=10.1.2.4",
            User="CORP\\svc_it",
            ParentImage="C:\\Windows\\System32\\cmd.exe",
            ParentProcessId="4100",
            ParentCommandLine='"C:\\Windows\\system32\\cmd.exe" ',
        ),
        sysmon_mordor(
            60.1,
            13,
            EventType="SetValue",
            ProcessId="4236",
            Image=netsh,
            TargetObject="HKLM\\System\\CurrentControlSet\\Services\\PortProxy\\v4tov4"
            "\\tcp\\10.1.2.3/8001",
            Details="10.1.2.4/3389",
            User="CORP\\svc_it",
        ),
        sysmon_mordor(
            61,
            17,
            EventType="CreatePipe",
            ProcessId="5012",
            PipeName="\\msagent_5f1e",
            Image="C:\\Windows\\System32\\rundll32.exe",
            User="CORP\\svc_it",
        ),
        sysmon_mordor(
            62,
            17,
            EventType="CreatePipe",
            ProcessId="3240",
            PipeName="\\mojo.3240.7112.9121936055355962917",
            Image="C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe",
            User="CORP\\bob",
        ),
        sysmon_mordor(
            63,
            1,
            ProcessId="5200",
            Image="C:\\Windows\\System32\\PING.EXE",
            CommandLine="ping -n 1 10.1.2.4",
            User="CORP\\bob",
            ParentImage="C:\\Windows\\System32\\cmd.exe",
            ParentProcessId="5100",
        ),
    ]


def security_4688(minutes: float, pid: int, ppid: int, image: str, cmd: str, parent: str) -> dict:
    when = at(minutes)
    return {
        "SourceName": "Microsoft-Windows-Security-Auditing",
        "Channel": "Security",
        "Hostname": "DC01.corp.example",
        "EventID": 4688,
        "TimeCreated": when.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "@timestamp": when.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "SubjectUserSid": "S-1-5-21-1004336348-1177238915-682003330-500",
        "SubjectUserName": "admin01",
        "SubjectDomainName": "CORP",
        "SubjectLogonId": "0x3719fb",
        "NewProcessId": hex(pid),
        "NewProcessName": image,
        "TokenElevationType": "%%1937",
        "ProcessId": hex(ppid),
        "CommandLine": cmd,
        "TargetUserSid": "S-1-0-0",
        "ParentProcessName": parent,
        "MandatoryLabel": "S-1-16-12288",
    }


def security_events() -> list[dict]:
    return [
        security_4688(
            70,
            0x1A2C,
            0x0A38,
            "C:\\Tools\\plink.exe",
            "plink.exe -ssh -batch -R 9000:127.0.0.1:3389 -P 443 tunnel@203.0.113.10",
            "C:\\Windows\\System32\\cmd.exe",
        ),
        security_4688(
            71,
            0x1B00,
            0x0A38,
            "C:\\Windows\\System32\\whoami.exe",
            "whoami /all",
            "C:\\Windows\\System32\\cmd.exe",
        ),
        security_4688(
            72,
            0x1B10,
            0x0A38,
            "C:\\Windows\\System32\\netsh.exe",
            "netsh interface portproxy delete v4tov4 listenport=8080 listenaddress=0.0.0.0",
            "C:\\Windows\\System32\\cmd.exe",
        ),
    ]


def hexarg(text: str) -> str:
    return text.encode().hex().upper()


def auditd_lines() -> list[str]:
    lines: list[str] = []
    serial = 4100

    def execve(minutes: float, exe: str, argv: list[str], pid: int, ppid: int) -> None:
        nonlocal serial
        serial += 1
        stamp = f"msg=audit({at(minutes).timestamp():.3f}:{serial})"
        args = " ".join(
            f"a{i}={hexarg(a)}" if (" " in a or '"' in a) else f'a{i}="{a}"'
            for i, a in enumerate(argv)
        )
        lines.append(
            f"node=web01 type=SYSCALL {stamp}: arch=c000003e syscall=59 success=yes exit=0 "
            f"a0=5581 a1=5582 a2=5583 a3=8 items=2 ppid={ppid} pid={pid} auid=1001 uid=1001 "
            "gid=1001 euid=1001 "
            "suid=1001 fsuid=1001 egid=1001 sgid=1001 fsgid=1001 tty=pts0 ses=7 "
            f'comm="{argv[0][:15]}" exe="{exe}" key="exec"'
        )
        lines.append(f"node=web01 type=EXECVE {stamp}: argc={len(argv)} {args}")
        lines.append(f'node=web01 type=CWD {stamp}: cwd="/home/deploy"')
        lines.append(f"node=web01 type=PROCTITLE {stamp}: proctitle={hexarg(chr(0).join(argv))}")
        lines.append(f"node=web01 type=EOE {stamp}: ")

    execve(80, "/usr/bin/ls", ["ls", "-la", "/var/www"], 30101, 30001)
    # Reference test 5 again, as auditd sees it.
    execve(81, "/usr/bin/ssh", ["ssh", "-D", "1080", "-N", "deploy@192.168.1.10"], 30120, 30001)
    execve(
        82,
        "/usr/bin/socat",
        ["socat", "TCP-LISTEN:8443,fork,reuseaddr", "TCP:10.20.0.15:443"],
        30133,
        30001,
    )
    execve(83, "/usr/bin/crontab", ["crontab", "-l"], 30140, 30001)
    return lines


def ecs_events() -> list[dict]:
    when = at(90)
    return [
        {
            "@timestamp": when.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "event": {
                "code": "1",
                "module": "sysmon",
                "category": ["process"],
                "type": ["start", "process_start"],
                "provider": "Microsoft-Windows-Sysmon",
            },
            "winlog": {
                "channel": "Microsoft-Windows-Sysmon/Operational",
                "event_id": "1",
                "computer_name": "LAPTOP7.corp.example",
                "record_id": 91822,
                "provider_name": "Microsoft-Windows-Sysmon",
                "event_data": {"UtcTime": when.strftime("%Y-%m-%d %H:%M:%S.000")},
            },
            "host": {"name": "LAPTOP7.corp.example"},
            "process": {
                "executable": "C:\\Windows\\System32\\OpenSSH\\ssh.exe",
                "name": "ssh.exe",
                "command_line": "ssh -fNL 5985:10.30.0.8:5985 ops@10.30.0.2",
                "pid": 7212,
                "parent": {
                    "executable": "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
                    "pid": 7001,
                },
            },
            "user": {"name": "carol", "domain": "CORP"},
            "agent": {"type": "winlogbeat"},
            "ecs": {"version": "8.0.0"},
        }
    ]


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    ndjson = "".join(json.dumps(e) + "\n" for e in falcon_events())
    with gzip.GzipFile(OUT / "falcon_fdr_ws01.ndjson.gz", "wb", mtime=0) as handle:
        handle.write(ndjson.encode())
    (OUT / "sysmon_srv02_mordor.json").write_text(
        "".join(json.dumps(e) + "\n" for e in sysmon_events())
    )
    (OUT / "security_4688_dc01.json").write_text(json.dumps(security_events(), indent=1) + "\n")
    (OUT / "auditd_web01.log").write_text("\n".join(auditd_lines()) + "\n")
    (OUT / "winlogbeat_ecs_laptop7.ndjson").write_text(
        "".join(json.dumps(e) + "\n" for e in ecs_events())
    )


if __name__ == "__main__":
    main()
