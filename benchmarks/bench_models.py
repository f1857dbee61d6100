"""Cox model cost: day-rounded vs continuous durations (lifelines ``CoxPHFitter``, Efron).

1,000,000 leads × 8 covariates. With day-rounded durations (a few hundred distinct event
times) ``qualmodel.models.cox`` is fitted at full size. With continuous durations every
event time is distinct and lifelines' cost grows with their number, so by default the
continuous fit is measured at 250,000 and 500,000 rows and extrapolated linearly to
1,000,000 (``--full`` runs it at full size too). Measured 2026-11 on the shared 2-core
machine: 250,000 / 500,000 rows 22.7 s / 40.9 s → ≈77 s extrapolated; the full 1M fit
took 103 s (load ≈1) and 183 s (load ≈2.8). Smaller sizes extrapolate worse: 100,000 /
200,000 rows (11 s / 16 s) predicted only 55 s. Also times the Weibull
AFT fit at full size. Cox times exclude the concordance index (``concordance=False``),
which is timed once separately.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import best_of, emit, peak_rss_mb  # noqa: E402

from qualmodel import models as md  # noqa: E402

N = 1_000_000
P = 8
SEED = 11
SMALL = (250_000, 500_000)


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


def main(full: bool = False) -> None:
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
    small = {}
    for n in SMALL:
        sub = data.iloc[:n]
        t_n, _ = best_of(lambda sub=sub: md.cox(sub, covs, concordance=False), repeat=1)
        small[n] = t_n
        print(f"cox, continuous, {n:,} x {P}: {t_n:.2f} s")
    (n1, n2), (s1, s2) = SMALL, (small[SMALL[0]], small[SMALL[1]])
    slope = (s2 - s1) / (n2 - n1)
    extrap = s2 + slope * (N - n2)
    print(f"cox, continuous, {N:,} x {P}: ≈{extrap:.0f} s (linear extrapolation)")
    t_full = None
    if full:
        t0 = time.perf_counter()
        md.cox(data, covs, concordance=False)
        t_full = time.perf_counter() - t0
        print(f"cox, continuous, {N:,} x {P}: {t_full:.1f} s (measured)")
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
            "cox_continuous_small_s": {str(k): round(v, 3) for k, v in small.items()},
            "cox_continuous_extrapolated_s": round(extrap, 1),
            "cox_continuous_measured_s": None if t_full is None else round(t_full, 1),
            "cox_day_loglik": fit.summary["log_likelihood"],
            "peak_rss_mb": round(peak_rss_mb(), 1),
        }
    )


if __name__ == "__main__":
    main(full="--full" in sys.argv[1:])
