"""Find the Falcon FDR lines that could match a rule without decoding any line.

Each rule's condition becomes a formula over byte patterns (see :mod:`proxyhunt.engines.rawjson`):
a field test becomes a pattern the raw line must contain for the test to be true, ``and``/
``or`` stay, ``not x`` and tests without a usable pattern become "maybe" (true). All patterns
of all rules go into one Hyperscan database that scans big blocks of lines in one pass; a
line is decoded only if the formula of some rule that applies to it is true on the patterns
found in it, or if a guard fires:

* the line is not a plain flat object of strings (does not start with ``{`` or end with
  ``}``, has a non-string value, a raw control character): it is decoded so the reader's own
  checks report it exactly as they would without the prefilter;
* it contains a non-ASCII character whose case variants are ASCII (case folding could turn
  it into rule text);
* it is not a process event while the profile has rules for other event kinds.

Why process events only: the Falcon normaliser copies a process event's string values into
the Sigma fields unchanged, so text a rule needs is in the raw line. Other event kinds get
derived values (hive names rewritten, ``Protocol`` 6 -> ``tcp``), so those lines are decoded
whenever any rule could apply to them.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from sigma.conditions import (
    ConditionAND,
    ConditionFieldEqualsValueExpression,
    ConditionNOT,
    ConditionOR,
    ConditionValueExpression,
)
from sigma.rule import SigmaRule
from sigma.types import SigmaExpansion, SigmaRegularExpression, SigmaString, SpecialChars

from proxyhunt.engines import rawjson
from proxyhunt.engines.screen import Formula, ScreenSpec, compile_database, evaluate, rule_flags
from proxyhunt.model import (
    NETWORK_CONNECTION,
    OTHER,
    PIPE_CREATED,
    PROCESS_CREATION,
    REGISTRY_ADD,
    REGISTRY_DELETE,
    REGISTRY_SET,
)

log = logging.getLogger("proxyhunt.engines")

FALCON_PROCESS_EVENTS = ("ProcessRollup2", "SyntheticProcessRollup2")
_PRODUCTS = ("windows", "linux", "macos")
_OTHER_CATEGORIES = (
    NETWORK_CONNECTION,
    REGISTRY_SET,
    REGISTRY_ADD,
    REGISTRY_DELETE,
    PIPE_CREATED,
    OTHER,
)


@dataclass
class Patterns:
    """Distinct byte patterns, numbered in the order first seen."""

    expressions: list[str] = field(default_factory=list)
    _index: dict[str, int] = field(default_factory=dict)

    def add(self, expression: str) -> int:
        if expression not in self._index:
            self._index[expression] = len(self.expressions)
            self.expressions.append(expression)
        return self._index[expression]


@dataclass(frozen=True)
class RulePlan:
    """What the prefilter knows about one rule."""

    title: str
    formula: Formula
    process: bool  # applies to Falcon process events
    other: bool  # applies to some other Falcon event kind


@dataclass
class Plan:
    """The rules' formulas and patterns, before compiling the database."""

    patterns: Patterns
    rules: list[RulePlan]

    @property
    def process_formulas(self) -> list[Formula]:
        return [r.formula for r in self.rules if r.process]

    @property
    def decode_all_process(self) -> bool:
        """Some process rule has no pattern at all: every process line must be decoded."""
        return any(f is True for f in self.process_formulas)

    @property
    def decode_non_process(self) -> bool:
        return any(r.other for r in self.rules)


def plan_falcon(rules: Sequence[SigmaRule]) -> tuple[Plan, bool]:
    """Formulas for Falcon FDR lines; the flag is True when no line may ever be skipped."""
    ctx = _Context(Patterns(), frozenset())
    plans: list[RulePlan] = []
    everything = False
    for rule in rules:
        process = any(_applies(rule, PROCESS_CREATION, p) for p in _PRODUCTS)
        other = any(_applies(rule, c, p) for c in _OTHER_CATEGORIES for p in _PRODUCTS)
        # An event of kind "other" can be anything (a line without event_simpleName too).
        everything = everything or any(_applies(rule, OTHER, p) for p in _PRODUCTS)
        formula = _rule_formula(rule, ctx) if process else True
        plans.append(RulePlan(rule.title, formula, process, other))
    plan = Plan(ctx.patterns, plans)
    if plan.decode_all_process:
        names = [r.title for r in plans if r.process and r.formula is True]
        log.info("prefilter off for FDR: no raw pattern for %s", "; ".join(names))
    return plan, everything or plan.decode_all_process


