"""Exported text equals the reviewed golden files.

Regenerate after a deliberate change (then review the diff by eye before committing):
    PROXYHUNT_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_export_golden.py
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from proxyhunt.export import export_text, load_detection
from proxyhunt.export.registry import get, names

GOLDEN = Path(__file__).resolve().parent / "golden" / "export"
UPDATE = os.environ.get("PROXYHUNT_UPDATE_GOLDEN") == "1"


@pytest.mark.parametrize("profile", ["seed", "default"])
@pytest.mark.parametrize("target", [n for n in names() if n != "sigma"])
def test_matches_golden(profile, target):
    text = export_text(load_detection(profile), target)
    path = GOLDEN / profile / f"{target}{get(target).suffix}"
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.is_file(), f"no golden file {path}; see this module's docstring"
    assert text == path.read_text(encoding="utf-8")
