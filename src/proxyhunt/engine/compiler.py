"""Compile one pySigma rule into a Python evaluator over an :class:`EventView`.

pySigma parses the detection and condition into a tree of ``ConditionOR``/``AND``/``NOT`` with
``ConditionFieldEqualsValueExpression`` (``Field: value``) and ``ConditionValueExpression``
(keyword) leaves. Each node becomes a closure ``(EventView) -> bool``; alongside it the compiler
derives the literals a matching event must contain (see :meth:`RuleSet.required_literals`).

Semantics chosen where the Sigma specification leaves room (each has a test):

* ``Field: null`` matches when the field is absent or explicitly null (``None``); an empty
  string is a value, matched by ``Field: ''``. ``Field|exists: false`` means the same as
  ``null``, ``exists: true`` the opposite.
* A keyword matches when it occurs anywhere in any field value (implicit ``*kw*``).
* A missing or null field never equals a string, number, regex or network; ``not`` of such a
  comparison is therefore true, as in SQL-less Sigma backends.
* ``fieldref`` compares the two values casefolded, like other uncased strings.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from sigma.conditions import (
    ConditionAND,
    ConditionFieldEqualsValueExpression,
    ConditionNOT,
    ConditionOR,
    ConditionValueExpression,
)
from sigma.exceptions import SigmaError
from sigma.rule import SigmaRule
from sigma.types import (
    SigmaBool,
    SigmaCasedString,
    SigmaCIDRExpression,
    SigmaCompareExpression,
    SigmaExists,
    SigmaExpansion,
    SigmaFieldReference,
    SigmaNull,
    SigmaNumber,
    SigmaRegularExpression,
    SigmaString,
    SigmaTimestampPart,
    SigmaType,
)

from proxyhunt.engine import matchers
from proxyhunt.engine.matchers import Literals, StringTest, StrTest, UnsupportedValue

log = logging.getLogger("proxyhunt.engine")

DEFAULT_INDICATOR = "is_custom_rule"
DEFAULT_LEVEL = "medium"


class EventView:
    """One event's fields with per-event caches of the casefolded values.

    A view is built once per event and shared by every rule tested on it, so each field is
    casefolded at most once however many rules read it.
    """

    __slots__ = ("fields", "_folded", "_all_raw", "_all_folded")
    _folded: dict[str, Value | None]

    def __init__(self, fields: dict[str, str | None]) -> None:
        self.fields = fields
        self._folded = {}
        self._all_raw: list[str] | None = None
        self._all_folded: list[str] | None = None

    def raw(self, name: str) -> Value | None:
        value: object = self.fields.get(name)
        if value is None or type(value) is str:
            return value
        if isinstance(value, list | tuple):
            # A multi-valued field (unnamed EventData <Data> elements): a rule matches when
            # any one element does, never the elements glued together.
            return tuple(v if type(v) is str else str(v) for v in value if v is not None)
        # Normalisers promise strings; a stray int from a source is compared as its text.
        return str(value)

    def folded(self, name: str) -> Value | None:
        try:
            return self._folded[name]
        except KeyError:
            raw = self.raw(name)
            folded: Value | None
            if raw is None or type(raw) is str:
                folded = None if raw is None else raw.casefold()
            else:
                folded = tuple(v.casefold() for v in raw)
            self._folded[name] = folded
            return folded

    def all_raw(self) -> list[str]:
        if self._all_raw is None:
            self._all_raw = _flatten(self.raw(k) for k in self.fields)
        return self._all_raw

    def all_folded(self) -> list[str]:
        if self._all_folded is None:
            self._all_folded = _flatten(self.folded(k) for k in self.fields)
        return self._all_folded


# One field's value: a string, or the strings of a multi-valued field.
Value = str | tuple[str, ...]


def _flatten(values: Iterable[Value | None]) -> list[str]:
    out: list[str] = []
    for value in values:
        if value is None:
            continue
        if type(value) is str:
            out.append(value)
        else:
            out.extend(value)
    return out


def check(test: StrTest, value: Value) -> bool:
    """``test`` on a field's value, or on any element of a multi-valued field."""
    if type(value) is str:
        return test(value)
    return any(test(v) for v in value)


Node = Callable[[EventView], bool]


@dataclass(frozen=True)
class Compiled:
    """A compiled condition node and the literals any event it matches must contain."""

    node: Node
    literals: Literals
    # Set for a plain string test on one field, so ORs on the same field can be merged.
    leaf: tuple[str, bool, StringTest] | None = None


@dataclass
class CompileContext:
    """Collects every reason a rule cannot be evaluated instead of stopping at the first."""

    problems: list[str] = field(default_factory=list)

    def unsupported(self, reason: str) -> Compiled:
        self.problems.append(reason)
        return Compiled(_never, None)


