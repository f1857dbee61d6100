"""The simulator against its floor, measured in one run.

The floor is what any simulator of the same output must at least do: draw the same
numbers of leads and events as plain numpy arrays (one float column per lead column, and
per event a lead code, a timestamp, an event code and a value), wrap them as the same
DataFrame dtypes (categoricals from codes, no strings on the hot path) and, for the write
ratio, write the same Parquet files. Reported: ``simulate`` at 1M and 2M leads and their
ratio (goal 2M ≤ 2.2 × 1M), simulate / floor at 1M (goal ≤ 2), and simulate + write /
floor + write (goal ≤ 2.5). Best of 2 each.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import emit, peak_rss_mb  # noqa: E402

from qualmodel import simulate  # noqa: E402

SCENARIO = "startup_saas"


def _best(fn, repeat: int = 2) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def draws(n_leads: int, n_events: int, n_lead_cols: int, seed: int = 0) -> list[np.ndarray]:
    """The bare floor: numpy draws of the same sizes, no tables."""
    rng = np.random.default_rng(seed)
    cols = [rng.random(n_leads) for _ in range(n_lead_cols)]
    per_lead = rng.poisson(n_events / n_leads, n_leads)
    codes = np.repeat(np.arange(n_leads, dtype=np.int32), per_lead)
    return [*cols, codes, rng.integers(0, 365 * 86_400, codes.size),
            rng.integers(0, 12, codes.size), rng.random(codes.size)]  # fmt: skip


def floor(n_leads: int, n_events: int, n_lead_cols: int, seed: int = 0):
    """Numpy draws of the same sizes, wrapped as DataFrames with the same dtypes."""
    rng = np.random.default_rng(seed)
    ids = pd.Index([f"L{i:07d}" for i in range(n_leads)], dtype=object)
    leads = pd.DataFrame({f"c{k}": rng.random(n_leads) for k in range(n_lead_cols)})
    leads.insert(0, "lead_id", ids)
    per_lead = rng.poisson(n_events / n_leads, n_leads)
    codes = np.repeat(np.arange(n_leads, dtype=np.int32), per_lead)
    ts = rng.integers(0, 365 * 86_400, codes.size).astype("datetime64[s]").astype("datetime64[ns]")
    events = pd.DataFrame(
        {
            "lead_id": pd.Categorical.from_codes(codes, dtype=pd.CategoricalDtype(ids)),
            "ts": ts,
            "event": pd.Categorical.from_codes(rng.integers(0, 12, codes.size), range(12)),
            "value": rng.random(codes.size),
        }
    )
    return leads, events


def _write(leads: pd.DataFrame, events: pd.DataFrame, folder: Path) -> None:
    leads.to_parquet(folder / "leads.parquet", index=False)
    events.to_parquet(folder / "events.parquet", index=False)


def main() -> None:
    simulate(SCENARIO, n_leads=1000, seed=0)  # warm-up
    t1, j1 = _best(lambda: simulate(SCENARIO, n_leads=1_000_000, seed=0))
    n_ev, n_cols = j1.n_events, j1.leads.shape[1] - 1
    tf, (fl, fe) = _best(lambda: floor(1_000_000, n_ev, n_cols))
    td, _ = _best(lambda: draws(1_000_000, n_ev, n_cols))
    with tempfile.TemporaryDirectory() as tmp:
        a, b = Path(tmp) / "a", Path(tmp) / "b"
        a.mkdir()
        b.mkdir()
        tw, _ = _best(lambda j=j1: j.write(a / "j", overwrite=True), repeat=1)
        tfw, _ = _best(lambda x=fl, y=fe: _write(x, y, b), repeat=1)
    j1 = fl = fe = None  # free 1M before the 2M run
    t2, _ = _best(lambda: simulate(SCENARIO, n_leads=2_000_000, seed=0), repeat=1)
    print(f"simulate 1M leads ({n_ev:,} events): {t1:.2f} s; floor {tf:.2f} s; "
          f"ratio {t1 / tf:.2f} (goal ≤ 2)")  # fmt: skip
    print(f"bare draws only: {td:.2f} s; simulate / bare draws {t1 / td:.2f}")
    print(f"with the Parquet write: {t1 + tw:.2f} s vs floor {tf + tfw:.2f} s; ratio "
          f"{(t1 + tw) / (tf + tfw):.2f} (goal ≤ 2.5)")  # fmt: skip
    print(f"simulate 2M leads: {t2:.2f} s; 2M / 1M {t2 / t1:.2f} (goal ≤ 2.2)")
    emit(
        {
            "bench": "simulate_floor",
            "simulate_1m_s": round(t1, 3),
            "floor_1m_s": round(tf, 3),
            "bare_draws_1m_s": round(td, 3),
            "ratio_bare": round(t1 / td, 3),
            "ratio_floor": round(t1 / tf, 3),
            "write_s": round(tw, 3),
            "floor_write_s": round(tfw, 3),
            "ratio_with_write": round((t1 + tw) / (tf + tfw), 3),
            "simulate_2m_s": round(t2, 3),
            "ratio_2m_1m": round(t2 / t1, 3),
            "peak_rss_mb": round(peak_rss_mb(), 1),
        }
    )


if __name__ == "__main__":
    main()
