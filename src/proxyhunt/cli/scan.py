"""``proxyhunt scan PATH...``: hunt telemetry files and print the triage table."""

from __future__ import annotations

import argparse
import os
import sys
from contextlib import nullcontext
from dataclasses import replace
from pathlib import Path
from typing import TextIO

from proxyhunt.cli import exitcodes
from proxyhunt.cli.progress import progress_for
from proxyhunt.cli.summary import print_summary, print_suppressed
from proxyhunt.errors import UsageError
from proxyhunt.outputs.atomic import atomic_text, check_writable
from proxyhunt.outputs.writers import WRITERS
from proxyhunt.pipeline import ScanResult, scan
from proxyhunt.sources.base import DEFAULT_LIMITS


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "scan",
        help="hunt telemetry files for internal proxies",
        description=(
            "Read telemetry (Falcon FDR NDJSON, EVTX, Windows/ECS JSON exports, auditd, "
            "Sysmon for Linux; plain, .gz or .zip), run the rule pack, print hits newest first."
        ),
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="file, folder, or - for stdin")
    parser.add_argument("--profile", default="default", help="rule profile: default or seed")
    parser.add_argument(
        "--rules",
        action="append",
        default=[],
        metavar="PATH",
        help="extra Sigma rule file or folder (repeatable)",
    )
    parser.add_argument(
        "--format", "-f", choices=sorted(WRITERS), default="table", help="output format"
    )
    parser.add_argument("-o", "--output", metavar="FILE", help="write hits to FILE")
    parser.add_argument("--allowlist", metavar="FILE", help="YAML allowlist of accepted activity")
    parser.add_argument(
        "--show-suppressed", action="store_true", help="list hits the allowlist suppressed"
    )
    parser.add_argument(
        "--strict", action="store_true", help="fail (exit 7) if any input record was lost"
    )
    parser.add_argument(
        "--no-progress", action="store_true", help="no progress bar even on a terminal"
    )
    parser.add_argument(
        "--jobs",
        "-j",
        type=_positive,
        default=None,
        metavar="N",
        help="processes to use (default: all cores); results are the same for any N",
    )
    parser.add_argument(
        "--evtx-stall",
        type=_seconds,
        default=DEFAULT_LIMITS.evtx_stall_seconds,
        metavar="SECONDS",
        help="give up on an EVTX chunk when the parser makes no progress for this long "
        f"(default {DEFAULT_LIMITS.evtx_stall_seconds:g}; raise it on a very slow disk)",
    )
    parser.add_argument(
        "--engine",
        choices=("local", "spark"),
        default="local",
        help="where to run: this machine (default) or Apache Spark (paths Spark can read: "
        "local, hdfs://, s3a:// through your Spark configuration)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.engine == "local":
        _check_paths(args.paths)  # Spark paths may be remote (hdfs://, s3a://)
    if args.output:
        # Before the scan, not after an hour of it.
        check_writable(args.output, args.paths)

    if args.engine == "spark":
        result = _scan_on_spark(args)
        _write(result, args)
        print_summary(result, sys.stderr)
        if args.show_suppressed:
            print_suppressed(result, sys.stderr)
        return exit_code(result, strict=args.strict)

    with progress_for(sys.stderr, enabled=not args.no_progress) as progress:
        result = scan(
            args.paths,
            profile=args.profile,
            rules=args.rules,
            allowlist=args.allowlist,
            progress=progress,
            jobs=args.jobs,
            limits=replace(DEFAULT_LIMITS, evtx_stall_seconds=args.evtx_stall),
        )

    _write(result, args)
    print_summary(result, sys.stderr)
    if args.show_suppressed:
        print_suppressed(result, sys.stderr)
    return exit_code(result, strict=args.strict)


def _scan_on_spark(args: argparse.Namespace) -> ScanResult:
    import importlib.util

    if importlib.util.find_spec("pyspark") is None:
        raise UsageError("--engine spark needs PySpark: pip install 'proxyhunt[spark]'")
    from proxyhunt.engines import spark

    result: ScanResult = spark.scan(
        args.paths, profile=args.profile, rules=args.rules, allowlist=args.allowlist
    )
    return result


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0.1 <= value <= 86400:
        raise argparse.ArgumentTypeError(f"expected seconds between 0.1 and 86400, got {text!r}")
    return value


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of processes >= 1, got {text!r}")
    return value


def _check_paths(paths: list[str]) -> None:
    missing = [p for p in paths if p != "-" and not Path(p).exists()]
    if missing:
        raise UsageError(f"no such file or folder: {', '.join(missing)}")
    if paths.count("-") > 1:
        raise UsageError("stdin (-) can be read only once")


def _write(result: ScanResult, args: argparse.Namespace) -> None:
    writer = WRITERS[args.format]
    target: object
    if args.output:
        target = atomic_text(args.output, newline="" if args.format == "csv" else None)
    else:
        target = nullcontext(sys.stdout)
    try:
        with target as out:
            stream: TextIO = out
            writer(result.hits, result.profile, stream)
    except BrokenPipeError:
        # `proxyhunt scan ... | head`: the reader has had enough. The summary and the exit
        # code still report the whole run; later writes to stdout must not fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except OSError as exc:
        raise UsageError(f"cannot write {args.output or 'output'}: {exc.strerror}") from exc


def exit_code(result: ScanResult, strict: bool) -> int:
    diag = result.diagnostics
    if (
        result.events == 0
        and not diag.events_by_format
        and (diag.files_unreadable or not diag.files)
    ):
        # Nothing at all was read: a mistyped path or an empty folder must not look clean.
        return exitcodes.NO_INPUT
    if diag.partial:
        if strict:
            return exitcodes.STRICT
        return exitcodes.PARTIAL_HITS if result.hits else exitcodes.PARTIAL
    return exitcodes.HITS if result.hits else exitcodes.CLEAN
