"""The Spark engine finds exactly what the local engine finds (PySpark in local mode)."""

from __future__ import annotations

import io
import logging
from collections import Counter
from pathlib import Path

import pytest

pytestmark = pytest.mark.spark
pyspark = pytest.importorskip("pyspark")

from bench import fdr  # noqa: E402
from proxyhunt.engines import spark as spark_engine  # noqa: E402
from proxyhunt.outputs.rows import row  # noqa: E402
from proxyhunt.pipeline import ScanResult, scan  # noqa: E402
from proxyhunt.validate import load_scenarios  # noqa: E402

# Columns that say where a hit was read, which differ by design (Spark lists absolute
# paths; a DataFrame has rows, not file lines).
_PLACE = ("source", "locator", "format")


@pytest.fixture(scope="module")
def spark():
    import os
    import sys

    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    session = (
        SparkSession.builder.master("local[2]")
        .appName("proxyhunt-spark-engine-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def _rows(result: ScanResult) -> Counter[tuple[tuple[str, str], ...]]:
    rows = (row(hit, result.profile) for hit in result.hits)
    return Counter(tuple((k, str(v)) for k, v in r.items() if k not in _PLACE) for r in rows)


@pytest.fixture(scope="module")
def bench_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("bench") / "fdr.ndjson"
    stream = io.BytesIO()
    fdr.write(stream, 400_000, seed=11, proxy_rate=0.02)
    path.write_bytes(stream.getvalue())
    return path


def test_scan_paths_equals_local_on_scenarios(spark, tmp_path: Path) -> None:
    logging.disable(logging.WARNING)
    for i, scenario in enumerate(load_scenarios()):
        folder = tmp_path / f"s{i:02d}"
        folder.mkdir()
        for j, item in enumerate(scenario.inputs):
            (folder / f"{j:02d}_{item.name}").write_bytes(item.data)
    local = scan([str(tmp_path)], jobs=1)
    remote = spark_engine.scan([str(tmp_path)], spark=spark)
    assert local.hits, "the scenarios must produce hits"
    assert _rows(remote) == _rows(local)
    assert remote.events == local.events
    assert dict(remote.diagnostics.events_by_format) == dict(local.diagnostics.events_by_format)
    assert [h.event.locator for h in remote.hits] == [h.event.locator for h in local.hits]


def test_scan_paths_equals_local_on_bench_data(spark, bench_file: Path) -> None:
    local = scan([str(bench_file)], jobs=1)
    remote = spark_engine.scan([str(bench_file)], spark=spark)
    assert len(local.hits) > 20
    assert _rows(remote) == _rows(local)
    assert remote.events == local.events


def test_detect_dataframe_equals_local_on_bench_data(spark, bench_file: Path) -> None:
    df = spark.read.json(str(bench_file)).repartition(3)
    got = spark_engine.detect_dataframe(df).collect()
    local = scan([str(bench_file)], jobs=1)
    expected = _rows(local)
    assert (
        Counter(tuple((k, str(v)) for k, v in r.asDict().items() if k not in _PLACE) for r in got)
        == expected
    )


def test_detect_dataframe_columns_are_the_local_output_columns(spark) -> None:
    from proxyhunt.outputs.rows import columns

    examples = Path(__file__).resolve().parents[1] / "examples" / "telemetry"
    ecs = examples / "winlogbeat_ecs_laptop7.ndjson"
    result = spark_engine.detect_dataframe(spark.read.json(str(ecs)))
    local = scan([str(ecs)], jobs=1)
    assert tuple(result.columns) == columns(local.profile)
    got = Counter(
        tuple((k, str(v)) for k, v in r.asDict().items() if k not in _PLACE)
        for r in result.collect()
    )
    assert got == _rows(local)
