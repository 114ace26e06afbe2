"""Run a workload in a child process and record its time, result and peak memory.

Peak memory is the largest sum of resident set sizes over the child and all its
descendants (worker processes included), sampled every few milliseconds with psutil.
Summing RSS counts pages shared between forked workers more than once, so the figure is
an upper bound of what the machine had to provide.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import IO

import psutil

log = logging.getLogger("bench")

SAMPLE_SECONDS = 0.02


@dataclass(frozen=True)
class Measurement:
    events: int
    seconds: float
    hits: int
    peak_rss: int  # bytes

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0


def run_child(args: Sequence[str], stdin: IO[bytes] | int | None = None) -> Measurement:
    """``python -m bench.child ARGS`` with its peak tree RSS; raises on failure."""
    command = [sys.executable, "-m", "bench.child", *args]
    log.debug("running %s", " ".join(command))
    process = subprocess.Popen(command, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    sampler = _Sampler(process.pid)
    sampler.start()
    out, err = process.communicate()
    sampler.stop()
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(args[:1])} failed ({process.returncode}):\n{err.decode()}")
    result = json.loads(out.decode().strip().splitlines()[-1])
    return Measurement(result["events"], result["seconds"], result["hits"], sampler.peak)


class _Sampler(threading.Thread):
    """Polls the RSS of a process tree until stopped; keeps the maximum."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        try:
            root = psutil.Process(self.pid)
        except psutil.NoSuchProcess:
            return
        while not self._stop_event.is_set():
            self.peak = max(self.peak, _tree_rss(root))
            time.sleep(SAMPLE_SECONDS)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


def _tree_rss(root: psutil.Process) -> int:
    total = 0
    try:
        processes = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    for process in processes:
        try:
            total += process.memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return total
