"""The normal and chi-squared tail functions behind qualmodel's intervals and tests.

Confidence intervals (a normal quantile), Wald and z-tests (a normal tail) and the
log-rank and score tests (a chi-squared tail) need four functions. ``scipy.stats``
computes them with the special functions used here — ``norm.ppf`` is ``ndtri``,
``norm.cdf`` is ``ndtr``, ``norm.sf(x)`` is ``ndtr(-x)`` and ``chi2.sf(x, df)`` is
``chdtrc(df, x)`` — so the values are the same to the last bit, but importing
``scipy.stats`` costs about half a second in every process that would otherwise not need it
(each report kernel, each command, each Dask worker), while ``scipy.special`` costs a tenth of
that.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import special

__all__ = ["binom_cdf", "chi2_sf", "norm_cdf", "norm_ppf", "norm_sf", "wilson_interval"]


def norm_ppf(q: Any) -> Any:
    """Return the standard normal quantile of ``q`` (``scipy.stats.norm.ppf``).

    Parameters
    ----------
    q : float or array_like
        Probabilities; 0 gives ``-inf``, 1 gives ``inf``, outside [0, 1] gives NaN.

    Returns
    -------
    numpy.float64 or numpy.ndarray
    """
    return special.ndtri(q)


def norm_cdf(x: Any) -> Any:
    """Return the standard normal distribution function at ``x`` (``scipy.stats.norm.cdf``).

    Parameters
    ----------
    x : float or array_like

    Returns
    -------
    numpy.float64 or numpy.ndarray
    """
    return special.ndtr(x)


def norm_sf(x: Any) -> Any:
    """Return the standard normal upper tail ``P(Z > x)`` (``scipy.stats.norm.sf``).

    Parameters
    ----------
    x : float or array_like

    Returns
    -------
    numpy.float64 or numpy.ndarray
    """
    return special.ndtr(np.negative(x))


def chi2_sf(x: Any, df: Any) -> Any:
    """Return the chi-squared upper tail ``P(X > x)`` on ``df`` degrees of freedom.

    As ``scipy.stats.chi2.sf``: 1 for ``x <= 0``, NaN for a NaN statistic.

    Parameters
    ----------
    x : float or array_like
        The statistic.
    df : float or array_like
        Degrees of freedom (positive).

    Returns
    -------
    numpy.float64 or numpy.ndarray
    """
    return special.chdtrc(df, np.maximum(x, 0.0))  # chdtrc is NaN below 0


def binom_cdf(k: Any, n: Any, p: Any) -> Any:
    """Return ``P(X <= k)`` for ``X ~ Binomial(n, p)`` (``scipy.stats.binom.cdf``).

    Parameters
    ----------
    k : int or array_like
        Successes (whole numbers; below 0 gives 0).
    n : int or array_like
        Trials.
    p : float or array_like
        Success probability.

    Returns
    -------
    numpy.float64 or numpy.ndarray
    """
    k = np.asarray(k)
    out = np.where(k < 0, 0.0, special.bdtr(np.maximum(k, 0), n, p))
    return out[()] if out.ndim == 0 else out


def wilson_interval(count: Any, nobs: Any, alpha: float = 0.05) -> tuple[Any, Any]:
    """Return the Wilson score interval of the share ``count / nobs``.

    The formula and the operations of ``statsmodels.stats.proportion.proportion_confint``
    with ``method="wilson"`` (bounds clipped to [0, 1]).

    Parameters
    ----------
    count : int or array_like
        Successes.
    nobs : int or array_like
        Trials (positive).
    alpha : float, default 0.05
        One minus the confidence level (two-sided).

    Returns
    -------
    (lower, upper) : tuple of numpy.float64 or numpy.ndarray
    """
    nobs = np.asarray(nobs, dtype=float)
    q = np.asarray(count, dtype=float) / nobs
    crit = -norm_ppf(alpha / 2.0)
    crit2 = crit**2
    denom = 1 + crit2 / nobs
    center = (q + crit2 / (2 * nobs)) / denom
    dist = crit * np.sqrt(q * (1.0 - q) / nobs + crit2 / (4.0 * nobs**2))
    dist /= denom
    lower, upper = np.clip(center - dist, 0, 1), np.clip(center + dist, 0, 1)
    return (lower[()], upper[()]) if lower.ndim == 0 else (lower, upper)
