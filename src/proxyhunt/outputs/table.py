"""The triage table for a terminal: the reference's columns, then severity and details.

Column widths are fixed up front from the terminal width and each cell is folded into its
column, row by row, so a run with a hundred thousand hits prints in linear time and bounded
memory (a general table layout engine measured every cell first and took minutes). Only the
terminal view shortens a huge cell; ``-f csv/json/jsonl/html`` keep it whole.
"""

from __future__ import annotations

import os
import shutil
import textwrap
from collections.abc import Sequence
from typing import TextIO

from proxyhunt.outputs import safe
from proxyhunt.outputs.rows import REFERENCE_COLUMNS, row
from proxyhunt.score import Hit, Profile

COLUMNS = REFERENCE_COLUMNS + ("severity", "details")
MAX_CELL_CHARS = 2000
_DEFAULT_WIDTH = 240

# Fixed widths; the long headers of narrow columns fold over several lines.
_FIXED = {
    "_timeutc": 25,
    "ComputerName": 15,
    "UserName": 14,
    "ParentBaseFileName": 14,
    "detection_type": 24,
    "suspicion_score": 9,
    "is_proxy_tool": 5,
    "is_netsh_proxy": 5,
    "is_ssh_tunnel": 5,
    "is_portfwd": 5,
    "TargetProcessId": 10,
    "ContextProcessId": 10,
    "severity": 8,
}
# The free-text columns share what is left, in these proportions.
_SHARES = {"ImageFileName": 2, "CommandLine": 5, "details": 3}
_MIN_FLEXIBLE = 12


def widths(total: int) -> dict[str, int]:
    """Column widths for a table ``total`` characters wide (padding included)."""
    padding = len(COLUMNS) - 1  # one space between columns
    left = max(total - sum(_FIXED.values()) - padding, _MIN_FLEXIBLE * len(_SHARES))
    shares = sum(_SHARES.values())
    flexible = {name: max(_MIN_FLEXIBLE, left * share // shares) for name, share in _SHARES.items()}
    return {name: _FIXED.get(name) or flexible[name] for name in COLUMNS}


def _cell(value: object) -> str:
    text = safe.for_terminal(str(value))
    if len(text) > MAX_CELL_CHARS:
        cut = len(text) - MAX_CELL_CHARS
        text = f"{text[:MAX_CELL_CHARS]}... [{cut} more characters; -f jsonl shows all]"
    return text


def _fold(text: str, width: int) -> list[str]:
    # Break at spaces where possible (command lines read better), inside words otherwise.
    return textwrap.wrap(text, width, break_on_hyphens=False) or [""]


def _lines(cells: list[str], sizes: list[int]) -> list[str]:
    """One table row as terminal lines: every cell folded to its column's width."""
    folded = [_fold(cell, size) for cell, size in zip(cells, sizes, strict=True)]
    height = max(len(parts) for parts in folded)
    return [
        " ".join(
            (parts[i] if i < len(parts) else "").ljust(size)
            for parts, size in zip(folded, sizes, strict=True)
        ).rstrip()
        for i in range(height)
    ]


def _details(values: dict[str, str | int]) -> str:
    return str(values.get("forwarding") or values.get("evidence") or "")


def _width(out: TextIO) -> int:
    if out.isatty():
        return shutil.get_terminal_size((_DEFAULT_WIDTH, 24)).columns
    try:
        return max(int(os.environ.get("COLUMNS", "")), 80)
    except ValueError:
        return _DEFAULT_WIDTH


def write_table(hits: Sequence[Hit], profile: Profile, out: TextIO) -> None:
    table = widths(_width(out))
    sizes = [table[name] for name in COLUMNS]

    out.write(f"proxyhunt: {len(hits)} hit(s), profile {safe.for_terminal(profile.name)}\n")
    for line in _lines(list(COLUMNS), sizes):
        out.write(line + "\n")
    out.write(" ".join("-" * size for size in sizes) + "\n")
    for hit in hits:
        values = row(hit, profile)
        values["details"] = _details(values)
        for line in _lines([_cell(values[name]) for name in COLUMNS], sizes):
            out.write(line + "\n")
