"""Field cases about event content and field mapping (../shared/cases/): C06, C08, C09, C11,
C14, C23, C24, C25, C30, C35.

Inputs are written in their real export format and read through the registry and the
normalisers (``iter_events``), so the test covers sniffing, dialect detection and mapping.
Rule checks compile inline Sigma rules with the engine; "the tool flags it" checks run the
default profile end to end.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sigma.rule import SigmaRule

from hostile_inputs import (
    jsonl_rows,
    ndjson,
    read_events,
    read_records,
    run_cli,
    run_cli_subprocess,
    scan_args,
)
from hostile_inputs import write_bytes as write
from proxyhunt.cli import exitcodes
from proxyhunt.engine import compile_rules
from proxyhunt.errors import RuleError
from proxyhunt.model import PROCESS_CREATION, Event

SYSMON = {
    "Channel": "Microsoft-Windows-Sysmon/Operational",
    "SourceName": "Microsoft-Windows-Sysmon",
}
SECURITY = {"Channel": "Security", "SourceName": "Microsoft-Windows-Security-Auditing"}
PLINK_R = "plink.exe -ssh -R 9000:127.0.0.1:3389 user1@203.0.113.10"


def rule(detection: dict[str, Any], logsource: dict[str, str] | None = None) -> SigmaRule:
    return SigmaRule.from_dict(
        {
            "title": "field case rule",
            "logsource": logsource or {"category": "process_creation", "product": "windows"},
            "detection": {"condition": "sel", **detection},
        }
    )


def matching(rules: list[SigmaRule], event: Event) -> bool:
    return bool(compile_rules(rules).match(event))


def only_event(path: Path) -> Event:
    events, diag = read_events([path])
    assert len(events) == 1, (events, diag.warnings)
    return events[0]


def hits_for(path: Path, capfd: pytest.CaptureFixture[str]) -> tuple[int, list[dict], str]:
    code, out, err = run_cli(scan_args(path), capfd)
    return code, jsonl_rows(out), err


# -- C06: unnamed and empty <Data> elements -----------------------------------------------------

C06_DATA = ["svc-check", "", "[CLIENT: 10.0.0.7]"]


def _data_values(event_or_record: dict[str, Any]) -> list[str] | None:
    value = event_or_record.get("Data")
    return list(value) if isinstance(value, list | tuple) else value


def test_c06_xml_unnamed_data_keeps_order_and_empty_elements() -> None:
    from proxyhunt.sources.syslog import event_from_xml

    xml = (
        "<Event><System><Provider Name='MSSQLSERVER'/><EventID>17836</EventID>"
        "<Channel>Application</Channel><Computer>ws01.example.local</Computer></System>"
        "<EventData><Data>svc-check</Data><Data /><Data>[CLIENT: 10.0.0.7]</Data></EventData>"
        "</Event>"
    )
    assert _data_values(event_from_xml(xml)) == C06_DATA


def test_c06_winlogbeat_params_become_the_same_ordered_list(tmp_path: Path) -> None:
    doc = {
        "@timestamp": "2024-03-01T10:00:00Z",
        "winlog": {
            "channel": "Application",
            "event_id": 17836,
            "provider_name": "MSSQLSERVER",
            "computer_name": "ws01.example.local",
            "event_data": {"param1": "svc-check", "param3": "[CLIENT: 10.0.0.7]"},
        },
    }
    records, diag = read_records([write(tmp_path / "wlb.ndjson", ndjson(doc))])
    assert len(records) == 1, diag.warnings
    assert _data_values(records[0].data) == C06_DATA


def test_c06_data_rule_matches_any_element() -> None:
    event = Event(
        fields={"Data": C06_DATA},  # type: ignore[dict-item]
        time=None,
        category="other",
        product="windows",
        service="application",
        event_id="17836",
        source="t",
        locator="record 1",
        fmt="t",
    )
    logsource = {"product": "windows", "service": "application"}
    assert matching([rule({"sel": {"Data|contains": "CLIENT: 10."}}, logsource)], event)
    # Whole-element equality: the list is not matched as one glued string.
    assert matching([rule({"sel": {"Data": "svc-check"}}, logsource)], event)
    assert not matching([rule({"sel": {"Data|contains": "check[CLIENT"}}, logsource)], event)


# -- C08: positional misalignment --------------------------------------------------------------

C08_SHIFTED = {
    "EventID": 3,
    **SYSMON,
    "Image": "C:\\Windows\\System32\\svchost.exe",
    "Initiated": "true",
    "SourceIp": "127.0.0.1",
    "SourceHostname": "ws01.example.local",
    "SourcePort": "3389",
    "SourcePortName": "false",
    "DestinationIsIpv6": "127.0.0.1",
    "DestinationIp": "ws01.example.local",
    "DestinationHostname": "51234",
    "DestinationPort": "%16",
    "DestinationPortName": "%17",
}
C08_ALIGNED = {
    "EventID": 3,
    **SYSMON,
    "Image": "C:\\Windows\\System32\\svchost.exe",
    "Initiated": "true",
    "SourceIsIpv6": "false",
    "SourceIp": "127.0.0.1",
    "SourceHostname": "ws01.example.local",
    "SourcePort": "3389",
    "SourcePortName": "",
    "DestinationIsIpv6": "false",
    "DestinationIp": "127.0.0.1",
    "DestinationHostname": "ws01.example.local",
    "DestinationPort": "51234",
    "DestinationPortName": "",
}


def test_c08_shifted_values_are_reported_not_evaluated_silently(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path / "sysmon3.json", ndjson(C08_SHIFTED, C08_ALIGNED))
    code, _, err = hits_for(path, capfd)

    assert re.search(r"line 1\b.*misaligned", err, re.I), err
    assert not re.search(r"line 2\b.*misaligned", err, re.I), "a well-formed event is not flagged"
    assert code in (exitcodes.PARTIAL, exitcodes.PARTIAL_HITS), "never a clean result"


@pytest.mark.parametrize(
    "field,value",
    [
        ("DestinationPort", "%16"),
        ("DestinationPort", "port"),
        ("SourcePort", "99999"),
        ("DestinationIp", "ws01.example.local"),
        ("SourceIsIpv6", "127.0.0.1"),
    ],
)
def test_c08_every_typed_field_is_checked(tmp_path: Path, field: str, value: str) -> None:
    events, diag = read_events([write(tmp_path / "e.json", ndjson({**C08_ALIGNED, field: value}))])
    assert any("misaligned" in line for line in diag.warnings), (field, diag.warnings)


# -- C09: flat Mordor/NXLog JSON ----------------------------------------------------------------

C09 = {
    "EventTime": "2020-05-01 22:56:47",
    "Hostname": "ws01.example.local",
    "SourceName": "Microsoft-Windows-Sysmon",
    "Channel": "Microsoft-Windows-Sysmon/Operational",
    "EventID": 1,
    "RecordNumber": 4242,
    "Image": "C:\\Windows\\System32\\netsh.exe",
    "CommandLine": (
        "netsh interface portproxy add v4tov4 listenport=8001 connectaddress=10.0.0.5 "
        "connectport=3389"
    ),
    "@timestamp": "2020-05-02T02:56:49.123Z",
}


def test_c09_flat_layout_maps_system_fields(tmp_path: Path) -> None:
    records, diag = read_records([write(tmp_path / "mordor.json", ndjson(C09))])
    assert len(records) == 1, diag.warnings
    data = records[0].data
    assert data["Provider"] == "Microsoft-Windows-Sysmon"
    assert data["Computer"] == "ws01.example.local"
    assert str(data["EventRecordID"]) == "4242"


def test_c09_time_comes_from_the_zone_qualified_stamp(tmp_path: Path) -> None:
    event = only_event(write(tmp_path / "mordor.json", ndjson(C09)))
    assert event.time == datetime(2020, 5, 2, 2, 56, 49, 123000, tzinfo=UTC)
    assert event.fields["Image"] == C09["Image"]
    assert event.fields["Computer"] == "ws01.example.local"


def test_c09_zoneless_time_alone_is_not_taken_as_utc(tmp_path: Path) -> None:
    local_only = {k: v for k, v in C09.items() if k != "@timestamp"}
    event = only_event(write(tmp_path / "mordor.json", ndjson(local_only)))
    assert event.time != datetime(2020, 5, 1, 22, 56, 47, tzinfo=UTC)


def test_c09_netsh_rule_matches(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    code, hits, err = hits_for(write(tmp_path / "mordor.json", ndjson(C09)), capfd)
    assert code == exitcodes.HITS, err
    assert len(hits) == 1


# -- C11: BOM, CRLF, line breaks in quoted values ------------------------------------------------

SSH_L = "ssh -N -L 8080:10.0.0.5:80 user1@203.0.113.10"


@pytest.mark.parametrize("eol", [b"\r\n", b"\n"], ids=["crlf", "lf"])
@pytest.mark.parametrize("bom", [b"\xef\xbb\xbf", b""], ids=["bom", "no-bom"])
def test_c11_ndjson_first_line_survives_bom_and_crlf(
    tmp_path: Path, eol: bytes, bom: bytes
) -> None:
    first = {"EventID": 1, **SYSMON, "Image": "C:\\ssh.exe", "CommandLine": SSH_L}
    second = {"EventID": 1, **SYSMON, "Image": "C:\\whoami.exe", "CommandLine": "whoami"}
    path = write(tmp_path / "bom.ndjson", bom + ndjson(first, second, eol=eol))

    events, diag = read_events([path])
    assert [e.fields["CommandLine"] for e in events] == [SSH_L, "whoami"], diag.warnings
    assert not diag.partial
    for event in events:
        assert not any(str(v).endswith("\r") for v in event.fields.values() if v)


def test_c11_falcon_ndjson_first_line_survives_bom_and_crlf(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    first = {**C14, "aid": "a1"}
    second = {**C14, "aid": "a1", "CommandLine": "whoami"}
    path = write(tmp_path / "fdr.ndjson", b"\xef\xbb\xbf" + ndjson(first, second, eol=b"\r\n"))
    events, diag = read_events([path])
    assert [e.fields["CommandLine"] for e in events] == [C14["CommandLine"], "whoami"]
    assert not diag.partial, diag.warnings
    # The default (parallel, prefiltered) scan path too.
    code, out, err = run_cli_subprocess(["scan", str(path), "-f", "jsonl", "--no-progress"])
    assert code == exitcodes.HITS, err


def test_c11_json_array_with_bom(tmp_path: Path) -> None:
    doc = [{"EventID": 1, **SYSMON, "Image": "C:\\ssh.exe", "CommandLine": SSH_L}]
    events, diag = read_events(
        [write(tmp_path / "a.json", b"\xef\xbb\xbf" + json.dumps(doc).encode())]
    )
    assert [e.fields["CommandLine"] for e in events] == [SSH_L], diag.warnings


C11_CSV = (
    b"\xef\xbb\xbfUtcTime,Image,CommandLine\r\n"
    b'2024-03-01 10:00:00.000,C:\\Windows\\System32\\netsh.exe,"netsh interface portproxy add '
    b'v4tov4 listenport=8001 connectaddress=10.0.0.5 connectport=3389 ""x""\r\nsecond line"\r\n'
)


def test_c11_csv_is_read_exactly_or_reported_unread(tmp_path: Path) -> None:
    """proxyhunt has no CSV reader yet: a CSV export must be named as not read, never misread."""
    path = write(tmp_path / "export.csv", C11_CSV)
    records, diag = read_records([path])
    if not records:
        assert str(path) in diag.files_unreadable
        return
    assert len(records) == 1
    assert list(records[0].data)[:3] == ["UtcTime", "Image", "CommandLine"]
    assert records[0].data["CommandLine"].endswith('connectport=3389 "x"\r\nsecond line')


# -- C14: Falcon device paths, missing basename, locale numbers -----------------------------------

C14 = {
    "event_simpleName": "ProcessRollup2",
    "event_platform": "Win",
    "ImageFileName": "\\Device\\HarddiskVolume3\\Users\\Public\\plink.exe",
    "CommandLine": '"C:\\Users\\Public\\plink.exe" -ssh -R 9000:127.0.0.1:3389 user1@203.0.113.10',
    "RawProcessId": "6108",
    "ParentBaseFileName": "cmd.exe",
    "ComputerName": "ws01",
    "timestamp": "1706386977497",
}


def test_c14_device_path_image_matches_endswith(tmp_path: Path) -> None:
    event = only_event(write(tmp_path / "fdr.ndjson", ndjson(C14)))
    assert event.category == PROCESS_CREATION
    assert event.fields["Image"] == C14["ImageFileName"]
    assert matching([rule({"sel": {"Image|endswith": "\\plink.exe"}})], event)
    assert event.columns["ImageFileName"].rsplit("\\", 1)[-1] == "plink.exe"


def test_c14_drive_letter_rule_is_not_silently_false(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Either a volume mapping serves the rule, or the engine says it cannot evaluate it."""
    event = only_event(write(tmp_path / "fdr.ndjson", ndjson(C14)))
    drive_rule = rule({"sel": {"Image|startswith": "C:\\Users\\"}})
    with caplog.at_level(logging.INFO, logger="proxyhunt"):
        matched = matching([drive_rule], event)
    assert matched or re.search(r"drive|volume|not evaluable", caplog.text, re.I), caplog.text


