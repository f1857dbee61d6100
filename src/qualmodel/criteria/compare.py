"""Counterfactual comparison of qualification criteria on the same leads.

"If SQO meant X instead of Y, how many SQOs would we get, how early, and how many of them
would we win?" :func:`compare_criteria` answers it criterion by criterion on one
:class:`~qualmodel.Journeys` object; :func:`pairwise_tests` tests the differences.

Definitions (population = leads with ``start`` set, default ``sal_at``):

* **qualified** — the criterion is met by ``observed_until`` (at any time, also before
  ``start``; such leads count as qualified at ``start``, duration 0).
* **qualified_rate** — qualified / population.
* **median_days** — Kaplan–Meier median of days from ``start`` to qualification, censored
  at ``observed_until`` (first time with S(t) ≤ 0.5, R's rule; NaN when not reached).
* **share_by_horizon** — 1 − S(``horizon_days``) of the same Kaplan–Meier curve.
* **precision** — won (``outcome`` set) among qualified; **recall** — qualified among won;
  **base_win_rate** — won / population; **lift** — precision / base_win_rate.
* **per_week** — sales workload: qualified leads per week of observation, i.e.
  qualified / ((max ``observed_until`` − min ``start``) in weeks).
* **lead_time_days** (simulated journeys with ``true_ready_at`` only) — median of
  (``qualified_at`` − ``true_ready_at``) in days over leads with both; negative = the
  criterion fires before the lead is truly sales-ready. ``true_ready_at`` is read here
  only, to score criteria — never by the criteria themselves.

Every estimate comes with a percentile bootstrap 95% interval (``*_lo``, ``*_hi``): leads
of the population are resampled with replacement ``n_boot`` times with a
``numpy.random.Generator(seed)``; resamples are represented as count-weight matrices, so
all statistics (including the weighted Kaplan–Meier curve) are evaluated for many
resamples at once with matrix products.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations

import numpy as np
import pandas as pd

from qualmodel.core.checks import MAX_BOOT, check_count, check_number, check_seed
from qualmodel.core.distributions import binom_cdf, chi2_sf
from qualmodel.core.errors import ConfigError, preview
from qualmodel.criteria.engine import Criterion, qualify
from qualmodel.journeys.contract import Journeys

__all__ = [
    "compare_criteria",
    "mcnemar",
    "pairwise_tests",
    "qualification_table",
    "recommend_criterion",
    "weighted_km",
]

_DAY_NS = 86_400 * 10**9
_NAT = np.iinfo(np.int64).min
_CHUNK = 100  # bootstrap resamples evaluated together


def _stamp(leads: pd.DataFrame, col: str, role: str) -> np.ndarray:
    if col not in leads.columns:
        raise ConfigError(
            f"compare_criteria: {role} column '{col}' is not in journeys.leads; choose one "
            f"of {', '.join(c for c in leads.columns if c.endswith('_at'))}"
        )
    return leads[col].to_numpy().astype("datetime64[ns]").view(np.int64)


def qualification_table(
    journeys: Journeys,
    criteria: Sequence[Criterion],
    strict: bool = True,
) -> pd.DataFrame:
    """``qualified_at`` of every criterion, one column per criterion name.

    Parameters
    ----------
    journeys : Journeys
    criteria : sequence of Criterion
        Names must be unique.
    strict : bool, default True
        Passed to :func:`~qualmodel.criteria.engine.qualify`.

    Returns
    -------
    pandas.DataFrame
        Index ``lead_id`` (``journeys.leads`` order), ``datetime64[ns]`` columns.
    """
    names = [c.name for c in criteria]
    if len(set(names)) != len(names) or any(not n for n in names):
        raise ConfigError(
            f"compare_criteria: criteria need unique non-empty names, got {names}; rename them"
        )
    out = {c.name: qualify(journeys, c, strict=strict)["qualified_at"].to_numpy() for c in criteria}
    return pd.DataFrame(out, index=pd.Index(journeys.leads["lead_id"].to_numpy(), name="lead_id"))


def _boot_weights(rng: np.random.Generator, n: int, reps: int) -> np.ndarray:
    """``n × reps`` resampling counts (each column sums to ``n``; lead-major layout)."""
    idx = rng.integers(0, n, size=(reps, n))
    flat = (idx * reps + np.arange(reps)[:, None]).ravel()
    return np.bincount(flat, minlength=reps * n).reshape(n, reps).astype(np.float64)


class _KMPlan:
    """Sorting work for weighted Kaplan–Meier curves of one (duration, event) sample."""

    def __init__(self, duration: np.ndarray, event: np.ndarray) -> None:
        self.order = np.argsort(duration, kind="stable")
        dur_sorted = duration[self.order]
        ev_idx = np.flatnonzero(event)
        ev_idx = ev_idx[np.argsort(duration[ev_idx], kind="stable")]
        self.ev_idx = ev_idx
        ev_dur = duration[ev_idx]
        if len(ev_idx):
            new = np.r_[True, ev_dur[1:] != ev_dur[:-1]]
            self.ev_starts = np.flatnonzero(new)
            self.times = ev_dur[self.ev_starts]
        else:
            self.ev_starts = np.zeros(0, dtype=np.intp)
            self.times = np.zeros(0)
        # leads with duration < t leave the risk set before t
        self.before = np.searchsorted(dur_sorted, self.times, side="left")

    def survival(self, wt: np.ndarray) -> np.ndarray:
        """S(t) just after each event time (m × k) for each column of ``wt`` (n × k)."""
        k = wt.shape[1]
        if len(self.times) == 0:
            return np.ones((0, k))
        cum = np.zeros((wt.shape[0] + 1, k))
        np.cumsum(wt[self.order], axis=0, out=cum[1:])
        at_risk = cum[-1:] - cum[self.before]
        d = np.add.reduceat(wt[self.ev_idx], self.ev_starts, axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            haz = np.where(at_risk > 0, d / at_risk, 0.0)
        return np.cumprod(1.0 - haz, axis=0)


def weighted_km(
    duration: np.ndarray, event: np.ndarray, weights: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Kaplan–Meier curves for several weight vectors at once.

    Parameters
    ----------
    duration : ndarray, shape (n,)
    event : ndarray of bool, shape (n,)
    weights : ndarray, shape (k, n)
        Case weights (bootstrap counts; a row of ones gives the ordinary estimator).

    Returns
    -------
    times : ndarray, shape (m,)
        Distinct event times, increasing.
    survival : ndarray, shape (k, m)
        S(t) just after each event time, per weight row (a time whose events all have
        weight 0 in a row simply leaves S unchanged there).
    """
    plan = _KMPlan(np.asarray(duration, dtype=np.float64), np.asarray(event, dtype=bool))
    wt = np.ascontiguousarray(np.asarray(weights, dtype=np.float64).T)
    return plan.times, plan.survival(wt).T