def _never(_view: EventView) -> bool:
    return False


def compile_condition(rule: SigmaRule, ctx: CompileContext) -> Compiled:
    """Compile all conditions of ``rule`` (a list of conditions is OR-linked)."""
    compiled: list[Compiled] = []
    for condition in rule.detection.parsed_condition:
        try:
            tree = condition.parse()
        except SigmaError as err:
            ctx.problems.append(f"condition {condition.condition!r}: {err}")
            continue
        if tree is None:
            ctx.problems.append(f"condition {condition.condition!r} selects nothing")
            continue
        compiled.append(_compile(tree, ctx))
    if not compiled:
        return Compiled(_never, None)
    return _compile_or(compiled)


def _compile(item: object, ctx: CompileContext) -> Compiled:
    if isinstance(item, ConditionOR):
        return _compile_or([_compile(arg, ctx) for arg in item.args])
    if isinstance(item, ConditionAND):
        return _compile_and([_compile(arg, ctx) for arg in item.args])
    if isinstance(item, ConditionNOT):
        inner = _compile(item.args[0], ctx).node
        return Compiled(lambda view: not inner(view), None)
    if isinstance(item, ConditionFieldEqualsValueExpression):
        return _compile_value(item.field, item.value, ctx)
    if isinstance(item, ConditionValueExpression):
        return _compile_value(None, item.value, ctx)
    return ctx.unsupported(f"condition element {type(item).__name__}")


def _compile_and(children: list[Compiled]) -> Compiled:
    nodes = tuple(child.node for child in children)
    literals = matchers.best_literals([c.literals for c in children if c.literals is not None])
    if len(nodes) == 2:
        first, second = nodes
        return Compiled(lambda view: first(view) and second(view), literals)

    def node(view: EventView) -> bool:
        return all(n(view) for n in nodes)

    return Compiled(node, literals)


def _compile_or(children: list[Compiled]) -> Compiled:
    literals = matchers.union_literals([child.literals for child in children])
    merged = _merge_same_field(children)
    if len(merged) == 1:
        return Compiled(merged[0].node, literals, merged[0].leaf)
    nodes = tuple(child.node for child in merged)
    if len(nodes) == 2:
        first, second = nodes
        return Compiled(lambda view: first(view) or second(view), literals)

    def node(view: EventView) -> bool:
        return any(n(view) for n in nodes)

    return Compiled(node, literals)


def _merge_same_field(children: list[Compiled]) -> list[Compiled]:
    """Fold OR-ed string tests on one field into one node that reads the field once."""
    groups: dict[tuple[str, bool], list[Compiled]] = {}
    rest: list[Compiled] = []
    for child in children:
        if child.leaf is None:
            rest.append(child)
        else:
            groups.setdefault(child.leaf[:2], []).append(child)
    merged = [
        group[0] if len(group) == 1 else _merged_leaf(name, cased, group)
        for (name, cased), group in groups.items()
    ]
    return merged + rest


def _merged_leaf(name: str, cased: bool, group: list[Compiled]) -> Compiled:
    tests = [child.leaf[2] for child in group if child.leaf is not None]
    equals = frozenset(t.literal for t in tests if t.kind == "eq")
    prefixes = tuple(t.literal for t in tests if t.kind == "prefix")
    suffixes = tuple(t.literal for t in tests if t.kind == "suffix")
    contains = tuple(t.literal for t in tests if t.kind == "contains")
    others = tuple(t.test for t in tests if t.kind in ("any", "pattern"))

    def test(v: str) -> bool:
        if v in equals:
            return True
        if prefixes and v.startswith(prefixes):
            return True
        if suffixes and v.endswith(suffixes):
            return True
        # map() over the bound __contains__ keeps the loop in C: ~2x a Python for-loop.
        if contains and any(map(v.__contains__, contains)):
            return True
        return any(other(v) for other in others)

    literals = matchers.union_literals([child.literals for child in group])
    return Compiled(_field_node(name, cased, test), literals)


def _field_node(name: str, cased: bool, test: StrTest) -> Node:
    if cased:

        def node(view: EventView) -> bool:
            value = view.raw(name)
            return value is not None and check(test, value)

    else:

        def node(view: EventView) -> bool:
            value = view.folded(name)
            return value is not None and check(test, value)

    return node


