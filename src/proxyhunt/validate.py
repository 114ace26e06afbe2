"""Replayable coverage scenarios: telemetry in any supported format plus what must be found.

A scenario file (YAML) holds one behaviour seen through one or more inputs. Each input is
telemetry in a format proxyhunt reads (Falcon NDJSON, Sysmon or Security JSON exports, event
XML, auditd, Sysmon for Linux syslog ...), given inline as ``text`` or as a ``file`` beside the
scenario. Inputs are written to a temporary folder and read through the real readers and
normalisers, so a scenario tests the whole path from bytes to hit.

Each input states what each profile must report (``expect: {default: ..., seed: ...}``): a list
of detections (``{type: NetshPortProxy, indicators: [is_netsh_proxy, is_portfwd]}``, or just
the type name), or ``silent``. A detection may be marked ``suppressed: true`` when the
scenario's own ``allowlist`` is meant to suppress it. A profile without a stated expectation is
run and shown, but not judged. An input from which no event is read, or which loses records,
fails whatever was expected: silence from an unread file proves nothing.

Example::

    name: SSH dynamic forward on Linux (reference test 5)
    inputs:
      - format: auditd
        text: |
          type=SYSCALL msg=audit(1700000100.100:5001): ... exe="/usr/bin/ssh"
          type=EXECVE msg=audit(1700000100.100:5001): argc=4 a0="ssh" a1="-D" a2="1080" a3="u@h"
        expect:
          default: [{type: SSHTunneling, indicators: [is_ssh_tunnel]}]
          seed: silent
"""

from __future__ import annotations

import importlib.resources
import logging
import re
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import yaml

from proxyhunt.diagnostics import Diagnostics
from proxyhunt.errors import UsageError
from proxyhunt.model import Event
from proxyhunt.pipeline import Detector, iter_events
from proxyhunt.tuning.allowlist import Allowlist, parse_allowlist

log = logging.getLogger("proxyhunt.validate")

PROFILES = ("default", "seed")
SCENARIO_SUFFIXES = (".yml", ".yaml")
SILENT = "silent"

# File name suffix the temporary copy of an inline input gets, by format label; the readers
# sniff content, but a familiar suffix keeps the temporary files readable when kept.
SUFFIX_BY_FORMAT = {
    "falcon": ".ndjson",
    "sysmon-json": ".json",
    "security-json": ".json",
    "winlogbeat": ".json",
    "ecs": ".json",
    "event-xml": ".xml",
    "sysmon-xml": ".xml",
    "security-xml": ".xml",
    "auditd": ".log",
    "sysmon-linux": ".log",
}
_INPUT_KEYS = frozenset({"format", "name", "text", "file", "suffix", "expect", "note"})
_SCENARIO_KEYS = frozenset(
    {"name", "description", "references", "tags", "allowlist", "inputs", "seed_note"}
)


class ScenarioError(UsageError):
    """A scenario file cannot be used; the message names the file and the input."""


# --- the scenario model ----------------------------------------------------------------------


@dataclass(frozen=True)
class Detection:
    """One hit as a scenario states or a run reports it."""

    detection_type: str
    indicators: frozenset[str] | None = None  # None in an expectation: any indicators
    suppressed: bool = False

    def satisfied_by(self, got: Detection) -> bool:
        return (
            self.detection_type == got.detection_type
            and self.suppressed == got.suppressed
            and (self.indicators is None or self.indicators == got.indicators)
        )

    def __str__(self) -> str:
        text = self.detection_type
        if self.indicators is not None:
            text += "[" + ",".join(sorted(i.removeprefix("is_") for i in self.indicators)) + "]"
        return f"~{text}" if self.suppressed else text


@dataclass
class ScenarioInput:
    label: str  # the source format, as shown in the matrix
    name: str  # the file name the input is written as
    data: bytes
    expect: dict[str, list[Detection] | None]  # by profile; None = not stated
    note: str = ""
    title: str = ""  # the input's own name if it has one, else its format

    def __post_init__(self) -> None:
        self.title = self.title or self.label


@dataclass
class Scenario:
    path: str
    name: str
    description: str
    inputs: list[ScenarioInput]
    allowlist: Allowlist | None = None


# --- loading ---------------------------------------------------------------------------------


def shipped_scenarios() -> list[Traversable]:
    """The scenario files shipped with proxyhunt, in name order."""
    root = importlib.resources.files("proxyhunt") / "scenarios"
    return sorted(_walk_resources(root), key=lambda t: str(t))


