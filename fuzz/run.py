"""Run the atheris fuzz targets for a bounded time; exit 1 if any crashed or hung.

    python fuzz/run.py                     # every target, 60 s in total
    python fuzz/run.py --seconds 600 --target evtx --keep /tmp/fuzz-out

Each target runs in its own process with libFuzzer's time, per-input timeout and memory
limits; seed inputs are written to a scratch folder at start (the EVTX target builds its
input from ../shared/corpus and does nothing when the corpus is absent). A crash leaves its
input as ``<target>-crash-<hash>`` in the output folder: turn it into a regression test with
the input inlined (see docs/robustness.md).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
TARGETS = ("ndjson", "auditd", "containers", "evtx")
# libFuzzer's own per-input limit: far above the EVTX watchdog's stall limit (5 s in common.py).
PER_INPUT_SECONDS = 30
RSS_LIMIT_MB = 3072


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    out = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="proxyhunt-fuzz-"))
    out.mkdir(parents=True, exist_ok=True)
    share = max(int(args.seconds / len(args.target)), 1)
    failures = [t for t in args.target if not run_target(t, share, out)]
    if not args.keep:
        shutil.rmtree(out, ignore_errors=True)
    if failures:
        print(f"fuzz: FAILED: {', '.join(failures)}", file=sys.stderr)
        return 1
    print(f"fuzz: {len(args.target)} target(s), {share} s each, no crash or hang")
    return 0


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60, help="total time (default 60)")
    parser.add_argument("--target", action="append", choices=TARGETS, help="repeatable")
    parser.add_argument("--keep", metavar="DIR", help="keep corpora and crash inputs here")
    args = parser.parse_args(argv)
    args.target = args.target or list(TARGETS)
    return args


def run_target(target: str, seconds: int, out: Path) -> bool:
    """Fuzz one target; True when it ran its time without a crash, hang or memory blow-up."""
    corpus = out / f"corpus-{target}"
    work = out / f"work-{target}"
    corpus.mkdir(exist_ok=True)
    work.mkdir(exist_ok=True)
    _write_seeds(target, corpus)
    command = [
        sys.executable,
        str(HERE / f"fuzz_{target}.py"),
        str(corpus),
        f"-max_total_time={seconds}",
        f"-timeout={PER_INPUT_SECONDS}",
        f"-rss_limit_mb={RSS_LIMIT_MB}",
        f"-artifact_prefix={out}/{target}-",
        "-print_final_stats=1",
    ]
    # Scratch files of the targets (the EVTX copy) go to the work folder, removed with it.
    env = {**os.environ, "TMPDIR": str(work)}
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=seconds + 120, env=env, check=False
        )
    except subprocess.TimeoutExpired:
        print(f"fuzz {target}: did not stop within {seconds + 120} s", file=sys.stderr)
        return False
    if done.returncode != 0:
        artifacts = sorted(p.name for p in out.glob(f"{target}-*"))
        print(f"fuzz {target}: exit {done.returncode}; inputs: {artifacts}", file=sys.stderr)
        print(done.stderr[-4000:], file=sys.stderr)
        return False
    stats = [line for line in done.stderr.splitlines() if line.startswith("stat::number_of")]
    print(f"fuzz {target}: ok ({'; '.join(stats) or 'no stats'})")
    return True


def _write_seeds(target: str, corpus: Path) -> None:
    sys.path.insert(0, str(HERE))
    from common import seeds

    for n, seed in enumerate(seeds(target)):
        (corpus / f"seed-{n}").write_bytes(seed)


if __name__ == "__main__":
    sys.exit(main())