def test_c14_locale_formatted_pid() -> None:
    from proxyhunt.normalise.values import pid

    assert pid("6,108") == "6108"
    assert pid("6108") == "6108"


def test_c14_linux_slash_image_falls_back_to_argv0(tmp_path: Path) -> None:
    linux = {
        **C14,
        "event_platform": "Lin",
        "ImageFileName": "/",
        "CommandLine": "/usr/bin/ssh -N -R 9000:127.0.0.1:22 user1@203.0.113.10",
    }
    event = only_event(write(tmp_path / "fdr.ndjson", ndjson(linux)))
    assert event.fields["Image"] == "/usr/bin/ssh"


# -- C23: Security 4688 mapped onto Sysmon names -------------------------------------------------

C23_CLI = (
    "netsh interface portproxy add v4tov4 listenport=8001 listenaddress=0.0.0.0 connectport=3389 "
    "connectaddress=10.0.0.5"
)
C23 = {
    "EventID": 4688,
    **SECURITY,
    "Hostname": "dc01.example.local",
    "NewProcessName": "C:\\Windows\\System32\\netsh.exe",
    "NewProcessId": "0x17dc",
    "ProcessId": "0x1e5c",
    "ParentProcessName": "C:\\Windows\\System32\\cmd.exe",
    "CommandLine": C23_CLI,
    "MandatoryLabel": "S-1-16-12288",
    "SubjectUserName": "admin",
    "SubjectDomainName": "EXAMPLE",
}


