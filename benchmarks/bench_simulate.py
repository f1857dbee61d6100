"""Simulate 1,000,000 leads (≈10M events) into a validated ``Journeys``.

Goal (2-core machine): ≤ 5 s wall and ≤ 3 GB peak RSS for ``simulate`` up to a ready,
validated ``Journeys`` object. Also reported: the first (cold) run, the split between
generating the arrays and ``Journeys`` construction/validation, and the Parquet write.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import best_of, emit, peak_rss_mb  # noqa: E402

N = 1_000_000
SCENARIO = "startup_saas"
SEED = 0


def main() -> None:
    from qualmodel import Journeys, simulate
    from qualmodel.simulation.engine import _simulate_arrays
    from qualmodel.simulation.scenario import load_scenario

    sc = load_scenario(SCENARIO)
    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    journeys = simulate(sc, N, SEED)
    t_cold = time.perf_counter() - t0
    rss_one = peak_rss_mb()
    n_events = journeys.n_events
    print(
        f"{SCENARIO}: {N:,} leads, {n_events:,} events ({n_events / N:.2f} per lead); "
        f"load average before start {load:.2f}"
    )
    print(f"first run (cold): {t_cold:.2f} s; peak RSS after it {rss_one:.0f} MiB")
    del journeys

    t_best, journeys = best_of(lambda: simulate(sc, N, SEED), repeat=3)
    print(f"simulate → validated Journeys, best of 3: {t_best:.2f} s (goal ≤ 5 s)")
    del journeys

    def arrays():
        return _simulate_arrays(sc, N, SEED, True, lambda label: None)

    t_arrays, (leads, events) = best_of(arrays, repeat=2)

    def construct():
        return Journeys(leads, events, {"source": SCENARIO})

    t_journeys, journeys = best_of(construct, repeat=2)
    print(
        f"  generating arrays/tables: {t_arrays:.2f} s; Journeys construction + "
        f"validation: {t_journeys:.2f} s"
    )
    from qualmodel.journeys.store import file_sha256

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out"
        t_write, _ = best_of(lambda: journeys.write(out, overwrite=True), repeat=1)
        t_read, _ = best_of(lambda: Journeys.read(out), repeat=2)
        files = [out / "leads.parquet", out / "events.parquet"]
        t_sums, _ = best_of(lambda: [file_sha256(f) for f in files], repeat=3)
        mib = sum(f.stat().st_size for f in files) / 2**20
    print(f"  Journeys.write (Parquet, not part of the goal): {t_write:.2f} s")
    print(
        f"  Journeys.read: {t_read:.2f} s, of which SHA-256 checksums of the {mib:.0f} MiB "
        f"data files {t_sums:.2f} s (done once on write, once on read)"
    )
    peak = peak_rss_mb()
    print(f"peak RSS {peak:.0f} MiB (goal ≤ 3072 MiB)")
    emit(
        {
            "n_leads": N,
            "n_events": int(n_events),
            "scenario": SCENARIO,
            "simulate_s": round(t_best, 3),
            "simulate_cold_s": round(t_cold, 3),
            "arrays_s": round(t_arrays, 3),
            "journeys_validation_s": round(t_journeys, 3),
            "write_s": round(t_write, 3),
            "read_s": round(t_read, 3),
            "checksum_s": round(t_sums, 3),
            "peak_rss_mb_single_run": round(rss_one, 1),
            "peak_rss_mb": round(peak, 1),
            "load_avg_1m": round(load, 2),
            "goal_s": 5.0,
            "goal_rss_mb": 3072,
        }
    )


if __name__ == "__main__":
    main()
