"""The rule pack as portable Sigma rules: a zip (``render``) or a folder (``write_folder``).

Each rule is written back from its parsed form with the ``proxyhunt`` custom attribute moved
into a tag ``proxyhunt.<indicator>`` (other Sigma tools ignore unknown tag namespaces but
warn on unknown top-level keys), and a ``SCORING.md`` beside the rules says how proxyhunt
scores them, so the pack still means the same detection outside proxyhunt.
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path
from typing import Any

import yaml

from proxyhunt.export.detection import Detection, ExportRule, detection_order, weights
from proxyhunt.export.registry import Target, register

TAG_NAMESPACE = "proxyhunt"
# Fixed timestamp for zip members, so the same pack always gives the same bytes.
_ZIP_TIME = (2024, 1, 1, 0, 0, 0)


def portable_rule(rule: ExportRule) -> dict[str, Any]:
    """The rule's dict without the proxyhunt attribute, which becomes a tag."""
    data = {k: v for k, v in rule.data.items() if k != "proxyhunt"}
    tag = f"{TAG_NAMESPACE}.{rule.indicator}"
    tags = [t for t in data.get("tags", []) if not str(t).startswith(f"{TAG_NAMESPACE}.")]
    data["tags"] = [*tags, tag]
    return data


def rule_files(det: Detection) -> dict[str, str]:
    """File name -> YAML text for every rule, plus SCORING.md."""
    files: dict[str, str] = {}
    for rule in det.rules:
        name = _file_name(rule, files)
        text = yaml.safe_dump(portable_rule(rule), sort_keys=False, allow_unicode=True)
        files[name] = text
    files["SCORING.md"] = _scoring_text(det)
    return files


def render(det: Detection) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, text in rule_files(det).items():
            info = zipfile.ZipInfo(f"proxyhunt-{det.profile.name}/{name}", date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, text)
    return buffer.getvalue()


def write_folder(det: Detection, folder: Path) -> list[Path]:
    """Write the pack into ``folder`` (created if needed); returns the files written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in rule_files(det).items():
        path = folder / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def _file_name(rule: ExportRule, taken: dict[str, str]) -> str:
    stem = rule.path.stem if rule.path else re.sub(r"[^a-z0-9]+", "_", rule.title.lower())
    name, n = f"{stem}.yml", 2
    while name in taken:
        name, n = f"{stem}_{n}.yml", n + 1
    return name


def _scoring_text(det: Detection) -> str:
    rows = [
        f"| {n} | `{name}` | {dtype} | {weights(det)[name]} |"
        for n, (name, dtype) in enumerate(detection_order(det), 1)
    ]
    return "\n".join(
        [
            f"# proxyhunt {det.version}: profile `{det.profile.name}`",
            "",
            "Each rule carries a tag `proxyhunt.<indicator>`. An event's suspicion score is the",
            "sum of the weights of the indicators whose rules match it; its detection type is",
            "the first matching indicator in the order below; its severity is the highest",
            "`level` among the matching rules.",
            "",
            "| order | indicator | detection type | weight |",
            "| --- | --- | --- | --- |",
            *rows,
            "",
        ]
    )


register(Target("sigma", "the rule pack as portable Sigma rules (zip)", render, ".zip"))
