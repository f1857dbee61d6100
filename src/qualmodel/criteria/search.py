"""Search a declared space of SQO definitions under a sales-capacity constraint.

:func:`search_criteria` answers "which definition should we adopt, given that sales can
work at most K SQOs a week?":

1. **Population** — leads with ``sal_at`` (the population of
   :func:`~qualmodel.compare_criteria`) followed for at least ``mature_days`` (default
   ``horizon_days``) by ``observed_until``: younger SALs have mostly unobserved outcomes.
2. **Time-based split** (knob ``holdout_share``, default 0.3) — leads are ordered by
   ``sal_at``; the latest ``holdout_share`` of them (every lead with ``sal_at`` at or
   after the split instant ``split_at``) are held out. Candidates are scored and the
   winner is chosen on the earlier cohorts only; the held-out cohorts report the winner's
   numbers, so they are not optimistic.
3. **Candidates** — every combination of the space (:mod:`qualmodel.criteria.space`),
   evaluated vectorised (:class:`~qualmodel.criteria.space.CandidateGrid`).
4. **Metrics per candidate** (same definitions as :func:`~qualmodel.compare_criteria`):
   ``precision`` (won among qualified), ``recall`` (qualified among won), ``f1`` (their
   harmonic mean), ``per_week`` — the workload, SQOs per week at the data's SAL inflow:
   ``qualified_rate × n_SAL / (sal_at span in weeks)`` (all SAL leads, so fit and
   held-out workloads are on the same scale), and ``lead_time_days`` (median of
   ``qualified_at − true_ready_at``; simulations only, computed for frontier points).
5. **Pareto frontier** on the fit cohorts — candidates with at least ``min_qualified``
   qualified leads that no other candidate beats on precision, recall *and* workload
   (≥, ≥, ≤ with one strict; of candidates with identical metrics the first in grid
   order — the simplest — is kept).
6. **Winner rule** — among frontier points with ``per_week ≤ capacity_per_week`` (all
   when no capacity is given), the highest ``objective`` (``"f1"``, ``"recall"`` or
   ``"precision"`` on the fit cohorts); ties go to the lower workload, then to grid order.
   The best built-in criterion is chosen from the scenario's criteria file by the same
   rule (within capacity when any built-in is).
7. **Held-out evaluation** — :func:`~qualmodel.compare_criteria` on the held-out leads
   for the winner, the seed (current) definition and the built-ins, with bootstrap CIs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
import yaml

from qualmodel.core.checks import MAX_BOOT, check_count, check_number, check_seed
from qualmodel.core.errors import ConfigError, preview
from qualmodel.criteria.compare import compare_criteria, qualification_table
from qualmodel.criteria.engine import Criterion, scenario_criteria
from qualmodel.criteria.space import INF, CandidateGrid, SearchSpace, load_search_space
from qualmodel.journeys.contract import Journeys

__all__ = ["SearchResult", "criteria_yaml", "frontier_mask", "search_criteria"]

Objective = Literal["f1", "recall", "precision"]
_OBJECTIVES = ("f1", "recall", "precision")
_DAY_NS = 86_400 * 10**9
_NAT = np.iinfo(np.int64).min
_CHUNK = 256  # candidates evaluated together


@dataclass(frozen=True)
class SearchResult:
    """Outcome of :func:`search_criteria`.

    Attributes
    ----------
    candidates : pandas.DataFrame
        Every candidate: ``name, threshold, half_life_days, bant, events, n_parts``, fit
        metrics ``n_qualified, precision, recall, f1, per_week, lead_time_days`` (frontier
        points only; NaN elsewhere), the same
        on held-out leads with suffix ``_test``, and flags ``on_frontier``,
        ``within_capacity``, ``winner``.
    frontier : pandas.DataFrame
        The frontier rows of ``candidates``, by increasing workload.
    criteria : dict of str to Criterion
        Every frontier point as a regular criterion (YAML: :func:`criteria_yaml`).
    winner : Criterion
    holdout : pandas.DataFrame
        :func:`~qualmodel.compare_criteria` on the held-out leads: the winner, the seed
        definition and the built-ins, with 95% bootstrap intervals.
    builtins : pandas.DataFrame
        Fit metrics of the built-in criteria (empty when the space names no scenario).
    seed_name, best_builtin : str or None
        The current definition and the best built-in by the winner rule.
    split_at : pandas.Timestamp
        Held-out leads have ``sal_at ≥ split_at``.
    settings : dict
        ``objective, capacity_per_week, holdout_share, mature_days, min_qualified, horizon_days,
        n_boot, seed, n_fit, n_holdout, sal_per_week, n_candidates``.
    """

    candidates: pd.DataFrame
    frontier: pd.DataFrame
    criteria: dict[str, Criterion]
    winner: Criterion
    holdout: pd.DataFrame
    builtins: pd.DataFrame
    seed_name: str | None
    best_builtin: str | None
    split_at: pd.Timestamp
    settings: dict[str, Any] = field(default_factory=dict)

    def holdout_row(self, name: str) -> pd.Series:
        """Held-out metrics (with ``_lo`` / ``_hi`` limits) of one compared criterion."""
        rows = self.holdout[self.holdout["criterion"] == name]
        if rows.empty:
            raise ConfigError(
                f"holdout_row: '{name}' was not evaluated (have: "
                f"{preview(self.holdout['criterion'].tolist())})"
            )
        return rows.iloc[0]


def criteria_yaml(criteria: Sequence[Criterion], description: str = "") -> str:
    """Serialise criteria into the YAML form read by :func:`qualmodel.load_criteria`.

    Parameters
    ----------
    criteria : sequence of Criterion
    description : str, optional
        Top-level ``description`` of the file.

    Returns
    -------
    str
    """
    items = [
        c.model_dump(by_alias=True, exclude_none=True, exclude_defaults=True) for c in criteria
    ]
    for item, crit in zip(items, criteria, strict=True):
        item["name"] = crit.name
    doc = {"description": description, "criteria": items} if description else {"criteria": items}
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=90)


# ---------------------------------------------------------------------------- metrics
def _set_metrics(
    times: np.ndarray, won: np.ndarray, ready: np.ndarray | None, sal_per_week: float
) -> dict[str, np.ndarray]:
    """Point metrics of each row of ``times`` (k × n int64 ns, ``INF`` = never)."""
    qual = times != INF
    nq = qual.sum(axis=1)
    nqw = (qual & won).sum(axis=1)
    nw = max(int(won.sum()), 0)
    n = times.shape[1]
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(nq > 0, nqw / nq, np.nan)
        recall = nqw / nw if nw else np.full(len(nq), np.nan)
        f1 = 2 * precision * recall / (precision + recall)
    out = {
        "n_qualified": nq,
        "precision": precision,
        "recall": recall,
        "f1": np.where(np.isfinite(f1), f1, 0.0),
        "per_week": nq / max(n, 1) * sal_per_week,
        "lead_time_days": np.full(len(nq), np.nan),
    }
    if ready is not None:
        out["lead_time_days"] = _lead_time(times, ready)
    return out


def _lead_time(times: np.ndarray, ready: np.ndarray) -> np.ndarray:
    """Median days from ``true_ready_at`` to qualification per row (NaN when none)."""
    ok = (times != INF) & (ready != _NAT)
    out = np.full(times.shape[0], np.nan)
    has = ok.any(axis=1)
    if has.any():
        lt = np.where(ok, (times - ready) / _DAY_NS, np.nan)
        out[has] = np.nanmedian(lt[has], axis=1)
    return out


def _evaluate(
    grid: CandidateGrid,
    masks: dict[str, np.ndarray],
    won: np.ndarray,
    ready: np.ndarray | None,
    sal_per_week: float,
) -> dict[str, pd.DataFrame]:
    """Metrics of every candidate on each lead set of ``masks`` (chunked over candidates)."""
    parts: dict[str, list[dict[str, np.ndarray]]] = {k: [] for k in masks}
    k = len(grid.table)
    for lo in range(0, k, _CHUNK):
        t = grid.times(np.arange(lo, min(lo + _CHUNK, k)))
        for key, m in masks.items():
            r = ready[m] if ready is not None else None
            parts[key].append(_set_metrics(t[:, m], won[m], r, sal_per_week))
    return {
        key: pd.DataFrame({c: np.concatenate([p[c] for p in lst]) for c in lst[0]})
        for key, lst in parts.items()
    }


def frontier_mask(precision: np.ndarray, recall: np.ndarray, workload: np.ndarray) -> np.ndarray:
    """Pareto-optimal points: maximise precision and recall, minimise workload.

    A point is dropped when another has precision ≥, recall ≥ and workload ≤ with at least
    one strict, or has identical values and comes earlier. NaN points are never optimal.

    Parameters
    ----------
    precision, recall, workload : ndarray, shape (k,)

    Returns
    -------
    ndarray of bool, shape (k,)
    """
    p, r, w = (np.asarray(a, dtype=np.float64) for a in (precision, recall, workload))
    ok = np.isfinite(p) & np.isfinite(r) & np.isfinite(w)
    idx = np.flatnonzero(ok)
    out = np.zeros(len(p), dtype=bool)
    pp, rr, ww = p[idx], r[idx], w[idx]
    order = np.arange(len(idx))
    for lo in range(0, len(idx), _CHUNK):
        sl = slice(lo, lo + _CHUNK)
        ge = (pp[None, :] >= pp[sl, None]) & (rr[None, :] >= rr[sl, None])
        ge &= ww[None, :] <= ww[sl, None]
        strict = (pp[None, :] > pp[sl, None]) | (rr[None, :] > rr[sl, None])
        strict |= ww[None, :] < ww[sl, None]
        earlier_tie = ge & ~strict & (order[None, :] < order[sl, None])
        out[idx[sl]] = ~((ge & strict) | earlier_tie).any(axis=1)
    return out


def _pick(table: pd.DataFrame, objective: str, capacity: float | None) -> int | None:
    """Row position chosen by the winner rule (``None`` when nothing is eligible)."""
    ok = np.ones(len(table), dtype=bool)
    if capacity is not None:
        ok &= table["per_week"].to_numpy() <= capacity
    if not ok.any():
        return None
    sub = table[ok].assign(_pos=np.flatnonzero(ok))
    best = sub.sort_values(
        [objective, "per_week", "_pos"], ascending=[False, True, True], kind="mergesort"
    )
    return int(best["_pos"].iloc[0])


# ---------------------------------------------------------------------------- search
def _population(
    journeys: Journeys, holdout_share: float, mature_days: float
) -> tuple[Journeys, np.ndarray, Any]:
    leads = journeys.leads
    if "sal_at" not in leads.columns or leads["sal_at"].isna().all():
        raise ConfigError("search_criteria: no lead has 'sal_at' set; the search needs SALs")
    follow = (leads["observed_until"] - leads["sal_at"]).dt.total_seconds() / 86_400
    keep = leads["sal_at"].notna() & (follow >= mature_days)
    if keep.sum() < 2:
        raise ConfigError(
            f"search_criteria: fewer than 2 SALs were followed for ≥ {mature_days:g} days; "
            f"lower mature_days"
        )
    pop = journeys.subset(leads.loc[keep, "lead_id"])
    sal = pop.leads["sal_at"].to_numpy().view(np.int64)
    split = np.sort(sal)[int(np.floor((1 - holdout_share) * len(sal)))]
    held = sal >= split
    if held.all() or not held.any():
        raise ConfigError(
            "search_criteria: the time split leaves no fit or no held-out leads (too few "
            "distinct sal_at); add leads or change holdout_share"
        )
    return pop, held, pd.Timestamp(split)


def _builtin_list(space: SearchSpace, builtins: Sequence[Criterion] | None) -> list[Criterion]:
    if builtins is not None:
        return list(builtins)
    return scenario_criteria(space.scenario) if space.scenario else []


def _check_search_args(objective: str, capacity_per_week: float | None, **numbers: Any) -> None:
    """Raise a one-line ConfigError for an unknown objective or a number out of range."""
    if objective not in _OBJECTIVES:
        raise ConfigError(
            f"search_criteria: objective '{objective}' unknown; use {', '.join(_OBJECTIVES)}"
        )
    if capacity_per_week is not None:
        check_number("search_criteria: capacity_per_week", capacity_per_week, low=0, low_open=True)
    check_number("search_criteria: horizon_days", numbers["horizon_days"], low=0, low_open=True)
    check_seed("search_criteria: seed", numbers["seed"])
    check_number(
        "search_criteria: holdout_share", numbers["holdout_share"], low=0, high=1,
        low_open=True, high_open=True,
    )  # fmt: skip
    if numbers["mature_days"] is not None:
        check_number("search_criteria: mature_days", numbers["mature_days"], low=0)
    check_count("search_criteria: min_qualified", numbers["min_qualified"], low=0)
    check_count("search_criteria: n_boot", numbers["n_boot"], low=0, high=MAX_BOOT)


def _sal_outcomes(leads: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Return SAL stamps (int64 ns), won-by-``observed_until`` flags and readiness stamps.

    Readiness (``true_ready_at``) is ``None`` when the data carry no simulation truth.
    """
    sal = leads["sal_at"].to_numpy().view(np.int64)
    until = leads["observed_until"].to_numpy().view(np.int64)
    won_at = leads["won_at"].to_numpy().view(np.int64) if "won_at" in leads else None
    won = (won_at != _NAT) & (won_at <= until) if won_at is not None else np.zeros(len(sal), bool)
    ready = None
    if "true_ready_at" in leads.columns:
        ready = leads["true_ready_at"].to_numpy().astype("datetime64[ns]").view(np.int64)
    return sal, won, ready


