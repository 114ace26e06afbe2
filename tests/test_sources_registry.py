"""The file registry: walking, gzip/zip, sniffing, limits, and one located skip per problem."""

from __future__ import annotations

import gzip
import io
import json
import zipfile
from pathlib import Path

import pytest

from proxyhunt.diagnostics import Diagnostics
from proxyhunt.model import KIND_FALCON
from proxyhunt.sources import registry
from proxyhunt.sources.base import Limits
from proxyhunt.sources.registry import iter_records, read_stream

FIXTURES = Path(__file__).parent / "fixtures"
NETWORK = FIXTURES / "falcon_network.ndjson"


def _falcon_lines(count: int) -> bytes:
    lines = []
    for n in range(count):
        event = {"event_simpleName": "ProcessRollup2", "aid": "a" * 32, "timestamp": str(n)}
        lines.append(json.dumps(event))
    return ("\n".join(lines) + "\n").encode()


def _read(paths: list[Path], limits: Limits | None = None) -> tuple[list, Diagnostics]:
    diag = Diagnostics()
    records = list(iter_records([str(p) for p in paths], diag, limits or Limits()))
    return records, diag


def test_gzip_copy_reads_the_same_records(tmp_path: Path) -> None:
    copy = tmp_path / "batch.bin"  # no .gz extension: content decides
    copy.write_bytes(gzip.compress(NETWORK.read_bytes()))
    plain, _ = _read([NETWORK])
    packed, diag = _read([copy])
    assert [r.data for r in packed] == [r.data for r in plain]
    assert diag.skipped == 0


