"""Helpers shared by the benchmark scripts: timing, peak memory, result line."""

from __future__ import annotations

import json
import resource
import time
from collections.abc import Callable
from typing import Any


def best_of(fn: Callable[[], Any], repeat: int = 3) -> tuple[float, Any]:
    """Return (best wall seconds over ``repeat`` runs, last result)."""
    best, result = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def best_wall_cpu(fn: Callable[[], Any], repeat: int = 3) -> tuple[float, float, Any]:
    """Return (best wall seconds, best CPU seconds of this process, last result).

    The previous result is dropped before each run, so runs do not hold two results.
    """
    wall, cpu, result = float("inf"), float("inf"), None
    for _ in range(repeat):
        result = None
        t0, c0 = time.perf_counter(), time.process_time()
        result = fn()
        wall, cpu = min(wall, time.perf_counter() - t0), min(cpu, time.process_time() - c0)
    return wall, cpu, result


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MiB (Linux ru_maxrss is KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def emit(payload: dict[str, Any]) -> None:
    """Print the final machine-readable result line read by ``benchmarks/run.py``."""
    print("BENCH_JSON " + json.dumps(payload, sort_keys=True))
