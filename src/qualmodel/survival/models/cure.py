"""Mixture cure model with a Weibull latency (lifelines ``MixtureCureFitter``)."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from qualmodel.core.errors import ConfigError
from qualmodel.survival.models.common import (
    BOUNDARY,
    ModelFit,
    ModelWarning,
    as_list,
    check_events,
    check_table,
    fit_quietly,
    z_value,
)

__all__ = ["cure_model"]


def cure_model(
    data: pd.DataFrame,
    covariates: str | Sequence[str] | None = None,
    event: int = 1,
    conf_level: float = 0.95,
    zero_time: float | None = 0.5,
) -> ModelFit:
    """Mixture cure model with a Weibull latency (lifelines ``MixtureCureFitter``).

    ``S(t) = π + (1 − π) · exp(−(t / λ)^k)``: a share ``π`` of leads never has the event
    ("cured"); the others (the susceptible) have Weibull times with scale ``λ`` and shape
    ``k``. Univariate: covariates on the cure share or the latency are not implemented —
    fit subgroups separately to compare them.

    Competing events (codes other than ``event``) are censored, so ``π`` is the share that
    would **never** reach the event if the competing outcome did not remove anyone, which
    is only right when the competing outcome (disqualification) is independent of being
    cured. When sales disqualifies never-converting leads faster (the usual case, and the
    simulator's ``disqualification.never_convert_log_hr > 0``), censoring is informative:
    cured leads leave the risk set early, the remaining risk set looks more susceptible
    and ``π`` is **underestimated**. ``π`` also needs follow-up well past the bulk of the
    susceptible times (a visible plateau of the Kaplan–Meier curve).

    Parameters
    ----------
    data : pandas.DataFrame
        Duration table (durations of events must be > 0).
    covariates : None
        Reserved; must be ``None``.
    event : int, default 1
        Event code modelled; other codes are censored.
    conf_level : float, default 0.95
        Level of the limits; the cured fraction's limits are Wald limits on the logit
        scale (they stay inside (0, 1); NaN when the estimate is at the boundary), shape
        and scale on the log scale.
    zero_time : float or None, default 0.5
        Duration given to events at duration 0 (the Weibull likelihood is undefined
        there). The default, half a unit, places an event on the start day of day-rounded
        data (``resolution=1``) at mid-day — the midpoint of the interval it is known to
        lie in. It must be positive and at most the smallest positive event duration
        (otherwise pass a smaller value, e.g. for exact timestamps). ``None``: zero event
        durations raise a :class:`ConfigError`. ``summary["zero_events"]`` counts them.

    Returns
    -------
    ModelFit
        ``table`` with rows ``cured_fraction``, ``scale``, ``shape`` and columns
        ``term, estimate, se, lower, upper``; ``summary``: ``n``, ``events``,
        ``log_likelihood``, ``AIC``, ``cured_fraction`` and its limits, ``km_plateau``
        (Kaplan–Meier survival at the last event time, for comparison), ``max_event_time``,
        ``max_time``.

    Raises
    ------
    ConfigError
        Covariates given, missing ``event`` values, too few events, zero event durations
        with ``zero_time=None`` (or a ``zero_time`` above the smallest positive event
        duration), no convergence.

    Warns
    -----
    ModelWarning
        The cured fraction sits at the optimiser's bound (within 1e-6 of 0 or 1): no
        plateau or follow-up too short; its limits are then NaN.
    """
    from lifelines import MixtureCureFitter, WeibullFitter

    check_table(data, "cure_model", event)
    if covariates is not None and len(as_list(covariates)) > 0:
        raise ConfigError(
            "cure_model: covariates are not supported (univariate mixture cure model); "
            "fit each subgroup separately, e.g. data[data.segment == 'smb']"
        )
    zq = z_value(conf_level)
    dur = data["duration"].to_numpy(np.float64)
    status = (data["event"].to_numpy() == event).astype(np.int64)
    check_events(int(status.sum()), 3, "cure_model", event)
    zero = (dur <= 0) & (status == 1)
    t = _zero_durations(dur, status, zero, zero_time)
    fitter = MixtureCureFitter(WeibullFitter(), alpha=1 - conf_level)
    # start near the Kaplan-Meier plateau and a moment-based Weibull scale
    km_plateau = float(np.exp(-_km_cumhaz_end(t, status)))
    init = np.array(
        [min(max(km_plateau * 0.9, 0.02), 0.98), float(np.median(t[status == 1])) * 1.3, 1.0]
    )
    with np.errstate(over="ignore", under="ignore"):  # exp overflow in trial steps
        fit_quietly(lambda: fitter.fit(t, status, initial_point=init), "cure_model")
    pi = float(fitter.cured_fraction_)
    cov = fitter.variance_matrix_
    var_pi = float(cov.loc["cured_fraction_", "cured_fraction_"])
    se_pi = float(np.sqrt(var_pi)) if var_pi >= 0 else float("nan")
    if not BOUNDARY < pi < 1 - BOUNDARY:
        warnings.warn(
            f"cure_model: cured fraction at the boundary ({pi:.3g}): no plateau or follow-up "
            f"too short; its interval is NaN (the Kaplan-Meier curve should level off above "
            f"0 well before the last time)",
            ModelWarning,
            stacklevel=2,
        )
        lo_pi = hi_pi = float("nan")
    else:
        logit = np.log(pi / (1 - pi))
        se_logit = se_pi / (pi * (1 - pi))
        lo_pi = float(1 / (1 + np.exp(-(logit - zq * se_logit))))
        hi_pi = float(1 / (1 + np.exp(-(logit + zq * se_logit))))
    rows = [("cured_fraction", pi, se_pi, lo_pi, hi_pi)]
    for term, key in (("scale", "lambda_"), ("shape", "rho_")):
        est = float(fitter.params_[key])
        se = float(np.sqrt(cov.loc[key, key]))
        s_log = se / est
        rows.append(
            (term, est, se, float(est * np.exp(-zq * s_log)), float(est * np.exp(zq * s_log)))
        )
    table = pd.DataFrame(rows, columns=["term", "estimate", "se", "lower", "upper"])
    summary = {
        "n": int(len(t)),
        "events": int(status.sum()),
        "log_likelihood": float(fitter.log_likelihood_),
        "AIC": float(fitter.AIC_),
        "cured_fraction": pi,
        "cured_fraction_lower": lo_pi,
        "cured_fraction_upper": hi_pi,
        "km_plateau": km_plateau,
        "max_event_time": float(t[status == 1].max()),
        "max_time": float(t.max()),
        "event": int(event),
        "conf_level": conf_level,
        "zero_events": int(zero.sum()),
        "zero_time": zero_time,
    }
    return ModelFit("cure", table, summary)


def _zero_durations(
    dur: np.ndarray, status: np.ndarray, zero: np.ndarray, zero_time: float | None
) -> np.ndarray:
    """Durations with zero-duration events at ``zero_time`` (censored zeros at ~0)."""
    if zero.any():
        if zero_time is None:
            raise ConfigError(
                f"cure_model: {int(zero.sum())} event(s) at duration 0; pass zero_time "
                f"(default 0.5, mid-day for day-rounded data) or drop them"
            )
        positive = dur[(status == 1) & (dur > 0)]
        smallest = float(positive.min()) if positive.size else float("inf")
        if not (np.isfinite(zero_time) and 0 < zero_time <= smallest):
            raise ConfigError(
                f"cure_model: zero_time={zero_time!r} must be positive and at most the "
                f"smallest positive event duration ({smallest:g}); pass a smaller zero_time"
            )
    t = np.where(zero, zero_time if zero_time is not None else 0.0, dur)
    return np.where(t <= 0, 1e-9, t)


def _km_cumhaz_end(t: np.ndarray, status: np.ndarray) -> float:
    """−log of the Kaplan–Meier survival at the last time (product-limit, exact ties)."""
    ut, inv = np.unique(t, return_inverse=True)
    d = np.bincount(inv, weights=status, minlength=len(ut))
    n_at = np.cumsum(np.bincount(inv, minlength=len(ut))[::-1])[::-1]
    q = 1.0 - d / n_at
    if (q <= 0).any():
        return float("inf")
    return float(-np.log(q).sum())