def test_c23_4688_fields_map_to_sysmon_names(tmp_path: Path) -> None:
    event = only_event(write(tmp_path / "4688.json", ndjson(C23)))
    assert event.category == PROCESS_CREATION
    expected = {
        "Image": "C:\\Windows\\System32\\netsh.exe",
        "ParentImage": "C:\\Windows\\System32\\cmd.exe",
        "ProcessId": "6108",
        "ParentProcessId": "7772",
        "IntegrityLevel": "High",
        "User": "EXAMPLE\\admin",
        "CommandLine": C23_CLI,
    }
    assert {name: event.fields.get(name) for name in expected} == expected
    netsh = rule(
        {
            "selection_img": [
                {"Image|endswith": "\\netsh.exe"},
                {"OriginalFileName": "netsh.exe"},
            ],
            "selection_cli": {
                "CommandLine|contains|all": ["interface", "portproxy", "add", "v4tov4"]
            },
            "condition": "all of selection_*",
        }
    )
    assert matching([netsh], event)


def test_c23_empty_command_line_is_a_reported_coverage_gap(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path / "4688.json", ndjson({**C23, "CommandLine": ""}))
    _, _, err = hits_for(path, capfd)
    assert re.search(r"command[- ]?line", err, re.I), err


# -- C24: logsource scoping, absent fields and negation -------------------------------------------

