"""Minimum detectable effect (MDE) of the tests used by :func:`qualmodel.experiment.power`.

Definition: at a given sample size, the MDE is the smallest candidate-vs-baseline effect
that the metric's test (two-sided, level ``alpha``) detects with power at least
``target`` (80% by default), with the baseline arm fixed at its simulated value.

* Proportion metrics (``precision``, ``recall``, ``sqo_volume``): the effect is the
  difference ``p_candidate − p_baseline`` of the two-proportion z-test with pooled variance
  (what :func:`statsmodels.stats.proportion.proportions_ztest` computes). Its normal
  approximation power is ``Φ((|Δ| − z·σ₀)/σ₁) + Φ((−|Δ| − z·σ₀)/σ₁)`` with ``σ₀`` the pooled
  and ``σ₁`` the unpooled standard error, ``z = Φ⁻¹(1 − alpha/2)``; the MDE is its root in
  ``Δ`` (Brent's method), searched in the direction of the observed effect.
* ``time_to_qualification`` (log-rank): the effect is the hazard ratio candidate/baseline;
  by Schoenfeld's formula with 1:1 allocation and ``d`` events in total the MDE is
  ``exp(± 2·(z + Φ⁻¹(target)) / √d)``.

The approximations are checked in ``tests/test_mde.py`` against statsmodels'
``NormalIndPower.solve_power`` and against direct simulation of the tests.
"""

from __future__ import annotations

import math

import pandas as pd

from qualmodel.core.distributions import norm_cdf, norm_ppf
from qualmodel.core.errors import ConfigError

__all__ = [
    "DEFAULT_MDE_POWER",
    "leads_for_proportions",
    "leads_needed",
    "mde_at",
    "mde_hazard_ratio",
    "mde_two_proportions",
    "two_proportion_power",
]

#: Power at which the minimum detectable effect is defined (the usual 80%).
DEFAULT_MDE_POWER = 0.8


def _check(alpha: float, target: float) -> None:
    if not 0 < float(alpha) < 1:
        raise ConfigError(f"mde: alpha must be in (0, 1), got {alpha}")
    if not 0 < float(target) < 1:
        raise ConfigError(f"mde: target power must be in (0, 1), got {target}")


def two_proportion_power(p1: float, p2: float, n1: float, n2: float, alpha: float) -> float:
    """Normal-approximation power of the pooled two-sided two-proportion z-test.

    Parameters
    ----------
    p1, p2 : float
        True proportions of the baseline and candidate arms.
    n1, n2 : float
        Denominators (may be expected, non-integer counts).
    alpha : float
        Two-sided level.

    Returns
    -------
    float
        Probability of rejecting ``p1 == p2``.
    """
    z = norm_ppf(1 - alpha / 2)
    pbar = (n1 * p1 + n2 * p2) / (n1 + n2)
    s0 = math.sqrt(max(pbar * (1 - pbar), 0.0) * (1 / n1 + 1 / n2))
    s1 = math.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
    d = abs(p2 - p1)
    if s1 == 0:
        return float(d > z * s0)
    return float(norm_cdf((d - z * s0) / s1) + norm_cdf((-d - z * s0) / s1))


def mde_two_proportions(
    p: float,
    n1: float,
    n2: float,
    alpha: float = 0.05,
    target: float = DEFAULT_MDE_POWER,
    direction: int = 1,
) -> float:
    """Smallest difference ``p2 − p`` the two-proportion z-test detects with ``target`` power.

    Parameters
    ----------
    p : float
        Baseline proportion, in [0, 1].
    n1, n2 : float
        Baseline and candidate denominators (> 0).
    alpha : float, default 0.05
        Two-sided level, in (0, 1).
    target : float, default 0.8
        Power that defines the MDE, in (0, 1).
    direction : {1, -1}, default 1
        Search an increase (``1``) or a decrease (``-1``) of the proportion.

    Returns
    -------
    float
        Signed difference (positive for ``direction=1``); NaN when even the largest
        possible change (to 1 or to 0) has less than ``target`` power, or ``n1``/``n2``
        is 0.
    """
    _check(alpha, target)
    if not 0 <= p <= 1:
        raise ConfigError(f"mde: baseline proportion must be in [0, 1], got {p}")
    if n1 <= 0 or n2 <= 0:
        return float("nan")
    sign = 1 if direction >= 0 else -1
    room = (1 - p) if sign > 0 else p
    if room <= 0:
        return float("nan")

    def gap(delta: float) -> float:
        return two_proportion_power(p, p + sign * delta, n1, n2, alpha) - target

    if gap(room) < 0:
        return float("nan")
    from scipy.optimize import brentq

    return sign * float(brentq(gap, 0.0, room, xtol=1e-10))


