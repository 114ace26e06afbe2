"""The raw-line prefilter never drops a line the engine would match (a superset property)."""

from __future__ import annotations

import json
import logging
import random

import hyperscan
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.fdr import PROXY
from proxyhunt.engines import prefilter, rawjson, screen
from proxyhunt.engines.fdrfast import LinesOutcome, scan_block
from proxyhunt.pipeline import Detector
from proxyhunt.rules.loader import load_profile, load_rules
from proxyhunt.sources.base import DEFAULT_LIMITS
from proxyhunt.validate import load_scenarios


def _matches(pattern: str, data: bytes) -> bool:
    db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    db.compile(expressions=[pattern.encode()], flags=hyperscan.HS_FLAG_CASELESS)
    found: list[int] = []
    db.scan(data, match_event_handler=lambda *args: found.append(1))
    return bool(found)


def _raw(value: str) -> bytes:
    return json.dumps(value).encode()


@pytest.mark.parametrize(
    ("pattern", "value"),
    [
        (rawjson.literal("listenport="), "netsh listenport=80"),
        (rawjson.literal("c:\\windows\\"), "C:\\Windows\\x"),
        (rawjson.regex(r"(?:^|\s)-[LRD]\s"), "ssh -R 1:2:3 u@h"),
        (rawjson.regex(r"^nc\.exe$"), "nc.exe"),
        (rawjson.regex(r"v[46]tov[46]"), "add V4TOV4"),
        (rawjson.regex(r"[^|;&]+\|"), "a b | c"),
        (rawjson.regex(r"é"), "café"),
    ],
)
def test_patterns_match_the_encoded_value(pattern: str, value: str) -> None:
    assert _matches(pattern, _raw(value))
    assert _matches(pattern, json.dumps(value, ensure_ascii=False).encode())
    escaped = _raw(value).replace(b"=", b"\\u003d").replace(b"/", b"\\/")
    assert _matches(pattern, escaped)


def test_a_backslash_matches_doubled_exports() -> None:
    # Logstash doubles backslashes and the Windows normaliser undoes it.
    doubled = json.dumps("C:\\\\Windows\\\\netsh.exe").encode()
    assert _matches(rawjson.literal("\\windows\\netsh.exe"), doubled)


def test_patterns_stay_inside_one_line() -> None:
    assert not _matches(rawjson.regex(r"a[^x]b"), b'{"v": "a"}\n{"w": "b"}')


def test_folds_to_ascii_is_complete() -> None:
    assert rawjson.folds_to_ascii() == rawjson.FOLDS_TO_ASCII


# -- the property on whole FDR lines ---------------------------------------------------------


@pytest.fixture(scope="module")
def setup() -> tuple[Detector, prefilter.LinePrefilter]:
    rules, profile = load_rules(load_profile("default"))
    from proxyhunt.engine import compile_rules

    plan, everything = prefilter.plan_falcon(rules)
    assert not everything, "the default pack should be prefilterable on FDR"
    return Detector(profile, compile_rules(rules)), prefilter.LinePrefilter(plan)


def _command_lines() -> list[str]:
    """Tunnel command lines: the bench's real ones and every scenario's (all formats)."""
    lines = [p.cmd.format(t="1a2b", n=7, u="alice", p=8080, a="203.0.113.9") for p in PROXY]
    for scenario in load_scenarios():
        for item in scenario.inputs:
            text = item.data.decode("utf-8", "replace")
            for key in ('"CommandLine": "', "CommandLine</Data>", 'CommandLine">'):
                start = text.find(key)
                if start >= 0:
                    rest = text[start + len(key) :]
                    end = min(i for i in (rest.find('"'), rest.find("<"), len(rest)) if i >= 0)
                    lines.append(rest[:end].replace("\\\\", "\\"))
    return sorted({line for line in lines if line.strip()})


COMMAND_LINES = _command_lines()
IMAGES = [
    "\\Device\\HarddiskVolume2\\Windows\\System32\\netsh.exe",
    "\\Device\\HarddiskVolume3\\Users\\Public\\plink.exe",
    "\\Device\\HarddiskVolume3\\Windows\\System32\\OpenSSH\\ssh.exe",
    "/usr/bin/ssh",
    "/usr/bin/socat",
    "/usr/local/bin/chisel",
    "C:\\Tools\\nc.exe",
    "/bin/bash",
]
ODD_CHARS = ["\u212a", "\u017f", "\u00df", "é", "\\", '"', "=", "/", "\t", " ", "'", "|", "&"]


def _mutate(text: str, rng: random.Random) -> str:
    out = []
    for ch in text:
        roll = rng.random()
        if roll < 0.05:
            out.append(ch.swapcase())
        elif roll < 0.07:
            out.append(rng.choice(ODD_CHARS) + ch)
        else:
            out.append(ch)
    return "".join(out)