def _walk_resources(folder: Traversable) -> Iterator[Traversable]:
    for entry in folder.iterdir():
        if entry.is_dir():
            yield from _walk_resources(entry)
        elif entry.name.endswith(SCENARIO_SUFFIXES):
            yield entry


def load_scenarios(paths: Sequence[str] = ()) -> list[Scenario]:
    """Scenario files named in ``paths`` (files or folders), or the shipped ones."""
    if not paths:
        return [
            _load_one(entry, entry.read_text(encoding="utf-8")) for entry in shipped_scenarios()
        ]
    scenarios: list[Scenario] = []
    for name in paths:
        path = Path(name)
        if not path.exists():
            raise UsageError(f"no such scenario file or folder: {name}")
        files = [path] if path.is_file() else sorted(_scenario_files(path))
        scenarios.extend(_load_one(f, f.read_text(encoding="utf-8")) for f in files)
    return scenarios


def _scenario_files(folder: Path) -> Iterator[Path]:
    for suffix in SCENARIO_SUFFIXES:
        yield from folder.rglob(f"*{suffix}")


def _load_one(path: Path | Traversable, text: str) -> Scenario:
    where = str(path)
    try:
        data = yaml.safe_load(text)
    except (yaml.YAMLError, ValueError) as err:
        raise ScenarioError(f"scenario {where}: invalid YAML: {err}") from None
    if not isinstance(data, dict) or not isinstance(data.get("inputs"), list):
        raise ScenarioError(f"scenario {where}: expected a mapping with name and inputs")
    _no_unknown_keys(data, _SCENARIO_KEYS, f"scenario {where}")
    stem = path.name.rsplit(".", 1)[0]
    inputs = [
        _load_input(item, path, where, f"{stem}-{i}", i) for i, item in enumerate(data["inputs"], 1)
    ]
    allowlist = None
    if data.get("allowlist") is not None:
        text = yaml.safe_dump(data["allowlist"])
        allowlist = parse_allowlist(text, f"{where} (allowlist)")
    return Scenario(
        where, str(data.get("name") or stem), str(data.get("description") or ""), inputs, allowlist
    )


def _load_input(
    item: Any, path: Path | Traversable, where: str, default_name: str, index: int
) -> ScenarioInput:
    at = f"scenario {where}: input {index}"
    if not isinstance(item, dict):
        raise ScenarioError(f"{at}: expected a mapping with format, text or file, and expect")
    _no_unknown_keys(item, _INPUT_KEYS, at)
    label = str(item.get("format") or "")
    if not label:
        raise ScenarioError(f"{at}: 'format' is required (for example auditd, falcon, sysmon-xml)")
    data, name = _input_bytes(item, path, at, default_name, label)
    expect = item.get("expect")
    if not isinstance(expect, dict) or not expect:
        raise ScenarioError(f"{at}: 'expect' must map profiles to detections or 'silent'")
    unknown = sorted(set(expect) - set(PROFILES))
    if unknown:
        raise ScenarioError(f"{at}: unknown profile(s) in expect: {', '.join(map(str, unknown))}")
    expected = {
        p: _expectation(expect[p], f"{at}: expect.{p}") if p in expect else None for p in PROFILES
    }
    title = str(item.get("name") or label)
    return ScenarioInput(label, name, data, expected, str(item.get("note") or ""), title)


def _input_bytes(
    item: dict[str, Any], path: Path | Traversable, at: str, default_name: str, label: str
) -> tuple[bytes, str]:
    has_text, has_file = "text" in item, "file" in item
    if has_text == has_file:
        raise ScenarioError(f"{at}: give exactly one of 'text' (inline) or 'file' (beside it)")
    if has_file:
        name = str(item["file"])
        if Path(name).is_absolute() or ".." in Path(name).parts:
            raise ScenarioError(f"{at}: file {name!r} must be a path beside the scenario")
        resource = path.parent / name if isinstance(path, Path) else _sibling(path, name)
        if not resource.is_file():
            raise ScenarioError(f"{at}: file {name!r} not found beside the scenario")
        return resource.read_bytes(), Path(name).name
    text = item["text"]
    if not isinstance(text, str) or not text.strip():
        raise ScenarioError(f"{at}: 'text' must be a non-empty block of telemetry")
    suffix = str(item.get("suffix") or SUFFIX_BY_FORMAT.get(label, ".log"))
    base = _slug(str(item.get("name") or default_name))
    return text.encode("utf-8"), f"{base}{suffix}"


