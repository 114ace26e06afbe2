"""A self-contained HTML triage report an analyst opens in a browser.

Every value is attacker-controlled, so the page carries no script at all and a Content
Security Policy that forbids any (an injected ``<script>`` would not run even if escaping
failed); each value is first made visible (control and bidi characters shown as escapes), then
HTML-escaped.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TextIO

from proxyhunt import __version__
from proxyhunt.outputs import safe
from proxyhunt.outputs.rows import REFERENCE_COLUMNS, row
from proxyhunt.score import Hit, Profile

COLUMNS = REFERENCE_COLUMNS + ("severity", "forwarding", "evidence", "source")
# Narrow columns whose long names would otherwise set their width: headers turned sideways.
_UPRIGHT = frozenset(("suspicion_score", "TargetProcessId", "ContextProcessId"))

_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'none'; form-action 'none'"
_STYLE = """
body { font: 13px/1.4 system-ui, sans-serif; margin: 1.5em; color: #1b1f24; }
h1 { font-size: 1.3em; margin: 0 0 .3em; }
p.meta { color: #57606a; margin: 0 0 1em; }
table { border-collapse: collapse; width: 100%; }
th, td { border: 1px solid #d0d7de; padding: 3px 6px; vertical-align: top; text-align: left; }
th { background: #f6f8fa; position: sticky; top: 0; }
td { overflow-wrap: anywhere; }
th.side { writing-mode: vertical-rl; transform: rotate(180deg); white-space: nowrap; }
td.c-_timeutc, td.c-TargetProcessId, td.c-ContextProcessId { white-space: nowrap; }
td.c-CommandLine { min-width: 24em; }
td.c-forwarding, td.c-evidence { min-width: 14em; }
td.c-source { color: #57606a; font-size: 90%; }
td.c-CommandLine, td.c-forwarding, td.c-evidence { font-family: ui-monospace, monospace; }
tr.sev-critical td.c-severity { background: #ffd8d3; font-weight: bold; }
tr.sev-high td.c-severity { background: #ffe7c2; }
ul.types { margin: 0 0 1em; padding-left: 1.2em; }
"""


def _cell(value: object) -> str:
    return safe.for_html(safe.for_terminal(str(value)))


def _header(name: str) -> str:
    side = name.startswith("is_") or name in _UPRIGHT
    return f'<th class="side">{_cell(name)}</th>' if side else f"<th>{_cell(name)}</th>"


def write_html(hits: Sequence[Hit], profile: Profile, out: TextIO) -> None:
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    by_type = Counter(hit.detection_type for hit in hits)

    out.write('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">\n')
    out.write(f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">\n')
    out.write('<meta name="referrer" content="no-referrer">\n')
    out.write(f"<title>proxyhunt report: {len(hits)} hit(s)</title>\n")
    out.write(f"<style>{_STYLE}</style></head><body>\n")
    out.write(f"<h1>proxyhunt: {len(hits)} hit(s)</h1>\n")
    out.write(
        f'<p class="meta">profile {_cell(profile.name)}, proxyhunt {__version__}, '
        f"generated {generated}; newest first</p>\n"
    )

    out.write('<ul class="types">')
    for kind, count in by_type.most_common():
        out.write(f"<li>{_cell(kind)}: {count}</li>")
    out.write("</ul>\n")

    out.write('<table id="hits"><thead><tr>')
    out.write("".join(_header(name) for name in COLUMNS))
    out.write("</tr></thead><tbody>\n")
    for hit in hits:
        values = row(hit, profile)
        out.write(f'<tr class="sev-{_cell(hit.severity)}">')
        values["source"] = f"{values['source']} ({values['locator']})"
        for name in COLUMNS:
            # The matching rules' titles show on hovering over the detection type.
            title = f' title="{_cell(values["rules"])}"' if name == "detection_type" else ""
            out.write(f'<td class="c-{name}"{title}>{_cell(values.get(name, ""))}</td>')
        out.write("</tr>\n")
    out.write("</tbody></table>\n</body></html>\n")
