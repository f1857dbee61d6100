"""search_criteria: ≥ 500 candidate SQO definitions on 20k SALs (goal ≤ 30 s on 2 cores).

Simulates the SaaS scenario until it has at least ``N_SAL`` sales-accepted leads, keeps the
first ``N_SAL`` of them, and searches the built-in ``startup_saas`` space (thresholds ×
half-lives × BANT subsets × required events). Reported: the search alone (candidate grid,
metrics on fit and held-out cohorts, frontier, winner; ``n_boot=0``; ``mature_days=0`` so all
SALs count) and the full call
with the held-out bootstrap comparison (``n_boot=1000``). A sample of candidates is
re-checked against :func:`qualmodel.qualify` (must be equal).

Usage: ``python benchmarks/bench_search.py [N_SAL]``.
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from common import best_of, emit, peak_rss_mb  # noqa: E402

from qualmodel import qualify, simulate  # noqa: E402
from qualmodel.criteria.search import search_criteria  # noqa: E402
from qualmodel.criteria.space import INF, CandidateGrid, load_search_space  # noqa: E402


def sal_journeys(n_sal: int, seed: int = 11):
    n = int(n_sal / 0.13)
    j = simulate("startup_saas", n_leads=n, seed=seed)
    ids = j.leads.loc[j.leads["sal_at"].notna(), "lead_id"].to_numpy()
    if len(ids) < n_sal:
        raise SystemExit(f"only {len(ids)} SALs from {n} leads; raise the multiplier")
    return j.subset(ids[:n_sal])


def main(argv: list[str]) -> None:
    n_sal = int(argv[0]) if argv else 20_000
    t0 = time.perf_counter()
    j = sal_journeys(n_sal)
    print(
        f"simulated {j.n_leads:,} SALs / {j.n_events:,} events in "
        f"{time.perf_counter() - t0:.1f} s (load avg {os.getloadavg()[0]:.2f})"
    )
    t_search, res = best_of(
        lambda: search_criteria(j, "startup_saas", n_boot=0, mature_days=0), repeat=2
    )
    n_cand = res.settings["n_candidates"]
    t_full, res = best_of(
        lambda: search_criteria(j, "startup_saas", n_boot=1000, mature_days=0), repeat=1
    )
    # exactness spot check on 10 candidates
    grid = CandidateGrid(j, load_search_space("startup_saas"))
    idx = np.random.default_rng(0).choice(len(grid.table), 10, replace=False)
    equal = True
    for row, i in zip(grid.times(idx), idx, strict=True):
        q = qualify(j, grid.criterion(i))["qualified_at"].to_numpy().view(np.int64)
        equal &= bool(np.array_equal(row, np.where(q == np.iinfo(np.int64).min, INF, q)))
    print(
        f"search over {n_cand} candidates on {n_sal:,} SALs: {t_search:.2f} s "
        f"({len(res.frontier)} on the frontier); with held-out bootstrap (1000): "
        f"{t_full:.2f} s; equal to qualify on 10 sampled candidates: {equal} "
        f"(load avg {os.getloadavg()[0]:.2f}, shared machine)"
    )
    if not equal:
        raise SystemExit("vectorised search times differ from qualify")
    emit(
        {
            "n_sal": n_sal,
            "n_events": j.n_events,
            "n_candidates": n_cand,
            "n_frontier": len(res.frontier),
            "search_s": round(t_search, 3),
            "search_with_bootstrap_s": round(t_full, 3),
            "goal_s": 30.0,
            "equal_to_qualify": equal,
            "peak_rss_mb": round(peak_rss_mb(), 1),
            "load_avg": round(os.getloadavg()[0], 2),
        }
    )


if __name__ == "__main__":
    main(sys.argv[1:])
