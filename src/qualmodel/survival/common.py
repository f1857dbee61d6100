"""Shared pieces of the estimators: input checks, risk sets, confidence limits.

Split from :mod:`qualmodel.survival.estimators` (which re-exports :func:`confidence_limits`, the
``ConfType``/``CONF_TYPES``/``By`` names and these helpers) so the estimators stay in
modules of a readable size.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from qualmodel.core.checks import check_number
from qualmodel.core.distributions import norm_ppf
from qualmodel.core.errors import ConfigError, InputError, preview

__all__ = ["CONF_TYPES", "By", "ConfType", "check_conf_level", "confidence_limits", "z_value"]

ConfType = Literal["plain", "log", "log-log"]
CONF_TYPES: tuple[str, ...] = ("plain", "log", "log-log")
By = str | Sequence[str] | None


# ----------------------------------------------------------------------------- helpers
def by_list(by: By) -> list[str]:
    if by is None:
        return []
    if isinstance(by, str):
        return [by]
    return list(by)


def check_table(data: pd.DataFrame, by: By, func: str) -> list[str]:
    """Validate the duration table and return the group columns."""
    if not isinstance(data, pd.DataFrame):
        raise InputError(f"{func}: data must be a pandas DataFrame from time_to_event")
    cols = by_list(by)
    missing = [c for c in ("duration", "event", *cols) if c not in data.columns]
    if missing:
        raise ConfigError(
            f"{func}: column(s) {preview(missing)} not in data; expected 'duration', "
            f"'event' (from time_to_event) and the by= columns"
        )
    if len(data) == 0:
        raise InputError(f"{func}: the duration table is empty; no lead reached the start")
    dur = data["duration"]
    if not pd.api.types.is_numeric_dtype(dur.dtype) or dur.isna().any():
        raise InputError(f"{func}: column 'duration' must be numeric without missing values")
    if (dur.to_numpy(dtype=float) < 0).any():
        rows = np.flatnonzero(dur.to_numpy(dtype=float) < 0)
        raise InputError(f"{func}: negative duration in row(s) {preview(rows)}")
    ev = data["event"]
    if not pd.api.types.is_integer_dtype(ev.dtype) or (ev.to_numpy() < 0).any():
        raise InputError(
            f"{func}: column 'event' must hold non-negative integers (0 censored, 1 target, "
            f"2.. competing)"
        )
    return cols


def iter_groups(
    data: pd.DataFrame, cols: list[str]
) -> Iterator[tuple[dict[str, object], np.ndarray, np.ndarray]]:
    """Yield (group labels, duration array, event array) per group, in sorted order."""
    if not cols:
        yield {}, data["duration"].to_numpy(dtype=np.float64), data["event"].to_numpy(np.int64)
        return
    for key, sub in data.groupby(cols, sort=True, observed=True, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        yield (
            dict(zip(cols, key, strict=True)),
            sub["duration"].to_numpy(dtype=np.float64),
            sub["event"].to_numpy(np.int64),
        )


def distinct_times(duration: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct durations and each value's position among them.

    Whole-unit durations (the common day-resolution case) take an O(n) counting path
    instead of a sort; the result is identical to ``np.unique(..., return_inverse=True)``.
    """
    if len(duration) and duration.min() >= 0 and duration.max() <= 10 * len(duration) + 1000:
        whole = duration.astype(np.int64)
        if np.array_equal(whole, duration):
            present = np.bincount(whole) > 0
            rank = np.cumsum(present) - 1
            return np.flatnonzero(present).astype(np.float64), rank[whole]
    return np.unique(duration, return_inverse=True)


