"""Neutralise attacker-controlled text for the medium it is written to.

A command line can carry ANSI escape sequences (move the cursor, retitle the terminal, hide
text), spreadsheet formulas, lone UTF-16 surrogates or HTML. Each writer passes every value
through the function for its medium; nothing else in the package escapes text.
"""

from __future__ import annotations

import html

# C0 controls except TAB, DEL, and C1 controls (0x80-0x9f: 0x9b is a one-byte CSI).
_CONTROL = {c: None for c in range(0x00, 0x20) if c != 0x09}
_CONTROL.update({0x7F: None})
_CONTROL.update({c: None for c in range(0x80, 0xA0)})
# Characters that reorder or hide text in a terminal or a viewer (bidi overrides, zero width).
_INVISIBLE = (
    [0x200B, 0x200C, 0x200D, 0x200E, 0x200F, 0x2028, 0x2029, 0xFEFF]
    + list(range(0x202A, 0x202F))
    + list(range(0x2066, 0x206A))
)


def _escape_code(code: int) -> str:
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}"


def _build_terminal_map() -> dict[int, str]:
    table = {c: _escape_code(c) for c in _CONTROL}
    table.update({c: _escape_code(c) for c in _INVISIBLE})
    table[0x09] = "\\t"
    table[0x0A] = "\\n"
    table[0x0D] = "\\r"
    return table


_TERMINAL_MAP = _build_terminal_map()


def for_terminal(value: str) -> str:
    """Show control, escape and invisible characters as visible ``\\xNN`` escapes."""
    return scrub_surrogates(value).translate(_TERMINAL_MAP)


def scrub_surrogates(value: str) -> str:
    """Replace lone surrogates (from invalid UTF-16 in a log) with U+FFFD."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return value.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    return value


# A spreadsheet evaluates a cell that starts with one of these as a formula (or DDE call).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")


# In CSV, TAB, CR and LF are data the quoting already carries; every other control or
# invisible character is shown as an escape, because CSV is often printed to a terminal.
_CSV_MAP = {c: text for c, text in _TERMINAL_MAP.items() if c not in (0x09, 0x0A, 0x0D)}


def for_csv(value: str) -> str:
    """Prefix a would-be formula with a quote so a spreadsheet shows it as text.

    Leading spaces do not protect a cell (spreadsheets trim them), so they are looked past.
    Escape sequences and invisible characters become visible escapes, as on a terminal.
    """
    value = scrub_surrogates(value).translate(_CSV_MAP)
    if value.lstrip(" ").startswith(_FORMULA_START):
        return "'" + value
    return value


def for_html(value: str) -> str:
    """Escape text for an HTML element body or a quoted attribute."""
    return html.escape(scrub_surrogates(value), quote=True)
