"""Writers for each output format, in one registry keyed by the ``--format`` name."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Sequence
from typing import TextIO

from proxyhunt.outputs import safe
from proxyhunt.outputs.html import write_html
from proxyhunt.outputs.rows import columns, row
from proxyhunt.outputs.table import write_table
from proxyhunt.score import Hit, Profile

Writer = Callable[[Sequence[Hit], Profile, TextIO], None]


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


WRITERS: dict[str, Writer] = {
    "table": write_table,
    "csv": write_csv,
    "jsonl": write_jsonl,
    "json": write_json,
    "html": write_html,
}
