"""Crashes and hangs found by the fuzz targets (``fuzz/``), each with its input inlined.

Each test also covers the kind of fault around the input, not only the one input.
"""

from __future__ import annotations

import base64
import io
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from hostile_inputs import EVTX_MANY_CHUNKS, evtx_copy, patch, read_records_guarded
from proxyhunt.diagnostics import Diagnostics
from proxyhunt.sources.base import DEFAULT_LIMITS
from proxyhunt.sources.registry import read_stream

# fuzz_containers, 2026-12-04: a zip whose central directory points before its local header;
# zipfile raised ValueError("negative seek value") from ZipFile.open, which escaped the
# registry and aborted the whole run.
ZIP_NEGATIVE_SEEK = base64.b64decode(
    "UEsDBBQAAAAIALaEhF3z9r1dhwEAAIoCAAAGAAAAYS5qc29ufVJta9swGPzeXyH0efYk28SOYVBINxZou5KkHQzB0OSn"
    "rahejCTnhZD/XsltEvqhA3/x3T3nu8N7/H0NJsyvcIvoF4Rnz9wYUPEN30jhrLePIfstTWc3PlvuvLbm668eHA/SGq5w"
    "PFnawQm45Rr+d5WUc82fRtGsZeydZizyAXRZMGYg+OcctpDEM6s1N921NOPJyCFpArhHLgD11oXe2e0O8a5D6yrYdYWU"
    "jFYmUd8aQigSNpYRYQTKspkm3/sgVvIta0GKKiNlFpWUtCQ9OSEEHy72GNIsf73UvTp1u3NWgPcLq9TQF6dGP+Tg490t"
    "HPMdN9viw+Fw8QpQSwMEFAAAAAgAtoSEXbtoN8YDAQAAqwEAAAcAAABiL2MubG9njY/LasMwEEX3gf6D0KpdNB49LCWB"
    "WRTbgYIhpQmlXbqySEz9wpJL/fdV49BVoB2he8WdQZxpu9KiGz6BET/1Fvdv++Qhz0njjliMZeVvmYa5xJIBbCSX8d2G"
    "FIM5oZlzS9zkTFHXGK+JG42xzuFkHbFflUcgfV+VyMiPcjIGBWK6pkHq3ImGIYs0Gt0QvVdtdI4+7ITUj21ra3qzOHNl"
    "r1nykv0D62gwJgVcPi8Y0vs+OEfKQ4WXCEkXXGIMmqutXum1FGqr0nCYypQUaVDBQTABPPu9cUi44DPP0/MuOTwe8qtI"
    "fAkzkgxI/dAZX/naohZaqFVopzI7awJw2W7392qLb1BLAQIUAxQAAAAIALaEhF3z9r1dhwEAAIoCAAAGAAAAAAAAAAAA"
    "AACAAQAAAABhLmpzb25QSwECFAMUAAAACAC2hIRdu2g3xgMBAACrAQAABwAAAAAAAAAAAAAAgAGrAQAAYi9jLmxvZ1BL"
    "BQYAAAAAAgACAGkAAADTAgAAAAA="
)


def _read(data: bytes, name: str) -> tuple[int, Diagnostics]:
    diag = Diagnostics()
    return sum(1 for _ in read_stream(io.BytesIO(data), name, diag, DEFAULT_LIMITS)), diag


def test_zip_with_inconsistent_offsets_is_a_counted_loss() -> None:
    _, diag = _read(ZIP_NEGATIVE_SEEK, "crash.zip")
    assert diag.partial
    assert all("crash.zip" in line for line in diag.warnings)


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("a.json", b'{"EventID":1,"Channel":"x","CommandLine":"y"}\n' * 20)
        archive.writestr("b/c.json", b'{"EventID":1,"Channel":"x"}\n' * 20)
    return buffer.getvalue()


@pytest.mark.parametrize("cut", [(5, 20), (30, 60), (100, 101), (-60, -40)])
def test_zip_with_bytes_erased_never_raises(cut: tuple[int, int]) -> None:
    data = _zip()
    start, end = (c % len(data) for c in cut)
    _read(data[:start] + data[end:], "erased.zip")


# fuzz_auditd, 2026-12-04: an argument index or argc of 10**14 and more made argv assembly
# loop over range(argc) for ever (343-byte input; these lines are its essence).
AUDIT_HUGE_COUNTS = [
    b'type=EXECVE msg=audit(1.0:1): argc=99999999999999 a0="ssh"\n',
    b'type=EXECVE msg=audit(1.0:1): a0="ssh" a233333333333333333333333333333="2222"\n',
    b'type=EXECVE msg=audit(1.0:1): a0="ssh" a9999999999[99999999999]="x"\n',
]

_READ_AUDIT = """
import io, sys
from proxyhunt.diagnostics import Diagnostics
from proxyhunt.sources.auditd import READER
from proxyhunt.sources.base import Limits
records = list(READER.read(io.BytesIO(sys.stdin.buffer.read()), "a.log", Diagnostics(), Limits()))
print(len(records), [r.data.get("argv") for r in records])
"""


@pytest.mark.parametrize("line", AUDIT_HUGE_COUNTS)
def test_audit_huge_argument_counts_finish(line: bytes) -> None:
    try:
        done = subprocess.run(
            [sys.executable, "-c", _READ_AUDIT], input=line, capture_output=True, timeout=20
        )
    except subprocess.TimeoutExpired:
        pytest.fail("the auditd reader loops on a huge argc or argument index")
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    assert b"ssh" in done.stdout


# fuzz_evtx, 2026-12-04: two bytes in a record's data (0x2183d = "=\x01" in chunk 2 of the
# corpus log) make evtx-rs emit JSON with a raw control character; orjson refused it and the
# reader's generator died, losing the rest of the file.


@pytest.mark.corpus
def test_evtx_record_json_with_control_characters_is_still_read(tmp_path: Path) -> None:
    path = evtx_copy(EVTX_MANY_CHUNKS, tmp_path / "ctl.evtx")
    patch(path, 0x2183D, b"=\x01")
    result = read_records_guarded(path)
    # At most the records evtx-rs garbled are lost; chunks 3-14 are read in any case.
    assert len(result["ids"]) >= 565 - 37  # type: ignore[arg-type]
