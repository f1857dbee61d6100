"""Concordance engine at 1M rows, and the default ``cox`` (concordance on) against a peer.

Data: ``bench_models.make_data`` (1M leads x 8 covariates), continuous times and the same
floored to whole days.

* ``qualmodel.concordance`` alone on the true linear predictor: wall and CPU seconds,
  best of 3 after a warm-up call (the numba kernels are compiled once and cached);
  goal ≤ 0.3 s.
* ``qualmodel.cox(data, covs)`` with its default ``concordance=True`` against the PyPI
  ``survival`` package's ``coxph`` (a Rust port of R's, which also reports the
  concordance) in the same run; goal: ratio ≤ 1.0.
* lifelines' ``concordance_index`` (the routine the Cox path used before) on 200k rows, for
  scale.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench_models import P, make_data  # noqa: E402
from common import emit  # noqa: E402

import qualmodel as qm  # noqa: E402

COVS = [f"x{j}" for j in range(P)]


def _best(fn, repeat: int = 3) -> tuple[float, float, object]:
    best_wall, best_cpu, out = float("inf"), float("inf"), None
    for _ in range(repeat):
        w0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        best_wall = min(best_wall, time.perf_counter() - w0)
        best_cpu = min(best_cpu, time.process_time() - c0)
    return best_wall, best_cpu, out


def _survival_coxph(frame) -> float | None:
    try:
        import survival
    except ImportError:
        print("survival (PyPI): not installed; pip install -e '.[bench]'")
        return None
    sub = frame[[*COVS, "duration"]].assign(e=(frame["event"] == 1).astype(int))
    formula = f"Surv(duration, e) ~ {' + '.join(COVS)}"
    wall, _, _ = _best(lambda: survival.coxph(formula, data=sub, ties="efron"), repeat=1)
    return wall


def main() -> None:
    data = make_data()
    lp = data[COVS].to_numpy() @ np.linspace(0.5, -0.3, P)
    hit = (data["event"] == 1).to_numpy().astype(int)
    qm.concordance(data["duration"].to_numpy()[:1000], hit[:1000], lp[:1000])  # warm-up
    out: dict[str, object] = {"n": len(data)}
    for label, frame in (
        ("continuous", data),
        ("day", data.assign(duration=np.floor(data["duration"]))),
    ):
        t = frame["duration"].to_numpy()
        wall, cpu, res = _best(lambda t=t: qm.concordance(t, hit, lp, reverse=True))
        print(
            f"concordance alone, {label}, {len(t):,} rows: {wall:.3f} s wall, {cpu:.3f} s CPU "
            f"(C = {res.concordance:.4f} ± {res.std:.4f}; goal ≤ 0.3 s)"
        )
        cox_wall, _, fit = _best(lambda f=frame: qm.cox(f, COVS), repeat=1)
        peer = _survival_coxph(frame)
        ratio = None if peer is None else cox_wall / peer
        print(
            f"  cox default (with concordance): {cox_wall:.2f} s; survival coxph: "
            f"{peer if peer is None else round(peer, 2)} s; ratio "
            f"{'n/a' if ratio is None else f'{ratio:.2f}'} (goal ≤ 1.0)"
        )
        out[label] = {"concordance_s": round(wall, 3), "concordance_cpu_s": round(cpu, 3),
                      "cox_default_s": round(cox_wall, 3),
                      "survival_coxph_s": None if peer is None else round(peer, 3),
                      "ratio": None if ratio is None else round(ratio, 3),
                      "c": fit.summary["concordance"]}  # fmt: skip
    from lifelines.utils import concordance_index

    n = 200_000
    t = data["duration"].to_numpy()[:n]
    wall, _, _ = _best(lambda: concordance_index(t, -lp[:n], hit[:n]), repeat=1)
    ours, _, _ = _best(lambda: qm.concordance(t, hit[:n], lp[:n], reverse=True))
    print(f"200,000 rows: lifelines concordance_index {wall:.2f} s, qualmodel {ours:.3f} s")
    out["lifelines_200k_s"] = round(wall, 3)
    out["qualmodel_200k_s"] = round(ours, 3)
    emit({"bench": "concordance", **out})


if __name__ == "__main__":
    main()
