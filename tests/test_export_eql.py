"""The exported EQL runs with the `eql` package over ECS events and scores like `proxyhunt scan`.

What the `eql` package cannot show: it compares `regex` case-insensitively (Elastic does
not), so the case-sensitive flag rules are only checked for syntax here, not for `-L`/`-l`.
"""

from __future__ import annotations

import pytest

from export_scenarios import SCENARIOS, ecs_documents, engine_truth
from proxyhunt.export import export_text
from proxyhunt.export.elastic_eql import SECTION
from proxyhunt.export.load import load_detection

eql = pytest.importorskip("eql")


def _sections(text: str) -> dict[str, str]:
    sections, name = {}, None
    for line in text.splitlines():
        if line.startswith(SECTION):
            name = line[len(SECTION) :].split()[0]
            sections[name] = ""
        elif name and not line.startswith("//"):
            sections[name] += line + "\n"
    return sections


def _matching_keys(query_text: str) -> set[str]:
    from eql.parser import elasticsearch_syntax, ignore_missing_functions

    with elasticsearch_syntax, ignore_missing_functions:
        query = eql.parse_query(query_text)
    found: list = []
    engine = eql.PythonEngine()
    engine.add_query(query)
    engine.add_output_hook(found.append)
    engine.stream_events([eql.Event.from_data(doc) for doc in ecs_documents()])
    return {str(event.data["process"]["pid"]) for out in found for event in out.events}


def _uncovered_ids(text, det):
    flat = " ".join(text.replace("\n--", " ").replace("\n//", " ").split())
    return {rule.id for rule in det.rules if f"({rule.id}):" in flat}


@pytest.mark.parametrize("profile", ["seed", "default"])
def test_indicator_queries_score_like_scan(profile):
    det = load_detection(profile)
    text = export_text(det, "elastic-eql")
    sections = _sections(text)
    fired = {
        name: _matching_keys(body) for name, body in sections.items() if name != "any_indicator"
    }

    got = {}
    for sc in SCENARIOS:
        on = [spec for spec in det.profile.indicators if sc.key in fired.get(spec.name, set())]
        if on:
            got[sc.key] = (sum(spec.weight for spec in on), on[0].detection_type)
    truth = engine_truth(profile, _uncovered_ids(text, det))
    assert got == {key: value[:2] for key, value in truth.items()}
    assert _matching_keys(sections["any_indicator"]) == set(truth)
