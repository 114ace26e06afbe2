"""Spark / Databricks SQL over a table of Falcon events (``spark-sql``) or ECS documents
(``spark-sql-ecs``).

Per-rule conditions come from the pySigma Databricks backend (see ``sql_backend``); this
module wraps them into one query that flags, scores and names each event exactly as
``proxyhunt scan`` does. The query is a single SELECT with CTEs, so it runs unchanged in
``spark.sql()``, a Databricks notebook or a Databricks SQL warehouse.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from proxyhunt.export import platforms as pf
from proxyhunt.export.convert import FieldMap, bare_query, convert_all, convert_rule, field_pipeline
from proxyhunt.export.detection import (
    Detection,
    ExportRule,
    RuleFlag,
    comment_block,
    detection_order,
    header_lines,
    indicator_sources,
    severity_order,
    weights,
)
from proxyhunt.export.registry import Target, register
from proxyhunt.export.sql_backend import SparkConditionBackend


@dataclass(frozen=True)
class SqlDialect:
    """What differs between the Falcon and the ECS flavour of the same query."""

    target: str
    table: str
    fields: FieldMap
    assumptions: tuple[str, ...]
    triage: Mapping[str, str]  # output column -> SQL expression
    computed: Mapping[str, str]  # helper column -> SQL expression, added before matching

    def category_filter(self, rule: ExportRule) -> str:
        raise NotImplementedError


class FalconSql(SqlDialect):
    def category_filter(self, rule: ExportRule) -> str:
        names = ", ".join(f"'{n}'" for n in pf.FALCON_EVENTS[rule.category])
        where = f"event_simpleName IN ({names})"
        platform = pf.FALCON_PLATFORMS.get(rule.product or "")
        return f"{where} AND event_platform = '{platform}'" if platform else where


class EcsSql(SqlDialect):
    def category_filter(self, rule: ExportRule) -> str:
        codes = ", ".join(f"'{c}'" for c in pf.ECS_EVENT_CODES[rule.category])
        where = f"CAST(event.code AS STRING) IN ({codes})"
        if rule.product:
            where += f" AND lower(host.os.type) = '{rule.product}'"
        return where


FALCON = FalconSql(
    target="spark-sql",
    table="falcon_events",
    fields=pf.FALCON_FIELDS,
    assumptions=(
        "table `falcon_events`: one row per Falcon Data Replicator event, one string column per"
        " FDR field (event_simpleName, event_platform, timestamp, ImageFileName, CommandLine,"
        " ParentBaseFileName, UserName, ComputerName, TargetProcessId, ContextProcessId,"
        " RawProcessId, RegObjectName, RegValueName, RegStringValue, LocalAddressIP4,"
        " LocalPort, RemoteAddressIP4, RemotePort); a column a feed lacks must exist as NULL",
        "timestamp = epoch milliseconds (FDR) or an ISO-8601 string; _timeutc is a TIMESTAMP,"
        " shown in the session time zone (SET TIME ZONE 'UTC' to read it as UTC)",
        "Falcon has no named-pipe event: pipe_created rules are not covered",
        "registry rules run on RegGenericValueUpdate, RegSystemConfigValueUpdate and"
        " AsepValueUpdate; TargetObject = RegObjectName || '\\' || RegValueName",
    ),
    triage={
        "_timeutc": "COALESCE(timestamp_millis(TRY_CAST(`timestamp` AS BIGINT)),"
        " TRY_CAST(`timestamp` AS TIMESTAMP))",
        **pf.FALCON_TRIAGE,
    },
    computed={"TargetObject": "concat_ws('\\\\', RegObjectName, RegValueName)"},
)

ECS = EcsSql(
    target="spark-sql-ecs",
    table="ecs_events",
    fields=pf.ECS_FIELDS,
    assumptions=(
        "table `ecs_events`: ECS documents with nested struct columns (event.code, process.*,"
        " registry.path, file.name, host.name, user.name, @timestamp) as Spark reads"
        " Winlogbeat/Elastic Agent NDJSON; a struct field a feed lacks must exist as NULL",
        "event.code is the Windows event id: 1/4688 process start, 12/13 registry, 17 pipe"
        " created, 3 network; registry_add and registry_delete rules both run on event 12",
        "_timeutc = @timestamp cast to TIMESTAMP",
    ),
    triage={"_timeutc": "TRY_CAST(`@timestamp` AS TIMESTAMP)", **pf.ECS_TRIAGE},
    computed={},
)


def render(det: Detection, dialect: SqlDialect) -> str:
    """The whole detection as one Spark SQL SELECT statement."""
    backend = SparkConditionBackend(
        processing_pipeline=field_pipeline(dialect.target, dialect.fields)
    )

    def convert(rule: ExportRule) -> str:
        return bare_query(convert_rule(backend, rule, dialect.fields))

    flags, uncovered = convert_all(det.rules, convert)
    mapping = {f"{cat}.{k}": v for cat, m in dialect.fields.items() for k, v in m.items()}
    header = header_lines(det, dialect.target, list(dialect.assumptions), mapping, flags, uncovered)
    body = _query(det, dialect, flags)
    return comment_block(header, "--") + "\n" + body + "\n"


def _query(det: Detection, dialect: SqlDialect, flags: list[RuleFlag]) -> str:
    computed = "".join(f",\n    {expr} AS {name}" for name, expr in dialect.computed.items())
    rule_cols = "".join(
        f",\n    CASE WHEN ({dialect.category_filter(f.rule)}) AND ({f.condition})"
        f" THEN 1 ELSE 0 END AS {f.name}"
        for f in flags
    )
    indicator_cols = "".join(
        f",\n    {_any(names)} AS {ind}" for ind, names in indicator_sources(det, flags).items()
    )
    score = " + ".join(f"{w} * {ind}" for ind, w in weights(det).items() if w) or "0"
    event_filter = " OR ".join(sorted({f"({dialect.category_filter(f.rule)})" for f in flags}))
    return "\n".join(
        [
            "WITH events AS (",
            f"  SELECT *{computed}",
            f"  FROM {dialect.table}",
            f"  WHERE {event_filter or 'FALSE'}",
            "),",
            "flagged AS (",
            f"  SELECT *{rule_cols}",
            "  FROM events",
            "),",
            "indicators AS (",
            f"  SELECT *{indicator_cols}",
            "  FROM flagged",
            "),",
            "scored AS (",
            f"  SELECT *, {score} AS suspicion_score",
            "  FROM indicators",
            ")",
            "SELECT",
            _select(det, dialect, flags),
            "FROM scored",
            "WHERE suspicion_score > 0",
            "ORDER BY _timeutc DESC",
        ]
    )


def _any(names: list[str]) -> str:
    if not names:
        return "0"
    return names[0] if len(names) == 1 else f"GREATEST({', '.join(names)})"


def _select(det: Detection, dialect: SqlDialect, flags: list[RuleFlag]) -> str:
    dtype = " ".join(f"WHEN {ind} = 1 THEN '{name}'" for ind, name in detection_order(det))
    severity = " ".join(
        f"WHEN {_any(names)} = 1 THEN '{level}'" for level, names in severity_order(flags)
    )
    computed = {
        "detection_type": f"CASE {dtype} ELSE 'Unknown' END",
        "suspicion_score": "suspicion_score",
        "severity": f"CASE {severity} ELSE 'medium' END" if severity else "'medium'",
    }
    columns = []
    for name in det.columns:
        expr = dialect.triage.get(name) or computed.get(name) or name
        columns.append(f"  {expr} AS {name}")
    return ",\n".join(columns)


register(
    Target(
        "spark-sql",
        "Spark/Databricks SQL over Falcon FDR events",
        lambda d: render(d, FALCON),
        ".sql",
    )
)
register(
    Target(
        "spark-sql-ecs", "Spark/Databricks SQL over ECS documents", lambda d: render(d, ECS), ".sql"
    )
)
