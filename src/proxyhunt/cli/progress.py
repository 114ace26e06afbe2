"""A progress line on stderr for long scans, only when stderr is a terminal."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, TextIO

from rich.console import Console
from rich.live import Live
from rich.text import Text

from proxyhunt.outputs.safe import for_terminal
from proxyhunt.pipeline import ProgressCallback

if TYPE_CHECKING:
    from proxyhunt.engines.local import ScanProgress


@contextlib.contextmanager
def progress_for(stream: TextIO, enabled: bool = True) -> Iterator[ProgressCallback | None]:
    """Yield a callback that redraws one status line, or None when nothing should show."""
    if not enabled or not stream.isatty():
        yield None
        return

    console = Console(file=stream)
    started = time.monotonic()
    with Live(Text(""), console=console, transient=True, refresh_per_second=4) as live:

        def update(state: ScanProgress) -> None:
            live.update(Text(status_line(state, time.monotonic() - started)))

        yield update


def status_line(state: ScanProgress, elapsed: float) -> str:
    """``files 3/10  1.2/8.0 GiB  15%  412,000 events/s  7 hits  <current file>``."""
    rate = state.events / max(elapsed, 1e-6)
    parts = [f"files {state.files_done}/{state.files_total}"]
    if state.bytes_total:
        share = min(state.bytes_done / state.bytes_total, 1.0)
        parts.append(f"{_gib(state.bytes_done)}/{_gib(state.bytes_total)} GiB  {share:.0%}")
    else:
        parts.append(f"{_gib(state.bytes_done)} GiB")  # stdin: no total
    parts.append(f"{state.events:,} events  {rate:,.0f}/s")
    parts.append(f"{state.hits} hits")
    parts.append(for_terminal(state.source))
    return "  ".join(parts)


def _gib(n: int) -> str:
    return f"{n / 1024**3:.1f}" if n >= 1024**3 // 10 else f"{n / 1024**3:.2f}"
