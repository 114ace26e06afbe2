"""JSON exports of Windows events: layouts, dialects, corpus zips, bad records."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from proxyhunt.diagnostics import Diagnostics
from proxyhunt.model import KIND_ECS, KIND_FALCON, KIND_WINDOWS
from proxyhunt.sources.base import Limits
from proxyhunt.sources.jsonlog import classify
from proxyhunt.sources.registry import iter_records

CORPUS = Path(__file__).parents[1].parent / "shared" / "corpus"
DATASETS = CORPUS / "Security-Datasets" / "datasets"
SAME = Path(__file__).parent / "fixtures" / "same_event"
WINDOWS_ZIPS = sorted(DATASETS.glob("**/windows/**/*.zip")) + sorted(
    DATASETS.glob("compound/Log4Shell/s[ey]*_java_serialized_object.zip")
)


def _read(path: Path, limits: Limits | None = None) -> tuple[list, Diagnostics]:
    diag = Diagnostics()
    return list(iter_records([str(path)], diag, limits or Limits())), diag


@pytest.mark.corpus
def test_every_windows_corpus_zip_reads_without_skips() -> None:
    if not WINDOWS_ZIPS:
        pytest.skip(f"corpus not available under {DATASETS}")
    offenders = {}
    formats: Counter[str] = Counter()
    for path in WINDOWS_ZIPS:
        records, diag = _read(path)
        formats.update(diag.events_by_format)
        if diag.skipped or not records:
            offenders[path.name] = (len(records), dict(diag.skipped_by_reason))
    assert offenders == {}
    # Both Mordor layouts and both Azure tables are among them.
    assert {"json-mordor", "json-nxlog", "json-azure-windowsevent"} <= set(formats)
    assert "json-azure-securityevent" in formats


@pytest.mark.corpus
def test_azure_windowsevent_eventdata_string_is_decoded() -> None:
    path = DATASETS / "compound/Log4Shell/sysmon_log4shell_cve2021_44228_java_serialized_object.zip"
    if not path.exists():
        pytest.skip(f"corpus file not available: {path}")
    records, _ = _read(path)
    pipes = [r.data for r in records if r.data["EventID"] == 17]
    assert pipes[0]["PipeName"] == "<Anonymous Pipe>"
    assert pipes[0]["Computer"] == "WORKSTATION5"


@pytest.mark.corpus
def test_azure_syslog_rows_are_parsed_or_counted_as_unsupported() -> None:
    path = DATASETS / "compound/Log4Shell/syslog_sysmon_log4shell_cve2021_44228_jndi_reference.zip"
    if not path.exists():
        pytest.skip(f"corpus file not available: {path}")
    records, diag = _read(path)
    # 93 rows either way: parsed by the Linux engineer's parser, or each counted as skipped.
    assert len(records) + diag.skipped_by_reason["unsupported record"] == 93


def test_array_wrapped_and_pretty_printed_layouts(tmp_path: Path) -> None:
    event = json.loads((SAME / "mordor_sysmon1.json").read_text())
    layouts = {
        "array.json": json.dumps([event, event, event]),
        "wrapped.json": json.dumps({"events": [event, event, event]}, indent=2),
        "pretty.json": "\n".join(json.dumps(event, indent=2) for _ in range(3)),
    }
    for name, body in layouts.items():
        path = tmp_path / name
        path.write_text(body)
        records, diag = _read(path)
        assert len(records) == 3, name
        assert diag.skipped == 0, name
    records, _ = _read(tmp_path / "array.json")
    assert [r.locator for r in records] == ["element 1", "element 2", "element 3"]


def test_bad_array_element_is_located(tmp_path: Path) -> None:
    path = tmp_path / "array.json"
    path.write_text('[{"EventID": 1, "Channel": "Security"}, 7, {"EventID": 2, "Channel": "X"}]')
    records, diag = _read(path)
    assert len(records) == 2
    assert diag.warnings == [f"{path}: element 2: skipped (not a JSON object)"]


def test_invalid_json_line_costs_one_line(tmp_path: Path) -> None:
    line = (SAME / "mordor_sysmon1.json").read_text().strip()
    path = tmp_path / "lines.json"
    path.write_text("\n".join([line, line[:-10], line]) + "\n")
    records, diag = _read(path)
    assert [r.locator for r in records] == ["line 1", "line 3"]
    assert diag.skipped_by_reason == {"invalid JSON": 1}
    assert diag.warnings[0].startswith(f"{path}: line 2: skipped (invalid JSON)")


def test_bad_first_line_does_not_cost_the_file(tmp_path: Path) -> None:
    line = (SAME / "mordor_sysmon1.json").read_text().strip()
    path = tmp_path / "lines.json"
    path.write_text("\n".join([line[:-3], line, line]) + "\n")
    records, diag = _read(path)
    assert [r.locator for r in records] == ["line 2", "line 3"]
    assert diag.skipped == 1


def test_deep_nesting_is_a_counted_skip_not_a_crash(tmp_path: Path) -> None:
    good = (SAME / "mordor_sysmon1.json").read_text().strip()
    deep = '{"EventID": 1, "Channel": "X", "x": ' + "[" * 5000 + "]" * 5000 + "}"
    medium = '{"EventID": 1, "Channel": "X", "x": ' + "[" * 100 + "]" * 100 + "}"
    path = tmp_path / "deep.json"
    path.write_text("\n".join([good, deep, medium, good]) + "\n")
    records, diag = _read(path)
    assert len(records) == 2
    assert diag.skipped_by_reason == {"JSON nesting too deep": 2}
    # The document path (pretty-printed, stdlib decoder) must hold too.
    path.write_text(json.dumps(json.loads(good), indent=2) + "\n" + deep)
    records, diag = _read(path)
    assert len(records) == 1 and diag.skipped == 1


def test_dialects_are_decided_per_record() -> None:
    limits = Limits()
    kinds = {}
    for path in sorted(SAME.glob("*.json")):
        result = classify(json.loads(path.read_text()), limits)
        assert not isinstance(result, str), path.name
        kinds[path.name] = (result[0], result[2])
    assert kinds == {
        "mordor_sysmon1.json": (KIND_WINDOWS, "mordor"),
        "security_4688_azure.json": (KIND_WINDOWS, "azure-securityevent"),
        "winlogbeat_ecs.json": (KIND_ECS, "ecs"),
        "winlogbeat_raw.json": (KIND_WINDOWS, "winlogbeat"),
    }
    falcon = json.loads((SAME / "falcon.ndjson").read_text())
    assert classify(falcon, limits)[0] == KIND_FALCON  # type: ignore[index]
    assert classify({"hello": "world"}, limits) == "unrecognised record"


def test_winlogbeat_raw_is_flattened() -> None:
    doc = json.loads((SAME / "winlogbeat_raw.json").read_text())
    kind, data, _ = classify(doc, Limits())  # type: ignore[misc]
    assert data["EventID"] == 1
    assert data["Channel"] == "Microsoft-Windows-Sysmon/Operational"
    assert data["Computer"] == "WS01"
    assert data["CommandLine"].startswith("netsh interface portproxy add")


@pytest.mark.corpus
def test_sysmon_linux_winlogbeat_document() -> None:
    path = CORPUS / "elastic-integrations/packages/sysmon_linux/data_stream/log/_dev/test/pipeline"
    path = path / "test-sysmon.json"
    if not path.exists():
        pytest.skip(f"corpus file not available: {path}")
    records, diag = _read(path)
    assert len(records) == 2 and diag.skipped == 0
    assert {r.data["Channel"] for r in records} == {"Linux-Sysmon/Operational"}
