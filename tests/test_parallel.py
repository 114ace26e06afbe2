"""The local engine gives the same hits, locators, counts and diagnostics on any number of
processes, with or without the prefilter, as the plain reader path (iter_events + detect)."""

from __future__ import annotations

import gzip
import io
import json
import logging
from pathlib import Path

import pytest

from bench import fdr
from proxyhunt.diagnostics import Diagnostics
from proxyhunt.engines import local
from proxyhunt.pipeline import Detector, ScanResult, detect, iter_events, scan
from proxyhunt.sources.base import Limits

LIMITS = Limits(max_line_bytes=8 * 1024)


def _odd_lines() -> list[bytes]:
    """Lines that take every branch of the FDR reader and of the prefilter's guards."""
    base = {
        "event_simpleName": "ProcessRollup2",
        "event_platform": "Win",
        "timestamp": "1717200000000",
        "aid": "a" * 32,
        "ImageFileName": "\\Device\\HarddiskVolume2\\Windows\\System32\\netsh.exe",
        "CommandLine": "netsh interface portproxy add v4tov4 listenport=1 connectport=2",
        "ParentBaseFileName": "cmd.exe",
        "TargetProcessId": "1",
    }
    escaped = json.dumps(base).replace("=", "\\u003d").replace("/", "\\/").encode()
    kelvin = dict(base, CommandLine="nc.exe -l -p 1 -e cmd.exe \u212a", ImageFileName="x")
    nested = dict(base, CommandLine=["chisel", "client", "1.2.3.4:8000", "R:socks"])
    network = {"event_simpleName": "NetworkListenIP4", "aid": "b" * 32, "LocalPort": "9"}
    return [
        json.dumps(base).encode(),
        escaped,
        json.dumps(kelvin, ensure_ascii=False).encode(),
        json.dumps(kelvin).encode(),
        json.dumps(nested).encode(),
        json.dumps(dict(base, TargetProcessId=12)).encode(),
        json.dumps(network).encode(),
        b"",
        b"   ",
        b'{"event_simpleName": "ProcessRollup2", "aid": "cut',
        b"[1, 2, 3]",
        b"not json at all",
        b'{"aid": "' + b"x" * 9000 + b'"}',
        json.dumps(base).encode() + b"\r",
        b'{"event_simpleName": "ProcessRollup2", "CommandLine": "plain \\t tab"}',
    ]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    folder = tmp_path_factory.mktemp("parallel")
    stream = io.BytesIO()
    fdr.write(stream, 300_000, seed=3, proxy_rate=0.02)
    generated = stream.getvalue().splitlines()
    odd = _odd_lines()
    # Odd lines scattered among generated ones, including at range borders.
    lines: list[bytes] = []
    for i, line in enumerate(generated):
        lines.append(line)
        if i % 37 == 0:
            lines.append(odd[(i // 37) % len(odd)])
    lines.extend(odd)
    plain = folder / "a_plain.ndjson"
    plain.write_bytes(b"\n".join(lines))  # no newline after the last line
    (folder / "b_packed.ndjson.gz").write_bytes(gzip.compress(b"\n".join(lines[:500]) + b"\n"))
    return [str(plain), str(folder / "b_packed.ndjson.gz"), str(Path("examples/telemetry"))]


def _key(result: ScanResult) -> tuple[object, ...]:
    diag = result.diagnostics
    hits = [(h.event.source, h.event.locator, h.event.time, tuple(h.rules)) for h in result.hits]
    return (
        hits,
        result.events,
        dict(diag.events_by_format),
        dict(diag.skipped_by_reason),
        diag.warnings,
        diag.files,
    )


def test_jobs_and_prefilter_give_identical_results(
    inputs: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    logging.disable(logging.WARNING)
    monkeypatch.setattr(local, "RANGE_BYTES", 20_000)  # many ranges, borders inside lines
    monkeypatch.setattr(local.LocalScan, "range_bytes", 20_000)
    runs = {
        (jobs, prefilter): _key(scan(inputs, jobs=jobs, prefilter=prefilter, limits=LIMITS))
        for jobs in (1, 2)
        for prefilter in (True, False)
    }
    reference = runs[(1, False)]
    assert reference[0], "the input must produce hits"
    for setting, key in runs.items():
        assert key == reference, f"{setting} differs from one process without prefilter"


def test_matches_the_plain_reader_path(inputs: list[str]) -> None:
    """Hits and counts equal iter_events + detect, which knows nothing of the fast paths."""
    logging.disable(logging.WARNING)
    diag = Diagnostics()
    detector = Detector.load("default")
    events = list(iter_events(inputs, diag, LIMITS))
    expected = [(h.event.source, h.event.locator, tuple(h.rules)) for h in detect(events, detector)]
    result = scan(inputs, jobs=2, limits=LIMITS)
    got = [(h.event.source, h.event.locator, tuple(h.rules)) for h in result.hits]
    assert sorted(got) == sorted(expected)
    assert result.events == len(events)
    assert dict(result.diagnostics.skipped_by_reason) == dict(diag.skipped_by_reason)
    assert dict(result.diagnostics.events_by_format) == dict(diag.events_by_format)


def test_stdin_blocks_match_the_file(inputs: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    logging.disable(logging.WARNING)
    data = Path(inputs[0]).read_bytes()
    from_file = scan([inputs[0]], jobs=2, limits=LIMITS)

    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(data)))
    from_stdin = scan(["-"], jobs=2, limits=LIMITS)
    strip = [(h.event.locator, tuple(h.rules)) for h in from_file.hits]
    assert [(h.event.locator, tuple(h.rules)) for h in from_stdin.hits] == strip
    assert from_stdin.events == from_file.events
    assert from_stdin.diagnostics.skipped == from_file.diagnostics.skipped


def test_corpus_evtx_same_on_any_jobs(corpus: Path) -> None:
    logging.disable(logging.WARNING)
    files = sorted(str(p) for p in corpus.rglob("*.evtx"))
    one = _key(scan(files, jobs=1, prefilter=False))
    assert _key(scan(files, jobs=2)) == one


def test_progress_reports_files_bytes_and_hits(inputs: list[str]) -> None:
    from proxyhunt.cli.progress import status_line

    logging.disable(logging.WARNING)
    seen: list[local.ScanProgress] = []
    result = scan(inputs, jobs=2, limits=LIMITS, progress=lambda s: seen.append(_copy(s)))
    last = seen[-1]
    assert last.files_done == last.files_total == result.diagnostics.files
    assert last.bytes_done == last.bytes_total
    assert last.events == result.events
    assert last.hits == len(result.hits) + len(result.suppressed)
    assert all(a.bytes_done <= b.bytes_done for a, b in zip(seen, seen[1:], strict=False))
    line = status_line(last, elapsed=2.0)
    assert f"files {last.files_done}/{last.files_total}" in line
    assert "100%" in line
    assert f"{last.hits} hits" in line


def _copy(state: local.ScanProgress) -> local.ScanProgress:
    from dataclasses import replace

    return replace(state)
