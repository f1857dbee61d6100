"""Write concordance_input.csv: the data sets concordance.R scores with survival::concordance.

Run from the repository root: ``python tests/reference/make_concordance_input.py``.
One long table, a ``case`` column per data set:

* ``continuous``  — continuous times and scores, ~30% censored;
* ``ties``        — day-rounded times and scores on a 5-point scale (ties in time and score,
  censored and event rows at the same day);
* ``weighted``    — the ``ties`` shape with non-integer case weights;
* ``strata``      — three strata of unequal size, continuous scores;
* ``counting``    — (start, stop] rows: every lead split at day 20 when it lasts past it
  (``id`` names the lead: the cluster of its rows);
* ``cox``         — two covariates for a ``coxph`` fit (concordance of the linear predictor).
"""

from pathlib import Path

import numpy as np
import pandas as pd

OUT = Path(__file__).with_name("concordance_input.csv")


def _base(rng: np.random.Generator, n: int, case: str) -> pd.DataFrame:
    x = rng.normal(size=n)
    t = rng.exponential(30 * np.exp(-0.5 * x))
    c = rng.exponential(60, size=n)
    return pd.DataFrame(
        {
            "case": case,
            "start": 0.0,
            "time": np.minimum(t, c),
            "status": (t <= c).astype(int),
            "score": x + rng.normal(scale=0.8, size=n),
            "weight": 1.0,
            "stratum": "a",
            "x1": x,
            "x2": rng.binomial(1, 0.4, size=n).astype(float),
            "id": np.arange(n),
        }
    )


def main() -> None:
    rng = np.random.default_rng(20261205)
    frames = [_base(rng, 300, "continuous")]
    ties = _base(rng, 400, "ties")
    ties["time"] = np.ceil(ties["time"])
    ties["score"] = np.clip(np.round(ties["score"]), -2, 2)
    frames.append(ties)
    weighted = ties.assign(case="weighted", weight=rng.uniform(0.2, 3.0, size=len(ties)).round(3))
    frames.append(weighted)
    strata = _base(rng, 360, "strata")
    strata["stratum"] = rng.choice(["a", "b", "c"], p=[0.5, 0.3, 0.2], size=len(strata))
    frames.append(strata)
    base = _base(rng, 250, "counting")
    base["time"] = np.ceil(base["time"])
    base["score"] = np.round(base["score"], 1)
    late = base["time"] > 20
    first = base[late].assign(time=20.0, status=0)
    second = base[late].assign(start=20.0, score=base.loc[late, "score"] + 0.5)
    frames.append(pd.concat([base[~late], first, second], ignore_index=True))
    frames.append(_base(rng, 300, "cox"))
    out = pd.concat(frames, ignore_index=True)
    out.to_csv(OUT, index=False, float_format="%.10g")


if __name__ == "__main__":
    main()