C24_A = {
    "EventID": 4688,
    **SECURITY,
    "NewProcessName": "C:\\Users\\Public\\plink.exe",
    "CommandLine": PLINK_R,
    "NewProcessId": "0x10",
    "ProcessId": "0x20",
}
C24_B = {
    "EventID": 5156,
    **SECURITY,
    "Application": "\\device\\harddiskvolume2\\windows\\system32\\svchost.exe",
    "SourceAddress": "::1",
    "SourcePort": "3389",
    "DestAddress": "::1",
    "DestPort": "50112",
}
C24_C = {"EventID": 1, "Channel": "Application", "SourceName": "Microsoft-Windows-Wcmsvc"}


def test_c24_only_process_sources_are_process_creation(tmp_path: Path) -> None:
    events, diag = read_events([write(tmp_path / "mix.json", ndjson(C24_A, C24_B, C24_C))])
    assert len(events) == 3, diag.warnings
    a, b, c = events
    assert a.category == PROCESS_CREATION
    assert a.fields["Image"] == "C:\\Users\\Public\\plink.exe"
    assert b.category != PROCESS_CREATION
    assert c.category != PROCESS_CREATION

    non_exe = rule({"sel": {"Image|endswith": ".exe"}, "condition": "not sel"})
    assert [matching([non_exe], e) for e in events] == [False, False, False]


