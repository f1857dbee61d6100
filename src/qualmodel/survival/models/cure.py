"""Mixture cure model with a Weibull latency, fitted by maximum likelihood.

The log-likelihood and its gradient are written out (:func:`_nll_and_grad`) and maximised
with L-BFGS-B over the cured fraction (bounded to [0, 1)) and the logarithms of the Weibull
scale and shape. Standard errors come from the observed information (the Hessian of the
log-likelihood at the estimate, by central differences of the exact gradient). Checked
against a direct maximum-likelihood fit in R (cured fraction, log-likelihood) and against
lifelines' ``MixtureCureFitter`` (estimates and standard errors).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from qualmodel.core.errors import ConfigError
from qualmodel.survival.common import z_value
from qualmodel.survival.models.common import (
    BOUNDARY,
    ModelFit,
    ModelWarning,
    as_list,
    check_events,
    check_table,
)

__all__ = ["cure_model"]


def cure_model(
    data: pd.DataFrame,
    covariates: str | Sequence[str] | None = None,
    event: int = 1,
    conf_level: float = 0.95,
    zero_time: float | None = 0.5,
) -> ModelFit:
    """Mixture cure model with a Weibull latency (maximum likelihood).

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
    check_table(data, "cure_model", event)
    if covariates is not None and len(as_list(covariates)) > 0:
        raise ConfigError(
            "cure_model: covariates are not supported (univariate mixture cure model); "
            "fit each subgroup separately, e.g. data[data.segment == 'smb']"
        )
    zq = z_value(conf_level, "cure_model")
    dur = data["duration"].to_numpy(np.float64)
    status = (data["event"].to_numpy() == event).astype(np.int64)
    check_events(int(status.sum()), 3, "cure_model", event)
    zero = (dur <= 0) & (status == 1)
    t = _zero_durations(dur, status, zero, zero_time)
    # start near the Kaplan-Meier plateau and a moment-based Weibull scale
    km_plateau = float(np.exp(-_km_cumhaz_end(t, status)))
    init = (min(max(km_plateau * 0.9, 0.02), 0.98), float(np.median(t[status == 1])) * 1.3, 1.0)
    events, log_t = status.astype(bool), np.log(t)
    pi, scale, shape, loglik = _fit(log_t, events, init)
    at_boundary = not BOUNDARY < pi < 1 - BOUNDARY
    # at the boundary the cured fraction is held at its bound: no standard error
    cov = _covariance(np.array([pi, scale, shape]), log_t, events, free_pi=not at_boundary)
    se_pi = float(np.sqrt(cov[0, 0])) if cov[0, 0] >= 0 else float("nan")
    if at_boundary:
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
    for i, (term, est) in enumerate((("scale", scale), ("shape", shape)), start=1):
        se = float(np.sqrt(cov[i, i])) if cov[i, i] >= 0 else float("nan")
        s_log = se / est
        rows.append(
            (term, est, se, float(est * np.exp(-zq * s_log)), float(est * np.exp(zq * s_log)))
        )
    table = pd.DataFrame(rows, columns=["term", "estimate", "se", "lower", "upper"])
    summary = {
        "n": int(len(t)),
        "events": int(status.sum()),
        "log_likelihood": loglik,
        "AIC": 2 * 3 - 2 * loglik,
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


#: L-BFGS-B settings of the cure fit: relative change of the mean log-likelihood and
#: largest projected gradient component at which it stops.
FIT_OPTIONS: dict[str, float] = {"ftol": 1e-15, "gtol": 1e-10, "maxiter": 2000}
#: Largest exponent of ``(t / λ)^k`` evaluated (``exp(700)`` is finite): far trial steps
#: of the optimiser give a huge but finite objective instead of an overflow.
_MAX_EXPONENT = 700.0


def _nll_and_grad(x: np.ndarray, log_t: np.ndarray, events: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean negative log-likelihood and its gradient in ``(π, log λ, log k)``.

    With ``z = (t / λ)^k``: an event contributes ``log(1 − π) + log k − log t + log z − z``
    (the Weibull density of the susceptible), a censored time
    ``log(π + (1 − π) · exp(−z))``.
    """
    pi, log_scale, log_shape = x
    k = np.exp(log_shape)
    ku = np.minimum(k * (log_t - log_scale), _MAX_EXPONENT)
    z = np.exp(ku)
    n_events = int(events.sum())
    ku_e, z_e = ku[events], z[events]
    loglik = n_events * (np.log1p(-pi) + log_shape) - log_t[events].sum() + ku_e.sum() - z_e.sum()
    grad = np.array(
        [
            -n_events / (1 - pi),
            k * (z_e.sum() - n_events),
            n_events + ku_e.sum() - (z_e * ku_e).sum(),
        ]
    )
    surv = np.exp(-z[~events])
    mix = pi + (1 - pi) * surv
    loglik += np.log(mix).sum()
    w = (1 - pi) * surv * z[~events] / mix
    grad += [((1 - surv) / mix).sum(), k * w.sum(), -(w * ku[~events]).sum()]
    n = log_t.size
    return float(-loglik / n), -grad / n


def _fit(
    log_t: np.ndarray, events: np.ndarray, init: tuple[float, float, float]
) -> tuple[float, float, float, float]:
    """Maximum-likelihood ``(π, λ, k)`` and the log-likelihood; ConfigError if it fails."""
    from scipy.optimize import minimize

    x0 = np.array([init[0], np.log(init[1]), np.log(init[2])])
    with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
        res = minimize(
            _nll_and_grad, x0, args=(log_t, events), jac=True, method="L-BFGS-B",
            bounds=[(0.0, 1.0 - 1e-12), (None, None), (None, None)], options=FIT_OPTIONS,
        )  # fmt: skip
    ok = np.isfinite(res.fun) and np.all(np.isfinite(res.x))
    if not ok or not (res.success or _stationary(res.x, res.jac)):
        raise ConfigError(
            f"cure_model: the fit did not converge ({res.message}); check that the data "
            f"have enough events after the zero-time adjustment and no extreme durations"
        )
    pi, log_scale, log_shape = (float(v) for v in res.x)
    return pi, float(np.exp(log_scale)), float(np.exp(log_shape)), -float(res.fun) * log_t.size


def _stationary(x: np.ndarray, grad: np.ndarray) -> bool:
    """Projected gradient (the cured fraction may rest on its bound) below 1e-6."""
    g = np.array(grad, dtype=float)
    if x[0] <= 0.0 and g[0] > 0:
        g[0] = 0.0
    return bool(np.all(np.abs(g) < 1e-6))


def _covariance(
    theta: np.ndarray, log_t: np.ndarray, events: np.ndarray, free_pi: bool = True
) -> np.ndarray:
    """Inverse observed information in ``(π, λ, k)``; NaN where a parameter is not free.

    The Hessian of the total log-likelihood is taken by central differences of the exact
    gradient (steps of 1e-5 relative), then symmetrised.
    """
    n = log_t.size

    def grad(th: np.ndarray) -> np.ndarray:  # total gradient in natural parameters
        x = np.array([th[0], np.log(th[1]), np.log(th[2])])
        g = _nll_and_grad(x, log_t, events)[1] * n
        return g / np.array([1.0, th[1], th[2]])

    idx = [0, 1, 2] if free_pi else [1, 2]
    hess = np.empty((len(idx), len(idx)))
    with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
        for col, j in enumerate(idx):
            h = 1e-5 * max(abs(theta[j]), 1e-3)
            if j == 0:
                h = min(h, 0.5 * theta[0], 0.5 * (1 - theta[0]))
            up, down = theta.copy(), theta.copy()
            up[j] += h
            down[j] -= h
            hess[:, col] = (grad(up) - grad(down))[idx] / (2 * h)
    hess = (hess + hess.T) / 2
    cov = np.full((3, 3), np.nan)
    try:
        cov[np.ix_(idx, idx)] = np.linalg.inv(hess)
    except np.linalg.LinAlgError:
        pass
    return cov
