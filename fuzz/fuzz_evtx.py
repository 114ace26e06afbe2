"""Fuzz target: EVTX, as byte edits on a real three-chunk log, through the watchdog.

Raw random bytes almost never get past the file and chunk signatures, so the fuzz input is
read as a list of edits (offset, bytes) applied to a copy of a corpus log's first three
chunks, and read by the EVTX reader as a scan does. evtx-rs runs in the watchdog's worker: a
parser hang there is handled (a located loss), while any exception or hang in proxyhunt's
own code is a crash.
"""

from __future__ import annotations

import os
import sys
import tempfile

import atheris

with atheris.instrument_imports():
    from common import EVTX_BASE, LIMITS, diagnostics

    from proxyhunt.sources import evtx as evtx_reader

_BASE = b""
_PATH = ""
_SPAN = 3 * 0x10000


def _edited(data: bytes) -> bytes:
    provider = atheris.FuzzedDataProvider(data)
    out = bytearray(_BASE)
    for _ in range(provider.ConsumeIntInRange(1, 16)):
        offset = 0x1000 + provider.ConsumeIntInRange(0, _SPAN - 1)
        patch = provider.ConsumeBytes(provider.ConsumeIntInRange(1, 8))
        out[offset : offset + len(patch)] = patch
    if provider.ConsumeBool():
        del out[0x1000 + provider.ConsumeIntInRange(0, _SPAN) :]
    return bytes(out)


def test_one_input(data: bytes) -> None:
    with open(_PATH, "wb") as handle:
        handle.write(_edited(data))
    with open(_PATH, "rb") as stream:
        for _ in evtx_reader.READER.read(stream, "fuzz.evtx", diagnostics(), LIMITS):
            pass


if __name__ == "__main__":
    if not EVTX_BASE.is_file():
        print(f"fuzz_evtx: corpus file {EVTX_BASE} not found; nothing to fuzz", file=sys.stderr)
        sys.exit(0)
    _BASE = EVTX_BASE.read_bytes()[: 0x1000 + _SPAN]
    descriptor, _PATH = tempfile.mkstemp(suffix=".evtx")
    os.close(descriptor)
    try:
        atheris.Setup(sys.argv, test_one_input)
        atheris.Fuzz()
    finally:
        os.unlink(_PATH)
