"""Helpers shared by the benchmark scripts: timing, peak memory, result line."""

from __future__ import annotations

import json
import resource
import time
from collections.abc import Callable
from typing import Any

import numpy as np


def best_of(fn: Callable[[], Any], repeat: int = 3) -> tuple[float, Any]:
    """Return (best wall seconds over ``repeat`` runs, last result)."""
    best, result = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def best_wall_cpu(
    fn: Callable[[], Any], repeat: int = 3, before: Callable[[], Any] | None = None
) -> tuple[float, float, Any]:
    """Return (best wall seconds, best CPU seconds of this process, last result).

    The previous result is dropped before each run, so runs do not hold two results;
    ``before`` (untimed) is called before each run.
    """
    wall, cpu, result = float("inf"), float("inf"), None
    for _ in range(repeat):
        result = None
        if before is not None:
            before()
        t0, c0 = time.perf_counter(), time.process_time()
        result = fn()
        wall, cpu = min(wall, time.perf_counter() - t0), min(cpu, time.process_time() - c0)
    return wall, cpu, result


def touch_memory(mib: int) -> float:
    """Write ``mib`` MiB of fresh memory, free it and return the seconds it took.

    On a virtual machine whose host takes back the memory a guest has freed (free page
    reporting), the first write to such memory costs an order of magnitude more than a
    write to memory freed a moment ago. Calling this right before a timed run gives the
    run memory in the state a long-running process has.
    """
    t0 = time.perf_counter()
    block = np.empty(mib << 17)  # float64: 2**17 per MiB
    block.fill(0.0)
    del block
    return time.perf_counter() - t0


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MiB (Linux ru_maxrss is KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def emit(payload: dict[str, Any]) -> None:
    """Print the final machine-readable result line read by ``benchmarks/run.py``."""
    print("BENCH_JSON " + json.dumps(payload, sort_keys=True))
