"""How well a fitted scenario fits: bootstrap spread and simulated-vs-observed distances.

* :func:`bootstrap` — ``n_boot`` refits of the stage shares on leads resampled with
  replacement (refit ``b`` draws from ``SeedSequence(seed, spawn_key=(b,))``, so the
  result is the same in-process and on any Dask client), keeping each stage's family;
* :func:`check_fit` — ``n_check`` simulations of the twin at the observed size; the mean
  of their Aalen–Johansen curves and funnel shares is compared with the data: one
  distance per statistic (``funnel.<stage>``: |twin − observed| share of all leads;
  ``cif.<stage>``: sup over days of |twin − observed| cumulative incidence from its
  ``after`` stage; ``band.<stage>``: share of days 1..120 where the twin's curve lies
  inside the observed pointwise 95% band; ``segment``: largest |twin − observed| share).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from qualmodel.experiment.twin_curves import (
    aj_curves,
    fit_transitions,
    stage_days,
    transition_table,
)

__all__ = ["BAND_DAYS", "bootstrap", "check_fit", "check_seeds"]

#: Days 1..BAND_DAYS on which the band coverage distance is measured.
BAND_DAYS = 120


def _boot_one(days: dict[str, np.ndarray], tree: dict, fixed: dict, seed: int, b: int) -> dict:
    n = days["created"].size
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(b,)))
    idx = rng.integers(0, n, n)
    stages, _ = fit_transitions({k: v[idx] for k, v in days.items()}, tree, ("empirical",), fixed)
    return {s: float(spec["share"]) for s, spec in stages.items()}


def bootstrap(
    days: dict[str, np.ndarray], tree: dict, fixed: dict, n_boot: int, seed: int, client: Any
) -> dict[str, Any]:
    """Refit the stage shares on ``n_boot`` resamples; return their spread.

    Returns
    -------
    dict
        ``n_boot``, ``seed``, and per stage ``lo`` / ``hi`` (2.5% and 97.5% percentiles),
        ``sd`` and ``draws`` (every refit's share, in refit order).
    """
    if n_boot == 0:
        return {"n_boot": 0, "seed": seed, "stages": {}}
    if client is None:
        rows = [_boot_one(days, tree, fixed, seed, b) for b in range(n_boot)]
    else:
        shared = client.scatter(days, broadcast=True)
        futures = client.map(
            _boot_one,
            [shared] * n_boot,
            [tree] * n_boot,
            [fixed] * n_boot,
            [seed] * n_boot,
            list(range(n_boot)),
            pure=False,
        )
        rows = client.gather(futures)
    out = {}
    for stem in tree:
        draws = np.array([r[stem] for r in rows])
        out[stem] = {
            "lo": round(float(np.percentile(draws, 2.5)), 6),
            "hi": round(float(np.percentile(draws, 97.5)), 6),
            "sd": round(float(draws.std(ddof=1)) if n_boot > 1 else 0.0, 6),
            "draws": [round(float(x), 6) for x in draws],
        }
    return {"n_boot": n_boot, "seed": seed, "stages": out}


def check_seeds(seed: int, k: int) -> list[int]:
    """Seeds of the ``k`` check simulations (children of ``SeedSequence(seed)``)."""
    children = np.random.SeedSequence(seed, spawn_key=(2**31,)).spawn(k)
    return [int(c.generate_state(1, np.uint64)[0] >> np.uint64(1)) for c in children]


def _sim_curves(twin: Any, n: int, seed: int, days_grid: dict[str, np.ndarray]) -> tuple:
    """Funnel shares and per-transition curves of one simulation of the twin."""
    from qualmodel.simulation.twin import simulate_twin

    sim = simulate_twin(twin, n, seed)
    start_ns = int(pd.Timestamp(twin.window.start).value)
    d = stage_days(sim, start_ns)
    shares = {s: float(np.mean(~np.isnan(d[s]))) if s in d else 0.0 for s in twin.stages}
    curves = {}
    for parent, grid in days_grid.items():
        kids = twin.children(parent)
        if parent not in d:
            curves[parent] = np.zeros((len(kids), grid.size))
            continue
        cols = [d.get(k, np.full(n, np.nan)) for k in kids]
        dur, ev = transition_table(d[parent], cols, d["observed_until"])
        cur = aj_curves(dur, ev, len(kids), float(grid[-1]))
        curves[parent] = cur.cif[:, : grid.size]
    seg = None
    if twin.segment is not None:
        seg = sim.leads["segment"].astype(str).value_counts(normalize=True).to_dict()
    return shares, curves, seg


def check_fit(
    twin: Any, journeys: Any, curves: dict[str, Any], n_check: int, seed: int
) -> dict[str, Any]:
    """Compare ``n_check`` simulations of the twin with the data (see the module notes).

    Returns
    -------
    dict
        ``distances`` (statistic → number), ``funnel`` (stage, observed, twin, difference)
        and ``curves`` (stage, after, day, observed, lower, upper, twin) DataFrames.
    """
    n = journeys.n_leads
    grids = {parent: cur.days for parent, (kids, cur) in curves.items()}
    runs = [_sim_curves(twin, n, s, grids) for s in check_seeds(seed, n_check)]
    leads = journeys.leads
    funnel_rows, curve_frames, dist = [], [], {}
    for stem in twin.stages:
        obs = float(leads[f"{stem}_at"].notna().mean())
        sim = float(np.mean([r[0][stem] for r in runs]))
        funnel_rows.append({"stage": stem, "observed": obs, "twin": sim, "difference": sim - obs})
        dist[f"funnel.{stem}"] = round(abs(sim - obs), 6)
    for parent, (kids, cur) in curves.items():
        mean = np.mean([r[1][parent] for r in runs], axis=0)
        band = (cur.days >= 1) & (cur.days <= BAND_DAYS)
        for i, kid in enumerate(kids):
            inside = (mean[i] >= cur.lower[i] - 1e-9) & (mean[i] <= cur.upper[i] + 1e-9)
            dist[f"cif.{kid}"] = round(float(np.abs(mean[i] - cur.cif[i]).max()), 6)
            dist[f"band.{kid}"] = round(float(inside[band].mean()) if band.any() else 1.0, 6)
            curve_frames.append(
                pd.DataFrame(
                    {
                        "stage": kid,
                        "after": parent,
                        "day": cur.days,
                        "observed": cur.cif[i],
                        "lower": cur.lower[i],
                        "upper": cur.upper[i],
                        "twin": mean[i],
                    }
                )
            )
    if twin.segment is not None:
        col = leads[twin.segment.column].astype(object)
        obs = col.where(col.notna(), "(missing)").astype(str).value_counts(normalize=True)
        sims = [r[2] for r in runs]
        dist["segment"] = round(
            float(max(abs(np.mean([s.get(k, 0.0) for s in sims]) - v) for k, v in obs.items())), 6
        )
    return {
        "distances": dist,
        "funnel": pd.DataFrame(funnel_rows),
        "curves": pd.concat(curve_frames, ignore_index=True),
        "n_check": n_check,
    }
