"""Write ``tv_input.csv``: a counting-process table with a known time-varying effect.

3,000 simulated leads: SAL on a day of 2025, a numeric ``fit`` score, a webinar
(``webinar_attended`` touchpoint) at an exponential time for 60% of leads (mean 20 days),
SQO hazard ``exp(0.5·fit)/40`` per day, multiplied by ``exp(0.7)`` once the webinar is
attended, exponential disqualification (mean 150 days), follow-up to 120 days. The table
is ``qualmodel.time_to_event(journeys, time_varying=["webinar_attended"],
covariates=["fit"])``: the truth is log-HR 0.7 for the webinar and 0.5 for ``fit``.
Times are written with 17 significant digits. Same seed → same bytes.

Run from the repository root: ``.venv/bin/python tests/reference/make_tv_input.py``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

import qualmodel as qm

N = 3_000
SEED = 20261204
TRUTH = {"webinar_attended": 0.7, "fit": 0.5}


def journeys(n: int = N, seed: int = SEED) -> qm.Journeys:
    """Simulate the leads and their webinar touchpoints (piecewise-exponential SQO)."""
    rng = np.random.default_rng(seed)
    day = pd.Timedelta(days=1)
    sal = pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.integers(0, 365, n), "D")
    fit = np.round(rng.normal(size=n), 3)
    web = np.where(rng.random(n) < 0.6, rng.exponential(20.0, n), np.inf)
    lam = np.exp(TRUTH["fit"] * fit) / 40.0
    e = rng.standard_exponential(n)
    before = e <= lam * web
    t_sqo = np.where(before, e / lam, web + (e - lam * np.minimum(web, 1e12)) / (lam * np.exp(0.7)))
    t_dq = rng.exponential(150.0, n)
    follow = 120.0
    ids = [f"T{i:05d}" for i in range(n)]
    leads = pd.DataFrame(
        {
            "lead_id": ids,
            "created_at": sal,
            "observed_until": sal + follow * day,
            "sal_at": sal,
            "sqo_at": sal + pd.to_timedelta(np.where(t_sqo < t_dq, t_sqo, np.nan), "D"),
            "disqualified_at": sal + pd.to_timedelta(np.where(t_dq <= t_sqo, t_dq, np.nan), "D"),
            "fit": fit,
        }
    )
    for col in ("sqo_at", "disqualified_at"):
        leads.loc[leads[col] > leads["observed_until"], col] = pd.NaT
    end = np.minimum(np.minimum(t_sqo, t_dq), follow)
    has = web < end
    events = pd.DataFrame(
        {
            "lead_id": np.array(ids)[has],
            "ts": sal[has] + pd.to_timedelta(web[has], "D"),
            "event": "webinar_attended",
        }
    )
    return qm.Journeys.build(leads, events, {"source": "tv_reference"})


def table(j: qm.Journeys | None = None) -> pd.DataFrame:
    """The counting-process table fitted by R and by qualmodel."""
    j = journeys() if j is None else j
    return qm.time_to_event(
        j, target="sqo_at", time_varying=["webinar_attended"], covariates=["fit"]
    )


if __name__ == "__main__":
    out = Path(__file__).resolve().parent / "tv_input.csv"
    table().to_csv(out, index=False, lineterminator="\n", float_format="%.17g")
    print(f"wrote {out}")
