"""What every export target shares: the rules, the profile's scoring, the triage columns.

A target turns each rule's Sigma condition into its own language (usually with a pySigma
backend, see :mod:`proxyhunt.export.convert`) and then assembles the same scoring as
:func:`proxyhunt.score.score_event`: one 0/1 flag per rule, one flag per indicator (any of
its rules), ``suspicion_score`` = sum of indicator weights, ``detection_type`` = first fired
indicator in profile order, ``severity`` = highest Sigma level among the rules that fired.
This module holds that plan and the header comment, so the targets only differ in syntax.
"""

from __future__ import annotations

import copy
import textwrap
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from sigma.rule import SigmaRule

from proxyhunt import __version__
from proxyhunt.score.scoring import LEVELS, Profile

# The reference's indicator columns, always emitted (0 when the profile lacks one) so a
# triage view built on the reference keeps working; profile extras follow them.
REFERENCE_INDICATORS = ("is_proxy_tool", "is_netsh_proxy", "is_ssh_tunnel", "is_portfwd")
LEAD_COLUMNS: tuple[str, ...] = (
    "_timeutc",
    "ComputerName",
    "UserName",
    "ImageFileName",
    "CommandLine",
)
LEAD_COLUMNS += ("ParentBaseFileName", "detection_type", "suspicion_score", "severity")
TAIL_COLUMNS = ("TargetProcessId", "ContextProcessId")
# The triage columns a target must fill from its own fields (the rest it computes).
SOURCE_COLUMNS: tuple[str, ...] = (
    "_timeutc",
    "ComputerName",
    "UserName",
    "ImageFileName",
    "CommandLine",
)
SOURCE_COLUMNS += ("ParentBaseFileName", "TargetProcessId", "ContextProcessId")


@dataclass(frozen=True)
class ExportRule:
    """One rule of the pack as the export needs it: metadata plus its YAML text."""

    id: str
    title: str
    indicator: str
    level: str
    category: str
    product: str | None
    path: Path | None
    data: dict[str, Any] = field(hash=False, compare=False)

    def sigma(self) -> SigmaRule:
        """A fresh pySigma rule: processing pipelines change rules in place, so never reuse."""
        return SigmaRule.from_dict(copy.deepcopy(self.data))


@dataclass(frozen=True)
class Uncovered:
    """A rule a target cannot carry, and why (printed in the query header)."""

    rule: ExportRule
    reason: str


@dataclass(frozen=True)
class RuleFlag:
    """A rule converted for one target: its flag column name and its condition text."""

    name: str
    rule: ExportRule
    condition: str


@dataclass
class Detection:
    """The whole detection to export: a profile and the rules of its packs."""

    profile: Profile
    rules: tuple[ExportRule, ...]
    version: str = __version__

    @cached_property
    def indicator_columns(self) -> tuple[str, ...]:
        extra = tuple(n for n in self.profile.indicator_names if n not in REFERENCE_INDICATORS)
        return REFERENCE_INDICATORS + extra

    @property
    def columns(self) -> tuple[str, ...]:
        """Output columns in the order every target writes them."""
        return LEAD_COLUMNS + self.indicator_columns + TAIL_COLUMNS

    def categories(self) -> list[str]:
        return sorted({rule.category for rule in self.rules})


def indicator_sources(det: Detection, flags: list[RuleFlag]) -> dict[str, list[str]]:
    """Every output indicator column -> the rule flags that raise it (may be empty)."""
    sources: dict[str, list[str]] = {name: [] for name in det.indicator_columns}
    for flag in flags:
        sources[flag.rule.indicator].append(flag.name)
    return sources


def weights(det: Detection) -> dict[str, int]:
    """Indicator -> weight; indicators outside the profile weigh 0 (they never score)."""
    table = {name: 0 for name in det.indicator_columns}
    table.update({spec.name: spec.weight for spec in det.profile.indicators})
    return table


def detection_order(det: Detection) -> list[tuple[str, str]]:
    """(indicator, detection_type) in profile order: the first fired one names the hit."""
    return [(spec.name, spec.detection_type) for spec in det.profile.indicators]


def severity_order(flags: list[RuleFlag]) -> list[tuple[str, list[str]]]:
    """(level, rule flags of that level), highest level first, only levels that occur."""
    order = []
    for level in reversed(LEVELS):
        names = [flag.name for flag in flags if _level(flag.rule.level) == level]
        if names:
            order.append((level, names))
    return order


def _level(level: str) -> str:
    # score_event ranks an unknown level as "medium"; do the same so severities agree.
    return level if level in LEVELS else "medium"


def header_lines(
    det: Detection,
    target: str,
    assumptions: list[str],
    mapping: dict[str, str],
    flags: list[RuleFlag],
    uncovered: list[Uncovered],
) -> list[str]:
    """The header comment's lines (without comment markers): what the query assumes."""
    lines = [
        f"proxyhunt {det.version} export: MITRE ATT&CK T1090.001 Internal Proxy",
        f"target: {target}; profile: {det.profile.name} (packs: {', '.join(det.profile.packs)})",
        "",
        "Assumptions:",
        *(f"  - {text}" for text in assumptions),
        "Field mapping (Sigma field -> this platform):",
        *(f"  {sigma} -> {native}" for sigma, native in mapping.items()),
        "Scoring (same as `proxyhunt scan`):",
        "  rule_N = 1 when rule N matches; an indicator = 1 when any of its rules matches;",
        "  suspicion_score = sum of indicator weights; hits need suspicion_score > 0;",
        "  detection_type = first indicator that fired, in this order: "
        + ", ".join(f"{name}={dtype}" for name, dtype in detection_order(det))
        + ";",
        "  severity = highest Sigma level among the rules that matched.",
        "Rules:",
        *(
            f"  {flag.name}: {flag.rule.title} [{flag.rule.indicator}, {flag.rule.level},"
            f" {flag.rule.category}] {flag.rule.id}"
            for flag in flags
        ),
    ]
    missing = uncovered
    lines.append("Not covered by this query:" if missing else "Not covered by this query: none")
    lines += [f"  - {item.rule.title} ({item.rule.id}): {item.reason}" for item in missing]
    return lines


def comment_block(lines: list[str], marker: str) -> str:
    """Prefix every line with ``marker`` (``//``, ``--``, ...), wrapped at 100 columns."""
    out: list[str] = []
    for line in lines:
        indent = " " * (len(line) - len(line.lstrip()) + 2)
        wrapped = textwrap.wrap(
            line,
            width=98 - len(marker),
            subsequent_indent=indent,
            break_on_hyphens=False,  # rule ids are UUIDs: keep them whole and searchable
            break_long_words=False,
        ) or [""]
        out += [f"{marker} {part}".rstrip() for part in wrapped]
    return "\n".join(out)