def test_c24_plink_on_4688_is_flagged(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    code, hits, err = hits_for(write(tmp_path / "a.json", ndjson(C24_A)), capfd)
    assert code == exitcodes.HITS, err
    assert len(hits) == 1


# -- C25: 5156 field names --------------------------------------------------------------------

C25 = {
    "EventID": 5156,
    **SECURITY,
    "Application": "\\device\\harddiskvolume2\\windows\\system32\\svchost.exe",
    "SourceAddress": "127.0.0.1",
    "SourcePort": "50112",
    "DestAddress": "127.0.0.1",
    "DestPort": "3389",
    "Direction": "%%14593",
}
SECURITY_LOGSOURCE = {"product": "windows", "service": "security"}


def test_c25_native_5156_names_match(tmp_path: Path) -> None:
    event = only_event(write(tmp_path / "5156.json", ndjson(C25)))
    rule_b = rule(
        {"sel": {"EventID": 5156, "DestPort": 3389, "DestAddress|cidr": "127.0.0.0/8"}},
        SECURITY_LOGSOURCE,
    )
    assert matching([rule_b], event)


def test_c25_sysmon_names_on_5156_match_or_are_warned_about(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    event = only_event(write(tmp_path / "5156.json", ndjson(C25)))
    rule_a = rule(
        {"sel": {"EventID": 5156, "DestinationPort": 3389, "DestinationIp|cidr": "127.0.0.0/8"}},
        SECURITY_LOGSOURCE,
    )
    with caplog.at_level(logging.WARNING, logger="proxyhunt"):
        try:
            matched = matching([rule_a], event)
        except RuleError as exc:  # refusing the rule, with the reason, is also right
            assert "DestinationPort" in str(exc)
            return
    assert matched or "DestinationPort" in caplog.text, "a rule that can never match is silent"


# -- C30: duplicate keys in JSON objects -------------------------------------------------------

C30_LINE = (
    b'{"category":"execve","details":{"auditserial":"4246","path":"/usr/bin/ssh",'
    b'"path":"/lib64/ld-linux-x86-64.so.2",'
    b'"command":"ssh -N -R 9000:127.0.0.1:22 user1@203.0.113.10"}}\n'
)


def test_c30_duplicate_keys_do_not_stop_the_file(tmp_path: Path) -> None:
    first = (
        b'{"EventID":1,"Channel":"Microsoft-Windows-Sysmon/Operational","Image":"C:\\\\a.exe",'
        b'"CommandLine":"whoami","CommandLine":"ssh -R 9000:127.0.0.1:3389 u@203.0.113.10"}\n'
    )
    second = ndjson({"EventID": 1, **SYSMON, "Image": "C:\\b.exe", "CommandLine": "hostname"})
    events, diag = read_events([write(tmp_path / "dup.json", first + second)])
    assert len(events) == 2, diag.warnings
    command = events[0].fields["CommandLine"]
    # Either every value is kept, or one documented value plus a warning.
    assert "ssh -R" in str(command)
    assert "whoami" in str(command) or any("duplicate" in w for w in diag.warnings)


def test_c30_audisp_json_remote_forward_is_found(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    code, hits, err = hits_for(write(tmp_path / "audisp.json", C30_LINE), capfd)
    assert code == exitcodes.HITS, err
    assert len(hits) == 1


# -- C35: renamed plink, Sysmon-only fields --------------------------------------------------------

C35_CLI = "svchelper.exe -ssh -R 9000:127.0.0.1:3389 -pw secret user1@203.0.113.10"
C35_SYSMON = {
    "EventID": 1,
    **SYSMON,
    "Image": "C:\\Users\\Public\\svchelper.exe",
    "OriginalFileName": "Plink",
    "Description": "Command-line SSH, Telnet, and Rlogin client",
    "CommandLine": C35_CLI,
}
C35_4688 = {
    "EventID": 4688,
    **SECURITY,
    "NewProcessName": "C:\\Users\\Public\\svchelper.exe",
    "CommandLine": C35_CLI,
    "NewProcessId": "0x10",
    "ProcessId": "0x20",
}
SIGMAHQ_PLINK = {
    "sel": {
        "Description": "Command-line SSH, Telnet, and Rlogin client",
        "CommandLine|contains": " -R ",
    }
}


def test_c35_sigmahq_plink_rule_on_sysmon_only(tmp_path: Path) -> None:
    events, diag = read_events([write(tmp_path / "p.json", ndjson(C35_SYSMON, C35_4688))])
    sysmon, security = events
    assert matching([rule(SIGMAHQ_PLINK)], sysmon)
    assert not matching([rule(SIGMAHQ_PLINK)], security)


def test_c35_renamed_plink_is_flagged_on_both_sources(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path / "p.json", ndjson(C35_SYSMON, C35_4688))
    code, hits, err = hits_for(path, capfd)
    assert code == exitcodes.HITS, err
    assert len(hits) == 2


def test_c25_native_names_are_not_warned_about(caplog: pytest.LogCaptureFixture) -> None:
    rule_b = rule(
        {"sel": {"EventID": 5156, "DestPort": 3389, "DestAddress|cidr": "127.0.0.0/8"}},
        SECURITY_LOGSOURCE,
    )
    with caplog.at_level(logging.WARNING, logger="proxyhunt"):
        compile_rules([rule_b])
    assert "never occur" not in caplog.text
