"""Run the rule pack on Apache Spark, with the local engine's semantics by construction.

Nothing is translated to Spark SQL: every partition runs proxyhunt's own code (readers,
normalisers, the Sigma engine, scoring) in the Python workers, through ``mapPartitions``.
The hits are therefore the local engine's hits; only the distribution differs.

Two entry points:

* :func:`detect_dataframe` takes a DataFrame of Falcon FDR (or ECS) events, one event per
  row, and returns the hits as a DataFrame with the columns of the local output
  (:func:`proxyhunt.outputs.rows.columns`).
* :func:`scan_paths` (``proxyhunt scan --engine spark PATH...``) reads whole files with
  Spark's ``binaryFile`` source, so anything Spark can list works: local paths, ``hdfs://``,
  ``s3a://`` with the user's Spark configuration. Each file goes through the same code as a
  local scan (the FDR prefilter included) on an executor, and the hits come back to the driver.
  A file must fit in an executor's memory (Spark's binaryFile reads it whole, up to 2 GiB).

The RDD API is used because it needs neither pandas nor pyarrow on the workers; it is not
available on Spark Connect sessions. Rule files given with ``rules=`` must be readable at the
same path on the executors (local mode, or a shared file system).
"""

from __future__ import annotations

import io
import logging
import os
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from proxyhunt.diagnostics import Diagnostics
from proxyhunt.model import KIND_ECS, KIND_FALCON, Record
from proxyhunt.sources.base import DEFAULT_LIMITS, Limits

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from proxyhunt.engines.local import Matcher
    from proxyhunt.score import Hit, Profile

log = logging.getLogger("proxyhunt.engines.spark")

_FORMATS = {KIND_FALCON: "fdr-ndjson", KIND_ECS: "json-ecs"}
# One matcher per Python worker process and setup, reused by every partition it runs.
_MATCHERS: dict[tuple[str, tuple[str, ...], bool], Matcher] = {}


def _matcher(profile: str, rules: tuple[str, ...], prefilter: bool = True) -> Matcher:
    from proxyhunt.engines.local import Matcher, Setup

    key = (profile, rules, prefilter)
    if key not in _MATCHERS:
        _MATCHERS[key] = Matcher.build(Setup(profile, rules, DEFAULT_LIMITS, prefilter))
    return _MATCHERS[key]


# -- DataFrames of events ----------------------------------------------------------------------


def detect_dataframe(
    df: DataFrame, profile: str = "default", rules: Sequence[str] = (), kind: str | None = None
) -> DataFrame:
    """The hits among the events of ``df`` (Falcon FDR or ECS, one event per row).

    ``kind`` is ``"falcon"`` or ``"ecs"``; by default a DataFrame with an
    ``event_simpleName`` column is Falcon, anything else ECS. The result has the local
    output's columns, all strings except ``suspicion_score``; ``source`` is
    ``spark:<partition>`` and ``locator`` ``row <n>`` within it.
    """
    from proxyhunt.outputs.rows import columns

    kind = kind or (KIND_FALCON if "event_simpleName" in df.columns else KIND_ECS)
    names = tuple(rules)
    output = columns(_matcher(profile, names).detector.profile)

    def run(index: int, rows: Iterable[Any]) -> Iterator[tuple[Any, ...]]:
        matcher = _matcher(profile, names)
        for hit in _hits_of_rows(index, rows, kind, matcher):
            yield _as_tuple(hit, matcher.detector.profile, output)

    rdd = df.rdd.mapPartitionsWithIndex(run)
    return df.sparkSession.createDataFrame(rdd, _schema(output))


def _hits_of_rows(index: int, rows: Iterable[Any], kind: str, matcher: Matcher) -> Iterator[Hit]:
    from proxyhunt.normalise import normalise

    source = f"spark:{index}"
    fmt = _FORMATS[kind]
    for number, row in enumerate(rows, 1):
        data = {k: v for k, v in row.asDict(recursive=True).items() if v is not None}
        record = Record(kind, data, source, f"row {number}", fmt)
        try:
            event = normalise(record)
        except (KeyError, ValueError, TypeError, AttributeError, OverflowError) as exc:
            log.warning("%s: row %d: skipped (cannot normalise): %r", source, number, exc)
            continue
        if event is not None:
            hit = matcher.detector.hit(event)
            if hit is not None:
                yield hit


def _as_tuple(hit: Hit, profile: Profile, output: tuple[str, ...]) -> tuple[Any, ...]:
    from proxyhunt.outputs.rows import row

    values = row(hit, profile)
    return tuple(values[name] for name in output)


