"""Regression-model cost on 1,000,000 leads × 8 covariates: Cox with concordance, Weibull AFT.

Day-rounded durations. Times ``qualmodel.survival.models.cox`` with and without Harrell's
concordance (lifelines' counting, the costly part) and ``weibull_aft``. The Cox engine
itself, continuous times and the peers (lifelines, PyPI ``survival``) are in
``bench_cox.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import best_of, emit, peak_rss_mb  # noqa: E402

from qualmodel.survival import models as md  # noqa: E402

N = 1_000_000
P = 8
SEED = 11


def make_data(n: int = N, seed: int = SEED) -> pd.DataFrame:
    """Weibull PH target, exponential competing cause, uniform censoring; 8 covariates."""
    rng = np.random.default_rng(seed)
    x = np.column_stack(
        [rng.normal(size=n) if j % 2 == 0 else (rng.random(n) < 0.4) for j in range(P)]
    ).astype(np.float64)
    beta = np.linspace(-0.4, 0.4, P)
    t1 = 60.0 * (rng.standard_exponential(n) * np.exp(-(x @ beta))) ** (1 / 1.2)
    t2 = rng.exponential(200.0, n)
    c = rng.uniform(30.0, 365.0, n)
    t = np.minimum(np.minimum(t1, t2), c)
    event = np.where(t == t1, 1, np.where(t == t2, 2, 0))
    data = pd.DataFrame(x, columns=[f"x{j}" for j in range(P)])
    data["duration"] = t
    data["event"] = event
    return data


def main() -> None:
    covs = [f"x{j}" for j in range(P)]
    data = make_data()
    day = data.assign(duration=np.floor(data["duration"]))
    n_days = int(day.loc[day["event"] == 1, "duration"].nunique())
    t_day, fit = best_of(lambda: md.cox(day, covs, concordance=False), repeat=2)
    print(f"cox, day-rounded, {N:,} x {P}: {t_day:.2f} s ({n_days} distinct event days)")
    t_conc, _ = best_of(lambda: md.cox(day, covs), repeat=1)
    print(f"cox, day-rounded, with concordance: {t_conc:.2f} s")
    t_aft, _ = best_of(lambda: md.weibull_aft(day.assign(duration=day.duration + 0.5), covs), 1)
    print(f"weibull_aft, {N:,} x {P}: {t_aft:.2f} s")
    print(f"peak RSS {peak_rss_mb():.0f} MiB")
    emit(
        {
            "bench": "models",
            "n": N,
            "covariates": P,
            "cox_day_s": round(t_day, 3),
            "cox_day_with_concordance_s": round(t_conc, 3),
            "cox_day_distinct_event_times": n_days,
            "weibull_aft_s": round(t_aft, 3),
            "cox_day_loglik": fit.summary["log_likelihood"],
            "peak_rss_mb": round(peak_rss_mb(), 1),
        }
    )


if __name__ == "__main__":
    main()
