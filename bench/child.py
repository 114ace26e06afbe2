"""One measured workload, run in its own process so its peak memory is its own.

Prints one JSON object: ``{"events": n, "seconds": s, "hits": h}``; ``seconds`` covers the
work itself (loading rules, opening files, reading, matching), not interpreter start-up.

    python -m bench.child proxyhunt --jobs 2 bench/out/fdr-1G-s1.ndjson
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any, BinaryIO

Workload = Callable[[argparse.Namespace], tuple[int, int]]  # -> (events, hits)


def run_proxyhunt(args: argparse.Namespace) -> tuple[int, int]:
    from proxyhunt.pipeline import scan

    result = scan(args.paths, profile=args.profile, jobs=args.jobs)
    return result.events, len(result.hits)


def run_bare_ndjson(args: argparse.Namespace) -> tuple[int, int]:
    """Decode every line with the fastest decoder installed; nothing else."""
    loads = _fastest_loads()
    events = 0
    for path in args.paths:
        with _open(path) as stream:
            for line in stream:
                if line.strip():
                    loads(line)
                    events += 1
    return events, 0


def run_bare_evtx(args: argparse.Namespace) -> tuple[int, int]:
    """Iterate every record of every file with the ``evtx`` parser, as JSON text."""
    import evtx

    events = 0
    for path in args.paths:
        # 0: the parser picks its own thread count, as a plain loop over the files would.
        parser = evtx.PyEvtxParser(path, number_of_threads=0)
        try:
            for _record in parser.records_json():
                events += 1
        except RuntimeError:
            # A damaged chunk ends that file's iteration, as it ends proxyhunt's reading.
            continue
    return events, 0


def run_duckdb(args: argparse.Namespace) -> tuple[int, int]:
    """The pack as one SQL query (see bench.duckdb_sql) over the NDJSON files."""
    from bench.duckdb_sql import translate
    from proxyhunt.rules.loader import load_profile, load_rules

    rules, _ = load_rules(load_profile(args.profile))
    translation = translate(rules)
    con = _duckdb_connection(args.jobs)
    hits = 0
    for path in args.paths:
        hits += len(con.execute(translation.query(path)).fetchall())
    events = _duckdb_count(con, args.paths)
    return events, hits


def run_duckdb_scan(args: argparse.Namespace) -> tuple[int, int]:
    """DuckDB reading the same columns without any rule: its floor on this input."""
    con = _duckdb_connection(args.jobs)
    return _duckdb_count(con, args.paths), 0


def _duckdb_connection(jobs: int) -> Any:
    import duckdb

    con = duckdb.connect()
    con.execute(f"SET threads = {jobs}")
    con.execute("SET enable_progress_bar = false")
    return con


def _duckdb_count(con: Any, paths: Sequence[str]) -> int:
    from bench.duckdb_sql import translate

    columns = translate([]).columns
    spec = ", ".join(f"\"{c}\": 'VARCHAR'" for c in columns)
    total = 0
    for path in paths:
        query = f"SELECT count(*) FROM read_ndjson('{path}', columns={{{spec}}})"
        total += con.execute(query).fetchone()[0]
    return total


def _fastest_loads() -> Callable[[bytes], object]:
    try:
        import orjson

        return orjson.loads
    except ImportError:
        return json.loads


def _open(path: str) -> BinaryIO:
    if path == "-":
        return open(sys.stdin.fileno(), "rb", buffering=1 << 20, closefd=False)
    return open(path, "rb", buffering=1 << 20)


WORKLOADS: dict[str, Workload] = {
    "proxyhunt": run_proxyhunt,
    "bare-ndjson": run_bare_ndjson,
    "bare-evtx": run_bare_evtx,
    "duckdb": run_duckdb,
    "duckdb-scan": run_duckdb_scan,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.child")
    parser.add_argument("workload", choices=sorted(WORKLOADS))
    parser.add_argument("paths", nargs="+")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--profile", default="default")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    events, hits = WORKLOADS[args.workload](args)
    seconds = time.perf_counter() - started
    print(json.dumps({"events": events, "seconds": seconds, "hits": hits}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