def _sibling(resource: Traversable, name: str) -> Traversable:
    """``name`` (a relative path) in the package folder that holds ``resource``."""
    parent = importlib.resources.files("proxyhunt") / "scenarios"
    for part in Path(str(resource)).relative_to(str(parent)).parent.parts:
        parent = parent / part
    for part in Path(name).parts:
        parent = parent / part
    return parent


def _expectation(value: Any, at: str) -> list[Detection]:
    if value is None or value == SILENT or value == []:
        return []
    items = value if isinstance(value, list) else [value]
    return [_detection(item, at) for item in items]


def _detection(item: Any, at: str) -> Detection:
    if isinstance(item, str):
        return Detection(item)
    if not isinstance(item, dict) or not isinstance(item.get("type"), str):
        raise ScenarioError(
            f"{at}: each detection is a type name or {{type: ..., indicators: [...]}}"
        )
    _no_unknown_keys(item, frozenset({"type", "indicators", "suppressed"}), at)
    indicators = item.get("indicators")
    if indicators is not None and not (
        isinstance(indicators, list) and all(isinstance(i, str) for i in indicators)
    ):
        raise ScenarioError(f"{at}: indicators must be a list of indicator names")
    found = frozenset(indicators) if indicators is not None else None
    return Detection(item["type"], found, bool(item.get("suppressed", False)))


def _no_unknown_keys(data: dict[str, Any], known: frozenset[str], at: str) -> None:
    unknown = sorted(str(k) for k in set(data) - known)
    if unknown:
        raise ScenarioError(f"{at}: unknown key(s): {', '.join(unknown)}")


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "input"


# --- running ---------------------------------------------------------------------------------


@dataclass
class Outcome:
    """One input under one profile: what was expected, what came out, and the verdict."""

    expected: list[Detection] | None
    got: list[Detection]
    missed: list[Detection] = field(default_factory=list)
    unexpected: list[Detection] = field(default_factory=list)

    @property
    def judged(self) -> bool:
        return self.expected is not None

    @property
    def ok(self) -> bool:
        return not self.judged or (not self.missed and not self.unexpected)


@dataclass
class InputResult:
    scenario: Scenario
    input: ScenarioInput
    events: int
    formats: list[str]
    problems: list[str]  # input not (fully) read: fails every profile
    outcomes: dict[str, Outcome]

    @property
    def ok(self) -> bool:
        return not self.problems and all(o.ok for o in self.outcomes.values())


@dataclass
class Report:
    profiles: tuple[str, ...]
    results: list[InputResult]

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)

    @property
    def failures(self) -> list[InputResult]:
        return [r for r in self.results if not r.ok]


def run_scenarios(
    scenarios: Iterable[Scenario], profiles: Sequence[str] = PROFILES, keep: str | None = None
) -> Report:
    """Replay every input of every scenario under each profile. ``keep`` is a folder in which
    the temporary input files are left for inspection."""
    detectors = {name: Detector.load(name) for name in profiles}
    scenarios = list(scenarios)
    _check_names(scenarios, detectors)
    results: list[InputResult] = []
    with tempfile.TemporaryDirectory(prefix="proxyhunt-validate-") as tmp:
        folder = Path(keep) if keep else Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        for number, scenario in enumerate(scenarios, 1):
            for item in scenario.inputs:
                results.append(_run_input(scenario, item, folder / str(number), detectors))
    return Report(tuple(profiles), results)


def _check_names(scenarios: list[Scenario], detectors: dict[str, Detector]) -> None:
    """A misspelt detection type or indicator (``silnet``) is an error in the scenario, not a
    miss that sends someone hunting a rule bug."""
    types = {spec.detection_type for d in detectors.values() for spec in d.profile.indicators}
    names = {spec.name for d in detectors.values() for spec in d.profile.indicators}
    for scenario in scenarios:
        for item in scenario.inputs:
            for detection in (d for exp in item.expect.values() if exp for d in exp):
                at = f"scenario {scenario.path}: input {item.title!r}"
                if detection.detection_type not in types:
                    known = ", ".join(sorted(types))
                    raise ScenarioError(
                        f"{at}: unknown detection type {detection.detection_type!r}; "
                        f"expected '{SILENT}' or one of {known}"
                    )
                unknown = sorted((detection.indicators or frozenset()) - names)
                if unknown:
                    raise ScenarioError(f"{at}: unknown indicator(s) {', '.join(unknown)}")


