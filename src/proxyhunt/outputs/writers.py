"""Writers for each output format, in one registry keyed by the ``--format`` name."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Sequence
from typing import TextIO

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from proxyhunt.outputs import safe
from proxyhunt.outputs.html import write_html
from proxyhunt.outputs.rows import REFERENCE_COLUMNS, columns, row
from proxyhunt.score import Hit, Profile

Writer = Callable[[Sequence[Hit], Profile, TextIO], None]

# Only these columns fit a terminal; files get every column.
_TABLE_COLUMNS = REFERENCE_COLUMNS + ("severity", "forwarding")
# Free text gets the width; flags and numbers are narrow and their long headers wrap.
_FLEXIBLE = {"CommandLine": 3, "ImageFileName": 1, "forwarding": 2}
_NARROW = {
    "suspicion_score": 9,
    "TargetProcessId": 10,
    "ContextProcessId": 10,
    "ParentBaseFileName": 14,
    "ComputerName": 16,
    "UserName": 16,
    "detection_type": 16,
}


def write_csv(hits: Sequence[Hit], profile: Profile, out: TextIO) -> None:
    names = columns(profile)
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(names)
    for hit in hits:
        values = row(hit, profile)
        writer.writerow([safe.for_csv(str(values[name])) for name in names])


def _json_row(hit: Hit, profile: Profile) -> dict[str, str | int]:
    return {
        key: safe.scrub_surrogates(value) if isinstance(value, str) else value
        for key, value in row(hit, profile).items()
    }


def write_jsonl(hits: Sequence[Hit], profile: Profile, out: TextIO) -> None:
    for hit in hits:
        # ensure_ascii keeps the output 7-bit: no raw control or bidi characters reach a pager.
        out.write(json.dumps(_json_row(hit, profile), ensure_ascii=True) + "\n")


def write_json(hits: Sequence[Hit], profile: Profile, out: TextIO) -> None:
    rows = [_json_row(hit, profile) for hit in hits]
    json.dump(rows, out, ensure_ascii=True, indent=2)
    out.write("\n")


def write_table(hits: Sequence[Hit], profile: Profile, out: TextIO) -> None:
    console = Console(file=out, width=None if out.isatty() else 240, highlight=False)
    table = Table(
        title=f"proxyhunt: {len(hits)} hit(s), profile {profile.name}",
        box=box.SIMPLE_HEAD,
        padding=(0, 1),
        expand=True,
    )
    for name in _TABLE_COLUMNS:
        if name in _FLEXIBLE:
            table.add_column(name, overflow="fold", ratio=_FLEXIBLE[name])
        elif name.startswith("is_") or name in _NARROW:
            table.add_column(name, overflow="fold", max_width=_NARROW.get(name, 5))
        else:
            table.add_column(name, overflow="fold", no_wrap=True)
    for hit in hits:
        values = row(hit, profile)
        # Text() is never parsed for rich markup, so "[bold]" in a command line stays literal.
        table.add_row(*(Text(safe.for_terminal(str(values[name]))) for name in _TABLE_COLUMNS))
    console.print(table)


WRITERS: dict[str, Writer] = {
    "table": write_table,
    "csv": write_csv,
    "jsonl": write_jsonl,
    "json": write_json,
    "html": write_html,
}
