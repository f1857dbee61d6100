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

import os
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from qualmodel.core.checks import check_count, check_number, check_seed
from qualmodel.core.distributions import wilson_interval
from qualmodel.core.errors import ConfigError
from qualmodel.experiment.mde import DEFAULT_MDE_POWER, mde_hazard_ratio, mde_two_proportions
from qualmodel.experiment.replicates import block_plan, run_block

__all__ = [
    "MAX_CHUNK_SIZE",
    "METRICS",
    "TASKS_PER_WORKER",
    "auto_chunk_size",
    "LOCAL_CLUSTER_CONFIG",
    "connect",
    "local_cluster",
    "power",
    "power_chunk",
]

METRICS = ("precision", "recall", "time_to_qualification", "sqo_volume")


def _criterion(spec: Any, scenario_name: str):
    from qualmodel.criteria.engine import Criterion, load_criteria

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


def criteria_pair(
    scenario: str,
    baseline: str | None = None,
    candidate: str | None = None,
    criteria_file: str | None = None,
) -> list[Any]:
    """Baseline and candidate criteria for a power analysis, with sensible defaults.

    Parameters
    ----------
    scenario : str
        Built-in scenario name or scenario YAML path.
    baseline, candidate : str, optional
        Criterion names (of ``criteria_file`` or the scenario's built-in criteria) or YAML
        files holding one criterion. None: the first (the current definition) and second
        criterion of ``criteria_file`` or of the built-in scenario.
    criteria_file : str, optional
        Criteria YAML to pick names from.

    Returns
    -------
    list of Criterion
        ``[baseline, candidate]``, or ``[]`` when no criteria are available (a custom
        scenario without ``criteria_file``, baseline and candidate).
    """
    from qualmodel.criteria.engine import list_criteria_files, load_criteria

    if criteria_file is not None:
        known = load_criteria(criteria_file)
    elif scenario in list_criteria_files():
        known = load_criteria(scenario)
    else:
        known = []
    by_name = {c.name: c for c in known}
    if baseline is None and candidate is None and len(known) < 2:
        return []
    picks = []
    for spec, default in ((baseline, 0), (candidate, 1)):
        if spec is None:
            if len(known) <= default:
                raise ConfigError(
                    f"power: no default criterion #{default + 1} for {scenario!r}; "
                    f"give baseline and candidate"
                )
            picks.append(known[default])
        else:
            builtin = scenario if scenario in list_criteria_files() else ""
            picks.append(by_name.get(spec) or _criterion(spec, builtin))
    return picks


@dataclass(frozen=True)
class _Shared:
    """What every replicate needs: shipped once per worker (``client.scatter``)."""

    scenario: Any
    baseline: Any
    candidate: Any
    metrics: tuple[str, ...]
    seed: int


def power_chunk(shared: _Shared, blocks: list[tuple[int, int, int, int, int]]) -> pd.DataFrame:
    """Run blocks of replicates (one Dask task); ``blocks`` from :func:`block_plan`."""
    return pd.concat([run_block(shared, block) for block in blocks], ignore_index=True)


#: Most replicates per call (each simulates two arms); raise it by splitting the study.
MAX_REPLICATES = 100_000
#: Most leads per arm and sample size.
MAX_LEADS = 10_000_000