# Windows event log records: the fields the Windows normaliser computes rather than copies
# (hex pids made decimal, GUIDs braced, DOMAIN\user joined, labels mapped, HTML unescaped).
WINDOWS_DERIVED = frozenset({
    "ProcessId", "ParentProcessId", "ProcessGuid", "ParentProcessGuid", "LogonGuid", "User",
    "IntegrityLevel", "PipeName",
})  # fmt: skip
# Event ids whose records the Windows normaliser can put in each category (Sysmon, 4688).
WINDOWS_EVENT_IDS = {
    PROCESS_CREATION: (1, 4688),
    NETWORK_CONNECTION: (3,),
    REGISTRY_SET: (13,),
    REGISTRY_ADD: (12,),
    REGISTRY_DELETE: (12,),
    "registry_event": (12, 14),
    PIPE_CREATED: (17, 18),
}


@dataclass(frozen=True)
class WindowsPlan:
    """The patterns and the one formula (OR of the rules') for Windows records."""

    patterns: Patterns
    formula: Formula


def plan_windows(rules: Sequence[SigmaRule]) -> WindowsPlan:
    """One formula for a Windows record (as evtx-rs renders it to JSON): any rule may match.

    A rule without a usable pattern falls back to its category's event ids, so a pipe rule
    on the derived ``PipeName`` still only decodes Sysmon 17/18 records.
    """
    # evtx-rs writes typed values (Initiated: true, ports) as JSON booleans and numbers.
    ctx = _Context(Patterns(), WINDOWS_DERIVED, anchored=False)
    formulas: list[Formula] = []
    for rule in rules:
        source = rule.logsource
        category = source.category.lower() if source.category else None
        if category is not None and category not in WINDOWS_EVENT_IDS and category != OTHER:
            continue  # the normaliser never produces it: the rule never matches a record
        formula = _rule_formula(rule, ctx)
        if formula is True and category in WINDOWS_EVENT_IDS:
            formula = ctx.patterns.add(_event_id_gate(WINDOWS_EVENT_IDS[category]))
        formulas.append(formula)
    return WindowsPlan(ctx.patterns, _or(formulas) if formulas else False)


def windows_screen(rules: Sequence[SigmaRule], max_record_bytes: int) -> ScreenSpec:
    """The screen EVTX records go through where they are parsed (see :mod:`.screen`)."""
    plan = plan_windows(rules)
    return ScreenSpec(tuple(plan.patterns.expressions), plan.formula, max_record_bytes)


def _event_id_gate(ids: Sequence[int]) -> str:
    """``"EventID"`` followed closely by one of ``ids`` (plain, or as ``#text`` after
    attributes such as ``Qualifiers``)."""
    numbers = "|".join(str(i) for i in ids)
    nested = r'\{[^{}]*(?:\{[^{}]*\}[^{}]*)?"#text"\s*:\s*'
    return r'"EventID"\s*:\s*(?:' + nested + r')?"?(?:' + numbers + r")[^0-9]"


def _applies(rule: SigmaRule, category: str, product: str = "windows") -> bool:
    """The engine's log source test (RuleSet.applies_to) for a Falcon event."""
    source = rule.logsource
    if source.product is not None and source.product.lower() != product:
        return False
    if source.category is not None:
        return source.category.lower() == category
    return source.service is None or source.service.lower() == "falcon"


# -- formulas --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Context:
    patterns: Patterns
    derived: frozenset[str]  # fields whose values are not raw string values copied as they are
    # Values are JSON strings (FDR, non-strings are guarded): patterns may use their quotes.
    anchored: bool = True


