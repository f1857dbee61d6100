"""Power replicates in blocks: many cohorts simulated at once and reduced per cohort.

A **block** holds ``size`` consecutive replicates of one sample size ``n``. It is two
simulations, one per arm, of ``size · n`` leads each (arm A qualified by the baseline
criterion, arm B by the candidate); lead ``i`` of an arm belongs to the cohort of
replicate ``first + i // n``. Every per-replicate figure is a segmented reduction over
the cohort codes: counts with ``numpy.bincount``, the log-rank test of all the block's
replicates at once (:func:`logrank_by_cohort`), the two-proportion z-tests as arrays
(:func:`ztest_two_proportions`). The blocks of a study depend on ``n`` and the number of
replicates only (:func:`block_plan`), never on the executor, so the table is the same
in-process, on any number of Dask workers and at any chunk size.

Seeds: block ``b`` of sample size number ``k`` uses ``SeedSequence(seed, spawn_key=(k,
b))``, whose two children seed the arms' simulations.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from qualmodel.core.distributions import chi2_sf, norm_sf

__all__ = [
    "BLOCK_LEADS",
    "block_plan",
    "logrank_by_cohort",
    "logrank_columns",
    "run_block",
    "ztest_two_proportions",
]

#: Leads per arm that one block simulates at most (whole replicates; at least one).
#: Large enough that the simulator's fixed cost per call is small against its per-lead
#: cost, small enough that a block's tables stay a few hundred MB and a sweep splits
#: into several blocks for the Dask workers.
BLOCK_LEADS = 250_000


def block_plan(n_leads: list[int], n_replicates: int) -> list[tuple[int, int, int, int]]:
    """Blocks of a study: ``(n, k, b, first)`` and, last, the block's replicate count.

    Parameters
    ----------
    n_leads : list of int
        Leads per arm of each sample size (``k`` is the position in this list).
    n_replicates : int
        Replicates per sample size.

    Returns
    -------
    list of tuple
        ``(n, k, b, first, size)`` per block: sample size, its number, block number,
        first replicate index and number of replicates; ``size = BLOCK_LEADS // n``
        (at least 1, at most ``n_replicates``), the last block of a size takes the rest.
    """
    out = []
    for k, n in enumerate(n_leads):
        size = max(1, min(int(n_replicates), BLOCK_LEADS // int(n)))
        for b, first in enumerate(range(0, int(n_replicates), size)):
            out.append((int(n), k, b, first, min(size, int(n_replicates) - first)))
    return out


def ztest_two_proportions(
    x1: np.ndarray, n1: np.ndarray, x2: np.ndarray, n2: np.ndarray
) -> np.ndarray:
    """Two-sided p-values of the pooled two-proportion z-test, elementwise.

    The statistic of ``statsmodels.stats.proportion.proportions_ztest`` (pooled variance);
    1.0 where a group is empty or the pooled proportion is 0 or 1 (no test possible).
    """
    x1, n1, x2, n2 = (np.asarray(a, dtype=np.float64) for a in (x1, n1, x2, n2))
    ok = (n1 > 0) & (n2 > 0) & (x1 + x2 > 0) & (x1 + x2 < n1 + n2)
    with np.errstate(divide="ignore", invalid="ignore"):
        pooled = (x1 + x2) / (n1 + n2)
        se = np.sqrt(pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2))
        z = (x1 / n1 - x2 / n2) / se
    return np.where(ok, 2.0 * norm_sf(np.abs(np.where(ok, z, 0.0))), 1.0)


def logrank_by_cohort(
    duration: np.ndarray, event: np.ndarray, arm: np.ndarray, cohort: np.ndarray, n_cohorts: int
) -> dict[str, np.ndarray]:
    """Two-group log-rank test (R ``survdiff``, rho = 0) in every cohort at once.

    Parameters
    ----------
    duration : numpy.ndarray
        Follow-up time per subject.
    event : numpy.ndarray
        1 for the event, 0 for censored.
    arm : numpy.ndarray
        0 (baseline) or 1 (candidate) per subject.
    cohort : numpy.ndarray
        Cohort code per subject, ``0 .. n_cohorts - 1``.
    n_cohorts : int

    Returns
    -------
    dict of numpy.ndarray
        Per cohort: ``statistic`` (chi-square, 1 df), ``p_value`` (NaN where the variance
        is 0), ``o_minus_e`` and ``variance`` of arm 1, ``events_a``, ``events_b``.
    """
    status = (np.asarray(event) == 1).astype(np.float64)
    arm = np.asarray(arm, dtype=np.int64)
    order = np.lexsort((duration, cohort))
    dur, coh, st, b = duration[order], cohort[order], status[order], arm[order]
    # one row per distinct (cohort, time): ends of each run of equal keys
    new = np.ones(dur.shape[0], dtype=bool)
    new[1:] = (coh[1:] != coh[:-1]) | (dur[1:] != dur[:-1])
    cell = np.cumsum(new) - 1
    m = int(cell[-1]) + 1 if cell.size else 0
    d = np.bincount(cell, weights=st, minlength=m)
    d_b = np.bincount(cell, weights=st * b, minlength=m)
    ends = np.bincount(cell, minlength=m).astype(np.float64)
    ends_b = np.bincount(cell, weights=b.astype(np.float64), minlength=m)
    cell_coh = coh[new]
    # at risk: leads of the cohort with time ≥ t = reverse cumulative sum within the cohort
    at_risk = _reverse_cumsum_by(ends, cell_coh, n_cohorts)
    at_risk_b = _reverse_cumsum_by(ends_b, cell_coh, n_cohorts)
    with np.errstate(divide="ignore", invalid="ignore"):
        expected_b = np.where(at_risk > 0, d * at_risk_b / at_risk, 0.0)
        w = np.where(at_risk > 1, d * (at_risk - d) / (at_risk * (at_risk - 1)), 0.0)
        var = np.where(at_risk > 0, w * at_risk_b * (1.0 - at_risk_b / at_risk), 0.0)
    oe = np.bincount(cell_coh, weights=d_b - expected_b, minlength=n_cohorts)
    v = np.bincount(cell_coh, weights=var, minlength=n_cohorts)
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = np.where(v > 0, oe**2 / v, 0.0)
    p = np.where(v > 0, chi2_sf(stat, 1), np.nan)
    ev_b = np.bincount(cohort, weights=status * arm, minlength=n_cohorts)
    ev_all = np.bincount(cohort, weights=status, minlength=n_cohorts)
    return {
        "statistic": stat,
        "p_value": p,
        "o_minus_e": oe,
        "variance": v,
        "events_a": np.rint(ev_all - ev_b).astype(np.int64),
        "events_b": np.rint(ev_b).astype(np.int64),
    }


def _reverse_cumsum_by(values: np.ndarray, groups: np.ndarray, n_groups: int) -> np.ndarray:
    """Sum of ``values`` from each position to the end of its group (groups contiguous)."""
    total = np.bincount(groups, weights=values, minlength=n_groups)
    before = np.cumsum(values) - values  # sum of everything before each position
    start_of = np.concatenate(([0.0], np.cumsum(total)[:-1]))  # sum before each group
    return total[groups] - (before - start_of[groups])


def _arm(shared: Any, crit: Any, n: int, size: int, seed: int) -> dict[str, Any]:
    """Simulate one arm of a block, qualify it; per-cohort counts and the durations."""
    from qualmodel.criteria.engine import qualify
    from qualmodel.simulation.engine import simulate_steps
    from qualmodel.survival.durations import time_to_event

    jr = simulate_steps(shared.scenario, n * size, seed, reuse_ids=True)
    cohort = np.arange(n * size) // n
    qa = qualify(jr, crit)["qualified_at"]
    q = qa.notna().to_numpy()
    won = jr.leads["won_at"].notna().to_numpy()
    out: dict[str, Any] = {
        "qualified": np.bincount(cohort, weights=q, minlength=size).astype(np.int64),
        "won": np.bincount(cohort, weights=won, minlength=size).astype(np.int64),
        "won_qual": np.bincount(cohort, weights=q & won, minlength=size).astype(np.int64),
    }
    if "time_to_qualification" in shared.metrics:
        target = pd.Series(qa.to_numpy(), index=jr.leads.index)
        tte = time_to_event(jr, target=target, competing=(), before_start="zero")
        rows = np.flatnonzero(jr.leads["sal_at"].notna().to_numpy())
        out["tte"] = (tte["duration"].to_numpy(), tte["event"].to_numpy(), cohort[rows])
    return out


def run_block(shared: Any, block: tuple[int, int, int, int, int]) -> pd.DataFrame:
    """Run one block of replicates; one row per replicate (as :func:`power` aggregates).

    Parameters
    ----------
    shared : object
        Scenario, criteria (``baseline``, ``candidate``), ``metrics`` and root ``seed``.
    block : tuple
        ``(n, k, b, first, size)`` from :func:`block_plan`.

    Returns
    -------
    pandas.DataFrame
        ``n_leads, replicate``, ``p_<metric>`` per metric, the arms' counts and, with
        ``time_to_qualification``, events per arm and the Peto log hazard ratio.
    """
    n, k, b, first, size = block
    children = np.random.SeedSequence(shared.seed, spawn_key=(k, b)).spawn(2)
    seeds = [int(c.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1)) for c in children]
    a = _arm(shared, shared.baseline, n, size, seeds[0])
    c = _arm(shared, shared.candidate, n, size, seeds[1])
    rows: dict[str, Any] = {"n_leads": np.full(size, n), "replicate": first + np.arange(size)}
    tests = {
        "precision": (a["won_qual"], a["qualified"], c["won_qual"], c["qualified"]),
        "recall": (a["won_qual"], a["won"], c["won_qual"], c["won"]),
        "sqo_volume": (a["qualified"], np.full(size, n), c["qualified"], np.full(size, n)),
    }
    for m in shared.metrics:
        if m != "time_to_qualification":
            rows[f"p_{m}"] = ztest_two_proportions(*tests[m])
    if "tte" in a:
        rows.update(logrank_columns(a["tte"], c["tte"], size, "time_to_qualification"))
    for key in ("qualified", "won", "won_qual"):
        rows[f"{key}_a"], rows[f"{key}_b"] = a[key], c[key]
    return pd.DataFrame(rows)


def logrank_columns(tte_a: tuple, tte_b: tuple, size: int, metric: str) -> dict[str, np.ndarray]:
    """Per replicate of a block: events per arm, log-rank p-value, Peto log hazard ratio.

    Parameters
    ----------
    tte_a, tte_b : tuple of numpy.ndarray
        ``(duration, event, replicate)`` of the baseline and candidate arms.
    size : int
        Replicates in the block.
    metric : str
        Names the columns ``p_<metric>`` and ``loghr_<metric>`` (candidate / baseline);
        a replicate without events gets p = 1 and log hazard ratio 0.

    Returns
    -------
    dict of numpy.ndarray
        ``events_a``, ``events_b``, ``p_<metric>``, ``loghr_<metric>``.
    """
    dur = np.concatenate((tte_a[0], tte_b[0]))
    ev = np.concatenate((tte_a[1], tte_b[1]))
    arm = np.concatenate((np.zeros(tte_a[0].shape[0], int), np.ones(tte_b[0].shape[0], int)))
    res = logrank_by_cohort(dur, ev, arm, np.concatenate((tte_a[2], tte_b[2])), size)
    any_event = (res["events_a"] + res["events_b"]) > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        loghr = np.where(res["variance"] > 0, res["o_minus_e"] / res["variance"], 0.0)
    return {
        "events_a": res["events_a"],
        "events_b": res["events_b"],
        f"p_{metric}": np.where(any_event, res["p_value"], 1.0),
        f"loghr_{metric}": np.where(any_event, loghr, 0.0),
    }
