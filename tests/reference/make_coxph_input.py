"""Write ``coxph_input.csv``: fixed-seed continuous-time data for the Cox engine references.

2,000 rows: ``id``, ``cl`` (cluster of about 5 rows), ``s`` (stratum a/b), ``grade``
(categorical low/mid/high), ``x1`` (numeric), ``x2`` (0/1), ``w`` (case weight in
[0.5, 2]), ``duration`` (continuous, all distinct, written with 17 significant digits so R
reads the same doubles) and ``event`` (0 censored, 1 target, 2 competing). The day-tied
variant used by the references is ``ceiling(duration)``. Same seed → same bytes.

Run from the repository root: ``.venv/bin/python tests/reference/make_coxph_input.py``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

N = 2_000
SEED = 20261203


def make(n: int = N, seed: int = SEED) -> pd.DataFrame:
    """Build the reference input table."""
    rng = np.random.default_rng(seed)
    grade = rng.choice(np.array(["low", "mid", "high"]), size=n, p=[0.4, 0.35, 0.25])
    x1 = rng.normal(0.0, 1.0, n)
    x2 = (rng.random(n) < 0.4).astype(np.int64)
    s = np.where(rng.random(n) < 0.5, "a", "b")
    lp = 0.3 * (grade == "mid") + 0.6 * (grade == "high") + 0.5 * x1 - 0.4 * x2
    scale = np.where(s == "a", 60.0, 90.0)
    t1 = scale * (rng.standard_exponential(n) * np.exp(-lp)) ** (1.0 / 1.3)
    t2 = rng.exponential(150.0, n) * np.exp(0.3 * x2)
    c = rng.uniform(10.0, 200.0, n)
    t = np.minimum(np.minimum(t1, t2), c)
    event = np.where(t == t1, 1, np.where(t == t2, 2, 0))
    return pd.DataFrame(
        {
            "id": np.arange(1, n + 1),
            "cl": rng.integers(1, n // 5 + 1, n),
            "s": s,
            "grade": grade,
            "x1": x1,
            "x2": x2,
            "w": rng.uniform(0.5, 2.0, n),
            "duration": t,
            "event": event,
        }
    )


if __name__ == "__main__":
    out = Path(__file__).resolve().parent / "coxph_input.csv"
    make().to_csv(out, index=False, lineterminator="\n", float_format="%.17g")
    print(f"wrote {out}")