def _guarded_regex_node(name: str, literals: tuple[str, ...], test: StrTest) -> Node:
    """Skip RE2 when none of the regex's required literals is in the casefolded value.

    A substring test on the cached casefolded value costs a few percent of an RE2 search
    (which encodes the value to UTF-8 on every call).
    """

    def node(view: EventView) -> bool:
        folded = view.folded(name)
        if folded is None:
            return False
        if type(folded) is not str:
            value = view.raw(name)
            return value is not None and check(test, value)
        if not any(map(folded.__contains__, literals)):
            return False
        value = view.raw(name)
        return value is not None and check(test, value)

    return node


def _keyword_node(cased: bool, test: StrTest) -> Node:
    if cased:
        return lambda view: any(test(v) for v in view.all_raw())
    return lambda view: any(test(v) for v in view.all_folded())


def _compile_value(name: str | None, value: SigmaType, ctx: CompileContext) -> Compiled:
    try:
        return _compile_value_checked(name, value, ctx)
    except UnsupportedValue as err:
        where = f"field {name!r}" if name else "keyword"
        return ctx.unsupported(f"{where}: {err}")


def _compile_value_checked(name: str | None, value: SigmaType, ctx: CompileContext) -> Compiled:
    if isinstance(value, SigmaExpansion):
        # windash and base64offset: the variants are OR-linked whatever the outer linking.
        return _compile_or([_compile_value(name, v, ctx) for v in value.values])
    if isinstance(value, SigmaString):
        return _compile_string(name, value)
    if isinstance(value, SigmaRegularExpression):
        test, literals = matchers.compile_regex(value)
        if name is not None and literals:
            return Compiled(_guarded_regex_node(name, tuple(literals), test), literals)
        return _plain(name, True, test, literals)
    if name is None and isinstance(value, SigmaNumber):
        # A numeric keyword is searched as its text, like any other keyword.
        return _compile_string(None, SigmaString(str(value.number)))
    if name is None:
        raise UnsupportedValue(f"a {type(value).__name__} value needs a field")
    if isinstance(value, SigmaNull):
        return Compiled(lambda view: view.fields.get(name) is None, None)
    if isinstance(value, SigmaExists):
        return _compile_exists(name, value.exists)
    if isinstance(value, SigmaTimestampPart):
        raise UnsupportedValue("timestamp part modifiers (minute, hour, day, ...)")
    if isinstance(value, SigmaNumber):
        return _plain(name, False, matchers.number_test(value), None)
    if isinstance(value, SigmaCompareExpression):
        return _plain(name, False, matchers.compare_test(value), None)
    if isinstance(value, SigmaCIDRExpression):
        return _plain(name, False, matchers.cidr_test(value), None)
    if isinstance(value, SigmaBool):
        return _plain(name, False, matchers.bool_test(value.boolean), None)
    if isinstance(value, SigmaFieldReference):
        return _compile_fieldref(name, value)
    raise UnsupportedValue(f"value type {type(value).__name__}")


def _compile_string(name: str | None, value: SigmaString) -> Compiled:
    cased = isinstance(value, SigmaCasedString)
    string = matchers.compile_string(value, cased, contains=name is None)
    literals = matchers.best_literals([frozenset({f}) for f in string.fragments])
    if name is None:
        return Compiled(_keyword_node(cased, string.test), literals)
    return Compiled(_field_node(name, cased, string.test), literals, (name, cased, string))


def _plain(name: str | None, cased: bool, test: StrTest, literals: Literals) -> Compiled:
    """A test on the raw (``cased``) or casefolded value of one field or of any field."""
    node = _keyword_node(cased, test) if name is None else _field_node(name, cased, test)
    return Compiled(node, literals)


def _compile_exists(name: str, exists: bool) -> Compiled:
    if exists:
        return Compiled(lambda view: view.fields.get(name) is not None, None)
    return Compiled(lambda view: view.fields.get(name) is None, None)


def _compile_fieldref(name: str, value: SigmaFieldReference) -> Compiled:
    other = value.field
    starts, ends = value.starts_with, value.ends_with

    def node(view: EventView) -> bool:
        mine, theirs = view.folded(name), view.folded(other)
        if type(mine) is not str or type(theirs) is not str:
            # Absent, or multi-valued: a field reference compares single values only.
            return mine is not None and mine == theirs
        if starts and ends:
            return theirs in mine
        if starts:
            return mine.startswith(theirs)
        if ends:
            return mine.endswith(theirs)
        return mine == theirs

    return Compiled(node, None)


def rule_indicator(rule: SigmaRule) -> str:
    """The indicator a rule raises (``proxyhunt: {indicator: ...}``), or the default."""
    custom = rule.custom_attributes.get("proxyhunt")
    if isinstance(custom, dict) and isinstance(custom.get("indicator"), str):
        return str(custom["indicator"])
    return DEFAULT_INDICATOR
