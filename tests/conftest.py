"""Shared test helpers: where the shared corpus is, and events built by hand."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from proxyhunt.model import PROCESS_CREATION, Event

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "corpus"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(autouse=True)
def _logging_enabled_again() -> Iterator[None]:
    """Tests that silence noisy corpus warnings with logging.disable must not silence the
    warnings a later test asserts on."""
    yield
    logging.disable(logging.NOTSET)


@pytest.fixture
def corpus() -> Path:
    """The shared public corpus; tests that need it skip when it is not beside the repo."""
    if not CORPUS.is_dir():
        pytest.skip(f"shared corpus not found at {CORPUS} (it lives beside the repository)")
    return CORPUS


def process_event(
    command_line: str, image: str = "C:\\Windows\\System32\\netsh.exe", **fields: str
) -> Event:
    """A process_creation event as a normaliser would make it."""
    values: dict[str, str | None] = {"Image": image, "CommandLine": command_line}
    values.update(fields)
    return Event(
        fields=values,
        time=datetime(2024, 3, 1, 10, 0, tzinfo=UTC),
        category=PROCESS_CREATION,
        product="windows",
        service="sysmon",
        event_id="1",
        source="test",
        locator="record 1",
        fmt="test",
        columns={"ComputerName": "WS01", "UserName": "CORP\\alice", "ImageFileName": image},
    )
