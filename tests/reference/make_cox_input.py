"""Write ``cox_input.csv``: fixed-seed competing-risks data for the Cox/AFT references.

3,000 rows: ``id``, ``plan`` (categorical: basic/plus/pro), ``score`` (numeric),
``partner`` (0/1), ``duration`` (whole days, with ties) and ``event`` (0 censored,
1 target, 2 competing). Target times are Weibull proportional hazards in plan, score and
partner; competing times exponential; censoring uniform. Same seed → same bytes.

Run from the repository root: ``.venv/bin/python tests/reference/make_cox_input.py``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

N = 3_000
SEED = 20261128


def make(n: int = N, seed: int = SEED) -> pd.DataFrame:
    """Build the reference input table."""
    rng = np.random.default_rng(seed)
    plan = rng.choice(np.array(["basic", "plus", "pro"]), size=n, p=[0.5, 0.3, 0.2])
    score = np.round(rng.normal(0.0, 1.0, n), 3)
    partner = (rng.random(n) < 0.35).astype(np.int64)
    lp = 0.4 * (plan == "plus") - 0.3 * (plan == "pro") + 0.5 * score + 0.3 * partner
    # Weibull PH target (shape 1.3, scale 90 days); shape differs a little by plan
    shape = np.where(plan == "pro", 1.6, 1.3)
    t1 = 90.0 * (rng.standard_exponential(n) * np.exp(-lp)) ** (1.0 / shape)
    t2 = rng.exponential(250.0, n) * np.exp(-0.2 * score)
    c = rng.uniform(20.0, 300.0, n)
    t = np.minimum(np.minimum(t1, t2), c)
    event = np.where(t == t1, 1, np.where(t == t2, 2, 0))
    return pd.DataFrame(
        {
            "id": np.arange(1, n + 1),
            "plan": plan,
            "score": score,
            "partner": partner,
            "duration": np.floor(t) + 1.0,  # day k since start, 1-based: no zero durations
            "event": event,
        }
    )


if __name__ == "__main__":
    out = Path(__file__).resolve().parent / "cox_input.csv"
    make().to_csv(out, index=False, lineterminator="\n")
    print(f"wrote {out}")