def _candidate_table(
    grid: CandidateGrid,
    masks: dict[str, np.ndarray],
    won: np.ndarray,
    sal_per_week: float,
    min_qualified: int,
    capacity_per_week: float | None,
) -> tuple[pd.DataFrame, np.ndarray]:
    """Fit and test metrics of every candidate, with frontier and capacity flags."""
    res = _evaluate(grid, masks, won, None, sal_per_week)  # lead times: frontier only
    table = grid.table.drop(columns=["i_score", "i_bant", "i_events"])
    table = pd.concat([table, res["fit"], res["test"].add_suffix("_test")], axis=1)
    eligible = table["n_qualified"].to_numpy() >= min_qualified
    front = np.zeros(len(table), dtype=bool)
    front[eligible] = frontier_mask(
        *(table.loc[eligible, c].to_numpy() for c in ("precision", "recall", "per_week"))
    )
    table["on_frontier"] = front
    table["within_capacity"] = (
        True if capacity_per_week is None else table["per_week"] <= capacity_per_week
    )
    return table, front


def _pick_within(
    table: pd.DataFrame,
    front: np.ndarray,
    objective: str,
    capacity_per_week: float | None,
    min_qualified: int,
) -> int:
    """Position (among the frontier rows) of the winner; raise if none fits the capacity."""
    pos = _pick(table[front], objective, capacity_per_week)
    if pos is None:
        low = table.loc[front, "per_week"].min()
        raise ConfigError(
            f"search_criteria: no frontier definition fits {capacity_per_week:g} SQOs/week "
            f"(lowest workload found: {low:.1f}/week, with ≥ {min_qualified} qualified fit "
            f"leads); raise the capacity or add higher thresholds / stricter parts"
        )
    return pos


