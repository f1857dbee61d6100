"""Fit a scenario (a funnel twin) to 20,000 simulated leads; simulate the twin.

Goal (2-core machine): ``fit_scenario`` on 20,000 leads ≤ 60 s wall, with its defaults
(20 bootstrap refits, 5 check simulations, arrival cohorts tried when needed). Reported:
wall and CPU time of the fit (first run and best of 2), the part spent in bootstrap refits
(``n_boot=0`` run), and the time to simulate 20,000 leads from the twin.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import best_of, emit, peak_rss_mb  # noqa: E402

N = 20_000
SCENARIO = "startup_saas"


def _timed(fn):
    c0, t0 = time.process_time(), time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, time.process_time() - c0, out


def main() -> None:
    import qualmodel as qm

    obs = qm.simulate(SCENARIO, n_leads=N, seed=1)
    load = os.getloadavg()[0]
    wall, cpu, (twin, _) = _timed(lambda: qm.fit_scenario(obs, seed=0))
    print(f"{SCENARIO}: {N:,} leads, {obs.n_events:,} events; load average {load:.2f}")
    print(f"fit_scenario (defaults), first run: {wall:.2f} s wall, {cpu:.2f} s CPU (goal ≤ 60 s)")
    best, _ = best_of(lambda: qm.fit_scenario(obs, seed=0), repeat=2)
    print(f"fit_scenario, best of 2: {best:.2f} s wall")
    wall0, cpu0, _ = _timed(lambda: qm.fit_scenario(obs, seed=0, n_boot=0))
    print(f"  without bootstrap (n_boot=0): {wall0:.2f} s wall, {cpu0:.2f} s CPU")
    sim, _ = best_of(lambda: qm.simulate(twin, n_leads=N, seed=2), repeat=3)
    print(f"simulate the twin, {N:,} leads (with touchpoints), best of 3: {sim:.3f} s")
    emit(
        {
            "n_leads": N,
            "fit_first_s": round(wall, 3),
            "fit_first_cpu_s": round(cpu, 3),
            "fit_best_s": round(best, 3),
            "fit_no_bootstrap_s": round(wall0, 3),
            "simulate_twin_s": round(sim, 4),
            "goal_s": 60.0,
            "peak_rss_mb": round(peak_rss_mb(), 1),
        }
    )


if __name__ == "__main__":
    main()
