"""The library call behind ``proxyhunt scan``: paths in, scored hits and a summary out.

The steps are the package's folders: read records (``sources``), normalise them into Sigma
fields (``normalise``), match the profile's Sigma rules (``engine``), score (``score``), then
drop what the allowlist suppresses (``tuning``). Validate, the benchmark and the Spark engine
reuse :func:`iter_events` and :func:`detect`.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from proxyhunt.diagnostics import Diagnostics
from proxyhunt.enrich import forwarding
from proxyhunt.model import Event
from proxyhunt.score import Hit, Profile, score_event
from proxyhunt.sources.base import DEFAULT_LIMITS, Limits

if TYPE_CHECKING:
    from proxyhunt.engine import RuleSet
    from proxyhunt.engines.local import ScanProgress
    from proxyhunt.tuning.allowlist import AllowEntry, Allowlist

log = logging.getLogger("proxyhunt.pipeline")

# Called after each piece of work with where the scan is (files, bytes, events, hits).
ProgressCallback = Callable[["ScanProgress"], None]

_OLDEST = datetime.min.replace(tzinfo=UTC)


@dataclass
class ScanResult:
    profile: Profile
    hits: list[Hit]
    suppressed: list[tuple[Hit, AllowEntry]] = field(default_factory=list)
    diagnostics: Diagnostics = field(default_factory=Diagnostics)
    events: int = 0
    rules: int = 0

    @property
    def hits_by_type(self) -> Counter[str]:
        return Counter(hit.detection_type for hit in self.hits)


@dataclass
class Detector:
    """A profile's rules, compiled once, ready to run over events."""

    profile: Profile
    ruleset: RuleSet

    @classmethod
    def load(cls, profile: str = "default", rules: Sequence[str] = ()) -> Detector:
        from proxyhunt.engine import compile_rules
        from proxyhunt.rules.loader import load_profile, load_rules

        sigma_rules, loaded = load_rules(load_profile(profile), rules)
        return cls(loaded, compile_rules(sigma_rules))

    def hit(self, event: Event) -> Hit | None:
        matched = self.ruleset.match(event)
        if not matched:
            return None
        hit = score_event(event, matched, self.profile)
        if hit is not None:
            hit.forwards = [str(forward) for forward in forwarding(event)]
        return hit


def iter_events(
    paths: Sequence[str], diag: Diagnostics, limits: Limits = DEFAULT_LIMITS
) -> Iterator[Event]:
    """Normalised events from every readable record under ``paths``, in input order."""
    from proxyhunt.normalise import normalise
    from proxyhunt.sources.registry import iter_records

    for record in iter_records(paths, diag, limits):
        try:
            event = normalise(record)
        except (KeyError, ValueError, TypeError, AttributeError, OverflowError) as exc:
            # A record whose fields have shapes no exporter produces: lose it, say so.
            diag.skip(record.source, record.locator, "cannot normalise", repr(exc))
            continue
        if event is not None:
            yield event


def detect(events: Iterable[Event], detector: Detector) -> Iterator[Hit]:
    """The hits among ``events``, in input order."""
    for event in events:
        hit = detector.hit(event)
        if hit is not None:
            yield hit


def newest_first(hits: list[Hit]) -> list[Hit]:
    """Sort newest first; events without a time go last; ties keep input order."""
    indexed = list(enumerate(hits))
    indexed.sort(key=lambda pair: (pair[1].event.time or _OLDEST, -pair[0]), reverse=True)
    return [hit for _, hit in indexed]


def scan(
    paths: Sequence[str],
    *,
    profile: str = "default",
    rules: Sequence[str] = (),
    allowlist: str | None = None,
    limits: Limits = DEFAULT_LIMITS,
    progress: ProgressCallback | None = None,
    jobs: int | None = None,
    prefilter: bool = True,
) -> ScanResult:
    """Hunt ``paths`` with ``profile`` (plus user ``rules``); hits come newest first.

    ``jobs`` processes share the work (default: every core); the hits, their order and the
    diagnostics are the same for any number. ``prefilter=False`` decodes every record even
    where the rules' raw patterns show it cannot match (see proxyhunt.engines.prefilter).
    """
    from proxyhunt.engine import compile_rules
    from proxyhunt.engines.local import LocalScan, Setup, default_jobs
    from proxyhunt.rules.loader import load_profile, load_rules

    sigma_rules, loaded = load_rules(load_profile(profile), rules)
    detector = Detector(loaded, compile_rules(sigma_rules))
    allow = _load_allowlist(allowlist)
    diag = Diagnostics()
    result = ScanResult(detector.profile, [], diagnostics=diag, rules=len(detector.ruleset))
    setup = Setup(profile, tuple(rules), limits, prefilter)
    local = LocalScan(
        detector, setup, diag, jobs or default_jobs(), rules=sigma_rules, progress_callback=progress
    )

    hits: list[Hit] = []
    for hit in local.hits(paths):
        entry = allow.match(hit) if allow is not None else None
        if entry is None:
            hits.append(hit)
        else:
            result.suppressed.append((hit, entry))

    result.events = local.events
    result.hits = newest_first(hits)
    return result


def _load_allowlist(path: str | None) -> Allowlist | None:
    if path is None:
        return None
    from proxyhunt.tuning.allowlist import load_allowlist

    return load_allowlist(path)
