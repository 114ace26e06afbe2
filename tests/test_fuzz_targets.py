"""Each atheris fuzz target runs for a few seconds without a crash or a hang (CI's bounded
fuzzing). Longer campaigns: ``fuzz/run.sh 600`` (see docs/robustness.md).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("atheris", reason="atheris is only built for x86-64 Linux")

RUNNER = Path(__file__).resolve().parents[1] / "fuzz" / "run.py"
SECONDS_PER_TARGET = 5


@pytest.mark.fuzz
@pytest.mark.parametrize("target", ["ndjson", "auditd", "containers", "evtx"])
def test_fuzz_target_runs_clean(target: str, tmp_path: Path) -> None:
    command = [sys.executable, str(RUNNER), "--target", target]
    command += ["--seconds", str(SECONDS_PER_TARGET), "--keep", str(tmp_path)]
    # The runner bounds the campaign itself; this is only a guard against a stuck runner.
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    crashes = sorted(p.name for p in tmp_path.glob(f"{target}-*"))
    assert done.returncode == 0, f"inputs kept in {tmp_path}: {crashes}\n{done.stderr[-3000:]}"