def _run_input(
    scenario: Scenario, item: ScenarioInput, folder: Path, detectors: dict[str, Detector]
) -> InputResult:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / item.name
    path.write_bytes(item.data)
    diag = Diagnostics()
    events = list(iter_events([str(path)], diag))
    problems = _read_problems(events, diag)
    outcomes = {
        name: _judge(item.expect.get(name), _detections(events, detector, scenario.allowlist))
        for name, detector in detectors.items()
    }
    formats = sorted(diag.events_by_format)
    log.debug("%s %s: %d events (%s)", scenario.name, item.name, len(events), ", ".join(formats))
    return InputResult(scenario, item, len(events), formats, problems, outcomes)


def _read_problems(events: list[Event], diag: Diagnostics) -> list[str]:
    problems = list(diag.warnings)
    if not events and not problems:
        problems.append("no event was read from this input (format not recognised?)")
    return problems


def _detections(
    events: list[Event], detector: Detector, allowlist: Allowlist | None
) -> list[Detection]:
    found: list[Detection] = []
    for event in events:
        hit = detector.hit(event)
        if hit is None:
            continue
        suppressed = allowlist is not None and allowlist.match(hit) is not None
        found.append(Detection(hit.detection_type, frozenset(hit.fired), suppressed))
    return found


def _judge(expected: list[Detection] | None, got: list[Detection]) -> Outcome:
    outcome = Outcome(expected, got)
    if expected is None:
        return outcome
    unmatched = list(got)
    for want in expected:
        match = next((g for g in unmatched if want.satisfied_by(g)), None)
        if match is None:
            outcome.missed.append(want)
        else:
            unmatched.remove(match)
    outcome.unexpected = unmatched
    return outcome


# --- the coverage matrix ---------------------------------------------------------------------


def render_matrix(report: Report, verbose: bool = False) -> str:
    """The coverage matrix as plain text: one row per scenario input, a column group per profile."""
    header = ["scenario", "input", "read as"]
    for name in report.profiles:
        header += [f"{name}: expected", f"{name}: got", name]
    rows = [header] + [_row(result, report.profiles) for result in report.results]
    widths = [min(max(len(r[i]) for r in rows), 48) for i in range(len(header))]
    lines = ["  ".join(_cell(c, w) for c, w in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines.append("")
    lines += _summary(report, verbose)
    return "\n".join(line.rstrip() for line in lines)


def _row(result: InputResult, profiles: Sequence[str]) -> list[str]:
    cells = [result.scenario.name, result.input.title, ",".join(result.formats) or "-"]
    for name in profiles:
        outcome = result.outcomes[name]
        cells += [_detections_text(outcome.expected), _detections_text(outcome.got)]
        cells.append(_verdict(result, outcome))
    return cells


def _detections_text(detections: list[Detection] | None) -> str:
    if detections is None:
        return "(not stated)"
    if not detections:
        return SILENT
    return " ".join(
        d.detection_type if not d.suppressed else f"~{d.detection_type}" for d in detections
    )


def _verdict(result: InputResult, outcome: Outcome) -> str:
    if result.problems:
        return "UNREAD"
    if not outcome.judged:
        return "-"
    if outcome.ok:
        return "ok"
    return "+".join(
        w for w, bad in (("MISS", outcome.missed), ("EXTRA", outcome.unexpected)) if bad
    )


def _cell(text: str, width: int) -> str:
    return text.ljust(width) if len(text) <= width else text[: width - 1] + "…"


def _summary(report: Report, verbose: bool) -> list[str]:
    lines = [
        f"{len(report.results)} inputs, {len(report.failures)} failing "
        f"(~ = suppressed by the scenario's allowlist)"
    ]
    for result in report.failures if not verbose else report.results:
        where = f"{result.scenario.path} [{result.input.name}]"
        if verbose:
            for name, outcome in result.outcomes.items():
                got = " ".join(map(str, outcome.got)) or SILENT
                lines.append(f"  {where}: {name} got {got}")
        for problem in result.problems:
            lines.append(f"  {where}: input not read: {problem}")
        for name, outcome in result.outcomes.items():
            lines += [f"  {where}: {name} missed {d}" for d in outcome.missed]
            lines += [f"  {where}: {name} unexpected {d}" for d in outcome.unexpected]
    return lines