def risk_table(
    duration: np.ndarray, event: np.ndarray, n_codes: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct times, number at risk and the (time × code) count matrix.

    Returns ``times`` (sorted distinct durations), ``n_risk`` (leads with duration ≥
    time) and ``counts[:, c]`` (leads ending at that time with code ``c``; column 0 is
    censoring), for ``c`` in ``0 .. n_codes - 1``.
    """
    times, inv = distinct_times(duration)
    m = len(times)
    code = np.minimum(event, n_codes)  # codes ≥ n_codes are not requested → dropped below
    flat = np.bincount(inv * (n_codes + 1) + code, minlength=m * (n_codes + 1))
    counts = flat.reshape(m, n_codes + 1)[:, :n_codes].astype(np.float64)
    n_end = np.bincount(inv, minlength=m).astype(np.float64)
    n_risk = n_end[::-1].cumsum()[::-1]
    return times, n_risk, counts


def check_conf_level(conf_level: Any, where: str) -> float:
    """``conf_level`` as a float strictly between 0 and 1 (``core.checks.check_number``).

    Parameters
    ----------
    conf_level : Any
        The value given.
    where : str
        Function name for the message, e.g. ``"kaplan_meier"``.

    Returns
    -------
    float

    Raises
    ------
    ConfigError
        One line naming ``where``, the bounds and the value.
    """
    name = f"{where}: conf_level"
    return check_number(name, conf_level, low=0, high=1, low_open=True, high_open=True)


def z_value(conf_level: Any, where: str) -> float:
    """Two-sided standard normal quantile of a confidence level (1.959964 for 0.95).

    Checked as :func:`check_conf_level` (``where`` names the caller in the message).
    """
    return float(norm_ppf(1 - (1 - check_conf_level(conf_level, where)) / 2))


def confidence_limits(
    p: np.ndarray,
    se: np.ndarray,
    conf_type: ConfType,
    conf_level: float,
    logse: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """Pointwise confidence limits of a probability, exactly as R's ``survfit_confint``.

    Parameters
    ----------
    p : numpy.ndarray
        Estimated probabilities (survival or cumulative incidence).
    se : numpy.ndarray
        Standard errors: of ``log p`` when ``logse`` is true, else of ``p``.
    conf_type : {"plain", "log", "log-log"}
        Transform: ``plain`` p ± z·se(p) clipped to [0, 1]; ``log`` exp(log p ± z·se(log
        p)) with the upper limit capped at 1; ``log-log`` on log(−log p), NaN where p is 0
        or 1.
    conf_level : float
        Two-sided level, e.g. 0.95.
    logse : bool
        Whether ``se`` is on the log scale.

    Returns
    -------
    (lower, upper) : tuple of numpy.ndarray
        NaN where the transform is undefined (p = 0 for ``log``; p ∈ {0, 1} for
        ``log-log``), as R's NA.
    """
    if conf_type not in CONF_TYPES:
        raise ConfigError(f"conf_type '{conf_type}' is not supported; use one of {CONF_TYPES}")
    z = z_value(conf_level, "confidence_limits")
    p = np.asarray(p, dtype=np.float64)
    se = np.asarray(se, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if not logse:
            se = np.where(se == 0, 0.0, se / p)
        if conf_type == "plain":
            half = se * p * z
            return np.maximum(p - half, 0.0), np.minimum(p + half, 1.0)
        if conf_type == "log":
            xx = np.where(p == 0, np.nan, p)
            half = z * se
            return np.exp(np.log(xx) - half), np.minimum(np.exp(np.log(xx) + half), 1.0)
        xx = np.where((p == 0) | (p == 1), np.nan, p)
        half = z * se / np.log(xx)
        centre = np.log(-np.log(xx))
        return np.exp(-np.exp(centre - half)), np.exp(-np.exp(centre + half))


def km_curve(
    duration: np.ndarray, event: np.ndarray, code: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Kaplan–Meier arrays: times, at risk, events, censored, S, Greenwood var of log S."""
    status = (event == code).astype(np.int64)
    times, n_risk, counts = risk_table(duration, status, 2)
    d = counts[:, 1]
    censored = counts[:, 0]
    with np.errstate(divide="ignore", invalid="ignore"):
        surv = np.cumprod(1.0 - d / n_risk)
        inc = np.where(d == 0, 0.0, d / (n_risk * (n_risk - d)))
    var_log = np.cumsum(inc)
    return times, n_risk, d, censored, surv, var_log