def _schema(output: tuple[str, ...]) -> Any:
    from pyspark.sql.types import IntegerType, StringType, StructField, StructType

    return StructType(
        [
            StructField(name, IntegerType() if name == "suspicion_score" else StringType())
            for name in output
        ]
    )


# -- files -----------------------------------------------------------------------------------


@dataclass
class FileOutcome:
    """What one file gave on an executor; small enough to collect."""

    path: str
    events: int = 0
    hits: list[Hit] = field(default_factory=list)
    diag: Diagnostics = field(default_factory=Diagnostics)


def scan_paths(
    spark: SparkSession,
    paths: Sequence[str],
    profile: str = "default",
    rules: Sequence[str] = (),
    limits: Limits = DEFAULT_LIMITS,
    prefilter: bool = True,
) -> list[FileOutcome]:
    """Every file under ``paths`` scanned on the executors; outcomes in path order."""
    names = tuple(rules)
    files = (
        spark.read.format("binaryFile")
        .option("recursiveFileLookup", "true")
        .load(list(paths))
        .select("path", "content")
    )

    def run(rows: Iterable[Any]) -> Iterator[FileOutcome]:
        matcher = _matcher(profile, names, prefilter)
        for row in rows:
            yield scan_content(row.path, bytes(row.content), matcher, limits)

    outcomes = files.rdd.mapPartitions(run).collect()
    return sorted(outcomes, key=lambda o: o.path)


def scan_content(path: str, content: bytes, matcher: Matcher, limits: Limits) -> FileOutcome:
    """One file's bytes through the local engine's code: FDR fast path or the registry."""
    from proxyhunt.engines import fdrfast
    from proxyhunt.engines.local import _normalised
    from proxyhunt.pipeline import detect
    from proxyhunt.sources import registry

    source = _local_name(path)
    out = FileOutcome(source)
    out.diag.files += 1
    stream = io.BytesIO(content)
    head = content[: registry.HEAD_BYTES]
    reader = registry.choose_reader(head, source) if head else None
    if reader is not None and reader.name == "fdr-ndjson":
        lines = fdrfast.LinesOutcome()
        for block in fdrfast.blocks(stream, limits, lines):
            fdrfast.scan_block(block, matcher.falcon, matcher.detector, source, limits, lines)
        for number, reason, detail in lines.skips:
            out.diag.skip(source, f"line {number}", reason, detail)
        out.diag.read("fdr-ndjson", lines.records)
        out.events = lines.events
        out.hits = [hit for _, hit in lines.hits]
        return out
    records = registry.read_stream(stream, source, out.diag, limits)
    events = list(_normalised(records, out.diag))
    out.events = len(events)
    out.hits = list(detect(events, matcher.detector))
    return out


def _local_name(path: str) -> str:
    # Spark lists local files as file:/abs/path; show them as the user would name them.
    return path.removeprefix("file://").removeprefix("file:") if path.startswith("file:") else path


def session(app: str = "proxyhunt") -> SparkSession:
    """The active Spark session, or a new one from the user's Spark configuration.

    Unless the user chose a worker Python (``PYSPARK_PYTHON``), local workers run this
    interpreter, the one proxyhunt is installed in.
    """
    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    return SparkSession.builder.appName(app).getOrCreate()


def scan(
    paths: Sequence[str],
    *,
    profile: str = "default",
    rules: Sequence[str] = (),
    allowlist: str | None = None,
    limits: Limits = DEFAULT_LIMITS,
    prefilter: bool = True,
    spark: SparkSession | None = None,
) -> Any:
    """:func:`proxyhunt.pipeline.scan` with the files read and matched on Spark.

    Returns a :class:`~proxyhunt.pipeline.ScanResult`; hits come newest first, ties in path
    then file order. Allowlist matching and sorting happen on the driver.
    """
    from proxyhunt.pipeline import Detector, ScanResult, _load_allowlist, newest_first

    detector = Detector.load(profile, rules)
    allow = _load_allowlist(allowlist)
    outcomes = scan_paths(spark or session(), paths, profile, rules, limits, prefilter)
    result = ScanResult(detector.profile, [], rules=len(detector.ruleset))
    hits: list[Hit] = []
    for outcome in outcomes:
        result.diagnostics.merge(outcome.diag)
        result.events += outcome.events
        for hit in outcome.hits:
            entry = allow.match(hit) if allow is not None else None
            if entry is None:
                hits.append(hit)
            else:
                result.suppressed.append((hit, entry))
    result.hits = newest_first(hits)
    return result