def test_truncated_gzip_yields_records_before_the_cut_then_one_skip(tmp_path: Path) -> None:
    data = _falcon_lines(2000)
    packed = gzip.compress(data)
    cut = tmp_path / "cut.json.gz"
    cut.write_bytes(packed[: len(packed) // 2])
    records, diag = _read([cut])
    assert 0 < len(records) < 2000
    # Everything before the cut, in order, and nothing half-written.
    assert [r.data["timestamp"] for r in records] == [str(n) for n in range(len(records))]
    assert diag.skipped_by_reason == {"truncated gzip": 1}
    assert diag.warnings == [
        f"{cut}: byte {len(packed) // 2}: skipped (truncated gzip): the file ends inside the "
        f"compressed data; {diag.warnings[0].rsplit('; ', 1)[1]}"
    ]


def test_unknown_format_named_explicitly_is_one_unreadable_file(tmp_path: Path) -> None:
    notes = tmp_path / "a_notes.txt"
    notes.write_text("nothing to see here\n")
    (tmp_path / "b_events.ndjson").write_bytes(NETWORK.read_bytes())
    records, diag = _read([notes, tmp_path / "b_events.ndjson"])
    assert len(records) == 5
    assert diag.files_unreadable == {str(notes)}
    assert diag.skipped_by_reason == {"unknown format": 1}
    assert diag.warnings == [f"{notes}: not read (unknown format)"]


def test_unknown_format_found_in_a_folder_is_ignored_not_lost(tmp_path: Path) -> None:
    (tmp_path / "a_notes.txt").write_text("nothing to see here\n")
    (tmp_path / "b_events.ndjson").write_bytes(NETWORK.read_bytes())
    records, diag = _read([tmp_path])
    assert len(records) == 5
    assert diag.files_ignored == {str(tmp_path / "a_notes.txt"): "unknown format"}
    assert not diag.partial


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def test_zip_with_one_corrupt_member_reads_the_others(tmp_path: Path) -> None:
    bad_payload = _falcon_lines(500)
    archive = _zip(
        tmp_path / "batch.zip",
        {"a.json": NETWORK.read_bytes(), "b.json": bad_payload, "c.json": NETWORK.read_bytes()},
    )
    # Damage b.json's compressed bytes in the middle of its data.
    raw = bytearray(archive.read_bytes())
    with zipfile.ZipFile(archive) as z:
        info = z.getinfo("b.json")
    start = info.header_offset + 30 + len(info.filename)
    middle = start + info.compress_size // 2
    raw[middle : middle + 16] = b"\xff" * 16
    archive.write_bytes(bytes(raw))

    records, diag = _read([archive])
    sources = {r.source for r in records}
    assert f"{archive}!a.json" in sources and f"{archive}!c.json" in sources
    assert sum(r.source.endswith("a.json") for r in records) == 5
    assert sum(r.source.endswith("c.json") for r in records) == 5
    assert diag.skipped == 1
    (warning,) = diag.warnings
    assert warning.startswith(f"{archive}!b.json: byte ")


def test_zip_member_in_unknown_format_is_reported_by_name(tmp_path: Path) -> None:
    archive = _zip(tmp_path / "x.zip", {"good.json": NETWORK.read_bytes(), "junk.bin": b"\x00" * 9})
    records, diag = _read([archive])
    assert len(records) == 5
    assert diag.files_unreadable == {f"{archive}!junk.bin"}


def test_nested_zip_and_nesting_limit(tmp_path: Path) -> None:
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as z:
        z.writestr("events.json", NETWORK.read_bytes())
    outer = _zip(tmp_path / "outer.zip", {"inner.zip": inner.getvalue()})
    records, diag = _read([outer])
    assert {r.source for r in records} == {f"{outer}!inner.zip!events.json"}
    assert diag.skipped == 0

    records, diag = _read([outer], Limits(max_nesting=1))
    assert records == []
    assert diag.skipped_by_reason == {"archive nesting limit": 1}
    assert diag.warnings[0].startswith(f"{outer}!inner.zip: byte 0:")


def test_zip_bomb_ratio_and_member_count_limits(tmp_path: Path) -> None:
    bomb = _zip(tmp_path / "bomb.zip", {"zeros.json": b"\n" * (8 * 1024 * 1024)})
    records, diag = _read([bomb], Limits(max_compression_ratio=100))
    assert records == []
    assert diag.skipped_by_reason == {"compression ratio": 1}

    many = _zip(tmp_path / "many.zip", {f"m{n}.json": NETWORK.read_bytes() for n in range(5)})
    records, diag = _read([many], Limits(max_archive_members=3))
    assert len(records) == 15
    assert diag.skipped_by_reason == {"archive member limit": 2}


def test_gzip_decompression_limit(tmp_path: Path) -> None:
    path = tmp_path / "big.gz"
    path.write_bytes(gzip.compress(_falcon_lines(3000)))
    records, diag = _read([path], Limits(max_decompressed_bytes=50_000))
    assert 0 < len(records) < 3000
    assert diag.skipped_by_reason == {"decompression limit": 1}


def test_macos_metadata_members_are_ignored(tmp_path: Path) -> None:
    archive = _zip(
        tmp_path / "mac.zip",
        {"events.json": NETWORK.read_bytes(), "__MACOSX/._events.json": b"\x00\x05\x16\x07"},
    )
    records, diag = _read([archive])
    assert len(records) == 5 and diag.skipped == 0 and not diag.files_unreadable


def test_folders_are_walked_in_sorted_order(tmp_path: Path) -> None:
    for name in ("b/2.ndjson", "a/9.ndjson", "a/10.ndjson"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_bytes(NETWORK.read_bytes())
    records, _ = _read([tmp_path])
    order = list(dict.fromkeys(r.source for r in records))
    assert order == [str(tmp_path / n) for n in ("a/10.ndjson", "a/9.ndjson", "b/2.ndjson")]


def test_missing_path_is_reported(tmp_path: Path) -> None:
    records, diag = _read([tmp_path / "absent.json"])
    assert records == [] and diag.files_unreadable == {str(tmp_path / "absent.json")}


def test_non_seekable_stream_is_sniffed_and_read() -> None:
    class Pipe(io.RawIOBase):
        def __init__(self, data: bytes) -> None:
            self._data = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
            chunk = self._data.read(min(len(buffer), 7))  # short reads, like a pipe
            buffer[: len(chunk)] = chunk
            return len(chunk)

    diag = Diagnostics()
    stream = io.BufferedReader(Pipe(gzip.compress(NETWORK.read_bytes())))
    records = list(read_stream(stream, "<stdin>", diag, Limits()))
    assert len(records) == 5 and all(r.kind == KIND_FALCON for r in records)


def test_registry_rejects_duplicate_names() -> None:
    with pytest.raises(ValueError, match="already registered"):
        registry.register("evtx", "proxyhunt.sources.evtx:READER")


def test_every_registered_reader_loads_and_has_a_unique_name() -> None:
    loaded = registry.readers()
    names = [reader.name for reader in loaded]
    assert len(names) == len(set(names))
    assert {"evtx", "fdr-ndjson", "jsonlog"} <= set(names)
