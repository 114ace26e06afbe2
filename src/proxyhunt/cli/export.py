"""``proxyhunt export``: write the detection for another platform (argument handling only)."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from proxyhunt.cli import exitcodes
from proxyhunt.errors import UsageError

log = logging.getLogger("proxyhunt.cli")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    from proxyhunt.export import registry

    parser = subparsers.add_parser(
        "export",
        help="write the detection as a query or rule pack for another platform",
        description="Write the profile's rules, scoring, detection type, severity and triage"
        " columns for a SIEM/EDR/data platform. See docs/siem.md.",
    )
    parser.add_argument(
        "--target", required=True, choices=registry.names(), help="platform to export for"
    )
    parser.add_argument("--profile", default="default", help="rule profile: default or seed")
    parser.add_argument(
        "--rules", action="append", default=[], metavar="PATH", help="extra Sigma rule file/folder"
    )
    parser.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="write here instead of stdout; for --target sigma a path ending in / or an"
        " existing folder gets the rules as files, anything else a zip",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from proxyhunt.export import export_text, load_detection

    det = load_detection(args.profile, args.rules)
    if args.target == "sigma" and args.output and _is_folder(args.output):
        from proxyhunt.export.sigma_pack import write_folder

        written = write_folder(det, Path(args.output))
        log.info("wrote %d files to %s", len(written), args.output)
        return exitcodes.CLEAN
    content = export_text(det, args.target)
    _write(content, args.output)
    return exitcodes.CLEAN


def _is_folder(output: str) -> bool:
    return output.endswith(("/", "\\")) or Path(output).is_dir()


def _write(content: str | bytes, output: str | None) -> None:
    if output is None:
        if isinstance(content, bytes):
            if sys.stdout.isatty():
                raise UsageError("the sigma target writes a zip: give -o FILE.zip or -o FOLDER/")
            sys.stdout.buffer.write(content)
        else:
            sys.stdout.write(content)
        return
    path = Path(output)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    log.info("wrote %s", path)
