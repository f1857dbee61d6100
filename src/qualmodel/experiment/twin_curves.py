"""Cumulative incidence of one stage transition and the (share, delay) fit of each outcome.

For the leads that reached a stage ``P``, the competing outcomes ``C_1 … C_m`` reached from
it are timed from ``P`` and censored at each lead's ``observed_until``. The Aalen–Johansen
estimator (:func:`qualmodel.survival.estimators.cumulative_incidence`, checked against R) gives
each outcome's cumulative incidence ``F_k(t)`` with its pointwise 95% band. The twin
represents outcome ``k`` as ``share_k × G_k(t)``, ``G_k`` a delay distribution, so that the
twin's cumulative incidence *is* ``share_k G_k``: the fit matches the censoring-corrected
curve, never naive delays among the closed leads.

Families (:mod:`qualmodel.simulation.delays`): ``weibull`` and ``lognormal`` are fitted by
bounded least squares on the daily grid (``scipy.optimize.least_squares``, trust-region
reflective); ``empirical`` takes ``share = F_k(T)`` at the last day ``T`` with an outcome
and ``G_k = F_k / share`` at knots (every day up to 400 days, else 400 quantile days).
A parametric family is kept only when it stays inside the observed band on at least
:data:`PARAMETRIC_COVERAGE` of the grid days and within :data:`PARAMETRIC_SUP` of the
curve; otherwise the empirical family is used.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from qualmodel.simulation.delays import EmpiricalDelay, LognormalDelay, PointDelay, WeibullDelay

__all__ = ["FAMILIES", "Curves", "aj_curves", "fit_outcome", "fit_transitions", "stage_days"]

#: Delay families ``fit_scenario(families=...)`` may try, in order of preference.
FAMILIES: tuple[str, ...] = ("weibull", "lognormal", "empirical")
#: A parametric family must lie inside the observed 95% band on this share of grid days...
PARAMETRIC_COVERAGE = 0.99
#: ... and within this distance (sup over grid days) of the observed curve.
PARAMETRIC_SUP = 0.01
#: Most knots of an empirical delay distribution.
MAX_KNOTS = 400
_DAY_NS = 86_400 * 1_000_000_000


@dataclass(frozen=True)
class Curves:
    """Aalen–Johansen curves of one transition on the daily grid ``0 … days[-1]``."""

    days: np.ndarray
    cif: np.ndarray  # (m outcomes, len(days))
    lower: np.ndarray
    upper: np.ndarray
    last_event: np.ndarray  # per outcome: last day with an event (0 when none)
    n_events: np.ndarray  # per outcome
    n: int
    zero_delay: np.ndarray  # per outcome: every event at duration 0


def transition_table(
    parent: np.ndarray, kids: list[np.ndarray], end: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Durations from ``parent`` to the first outcome (code 1..m) or to ``end`` (code 0).

    Parameters
    ----------
    parent : numpy.ndarray
        Days of the parent stage per lead (NaN when not reached).
    kids : list of numpy.ndarray
        Days of each competing outcome (NaN when not reached).
    end : numpy.ndarray
        Days of ``observed_until``.

    Returns
    -------
    duration, event : numpy.ndarray
        For the leads that reached the parent.
    """
    ok = ~np.isnan(parent)
    stack = np.vstack([np.where(np.isnan(k), np.inf, k) for k in kids])[:, ok]
    first = stack.min(axis=0)
    code = np.where(np.isfinite(first), stack.argmin(axis=0) + 1, 0)
    stop = np.where(np.isfinite(first), first, end[ok])
    return np.maximum(stop - parent[ok], 0.0), code.astype(np.int64)


