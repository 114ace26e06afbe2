"""Fuzz target: JSON lines / JSON documents through the JSON and FDR readers."""

from __future__ import annotations

import contextlib
import io
import sys

import atheris

with atheris.instrument_imports():
    from common import LIMITS, diagnostics

    from proxyhunt.normalise import normalise
    from proxyhunt.sources import fdr, jsonlog

_NORMALISE_ERRORS = (KeyError, ValueError, TypeError, AttributeError, OverflowError)


def test_one_input(data: bytes) -> None:
    for reader in (jsonlog.READER, fdr.READER):
        for record in reader.read(io.BytesIO(data), "fuzz.json", diagnostics(), LIMITS):
            # The pipeline counts these as "cannot normalise"; anything else is a bug.
            with contextlib.suppress(*_NORMALISE_ERRORS):
                normalise(record)


if __name__ == "__main__":
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
