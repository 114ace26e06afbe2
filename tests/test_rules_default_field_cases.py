"""Field cases from ../shared/cases marked relevant to tunnel rules, read through the real
readers and scored with the default profile. Engine-only cases (windash, null, base64offset,
typing) are covered by the engine's own tests; these are the ones the rule pack must meet."""

from __future__ import annotations

from pathlib import Path

import pytest

from proxyhunt.pipeline import scan

SYSMON = '"Channel":"Microsoft-Windows-Sysmon/Operational"'


def hunt(tmp_path: Path, name: str, text: str) -> list[tuple[str, list[str]]]:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    result = scan([str(path)])
    assert not result.diagnostics.partial, result.diagnostics.warnings
    assert result.events > 0, "nothing was read"
    return [(hit.detection_type, hit.fired) for hit in result.hits]


def test_c09_flat_mordor_netsh(tmp_path: Path) -> None:
    line = (
        '{"EventTime":"2020-05-01 22:56:47","Hostname":"ws01.example.local",'
        '"SourceName":"Microsoft-Windows-Sysmon",' + SYSMON + ',"EventID":1,'
        '"RecordNumber":4242,"Image":"C:\\\\Windows\\\\System32\\\\netsh.exe",'
        '"CommandLine":"netsh interface portproxy add v4tov4 listenport=8001 '
        'connectaddress=10.0.0.5 connectport=3389","@timestamp":"2020-05-02T02:56:49.123Z"}\n'
    )
    assert hunt(tmp_path, "c09.json", line) == [
        ("NetshPortProxy", ["is_netsh_proxy", "is_portfwd"])
    ]


def test_c14_falcon_device_path_plink(tmp_path: Path) -> None:
    line = (
        '{"event_simpleName":"ProcessRollup2","event_platform":"Win",'
        '"ImageFileName":"\\\\Device\\\\HarddiskVolume3\\\\Users\\\\Public\\\\plink.exe",'
        '"CommandLine":"\\"C:\\\\Users\\\\Public\\\\plink.exe\\" -ssh -R 9000:127.0.0.1:3389 '
        'user1@203.0.113.10","RawProcessId":"6108","ParentBaseFileName":"cmd.exe"}\n'
    )
    assert hunt(tmp_path, "c14.ndjson", line) == [("SSHTunneling", ["is_ssh_tunnel"])]


def sysmon1(image: str, command_line: str) -> str:
    image, command_line = (
        v.replace("\\", "\\\\").replace('"', '\\"') for v in (image, command_line)
    )
    return f'{{{SYSMON},"EventID":1,"Image":"{image}","CommandLine":"{command_line}"}}\n'


def test_c17_netsh_all_keeps_its_and(tmp_path: Path) -> None:
    netsh = "C:\\Windows\\System32\\netsh.exe"
    text = sysmon1(
        netsh, "netsh interface portproxy add v4tov4 listenport=8001 connectaddress=10.0.0.5"
    ) + sysmon1(netsh, "netsh interface show interface")
    assert [t for t, _ in hunt(tmp_path, "c17.json", text)] == ["NetshPortProxy"]


SECURITY_4688 = (
    '<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event"><System>'
    '<Provider Name="Microsoft-Windows-Security-Auditing"/><EventID>4688</EventID>'
    '<TimeCreated SystemTime="2024-03-01T10:00:00.0000000Z"/><EventRecordID>7</EventRecordID>'
    "<Channel>Security</Channel><Computer>WS01</Computer></System><EventData>"
    '<Data Name="SubjectUserName">admin</Data><Data Name="SubjectDomainName">EXAMPLE</Data>'
    '<Data Name="NewProcessId">0x17dc</Data><Data Name="NewProcessName">{image}</Data>'
    '<Data Name="ProcessId">0x1e5c</Data><Data Name="CommandLine">{command_line}</Data>'
    '<Data Name="ParentProcessName">C:\\Windows\\System32\\cmd.exe</Data>'
    '<Data Name="MandatoryLabel">S-1-16-12288</Data></EventData></Event>\n'
)


def test_c23_security_4688_netsh(tmp_path: Path) -> None:
    text = SECURITY_4688.format(
        image="C:\\Windows\\System32\\netsh.exe",
        command_line="netsh interface portproxy add v4tov4 listenport=8001 "
        "listenaddress=0.0.0.0 connectport=3389 connectaddress=10.0.0.5",
    )
    assert hunt(tmp_path, "c23.xml", text) == [("NetshPortProxy", ["is_netsh_proxy", "is_portfwd"])]


def test_c24_and_c35_renamed_plink_on_4688_and_sysmon(tmp_path: Path) -> None:
    line = "svchelper.exe -ssh -R 9000:127.0.0.1:3389 -pw secret user1@203.0.113.10"
    image = "C:\\Users\\Public\\svchelper.exe"
    assert hunt(tmp_path, "c35.xml", SECURITY_4688.format(image=image, command_line=line)) == [
        ("SSHTunneling", ["is_ssh_tunnel"])
    ]
    assert hunt(tmp_path, "c35.json", sysmon1(image, line)) == [("SSHTunneling", ["is_ssh_tunnel"])]


def test_c24_plink_on_4688_without_an_image_field(tmp_path: Path) -> None:
    text = SECURITY_4688.format(
        image="C:\\Users\\Public\\plink.exe",
        command_line="plink.exe -ssh -R 9000:127.0.0.1:3389 user1@203.0.113.10",
    )
    assert hunt(tmp_path, "c24.xml", text) == [("SSHTunneling", ["is_ssh_tunnel"])]


AUDIT_SYSCALL = (
    "{node}type=SYSCALL msg=audit({stamp}): arch=c000003e syscall=59 success=yes exit=0 "
    'ppid=4100 pid=4242 auid=1000 uid=1000 comm="ssh" exe="/usr/bin/ssh" key="tunnel"\n'
)


@pytest.mark.parametrize(
    ("case", "records", "expected"),
    [
        (
            "c26",
            'type=EXECVE msg=audit(1700000000.123:4242): argc=5 a0="ssh" a1="-p" a2="2222" '
            'a3="-o" a4=50726F7879436F6D6D616E643D6E632031302E302E302E35203232\n',
            ("SSHProxyCommand", ["is_ssh_proxy_command"]),
        ),
        (
            "c28",
            "type=PROCTITLE msg=audit(1700000000.123:4242): proctitle=737368002D4E002D4C00383038"
            "303A31302E302E302E353A38300075736572403230332E302E3131332E3130\n",
            ("SSHTunneling", ["is_ssh_tunnel"]),
        ),
        (
            "c29",
            'node=srv01.example.local type=EXECVE msg=audit(1700000000.123:4242): argc=3 a0="ssh" '
            'a1="-D" a2="1080"\r\n',
            ("SSHTunneling", ["is_ssh_tunnel"]),
        ),
    ],
)
def test_auditd_cases(
    tmp_path: Path, case: str, records: str, expected: tuple[str, list[str]]
) -> None:
    node = "node=srv01.example.local " if case == "c29" else ""
    text = AUDIT_SYSCALL.format(node=node, stamp="1700000000.123:4242") + records
    assert hunt(tmp_path, f"{case}.log", text) == [expected]
