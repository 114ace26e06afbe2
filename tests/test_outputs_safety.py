"""Hostile values in every output: no escape sequence, formula or markup gets through."""

from __future__ import annotations

import csv
import io
import json

import pytest

from proxyhunt.outputs import safe
from proxyhunt.outputs.writers import WRITERS
from proxyhunt.score import Hit, IndicatorSpec, Profile
from tests.conftest import process_event

PROFILE = Profile(
    "seed",
    "test",
    ("seed",),
    (
        IndicatorSpec("is_proxy_tool", "KnownProxyTool"),
        IndicatorSpec("is_netsh_proxy", "NetshPortProxy"),
        IndicatorSpec("is_ssh_tunnel", "SSHTunneling"),
        IndicatorSpec("is_portfwd", "PortForwardCommand"),
    ),
)

HOSTILE = [
    "netsh portproxy add \x1b[2J\x1b[1;1H clear screen",
    "title \x1b]0;owned\x07 set",
    "hide \x1b[8m secret \x1b[0m",
    "csi8bit \x9b31m red",
    "=cmd|' /C calc'!A0",
    "+1+1",
    "-2+3",
    "@SUM(1+1)",
    "\tTAB-led",
    "\rCR-led",
    "   =spaced formula",
    "bidi \u202egnp.exe",
    "lone surrogate \ud800 here",
    '<script>alert(1)</script> & "quoted"',
    "[bold red]rich markup[/]",
]


def _hit(command_line: str) -> Hit:
    event = process_event(command_line)
    indicators = {
        "is_proxy_tool": False,
        "is_netsh_proxy": True,
        "is_ssh_tunnel": False,
        "is_portfwd": False,
    }
    return Hit(event, indicators, "NetshPortProxy", 1, "high", ["rule"])


def _render(fmt: str, values: list[str]) -> str:
    out = io.StringIO()
    WRITERS[fmt]([_hit(v) for v in values], PROFILE, out)
    return out.getvalue()


@pytest.mark.parametrize("value", HOSTILE)
def test_terminal_text_has_no_control_or_invisible_characters(value: str) -> None:
    shown = safe.for_terminal(value)

    assert all(ch == "\t" or (ord(ch) >= 0x20 and not 0x7F <= ord(ch) < 0xA0) for ch in shown)
    assert "\u202e" not in shown
    shown.encode("utf-8")  # no lone surrogate left


def test_terminal_escapes_stay_visible_to_the_analyst() -> None:
    assert safe.for_terminal("a\x1b[2Jb") == "a\\x1b[2Jb"
    assert safe.for_terminal("x\u202ey") == "x\\u202ey"


def test_table_output_contains_no_escape_sequences() -> None:
    text = _render("table", HOSTILE)

    assert "\x1b" not in text
    assert "\x9b" not in text
    assert "\x07" not in text
    assert "\u202e" not in text


def test_table_shows_rich_markup_literally() -> None:
    text = _render("table", ["[bold red]rich markup[/]"])

    assert "[bold red]rich markup[/]" in text


@pytest.mark.parametrize(
    "value",
    [
        "=cmd|' /C calc'!A0",
        "+1+1",
        "-2+3",
        "@SUM(1+1)",
        "\tTAB-led",
        "\rCR-led",
        "   =spaced formula",
    ],
)
def test_csv_cells_never_start_a_formula(value: str) -> None:
    rows = list(csv.reader(io.StringIO(_render("csv", [value]), newline="")))
    header, data = rows[0], rows[1]
    cell = data[header.index("CommandLine")]

    assert cell.startswith("'")
    assert cell[1:] == value


def test_csv_keeps_separators_inside_one_cell() -> None:
    value = 'a,b;"c"\nd'
    rows = list(csv.reader(io.StringIO(_render("csv", [value]), newline="")))

    assert len(rows) == 2
    assert rows[1][rows[0].index("CommandLine")] == value


@pytest.mark.parametrize("fmt", ["json", "jsonl"])
def test_json_output_is_valid_and_ascii_with_hostile_values(fmt: str) -> None:
    text = _render(fmt, HOSTILE)
    text.encode("ascii")

    lines = text.splitlines()
    rows = json.loads(text) if fmt == "json" else [json.loads(line) for line in lines]

    assert len(rows) == len(HOSTILE)
    assert rows[0]["CommandLine"] == HOSTILE[0]
    assert "\ufffd" in rows[HOSTILE.index("lone surrogate \ud800 here")]["CommandLine"]


def test_html_escaping() -> None:
    assert safe.for_html("<script>alert('x')</script>&") == (
        "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;&amp;"
    )
