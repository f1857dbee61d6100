"""Weibull accelerated-failure-time model (lifelines fit polished by exact Newton steps)."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from qualmodel.core.errors import ConfigError, preview
from qualmodel.survival.common import z_value
from qualmodel.survival.concordance import concordance
from qualmodel.survival.models.common import (
    ModelFit,
    ModelWarning,
    check_collinear,
    check_events,
    check_table,
    design_matrix,
    fit_quietly,
    wald,
)

__all__ = ["weibull_aft"]


def weibull_aft(
    data: pd.DataFrame,
    covariates: str | Sequence[str],
    event: int = 1,
    conf_level: float = 0.95,
) -> ModelFit:
    """Weibull accelerated-failure-time model (lifelines ``WeibullAFTFitter``).

    ``S(t | x) = exp(−(t / λ(x))^k)`` with ``log λ(x) = β₀ + x·β`` — R
    ``survreg(Surv(duration, event == code) ~ x, dist = "weibull")`` with
    ``k = 1 / scale``. The same model is proportional hazards with log hazard ratios
    ``β_PH = −k · β`` (standard errors by the delta method, using the covariance of
    ``β`` and ``log k``), reported next to the AFT coefficients so they can be compared
    with :func:`cox`.

    Parameters
    ----------
    data : pandas.DataFrame
        Duration table with the covariate columns; durations must be > 0 for rows that
        are events (a Weibull density is 0 or infinite at 0).
    covariates : str or list of str
        As in :func:`cox`.
    event : int, default 1
        Event code modelled; every other code is censored (cause-specific).
    conf_level : float, default 0.95
        Level of the Wald limits.

    Returns
    -------
    ModelFit
        ``table`` with one row per covariate term: AFT scale ``coef, se, lower, upper,
        time_ratio, time_ratio_lower, time_ratio_upper, z, p_value`` (``time_ratio =
        exp(coef)``: > 1 means slower), then the implied PH scale ``ph_coef, ph_se,
        ph_lower, ph_upper, hr, hr_lower, hr_upper``. ``summary``: ``n``, ``events``,
        ``log_likelihood`` (R ``fit$loglik[2]``), ``AIC``, ``intercept`` (log baseline
        scale) with ``intercept_se``, ``shape`` (k) with ``shape_se``/``shape_lower``/
        ``shape_upper``, ``log_shape_se``, ``scale`` (baseline λ = exp(intercept), time
        units) with limits, ``survreg_log_scale`` (= −log k, R's ``Log(scale)``),
        ``concordance`` and ``concordance_se`` (Harrell's C of the fitted log-time location:
        a larger location predicts a longer time; R ``concordance(survreg fit)``).

    Raises
    ------
    ConfigError
        Bad covariates, missing ``event`` values, too few events, zero durations among
        events, collinear covariates (singular information matrix), no convergence.

    Warns
    -----
    ModelWarning
        The Newton polish did not converge (step not below tolerance or −H not positive
        definite), e.g. a categorical level with no events.
    """
    from lifelines import WeibullAFTFitter

    check_table(data, "weibull_aft", event)
    zq = z_value(conf_level, "weibull_aft")
    design, references, terms = design_matrix(data, covariates, "weibull_aft")
    check_collinear(design, "weibull_aft")
    status = (data["event"].to_numpy() == event).astype(np.int64)
    check_events(int(status.sum()), design.shape[1] + 1, "weibull_aft", event)
    dur = data["duration"].to_numpy(np.float64)
    zero = (dur <= 0) & (status == 1)
    if zero.any():
        raise ConfigError(
            f"weibull_aft: {int(zero.sum())} event(s) at duration 0; a Weibull model needs "
            f"positive times: add a small offset (e.g. duration + 0.5 for day-rounded data) "
            f"or drop them"
        )
    frame = design.reset_index(drop=True)
    frame["__duration"] = np.where(dur <= 0, 1e-9, dur)
    frame["__event"] = status
    names = list(design.columns)
    fitter = WeibullAFTFitter(alpha=1 - conf_level)
    fit_quietly(
        lambda: fitter.fit(frame, duration_col="__duration", event_col="__event"),
        "weibull_aft",
    )
    start = _start_values(fitter, names)
    dmat = np.column_stack([np.ones(len(frame)), design.to_numpy(np.float64)])
    try:
        theta, cov_all, loglik, converged = _weibull_newton(
            dmat, frame["__duration"].to_numpy(np.float64), status.astype(np.float64), start
        )
    except np.linalg.LinAlgError:
        raise ConfigError(
            f"weibull_aft: singular information matrix: collinear covariates (a term that is "
            f"a linear combination of others among {preview(names)}) or a level with no "
            f"events; drop or merge that term"
        ) from None
    if not converged:
        warnings.warn(
            "weibull_aft: did not converge (Newton steps not below tolerance or the "
            "information matrix not positive definite); estimates and SEs are unreliable; "
            "a level with no events or collinear covariates?",
            ModelWarning,
            stacklevel=2,
        )
    table = _aft_table(names, theta, cov_all, zq)
    summary = {
        "n": int(len(frame)),
        "events": int(status.sum()),
        **_aft_summary(theta, cov_all, loglik, zq),
        "event": int(event),
        "conf_level": conf_level,
        **_aft_concordance(frame, status, dmat @ theta[: len(names) + 1]),
    }
    return ModelFit("weibull_aft", table, summary, references, terms=terms)


def _aft_concordance(frame: pd.DataFrame, status: np.ndarray, lp: np.ndarray) -> dict:
    """Concordance of the log-time location with the time (R ``concordance(survreg fit)``)."""
    try:
        c = concordance(frame["__duration"].to_numpy(np.float64), status, lp)
    except ConfigError:
        return {"concordance": None, "concordance_se": None}
    return {"concordance": c.concordance, "concordance_se": c.std}


def _start_values(fitter: Any, names: list[str]) -> np.ndarray:
    """Return starting values ``(β₀, β, log k)`` from a fitted ``WeibullAFTFitter``."""
    return np.concatenate(
        [
            [float(fitter.params_[("lambda_", "Intercept")])],
            fitter.params_.loc[[("lambda_", n) for n in names]].to_numpy(),
            [float(fitter.params_[("rho_", "Intercept")])],
        ]
    )


def _aft_table(names: list[str], theta: np.ndarray, cov_all: np.ndarray, zq: float) -> pd.DataFrame:
    """Wald table of the AFT coefficients plus the implied PH scale (delta-method SEs)."""
    p = len(names)
    coef = theta[1 : p + 1]
    var = cov_all[1 : p + 1, 1 : p + 1]
    se = np.sqrt(np.diag(var))
    table = wald(names, coef, se, zq, "time_ratio")
    k = float(np.exp(float(theta[-1])))
    var_logk = float(cov_all[-1, -1])
    cov_b_logk = cov_all[1 : p + 1, -1]
    # beta_PH = -k * beta; d/d beta = -k, d/d log k = -k * beta
    ph = -k * coef
    ph_var = k**2 * (np.diag(var) + coef**2 * var_logk + 2 * coef * cov_b_logk)
    ph_se = np.sqrt(ph_var)
    table["ph_coef"] = ph
    table["ph_se"] = ph_se
    table["ph_lower"] = ph - zq * ph_se
    table["ph_upper"] = ph + zq * ph_se
    with np.errstate(over="ignore"):  # a diverging coefficient gives an infinite limit
        table["hr"] = np.exp(ph)
        table["hr_lower"] = np.exp(ph - zq * ph_se)
        table["hr_upper"] = np.exp(ph + zq * ph_se)
    return table


def _aft_summary(
    theta: np.ndarray, cov_all: np.ndarray, loglik: float, zq: float
) -> dict[str, float]:
    """Fit statistics, baseline scale (intercept) and shape with their Wald limits."""
    log_k = float(theta[-1])
    k = float(np.exp(log_k))
    var_logk = float(cov_all[-1, -1])
    b0 = float(theta[0])
    b0_se = float(np.sqrt(cov_all[0, 0]))
    return {
        "log_likelihood": loglik,
        "AIC": 2 * len(theta) - 2 * loglik,
        "intercept": b0,
        "intercept_se": b0_se,
        "shape": k,
        "log_shape_se": float(np.sqrt(var_logk)),
        "shape_se": k * float(np.sqrt(var_logk)),
        "shape_lower": float(np.exp(log_k - zq * np.sqrt(var_logk))),
        "shape_upper": float(np.exp(log_k + zq * np.sqrt(var_logk))),
        "scale": float(np.exp(b0)),
        "scale_lower": float(np.exp(b0 - zq * b0_se)),
        "scale_upper": float(np.exp(b0 + zq * b0_se)),
        "survreg_log_scale": -log_k,
    }


def _weibull_newton(
    dmat: np.ndarray,
    t: np.ndarray,
    d: np.ndarray,
    theta: np.ndarray,
    max_iter: int = 50,
    tol: float = 1e-11,
) -> tuple[np.ndarray, np.ndarray, float, bool]:
    """Polish a Weibull AFT fit by Newton–Raphson with the analytic Hessian.

    lifelines stops its quasi-Newton search at a loose gradient tolerance; a few exact
    Newton steps bring the estimates to R ``survreg`` precision.

    Parameters
    ----------
    dmat : numpy.ndarray
        Design matrix with the intercept column first.
    t, d : numpy.ndarray
        Positive times and 0/1 event indicators.
    theta : numpy.ndarray
        Starting values ``(β₀, β, log k)``; ``z = k (log t − D·β)``, log-likelihood
        ``Σ d (log k − log t + z) − exp(z)``.
    max_iter : int, default 50
        Maximum number of Newton steps (each with up to 30 step halvings).
    tol : float, default 1e-11
        Convergence tolerance on the largest absolute step.

    Returns
    -------
    theta : numpy.ndarray
        Estimates.
    cov : numpy.ndarray
        Inverse of the observed information ``−H``.
    loglik : float
        Log-likelihood at ``theta``.
    converged : bool
        The last step was below ``tol`` (without exhausting the step halvings) and ``−H``
        is positive definite.

    Raises
    ------
    numpy.linalg.LinAlgError
        The Hessian is singular (collinear covariates).
    """
    logt = np.log(t)

    def parts(th: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        rho = np.exp(th[-1])
        z = rho * (logt - dmat @ th[:-1])
        with np.errstate(over="ignore"):
            w = np.exp(z)
        ll = float(np.sum(d * (th[-1] - logt + z) - w))
        r = d - w
        grad = np.concatenate([-rho * (dmat.T @ r), [np.sum(d + r * z)]])
        hb = -(rho**2) * (dmat.T * w) @ dmat
        hba = -rho * (dmat.T @ (r - w * z))
        haa = float(np.sum(z * r - w * z**2))
        hess = np.block([[hb, hba[:, None]], [hba[None, :], np.array([[haa]])]])
        return ll, grad, hess

    ll, grad, hess = parts(theta)
    small_step = False
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(max_iter):
            step = np.linalg.solve(hess, grad)
            if not np.isfinite(step).all():
                break
            new = theta - step
            ll_new, g_new, h_new = parts(new)
            halvings = 0
            while not np.isfinite(ll_new) or ll_new < ll - 1e-9:
                step = step / 2
                new = theta - step
                ll_new, g_new, h_new = parts(new)
                halvings += 1
                if halvings > 30:
                    break
            if not np.isfinite(ll_new):
                break
            theta, ll, grad, hess = new, ll_new, g_new, h_new
            if np.max(np.abs(step)) < tol:
                small_step = halvings <= 30
                break
    cov = np.linalg.inv(-hess)
    try:
        np.linalg.cholesky(-hess)
        positive = True
    except np.linalg.LinAlgError:
        positive = False
    return theta, cov, ll, bool(small_step and positive and np.isfinite(cov).all())
