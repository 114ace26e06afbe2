"""Fuzz target: gzip and zip containers (bombs, cuts, nesting) through the registry."""

from __future__ import annotations

import io
import sys

import atheris

with atheris.instrument_imports():
    from common import LIMITS, diagnostics

    from proxyhunt.sources import registry


def _run_reader_strictly(reader, stream, source, diag, limits):  # type: ignore[no-untyped-def]
    # The registry normally turns a reader's exception into a counted loss; here it must crash.
    yield from reader.read(stream, source, diag, limits)


def test_one_input(data: bytes) -> None:
    diag = diagnostics()
    for _ in registry.read_stream(io.BytesIO(data), "fuzz.bin", diag, LIMITS):
        pass


if __name__ == "__main__":
    registry._run_reader = _run_reader_strictly  # type: ignore[assignment]
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
