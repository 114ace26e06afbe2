"""A progress line on stderr for long scans, only when stderr is a terminal."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import TextIO

from rich.console import Console
from rich.live import Live
from rich.text import Text

from proxyhunt.outputs.safe import for_terminal
from proxyhunt.pipeline import ProgressCallback


@contextlib.contextmanager
def progress_for(stream: TextIO, enabled: bool = True) -> Iterator[ProgressCallback | None]:
    """Yield a callback that redraws one status line, or None when nothing should show."""
    if not enabled or not stream.isatty():
        yield None
        return

    console = Console(file=stream)
    started = time.monotonic()
    with Live(Text(""), console=console, transient=True, refresh_per_second=4) as live:

        def update(events: int, hits: int, source: str) -> None:
            rate = events / max(time.monotonic() - started, 1e-6)
            line = f"{events:,} events  {rate:,.0f}/s  {hits} hits  {for_terminal(source)}"
            live.update(Text(line))

        yield update