def aj_curves(duration: np.ndarray, event: np.ndarray, m: int, horizon: float) -> Curves:
    """Aalen–Johansen curves of ``m`` competing outcomes on days ``0 … ceil(horizon)``.

    The band is the pointwise 95% interval on the log scale (as ``cumulative_incidence``
    with its default ``conf_type="log"``).
    """
    import pandas as pd

    from qualmodel.survival.estimators import cumulative_incidence

    codes = list(range(1, m + 1))
    days = np.arange(0.0, float(np.ceil(max(horizon, 1.0))) + 1.0)
    table = pd.DataFrame({"duration": duration.astype(np.float64), "event": event})
    aj = cumulative_incidence(table, events=codes)
    cif = np.zeros((m, days.size))
    lower, upper = np.zeros_like(cif), np.zeros_like(cif)
    for i, k in enumerate(codes):
        g = aj[aj["event"] == k]
        idx = np.searchsorted(g["time"].to_numpy(), days, side="right") - 1
        for out, col, fill in ((cif, "cif", 0.0), (lower, "lower", 0.0), (upper, "upper", 1.0)):
            vals = np.nan_to_num(g[col].to_numpy(np.float64), nan=fill)
            out[i] = np.where(idx >= 0, vals[np.maximum(idx, 0)], 0.0)
    last = np.array([duration[event == k].max() if (event == k).any() else 0.0 for k in codes])
    zero = np.array([(event == k).any() and not duration[event == k].any() for k in codes])
    n_ev = np.array([int((event == k).sum()) for k in codes])
    return Curves(days, cif, lower, upper, last, n_ev, int(duration.size), zero)


def _param_delay(family: str, x: np.ndarray) -> WeibullDelay | LognormalDelay:
    scale, spread = float(np.exp(x[1])), float(np.exp(x[2]))
    if family == "weibull":
        return WeibullDelay(family="weibull", shape=spread, scale_days=scale)
    return LognormalDelay(family="lognormal", median_days=scale, sigma=spread)


def _fit_parametric(
    family: str, days: np.ndarray, f: np.ndarray, share0: float, median0: float
) -> tuple[float, WeibullDelay | LognormalDelay]:
    """Least squares of ``share × G(t; θ)`` to the curve ``f`` on ``days``."""

    def resid(x: np.ndarray) -> np.ndarray:
        share = 1.0 / (1.0 + np.exp(-x[0]))
        return share * _param_delay(family, x).cdf(days) - f

    p0 = min(max(share0, 1e-4), 1 - 1e-4)
    x0 = np.array([np.log(p0 / (1 - p0)), np.log(max(median0, 0.5)), 0.0])
    lo = np.array([-12.0, np.log(0.01), np.log(0.05)])
    hi = np.array([12.0, np.log(10_000.0), np.log(19.9)])
    from scipy.optimize import least_squares  # imported by the fit alone (0.2 s)

    res = least_squares(resid, np.clip(x0, lo + 1e-9, hi - 1e-9), bounds=(lo, hi), method="trf")
    return float(1.0 / (1.0 + np.exp(-res.x[0]))), _param_delay(family, res.x)


def _empirical(days: np.ndarray, f: np.ndarray, last: float) -> tuple[float, EmpiricalDelay]:
    """Share and piecewise-linear delay CDF read off the curve up to day ``ceil(last)``."""
    top = int(np.ceil(last))
    share = float(f[min(top, f.size - 1)])
    if top + 1 <= MAX_KNOTS:
        knots = days[: top + 1]
    else:  # quantile days of the curve, always keeping 0 and the last day
        probs = np.linspace(0.0, 1.0, MAX_KNOTS - 2)
        knots = np.unique(np.concatenate(([0.0, float(top)], np.searchsorted(f, probs * share))))
        knots = knots[knots <= top]
    cdf = np.maximum.accumulate(np.clip(f[knots.astype(int)] / share, 0.0, 1.0))
    if knots.size < 2:
        knots, cdf = np.array([0.0, 1.0]), np.array([cdf[0], 1.0])
    cdf[-1] = 1.0
    delay = EmpiricalDelay(
        family="empirical",
        knots_days=[float(k) for k in knots],
        cdf_at_knots=[round(float(c), 8) for c in cdf],
    )
    return share, delay