def _add_lead_times(
    table: pd.DataFrame,
    grid: CandidateGrid,
    front_idx: np.ndarray,
    masks: dict[str, np.ndarray],
    ready: np.ndarray,
) -> None:
    """Fill ``lead_time_days`` (fit) and ``lead_time_days_test`` for the frontier rows."""
    t = grid.times(front_idx)
    for key, m in masks.items():
        col = "lead_time_days" + ("_test" if key == "test" else "")
        table.loc[front_idx, col] = _lead_time(t[:, m], ready[m])


def search_criteria(
    journeys: Journeys,
    space: SearchSpace | dict | str,
    objective: Objective = "f1",
    capacity_per_week: float | None = None,
    horizon_days: float = 90,
    seed: int = 0,
    *,
    holdout_share: float = 0.3,
    mature_days: float | None = None,
    min_qualified: int = 20,
    n_boot: int = 1000,
    builtins: Sequence[Criterion] | None = None,
) -> SearchResult:
    """Search a declared space for SQO definitions; frontier, winner and held-out numbers.

    Parameters
    ----------
    journeys : Journeys
    space : SearchSpace, dict or str
        See :func:`~qualmodel.criteria.space.load_search_space` (path, built-in name, YAML).
    objective : {"f1", "recall", "precision"}, default "f1"
        What the winner maximises on the fit cohorts (within capacity).
    capacity_per_week : float, optional
        Most SQOs per week sales can work; candidates above it cannot win.
    horizon_days : float, default 90
        Passed to :func:`~qualmodel.compare_criteria` (``share_by_horizon``).
    seed : int, default 0
        Seed of the bootstrap resamples of the held-out comparison.
    holdout_share : float, default 0.3
        Share of SAL leads, latest ``sal_at`` first, held out for evaluation.
    mature_days : float, optional
        SALs followed for fewer days (``observed_until − sal_at``) are left out of the
        search and the evaluation: most of their outcomes are not observed yet. Default
        ``horizon_days``; 0 keeps every SAL.
    min_qualified : int, default 20
        Fewest qualified fit leads for a candidate to be on the frontier.
    n_boot : int, default 1000
        Bootstrap resamples of the held-out comparison.
    builtins : sequence of Criterion, optional
        Alternatives to compare with (default: the criteria file of ``space.scenario``;
        the seed definition is ``space.seed`` or the first of them).

    Returns
    -------
    SearchResult
    """
    _check_search_args(
        objective, capacity_per_week, horizon_days=horizon_days, seed=seed,
        holdout_share=holdout_share, mature_days=mature_days, min_qualified=min_qualified,
        n_boot=n_boot,
    )  # fmt: skip
    space = load_search_space(space)
    mature = horizon_days if mature_days is None else mature_days
    pop, held, split_at = _population(journeys, holdout_share, mature)
    leads = pop.leads
    sal, won, ready = _sal_outcomes(leads)
    span_weeks = max((sal.max() - sal.min()) / (7 * _DAY_NS), 1.0)
    sal_per_week = len(sal) / span_weeks
    grid = CandidateGrid(pop, space)
    masks = {"fit": ~held, "test": held}
    table, front = _candidate_table(
        grid, masks, won, sal_per_week, min_qualified, capacity_per_week
    )
    if not front.any():
        raise ConfigError(
            f"search_criteria: no candidate qualifies ≥ {min_qualified} fit leads "
            f"({int((~held).sum())} fit SALs); lower min_qualified or use more leads"
        )
    pos = _pick_within(table, front, objective, capacity_per_week, min_qualified)
    front_idx = np.flatnonzero(front)
    if ready is not None:
        _add_lead_times(table, grid, front_idx, masks, ready)
    win_idx = int(front_idx[pos])
    table["winner"] = np.arange(len(table)) == win_idx
    crits = {str(table.at[i, "name"]): grid.criterion(i) for i in front_idx}
    winner = crits[str(table.at[win_idx, "name"])]
    frontier = table.iloc[front_idx].sort_values("per_week", kind="mergesort")
    built = _builtin_list(space, builtins)
    bt, seed_name, best = _builtins_fit(
        pop, built, space, masks, won, ready, sal_per_week, objective, capacity_per_week
    )
    holdout_j = pop.subset(leads.loc[held, "lead_id"])
    holdout = compare_criteria(
        holdout_j, [winner, *built], horizon_days=horizon_days, n_boot=n_boot, seed=seed
    )
    settings = {
        "objective": objective,
        "capacity_per_week": capacity_per_week,
        "holdout_share": holdout_share,
        "mature_days": mature,
        "min_qualified": min_qualified,
        "horizon_days": horizon_days,
        "n_boot": n_boot,
        "seed": seed,
        "n_fit": int((~held).sum()),
        "n_holdout": int(held.sum()),
        "sal_per_week": float(sal_per_week),
        "n_candidates": len(table),
    }
    return SearchResult(
        candidates=table,
        frontier=frontier.reset_index(drop=True),
        criteria=crits,
        winner=winner,
        holdout=holdout,
        builtins=bt,
        seed_name=seed_name,
        best_builtin=best,
        split_at=split_at,
        settings=settings,
    )


def _builtins_fit(
    pop: Journeys,
    built: list[Criterion],
    space: SearchSpace,
    masks: dict[str, np.ndarray],
    won: np.ndarray,
    ready: np.ndarray | None,
    sal_per_week: float,
    objective: str,
    capacity: float | None,
) -> tuple[pd.DataFrame, str | None, str | None]:
    """Fit metrics of the built-ins, the seed's name and the best built-in's name."""
    if not built:
        return pd.DataFrame(), None, None
    names = [c.name for c in built]
    if space.seed is not None and space.seed not in names:
        raise ConfigError(
            f"search space: seed '{space.seed}' is not a built-in criterion (have: "
            f"{preview(names)}); fix the name"
        )
    tab = qualification_table(pop, built)
    t = tab.to_numpy().T.astype("datetime64[ns]").view(np.int64).copy()
    t[t == _NAT] = INF
    m = masks["fit"]
    r = ready[m] if ready is not None else None
    bt = pd.DataFrame(_set_metrics(t[:, m], won[m], r, sal_per_week))
    bt.insert(0, "criterion", names)
    pos = _pick(bt, objective, capacity)
    if pos is None:
        pos = _pick(bt, objective, None)
    return bt, space.seed or names[0], names[int(pos)]
