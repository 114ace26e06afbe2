"""Every text target passes its language checker, uses only fields its platform has, and
(SPL) computes the same hits as `proxyhunt scan` when its eval expressions are executed."""

from __future__ import annotations

import re

import pytest

import export_grammar as g
from export_scenarios import SCENARIOS, engine_truth, normalised
from proxyhunt.export import export_text, load_detection
from proxyhunt.export.registry import get, names

PROFILES = ["seed", "default"]


@pytest.fixture(scope="module", params=PROFILES)
def det(request):
    return load_detection(request.param)


def test_registry_rejects_duplicates():
    from proxyhunt.export.registry import register

    target = get("logscale")
    with pytest.raises(ValueError, match="registered twice"):
        register(target)


@pytest.mark.parametrize("target", [n for n in names() if n != "sigma"])
def test_header_states_assumptions(det, target):
    text = export_text(det, target)
    assert f"target: {target}; profile: {det.profile.name}" in text
    assert "Assumptions:" in text and "Not covered by this query" in text


def _uncovered(text: str, det) -> set[str]:
    flat = " ".join(re.sub(r"\n(//|--)", " ", text).split())
    return {rule.id for rule in det.rules if f"({rule.id}):" in flat}


@pytest.mark.parametrize("target", [n for n in names() if n != "sigma"])
def test_no_rule_silently_dropped(det, target):
    text = export_text(det, target)
    flat = " ".join(re.sub(r"\n(//|--)", " ", text).split())
    for rule in det.rules:
        assert rule.id in flat, f"{target}: {rule.title} neither exported nor listed"


def test_logscale_is_cql(det):
    text = export_text(det, "logscale")
    code = g.strip_comments(text, "//")
    no_regex = re.sub(r"=/(?:[^/\\\n]|\\.)*/[imsx]*", "=R", code)
    bare = g.without_strings(no_regex)
    assert g.balanced(bare) and g.quotes_closed(no_regex)
    for idiom in (r"\bwhere\b", r"\beval\b", r"\bmatch\(", r"\btrue\(\)", r"sort by", r"\bOR\b"):
        assert not re.search(idiom, bare), idiom
    for call in re.findall(r"\bif\(([^)]*)\)", bare):
        assert "then=" in call and "else=" in call
    assert re.search(r"\| table\(\[[^\]]+\]", code)
    assert re.search(r"\| sort\(\w+, order=desc", code)
    for pattern, flags in g.cql_regexes(code):
        re.compile(pattern.replace("\\/", "/"), re.I if "i" in flags else 0)
    fields = {m for m in re.findall(r"(?<![\w#@])([#@]?[A-Za-z_]\w*)\s*(?:!?=)(?!=)", bare)}
    made = g.defined(code, r"\| (?:case \{[^}]*?)?(\w+) :=") | set(re.findall(r"(\w+) :=", code))
    unknown = fields - g.FALCON_SCHEMA - made - g.CQL_KEYWORDS
    assert not unknown, f"fields not in the Falcon schema: {sorted(unknown)}"


@pytest.mark.parametrize(
    ("target", "schema"), [("sentinel", g.SENTINEL_SCHEMA), ("defender", g.DEFENDER_SCHEMA)]
)
def test_kql(det, target, schema):
    code = g.strip_comments(export_text(det, target), "//")
    bare = g.without_strings(code)
    assert g.balanced(bare) and g.quotes_closed(code)
    for literal in re.findall(r'matches regex "((?:[^"\\]|\\.)*)"', code):
        re.compile(literal.encode().decode("unicode_escape"))
    made = set(re.findall(r"(?:extend|,)\s*(\w+) =(?!=)", code))
    used = g.identifiers(bare) - g.KQL_KEYWORDS
    used = {name.split(".")[0] for name in used}
    unknown = used - schema - made - {"EventData"}
    unknown -= {c for c in unknown if re.fullmatch(r"rule_\d+|is_\w+", c)}
    assert not unknown, f"{target}: fields not in the schema: {sorted(unknown)}"
    assert "EventID == 4688 and EventID == 1" not in code  # stacked-pipeline contradiction


@pytest.mark.parametrize(
    ("target", "schema"), [("splunk", g.SPLUNK_SCHEMA), ("splunk-cim", g.CIM_SCHEMA)]
)
def test_spl(det, target, schema):
    code = g.strip_comments(export_text(det, target), "```")
    bare = g.without_strings(code)
    assert g.balanced(bare) and g.quotes_closed(code)
    assert "| regex" not in code  # regexes live in eval match(), not in a search stage
    for literal in re.findall(r'match\([^"]*"((?:[^"\\]|\\.)*)"\)', code):
        re.compile(literal.replace("\\\\", "\\").replace('\\"', '"'))
    made = set(re.findall(r"(?:eval |, )(\w+)=(?!=)", code))
    used = {n for n in g.identifiers(bare) if not n.startswith("Processes.")} - g.SPL_KEYWORDS
    unknown = used - schema - made
    assert not unknown, f"{target}: fields not in the schema: {sorted(unknown)}"


def _spl_rules(code: str) -> dict[str, tuple[str, str]]:
    found = re.findall(
        r'\| eval (rule_\d+)=if\(\(SigmaCategory=="(\w+)"\) AND \((.*)\), 1, 0\)$', code, re.M
    )
    return {name: (category, expr) for name, category, expr in found}


def _python(expr: str) -> str:
    expr = re.sub(r'match\(coalesce\((\w+), ""\), ', r'_m(ev.get("\1"), ', expr)
    expr = re.sub(r"isnull\((\w+)\)", r'(ev.get("\1") is None)', expr)
    return expr.replace(" AND ", " and ").replace(" OR ", " or ").replace("NOT ", "not ")


def test_spl_eval_expressions_find_what_scan_finds(det):
    """Run the SPL rule expressions (translated token by token to Python) on the scenarios."""
    text = export_text(det, "splunk")
    rules = _spl_rules(g.strip_comments(text, "```"))
    assert rules
    by_flag = dict(
        zip(
            sorted(rules, key=lambda n: int(n[5:])),
            [r for r in det.rules if r.id not in _uncovered(text, det)],
            strict=True,
        )
    )

    def _m(value, pattern):
        return re.search(pattern, value or "") is not None

    got = {}
    for sc, ev in zip(SCENARIOS, normalised(), strict=True):
        fields = {k: v for k, v in ev.fields.items()}
        fired = [
            by_flag[n]
            for n, (cat, expr) in rules.items()
            if cat == sc.category and eval(_python(expr), {"_m": _m, "ev": fields})
        ]  # noqa: S307
        on = [s for s in det.profile.indicators if s.name in {r.indicator for r in fired}]
        if on:
            got[sc.key] = (sum(s.weight for s in on), on[0].detection_type)
    truth = engine_truth(det.profile.name, _uncovered(text, det))
    assert got == {k: v[:2] for k, v in truth.items()}
