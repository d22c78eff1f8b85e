"""bench/warmcost.py stays runnable (it is run by hand; the figures are in docs/PERFORMANCE.md)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_warm_cost_benchmark_explains_itself() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.warmcost", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "usage:" in done.stdout and "--redis" in done.stdout
