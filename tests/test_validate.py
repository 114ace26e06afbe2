"""``proxyhunt validate``: shipped scenarios pass, the reference tests are covered in every
format, and a scenario that is wrong, unread or malformed is reported as such."""

from __future__ import annotations

from pathlib import Path

import pytest

from proxyhunt.cli import exitcodes
from proxyhunt.cli.main import main
from proxyhunt.validate import (
    Report,
    ScenarioError,
    load_scenarios,
    render_matrix,
    run_scenarios,
)

SSH_D_AUDITD = """\
type=SYSCALL msg=audit(1700000100.100:5001): arch=c000003e syscall=59 success=yes exit=0 \
ppid=4100 pid=4242 auid=1000 uid=1000 comm="ssh" exe="/usr/bin/ssh" key="tunnel"
type=EXECVE msg=audit(1700000100.100:5001): argc=4 a0="ssh" a1="-D" a2="1080" a3="u@10.0.0.1"
"""


@pytest.fixture(scope="module")
def shipped() -> Report:
    return run_scenarios(load_scenarios())


def failures(report: Report) -> str:
    return "\n".join(render_matrix(report).splitlines()[len(report.results) + 2 :])


def test_every_shipped_scenario_passes(shipped: Report) -> None:
    assert len(shipped.results) > 100
    assert shipped.ok, failures(shipped)


REFERENCE_FORMATS = {
    "Reference test 1": {"fdr-ndjson", "json-mordor", "event-xml"},
    "Reference test 2": {"fdr-ndjson", "json-mordor", "event-xml"},
    "Reference test 3": {"fdr-ndjson", "json-mordor", "event-xml", "auditd", "syslog-sysmon"},
    "Reference test 4": {"fdr-ndjson", "json-mordor", "event-xml", "auditd", "syslog-sysmon"},
    "Reference test 5": {"fdr-ndjson", "auditd", "syslog-sysmon"},
}


@pytest.mark.parametrize("test", sorted(REFERENCE_FORMATS))
def test_reference_tests_are_detected_in_every_format_under_default(
    shipped: Report, test: str
) -> None:
    results = [r for r in shipped.results if r.scenario.name.startswith(test)]
    formats = {fmt for r in results for fmt in r.formats}
    assert formats == REFERENCE_FORMATS[test]
    silent = [r.input.name for r in results if not r.outcomes["default"].got]
    assert not silent, f"default misses {test} in {silent}"


@pytest.mark.parametrize(
    ("test", "seed_catches"),
    [
        ("Reference test 1", lambda name: True),
        ("Reference test 2", lambda name: True),
        ("Reference test 3", lambda name: "renamed" not in name),
        ("Reference test 4", lambda name: False),
        ("Reference test 5", lambda name: False),
    ],
)
def test_seed_catches_exactly_what_the_reference_would(
    shipped: Report, test: str, seed_catches
) -> None:
    wrong = [
        r.input.name
        for r in shipped.results
        if r.scenario.name.startswith(test)
        and bool(r.outcomes["seed"].got) is not seed_catches(r.input.name)
    ]
    assert not wrong, f"seed disagrees with the reference on {test}: {wrong}"


def write_scenario(tmp_path: Path, body: str) -> str:
    path = tmp_path / "s.yml"
    path.write_text(body, encoding="utf-8")
    return str(path)


def scenario(expect_default: str, text: str = SSH_D_AUDITD, extra: str = "") -> str:
    block = "".join(f"      {line}\n" for line in text.splitlines())
    return (
        f"name: test\n{extra}inputs:\n  - format: auditd\n    text: |\n{block}"
        f"    expect:\n      default: {expect_default}\n      seed: silent\n"
    )


def test_miss_and_unexpected_hits_fail(tmp_path: Path) -> None:
    report = run_scenarios(load_scenarios([write_scenario(tmp_path, scenario("silent"))]))
    outcome = report.results[0].outcomes["default"]
    assert not report.ok and [str(d) for d in outcome.unexpected] == ["SSHTunneling[ssh_tunnel]"]

    wrong_type = scenario("[{type: NetcatRelay}]")
    report = run_scenarios(load_scenarios([write_scenario(tmp_path, wrong_type)]))
    assert "MISS+EXTRA" in render_matrix(report)


