"""Value shapes: times, pids, paths."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from proxyhunt.normalise.values import basename, parse_time, pid, undouble_backslashes

WHEN = datetime(2024, 3, 1, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "value",
    [
        "2024-03-01T10:00:00Z",
        "2024-03-01 10:00:00.000",
        "2024-03-01T10:00:00.0000000Z",
        "2024-03-01T10:00:00.000000000Z",
        "2024-03-01T11:00:00+01:00",
        "1709287200",
        "1709287200.000",
        "1709287200000",
        1709287200,
        133537608000000000,
        datetime(2024, 3, 1, 11, 0, tzinfo=timezone(timedelta(hours=1))),
    ],
)
def test_time_shapes(value: object) -> None:
    assert parse_time(value) == WHEN


@pytest.mark.parametrize("value", [None, "", "-", "not a time", True, "2024-13-45 10:00:00"])
def test_not_times(value: object) -> None:
    assert parse_time(value) is None


def test_pids_and_paths() -> None:
    assert (pid("0x1404"), pid("5124"), pid(5124), pid(None)) == ("5124", "5124", "5124", None)
    assert undouble_backslashes("C:\\\\\\\\srv") == "C:\\\\srv"
    assert undouble_backslashes("\\\\host\\share") == "\\\\host\\share"
    assert basename("\\Device\\HarddiskVolume3\\x.exe") == "x.exe"
    assert basename("/usr/bin/ssh") == "ssh"
    assert basename("cmd.exe") == "cmd.exe"
