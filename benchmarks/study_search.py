"""Must-show numbers of the criteria search (issue 12), on simulated scenarios.

For each built-in scenario and each replicate seed: simulate ``N_LEADS`` leads, run
:func:`qualmodel.criteria.search.search_criteria` with the scenario's built-in space, and read the
held-out comparison (later cohorts, never used to pick the winner):

* variant ``f1`` — objective F1, no capacity;
* variant ``capacity`` — objective recall with the capacity set to the seed definition's
  own fit workload (SQOs/week), i.e. "catch more wins with the same sales effort".

Printed per scenario: for replicate 1 the winner, the seed and the best built-in (chosen
on the fit cohorts by the same rule) with held-out precision / recall / lead time to
``true_ready_at`` and 95% bootstrap CIs; over all replicates how often the winner beats
the seed (and the best built-in) on held-out F1 (variant f1) or recall at no more
workload (variant capacity), and the median lead times. Rows go to
``benchmarks/results/search_study.csv``. Not run by ``make bench`` (no ``bench_`` prefix).

Usage: ``python benchmarks/study_search.py [N_REPLICATES] [N_LEADS]``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pandas as pd

from qualmodel import simulate
from qualmodel.core.atomic import write_csv_atomic
from qualmodel.criteria.search import search_criteria

SCENARIOS = ("startup_saas", "consultancy", "digital_agency")
KEYS = ("precision", "recall", "per_week", "lead_time_days")


def _f1(row: pd.Series) -> float:
    p, r = row["precision"], row["recall"]
    return float(2 * p * r / (p + r)) if p + r > 0 else 0.0


def one(scenario: str, rep: int, n_leads: int, n_boot: int) -> list[dict]:
    j = simulate(scenario, n_leads=n_leads, seed=1000 + rep)
    rows = []
    base = search_criteria(j, scenario, n_boot=0)
    seed_week = float(base.builtins.set_index("criterion").at[base.seed_name, "per_week"])
    runs = {
        "f1": dict(objective="f1"),
        "capacity": dict(objective="recall", capacity_per_week=seed_week),
    }
    for variant, kw in runs.items():
        res = search_criteria(j, scenario, n_boot=n_boot, seed=rep, **kw)
        for role, name in (
            ("winner", res.winner.name),
            ("seed", res.seed_name),
            ("best_builtin", res.best_builtin),
        ):
            h = res.holdout_row(name)
            row = {
                "scenario": scenario,
                "rep": rep,
                "variant": variant,
                "role": role,
                "criterion": name,
                "f1": _f1(h),
                "capacity": kw.get("capacity_per_week"),
            }
            for k in KEYS:
                row[k] = h[k]
                row[f"{k}_lo"], row[f"{k}_hi"] = h[f"{k}_lo"], h[f"{k}_hi"]
            rows.append(row)
    return rows


def summarise(df: pd.DataFrame) -> None:
    for (sc, variant), g in df.groupby(["scenario", "variant"], sort=False):
        w = g.pivot(index="rep", columns="role", values=["f1", "recall", "per_week"])
        if variant == "f1":
            beat_seed = (w["f1"]["winner"] > w["f1"]["seed"]).mean()
            beat_best = (w["f1"]["winner"] > w["f1"]["best_builtin"]).mean()
            what = "held-out F1"
        else:
            beat_seed = (w["recall"]["winner"] > w["recall"]["seed"]).mean()
            beat_best = (w["recall"]["winner"] > w["recall"]["best_builtin"]).mean()
            what = "held-out recall (capacity = seed workload)"
        lt = g.groupby("role")["lead_time_days"].median()
        print(
            f"{sc} [{variant}] over {g['rep'].nunique()} replicates: winner beats seed on "
            f"{what} in {beat_seed:.0%}, beats best built-in in {beat_best:.0%}; median lead "
            f"time to true_ready_at (days): winner {lt['winner']:.2f}, seed {lt['seed']:.2f}, "
            f"best built-in {lt['best_builtin']:.2f}; held-out SQOs/week (winner vs seed): "
            f"{w['per_week']['winner'].median():.1f} vs {w['per_week']['seed'].median():.1f}"
        )
        first = g[g["rep"] == g["rep"].min()]
        for _, r in first.iterrows():
            print(
                f"    rep {r['rep']} {r['role']:<13} {r['criterion']}: precision "
                f"{r['precision']:.3f} [{r['precision_lo']:.3f}, {r['precision_hi']:.3f}], "
                f"recall {r['recall']:.3f} [{r['recall_lo']:.3f}, {r['recall_hi']:.3f}], "
                f"lead time {r['lead_time_days']:.2f} d [{r['lead_time_days_lo']:.2f}, "
                f"{r['lead_time_days_hi']:.2f}], {r['per_week']:.1f} SQOs/week"
            )


def main(argv: list[str]) -> None:
    reps = int(argv[0]) if argv else 20
    n_leads = int(argv[1]) if len(argv) > 1 else 20_000
    rows = []
    for sc in SCENARIOS:
        for rep in range(1, reps + 1):
            rows += one(sc, rep, n_leads, n_boot=1000 if rep == 1 else 0)
            print(f"{sc} rep {rep} done (load avg {os.getloadavg()[0]:.2f})", flush=True)
    df = pd.DataFrame(rows)
    out = Path(__file__).resolve().parent / "results" / "search_study.csv"
    write_csv_atomic(df, out)
    summarise(df)
    print(f"rows: {out}")


if __name__ == "__main__":
    main(sys.argv[1:])