def _km_stats(times: np.ndarray, surv: np.ndarray, horizon: float) -> tuple[np.ndarray, ...]:
    """(median, 1 − S(horizon)) per column of ``surv`` (m × k); median +inf if not reached."""
    k = surv.shape[1]
    if len(times) == 0:
        return np.full(k, np.inf), np.zeros(k)
    below = surv <= 0.5
    reached = below.any(axis=0)
    first = np.argmax(below, axis=0)
    median = np.where(reached, times[first], np.inf)
    j = np.searchsorted(times, horizon, side="right") - 1
    share = 1.0 - surv[j] if j >= 0 else np.zeros(k)
    return median, share


def _weighted_median(values: np.ndarray, wt: np.ndarray) -> np.ndarray:
    """Weighted median of ``values`` for each column of ``wt`` (m × k; NaN if empty)."""
    if len(values) == 0:
        return np.full(wt.shape[1], np.nan)
    order = np.argsort(values, kind="stable")
    v = values[order]
    cw = np.cumsum(wt[order], axis=0)
    total = cw[-1]
    # average of the lower and upper median, as numpy's median does for unit weights
    lo = np.argmax(cw >= total / 2.0, axis=0)
    hi = np.argmax(cw > total / 2.0, axis=0)
    out = (v[lo] + v[hi]) / 2.0
    return np.where(total > 0, out, np.nan)


