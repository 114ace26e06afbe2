"""``proxyhunt validate [SCENARIO...]``: replay coverage scenarios, print the coverage matrix."""

from __future__ import annotations

import argparse
import sys

from proxyhunt.cli import exitcodes
from proxyhunt.outputs.safe import for_terminal
from proxyhunt.validate import PROFILES, load_scenarios, render_matrix, run_scenarios


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "validate",
        help="replay coverage scenarios and print the coverage matrix",
        description=(
            "Read each scenario's telemetry through the real readers, run the default and seed "
            "profiles, compare with the scenario's expectations. Without SCENARIO, the "
            "scenarios shipped with proxyhunt are used. Exit 8 on any miss or unexpected hit."
        ),
    )
    parser.add_argument(
        "scenarios", nargs="*", metavar="SCENARIO", help="scenario YAML file or folder"
    )
    parser.add_argument(
        "--profile",
        action="append",
        choices=PROFILES,
        help="only this profile (repeatable; default: both, side by side)",
    )
    parser.add_argument(
        "--keep", metavar="DIR", help="leave the replayed input files in DIR for inspection"
    )
    parser.add_argument(
        "--details", action="store_true", help="list every detection, not only the failures"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    scenarios = load_scenarios(args.scenarios)
    report = run_scenarios(scenarios, tuple(args.profile or PROFILES), keep=args.keep)
    # Scenario names and expectations are text from files: escape each line for the terminal.
    for line in render_matrix(report, verbose=args.details).splitlines():
        print(for_terminal(line), file=sys.stdout)
    return exitcodes.CLEAN if report.ok else exitcodes.VALIDATION
