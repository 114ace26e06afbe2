"""Per-file and per-record limits: each breach is a counted, located warning and the rest of
the input is still read. Limits are set small here so the tests stay small and fast.
"""

from __future__ import annotations

import gzip
import io
import json
import re
import zipfile
from pathlib import Path

import pytest

from hostile_inputs import jsonl_rows, ndjson, run_cli, scan_args
from hostile_inputs import write_bytes as write
from proxyhunt.cli import exitcodes
from proxyhunt.diagnostics import Diagnostics
from proxyhunt.model import Record
from proxyhunt.sources.base import DEFAULT_LIMITS, Limits
from proxyhunt.sources.registry import iter_records

SYSMON = {
    "EventID": 1,
    "Channel": "Microsoft-Windows-Sysmon/Operational",
    "SourceName": "Microsoft-Windows-Sysmon",
    "Image": "C:\\Windows\\System32\\netsh.exe",
}
TUNNEL = {**SYSMON, "CommandLine": "netsh interface portproxy add v4tov4 listenport=8001 "
          "connectaddress=10.0.0.5 connectport=3389"}  # fmt: skip
BENIGN = {**SYSMON, "CommandLine": "netsh interface show interface"}
AUDIT_LINE = b'type=EXECVE msg=audit(1700000000.123:{n}): argc=3 a0="ssh" a1="-D" a2="1080"\n'


def read(path: Path, limits: Limits = DEFAULT_LIMITS) -> tuple[list[Record], Diagnostics]:
    diag = Diagnostics()
    return list(iter_records([str(path)], diag, limits)), diag


def only_warning(diag: Diagnostics, *parts: str) -> str:
    assert len(diag.warnings) == 1, diag.warnings
    for part in parts:
        assert part in diag.warnings[0], (part, diag.warnings[0])
    return diag.warnings[0]


# -- lines, records, nesting ------------------------------------------------------------------


def test_overlong_json_line_is_skipped_and_the_next_read(tmp_path: Path) -> None:
    huge = {**BENIGN, "CommandLine": "x" * 5000}
    path = write(tmp_path / "a.json", ndjson(TUNNEL, huge, TUNNEL))
    records, diag = read(path, Limits(max_line_bytes=2000))
    assert len(records) == 2
    only_warning(diag, "a.json", "line 2", "line too long")
    assert diag.skipped_by_reason["line too long"] == 1


def test_overlong_audit_line_is_skipped_and_the_next_read(tmp_path: Path) -> None:
    lines = [AUDIT_LINE.replace(b"{n}", str(n).encode()) for n in (1, 2, 3)]
    lines[1] = lines[1].rstrip(b"\n") + b" a3=" + b"41" * 4000 + b"\n"
    records, diag = read(
        write(tmp_path / "audit.log", b"".join(lines)), Limits(max_line_bytes=2000)
    )
    assert len(records) == 2
    only_warning(diag, "audit.log", "line 2", "line too long")


def test_deep_json_nesting_is_refused_without_recursion_error(tmp_path: Path) -> None:
    deep = b'{"EventID":1,"Channel":"x","a":' + b"[" * 100_000 + b"]" * 100_000 + b"}\n"
    path = write(tmp_path / "deep.json", ndjson(TUNNEL) + deep + ndjson(TUNNEL))
    records, diag = read(path)
    assert len(records) == 2
    only_warning(diag, "deep.json", "line 2", "nesting")


def test_json_depth_limit_is_configurable(tmp_path: Path) -> None:
    nested = {**TUNNEL, "extra": {"a": {"b": {"c": {"d": 1}}}}}
    path = write(tmp_path / "n.json", ndjson(nested, TUNNEL))
    records, diag = read(path, Limits(max_json_depth=3))
    assert len(records) == 1
    only_warning(diag, "line 1", "nesting")


def test_oversized_array_element_stops_with_a_located_warning(tmp_path: Path) -> None:
    doc = json.dumps([TUNNEL, {**BENIGN, "CommandLine": "y" * 50_000}, TUNNEL], indent=1)
    records, diag = read(
        write(tmp_path / "arr.json", doc.encode()), Limits(max_record_bytes=20_000)
    )
    assert len(records) >= 1
    line = only_warning(diag, "arr.json", "element 2")
    assert re.search(r"too large", line), line


