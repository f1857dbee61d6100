"""Write ``funnels_input.csv``: two generated funnels (tests/shapes.py) as timestamps.

Columns: ``shape``, ``lead_id``, ``start``, ``end`` (ISO timestamps with minutes: the
start stage and the first outcome, or the cut-off), ``event`` (0 open, 1 target,
2.. competing in the plan's order). ``funnels.R`` computes durations from these
timestamps itself. Regenerate with
``PYTHONPATH=src .venv/bin/python tests/reference/make_funnels_input.py`` (seeded).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from shapes import make_shape  # noqa: E402

from qualmodel.journeys.outcomes import plan_outcomes  # noqa: E402
from qualmodel.survival.durations import time_to_event  # noqa: E402

#: shapes written, with their seeds
SHAPES = {"three_competing": 7, "no_lost": 3}


def make() -> pd.DataFrame:
    """Return the timestamp table of :data:`SHAPES` (deterministic)."""
    frames = []
    for shape, seed in SHAPES.items():
        j = make_shape(shape, seed=seed)
        plan = plan_outcomes(j)
        tte = time_to_event(j, plan["start"], plan["target"], plan["competing"])
        leads = j.leads.set_index("lead_id").loc[tte["lead_id"]]
        start = leads[plan["start"]].to_numpy()
        end = leads["observed_until"].to_numpy().copy()
        for code, col in enumerate([plan["target"], *plan["competing"]], start=1):
            hit = tte["event"].to_numpy() == code
            end[hit] = leads[col].to_numpy()[hit]
        frames.append(
            pd.DataFrame(
                {
                    "shape": shape,
                    "lead_id": tte["lead_id"],
                    "start": pd.Series(start).dt.strftime("%Y-%m-%d %H:%M:%S"),
                    "end": pd.Series(end).dt.strftime("%Y-%m-%d %H:%M:%S"),
                    "event": tte["event"].astype(np.int64),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


if __name__ == "__main__":
    out = HERE / "funnels_input.csv"
    make().to_csv(out, index=False)
    print(f"wrote {out}")
