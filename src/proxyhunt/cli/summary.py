"""The run summary on stderr: what was read, what was lost and why, what was found."""

from __future__ import annotations

from typing import TextIO

from proxyhunt.outputs.rows import evidence, format_time
from proxyhunt.outputs.safe import for_terminal
from proxyhunt.pipeline import ScanResult

# How many ignored files the summary names; -v logs every one.
_LISTED = 10


def print_summary(result: ScanResult, out: TextIO) -> None:
    diag = result.diagnostics
    lines = [f"proxyhunt summary (profile {result.profile.name}, {result.rules} rules)"]
    lines.append(f"  files opened: {diag.files}")
    if diag.files_ignored:
        lines.append(f"  files ignored (not telemetry, or already read): {len(diag.files_ignored)}")
        shown = sorted(diag.files_ignored.items())[:_LISTED]
        lines.extend(f"    {name} ({why})" for name, why in shown)
        if len(diag.files_ignored) > _LISTED:
            lines.append(f"    ... and {len(diag.files_ignored) - _LISTED} more (-v lists all)")
    formats = ", ".join(f"{fmt} {n}" for fmt, n in sorted(diag.events_by_format.items()))
    lines.append(f"  events: {result.events}" + (f" ({formats})" if formats else ""))

    if diag.skipped:
        reasons = ", ".join(f"{why} {n}" for why, n in diag.skipped_by_reason.most_common())
        lines.append(f"  skipped records: {diag.skipped} ({reasons})")
    if diag.files_partial:
        lines.append(f"  files read in part: {len(diag.files_partial)}")
        lines.extend(f"    {name}" for name in sorted(diag.files_partial))
    if diag.files_unreadable:
        lines.append(f"  files not read: {len(diag.files_unreadable)}")
        lines.extend(f"    {name}" for name in sorted(diag.files_unreadable))

    by_type = ", ".join(f"{kind} {n}" for kind, n in result.hits_by_type.most_common())
    lines.append(f"  hits: {len(result.hits)}" + (f" ({by_type})" if by_type else ""))
    if result.suppressed:
        lines.append(f"  suppressed by allowlist: {len(result.suppressed)}")
    if diag.partial:
        lines.append("  run was PARTIAL: some input was lost (see warnings above)")

    for line in lines:
        print(for_terminal(line), file=out)


def print_suppressed(result: ScanResult, out: TextIO) -> None:
    if not result.suppressed:
        print("no hit was suppressed", file=out)
        return
    print("suppressed hits:", file=out)
    for hit, entry in result.suppressed:
        event = hit.event
        what = event.fields.get("CommandLine") or evidence(hit)
        text = (
            f"  {format_time(event.time)} {event.columns.get('ComputerName', '')} "
            f"{hit.detection_type} {what} <- {entry}"
        )
        print(for_terminal(text), file=out)