def _rule_formula(rule: SigmaRule, ctx: _Context) -> Formula:
    parts: list[Formula] = []
    for condition in rule.detection.parsed_condition:
        try:
            tree = condition.parse()
        except Exception:  # the engine refuses such rules; the prefilter just says "maybe"
            return True
        parts.append(_node(tree, ctx) if tree is not None else True)
    return _or(parts) if parts else True


def _node(item: object, ctx: _Context) -> Formula:
    if isinstance(item, ConditionOR):
        return _or([_node(arg, ctx) for arg in item.args])
    if isinstance(item, ConditionAND):
        return _and([_node(arg, ctx) for arg in item.args])
    if isinstance(item, ConditionNOT):
        return True  # absence of text cannot be seen in a raw pattern
    if isinstance(item, ConditionFieldEqualsValueExpression):
        if item.field in ctx.derived:
            return True
        return _value(item.value, ctx)
    if isinstance(item, ConditionValueExpression):
        # A keyword searches every field, derived ones included.
        return True if ctx.derived else _value(item.value, ctx)
    return True


def _value(value: object, ctx: _Context) -> Formula:
    if isinstance(value, SigmaExpansion):
        return _or([_value(v, ctx) for v in value.values])
    try:
        if isinstance(value, SigmaString):
            return ctx.patterns.add(string_pattern(value, ctx.anchored))
        if isinstance(value, SigmaRegularExpression):
            return ctx.patterns.add(rawjson.regex(value.regexp.to_plain(), ctx.anchored))
    except rawjson.NoPattern as exc:
        log.debug("prefilter: %s", exc)
    # Numbers, nulls, comparisons, CIDR, field references: the raw text tells nothing safe.
    return True


def string_pattern(value: SigmaString, anchored: bool = True) -> str:
    """Raw pattern of a Sigma string test (``*``/``?`` wildcards; anchored at the quotes).

    ``anchored=False`` also accepts a bare JSON number or boolean at the value's edges.
    """
    parts = list(value.s)
    if not any(isinstance(p, str) and p for p in parts):
        raise rawjson.NoPattern("a string without literal text")
    star, one = SpecialChars.WILDCARD_MULTI, SpecialChars.WILDCARD_SINGLE
    out: list[str] = []
    # A value that must start (end) with text: the text follows (precedes) its quote.
    if parts[0] is not star:
        out.append('"' if anchored else rawjson.LOOSE_START)
    for part in parts:
        if part is star:
            out.append(rawjson.ANY_RUN)
        elif part is one:
            out.append(rawjson.ANY_CHAR)
        elif isinstance(part, str):
            out.append(rawjson.literal(part))
        else:
            raise rawjson.NoPattern(f"string part {part!r}")
    if parts[-1] is not star:
        out.append('"' if anchored else rawjson.LOOSE_END)
    # Leading and trailing runs add nothing to an unanchored search.
    return "".join(out).removeprefix(rawjson.ANY_RUN).removesuffix(rawjson.ANY_RUN)


def _and(children: list[Formula]) -> Formula:
    kept = tuple(c for c in children if c is not True)
    if not kept:
        return True
    return kept[0] if len(kept) == 1 else ("and", kept)


def _or(children: list[Formula]) -> Formula:
    if not children or any(c is True for c in children):
        return True
    flat: list[Formula] = []
    for child in children:
        if isinstance(child, tuple) and child[0] == "or":
            flat.extend(child[1])
        else:
            flat.append(child)
    return flat[0] if len(flat) == 1 else ("or", tuple(flat))


# -- the scanner -----------------------------------------------------------------------------

# Lines the reader must see itself (so its diagnostics stay exact).
_GUARDS = (
    ("no opening brace", r"^[^{]"),
    ("no closing brace", r"[^}\s][ \t\r]*\n"),
    ("raw control character", r"[\x00-\x09\x0b\x0c\x0e-\x1f]"),
    ("escaped key", r'\\[^"\n]*"[ \t\r]*:'),
    # A number, object or list value is turned into text the raw line does not hold.
    ("non-string value", r'"[ \t\r]*:[ \t\r]*[^" \t\r]'),
)


def _folds_escaped() -> str:
    return "(?:" + "|".join(f"\\\\u{ord(ch):04x}" for ch in rawjson.FOLDS_TO_ASCII) + ")"


