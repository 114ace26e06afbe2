"""Records hidden from the parser are counted and located, not silently missing.

Found by a fresh-user review: evtx-rs reads only the records a chunk header says it has,
and an all-zero chunk looked unused, so 8 altered header bytes or a wiped chunk hid records
(and their hits) with exit 0. Windows numbers records without gaps and fills chunks in
order, so ids that no chunk holds between chunks in use were lost. Loss counts are records,
never chunks.
"""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from hostile_inputs import (
    EVTX_MANY_CHUNKS,
    EVTX_MANY_CHUNKS_FIRST,
    EVTX_MANY_CHUNKS_RECORDS,
    EVTX_PORTPROXY,
    chunk_offset,
    evtx_copy,
    patch,
    read_records,
    truncate,
)

pytestmark = pytest.mark.corpus


def _loss(path: Path) -> tuple[int, int, list[str]]:
    records, diag = read_records([path])
    return len(records), diag.skipped, diag.warnings


def test_a_chunk_header_that_hides_records_is_a_located_loss(tmp_path: Path) -> None:
    path = evtx_copy(EVTX_PORTPROXY, tmp_path / "altered.evtx")
    pristine, _, _ = _loss(evtx_copy(EVTX_PORTPROXY, tmp_path / "pristine.evtx"))
    with path.open("rb") as handle:
        handle.seek(chunk_offset(1) + 24)
        first = struct.unpack("<Q", handle.read(8))[0]
    patch(path, chunk_offset(1) + 32, struct.pack("<Q", first))  # last record = first

    read, skipped, warnings = _loss(path)
    assert read < pristine
    assert read + skipped == pristine, "every hidden record is counted"
    assert any("chunk 1 @0x11000" in line and "in no chunk" in line for line in warnings)


@pytest.mark.parametrize("chunk", [0, 1])
def test_a_wiped_chunk_before_chunks_in_use_is_a_located_loss(tmp_path: Path, chunk: int) -> None:
    path = evtx_copy(EVTX_MANY_CHUNKS, tmp_path / "wiped.evtx")
    patch(path, chunk_offset(chunk), bytes(0x10000))

    read, skipped, warnings = _loss(path)
    lost = EVTX_MANY_CHUNKS_FIRST[chunk + 1] - EVTX_MANY_CHUNKS_FIRST[chunk]
    assert (read, skipped) == (EVTX_MANY_CHUNKS_RECORDS - lost, lost)
    assert any(f"chunk {chunk} @{chunk_offset(chunk):#x}" in line for line in warnings)


def test_chunks_cut_off_a_file_count_their_records(tmp_path: Path) -> None:
    path = evtx_copy(EVTX_MANY_CHUNKS, tmp_path / "cut.evtx")
    truncate(path, chunk_offset(1))  # on a chunk border: only the file header says more

    read, skipped, warnings = _loss(path)
    assert (read, skipped) == (EVTX_MANY_CHUNKS_FIRST[1], EVTX_MANY_CHUNKS_RECORDS - read)
    assert any("truncated file" in line for line in warnings)


def test_intact_logs_have_no_holes(tmp_path: Path) -> None:
    for source in (EVTX_MANY_CHUNKS, EVTX_PORTPROXY):
        read, skipped, warnings = _loss(evtx_copy(source, tmp_path / source.name))
        assert skipped == 0 and not warnings, warnings