def _encode(event: dict[str, str], style: int) -> bytes:
    text = json.dumps(event, ensure_ascii=bool(style & 1))
    if style & 2:
        text = text.replace("=", "\\u003d").replace("<", "\\u003c").replace("&", "\\u0026")
    if style & 4:
        text = text.replace("/", "\\/")
    if style & 8:
        text = text.replace(": ", ":").replace(", ", ",")
    return text.encode()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    picks=st.lists(
        st.tuples(
            st.sampled_from(COMMAND_LINES),
            st.sampled_from(IMAGES),
            st.integers(0, 15),
            st.integers(0, 2**32),
        ),
        min_size=1,
        max_size=6,
    )
)
def test_every_matching_line_is_a_candidate(
    setup: tuple[Detector, prefilter.LinePrefilter], picks: list[tuple[str, str, int, int]]
) -> None:
    logging.disable(logging.WARNING)
    detector, lines_prefilter = setup
    block_lines = []
    for command, image, style, seed in picks:
        rng = random.Random(seed)
        event = {
            "event_simpleName": rng.choice(["ProcessRollup2", "SyntheticProcessRollup2"]),
            "event_platform": rng.choice(["Win", "Lin", "Mac"]),
            "timestamp": "1717200000000",
            "aid": "0" * 32,
            "ImageFileName": _mutate(image, rng),
            "CommandLine": _mutate(command, rng),
            "ParentBaseFileName": rng.choice(["cmd.exe", "bash", "ssh"]),
        }
        block_lines.append(_encode(event, style))
    block = b"\n".join(block_lines) + b"\n"
    full, filtered = LinesOutcome(), LinesOutcome()
    scan_block(block, None, detector, "t", DEFAULT_LIMITS, full)
    scan_block(block, lines_prefilter, detector, "t", DEFAULT_LIMITS, filtered)
    expected = [(n, hit.rules) for n, hit in full.hits]
    assert [(n, hit.rules) for n, hit in filtered.hits] == expected
    assert filtered.events == full.events


# -- the normalisers' promises the prefilter relies on ---------------------------------------


def test_falcon_process_event_names_match_the_normaliser() -> None:
    from proxyhunt.normalise import falcon

    assert set(prefilter.FALCON_PROCESS_EVENTS) == set(falcon._PROCESS_EVENTS)


def _verbatim(value: str, raw_values: set[str]) -> bool:
    from proxyhunt.normalise.values import undouble_backslashes

    return value in raw_values or any(undouble_backslashes(r) == value for r in raw_values)


def test_falcon_process_fields_are_copied_verbatim() -> None:
    """Every Sigma field of a Falcon process event is one of the line's string values."""
    import io

    from bench import fdr
    from proxyhunt.model import KIND_FALCON, PROCESS_CREATION, Record
    from proxyhunt.normalise import normalise

    stream = io.BytesIO()
    fdr.write(stream, 200_000, seed=9, proxy_rate=0.05)
    for line in stream.getvalue().splitlines():
        data = json.loads(line)
        event = normalise(Record(KIND_FALCON, data, "t", "line 1", "fdr-ndjson"))
        assert event is not None and event.category == PROCESS_CREATION
        raw = {v for v in data.values() if isinstance(v, str)}
        for name, value in event.fields.items():
            assert value is None or value in raw, (name, value)


def test_windows_fields_outside_the_derived_list_are_verbatim(corpus) -> None:
    """On the real EVTX corpus, only WINDOWS_DERIVED fields hold computed values."""
    from proxyhunt.diagnostics import Diagnostics
    from proxyhunt.normalise import normalise
    from proxyhunt.normalise.values import text
    from proxyhunt.sources.registry import iter_records

    logging.disable(logging.WARNING)
    files = sorted(str(p) for p in corpus.rglob("*.evtx"))
    offenders = []
    for record in iter_records(files, Diagnostics()):
        event = normalise(record)
        if event is None:
            continue
        raw = {text(v) for v in record.data.values() if v is not None}
        for name, value in event.fields.items():
            if value and name not in prefilter.WINDOWS_DERIVED and not _verbatim(value, raw):
                offenders.append((record.source, record.locator, name, value))
    assert not offenders, offenders[:10]


def test_windows_records_with_typed_values_stay_candidates() -> None:
    """evtx-rs writes booleans and numbers unquoted: string tests must not need quotes."""
    from sigma.rule import SigmaRule

    rule = SigmaRule.from_yaml(
        """
title: typed
logsource: {category: network_connection, product: windows}
detection:
  selection: {Initiated: 'true', DestinationPort: '3389', Image|endswith: '\\\\mstsc.exe'}
  condition: selection
"""
    )
    records = screen.RecordScreen(prefilter.windows_screen([rule], 1 << 20))
    text = (
        '{"Event":{"System":{"EventID":3},"EventData":{"Initiated":true,'
        '"DestinationPort":3389,"Image":"C:\\\\Windows\\\\System32\\\\mstsc.exe"}}}'
    )
    assert records.screen([text])[1] == [True]
    assert records.screen([text, text.replace("mstsc", "notepad")])[1] == [True, False]
