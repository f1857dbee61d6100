"""Write ``sim_input.csv``: a fixed-seed competing-risks sample with day ties and 3 groups.

Columns: ``id``, ``group`` (A/B/C), ``duration`` (whole days, many ties), ``event``
(0 censored, 1 target, 2 competing). Regenerate with
``.venv/bin/python tests/reference/make_sim_input.py`` (same seed → same bytes).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

SEED = 20261128
N = 3000


def make(seed: int = SEED, n: int = N) -> pd.DataFrame:
    """Return the simulated duration table (deterministic in ``seed``)."""
    rng = np.random.default_rng(seed)
    group = rng.choice(np.array(["A", "B", "C"]), size=n, p=[0.4, 0.35, 0.25])
    scale1 = np.select([group == "A", group == "B"], [60.0, 90.0], 45.0)
    scale2 = np.select([group == "A", group == "B"], [120.0, 80.0], 150.0)
    t1 = rng.weibull(1.3, size=n) * scale1
    t2 = rng.exponential(1.0, size=n) * scale2
    cens = rng.uniform(5.0, 200.0, size=n)
    t = np.minimum(np.minimum(t1, t2), cens)
    event = np.where(t == t1, 1, np.where(t == t2, 2, 0))
    duration = np.floor(t)  # whole days: many ties, some at day 0
    return pd.DataFrame(
        {"id": np.arange(1, n + 1), "group": group, "duration": duration, "event": event}
    )


if __name__ == "__main__":
    out = Path(__file__).with_name("sim_input.csv")
    make().to_csv(out, index=False, float_format="%.0f")
    print(f"wrote {out}")