def mde_hazard_ratio(
    events: float, alpha: float = 0.05, target: float = DEFAULT_MDE_POWER, direction: int = 1
) -> float:
    """Smallest hazard ratio the log-rank test detects with ``target`` power (Schoenfeld).

    Parameters
    ----------
    events : float
        Expected number of events in both arms together (1:1 allocation).
    alpha : float, default 0.05
        Two-sided level, in (0, 1).
    target : float, default 0.8
        Power that defines the MDE, in (0, 1).
    direction : {1, -1}, default 1
        A ratio above 1 (candidate faster) or below 1.

    Returns
    -------
    float
        The hazard ratio; NaN when there are no events.
    """
    _check(alpha, target)
    if events <= 0:
        return float("nan")
    z = norm_ppf(1 - alpha / 2) + norm_ppf(target)
    log_hr = 2 * z / math.sqrt(events)
    return math.exp(log_hr if direction >= 0 else -log_hr)


def _largest_rows(table: pd.DataFrame) -> pd.DataFrame:
    need = {"metric", "n_leads", "weeks_of_flow", "baseline_value", "candidate_value"}
    need |= {"n_baseline", "n_candidate", "effect", "effect_scale", "alpha"}
    missing = sorted(need - set(table.columns))
    if missing:
        raise ConfigError(
            f"mde: table lacks column(s) {', '.join(missing)}; pass the output of power()"
        )
    idx = table.groupby("metric", sort=False)["n_leads"].idxmax()
    return table.loc[idx.to_numpy()]


def mde_at(table: pd.DataFrame, n_leads: int, target: float = DEFAULT_MDE_POWER) -> pd.DataFrame:
    """Minimum detectable effect at any ``n_leads`` per arm, from a power table.

    The arms' rates and per-lead denominators come from the largest simulated sample of
    each metric; denominators (and log-rank events) scale linearly with ``n_leads``.

    Parameters
    ----------
    table : pandas.DataFrame
        Output of :func:`qualmodel.experiment.power.power`.
    n_leads : int
        Leads per arm (> 0).
    target : float, default 0.8
        Power that defines the MDE.

    Returns
    -------
    pandas.DataFrame
        One row per metric: ``metric, n_leads, weeks_of_flow, baseline_value, effect,
        effect_scale, mde, detectable`` (the simulated effect is at least the MDE).
    """
    if int(n_leads) <= 0:
        raise ConfigError(f"mde: n_leads must be a positive integer, got {n_leads}")
    rows = []
    for _, r in _largest_rows(table).iterrows():
        scale = int(n_leads) / float(r["n_leads"])
        null = 1.0 if r["effect_scale"] == "hazard_ratio" else 0.0
        direction = -1 if r["effect"] < null else 1
        if r["effect_scale"] == "hazard_ratio":
            events = (r["n_baseline"] + r["n_candidate"]) * scale
            mde = mde_hazard_ratio(events, float(r["alpha"]), target, direction)
            detectable = bool(abs(math.log(r["effect"])) >= abs(math.log(mde)))
        else:
            mde = mde_two_proportions(
                float(r["baseline_value"]),
                r["n_baseline"] * scale,
                r["n_candidate"] * scale,
                float(r["alpha"]),
                target,
                direction,
            )
            detectable = bool(abs(r["effect"]) >= abs(mde))
        rows.append(
            {
                "metric": r["metric"],
                "n_leads": int(n_leads),
                "weeks_of_flow": float(r["weeks_of_flow"]) * scale,
                "baseline_value": float(r["baseline_value"]),
                "effect": float(r["effect"]),
                "effect_scale": r["effect_scale"],
                "mde": mde,
                "detectable": detectable and not math.isnan(mde),
            }
        )
    return pd.DataFrame(rows)


