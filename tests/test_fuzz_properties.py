"""Property tests: random and mutated input never raises out of a reader, the registry, the
normalisers or the engine, and every loss is counted.

Inputs are built three ways: raw random bytes, random structures in the format's own grammar
(JSON values, audit ``key=value`` lines, XML events), and small mutations of valid input.
EVTX is fuzzed through the watchdog (``evtx_guard``) because evtx-rs itself can hang.
"""

from __future__ import annotations

import gzip
import io
import json
import zipfile
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from proxyhunt.diagnostics import Diagnostics
from proxyhunt.model import KIND_AUDITD, KIND_ECS, KIND_FALCON, KIND_WINDOWS, Event, Record
from proxyhunt.sources.base import Limits

SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=True,
)
# Small limits, so the limit paths are exercised as well.
LIMITS = Limits(max_line_bytes=4096, max_json_depth=8, max_record_bytes=8192, max_nesting=2)
READER_MODULES = ["fdr", "jsonlog", "eventxml", "auditd", "syslog"]

# Any code point, lone surrogates included: JSON's \ud800 escapes put them in real input.
HOSTILE_PIECES = ["\ud800", "\udfff", "\x00", "\x1b[2J", "\x9b", "\r\n", "\u202e", "\ufeff",
                  "\u2028", "%16", "\\\\?\\", "\u00c6", "\u0130"]  # fmt: skip
text = st.lists(st.text(max_size=6) | st.sampled_from(HOSTILE_PIECES), max_size=7).map("".join)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True),
    text,
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=5),
    max_leaves=20,
)
SIGMA_FIELDS = ["EventID", "Channel", "SourceName", "Image", "CommandLine", "event_simpleName",
                "ImageFileName", "winlog", "process", "UtcTime", "@timestamp", "NewProcessName",
                "ProcessId", "DestinationPort", "EventData", "Type", "SyslogMessage"]  # fmt: skip
event_like = st.dictionaries(st.sampled_from(SIGMA_FIELDS) | text, json_values, max_size=8)


def _registry_read(data: bytes, name: str = "input") -> tuple[list[Record], Diagnostics]:
    from proxyhunt.sources.registry import read_stream

    diag = Diagnostics()
    records = list(read_stream(io.BytesIO(data), name, diag, LIMITS))
    return records, diag


def _reader_read(module: str, data: bytes) -> tuple[list[Record], Diagnostics]:
    import importlib

    reader = importlib.import_module(f"proxyhunt.sources.{module}").READER
    diag = Diagnostics()
    return list(reader.read(io.BytesIO(data), "fuzz", diag, LIMITS)), diag


def _check_records(records: list[Record]) -> None:
    for record in records:
        assert record.kind in (KIND_WINDOWS, KIND_FALCON, KIND_ECS, KIND_AUDITD)
        assert isinstance(record.data, dict)
        assert record.locator


# -- readers ----------------------------------------------------------------------------------


@SETTINGS
@given(module=st.sampled_from(READER_MODULES), data=st.binary(max_size=2048))
def test_readers_survive_random_bytes(module: str, data: bytes) -> None:
    records, _ = _reader_read(module, data)
    _check_records(records)


@SETTINGS
@given(data=st.binary(max_size=4096))
def test_registry_survives_random_bytes(data: bytes) -> None:
    records, _ = _registry_read(data)
    _check_records(records)


@SETTINGS
@given(objects=st.lists(event_like, min_size=1, max_size=6), crlf=st.booleans(), bom=st.booleans())
def test_json_lines_of_random_objects(objects: list[dict[str, Any]], crlf: bool, bom: bool) -> None:
    eol = "\r\n" if crlf else "\n"
    body = eol.join(json.dumps(o) for o in objects) + eol
    data = (b"\xef\xbb\xbf" if bom else b"") + body.encode("utf-8", "surrogatepass")
    records, diag = _registry_read(data, "fuzz.json")
    _check_records(records)
    if json.loads(json.dumps(objects[0])) and len(data) < LIMITS.max_line_bytes:
        # Every line is either a record or a counted loss (a line may hold no event at all
        # when it is an unrecognised object, which is also counted).
        assert len(records) + diag.skipped >= 1


