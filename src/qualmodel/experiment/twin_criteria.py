"""Criterion-level fit diagnostics of a twin: what qualification criteria see, data vs twin.

For each criterion: the share of leads it qualifies (by ``observed_until``) and the median
days from the plan's start stage to qualification (among the qualified leads that reached
the start; qualification before the start counts as 0), on the data and as the mean over
the twin's check simulations (the seeds of
:func:`~qualmodel.experiment.twin_check.check_seeds`, at the observed number of leads).
One distance each: ``criterion.<name>.share`` (|twin − observed| share) and
``criterion.<name>.median_days`` (|twin − observed| days).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from qualmodel.core.errors import ConfigError
from qualmodel.experiment.twin_check import check_seeds

__all__ = ["criteria_fit", "resolve_criteria"]


def resolve_criteria(spec: Any, journeys: Any, names: list[str] | None = None) -> list[Any]:
    """Criteria to diagnose: a list of criteria, a criteria file or built-in scenario name.

    ``spec`` None: the built-in criteria of the scenario the journeys were simulated from
    (``meta["source"]``), else none. ``names`` keeps only those criteria (e.g. a pair),
    in that order.
    """
    from qualmodel.criteria.engine import Criterion, list_criteria_files, load_criteria

    if spec is None:
        source = str(journeys.meta.get("source", ""))
        crits = load_criteria(source) if source in list_criteria_files() else []
    elif isinstance(spec, list | tuple) and all(isinstance(c, Criterion) for c in spec):
        crits = list(spec)
    else:
        crits = load_criteria(str(spec))
    if not names:
        return crits
    known = {c.name: c for c in crits}
    missing = [n for n in names if n not in known]
    if missing:
        raise ConfigError(
            f"criteria: unknown criterion '{missing[0]}'; choose from "
            f"{', '.join(known) or '(none)'}"
        )
    return [known[n] for n in names]


def _days(values: Any) -> np.ndarray:
    a = np.asarray(values, dtype="datetime64[ns]")
    out = a.astype(np.int64) / 86_400e9
    out[np.isnat(a)] = np.nan
    return out


def _stats(journeys: Any, crit: Any, start: str, strict: bool) -> tuple[float, float]:
    """(share qualified, median days from ``start`` to qualification among them)."""
    from qualmodel.criteria.engine import qualify

    q = _days(qualify(journeys, crit, strict=strict)["qualified_at"])
    col = f"{start}_at"
    t0 = _days(journeys.leads[col]) if col in journeys.leads else np.full(q.size, np.nan)
    ok = ~np.isnan(q)
    d = np.maximum(q - t0, 0.0)[ok & ~np.isnan(t0)]
    return float(ok.mean()), float(np.median(d)) if d.size else float("nan")


def criteria_fit(
    twin: Any, journeys: Any, criteria: list[Any], n_check: int, seed: int
) -> dict[str, Any]:
    """Share qualified and median time to qualification, data vs twin, per criterion.

    Returns
    -------
    dict
        ``table`` (DataFrame: criterion, statistic, observed, twin, distance), ``distances``
        (``criterion.<name>.share`` / ``.median_days`` → number) and ``skipped``
        (criterion → why it could not be evaluated on the data).
    """
    from qualmodel.simulation.twin import simulate_twin

    start = twin.plan.start
    rows, dist, skipped, obs = [], {}, {}, {}
    for c in criteria:
        try:
            obs[c.name] = _stats(journeys, c, start, strict=True)
        except ConfigError as exc:
            skipped[c.name] = str(exc)
    if obs:
        sims = [simulate_twin(twin, journeys.n_leads, s) for s in check_seeds(seed, n_check)]
    for c in criteria:
        if c.name not in obs:
            continue
        try:
            per_sim = np.array([_stats(sim, c, start, strict=False) for sim in sims])
        except ConfigError as exc:  # e.g. the twin keeps no segment column
            skipped[c.name] = f"the twin cannot run it: {exc}"
            continue
        mean = [
            float(np.mean(v[np.isfinite(v)])) if np.isfinite(v).any() else np.nan for v in per_sim.T
        ]
        for i, stat in enumerate(("share", "median_days")):
            o, t = obs[c.name][i], float(mean[i])
            gap = abs(t - o) if np.isfinite(t) and np.isfinite(o) else float("nan")
            rows.append(
                {"criterion": c.name, "statistic": stat, "observed": o, "twin": t, "distance": gap}
            )
            if np.isfinite(gap):
                dist[f"criterion.{c.name}.{stat}"] = round(gap, 6 if stat == "share" else 3)
    table = pd.DataFrame(rows, columns=["criterion", "statistic", "observed", "twin", "distance"])
    return {"table": table, "distances": dist, "skipped": skipped}
