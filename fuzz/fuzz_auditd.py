"""Fuzz target: Linux audit logs (raw, ENRICHED, ausearch -i, auoms) through the auditd reader."""

from __future__ import annotations

import io
import sys

import atheris

with atheris.instrument_imports():
    from common import LIMITS, diagnostics

    from proxyhunt.normalise import normalise
    from proxyhunt.sources import auditd


def test_one_input(data: bytes) -> None:
    for record in auditd.READER.read(io.BytesIO(data), "fuzz.log", diagnostics(), LIMITS):
        normalise(record)
    auditd.parse_auoms(data.decode("utf-8", "replace"))


if __name__ == "__main__":
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