def test_exact_indicators_are_compared(tmp_path: Path) -> None:
    ok = scenario("[{type: SSHTunneling, indicators: [is_ssh_tunnel]}]")
    assert run_scenarios(load_scenarios([write_scenario(tmp_path, ok)])).ok
    extra = scenario("[{type: SSHTunneling, indicators: [is_ssh_tunnel, is_portfwd]}]")
    assert not run_scenarios(load_scenarios([write_scenario(tmp_path, extra)])).ok


def test_allowlist_suppression_is_part_of_the_expectation(tmp_path: Path) -> None:
    allow = "allowlist:\n  - {reason: lab, detection_type: SSHTunneling}\n"
    suppressed = scenario("[{type: SSHTunneling, suppressed: true}]", extra=allow)
    assert run_scenarios(load_scenarios([write_scenario(tmp_path, suppressed)])).ok
    plain = scenario("[SSHTunneling]", extra=allow)
    assert not run_scenarios(load_scenarios([write_scenario(tmp_path, plain)])).ok


def test_unread_input_fails_even_when_silence_was_expected(tmp_path: Path) -> None:
    body = scenario("silent", text="this is not telemetry in any format\n")
    report = run_scenarios(load_scenarios([write_scenario(tmp_path, body)]))
    assert not report.ok
    assert "UNREAD" in render_matrix(report)


def test_input_file_beside_the_scenario(tmp_path: Path) -> None:
    (tmp_path / "ssh.log").write_text(SSH_D_AUDITD, encoding="utf-8")
    body = "inputs:\n  - {format: auditd, file: ssh.log, expect: {default: [SSHTunneling]}}\n"
    report = run_scenarios(load_scenarios([write_scenario(tmp_path, body)]))
    assert report.ok and report.results[0].outcomes["seed"].expected is None


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("inputs: [{format: auditd, text: x, expect: {default: silent}, typo: 1}]", "typo"),
        ("inputs: [{format: auditd, expect: {default: silent}}]", "exactly one of 'text'"),
        ("inputs: [{format: auditd, text: x, expect: {other: silent}}]", "unknown profile"),
        ("inputs: [{format: auditd, file: ../x.log, expect: {default: silent}}]", "beside"),
        ("inputs: [{text: x, expect: {default: silent}}]", "'format' is required"),
        ("name: no inputs\n", "expected a mapping with name and inputs"),
    ],
)
def test_malformed_scenarios_name_file_and_input(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(ScenarioError) as err:
        load_scenarios([write_scenario(tmp_path, body)])
    assert "s.yml" in str(err.value) and message in str(err.value)


def test_cli_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = write_scenario(tmp_path, scenario("[SSHTunneling]"))
    assert main(["validate", good]) == exitcodes.CLEAN
    assert "default: expected" in capsys.readouterr().out
    bad = write_scenario(tmp_path, scenario("silent"))
    assert main(["validate", bad, "--profile", "default"]) == exitcodes.VALIDATION


def test_a_misspelt_expectation_is_a_scenario_error_not_a_miss(tmp_path: Path) -> None:
    from proxyhunt.validate import ScenarioError, load_scenarios, run_scenarios

    scenario = tmp_path / "typo.yml"
    scenario.write_text(
        "name: typo\n"
        "inputs:\n"
        "- format: falcon\n"
        "  text: |\n"
        '    {"event_simpleName":"ProcessRollup2","aid":"a","timestamp":"1709280000000",'
        '"ImageFileName":"x.exe","CommandLine":"whoami","event_platform":"Win"}\n'
        "  expect:\n"
        "    default: silnet\n"
    )

    with pytest.raises(ScenarioError, match="unknown detection type 'silnet'"):
        run_scenarios(load_scenarios([str(scenario)]), ("default",))