def _ci(samples: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    finite = samples[~np.isnan(samples)]
    if len(finite) == 0:
        return float("nan"), float("nan")
    a = (1.0 - level) / 2.0
    big = np.finfo(np.float64).max / 4  # "not reached" (+inf) sorts last, no inf arithmetic
    lo, hi = np.percentile(np.minimum(finite, big), [100 * a, 100 * (1 - a)])
    return _clean(lo if lo < big / 2 else np.inf), _clean(hi if hi < big / 2 else np.inf)


def _clean(x: float) -> float:
    return float(x) if np.isfinite(x) else float("nan")


def _prepare(
    q: np.ndarray, s0: np.ndarray, u0: np.ndarray, ready: np.ndarray | None
) -> tuple[np.ndarray, _KMPlan, np.ndarray, np.ndarray]:
    """Qualified flags, KM plan of time to qualification, and lead-time rows/values.

    ``q``, ``s0``, ``u0`` are qualification, start and ``observed_until`` stamps (int64
    ns, NaT as the minimum int64) of the leads in the population; ``ready`` the true
    readiness stamps or ``None``.
    """
    qual = q != _NAT
    dur = np.where(qual, np.maximum(q - s0, 0), np.maximum(u0 - s0, 0)) / _DAY_NS
    lt_ok = qual & (ready != _NAT) if ready is not None else np.zeros(len(q), dtype=bool)
    lt = (q[lt_ok] - ready[lt_ok]) / _DAY_NS if ready is not None else np.zeros(0)
    return qual, _KMPlan(dur, qual), lt_ok, lt


def _result_row(
    name: str,
    prepared: tuple[np.ndarray, _KMPlan, np.ndarray, np.ndarray],
    point: dict[str, np.ndarray],
    boot: list[dict[str, np.ndarray]],
    won: np.ndarray,
    n_boot: int,
    has_ready: bool,
) -> dict[str, object]:
    """One output row: counts, point estimates and percentile intervals of a criterion."""
    row: dict[str, object] = {
        "criterion": name,
        "n_leads": len(won),
        "n_won": int(won.sum()),
        "n_qualified": int(prepared[0].sum()),
        "n_lead_time": int(prepared[2].sum()),
    }
    for key, value in point.items():
        row[key] = _clean(value[0])
        if n_boot:
            samples = np.concatenate([b[key] for b in boot])
            row[f"{key}_lo"], row[f"{key}_hi"] = _ci(samples)
        else:
            row[f"{key}_lo"] = row[f"{key}_hi"] = float("nan")
    if not has_ready:
        for key in ("lead_time_days", "lead_time_days_lo", "lead_time_days_hi"):
            row[key] = float("nan")
    return row


def _result_columns() -> list[str]:
    """Column order of :func:`compare_criteria`'s table."""
    order = ["criterion", "n_leads", "n_won", "n_qualified"]
    for key in (
        "qualified_rate",
        "median_days",
        "share_by_horizon",
        "precision",
        "recall",
        "base_win_rate",
        "lift",
        "per_week",
        "lead_time_days",
    ):
        order += [key, f"{key}_lo", f"{key}_hi"]
    order.append("n_lead_time")
    return order


def compare_criteria(
    journeys: Journeys,
    criteria: Sequence[Criterion],
    horizon_days: float = 90,
    n_boot: int = 1000,
    seed: int = 0,
    start: str = "sal_at",
    outcome: str = "won_at",
    strict: bool = True,
) -> pd.DataFrame:
    """Evaluate several criteria on the same leads, with bootstrap 95% intervals.

    Parameters
    ----------
    journeys : Journeys
    criteria : sequence of Criterion
        Unique names (e.g. from :func:`~qualmodel.criteria.engine.load_criteria`).
    horizon_days : float, default 90
        Horizon of ``share_by_horizon``.
    n_boot : int, default 1000
        Bootstrap resamples (0 to skip the intervals).
    seed : int, default 0
        Seed of the ``numpy.random.Generator`` that draws the resamples.
    start : str, default "sal_at"
        Start of the clock; leads without it are excluded.
    outcome : str, default "won_at"
        Outcome stamp defining a "good" qualification (precision / recall).
    strict : bool, default True
        Unknown event names are errors (see :func:`~qualmodel.criteria.engine.qualify`).

    Returns
    -------
    pandas.DataFrame
        One row per criterion: ``criterion, n_leads, n_won, n_qualified, qualified_rate,
        median_days, share_by_horizon, precision, recall, base_win_rate, lift, per_week,
        lead_time_days, n_lead_time``, and ``<metric>_lo`` / ``<metric>_hi`` for every
        estimated metric. ``attrs`` holds ``horizon_days``, ``n_boot``, ``seed``,
        ``start``, ``outcome``, ``span_weeks``.
    """
    if not criteria:
        raise ConfigError("compare_criteria: give at least one criterion")
    check_count("compare_criteria: n_boot", n_boot, low=0, high=MAX_BOOT)
    check_number("compare_criteria: horizon_days", horizon_days, low=0, low_open=True)
    check_seed("compare_criteria: seed", seed)
    leads = journeys.leads
    start_ns = _stamp(leads, start, "start")
    won_ns = _stamp(leads, outcome, "outcome")
    until_ns = leads["observed_until"].to_numpy().view(np.int64)
    pop = start_ns != _NAT
    if not pop.any():
        raise ConfigError(
            f"compare_criteria: no lead has '{start}' set; choose another start column"
        )
    table = qualification_table(journeys, criteria, strict=strict)
    s0, u0 = start_ns[pop], until_ns[pop]
    won = (won_ns[pop] != _NAT) & (won_ns[pop] <= u0)
    n = int(pop.sum())
    span_weeks = (u0.max() - s0.min()) / (7 * _DAY_NS)
    ready = None
    if "true_ready_at" in leads.columns:
        ready = leads["true_ready_at"].to_numpy().astype("datetime64[ns]").view(np.int64)[pop]
    rng = np.random.default_rng(seed)
    prepared = []
    for crit in criteria:
        q = table[crit.name].to_numpy().view(np.int64)[pop]
        prepared.append(_prepare(q, s0, u0, ready))
    args = (won, horizon_days, span_weeks)
    points = [_metrics(np.ones((n, 1)), p, *args) for p in prepared]
    # the same resamples for every criterion (paired); one chunk of weights in memory
    boots: list[list[dict[str, np.ndarray]]] = [[] for _ in criteria]
    for i in range(0, n_boot, _CHUNK):
        w = _boot_weights(rng, n, min(_CHUNK, n_boot - i))
        for k, p in enumerate(prepared):
            boots[k].append(_metrics(w, p, *args))
    rows = [
        _result_row(crit.name, p, point, boot, won, n_boot, ready is not None)
        for crit, p, point, boot in zip(criteria, prepared, points, boots, strict=True)
    ]
    out = pd.DataFrame(rows)[_result_columns()]
    out.attrs.update(
        horizon_days=horizon_days,
        n_boot=n_boot,
        seed=seed,
        start=start,
        outcome=outcome,
        span_weeks=float(span_weeks),
    )
    return out


def _metrics(
    w: np.ndarray,
    prepared: tuple[np.ndarray, _KMPlan, np.ndarray, np.ndarray],
    won: np.ndarray,
    horizon: float,
    span_weeks: float,
) -> dict[str, np.ndarray]:
    """All metrics for each column of the weight matrix ``w`` (n × k)."""
    qual, plan, lt_ok, lt = prepared
    ind = np.stack([np.ones_like(qual), qual, won, qual & won], axis=0).astype(np.float64)
    # einsum, not BLAS matmul: multi-threaded BLAS is slow for this thin product on a
    # shared machine
    total, nq, nw, nqw = np.einsum("in,nk->ik", ind, w)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = nqw / nq
        recall = nqw / nw
        base = nw / total
        lift = precision / base
    median, share = _km_stats(plan.times, plan.survival(w), horizon)
    return {
        "qualified_rate": nq / total,
        "median_days": median,
        "share_by_horizon": share,
        "precision": precision,
        "recall": recall,
        "base_win_rate": base,
        "lift": lift,
        "per_week": nq / span_weeks if span_weeks > 0 else np.full(len(nq), np.nan),
        "lead_time_days": _weighted_median(lt, w[lt_ok]),
    }


def mcnemar(only_a: int, only_b: int, exact: bool) -> tuple[float, float]:
    """McNemar's test of two paired yes/no outcomes from their discordant counts.

    The test of ``statsmodels.stats.contingency_tables.mcnemar`` with ``correction=True``:
    exact, the statistic is ``min(only_a, only_b)`` and the p-value twice its binomial
    (n = ``only_a + only_b``, p = 1/2) lower tail, at most 1; otherwise the statistic is
    ``(|only_a - only_b| - 1)² / (only_a + only_b)`` with a chi-square (1 df) p-value.

    Parameters
    ----------
    only_a, only_b : int
        Leads qualified by one criterion only (the concordant counts do not enter).
    exact : bool
        The exact binomial test (for few discordant leads) or the chi-square one.

    Returns
    -------
    (statistic, p_value) : tuple of float
    """
    n = only_a + only_b
    if exact:
        k = min(only_a, only_b)
        return float(k), float(min(1.0, 2.0 * binom_cdf(k, n, 0.5)))
    stat = (abs(only_a - only_b) - 1.0) ** 2 / n
    return float(stat), float(chi2_sf(stat, 1))


def pairwise_tests(
    journeys: Journeys,
    criteria: Sequence[Criterion],
    start: str = "sal_at",
    strict: bool = True,
) -> pd.DataFrame:
    """Paired tests between every two criteria on the same leads.

    **Who qualifies** — McNemar's test on the 2×2 table of qualified-or-not under both
    criteria (leads with ``start`` set): exact binomial test when the discordant count
    ``b + c`` is below 25, otherwise the chi-square statistic with continuity correction
    (:func:`mcnemar`, the test of statsmodels); column ``mcnemar_method`` says which.

    **When** — log-rank test comparing the two time-to-qualification curves from
    ``start`` (censored at ``observed_until``; :func:`qualmodel.survival.estimators.logrank`). The
    two samples are the same leads, so the log-rank p-value (which assumes independent
    groups) is conservative for positively correlated criteria; read it as descriptive.

    Parameters
    ----------
    journeys : Journeys
    criteria : sequence of Criterion
    start : str, default "sal_at"
    strict : bool, default True

    Returns
    -------
    pandas.DataFrame
        ``a, b, n, both, only_a, only_b, neither, mcnemar_method, mcnemar_statistic,
        mcnemar_p, logrank_statistic, logrank_p``.
    """
    from qualmodel.survival.durations import time_to_event
    from qualmodel.survival.estimators import logrank

    if len(criteria) < 2:
        raise ConfigError("pairwise_tests: give at least two criteria")
    table = qualification_table(journeys, criteria, strict=strict)
    pop = _stamp(journeys.leads, start, "start") != _NAT
    tte = {}
    for crit in criteria:
        target = pd.Series(table[crit.name].to_numpy(), index=journeys.leads.index)
        tte[crit.name] = time_to_event(
            journeys, start=start, target=target, competing=(), before_start="zero"
        )
    rows = []
    for a, b in combinations([c.name for c in criteria], 2):
        qa = table[a].notna().to_numpy()[pop]
        qb = table[b].notna().to_numpy()[pop]
        both = int((qa & qb).sum())
        only_a = int((qa & ~qb).sum())
        only_b = int((~qa & qb).sum())
        neither = int((~qa & ~qb).sum())
        exact = only_a + only_b < 25
        mc_stat, mc_p = mcnemar(only_a, only_b, exact=exact)
        data = pd.concat(
            [tte[a].assign(criterion=a), tte[b].assign(criterion=b)], ignore_index=True
        )
        if data["event"].eq(1).any():
            lr = logrank(data, by="criterion").iloc[0]
            lr_stat, lr_p = float(lr["statistic"]), float(lr["p_value"])
        else:
            lr_stat = lr_p = float("nan")
        rows.append(
            {
                "a": a,
                "b": b,
                "n": int(pop.sum()),
                "both": both,
                "only_a": only_a,
                "only_b": only_b,
                "neither": neither,
                "mcnemar_method": "exact binomial" if exact else "chi-square, continuity",
                "mcnemar_statistic": mc_stat,
                "mcnemar_p": mc_p,
                "logrank_statistic": lr_stat,
                "logrank_p": lr_p,
            }
        )
    return pd.DataFrame(rows)


def recommend_criterion(table: pd.DataFrame, baseline: str | int = 0) -> pd.DataFrame:
    """Pick a criterion from a :func:`compare_criteria` table by a stated rule.

    The rule: keep the criteria whose precision is not clearly worse than the baseline's
    (upper 95% limit ``precision_hi`` at least the baseline's point precision); among them
    take the one with the highest ``recall``, breaking ties by the lower workload
    (``per_week``), then by table order. The baseline itself always qualifies, so the
    answer may be "keep the current definition".

    Parameters
    ----------
    table : pandas.DataFrame
        Output of :func:`compare_criteria` (columns ``criterion``, ``precision``,
        ``precision_hi``, ``recall``, ``per_week``).
    baseline : str or int, default 0
        The current definition: a criterion name, or a row position (0 = first criterion
        of the file, the convention of the built-in criteria files).

    Returns
    -------
    pandas.DataFrame
        Two rows indexed ``"recommended"`` and ``"baseline"`` with the table's columns and a
        boolean column ``changed`` (True when the recommendation differs from the baseline).

    Raises
    ------
    ConfigError
        Missing columns, an empty table, or an unknown baseline.
    """
    need = ["criterion", "precision", "precision_hi", "recall", "per_week"]
    missing = [c for c in need if c not in table.columns]
    if missing:
        raise ConfigError(
            f"recommend_criterion: table lacks column(s) {preview(missing)}; pass the output "
            "of compare_criteria(...)"
        )
    if table.empty:
        raise ConfigError("recommend_criterion: the table is empty; compare at least one criterion")
    rows = table.reset_index(drop=True)
    if isinstance(baseline, str):
        hits = np.flatnonzero(rows["criterion"].to_numpy() == baseline)
        if hits.size == 0:
            raise ConfigError(
                f"recommend_criterion: baseline '{baseline}' is not in the table "
                f"(criteria: {preview(rows['criterion'].tolist())})"
            )
        base_pos = int(hits[0])
    else:
        if not -len(rows) <= int(baseline) < len(rows):
            raise ConfigError(
                f"recommend_criterion: baseline position {baseline} is outside the table "
                f"({len(rows)} criteria)"
            )
        base_pos = int(baseline) % len(rows)
    base = rows.iloc[base_pos]
    ok = (rows["precision_hi"] >= base["precision"]).to_numpy()
    ok[base_pos] = True
    eligible = rows[ok].assign(_pos=np.flatnonzero(ok))
    best = eligible.sort_values(
        ["recall", "per_week", "_pos"], ascending=[False, True, True], kind="mergesort"
    ).iloc[0]
    out = pd.DataFrame([rows.iloc[int(best["_pos"])], base], index=["recommended", "baseline"])
    out["changed"] = out["criterion"].iloc[0] != out["criterion"].iloc[1]
    return out