@SETTINGS
@given(
    data=st.lists(
        st.one_of(
            st.binary(max_size=200).map(lambda b: b.replace(b"\n", b" ")),
            st.builds(json.dumps, event_like).map(lambda s: s.encode("utf-8", "surrogatepass")),
        ),
        min_size=2,
        max_size=8,
    )
)
def test_every_json_line_is_a_record_or_a_counted_loss(data: list[bytes]) -> None:
    good = {
        "EventID": 1,
        "Channel": "Microsoft-Windows-Sysmon/Operational",
        "CommandLine": "x",
    }
    lines = [json.dumps(good).encode(), *data]
    records, diag = _reader_read("jsonlog", b"\n".join(lines) + b"\n")
    nonblank = sum(1 for line in lines if line.strip())
    # A line holding a list can carry several events; otherwise one line, one outcome.
    assert len(records) + diag.skipped >= nonblank - sum(1 for x in data if x.strip()[:1] == b"[")


audit_values = st.one_of(
    st.from_regex(r'"[ -~]{0,12}"', fullmatch=True),
    st.from_regex(r"[0-9A-F]{0,24}", fullmatch=True),
    st.from_regex(r"[^\s]{0,12}", fullmatch=True),
)
audit_keys = st.sampled_from(["argc", "a0", "a1", "a2", "a1[0]", "a1_len", "exe", "comm", "key",
                              "proctitle", "syscall", "arch", "success", "pid", "ppid", "uid",
                              "cwd", "name"])  # fmt: skip
audit_lines = st.builds(
    lambda node, rtype, stamp, serial, pairs: (
        (f"node={node} " if node else "")
        + f"type={rtype} msg=audit({stamp}:{serial}): "
        + " ".join(f"{k}={v}" for k, v in pairs)
    ),
    st.sampled_from(["", "srv01", "a b"]),
    st.sampled_from(["SYSCALL", "EXECVE", "PROCTITLE", "CWD", "PATH", "EOE", "USER_CMD", "X"]),
    st.sampled_from(["1700000000.123", "0", "x", "01/02/2024 10:00:00.1", "99999999999999999999"]),
    st.integers(min_value=0, max_value=5) | st.just(2**70),
    st.lists(st.tuples(audit_keys, audit_values), max_size=8),
)


@SETTINGS
@given(lines=st.lists(audit_lines, min_size=1, max_size=12), crlf=st.booleans())
def test_audit_logs_in_the_kernels_grammar(lines: list[str], crlf: bool) -> None:
    eol = "\r\n" if crlf else "\n"
    records, _ = _reader_read("auditd", (eol.join(lines) + eol).encode())
    _check_records(records)
    for record in records:
        argv = record.data.get("argv")
        assert argv is None or all(isinstance(a, str) for a in argv)


xml_text = st.text(st.characters(min_codepoint=1, max_codepoint=0xFFFF), max_size=20)


@SETTINGS
@given(
    names=st.lists(st.one_of(st.none(), xml_text), max_size=5),
    values=st.lists(xml_text, max_size=5),
    cut=st.integers(min_value=0, max_value=400),
)
def test_event_xml_random_and_cut(names: list[str | None], values: list[str], cut: int) -> None:
    from xml.sax.saxutils import escape, quoteattr

    data = "".join(
        f"<Data Name={quoteattr(n)}>{escape(v)}</Data>"
        if n is not None
        else f"<Data>{escape(v)}</Data>"
        for n, v in zip(names, values, strict=False)
    )
    event = (
        "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System>"
        "<Provider Name='Microsoft-Windows-Sysmon'/><EventID>1</EventID>"
        f"<Channel>Microsoft-Windows-Sysmon/Operational</Channel></System><EventData>{data}"
        "</EventData></Event>"
    )
    for blob in (event, event[:cut], event + event[:cut]):
        records, _ = _reader_read("eventxml", blob.encode("utf-8", "surrogatepass"))
        _check_records(records)


