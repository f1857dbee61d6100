"""Survival estimators on the duration table of :func:`qualmodel.survival.durations.time_to_event`.

Every function takes a DataFrame with a float ``duration`` column and an integer ``event``
column (0 censored, 1 target, 2.. competing), accepts ``by=`` (a column name or a list of
them) for groups, and returns a tidy DataFrame with the group columns first.

All estimators are exact with tied times and vectorized in numpy over the sorted distinct
times (``bincount`` / ``np.unique`` + cumulative sums); none of them uses random numbers.
Conventions follow R's ``survival`` package (version 3.5), against which the test suite
checks them (``tests/reference/``):

* :func:`kaplan_meier` — ``survfit(Surv(time, status == event) ~ by)``: one row per
  distinct time (event or censoring), Greenwood variance, confidence limits as R's
  ``conf.type`` (the default here is ``"log-log"``; R's default is ``"log"``).
* :func:`cumulative_incidence` — Aalen–Johansen, ``survfit(Surv(time, factor(event)) ~
  by)`` multi-state fit with its infinitesimal-jackknife standard error.
* :func:`logrank` — ``survdiff`` (rho = 0).
* :func:`rmst` — restricted mean as in ``print(survfit, rmean = tau)``.
* :func:`median_survival` — the median rule of ``print.survfit``.

Regression models (Cox, Weibull AFT, cure) live in :mod:`qualmodel.survival.models`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from qualmodel.core.distributions import chi2_sf, norm_sf
from qualmodel.core.errors import ConfigError, InputError
from qualmodel.survival.common import (  # noqa: F401  (re-exported names)
    CONF_TYPES,
    By,
    ConfType,
    by_list,
    check_conf_level,
    check_table,
    confidence_limits,
    distinct_times,
    iter_groups,
    km_curve,
    risk_table,
    z_value,
)

__all__ = [
    "cohort_conversion",
    "confidence_limits",
    "cumulative_incidence",
    "kaplan_meier",
    "logrank",
    "median_survival",
    "naive_conversion",
    "rmst",
]


# ------------------------------------------------------------------------ Kaplan–Meier
def kaplan_meier(
    data: pd.DataFrame,
    by: By = None,
    event: int = 1,
    conf_type: ConfType = "log-log",
    conf_level: float = 0.95,
) -> pd.DataFrame:
    """Kaplan–Meier survival (time without ``event``), other codes counted as censored.

    Parameters
    ----------
    data : pandas.DataFrame
        Duration table with ``duration`` and ``event`` (see :func:`time_to_event`).
    by : str or list of str, optional
        Group columns; one curve per group.
    event : int, default 1
        Event code that ends survival; every other code (including competing events) is
        treated as censoring. For competing risks prefer :func:`cumulative_incidence`.
    conf_type : {"log-log", "log", "plain"}, default "log-log"
        Confidence-limit transform, as R's ``conf.type`` (R's own default is ``"log"``).
    conf_level : float, default 0.95
        Two-sided level of the pointwise limits.

    Returns
    -------
    pandas.DataFrame
        ``[by], time, at_risk, n_event, n_censor, survival, se, se_log, lower, upper``;
        one row per distinct time (event or censoring) per group, as R's ``survfit``.
        ``se`` is the Greenwood standard error of S(t) itself, S·sqrt(Σ d/(n(n−d)))
        (R's ``summary(survfit)$std.err``); ``se_log`` is the standard error of log S(t),
        sqrt(Σ d/(n(n−d))) (R's ``survfit$std.err``). When S reaches 0, ``se_log`` is inf
        and ``se``, ``lower``, ``upper`` are NaN (R: Inf, NaN, NA).
    """
    cols = check_table(data, by, "kaplan_meier")
    conf_level = check_conf_level(conf_level, "kaplan_meier")
    frames = []
    for labels, dur, ev in iter_groups(data, cols):
        t, n, d, c, s, v = km_curve(dur, ev, event)
        se_log = np.sqrt(v)
        se_log = np.where(s == 0, np.inf, se_log)
        with np.errstate(invalid="ignore"):
            se = s * se_log
        lower, upper = confidence_limits(s, se_log, conf_type, conf_level, logse=True)
        frame = pd.DataFrame(
            {
                "time": t,
                "at_risk": n.astype(np.int64),
                "n_event": d.astype(np.int64),
                "n_censor": c.astype(np.int64),
                "survival": s,
                "se": se,
                "se_log": se_log,
                "lower": lower,
                "upper": upper,
            }
        )
        for k, val in reversed(list(labels.items())):
            frame.insert(0, k, val)
        frames.append(frame)
    return _concat(frames, cols)


def _concat(frames: list[pd.DataFrame], cols: list[str]) -> pd.DataFrame:
    if not frames:
        raise InputError("survival: the duration table is empty; no lead reached the start")
    return pd.concat(frames, ignore_index=True)


def median_survival(km: pd.DataFrame, by: By = None) -> pd.DataFrame:
    """Median time and its confidence limits from a :func:`kaplan_meier` table.

    Uses R's ``print.survfit`` rule: the first time with S(t) ≤ 0.5; if S equals 0.5
    (within sqrt(machine eps)) on an interval, the midpoint of that interval. The limits
    apply the same rule to the ``lower`` and ``upper`` curves.

    Parameters
    ----------
    km : pandas.DataFrame
        Output of :func:`kaplan_meier`.
    by : str or list of str, optional
        Group columns; default: the columns of ``km`` before ``time``.

    Returns
    -------
    pandas.DataFrame
        ``[by], median, lower, upper`` (NaN when not reached).
    """
    if "time" not in km.columns or "survival" not in km.columns:
        raise ConfigError("median_survival: expects the output of kaplan_meier")
    cols = by_list(by) if by is not None else list(km.columns[: km.columns.get_loc("time")])
    rows = []
    groups = km.groupby(cols, sort=False, observed=True, dropna=False) if cols else [((), km)]
    for key, sub in groups:
        key = key if isinstance(key, tuple) else (key,)
        t = sub["time"].to_numpy()
        row = dict(zip(cols, key, strict=True))
        row["median"] = _minmin(sub["survival"].to_numpy(), t)
        row["lower"] = _minmin(sub["lower"].to_numpy(), t)
        row["upper"] = _minmin(sub["upper"].to_numpy(), t)
        rows.append(row)
    return pd.DataFrame(rows, columns=[*cols, "median", "lower", "upper"])


def _minmin(y: np.ndarray, x: np.ndarray) -> float:
    """R's ``survmean`` median helper: first x where y ≤ 0.5 (midpoint on flat 0.5)."""
    tol = np.finfo(float).eps ** 0.5
    keep = ~np.isnan(y) & (y < 0.5 + tol)
    if not keep.any():
        return float("nan")
    x, y = x[keep], y[keep]
    below = np.flatnonzero(y < y[0])
    if abs(y[0] - 0.5) < tol and below.size:
        return float((x[0] + x[below[0]]) / 2)
    return float(x[0])


# --------------------------------------------------------------------- Aalen–Johansen
def _aalen_johansen(
    duration: np.ndarray, event: np.ndarray, codes: Sequence[int], variance: str = "jackknife"
) -> dict[str, np.ndarray]:
    """Exact Aalen–Johansen CIF for each code with its infinitesimal-jackknife variance.

    With weights w_i and risk sets at the distinct times s, S(t) = Π(1 − d(s)/n(s)) is the
    all-cause Kaplan–Meier and F_k(t) = Σ_{s≤t} S(s−) d_k(s)/n(s). The variance is
    Σ_i U_i(t)², U_i = ∂F_k(t)/∂w_i at w = 1 (R ``survfit`` multi-state, survival ≥ 3).
    For a lead ending at T with code δ:

    * t < T:  U = B_k(t), B_k(t) = Σ_{s≤t} S(s−) h_k(s) (G(s−) − 1/n(s)),
      with h_k = d_k/n and G(u) = Σ_{s≤u} d/(n(n−d)) (the Greenwood sum);
    * t ≥ T:  U = α − c·F_k(t), α = B_k(T) + [δ=k] S(T−)/n(T) + c·F_k(T),
      c = [δ≠0]/(n(T)−d(T)) − G(T) (c = 0 when n(T) = d(T): nobody is left after T).

    So Σ_i U_i² = (#leads with T > t)·B_k(t)² + Σα² − 2F Σαc + F² Σc² with the last three
    sums running over leads with T ≤ t: cumulative sums over the distinct (T, δ) cells.
    """
    max_code = max([int(event.max()) if len(event) else 0, *codes, 1])
    times, n_risk, counts = risk_table(duration, event, max_code + 1)
    d_all = counts[:, 1:].sum(axis=1)
    n_end = counts.sum(axis=1)
    m = len(times)
    with np.errstate(divide="ignore", invalid="ignore"):
        h = d_all / n_risk
        surv = np.cumprod(1.0 - h)
        surv_prev = np.concatenate(([1.0], surv[:-1]))
        left = n_risk - d_all
        g_inc = np.where(d_all == 0, 0.0, d_all / (n_risk * left))
        g_inc = np.where(left == 0, 0.0, g_inc)
    g = np.cumsum(g_inc)
    g_prev = np.concatenate(([0.0], g[:-1]))
    # c for censored leads (δ = 0) and for leads with an event (δ ≠ 0) at each time
    with np.errstate(divide="ignore"):
        c_event = np.where(left > 0, 1.0 / np.where(left > 0, left, 1.0) - g, 0.0)
    c_cens = -g
    n_after = n_risk - n_end  # leads with T > t
    n_cens = counts[:, 0]
    out: dict[str, np.ndarray] = {
        "time": times,
        "at_risk": n_risk,
        "n_censor": n_cens,
        "n_event_any": d_all,
        "survival": surv,
    }
    for k in codes:
        dk = counts[:, k] if k < counts.shape[1] else np.zeros(m)
        hk = dk / n_risk
        jump = surv_prev * hk
        cif = np.cumsum(jump)
        out[f"cif_{k}"] = cif
        out[f"n_event_{k}"] = dk
        d_oth = d_all - dk
        if variance == "delta":
            out[f"var_{k}"] = _delta_variance(n_risk, dk, d_oth, surv_prev, surv, cif)
            continue
        b = np.cumsum(jump * (g_prev - 1.0 / n_risk))
        # α for each (T = time j, δ) cell; cells: censored, event k, other events
        base = b
        a_cens = base + c_cens * cif
        a_k = base + surv_prev / n_risk + c_event * cif
        a_oth = base + c_event * cif
        s_aa = np.cumsum(n_cens * a_cens**2 + dk * a_k**2 + d_oth * a_oth**2)
        s_ac = np.cumsum(n_cens * a_cens * c_cens + (dk * a_k + d_oth * a_oth) * c_event)
        s_cc = np.cumsum(n_cens * c_cens**2 + (dk + d_oth) * c_event**2)
        var = n_after * b**2 + s_aa - 2.0 * cif * s_ac + cif**2 * s_cc
        out[f"var_{k}"] = np.maximum(var, 0.0)
    return out


def _delta_variance(
    n: np.ndarray,
    d1: np.ndarray,
    d2: np.ndarray,
    s_prev: np.ndarray,
    s: np.ndarray,
    cif: np.ndarray,
) -> np.ndarray:
    """Variance of the cumulative incidence as in Gray's ``cmprsk::cuminc`` (delta method).

    At each distinct time with n at risk, d1 events of the cause and d2 of other causes,
    S(t−) = ``s_prev``, S(t) = ``s`` and F = F_k(t), the sums V1, V2, V3 grow by
    t4²·t6, t3·t4·t6, t3²·t6 with t6 = S(t−)² (1 − (d − 1)/(n − 1)) d / n² for d = d2
    (t3 = 1/S(t), t4 = F/S(t); only when S(t) > 0) and for d = d1 (t3 = 1/S(t) or 0 when
    S(t) = 0, t4 = 1 + t3·F). The variance V1 + F²V3 − 2F·V2 is updated only at times
    with d1 > 0 and carried forward in between, exactly as ``cuminc`` reports it.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = np.where(s > 0, 1.0 / np.where(s > 0, s, 1.0), 0.0)

        def t6(d: np.ndarray) -> np.ndarray:
            tie = np.where(d > 1, 1.0 - (d - 1.0) / np.where(n > 1, n - 1.0, 1.0), 1.0)
            return s_prev**2 * tie * d / n**2

        w2 = np.where((d2 > 0) & (s > 0), t6(d2), 0.0)
        w1 = np.where(d1 > 0, t6(d1), 0.0)
    t4_2 = cif * inv
    t4_1 = 1.0 + inv * cif
    v1 = np.cumsum(t4_2**2 * w2 + t4_1**2 * w1)
    v2 = np.cumsum(inv * t4_2 * w2 + inv * t4_1 * w1)
    v3 = np.cumsum(inv**2 * (w2 + w1))
    raw = v1 + cif**2 * v3 - 2.0 * cif * v2
    jumps = np.flatnonzero(d1 > 0)
    last = np.searchsorted(jumps, np.arange(len(n)), side="right") - 1
    return np.where(last >= 0, raw[jumps[np.maximum(last, 0)]] if len(jumps) else 0.0, 0.0)


def cumulative_incidence(
    data: pd.DataFrame,
    by: By = None,
    conf_type: ConfType = "log",
    conf_level: float = 0.95,
    events: Sequence[int] | None = None,
    variance: Literal["jackknife", "delta"] = "jackknife",
) -> pd.DataFrame:
    """Exact Aalen–Johansen cumulative incidence of each event code, ties handled exactly.

    Parameters
    ----------
    data : pandas.DataFrame
        Duration table with ``duration`` and ``event`` (0 censored, 1.. causes).
    by : str or list of str, optional
        Group columns; one set of curves per group.
    conf_type : {"log", "log-log", "plain"}, default "log"
        Transform of the pointwise limits, as R's ``conf.type`` for multi-state
        ``survfit`` (default ``"log"`` there too).
    conf_level : float, default 0.95
        Two-sided level.
    events : sequence of int, optional
        Event codes to report; default every non-zero code present in ``data``.
    variance : {"jackknife", "delta"}, default "jackknife"
        ``"jackknife"``: infinitesimal-jackknife variance of R ``survfit`` multi-state
        (survival ≥ 3). ``"delta"``: the delta-method variance of Gray's
        ``cmprsk::cuminc`` (updated at the cause's own event times, carried forward).

    Returns
    -------
    pandas.DataFrame
        ``[by], time, event, at_risk, n_event, n_censor, cif, se, lower, upper``; one row
        per distinct time and event code (sorted by group, event, time). ``cif`` is
        F_k(t) = Σ_{s≤t} S(s−) d_k(s)/n(s) with S the all-cause Kaplan–Meier; ``se`` is the
        standard error of F_k(t): by default the infinitesimal jackknife, identical to
        ``std.err`` of R's ``survfit(Surv(time, factor(event)) ~ 1)`` (survival ≥ 3, each
        lead its own cluster); with ``variance="delta"`` sqrt of ``cmprsk::cuminc``'s
        ``var``. Limits as R's ``survfit_confint(..., logse = FALSE)``.

    Notes
    -----
    Unlike lifelines' ``AalenJohansenFitter`` nothing is jittered: tied times are
    processed as one risk-set step, as in R.
    """
    cols = check_table(data, by, "cumulative_incidence")
    conf_level = check_conf_level(conf_level, "cumulative_incidence")
    if events is None:
        present = np.bincount(data["event"].to_numpy(np.int64))
        events = [int(c) for c in np.flatnonzero(present) if c != 0]
        events = events or [1]
    events = [int(k) for k in events]
    if any(k < 1 for k in events):
        raise ConfigError("cumulative_incidence: events must be codes ≥ 1 (0 is censoring)")
    if variance not in ("jackknife", "delta"):
        raise ConfigError(
            f"cumulative_incidence: variance '{variance}' is not supported; use 'jackknife' "
            f"or 'delta'"
        )
    frames = []
    for labels, dur, ev in iter_groups(data, cols):
        aj = _aalen_johansen(dur, ev, events, variance)
        for k in events:
            cif = aj[f"cif_{k}"]
            se = np.sqrt(aj[f"var_{k}"])
            lower, upper = confidence_limits(cif, se, conf_type, conf_level, logse=False)
            frame = pd.DataFrame(
                {
                    "time": aj["time"],
                    "event": k,
                    "at_risk": aj["at_risk"].astype(np.int64),
                    "n_event": aj[f"n_event_{k}"].astype(np.int64),
                    "n_censor": aj["n_censor"].astype(np.int64),
                    "cif": cif,
                    "se": se,
                    "lower": lower,
                    "upper": upper,
                }
            )
            for key, val in reversed(list(labels.items())):
                frame.insert(0, key, val)
            frames.append(frame)
    return _concat(frames, cols)


def naive_conversion(
    data: pd.DataFrame,
    by: By = None,
    event: int = 1,
    conf_type: ConfType = "log-log",
    conf_level: float = 0.95,
) -> pd.DataFrame:
    """1 − Kaplan–Meier for ``event`` with competing events treated as censored.

    This is the common but biased "conversion" curve: it pretends disqualified leads
    could still convert, so it overstates conversion whenever competing events occur.
    Shown next to :func:`cumulative_incidence` for teaching.

    Parameters
    ----------
    data : pandas.DataFrame
        Duration table.
    by : str or list of str, optional
        Group columns.
    event : int, default 1
        The event of interest.
    conf_type : {"log-log", "log", "plain"}, default "log-log"
        Transform used for the Kaplan–Meier limits (then mapped through 1 − S).
    conf_level : float, default 0.95
        Two-sided level.

    Returns
    -------
    pandas.DataFrame
        Same columns as :func:`cumulative_incidence`: ``cif`` = 1 − S(t), ``se`` the
        Greenwood SE of S(t), ``lower`` = 1 − upper_S, ``upper`` = 1 − lower_S.
    """
    conf_level = check_conf_level(conf_level, "naive_conversion")
    km = kaplan_meier(data, by=by, event=event, conf_type=conf_type, conf_level=conf_level)
    cols = by_list(by)
    return pd.DataFrame(
        {
            **{c: km[c] for c in cols},
            "time": km["time"],
            "event": event,
            "at_risk": km["at_risk"],
            "n_event": km["n_event"],
            "n_censor": km["n_censor"],
            "cif": 1.0 - km["survival"],
            "se": km["se"],
            "lower": 1.0 - km["upper"],
            "upper": 1.0 - km["lower"],
        }
    )


# --------------------------------------------------------------------------- log-rank
def logrank(data: pd.DataFrame, by: By, event: int = 1) -> pd.DataFrame:
    """Log-rank test of equal hazards of ``event`` across groups (R ``survdiff``, rho = 0).

    Parameters
    ----------
    data : pandas.DataFrame
        Duration table.
    by : str or list of str
        Group columns (two or more groups).
    event : int, default 1
        Event code tested; other codes count as censored (cause-specific hazards).

    Returns
    -------
    pandas.DataFrame
        One row: ``statistic`` (chi-square), ``df`` (number of groups − 1), ``p_value``,
        ``n_groups``, ``n``; the observed and expected counts per group are in
        ``result.attrs["groups"]``, a dict of lists ``{[by], n, observed, expected}``
        (``pd.DataFrame(result.attrs["groups"])`` gives the table).
    """
    cols = check_table(data, by, "logrank")
    if not cols:
        raise ConfigError("logrank: by= is required (the column that defines the groups)")
    dur = data["duration"].to_numpy(np.float64)
    status = (data["event"].to_numpy() == event).astype(np.float64)
    gcodes, glabels = pd.MultiIndex.from_frame(data[cols]).factorize(sort=True)
    n_groups = len(glabels)
    if n_groups < 2:
        raise ConfigError(f"logrank: by={cols} defines {n_groups} group; need at least 2")
    times, inv = distinct_times(dur)
    m = len(times)
    cell = inv * n_groups + gcodes
    n_end = np.bincount(cell, minlength=m * n_groups).reshape(m, n_groups).astype(float)
    d_g = np.bincount(cell, weights=status, minlength=m * n_groups).reshape(m, n_groups)
    n_g = n_end[::-1].cumsum(axis=0)[::-1]
    n = n_g.sum(axis=1)
    d = d_g.sum(axis=1)
    expected = (n_g * (d / n)[:, None]).sum(axis=0)
    observed = d_g.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.where(n > 1, d * (n - d) / (n * (n - 1)), 0.0)
    # V = Σ_t w_t (diag(n_g) − n_g n_gᵀ / n)
    p = n_g / n[:, None]
    v = np.diag((w[:, None] * n_g).sum(axis=0)) - (w[:, None] * n_g).T @ p
    oe = (observed - expected)[1:]
    vv = v[1:, 1:]
    stat = float(oe @ np.linalg.pinv(vv) @ oe)
    df = int(np.linalg.matrix_rank(vv))
    p_value = float(chi2_sf(stat, df)) if df > 0 else float("nan")
    result = pd.DataFrame(
        [{"statistic": stat, "df": df, "p_value": p_value, "n_groups": n_groups, "n": len(dur)}]
    )
    groups = glabels.to_frame(index=False)
    groups.columns = cols
    groups["n"] = n_end.sum(axis=0).astype(np.int64)
    groups["observed"] = observed
    groups["expected"] = expected
    result.attrs["groups"] = groups.to_dict(orient="list")
    return result


# ------------------------------------------------------------------------------- RMST
def _rmst_one(dur: np.ndarray, ev: np.ndarray, event: int, tau: float) -> tuple[float, float]:
    """Restricted mean and its SE as R's ``survmean`` (Greenwood-type variance)."""
    t, n, d, _c, s, _v = km_curve(dur, ev, event)
    keep = t <= tau
    t, n, d, s = t[keep], n[keep], d[keep], s[keep]
    with np.errstate(divide="ignore", invalid="ignore"):
        hh = np.where(n - d == 0, 0.0, d / (n * (n - d)))
    grid = np.concatenate((t, [tau]))
    widths = np.diff(np.concatenate(([min(0.0, t[0]) if len(t) else 0.0], grid)))
    heights = np.concatenate(([1.0], s))
    rect = widths * heights
    mean = float(rect.sum()) + (min(0.0, t[0]) if len(t) else 0.0)
    # area after each time t_j up to tau
    after = np.cumsum(rect[1:][::-1])[::-1]
    var = float(np.sum(after**2 * hh))
    return mean, float(np.sqrt(var))


def rmst(
    data: pd.DataFrame,
    tau: float,
    by: By = None,
    event: int = 1,
    conf_level: float = 0.95,
    reference: Any = None,
) -> pd.DataFrame:
    """Restricted mean time without ``event`` up to ``tau`` (area under Kaplan–Meier).

    Parameters
    ----------
    data : pandas.DataFrame
        Duration table.
    tau : float
        Restriction time (same unit as ``duration``).
    by : str or list of str, optional
        Group columns; with groups, differences to the first group are added.
    event : int, default 1
        Event code; other codes count as censored, so with competing events this is the
        mean in a world where they are removed (cause-specific), not a real-world mean.
    conf_level : float, default 0.95
        Two-sided level of the normal-approximation limits.
    reference : optional
        With one ``by`` column: the group the differences are taken against (compared as
        text, e.g. the largest group, :func:`qualmodel.journeys.outcomes.reference_group`).
        Default: the first group.

    Returns
    -------
    pandas.DataFrame
        One row per group: ``[by], tau, rmst, se, lower, upper`` (R ``print(survfit,
        rmean = tau)``: ``rmean`` and ``se(rmean)``) and, with ``by``, ``difference``
        (this group − the reference group), ``difference_se`` (sqrt of the summed variances,
        independent groups), ``difference_lower``, ``difference_upper`` and ``p_value``
        (two-sided z-test); NaN on the reference row.
    """
    cols = check_table(data, by, "rmst")
    if not (np.isfinite(tau) and tau > 0):
        raise ConfigError(f"rmst: tau must be a positive number, got {tau!r}")
    z = z_value(conf_level, "rmst")
    rows = []
    for labels, dur, ev in iter_groups(data, cols):
        mean, se = _rmst_one(dur, ev, event, float(tau))
        rows.append({**labels, "tau": float(tau), "rmst": mean, "se": se})
    out = pd.DataFrame(rows)
    out["lower"] = out["rmst"] - z * out["se"]
    out["upper"] = out["rmst"] + z * out["se"]
    if cols:
        ref = _reference_row(out, cols, reference)
        diff = out["rmst"] - out["rmst"].iloc[ref]
        dse = np.sqrt(out["se"] ** 2 + out["se"].iloc[ref] ** 2)
        diff.iloc[ref] = np.nan
        dse.iloc[ref] = np.nan
        out["difference"] = diff
        out["difference_se"] = dse
        out["difference_lower"] = diff - z * dse
        out["difference_upper"] = diff + z * dse
        with np.errstate(divide="ignore", invalid="ignore"):
            out["p_value"] = 2 * norm_sf(np.abs(diff / dse))
    return out


def _reference_row(out: pd.DataFrame, cols: list[str], reference: Any) -> int:
    """Row of the reference group (0 without ``reference``)."""
    if reference is None:
        return 0
    if len(cols) != 1:
        raise ConfigError("rmst: reference= needs exactly one by column")
    hits = np.flatnonzero(out[cols[0]].astype(str).to_numpy() == str(reference))
    if not len(hits):
        levels = ", ".join(map(str, out[cols[0]].tolist()[:12]))
        raise ConfigError(f"rmst: reference {reference!r} is not a group of {cols[0]}: {levels}")
    return int(hits[0])


# ------------------------------------------------------------------------------ cohorts
def cohort_conversion(
    data: pd.DataFrame,
    ages: Sequence[float] = (30, 60, 90),
    event: int = 1,
    cohort: str = "cohort",
    conf_level: float = 0.95,
) -> pd.DataFrame:
    """Share of each start cohort converted by fixed ages, censoring- and competing-aware.

    Parameters
    ----------
    data : pandas.DataFrame
        Duration table with a cohort column (``cohort`` from :func:`time_to_event`).
    ages : sequence of float, default (30, 60, 90)
        Ages (in the duration unit) at which to read the curves.
    event : int, default 1
        Event of interest; other non-zero codes are competing events.
    cohort : str, default "cohort"
        Cohort column.
    conf_level : float, default 0.95
        Level of the (log-transformed) limits of the cumulative incidence.

    Returns
    -------
    pandas.DataFrame
        One row per (cohort, age): ``cohort, age, n`` (leads in the cohort), ``n_mature``
        (leads followed at least ``age`` or with any event by then: the leads whose status
        at that age is known), ``converted`` (Aalen–Johansen cumulative incidence of
        ``event`` at ``age``), ``se``, ``lower``, ``upper``, and ``observed_share`` (leads
        with ``event`` by ``age`` divided by ``n``: the naive funnel ratio that
        understates young cohorts).
    """
    check_table(data, cohort, "cohort_conversion")
    conf_level = check_conf_level(conf_level, "cohort_conversion")
    ages = [float(a) for a in ages]
    if not ages or any(not (np.isfinite(a) and a >= 0) for a in ages):
        raise ConfigError(f"cohort_conversion: ages must be non-negative numbers, got {ages}")
    cif = cumulative_incidence(data, by=cohort, conf_level=conf_level, events=[event])
    rows = []
    for (name, sub), (_, cf) in zip(
        data.groupby(cohort, sort=True, observed=True, dropna=False),
        cif.groupby(cohort, sort=True, observed=True, dropna=False),
        strict=True,
    ):
        dur = sub["duration"].to_numpy(np.float64)
        ev = sub["event"].to_numpy()
        t = cf["time"].to_numpy()
        for age in ages:
            j = np.searchsorted(t, age, side="right") - 1
            if j >= 0:
                vals = cf.iloc[j]
                est, se, lo, up = vals["cif"], vals["se"], vals["lower"], vals["upper"]
            else:
                est, se, lo, up = 0.0, 0.0, np.nan, np.nan
            rows.append(
                {
                    cohort: name,
                    "age": age,
                    "n": len(dur),
                    "n_mature": int(np.sum((dur >= age) | ((ev != 0) & (dur <= age)))),
                    "converted": float(est),
                    "se": float(se),
                    "lower": float(lo),
                    "upper": float(up),
                    "observed_share": float(np.mean((ev == event) & (dur <= age))),
                }
            )
    return pd.DataFrame(rows)
