"""``proxyhunt`` entry point: parse, dispatch to a subcommand module, map errors to exit codes."""

from __future__ import annotations

import argparse
import importlib
import logging
import signal
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import Any

from proxyhunt import __version__
from proxyhunt.cli import exitcodes, logs
from proxyhunt.errors import ProxyhuntError
from proxyhunt.outputs.safe import for_terminal

# Subcommand name -> module under proxyhunt.cli exposing add_parser(subparsers) and run(args).
COMMANDS = ("scan", "validate", "export", "rules")

log = logging.getLogger("proxyhunt.cli")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="proxyhunt",
        description="Hunt internal proxies (MITRE ATT&CK T1090.001) in endpoint telemetry.",
    )
    parser.add_argument("--version", action="version", version=f"proxyhunt {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log lines")
    parser.add_argument("-q", "--quiet", action="store_true", help="errors only on stderr")
    parser.add_argument("--debug", action="store_true", help="debug logs and tracebacks")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        module = _command_module(name)
        if module is not None:
            module.add_parser(subparsers)
    return parser


def _command_module(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(f"proxyhunt.cli.{name}")
    except ModuleNotFoundError as exc:
        if exc.name != f"proxyhunt.cli.{name}":
            raise
        return None


class Terminated(KeyboardInterrupt):
    """SIGTERM, handled as Ctrl-C is: the scan stops its helper processes, then exits."""


def _terminate(_signum: int, _frame: object) -> None:
    raise Terminated


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logs.setup(-1 if args.quiet else args.verbose, args.debug)
    previous = _on_sigterm(_terminate)
    try:
        code: int = args.run(args)
    except KeyboardInterrupt as exc:
        if isinstance(exc, Terminated):
            print("proxyhunt: terminated", file=sys.stderr)
            return exitcodes.TERMINATED
        print("proxyhunt: interrupted", file=sys.stderr)
        return exitcodes.INTERRUPTED
    except ProxyhuntError as exc:
        if args.debug:
            raise
        # Escaped line by line: a message may list several problems, one per line, and
        # every line can quote attacker text (file names, rule values).
        lines = [for_terminal(line) for line in str(exc).splitlines() or [""]]
        print(f"proxyhunt: error: {lines[0]}", *lines[1:], sep="\n", file=sys.stderr)
        return exc.exit_code
    except BrokenPipeError:
        # `proxyhunt scan ... | head` closed the pipe: not an error of ours.
        sys.stderr.close()
        return exitcodes.CLEAN
    finally:
        _on_sigterm(previous)
    return code


def _on_sigterm(handler: Any) -> Any:
    """Install ``handler`` for SIGTERM, returning the previous one (None: cannot, not the
    main thread, as when a test or an application calls main() from a thread)."""
    if handler is None:
        return None
    try:
        return signal.signal(signal.SIGTERM, handler)
    except ValueError:
        return None


if __name__ == "__main__":
    sys.exit(main())