@SETTINGS
@given(payload=st.binary(max_size=512), kind=st.sampled_from(["gz", "zip", "gz-cut", "zip-cut"]))
def test_containers_with_random_content_and_cuts(payload: bytes, kind: str) -> None:
    inner = b'{"EventID":1,"Channel":"Microsoft-Windows-Sysmon/Operational"}\n' + payload
    if kind.startswith("gz"):
        data = gzip.compress(inner)
    else:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("a.json", inner)
            archive.writestr("b/c.json", payload)
        data = buffer.getvalue()
    if kind.endswith("cut"):
        data = data[: max(len(data) // 2, 1)]
    records, diag = _registry_read(data, f"fuzz.{kind}")
    _check_records(records)
    if kind.endswith("cut"):
        assert diag.partial or records, "a cut container is a counted loss"


# -- normalisers and engine ----------------------------------------------------------------------


@SETTINGS
@given(
    kind=st.sampled_from([KIND_WINDOWS, KIND_FALCON, KIND_ECS, KIND_AUDITD]),
    data=event_like,
)
def test_normalise_never_raises_past_the_pipeline(kind: str, data: dict[str, Any]) -> None:
    from proxyhunt.normalise import normalise

    record = Record(kind=kind, data=data, source="fuzz", locator="line 1", fmt="fuzz")
    try:
        event = normalise(record)
    except (KeyError, ValueError, TypeError, AttributeError, OverflowError):
        return  # the pipeline counts these as "cannot normalise"
    if event is not None:
        _check_event(event)


def _check_event(event: Event) -> None:
    assert isinstance(event.fields, dict)
    for name, value in event.fields.items():
        assert isinstance(name, str)
        assert value is None or isinstance(value, str | list), (name, value)


_detector = None


def _default_detector():  # type: ignore[no-untyped-def]
    global _detector
    if _detector is None:
        from proxyhunt.pipeline import Detector

        _detector = Detector.load("default")
    return _detector


# Known rule literals with random text around them, so regex and keyword rules really run.
rule_literals = st.sampled_from(
    ["netsh interface portproxy add v4tov4 listenport=1 ", "ssh -R 1:127.0.0.1:2 u@h ",
     "plink.exe -ssh -R 9000:127.0.0.1:3389 ", "\\PortProxy\\v4tov4\\tcp\\", "", "3389"]
)  # fmt: skip
field_text = st.builds(lambda a, b, c: a + b + c, text, rule_literals, text)


FIELD_NAMES = ["ParentImage", "TargetObject", "Details", "PipeName", "DestinationPort",
               "DestinationIp", "SourceIp", "User", "Initiated", "EventType"]  # fmt: skip


@SETTINGS
@given(
    fields=st.fixed_dictionaries(
        {"CommandLine": field_text, "Image": field_text},
        optional={name: st.none() | field_text for name in FIELD_NAMES},
    ),
    category=st.sampled_from(
        ["process_creation", "network_connection", "registry_set", "pipe_created", "other"]
    ),
)
def test_default_rules_evaluate_any_field_values(fields: dict[str, Any], category: str) -> None:
    """Lone surrogates, control characters, huge numbers: matching never raises."""
    event = Event(
        fields=fields,
        time=None,
        category=category,
        product="windows",
        service="sysmon",
        event_id="1",
        source="fuzz",
        locator="line 1",
        fmt="fuzz",
    )
    _default_detector().hit(event)


@pytest.mark.corpus
@settings(max_examples=40, deadline=None, derandomize=True)
@given(
    edits=st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=3 * 0x10000 - 1), st.binary(min_size=1, max_size=8)
        ),
        min_size=1,
        max_size=6,
    )
)
def test_mutated_evtx_through_the_watchdog(edits: list[tuple[int, bytes]]) -> None:
    from hostile_inputs import EVTX_MANY_CHUNKS, need_corpus_file
    from proxyhunt.sources.evtx_guard import guarded_items

    global _evtx_base
    if _evtx_base is None:
        _evtx_base = need_corpus_file(EVTX_MANY_CHUNKS).read_bytes()[: 0x1000 + 3 * 0x10000]
    data = bytearray(_evtx_base)
    for offset, patch in edits:
        data[0x1000 + offset : 0x1000 + offset + len(patch)] = patch
    import tempfile

    with tempfile.NamedTemporaryFile(suffix=".evtx") as handle:
        handle.write(data)
        handle.flush()
        diag = Diagnostics()
        items = list(guarded_items(handle.name, "m.evtx", diag, 5.0, 2 * 1024**3))
    assert len(items) <= 124 + 10
    assert all(isinstance(item["data"], str) for item in items)


_evtx_base: bytes | None = None
