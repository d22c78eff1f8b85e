"""The benchmarks stay runnable (they are run by hand, so nothing else would notice them
break). bench.outbound is cheap enough to run whole: its counts are behaviour, not speed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run(*args: str) -> str:
    done = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.mark.parametrize("module", ["bench.startup", "bench.load", "bench.coldstart", "bench.redis_cluster"])
def test_a_benchmark_explains_itself(module: str) -> None:
    assert "usage:" in run("-m", module, "--help")


def test_outbound_counts_meet_their_targets() -> None:
    out = run("-m", "bench.outbound")
    assert "100 answered in the webhook reply, 0 outbound calls" in out
    assert "100 requests for one city, 1 upstream calls" in out
