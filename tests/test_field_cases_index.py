"""Every field case in ../shared/cases/field-cases.jsonl has at least one test named after it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

CASES = Path(__file__).resolve().parents[1].parent / "shared" / "cases" / "field-cases.jsonl"
TESTS = Path(__file__).resolve().parent


def test_every_field_case_has_a_test() -> None:
    if not CASES.is_file():
        pytest.skip(f"field cases not found at {CASES} (../shared lives beside the repository)")
    ids = [json.loads(line)["id"] for line in CASES.read_text().splitlines() if line.strip()]
    source = "\n".join(p.read_text() for p in TESTS.glob("test_field_cases_*.py"))
    tested = {m.upper() for m in re.findall(r"def test_(c\d\d)_", source)}
    missing = [case for case in ids if case not in tested]
    assert not missing, f"field cases without a test: {', '.join(missing)}"