def leads_needed(table: pd.DataFrame, target: float = DEFAULT_MDE_POWER) -> pd.DataFrame:
    """Leads per arm (and weeks of lead flow) until the simulated effect is detected.

    Two answers per metric: ``leads_simulated``, the smallest simulated ``n_leads`` whose
    Monte-Carlo power reaches ``target`` (NaN when none does), and ``leads_analytic``,
    where the normal-approximation power at the simulated effect reaches ``target``
    (rates and per-lead denominators from the largest simulated sample; NaN when the
    effect is zero).

    Parameters
    ----------
    table : pandas.DataFrame
        Output of :func:`qualmodel.experiment.power.power`.
    target : float, default 0.8
        Power to reach.

    Returns
    -------
    pandas.DataFrame
        ``metric, effect, effect_scale, leads_simulated, weeks_simulated, leads_analytic,
        weeks_analytic``.
    """
    _check(0.5, target)
    rows = []
    for _, r in _largest_rows(table).iterrows():
        sims = table[(table["metric"] == r["metric"]) & (table["power"] >= target)]
        n_sim = float(sims["n_leads"].min()) if len(sims) else float("nan")
        per_lead = float(r["weeks_of_flow"]) / float(r["n_leads"])
        alpha = float(r["alpha"])
        if r["effect_scale"] == "hazard_ratio":
            z = norm_ppf(1 - alpha / 2) + norm_ppf(target)
            lhr = math.log(r["effect"]) if r["effect"] > 0 else 0.0
            per = (r["n_baseline"] + r["n_candidate"]) / float(r["n_leads"])
            n_an = 4 * z**2 / lhr**2 / per if lhr != 0 and per > 0 else float("nan")
        else:
            n_an = _leads_for_proportions(r, alpha, target)
        rows.append(
            {
                "metric": r["metric"],
                "effect": float(r["effect"]),
                "effect_scale": r["effect_scale"],
                "leads_simulated": n_sim,
                "weeks_simulated": n_sim * per_lead,
                "leads_analytic": float(math.ceil(n_an)) if math.isfinite(n_an) else n_an,
                "weeks_analytic": n_an * per_lead,
            }
        )
    return pd.DataFrame(rows)


def _leads_for_proportions(r: pd.Series, alpha: float, target: float) -> float:
    ra, rb = r["n_baseline"] / r["n_leads"], r["n_candidate"] / r["n_leads"]
    return leads_for_proportions(
        float(r["baseline_value"]), float(r["candidate_value"]), ra, rb, alpha, target
    )


def leads_for_proportions(
    p_baseline: float,
    p_candidate: float,
    per_lead_baseline: float,
    per_lead_candidate: float,
    alpha: float = 0.05,
    target: float = DEFAULT_MDE_POWER,
) -> float:
    """Leads per arm at which the two-proportion z-test reaches ``target`` power.

    The normal approximation of :func:`two_proportion_power` with denominators that grow
    with the leads of each arm (``n × per_lead``): e.g. recall, whose denominator is the
    arm's won leads (``per_lead`` = the win rate per lead).

    Parameters
    ----------
    p_baseline, p_candidate : float
        The proportion in each arm.
    per_lead_baseline, per_lead_candidate : float
        Denominator of the proportion per lead of the arm (1 when every lead counts).
    alpha : float, default 0.05
        Two-sided level.
    target : float, default 0.8
        Power to reach.

    Returns
    -------
    float
        Leads per arm (not rounded); NaN when the proportions are equal or not finite, a
        denominator is zero, or more than 10¹² leads would be needed.
    """
    _check(alpha, target)
    pa, pb = float(p_baseline), float(p_candidate)
    ra, rb = float(per_lead_baseline), float(per_lead_candidate)
    if not (math.isfinite(pa) and math.isfinite(pb)) or pa == pb or ra <= 0 or rb <= 0:
        return float("nan")

    def gap(n: float) -> float:
        return two_proportion_power(pa, pb, n * ra, n * rb, alpha) - target

    hi = 1.0
    while gap(hi) < 0:
        hi *= 2
        if hi > 1e12:
            return float("nan")
    from scipy.optimize import brentq

    return float(brentq(gap, hi / 2 if hi > 1 else 1e-9, hi, xtol=1e-6))
