"""The HTML report in a real browser: hostile values stay text, nothing runs, rows are all there."""

from __future__ import annotations

import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from proxyhunt.outputs.html import COLUMNS, write_html
from proxyhunt.score import Hit
from tests.conftest import process_event
from tests.test_outputs_safety import HOSTILE, PROFILE

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
BROWSER_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

ATTACKS = [
    '<script>document.title="PWNED"</script>',
    "<img src=x onerror=\"document.title='PWNED'\">",
    '"><svg onload=document.title="PWNED">',
    "</td></tr></table><h1 id=injected>fake</h1>",
    "javascript:document.title='PWNED'",
]


def _hits(values: list[str]) -> list[Hit]:
    hits = []
    for value in values:
        indicators = {
            "is_proxy_tool": False,
            "is_netsh_proxy": True,
            "is_ssh_tunnel": False,
            "is_portfwd": False,
        }
        hit = Hit(process_event(value), indicators, "NetshPortProxy", 1, "high", [value])
        hit.forwards = [value]
        hits.append(hit)
    return hits


def _report(tmp_path: Path, values: list[str]) -> Path:
    path = tmp_path / "report.html"
    with path.open("w", encoding="utf-8") as out:
        write_html(_hits(values), PROFILE, out)
    return path


class _Cells(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self.tags: set[str] = set()
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        if tag == "tr":
            self.rows.append([])
        elif tag == "td":
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._cell is not None:
            self.rows[-1].append("".join(self._cell))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def test_report_parses_back_to_one_row_per_hit_with_values_as_text(tmp_path: Path) -> None:
    parser = _Cells()
    parser.feed(_report(tmp_path, ATTACKS).read_text(encoding="utf-8"))

    rows = [r for r in parser.rows if r]
    assert len(rows) == len(ATTACKS)
    commands = [row[COLUMNS.index("CommandLine")] for row in rows]
    assert commands == ATTACKS
    assert not parser.tags & {"script", "img", "svg", "iframe", "object"}


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")
def test_hostile_values_do_not_run_or_inject_markup_in_chromium(tmp_path: Path) -> None:
    report = _report(tmp_path, ATTACKS + HOSTILE)

    dom = subprocess.run(
        [
            CHROMIUM,
            *BROWSER_FLAGS,
            f"--user-data-dir={tmp_path / 'profile'}",
            "--dump-dom",
            report.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout

    # The DOM after the page loaded: any script that ran would have changed the title.
    assert "PWNED" not in dom.split("<title>", 1)[1].split("</title>", 1)[0]
    assert 'id="injected"' not in dom
    assert "<script" not in dom and "<svg" not in dom and "<img" not in dom
    assert dom.count('<tr class="sev-high">') == len(ATTACKS) + len(HOSTILE)
    assert "&lt;script&gt;document.title" in dom
    assert "\x1b" not in dom


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")
def test_report_renders_in_chromium(tmp_path: Path) -> None:
    report = _report(tmp_path, ["netsh interface portproxy add v4tov4 listenport=8080"])
    shot = tmp_path / "report.png"

    subprocess.run(
        [
            CHROMIUM,
            *BROWSER_FLAGS,
            f"--user-data-dir={tmp_path / 'profile'}",
            "--window-size=1400,800",
            f"--screenshot={shot}",
            report.as_uri(),
        ],
        capture_output=True,
        timeout=120,
        check=True,
    )

    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 5000
