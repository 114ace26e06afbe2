"""A hit as a row: the reference's triage columns in its order, then proxyhunt's extras."""

from __future__ import annotations

from datetime import datetime

from proxyhunt.score import Hit, Profile

# The reference LogScale query's `table` columns, in its order.
REFERENCE_COLUMNS = (
    "_timeutc",
    "ComputerName",
    "UserName",
    "ImageFileName",
    "CommandLine",
    "ParentBaseFileName",
    "detection_type",
    "suspicion_score",
    "is_proxy_tool",
    "is_netsh_proxy",
    "is_ssh_tunnel",
    "is_portfwd",
    "TargetProcessId",
    "ContextProcessId",
)
_REFERENCE_INDICATORS = ("is_proxy_tool", "is_netsh_proxy", "is_ssh_tunnel", "is_portfwd")
EXTRA_COLUMNS = (
    "severity",
    "forwarding",
    "evidence",
    "indicators",
    "rules",
    "event_category",
    "source",
    "locator",
    "format",
)


def columns(profile: Profile) -> tuple[str, ...]:
    """Reference columns, then the profile's other indicators, then the extras."""
    others = tuple(n for n in profile.indicator_names if n not in _REFERENCE_INDICATORS)
    return REFERENCE_COLUMNS + others + EXTRA_COLUMNS


def format_time(value: datetime | None) -> str:
    if value is None:
        return ""
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def evidence(hit: Hit) -> str:
    """For events without a command line, the value that made them hit."""
    fields = hit.event.fields
    if fields.get("PipeName"):
        return f"pipe {fields['PipeName']}"
    if fields.get("TargetObject"):
        details = fields.get("Details")
        return f"{fields['TargetObject']} = {details}" if details else str(fields["TargetObject"])
    return ""


def row(hit: Hit, profile: Profile) -> dict[str, str | int]:
    """The row of ``hit``; flags are "1"/"0" strings as the reference's ``if()`` gives."""
    event = hit.event
    cols = event.columns
    values: dict[str, str | int] = {
        "_timeutc": format_time(event.time),
        "ComputerName": cols.get("ComputerName", ""),
        "UserName": cols.get("UserName", ""),
        "ImageFileName": cols.get("ImageFileName", event.fields.get("Image") or ""),
        "CommandLine": event.fields.get("CommandLine") or "",
        "ParentBaseFileName": cols.get("ParentBaseFileName", ""),
        "detection_type": hit.detection_type,
        "suspicion_score": hit.suspicion_score,
        "TargetProcessId": cols.get("TargetProcessId", ""),
        "ContextProcessId": cols.get("ContextProcessId", ""),
        "severity": hit.severity,
        "forwarding": "; ".join(hit.forwards),
        "evidence": evidence(hit),
        "indicators": ",".join(hit.fired),
        "rules": "; ".join(hit.rules),
        "event_category": event.category,
        "source": event.source,
        "locator": event.locator,
        "format": event.fmt,
    }
    for name in columns(profile):
        if name.startswith("is_"):
            values[name] = "1" if hit.indicators.get(name) else "0"
    return {name: values[name] for name in columns(profile)}
