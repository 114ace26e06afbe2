"""``proxyhunt rules``: list a profile's rules, indicators and detection types."""

from __future__ import annotations

import argparse
import sys

from proxyhunt.outputs.safe import for_terminal


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "rules",
        help="list the rules and indicators of a profile",
        description="Load a profile (and extra rules), compile every rule, list them.",
    )
    parser.add_argument("--profile", default="default", help="rule profile: default or seed")
    parser.add_argument(
        "--rules", action="append", default=[], metavar="PATH", help="extra Sigma rule file/folder"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from proxyhunt.pipeline import Detector

    detector = Detector.load(args.profile, args.rules)
    profile = detector.profile
    print(f"profile {profile.name}: {profile.description}")
    print("indicators (detection_type precedence, first wins):")
    for spec in profile.indicators:
        print(f"  {spec.name:<32} {spec.detection_type}")
    print(f"rules ({len(detector.ruleset)}):")
    for rule in detector.ruleset.rules:
        line = f"  [{rule.level:<8}] {rule.indicator:<32} {rule.category:<18} {rule.title}"
        print(for_terminal(line), file=sys.stdout)
    return 0