def _folds_utf8() -> str:
    forms = ("".join(f"\\x{b:02x}" for b in ch.encode()) for ch in rawjson.FOLDS_TO_ASCII)
    return "(?:" + "|".join(forms) + ")"


def _not_one_of(words: Sequence[str]) -> str:
    """Raw JSON string content (after its opening quote) that is none of ``words``."""
    prefixes = {w[:i] for w in words for i in range(len(w) + 1)}
    alternatives = []
    for prefix in sorted(prefixes):
        allowed = {w[len(prefix)] for w in words if w.startswith(prefix) and len(w) > len(prefix)}
        if prefix in words:
            allowed.add('"')
        excluded = "".join(f"\\x{ord(c):02x}" for c in sorted(allowed | {"\n"}))
        alternatives.append(rawjson.literal_exact(prefix) + f"[^{excluded}]")
    return "(?:" + "|".join(alternatives) + ")"


class LinePrefilter:
    """Candidate lines of a block of whole NDJSON lines, by one Hyperscan pass."""

    def __init__(self, plan: Plan) -> None:
        import hyperscan

        self._formulas = [f for f in plan.process_formulas if f is not True]
        expressions = list(plan.patterns.expressions)
        flags = [rule_flags()] * len(expressions)
        self._first_guard = len(expressions)
        guards = [pattern for _name, pattern in _GUARDS]
        guards.append(_folds_escaped())
        if plan.decode_non_process:
            process = _not_one_of(FALCON_PROCESS_EVENTS)
            guards.append(r'"event_simpleName"[ \t\r]*:[ \t\r]*"' + process)
        expressions.extend(guards)
        flags.extend([0] * len(guards))
        flags = [f | hyperscan.HS_FLAG_MULTILINE for f in flags]
        self._db = compile_database(expressions, flags)
        # Raw non-ASCII bytes are rare in FDR: this database only runs on blocks that have any.
        self._non_ascii = compile_database([_folds_utf8()], [0])
        self._verdicts: dict[frozenset[int], bool] = {}

    def candidates(self, block: bytes) -> list[int]:
        """Start offsets of the lines of ``block`` that must be decoded, in order.

        ``block`` holds whole lines; its last line may lack the newline (end of input).
        """
        found: dict[int, set[int]] = {}
        rfind = block.rfind

        def on_match(pattern: int, _start: int, end: int, _flags: int, _ctx: object) -> None:
            line = rfind(b"\n", 0, end - 1) + 1
            hits = found.get(line)
            if hits is None:
                found[line] = {pattern}
            else:
                hits.add(pattern)

        def on_folding(_pattern: int, start: int, end: int, flags: int, ctx: object) -> None:
            on_match(self._first_guard, start, end, flags, ctx)

        self._db.scan(block, match_event_handler=on_match)
        if not block.isascii():
            self._non_ascii.scan(block, match_event_handler=on_folding)
        chosen = [line for line, hits in found.items() if self._decode(hits)]
        last = rfind(b"\n", 0, len(block) - 1) + 1
        if not block.endswith(b"\n") and last not in found:
            chosen.append(last)  # an unterminated last line: let the reader judge it
        chosen.sort()
        return chosen

    def _decode(self, hits: set[int]) -> bool:
        if max(hits) >= self._first_guard:
            return True
        key = frozenset(hits)
        verdict = self._verdicts.get(key)
        if verdict is None:
            verdict = any(evaluate(f, hits) for f in self._formulas)
            if len(self._verdicts) < 65536:
                self._verdicts[key] = verdict
        return verdict


def check_patterns(plan: Plan) -> list[int]:
    """Indices of patterns Hyperscan refuses alone (too large, matching empty text ...)."""
    import hyperscan

    bad = []
    for index, expression in enumerate(plan.patterns.expressions):
        db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
        try:
            db.compile(expressions=[expression.encode()], flags=hyperscan.HS_FLAG_CASELESS)
        except hyperscan.error as exc:
            log.debug("prefilter: pattern %d refused: %s", index, exc)
            bad.append(index)
    return bad
