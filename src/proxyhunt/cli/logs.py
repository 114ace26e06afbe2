"""Log lines for a person: one line each, attacker text made visible, never interpreted."""

from __future__ import annotations

import logging
import sys

from proxyhunt.outputs.safe import for_terminal


class _SafeFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return for_terminal(super().format(record))


def setup(verbosity: int, debug: bool) -> None:
    """Warnings by default, info with -v, everything with --debug; all on stderr."""
    level = logging.DEBUG if debug else logging.INFO if verbosity > 0 else logging.WARNING
    if verbosity < 0:
        level = logging.ERROR
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_SafeFormatter("proxyhunt: %(levelname)s: %(message)s"))
    root = logging.getLogger("proxyhunt")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