def validate_arguments(metric, n_leads, n_replicates, alpha) -> list[str]:
    metrics = [metric] if isinstance(metric, str) else list(metric)
    bad = [m for m in metrics if m not in METRICS]
    if bad or not metrics:
        raise ConfigError(f"power: unknown metric {bad}; choose from {', '.join(METRICS)}")
    try:
        ns = [int(n) for n in n_leads]
    except (TypeError, ValueError):
        ns = []
    if not ns or any(n <= 0 for n in ns):
        raise ConfigError(f"power: n_leads must be positive integers, got {n_leads!r}")
    if max(ns) > MAX_LEADS:
        raise ConfigError(
            f"power: n_leads {max(ns):,} per arm is over {MAX_LEADS:,}; a power study needs "
            f"far fewer leads (the MDE shrinks with the square root of n)"
        )
    if isinstance(n_replicates, int) and n_replicates > MAX_REPLICATES:
        raise ConfigError(
            f"power: n_replicates {n_replicates:,} is over {MAX_REPLICATES:,} per call (there "
            f"the Monte-Carlo error of a power is below 0.2 points); for more, run several "
            f"calls with different seeds and pool their rows"
        )
    check_count("power: n_replicates", n_replicates, low=10, high=MAX_REPLICATES)
    check_number("power: alpha", alpha, low=0, high=1, low_open=True, high_open=True)
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
    chunk_size: int | None = None,
    mde_power: float = DEFAULT_MDE_POWER,
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
        Show a progress bar (terminal: tqdm on stderr; Jupyter: one text output updated
        in place, which an executed notebook and its HTML export keep in its final state).
    chunk_size : int, optional
        Replicates per Dask task; None: :func:`auto_chunk_size`. Ignored in-process.
    mde_power : float, default 0.8
        Power that defines the ``mde`` column (see :mod:`qualmodel.experiment.mde`).

    Returns
    -------
    pandas.DataFrame
        ``metric, n_leads, weeks_of_flow, n_replicates, alpha, rejections, power, power_lo,
        power_hi, baseline_value, candidate_value, n_baseline, n_candidate, effect,
        effect_scale, mde, mde_direction, mde_note``. ``baseline_value`` /
        ``candidate_value`` are the arms' pooled simulated proportions (for
        ``time_to_qualification``: share of leads qualified while observed);
        ``n_baseline`` / ``n_candidate`` the mean test denominators per replicate
        (qualified, won or all leads; events for the log-rank); ``effect`` is
        candidate − baseline (``effect_scale`` "difference") or the Peto hazard ratio
        candidate/baseline ("hazard_ratio"); ``mde`` the minimum detectable effect at this
        ``n_leads`` on the same scale (:mod:`qualmodel.experiment.mde`) in the direction
        ``mde_direction`` of the simulated effect ("increase" or "decrease"): for a
        difference its size (never negative: a decrease of 0.05 is ``mde`` 0.05 with
        ``mde_direction`` "decrease"), for a hazard ratio the ratio itself (below 1 for a
        decrease). ``mde_note`` is empty when ``mde`` is defined and otherwise says why it
        is blank (e.g. even the largest possible change would be missed at this size).
    """
    from qualmodel.simulation.scenario import load_scenario

    metrics = validate_arguments(metric, n_leads, n_replicates, alpha)
    check_seed("power: seed", seed)
    if not 0 < float(mde_power) < 1:
        raise ConfigError(f"power: mde_power must be in (0, 1), got {mde_power}")
    if chunk_size is not None and int(chunk_size) < 1:
        raise ConfigError(f"power: chunk_size must be ≥ 1 or None, got {chunk_size}")
    sc = load_scenario(scenario)
    name = (
        scenario if isinstance(scenario, str) and not scenario.endswith((".yaml", ".yml")) else ""
    )
    shared = _Shared(
        sc, _criterion(baseline, name), _criterion(candidate, name), tuple(metrics), int(seed)
    )
    blocks = block_plan([int(n) for n in n_leads], int(n_replicates))
    parts = _run(shared, blocks, client, progress, chunk_size)
    reps = pd.concat(parts, ignore_index=True)
    reps = reps.sort_values(["n_leads", "replicate"], kind="stable", ignore_index=True)
    per_week = sc.n_leads * 7.0 / sc.window.arrival_days
    out = [
        {**power_row(m, int(n), g, alpha, per_week), **_effect_row(m, int(n), g, alpha, mde_power)}
        for m in metrics
        for n, g in reps.groupby("n_leads", sort=True)
    ]
    return pd.DataFrame(out)


def power_row(m: str, n: int, g: pd.DataFrame, alpha: float, per_week: float) -> dict:
    """Power columns of one metric at ``n`` leads per arm from its replicates ``g``.

    ``g`` holds one row per replicate with the p-value in ``p_<m>``; the result has
    ``metric, n_leads, weeks_of_flow, n_replicates, alpha, rejections, power, power_lo,
    power_hi`` (Wilson 95% interval, never excluding the estimate).
    """
    rej = int((g[f"p_{m}"] < alpha).sum())
    lo, hi = wilson_interval(rej, len(g), alpha=0.05)
    return {
        "metric": m,
        "n_leads": n,
        "weeks_of_flow": 2 * n / per_week,
        "n_replicates": len(g),
        "alpha": alpha,
        "rejections": rej,
        "power": rej / len(g),
        # the Wilson bounds at 0 or all rejections are 0 and 1 up to rounding (4e-19, 1 - 1e-16)
        "power_lo": min(float(lo), rej / len(g)),
        "power_hi": max(float(hi), rej / len(g)),
    }


#: numerator and denominator counts of the proportion metrics (``None``: the arm's leads).
_PROPORTIONS = {
    "precision": ("won_qual", "qualified"),
    "recall": ("won_qual", "won"),
    "sqo_volume": ("qualified", None),
}


def _effect_row(m: str, n: int, g: pd.DataFrame, alpha: float, target: float) -> dict:
    """Return the simulated baseline / candidate values, their effect and the MDE at ``n``."""
    if m == "time_to_qualification":
        lhr = float(g["loghr_time_to_qualification"].mean())
        events = float((g["events_a"] + g["events_b"]).mean())
        up = lhr >= 0
        mde = mde_hazard_ratio(events, alpha, target, 1 if up else -1)
        return {
            "baseline_value": float(g["events_a"].sum() / (n * len(g))),
            "candidate_value": float(g["events_b"].sum() / (n * len(g))),
            "n_baseline": float(g["events_a"].mean()),
            "n_candidate": float(g["events_b"].mean()),
            "effect": float(np.exp(lhr)),
            "effect_scale": "hazard_ratio",
            "mde": mde,
            "mde_direction": "increase" if up else "decrease",
            "mde_note": "" if np.isfinite(mde) else "no qualification events in the replicates",
        }
    num, den = _PROPORTIONS[m]
    den_a = float(g[f"{den}_a"].sum()) if den else float(n * len(g))
    den_b = float(g[f"{den}_b"].sum()) if den else float(n * len(g))
    pa = float(g[f"{num}_a"].sum()) / den_a if den_a else float("nan")
    pb = float(g[f"{num}_b"].sum()) / den_b if den_b else float("nan")
    effect = pb - pa
    up = not effect < 0
    mde, note = float("nan"), f"no {den or 'lead'}s in the baseline arm"
    if np.isfinite(pa):
        n1, n2 = den_a / len(g), den_b / len(g)
        mde = abs(mde_two_proportions(pa, n1, n2, alpha, target, 1 if up else -1))
        note = "" if np.isfinite(mde) else _undetectable(m, pa, up, n1, n2, target)
    return {
        "baseline_value": pa,
        "candidate_value": pb,
        "n_baseline": den_a / len(g),
        "n_candidate": den_b / len(g),
        "effect": effect,
        "effect_scale": "difference",
        "mde": mde,
        "mde_direction": "increase" if up else "decrease",
        "mde_note": note,
    }


def _undetectable(m: str, pa: float, up: bool, n1: float, n2: float, target: float) -> str:
    """Why a difference MDE is blank: even the largest change would be missed."""
    bound = "1" if up else "0"
    return (
        f"not detectable at this size: even {m} moving from {pa:.3g} to {bound} has under "
        f"{target:.0%} power with {n1:,.0f} vs {n2:,.0f} per arm; simulate more leads"
    )


#: Largest number of replicates per Dask task chosen by :func:`auto_chunk_size`.
MAX_CHUNK_SIZE = 10
#: Tasks per worker that :func:`auto_chunk_size` aims for (load balance at the end).
TASKS_PER_WORKER = 4


def auto_chunk_size(n_items: int, n_workers: int) -> int:
    """Replicates per Dask task: enough tasks to balance, few enough to amortise scheduling.

    ``ceil(n_items / (TASKS_PER_WORKER · n_workers))`` capped to ``[1, MAX_CHUNK_SIZE]``:
    a replicate of 5,000 leads per arm takes ~0.1 s, so a chunk of 10 is ~1 s of work
    against a few ms of scheduling, and the last task leaves a worker idle for ≤ ~1 s.
    """
    per = -(-int(n_items) // (TASKS_PER_WORKER * max(int(n_workers), 1)))
    return max(1, min(MAX_CHUNK_SIZE, per))


class _DisplayLine:
    """File-like target for tqdm in Jupyter: one output updated in place.

    Each bar refresh replaces the text of a single display output (``display_id``), so an
    executed notebook keeps one line, the final state, instead of every refresh.
    """

    def __init__(self) -> None:
        from IPython.display import display

        self._handle = display({"text/plain": ""}, raw=True, display_id=True)

    def write(self, text: str) -> None:
        line = text.replace("\r", "").strip()
        if line and self._handle is not None:
            self._handle.update({"text/plain": line}, raw=True)

    def flush(self) -> None:
        """Nothing to flush (each write is sent)."""


def progress_bar(total: int, enabled: bool):
    """Return a tqdm bar: terminal (stderr), or in Jupyter one updated line.

    Not tqdm's notebook widget: an executed notebook (papermill) would keep the widget's
    first state as text, and a static HTML export would show a bar stuck at 0%.
    """
    import sys

    from tqdm import tqdm

    in_kernel = "ipykernel" in sys.modules and type(sys.stdout).__name__ == "OutStream"
    if enabled and in_kernel:
        return tqdm(total=total, desc="power", file=_DisplayLine(), mininterval=0.5, ascii=True)
    return tqdm(total=total, desc="power", disable=not enabled)


def _run(
    shared: _Shared, blocks: list, client: Any, progress: bool, chunk_size: int | None
) -> list[pd.DataFrame]:
    """Run the blocks in-process or as Dask tasks of whole blocks; one frame per task."""
    with progress_bar(sum(blk[-1] for blk in blocks), progress) as bar:
        if client is None:
            parts = []
            for block in blocks:
                parts.append(run_block(shared, block))
                bar.update(block[-1])
            return parts
        from distributed import as_completed

        workers = len(client.scheduler_info().get("workers", {})) or 1
        per = max(blk[-1] for blk in blocks)  # replicates of the largest block
        size = -(-int(chunk_size) // per) if chunk_size else auto_chunk_size(len(blocks), workers)
        # largest samples first: the long tasks start early, the short ones fill the tail
        ordered = sorted(blocks, key=lambda blk: -blk[0] * blk[-1])
        chunks = [ordered[i : i + size] for i in range(0, len(ordered), size)]
        shared_f = client.scatter(shared, broadcast=True, hash=False)
        futures = [client.submit(power_chunk, shared_f, c, pure=False) for c in chunks]
        parts = []
        for fut in as_completed(futures):
            part = fut.result()
            parts.append(part)
            bar.update(len(part))
        return parts


#: Dask settings applied while :func:`local_cluster` starts its workers: the worker's
#: statistical profiler (a stack sample every 10 ms) and its 20 ms / 100 ms / 500 ms
#: monitors cost ~3% of a core when idle and more while busy; Dask's default
#: ``MALLOC_TRIM_THRESHOLD_=65536`` makes glibc hand freed memory back at once, which
#: quadruples the page faults of a replicate (its arrays are allocated and freed again
#: and again). Measured in docs/scaling.md; replicates need none of them.
LOCAL_CLUSTER_CONFIG: dict[str, Any] = {
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "1s",
    "distributed.admin.system-monitor.interval": "5s",
    "distributed.worker.memory.monitor-interval": "1s",
    "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
}


def local_cluster(n_workers: int):
    """Return a client owning a new ``LocalCluster`` sized for replicate sweeps.

    Process workers with one thread each (a replicate holds the GIL most of the time),
    no dashboard (the scheduler's HTTP server on a free local port, not Dask's 8787), and
    :data:`LOCAL_CLUSTER_CONFIG`. ``client.close()`` also stops the
    cluster.

    Parameters
    ----------
    n_workers : int
        Worker processes (≥ 1).

    Returns
    -------
    distributed.Client
    """
    import dask
    from distributed import Client

    if int(n_workers) < 1:
        raise ConfigError(f"--dask: local:{n_workers} needs a worker count ≥ 1, e.g. local:2")
    with dask.config.set(LOCAL_CLUSTER_CONFIG):
        return Client(
            n_workers=int(n_workers),
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            # the scheduler's HTTP server (health routes) on a free local port, so that a
            # second cluster on this machine starts without "Port 8787 is already in use"
            scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
        )


def max_local_workers() -> int:
    """Most workers of a ``local:N`` cluster: four per CPU of this machine."""
    return 4 * (os.cpu_count() or 1)


def local_workers(spec: str) -> int:
    """Worker count of a ``local:N`` address: a whole number from 1 to :func:`max_local_workers`."""
    try:
        n = int(spec.split(":", 1)[1])
    except ValueError:
        n = 0
    if not 1 <= n <= max_local_workers():
        raise ConfigError(
            f"--dask: '{spec}' needs a worker count from 1 to {max_local_workers()} (four per "
            f"CPU of this machine), e.g. local:2; for more, start a scheduler and use tcp://"
        )
    return n


def check_address(spec: str) -> None:
    """Refuse a ``tcp://host:port`` address without a host or with a port outside 1–65535.

    A host alone (``tcp://host``, ``tcp://[::1]``) is left to Dask's default port.
    """
    rest = spec[len("tcp://") :]
    host, sep, port = rest.rpartition(":")
    if rest and (not sep or rest.endswith("]")):
        return
    if not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ConfigError(
            f"--dask: '{spec}' is not tcp://host:port with a port from 1 to 65535, "
            f"e.g. tcp://127.0.0.1:8786"
        )


def _remote_client(spec: str, timeout: float):
    """Connect to a scheduler within ``timeout`` seconds, whatever answers at the address.

    The handshake runs in a daemon thread that is abandoned after ``timeout`` seconds: a port
    that accepts and never answers (or an HTTP server) cannot hold the command, and
    whatever a non-scheduler sends back (even a length prefix of exabytes) becomes one line.
    """
    import gc

    from distributed import Client

    result: dict[str, Any] = {}

    def attempt() -> None:
        try:
            result["client"] = Client(spec, timeout=timeout)
        except BaseException as exc:  # noqa: BLE001 - every failure becomes one line
            result["error"] = type(exc).__name__  # not the exception: it holds the Client
        if "client" not in result:
            # The half-built Client is cyclic garbage. Collected here, its __del__ stops its
            # event loop now; collected later, in whatever thread is starting a Dask loop,
            # it would wait for distributed's loop lock that thread holds (a deadlock).
            gc.collect()

    thread = threading.Thread(target=attempt, name="qualmodel-dask-connect", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive() or "client" not in result:
        why = "no answer" if thread.is_alive() else result["error"]
        raise ConfigError(
            f"--dask: no Dask scheduler answered at {spec} within {timeout:g} s ({why}); "
            f"check the address and that a scheduler runs there, or use local:N"
        )
    return result["client"]


def connect(spec: str, timeout: float = 5.0):
    """Return a Dask client for ``local:N`` (new LocalCluster) or ``tcp://host:port``.

    Parameters
    ----------
    spec : str
        ``local:N`` starts :func:`local_cluster` with ``N`` workers; ``tcp://host:port``
        connects to a running scheduler.
    timeout : float, default 5.0
        Seconds to wait for a remote scheduler; an address where no scheduler answers in
        time (closed port, a different server, a server that never answers) is one line
        within ``timeout`` seconds.

    Returns
    -------
    distributed.Client
    """
    if spec.startswith("local:"):
        return local_cluster(local_workers(spec))
    if spec.startswith("tcp://"):
        check_address(spec)
        return _remote_client(spec, timeout)
    raise ConfigError(f"--dask: expected local:N or tcp://host:port, got '{spec}'")
