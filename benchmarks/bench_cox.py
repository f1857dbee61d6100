"""Cox engine vs peers on 1M leads × 8 covariates; cox_zph cost; Fine–Gray cost.

Data: ``bench_models.make_data`` (Weibull PH target, competing cause, uniform censoring),
continuous durations (every event time distinct) and the same floored to whole days.

* ``qualmodel.cox`` (numpy engine, Efron), lifelines ``CoxPHFitter`` (Efron) and the PyPI
  ``survival`` package's ``coxph`` (Rust port of R, Efron), continuous and day ties;
  goal: qualmodel ≤ 1.2 × the fastest.
* ``cox_zph`` on the continuous fit: wall time (goal ≤ 1 s) and peak-RSS growth (goal
  ≤ 0.5 GiB), measured in a fresh subprocess (``ru_maxrss`` before/after, and the
  tracemalloc peak of the call).
* ``fine_gray`` (cause 1 vs competing 2) at 1M × 8: time.

Peers are optional (``pip install -e '.[bench]'``); a missing peer is reported as ``null``.
lifelines' continuous fit is slow (≈1–3 min on the shared machine); ``--quick`` skips it.
Coefficients of the peers are compared with qualmodel's (max absolute difference).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench_models import P, make_data  # noqa: E402
from common import best_of, emit, peak_rss_mb  # noqa: E402

from qualmodel.survival import models as md  # noqa: E402

COVS = [f"x{j}" for j in range(P)]

ZPH_CHILD = """
import json, resource, sys, time, tracemalloc
sys.path.insert(0, {here!r})
from bench_models import make_data
from qualmodel.survival import models as md
covs = [f"x{{j}}" for j in range(8)]
data = make_data()
fit = md.cox(data, covs, concordance=False)
rss = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
before = rss()
t0 = time.perf_counter()
zph = md.cox_zph(fit, data)
wall = time.perf_counter() - t0
after = rss()
tracemalloc.start()
md.cox_zph(fit, data)
peak = tracemalloc.get_traced_memory()[1] / 2**20
tracemalloc.stop()
print(json.dumps({{"s": wall, "rss_before_mb": before, "rss_after_mb": after,
                  "tracemalloc_peak_mb": peak,
                  "global_chisq": float(zph.set_index("term").loc["GLOBAL", "chisq"])}}))
"""


def _lifelines(frame: pd.DataFrame) -> np.ndarray:
    from lifelines import CoxPHFitter

    sub = frame[[*COVS, "duration"]].assign(e=(frame["event"] == 1).astype(int))
    cph = CoxPHFitter().fit(sub, "duration", "e")
    return cph.params_[COVS].to_numpy()


def _survival(frame: pd.DataFrame) -> np.ndarray:
    import survival

    sub = frame[[*COVS, "duration"]].assign(e=(frame["event"] == 1).astype(int))
    fit = survival.coxph(f"Surv(duration, e) ~ {' + '.join(COVS)}", data=sub, ties="efron")
    return np.asarray(fit.coefficients, dtype=np.float64)


def _peer(name: str, fn, frame: pd.DataFrame, ours: np.ndarray) -> dict:
    try:
        t, coef = best_of(lambda: fn(frame), repeat=1)
    except ImportError as exc:
        print(f"{name}: not installed ({exc}); pip install -e '.[bench]'")
        return {"s": None, "max_coef_diff": None}
    diff = float(np.max(np.abs(coef - ours)))
    print(f"  {name}: {t:.2f} s (max |coef diff| vs qualmodel {diff:.2e})")
    return {"s": round(t, 3), "max_coef_diff": diff}


def _zph() -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", ZPH_CHILD.format(here=str(HERE))],
        capture_output=True,
        text=True,
        check=True,
    )
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    growth = out["rss_after_mb"] - out["rss_before_mb"]
    print(
        f"cox_zph, 1,000,000 x {P}: {out['s']:.2f} s, peak RSS {out['rss_before_mb']:.0f} → "
        f"{out['rss_after_mb']:.0f} MiB (growth {growth:.0f} MiB), tracemalloc peak of the "
        f"call {out['tracemalloc_peak_mb']:.0f} MiB"
    )
    return {
        "s": round(out["s"], 3),
        "peak_rss_growth_mb": round(growth, 1),
        "tracemalloc_peak_mb": round(out["tracemalloc_peak_mb"], 1),
        "global_chisq": out["global_chisq"],
    }


def main(quick: bool = False) -> None:
    data = make_data()
    day = data.assign(duration=np.floor(data["duration"]))
    results: dict[str, dict] = {}
    for label, frame in (("continuous", data), ("day", day)):
        n_times = int(frame.loc[frame["event"] == 1, "duration"].nunique())
        t_q, fit = best_of(lambda f=frame: md.cox(f, COVS, concordance=False), repeat=2)
        ours = fit.table["coef"].to_numpy()
        print(f"cox, {label}, {len(frame):,} x {P} ({n_times:,} distinct event times)")
        print(f"  qualmodel: {t_q:.2f} s (best of 2, {fit.summary['iterations']} iterations)")
        row = {"qualmodel_s": round(t_q, 3), "distinct_event_times": n_times}
        row["survival"] = _peer("survival (PyPI)", _survival, frame, ours)
        if quick and label == "continuous":
            row["lifelines"] = {"s": None, "max_coef_diff": None}
            print("  lifelines: skipped (--quick)")
        else:
            row["lifelines"] = _peer("lifelines", _lifelines, frame, ours)
        peers = [v["s"] for k, v in row.items() if isinstance(v, dict) and v["s"] is not None]
        fastest = min([t_q, *peers])
        row["ratio_to_fastest"] = round(t_q / fastest, 3)
        print(f"  qualmodel / fastest: {t_q / fastest:.2f}x (goal ≤ 1.2x)")
        results[label] = row
    zph = _zph()
    t0 = time.perf_counter()
    fg = md.fine_gray(data, COVS, cause=1)
    t_fg = time.perf_counter() - t0
    print(f"fine_gray, 1,000,000 x {P}: {t_fg:.2f} s ({fg.summary['iterations']} iterations)")
    print(f"peak RSS {peak_rss_mb():.0f} MiB")
    emit(
        {
            "bench": "cox",
            "n": len(data),
            "covariates": P,
            "cox": results,
            "cox_zph": zph,
            "fine_gray_s": round(t_fg, 3),
            "peak_rss_mb": round(peak_rss_mb(), 1),
        }
    )


if __name__ == "__main__":
    main(quick="--quick" in sys.argv[1:])
