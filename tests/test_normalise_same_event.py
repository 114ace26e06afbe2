"""One netsh portproxy process start, exported six ways, normalises to the same fields."""

from __future__ import annotations

import gzip
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from proxyhunt.diagnostics import Diagnostics
from proxyhunt.model import PROCESS_CREATION
from proxyhunt.normalise import normalise
from proxyhunt.normalise.values import basename
from proxyhunt.sources.registry import iter_records

SAME = Path(__file__).parent / "fixtures" / "same_event"
COMMAND = (
    "netsh interface portproxy add v4tov4 listenport=8080 listenaddress=0.0.0.0 "
    "connectport=80 connectaddress=10.0.0.5"
)
WHEN = datetime(2024, 3, 1, 10, 0, 0, tzinfo=UTC)


def _inputs(tmp_path: Path) -> list[Path]:
    gz = tmp_path / "falcon.ndjson.gz"
    with (SAME / "falcon.ndjson").open("rb") as plain, gzip.open(gz, "wb") as packed:
        shutil.copyfileobj(plain, packed)
    return [*sorted(SAME.iterdir()), gz]


def test_every_export_gives_the_same_process_event(tmp_path: Path) -> None:
    inputs = _inputs(tmp_path)
    assert len(inputs) == 6
    for path in inputs:
        diag = Diagnostics()
        (record,) = list(iter_records([str(path)], diag))
        event = normalise(record)
        assert event is not None
        seen = (
            event.category,
            basename(event.get("Image")),
            event.get("CommandLine"),
            event.get("User"),
            event.get("Computer"),
            event.time,
        )
        assert seen == (PROCESS_CREATION, "netsh.exe", COMMAND, "CORP\\alice", "WS01", WHEN), (
            path.name
        )
        assert basename(event.get("ParentImage")) == "cmd.exe", path.name
        assert event.columns["ComputerName"] == "WS01", path.name
        assert event.columns["ParentBaseFileName"] == "cmd.exe", path.name
        assert diag.skipped == 0, path.name


@pytest.mark.parametrize(
    ("name", "pid", "parent_pid"),
    [
        ("security_4688_azure.json", "5124", "2832"),  # from hex 0x1404 / 0xb10
        ("mordor_sysmon1.json", "5124", "2832"),
        ("winlogbeat_raw.json", "5124", "2832"),
        ("winlogbeat_ecs.json", "5124", "2832"),
        ("falcon.ndjson", "4400112233", "4400110000"),  # Falcon's own process ids
    ],
)
def test_process_ids_are_decimal(name: str, pid: str, parent_pid: str) -> None:
    (record,) = list(iter_records([str(SAME / name)], Diagnostics()))
    event = normalise(record)
    assert event is not None
    assert (event.get("ProcessId"), event.get("ParentProcessId")) == (pid, parent_pid)
