"""``python -m bench``: generate the inputs, run proxyhunt and the baselines, print a table.

Workloads (``--workloads``, comma-separated):

``fdr``
    Synthetic Falcon FDR NDJSON of ``--size`` (kept in ``bench/out/`` for reruns): proxyhunt
    with the full pack on ``--jobs`` cores; DuckDB running the pack as SQL on as many threads;
    DuckDB only reading the columns; a bare ``orjson`` loop decoding every line (one core).
``evtx``
    The real EVTX files under ``--corpus``, copied ``--evtx-repeat`` times into ``--out``:
    proxyhunt with the full pack, and a bare loop over the ``evtx`` parser's records.
``stream``
    ``--stream-size`` of FDR generated on the fly and piped into proxyhunt's stdin, so a 10 GB
    input needs no disk: shows that memory stays flat. Its rate is the generator's.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from bench import fdr
from bench.measure import Measurement, run_child
from bench.sizes import human, parse_size

log = logging.getLogger("bench")

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "bench" / "out"
DEFAULT_CORPUS = ROOT.parent / "shared" / "corpus"
RSS_LIMIT = 300 * 1024**2


@dataclass
class Row:
    workload: str
    engine: str
    jobs: int
    m: Measurement
    baseline: str = ""  # the engine this row's ratio is against
    ratio: float | None = None
    target: str = ""
    met: bool | None = None


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="bench: %(message)s", stream=sys.stderr)
    args.out.mkdir(parents=True, exist_ok=True)
    load_before = _load()
    rows: list[Row] = []
    for name in args.workloads.split(","):
        rows.extend(WORKLOADS[name.strip()](args))
    print(render(rows))
    print()
    print(conditions(load_before, _load()))
    return 0 if all(row.met is not False for row in rows) else 1


def _load() -> float | None:
    try:
        return os.getloadavg()[0]
    except OSError:
        return None


def conditions(load_before: float | None, load_after: float | None) -> str:
    """What the rates depend on: the machine, how busy it was, the versions measured."""
    from importlib.metadata import PackageNotFoundError, version

    versions = []
    for package in ("proxyhunt", "evtx", "hyperscan", "duckdb", "orjson"):
        try:
            versions.append(f"{package} {version(package)}")
        except PackageNotFoundError:
            versions.append(f"{package} not installed")
    commit = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
        capture_output=True, text=True, check=False,
    ).stdout.strip()  # fmt: skip
    load = "unknown" if load_before is None else f"{load_before:.2f}"
    if load_after is not None:
        load += f" at start, {load_after:.2f} at end"
    return (
        f"Conditions: {os.cpu_count()} cores, load average (1 min) {load}; "
        f"Python {sys.version.split()[0]}; {', '.join(versions)}; commit {commit or 'unknown'}."
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--size", type=parse_size, default=parse_size("1G"), help="FDR input size (default 1G)"
    )
    parser.add_argument("--seed", type=int, default=1, help="generator seed (default 1)")
    parser.add_argument(
        "--jobs",
        type=int,
        default=os.cpu_count() or 1,
        help="cores for proxyhunt and DuckDB (default: all)",
    )
    parser.add_argument(
        "--workloads",
        default="fdr,evtx,stream",
        help="comma-separated: fdr, evtx, stream (default: all three)",
    )
    parser.add_argument(
        "--evtx-repeat",
        type=int,
        default=100,
        help="copies of each corpus EVTX file to read (default 100, about 850 MB in --out)",
    )
    parser.add_argument(
        "--stream-size",
        type=parse_size,
        default=parse_size("1G"),
        help="size piped through stdin by the stream workload (try 10G)",
    )
    parser.add_argument(
        "--corpus",
        type=Path,
        default=DEFAULT_CORPUS,
        help="folder with the real EVTX files (default ../shared/corpus)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT,
        help="where generated inputs are kept (default bench/out)",
    )
    parser.add_argument("--profile", default="default", help="rule profile (default: default)")
    return parser


def fdr_workload(args: argparse.Namespace) -> list[Row]:
    path = ensure_fdr(args.out, args.size, args.seed)
    paths = [str(path)]
    label = f"FDR {human(path.stat().st_size)}"
    log.info("%s: proxyhunt", label)
    ours = run_child(["proxyhunt", "--jobs", str(args.jobs), "--profile", args.profile, *paths])
    log.info("%s: DuckDB with the pack as SQL", label)
    duck = run_child(["duckdb", "--jobs", str(args.jobs), "--profile", args.profile, *paths])
    log.info("%s: DuckDB reading only", label)
    duck_scan = run_child(["duckdb-scan", "--jobs", str(args.jobs), *paths])
    log.info("%s: bare decode loop", label)
    bare = run_child(["bare-ndjson", *paths])
    return [
        _ours(label, args.jobs, ours, duck, "duckdb+pack", 1.5),
        Row(label, "duckdb+pack (SQL)", args.jobs, duck),
        Row(label, "duckdb read only", args.jobs, duck_scan),
        Row(label, "bare orjson loop", 1, bare),
        _ours(label, args.jobs, ours, bare, "bare orjson loop", None),
    ]


def evtx_workload(args: argparse.Namespace) -> list[Row]:
    files = sorted(str(p) for p in args.corpus.rglob("*.evtx")) if args.corpus.is_dir() else []
    if not files:
        log.warning("EVTX workload skipped: no .evtx files under %s", args.corpus)
        return []
    paths = ensure_evtx(args.out, files, args.evtx_repeat)
    size = sum(os.path.getsize(f) for f in paths)
    label = f"EVTX {human(size)} ({len(files)} files x{args.evtx_repeat})"
    log.info("%s: proxyhunt", label)
    ours = run_child(["proxyhunt", "--jobs", str(args.jobs), "--profile", args.profile, *paths])
    log.info("%s: bare evtx loop", label)
    bare = run_child(["bare-evtx", *paths])
    return [
        _ours(label, args.jobs, ours, bare, "bare evtx loop", 0.5),
        Row(label, "bare evtx loop", 1, bare),
    ]


def stream_workload(args: argparse.Namespace) -> list[Row]:
    label = f"FDR stream {human(args.stream_size)} via stdin"
    log.info("%s: generator | proxyhunt", label)
    generator = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bench.fdr",
            "--size",
            str(args.stream_size),
            "--seed",
            str(args.seed),
        ],
        stdout=subprocess.PIPE,
    )
    try:
        assert generator.stdout is not None
        ours = run_child(
            ["proxyhunt", "--jobs", str(args.jobs), "--profile", args.profile, "-"],
            stdin=generator.stdout,
        )
    finally:
        if generator.stdout is not None:
            generator.stdout.close()
        generator.wait()
    return [_ours(label, args.jobs, ours, None, "", None)]


def _ours(
    label: str,
    jobs: int,
    ours: Measurement,
    base: Measurement | None,
    name: str,
    target: float | None,
) -> Row:
    row = Row(label, "proxyhunt", jobs, ours, baseline=name)
    if base is not None and base.rate > 0:
        row.ratio = ours.rate / base.rate
    checks = [ours.peak_rss < RSS_LIMIT]
    row.target = "RSS < 300 MiB"
    if target is not None and row.ratio is not None:
        checks.append(row.ratio >= target)
        row.target = f">= {target}x {name}, " + row.target
    row.met = all(checks)
    return row


def ensure_fdr(out: Path, size: int, seed: int) -> Path:
    """The generated file for (size, seed), written once and reused (same bytes every time)."""
    path = out / f"fdr-{size}-s{seed}.ndjson"
    if not path.exists():
        log.info("generating %s of FDR NDJSON (seed %d) in %s", human(size), seed, path)
        partial = path.with_suffix(".partial")
        with open(partial, "wb") as stream:
            fdr.write(stream, size, seed)
        partial.rename(path)
    return path


def ensure_evtx(out: Path, files: list[str], repeat: int) -> list[str]:
    """``repeat`` copies of every corpus log under ``out/evtx`` (made once, reused).

    Copies, not the same paths again: a scan reads a file reached twice only once.
    """
    paths: list[str] = []
    for round_ in range(repeat):
        folder = out / "evtx" / f"{round_:04}"
        for index, source in enumerate(files):
            target = folder / f"{index:03}-{Path(source).name}"
            if not target.exists() or target.stat().st_size != os.path.getsize(source):
                folder.mkdir(parents=True, exist_ok=True)
                partial = target.with_suffix(".partial")
                shutil.copyfile(source, partial)
                partial.rename(target)
            paths.append(str(target))
    return paths


def render(rows: list[Row]) -> str:
    """A Markdown table, pasteable into docs/performance.md as it is."""
    head = (
        "input",
        "engine",
        "jobs",
        "events",
        "hits",
        "seconds",
        "events/s",
        "peak RSS",
        "ratio",
        "target",
        "met",
    )
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        ratio = f"{r.ratio:.2f}x {r.baseline}" if r.ratio is not None else ""
        met = {None: "", True: "yes", False: "NO"}[r.met]
        cells = (
            r.workload,
            r.engine,
            str(r.jobs),
            f"{r.m.events:,}",
            f"{r.m.hits:,}",
            f"{r.m.seconds:.2f}",
            f"{r.m.rate:,.0f}",
            human(r.m.peak_rss),
            ratio,
            r.target,
            met,
        )
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


WORKLOADS = {"fdr": fdr_workload, "evtx": evtx_workload, "stream": stream_workload}

if __name__ == "__main__":
    sys.exit(main())
