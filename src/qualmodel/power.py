"""Power analysis of a change of qualification criterion, by simulation (optionally on Dask).

Design of one replicate at sample size ``n``: two independent cohorts of ``n`` leads are
simulated from the scenario (seeds from ``numpy.random.SeedSequence(seed).spawn``); the
baseline criterion qualifies cohort A, the candidate cohort B, and the metric's test is run:

* ``precision`` — wins among qualified, two-proportion z-test;
* ``recall`` — qualified among won, two-proportion z-test;
* ``time_to_qualification`` — log-rank test of time from ``sal_at`` to qualification;
* ``sqo_volume`` — qualified among leads, two-proportion z-test.

Power is the share of replicates with p < ``alpha``, with a Wilson 95% Monte-Carlo interval.
Replicate results are sorted by replicate index, so the table is identical whatever the
executor (in-process or a ``dask.distributed`` client) and its worker count.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from qualmodel.errors import ConfigError

__all__ = ["METRICS", "connect", "power", "power_replicate"]

METRICS = ("precision", "recall", "time_to_qualification", "sqo_volume")


def _criterion(spec: Any, scenario_name: str):
    from qualmodel.criteria import Criterion, load_criteria

    if isinstance(spec, Criterion):
        return spec
    known = {c.name: c for c in load_criteria(scenario_name)} if scenario_name else {}
    if spec in known:
        return known[spec]
    if isinstance(spec, str) and spec.endswith((".yaml", ".yml")):
        crits = load_criteria(spec)
        if len(crits) == 1:
            return crits[0]
    raise ConfigError(
        f"power: unknown criterion '{spec}'; choose one of {', '.join(known)} or a YAML file "
        f"with one criterion"
    )


def _ztest(x1: int, n1: int, x2: int, n2: int) -> float:
    from statsmodels.stats.proportion import proportions_ztest

    if n1 == 0 or n2 == 0 or (x1 + x2) in (0, n1 + n2):
        return 1.0
    return float(proportions_ztest([x1, x2], [n1, n2])[1])


def power_replicate(args: tuple) -> dict:
    """One replicate: simulate two cohorts, qualify, test; return one summary row."""
    from qualmodel.criteria import qualify
    from qualmodel.durations import time_to_event
    from qualmodel.simulate import simulate
    from qualmodel.survival import logrank

    scenario, base, cand, metrics, n, index, seeds = args
    row: dict[str, Any] = {"n_leads": n, "replicate": index}
    counts, tte = {}, []
    for arm, crit, ss in (("a", base, seeds[0]), ("b", cand, seeds[1])):
        jr = simulate(scenario, n_leads=n, seed=int(ss.generate_state(1)[0]))
        qa = qualify(jr, crit)["qualified_at"]
        q = qa.notna().to_numpy()
        won = jr.leads["won_at"].notna().to_numpy()
        counts[arm] = (n, int(q.sum()), int(won.sum()), int((q & won).sum()))
        if "time_to_qualification" in metrics:
            target = pd.Series(qa.to_numpy(), index=jr.leads.index)
            t = time_to_event(jr, target=target, competing=(), before_start="zero")
            tte.append(t.assign(arm=arm))
    (na, qa_, wa, qwa), (nb, qb, wb, qwb) = counts["a"], counts["b"]
    tests = {
        "precision": lambda: _ztest(qwa, qa_, qwb, qb),
        "recall": lambda: _ztest(qwa, wa, qwb, wb),
        "sqo_volume": lambda: _ztest(qa_, na, qb, nb),
    }
    for m in metrics:
        if m == "time_to_qualification":
            data = pd.concat(tte, ignore_index=True)
            p = (
                float(logrank(data, by="arm").iloc[0]["p_value"])
                if data["event"].eq(1).any()
                else 1.0
            )
        else:
            p = tests[m]()
        row[f"p_{m}"] = p
    row.update(qualified_a=qa_, qualified_b=qb, won_a=wa, won_b=wb, won_qual_a=qwa, won_qual_b=qwb)
    return row


def _validate(metric, n_leads, n_replicates, alpha) -> list[str]:
    metrics = [metric] if isinstance(metric, str) else list(metric)
    bad = [m for m in metrics if m not in METRICS]
    if bad or not metrics:
        raise ConfigError(f"power: unknown metric {bad}; choose from {', '.join(METRICS)}")
    if not n_leads or any(int(n) <= 0 for n in n_leads):
        raise ConfigError(f"power: n_leads must be positive integers, got {list(n_leads)}")
    if int(n_replicates) < 10:
        raise ConfigError(f"power: n_replicates must be ≥ 10, got {n_replicates}")
    if not 0 < float(alpha) < 1:
        raise ConfigError(f"power: alpha must be in (0, 1), got {alpha}")
    return metrics


def power(
    scenario: Any,
    baseline: Any,
    candidate: Any,
    metric: str | list[str] = METRICS,
    n_leads: list[int] = (500, 1000, 2000),
    n_replicates: int = 500,
    alpha: float = 0.05,
    seed: int = 0,
    client: Any = None,
    progress: bool = False,
) -> pd.DataFrame:
    """Estimate the power of detecting baseline vs candidate per sample size and metric.

    Parameters
    ----------
    scenario : Scenario or str
        Built-in name or YAML path.
    baseline, candidate : Criterion or str
        Built-in criterion names of the scenario, or a YAML file holding one criterion.
    metric : str or list of str
        Among :data:`METRICS`.
    n_leads : list of int
        Leads per arm (> 0).
    n_replicates : int, default 500
        Replicates per sample size (≥ 10).
    alpha : float, default 0.05
        Significance level of each replicate's test, in (0, 1).
    seed : int, default 0
        Root of ``numpy.random.SeedSequence``.
    client : dask.distributed.Client, optional
        Run replicates on this client; in-process when None.
    progress : bool, default False
        Show a tqdm bar.

    Returns
    -------
    pandas.DataFrame
        ``metric, n_leads, weeks_of_flow, n_replicates, alpha, rejections, power, power_lo,
        power_hi``.
    """
    from statsmodels.stats.proportion import proportion_confint

    from qualmodel.scenario import load_scenario

    metrics = _validate(metric, n_leads, n_replicates, alpha)
    sc = load_scenario(scenario)
    name = (
        scenario if isinstance(scenario, str) and not scenario.endswith((".yaml", ".yml")) else ""
    )
    base, cand = _criterion(baseline, name), _criterion(candidate, name)
    ns = [int(n) for n in n_leads]
    children = np.random.SeedSequence(seed).spawn(len(ns) * int(n_replicates))
    tasks = [
        (sc, base, cand, metrics, n, i, children[k * n_replicates + i].spawn(2))
        for k, n in enumerate(ns)
        for i in range(int(n_replicates))
    ]
    rows = _run(tasks, client, progress)
    reps = pd.DataFrame(rows).sort_values(["n_leads", "replicate"], kind="stable")
    per_week = sc.n_leads * 7.0 / sc.window.arrival_days
    out = []
    for m in metrics:
        for n, g in reps.groupby("n_leads", sort=True):
            rej = int((g[f"p_{m}"] < alpha).sum())
            lo, hi = proportion_confint(rej, len(g), alpha=0.05, method="wilson")
            out.append(
                {
                    "metric": m,
                    "n_leads": int(n),
                    "weeks_of_flow": 2 * n / per_week,
                    "n_replicates": len(g),
                    "alpha": alpha,
                    "rejections": rej,
                    "power": rej / len(g),
                    "power_lo": float(lo),
                    "power_hi": float(hi),
                }
            )
    return pd.DataFrame(out)


def _run(tasks: list, client: Any, progress: bool) -> list[dict]:
    from tqdm.auto import tqdm

    if client is None:
        return [power_replicate(t) for t in tqdm(tasks, disable=not progress, desc="power")]
    from distributed import as_completed

    futures = client.map(power_replicate, tasks, pure=False)
    rows = []
    for fut in tqdm(as_completed(futures), total=len(futures), disable=not progress, desc="power"):
        rows.append(fut.result())
    return rows


def connect(spec: str, timeout: float = 5.0):
    """Return a Dask client for ``local:N`` (new LocalCluster) or ``tcp://host:port``."""
    from distributed import Client, LocalCluster

    if spec.startswith("local:"):
        try:
            n = int(spec.split(":", 1)[1])
        except ValueError:
            n = 0
        if n < 1:
            raise ConfigError(f"--dask: '{spec}' needs a worker count ≥ 1, e.g. local:2")
        return Client(LocalCluster(n_workers=n, threads_per_worker=1, processes=True))
    if spec.startswith("tcp://"):
        try:
            return Client(spec, timeout=timeout)
        except (OSError, TimeoutError) as exc:
            raise ConfigError(
                f"--dask: cannot reach scheduler {spec} ({type(exc).__name__})"
            ) from None
    raise ConfigError(f"--dask: expected local:N or tcp://host:port, got '{spec}'")