# -- compressed input ---------------------------------------------------------------------------


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_gzip_bomb_stops_at_the_ratio_limit(tmp_path: Path) -> None:
    # 64 MiB of newlines compress to about 64 KiB: a ratio near 1000.
    bomb = gzip.compress(ndjson(TUNNEL) + b"\n" * (64 * 1024 * 1024), compresslevel=9)
    records, diag = read(write(tmp_path / "bomb.json.gz", bomb), Limits(max_compression_ratio=50))
    assert len(records) == 1, "the record before the bomb is kept"
    only_warning(diag, "bomb.json.gz", "compression ratio")


def test_gzip_decompressed_size_limit(tmp_path: Path) -> None:
    body = ndjson(*[TUNNEL] * 2000)
    records, diag = read(
        write(tmp_path / "big.json.gz", gzip.compress(body)), Limits(max_decompressed_bytes=100_000)
    )
    assert 0 < len(records) < 2000
    only_warning(diag, "big.json.gz", "decompression limit")


def test_truncated_gzip_keeps_every_whole_record(tmp_path: Path) -> None:
    body = gzip.compress(ndjson(*[TUNNEL] * 500))
    records, diag = read(write(tmp_path / "cut.json.gz", body[: len(body) // 2]))
    assert 0 < len(records) < 500
    only_warning(diag, "cut.json.gz", "truncated gzip")


def test_zip_member_declaring_a_bomb_is_not_opened(tmp_path: Path) -> None:
    archive = _zip({"a.json": ndjson(TUNNEL), "b.json": b"\n" * (8 * 1024 * 1024)})
    records, diag = read(write(tmp_path / "x.zip", archive), Limits(max_compression_ratio=50))
    assert len(records) == 1
    only_warning(diag, "x.zip!b.json", "compression ratio")


def test_zip_member_count_limit(tmp_path: Path) -> None:
    archive = _zip({f"m{n:03}.json": ndjson(TUNNEL) for n in range(12)})
    records, diag = read(write(tmp_path / "many.zip", archive), Limits(max_archive_members=10))
    assert len(records) == 10
    only_warning(diag, "many.zip", "member 11", "archive member limit")
    assert diag.skipped_by_reason["archive member limit"] == 2


def test_nested_archives_stop_at_the_nesting_limit(tmp_path: Path) -> None:
    data = ndjson(TUNNEL)
    for level in range(6):
        data = _zip({f"level{level}.json": data}) if level % 2 else gzip.compress(data)
    records, diag = read(write(tmp_path / "nest.bin", data), Limits(max_nesting=3))
    assert records == []
    only_warning(diag, "nesting limit")


def test_encrypted_zip_member_is_named(tmp_path: Path) -> None:
    archive = bytearray(_zip({"secret.json": ndjson(TUNNEL)}))
    # Set the "encrypted" flag bit in both the local and the central directory header.
    archive[6] |= 0x1
    central = archive.rfind(b"PK\x01\x02")
    archive[central + 8] |= 0x1
    records, diag = read(write(tmp_path / "enc.zip", bytes(archive)))
    assert records == []
    only_warning(diag, "enc.zip!secret.json", "encrypted")


# -- whole runs ---------------------------------------------------------------------------------


@pytest.fixture
def damaged_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "evidence"
    write(folder / "a_clean.json", ndjson(TUNNEL, BENIGN))
    write(folder / "b_bad_line.json", ndjson(TUNNEL) + b"{not json\n" + ndjson(TUNNEL))
    body = gzip.compress(ndjson(*[TUNNEL] * 300))
    write(folder / "c_cut.json.gz", body[: len(body) // 2])
    write(folder / "d_unknown.bin", b"\x00\x01\x02 not telemetry")
    return folder


def test_partial_run_reports_every_hit_and_lists_losses(
    damaged_folder: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli(scan_args(damaged_folder), capfd)

    assert code == exitcodes.PARTIAL_HITS, err
    hits = jsonl_rows(out)
    # 1 from the clean file, 2 around the bad line, every whole record before the cut.
    assert len(hits) > 3
    summary = err[err.index("proxyhunt summary") :]
    assert "b_bad_line.json" in summary and "c_cut.json.gz" in summary
    assert "d_unknown.bin" in summary
    assert "a_clean.json" not in summary
    assert "PARTIAL" in summary
    assert "line 2" in err


def test_partial_run_without_hits_exits_4(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path / "x.json", ndjson(BENIGN) + b"{broken\n")
    code, _, err = run_cli(scan_args(path), capfd)
    assert code == exitcodes.PARTIAL, err


def test_strict_fails_a_partial_run_but_still_writes_hits(
    damaged_folder: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    out_file = tmp_path / "hits.jsonl"
    code, _, err = run_cli(
        scan_args(damaged_folder, extra=["--strict", "-o", str(out_file)]), capfd
    )
    assert code == exitcodes.STRICT, err
    assert jsonl_rows(out_file.read_text())


def test_clean_run_exit_codes(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    assert (
        run_cli(scan_args(write(tmp_path / "h.json", ndjson(TUNNEL))), capfd)[0] == exitcodes.HITS
    )
    clean = write(tmp_path / "c.json", ndjson(BENIGN))
    assert run_cli(scan_args(clean), capfd)[0] == exitcodes.CLEAN
    assert run_cli(scan_args(clean, extra=["--strict"]), capfd)[0] == exitcodes.CLEAN


def test_nothing_readable_exits_6(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path / "junk.bin", b"\x00\x01 nothing")
    code, _, err = run_cli(scan_args(path), capfd)
    assert code == exitcodes.NO_INPUT, err


def test_one_audit_event_cannot_hold_more_than_the_record_limit(tmp_path: Path) -> None:
    # Thousands of EXECVE records claiming one serial: only max_record_bytes of them are kept.
    line = 'type=EXECVE msg=audit(1700000000.1:7): argc=2 a0="ssh" a1="' + "x" * 1000 + '"\n'
    path = write(tmp_path / "audit.log", (line * 3000).encode())
    records, diag = read(path, Limits(max_record_bytes=100_000))
    assert len(records) == 1
    assert diag.skipped_by_reason["audit event too large"] > 2000
    assert "line 9" in diag.warnings[0] or "line 10" in diag.warnings[0], diag.warnings[0]


def test_open_audit_events_are_flushed_before_memory_grows(tmp_path: Path) -> None:
    # Events never closed by EOE and each under the limit: together they are flushed early.
    lines = [
        f'type=EXECVE msg=audit(1700000000.1:{n}): argc=2 a0="ssh" a1="{"y" * 9000}"\n'
        for n in range(500)
    ]
    path = write(tmp_path / "audit.log", "".join(lines).encode())
    from proxyhunt.sources import auditd

    most = 0
    original = auditd._Assembler._emit

    def watching(self: auditd._Assembler, event):  # type: ignore[no-untyped-def]
        nonlocal most
        most = max(most, self.pending_bytes)
        yield from original(self, event)

    auditd._Assembler._emit = watching  # type: ignore[method-assign]
    try:
        records, diag = read(path, Limits(max_record_bytes=50_000))
    finally:
        auditd._Assembler._emit = original  # type: ignore[method-assign]
    assert len(records) == 500, "every event is still emitted, once"
    assert not diag.partial
    assert most <= 5 * 50_000


def test_an_overlong_first_json_line_costs_only_that_line(tmp_path: Path) -> None:
    from proxyhunt.diagnostics import Diagnostics
    from proxyhunt.sources.base import Limits
    from proxyhunt.sources.registry import iter_records

    sample = Path(__file__).resolve().parents[1] / "examples/telemetry/sysmon_srv02_mordor.json"
    path = tmp_path / "first_line_huge.json"
    path.write_bytes(b'{"CommandLine":"' + b"A" * 20_000 + b"\n" + sample.read_bytes())
    diag = Diagnostics()

    records = list(iter_records([str(path)], diag, Limits(max_line_bytes=10_000)))

    assert len(records) == len(sample.read_bytes().splitlines())
    assert diag.skipped_by_reason == {"line too long": 1}
    assert "line 1" in diag.warnings[0]