def fit_outcome(
    curves: Curves, k: int, families: tuple[str, ...]
) -> tuple[float, PointDelay | WeibullDelay | LognormalDelay | EmpiricalDelay, dict]:
    """Fit outcome ``k`` (0-based) of a transition: its share and delay distribution.

    Returns
    -------
    share : float
    delay : Delay
    notes : dict
        ``family``, ``sup_distance`` (sup over grid days of |fitted − observed|),
        ``band_coverage`` (share of grid days inside the observed band) and the
        distances of every family tried.
    """
    f, lo, hi = curves.cif[k], curves.lower[k], curves.upper[k]
    days = curves.days
    if curves.n_events[k] == 0:
        return 0.0, PointDelay(family="point", days=0.0), {"family": "point"}
    if curves.zero_delay[k]:
        return float(f[0]), PointDelay(family="point", days=0.0), {"family": "point"}
    tried: dict[str, dict[str, float]] = {}
    fits = {}
    grid = days <= max(curves.last_event[k], 1.0)
    for fam in families:
        if fam == "empirical":
            share, delay = _empirical(days, f, curves.last_event[k])
        else:
            share0 = float(f[grid][-1])
            median0 = float(days[np.searchsorted(f, share0 / 2)]) if share0 > 0 else 30.0
            share, delay = _fit_parametric(fam, days[grid], f[grid], share0, median0)
        fitted = share * delay.cdf(days)
        inside = (fitted >= lo - 1e-12) & (fitted <= hi + 1e-12)
        tried[fam] = {
            "sup_distance": round(float(np.abs(fitted - f)[grid].max()), 6),
            "band_coverage": round(float(inside[grid].mean()), 6),
        }
        fits[fam] = (share, delay)
    chosen = _choose(tried)
    share, delay = fits[chosen]
    return share, delay, {"family": chosen, **tried[chosen], "tried": tried}


def _choose(tried: dict[str, dict[str, float]]) -> str:
    """Best parametric family when it is good enough, else the empirical one."""
    ok = [
        fam
        for fam, d in tried.items()
        if fam != "empirical"
        and d["band_coverage"] >= PARAMETRIC_COVERAGE
        and d["sup_distance"] <= PARAMETRIC_SUP
    ]
    if ok:
        return min(ok, key=lambda fam: tried[fam]["sup_distance"])
    if "empirical" in tried:
        return "empirical"
    return min(tried, key=lambda fam: tried[fam]["sup_distance"])


def stage_stems(journeys: Any) -> list[str]:
    """Stage stems some lead reached: standard ones in funnel order, then declared extras."""
    from qualmodel.journeys.contract import STAGE_COLUMNS, extra_outcome_columns

    leads = journeys.leads
    cols = [*STAGE_COLUMNS, *extra_outcome_columns(journeys.meta)]
    return [c.removesuffix("_at") for c in cols if c in leads and leads[c].notna().any()]


def stage_days(journeys: Any, start_ns: int) -> dict[str, np.ndarray]:
    """Days since ``start_ns`` of created, every stage reached and observed_until (NaN: NaT)."""
    leads = journeys.leads
    out = {}
    for stem in ["created", *stage_stems(journeys), "observed_until"]:
        col = stem if stem == "observed_until" else f"{stem}_at"
        v = leads[col].to_numpy("datetime64[ns]").view(np.int64)
        nat = v == np.iinfo(np.int64).min
        out[stem] = np.where(nat, np.nan, (v - start_ns) / _DAY_NS)
    return out


def fit_transitions(
    days: dict[str, np.ndarray],
    tree: dict[str, str],
    families: tuple[str, ...],
    fixed: dict[str, str] | None = None,
) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """Fit every stage of the tree; return stage specs and the per-transition curves.

    ``fixed`` maps stages to a family (bootstrap refits keep the family of the full fit).
    """
    stages: dict[str, dict[str, Any]] = {}
    curves: dict[str, Any] = {}
    end = days["observed_until"]
    for parent in dict.fromkeys(tree.values()):
        kids = [s for s in tree if tree[s] == parent]
        dur, ev = transition_table(days[parent], [days[k] for k in kids], end)
        cur = aj_curves(dur, ev, len(kids), float(dur.max()) if dur.size else 1.0)
        curves[parent] = (kids, cur)
        for i, kid in enumerate(kids):
            fams = (fixed[kid],) if fixed and fixed.get(kid) != "point" else families
            share, delay, notes = fit_outcome(cur, i, fams)
            stages[kid] = {
                "after": parent,
                "share": round(min(max(share, 0.0), 1.0), 8),
                "delay": delay.model_dump(mode="json"),
                "notes": notes,
                "n_events": int(cur.n_events[i]),
                "n_at_start": cur.n,
            }
    for parent in dict.fromkeys(tree.values()):  # siblings' rounded shares never exceed 1
        kids = [s for s in tree if tree[s] == parent]
        total = sum(stages[k]["share"] for k in kids)
        if total > 1.0:
            for k in kids:
                stages[k]["share"] = float(np.floor(stages[k]["share"] / total * 1e8) / 1e8)
    return stages, curves
