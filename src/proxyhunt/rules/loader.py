"""Load profiles and Sigma rule files: safe YAML, pySigma parsing, indicators, one error report.

Every YAML document is read with pySigma's ``SigmaYAMLLoader`` (a ``CSafeLoader`` that also
rejects duplicate keys); profiles with ``yaml.CSafeLoader``. Nothing here constructs
arbitrary Python objects. Rule files must not use YAML aliases: Sigma does not need them and
nested aliases can make a small file expand into an enormous detection.
"""

from __future__ import annotations

import importlib.resources
import logging
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import yaml
from sigma.collection import SigmaCollection
from sigma.exceptions import SigmaError, SigmaRuleLocation
from sigma.rule import SigmaRule
from sigma.rule.base import SigmaYAMLLoader

from proxyhunt.engine.compiler import DEFAULT_INDICATOR
from proxyhunt.errors import RuleError, UsageError
from proxyhunt.score.scoring import IndicatorSpec, Profile

log = logging.getLogger("proxyhunt.rules")

RULE_SUFFIXES = (".yml", ".yaml")
MAX_RULE_FILE_BYTES = 1 << 20  # a Sigma rule is a few KiB; anything this big is a mistake
CUSTOM_DETECTION_TYPE = "CustomRule"
_INDICATOR_NAME = re.compile(r"[a-z][a-z0-9_]*\Z")
_DETECTION_TYPE = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}\Z")
_PACKAGE = "proxyhunt.rules"


# --- profiles ----------------------------------------------------------------------------------


def list_profiles() -> list[str]:
    """Names of the profiles shipped with proxyhunt."""
    folder = importlib.resources.files(_PACKAGE) / "profiles"
    return sorted(
        entry.name.rsplit(".", 1)[0]
        for entry in folder.iterdir()
        if entry.is_file() and entry.name.endswith(RULE_SUFFIXES)
    )


def load_profile(name_or_path: str) -> Profile:
    """A shipped profile by name (``default``, ``seed``) or a profile file by path."""
    path = Path(name_or_path)
    if path.suffix in RULE_SUFFIXES or path.exists():
        if not path.is_file():
            raise UsageError(f"profile file {name_or_path} does not exist")
        return _parse_profile(path.read_text(encoding="utf-8"), str(path), path.parent)
    resource = importlib.resources.files(_PACKAGE) / "profiles" / f"{name_or_path}.yml"
    if not resource.is_file():
        known = ", ".join(list_profiles())
        raise UsageError(f"unknown profile {name_or_path!r}; shipped profiles: {known}")
    return _parse_profile(resource.read_text(encoding="utf-8"), str(resource), None)


def _parse_profile(text: str, where: str, base: Path | None) -> Profile:
    try:
        data = yaml.load(text, Loader=yaml.CSafeLoader)  # noqa: S506 - CSafeLoader is safe
    except yaml.YAMLError as err:
        location, problem = _yaml_location(err), _yaml_problem(err)
        raise RuleError(f"profile {where}: invalid YAML{location}: {problem}") from None
    except ValueError as err:
        raise RuleError(f"profile {where}: invalid value: {err}") from None
    if not isinstance(data, dict):
        raise RuleError(f"profile {where}: expected a mapping with name, packs and indicators")
    score = data.get("score", "count")
    if score != "count":
        raise RuleError(f"profile {where}: score {score!r} is not supported; use 'count'")
    return Profile(
        name=_profile_str(data, "name", where),
        description=str(data.get("description", "")),
        packs=tuple(_resolve_pack(p, where, base) for p in _profile_list(data, "packs", where)),
        indicators=tuple(_indicator_spec(item, where) for item in _indicators(data, where)),
    )


def _profile_str(data: dict[str, Any], key: str, where: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise RuleError(f"profile {where}: '{key}' must be a non-empty string")
    return value


def _profile_list(data: dict[str, Any], key: str, where: str) -> list[Any]:
    value = data.get(key)
    if not isinstance(value, list) or not value:
        raise RuleError(f"profile {where}: '{key}' must be a non-empty list")
    return value


def _indicators(data: dict[str, Any], where: str) -> list[Any]:
    items = _profile_list(data, "indicators", where)
    names = [item.get("name") if isinstance(item, dict) else None for item in items]
    duplicates = sorted({n for n in names if isinstance(n, str) and names.count(n) > 1})
    if duplicates:
        raise RuleError(f"profile {where}: indicators listed twice: {', '.join(duplicates)}")
    return items


def _indicator_spec(item: Any, where: str) -> IndicatorSpec:
    if not isinstance(item, dict):
        raise RuleError(
            f"profile {where}: each indicator must be {{name: ..., detection_type: ...}}"
        )
    name = item.get("name")
    if not isinstance(name, str) or not _INDICATOR_NAME.match(name):
        raise RuleError(f"profile {where}: indicator name {name!r} must look like is_something")
    detection_type = item.get("detection_type") or derive_detection_type(name)
    if not isinstance(detection_type, str) or not _DETECTION_TYPE.match(detection_type):
        raise RuleError(
            f"profile {where}: detection_type {detection_type!r} must be one word of letters, "
            "digits and underscores"
        )
    weight = item.get("weight", 1)
    if not isinstance(weight, int) or isinstance(weight, bool):
        raise RuleError(f"profile {where}: weight of {name} must be an integer")
    return IndicatorSpec(name, str(detection_type), weight)


def _resolve_pack(pack: Any, where: str, base: Path | None) -> str:
    """A shipped pack name stays a name; anything else must be a folder (relative to the
    profile file), stored as an absolute path."""
    if not isinstance(pack, str) or not pack:
        raise RuleError(f"profile {where}: pack entries must be names or folder paths")
    if _pack_resource(pack).is_dir():
        return pack
    folder = Path(pack) if base is None else base / pack
    if folder.is_dir():
        return str(folder.resolve())
    raise RuleError(f"profile {where}: pack {pack!r} is neither a shipped pack nor a folder")


def _pack_resource(pack: str) -> Traversable:
    return importlib.resources.files(_PACKAGE) / "packs" / pack


def derive_detection_type(indicator: str) -> str:
    """``is_reverse_ssh`` -> ``ReverseSsh``: the detection type an indicator gets by default."""
    words = indicator.removeprefix("is_").split("_")
    return "".join(word[:1].upper() + word[1:] for word in words if word) or CUSTOM_DETECTION_TYPE


# --- rules ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _RuleFile:
    where: str  # path as shown to the user
    text: str
    user: bool  # from --rules rather than a profile pack


def load_rules(profile: Profile, extra: Sequence[str] = ()) -> tuple[list[SigmaRule], Profile]:
    """Load every rule of the profile's packs plus user files/folders (``--rules``).

    Returns the rules and the profile, extended with the indicators user rules introduce.
    Raises RuleError listing every problem found in every file, not just the first.
    """
    files = [*_pack_files(profile.packs), *_user_files(extra)]
    rules: list[tuple[SigmaRule, bool]] = []
    problems: list[str] = []
    for rule_file in files:
        parsed, file_problems = _parse_file(rule_file)
        rules.extend((rule, rule_file.user) for rule in parsed)
        problems.extend(file_problems)
    problems.extend(_duplicate_ids(rule for rule, _ in rules))
    profile, indicator_problems = _assign_indicators(rules, profile)
    problems.extend(indicator_problems)
    if problems:
        raise RuleError(
            f"{len(problems)} problem(s) loading rules:\n"
            + "\n".join(f"  - {p}" for p in problems)
            + "\nFix or remove the files named above and run again."
        )
    log.info("loaded %d rules from %d files", len(rules), len(files))
    return [rule for rule, _ in rules], profile


def _pack_files(packs: Iterable[str]) -> Iterator[_RuleFile]:
    for pack in packs:
        resource = _pack_resource(pack)
        if resource.is_dir():
            yield from _resource_files(resource)
        else:
            yield from _path_files(Path(pack), user=False)


def _resource_files(folder: Traversable) -> Iterator[_RuleFile]:
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.is_dir():
            yield from _resource_files(entry)
        elif entry.name.endswith(RULE_SUFFIXES):
            yield _RuleFile(str(entry), entry.read_text(encoding="utf-8"), user=False)


def _user_files(paths: Sequence[str]) -> Iterator[_RuleFile]:
    for name in paths:
        path = Path(name)
        if not path.exists():
            raise UsageError(f"--rules {name}: no such file or folder")
        yield from _path_files(path, user=True)


def _path_files(path: Path, user: bool) -> Iterator[_RuleFile]:
    if path.is_file():
        candidates = [path]
    else:
        candidates = sorted(p for p in path.rglob("*") if p.suffix in RULE_SUFFIXES)
    for candidate in candidates:
        if candidate.is_file():
            yield _RuleFile(str(candidate), _read_rule_text(candidate), user)


def _read_rule_text(path: Path) -> str:
    size = path.stat().st_size
    if size > MAX_RULE_FILE_BYTES:
        raise RuleError(f"{path}: {size} bytes is too big for a Sigma rule file")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise RuleError(f"{path}: not UTF-8 text ({err.reason} at byte {err.start})") from None


def _parse_file(rule_file: _RuleFile) -> tuple[list[SigmaRule], list[str]]:
    where = rule_file.where
    try:
        documents = _yaml_documents(rule_file.text)
    except yaml.YAMLError as err:
        return [], [f"{where}{_yaml_location(err)}: invalid YAML: {_yaml_problem(err)}"]
    except _AliasError:
        return [], [f"{where}: YAML aliases (*name) are not allowed in rule files; write it out"]
    bad = [i for i, doc in enumerate(documents, 1) if not isinstance(doc, dict)]
    if bad:
        return [], [f"{where}: YAML document {bad[0]} is not a mapping, so not a Sigma rule"]
    try:
        collection = SigmaCollection.from_dicts(
            documents,
            collect_errors=True,
            source=SigmaRuleLocation(Path(where)),
            collect_filters=True,
            resolve_references=False,
        )
    except SigmaError as err:
        return [], [_sigma_problem(where, err)]
    problems = [_sigma_problem(where, err) for err in collection.errors]
    problems += [
        f"{where}: Sigma filters are not supported by the local engine" for _ in collection.filters
    ]
    rules: list[SigmaRule] = []
    for rule in collection.rules:
        if not isinstance(rule, SigmaRule):
            problems.append(
                f"{where}: {rule.title!r} is a correlation rule; the local engine "
                "evaluates single-event rules only"
            )
            continue
        if not rule.errors:  # a rule with errors has no detections to parse
            problems.extend(_condition_problems(where, rule))
        rules.append(rule)
    return rules, problems


class _AliasError(Exception):
    pass


def _yaml_documents(text: str) -> list[Any]:
    for event in yaml.parse(text, Loader=yaml.CSafeLoader):
        if isinstance(event, yaml.AliasEvent):
            raise _AliasError
    return [doc for doc in yaml.load_all(text, Loader=SigmaYAMLLoader) if doc is not None]  # noqa: S506


def _condition_problems(where: str, rule: SigmaRule) -> list[str]:
    """pySigma parses conditions lazily; parse now so errors carry the file name."""
    problems = []
    for condition in rule.detection.parsed_condition:
        try:
            condition.parse()
        except SigmaError as err:
            problems.append(
                f"{where}: {rule.title!r}: condition {condition.condition!r}: "
                f"{_without_source(err)}"
            )
    return problems


def _sigma_problem(where: str, err: SigmaError) -> str:
    location = ""
    if err.source is not None and err.source.line is not None:
        location = f":{err.source.line}" + (f":{err.source.char}" if err.source.char else "")
    return f"{where}{location}: {_without_source(err)}"


def _without_source(err: SigmaError) -> str:
    # SigmaError.__str__ appends " in <absolute path>"; the message already names the file.
    return str(err.args[0]) if err.args else type(err).__name__


def _yaml_location(err: yaml.YAMLError) -> str:
    mark = getattr(err, "problem_mark", None)
    return f":{mark.line + 1}:{mark.column + 1}" if mark is not None else ""


def _yaml_problem(err: yaml.YAMLError) -> str:
    problem = getattr(err, "problem", None)
    return str(problem) if problem else str(err)


def _duplicate_ids(rules: Iterable[SigmaRule]) -> list[str]:
    seen: dict[str, str] = {}
    problems = []
    for rule in rules:
        if rule.id is None:
            continue
        where = str(rule.source.path) if rule.source is not None else "?"
        key = str(rule.id)
        if key in seen:
            problems.append(
                f"{where}: rule id {key} is already used by {seen[key]}; "
                "give the rule a new id (e.g. from uuidgen)"
            )
        else:
            seen[key] = where
    return problems


def _assign_indicators(
    rules: list[tuple[SigmaRule, bool]], profile: Profile
) -> tuple[Profile, list[str]]:
    """Check each rule's ``proxyhunt`` attribute; extend the profile for user indicators."""
    specs = list(profile.indicators)
    known = {spec.name for spec in specs}
    problems: list[str] = []
    for rule, user in rules:
        where = str(rule.source.path) if rule.source is not None else "?"
        custom = rule.custom_attributes.get("proxyhunt")
        if custom is None:
            custom = {}
        if not isinstance(custom, dict):
            problems.append(f"{where}: 'proxyhunt' must be a mapping like {{indicator: is_x}}")
            continue
        indicator = custom.get("indicator")
        if indicator is None and user:
            indicator = DEFAULT_INDICATOR
            custom = {**custom, "indicator": indicator}
            custom.setdefault("detection_type", CUSTOM_DETECTION_TYPE)
            rule.custom_attributes["proxyhunt"] = custom
        if not isinstance(indicator, str) or not _INDICATOR_NAME.match(indicator):
            problems.append(
                f"{where}: {rule.title!r} needs 'proxyhunt: {{indicator: is_x}}' "
                f"(got {indicator!r})"
            )
            continue
        if indicator in known:
            continue
        if not user:
            problems.append(
                f"{where}: indicator {indicator} is not in profile {profile.name}; "
                "add it to the profile's indicators"
            )
            continue
        detection_type = custom.get("detection_type") or derive_detection_type(indicator)
        if not isinstance(detection_type, str) or not _DETECTION_TYPE.match(detection_type):
            # It becomes a column value and part of every exported query: no free text.
            problems.append(
                f"{where}: detection_type {detection_type!r} must be one word of letters, "
                "digits and underscores, like MyProxyTool"
            )
            continue
        specs.append(IndicatorSpec(indicator, detection_type))
        known.add(indicator)
    if len(specs) == len(profile.indicators):
        return profile, problems
    extended = Profile(profile.name, profile.description, profile.packs, tuple(specs))
    return extended, problems
