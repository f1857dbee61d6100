"""Regression-model figures: forest plot of (subdistribution) hazard ratios, predicted CIFs."""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.ticker import FuncFormatter

from qualmodel.core.errors import ConfigError

__all__ = ["plot_hazard_ratios", "plot_predicted_cif"]

_COLUMNS = ("term", "hr", "hr_lower", "hr_upper")


def plot_hazard_ratios(table: pd.DataFrame | Any, ax: Axes | None = None) -> Axes:
    """Forest plot: one row per term, hazard ratio with its confidence interval.

    Parameters
    ----------
    table : pandas.DataFrame or ModelFit
        The ``table`` of :func:`~qualmodel.survival.models.cox`, :func:`~.fine_gray`
        (subdistribution hazard ratios) or :func:`qualmodel.survival.models.weibull_aft` (its
        implied PH hazard ratios), or the fit itself; needs ``term, hr, hr_lower,
        hr_upper``.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure when omitted.

    Returns
    -------
    matplotlib.axes.Axes
        Terms top to bottom in table order, a dashed line at HR = 1, log x-axis labelled
        "hazard ratio (log scale)". A limit that cannot be drawn on a log axis (an upper
        limit that overflowed to infinity, a lower limit that underflowed to 0, as for a
        level without events) is clipped at 10 times the largest / a tenth of the smallest
        drawn value and marked with an arrow head (``">"`` / ``"<"``, label "interval
        clipped").

    Raises
    ------
    ConfigError
        The table lacks the hazard-ratio columns, is empty, or has hazard ratios that are
        not finite and positive.
    """
    title, xlabel = "Hazard ratios", "hazard ratio (log scale)"
    if hasattr(table, "table") and hasattr(table, "model"):
        title = f"Hazard ratios ({table.model})"
        if table.model == "fine_gray":
            cause = table.summary.get("cause", 1)
            title = f"Subdistribution hazard ratios (Fine–Gray, cause {cause})"
            xlabel = "subdistribution hazard ratio (log scale)"
        table = table.table
    if not isinstance(table, pd.DataFrame):
        raise ConfigError("plot_hazard_ratios: pass the table (or fit) of qualmodel.cox")
    missing = [c for c in _COLUMNS if c not in table.columns]
    if missing:
        raise ConfigError(
            f"plot_hazard_ratios: table lacks column(s) {', '.join(missing)}; pass the "
            f"output of qualmodel.cox(...) or weibull_aft(...)"
        )
    if table.empty:
        raise ConfigError("plot_hazard_ratios: the table has no terms to plot")
    hr = table["hr"].to_numpy(np.float64)
    lo = table["hr_lower"].to_numpy(np.float64)
    hi = table["hr_upper"].to_numpy(np.float64)
    if not (np.isfinite(hr).all() and (hr > 0).all()):
        bad = list(table["term"].astype(str)[~(np.isfinite(hr) & (hr > 0))])
        raise ConfigError(
            f"plot_hazard_ratios: hazard ratio(s) of {', '.join(bad[:5])} not finite and "
            f"positive; drop those terms (a diverging coefficient) before plotting"
        )
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 0.45 * len(table) + 1.5))
    y = np.arange(len(table))[::-1]
    drawn = np.concatenate([hr, lo[np.isfinite(lo) & (lo > 0)], hi[np.isfinite(hi) & (hi > 0)]])
    clip_lo = lo <= 0  # underflowed to 0 (NaN limits are left undrawn)
    clip_hi = np.isposinf(hi)
    lo_plot = np.where(clip_lo, drawn.min() / 10, lo)
    hi_plot = np.where(clip_hi, drawn.max() * 10, hi)
    ax.hlines(y, lo_plot, hi_plot, color="C0", lw=2, label="confidence interval")
    ax.plot(hr, y, "o", color="C0", label="hazard ratio")
    if clip_lo.any() or clip_hi.any():
        ax.plot(lo_plot[clip_lo], y[clip_lo], "<", color="C0", label="interval clipped")
        ax.plot(hi_plot[clip_hi], y[clip_hi], ">", color="C0")
    ax.axvline(1.0, color="grey", ls="--", lw=1)
    ax.set_xscale("log")
    plain = FuncFormatter(lambda v, _pos: f"{v:g}")
    ax.xaxis.set_major_formatter(plain)
    ax.xaxis.set_minor_formatter(plain)
    ax.set_yticks(y)
    ax.set_yticklabels(table["term"].astype(str))
    ax.set_ylim(-0.7, len(table) - 0.3)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("term")
    ax.set_title(title)
    ax.legend(loc="best", fontsize="small")
    return ax


def plot_predicted_cif(
    cif: pd.DataFrame, ax: Axes | None = None, title: str | None = None, unit: str = "days"
) -> Axes:
    """Predicted cumulative incidence per covariate profile (step curves).

    Parameters
    ----------
    cif : pandas.DataFrame
        Output of :func:`qualmodel.survival.models.predict_cif`: ``profile, time, cif``.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure when omitted.
    title : str, optional
        Axes title (default "Predicted cumulative incidence (Fine–Gray)").
    unit : str, default "days"
        Time unit for the x label.

    Returns
    -------
    matplotlib.axes.Axes
        One post-step curve per profile starting at (0, 0), labelled by profile; y from 0
        to 1.

    Raises
    ------
    ConfigError
        The table lacks ``profile, time, cif`` or is empty.
    """
    missing = [c for c in ("profile", "time", "cif") if c not in getattr(cif, "columns", [])]
    if missing:
        raise ConfigError(
            f"plot_predicted_cif: table lacks column(s) {', '.join(missing)}; pass the "
            f"output of qualmodel.survival.models.predict_cif(...)"
        )
    if cif.empty:
        raise ConfigError("plot_predicted_cif: the table has no rows to plot")
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4.5))
    for profile, part in cif.groupby("profile", sort=False):
        t = np.concatenate([[0.0], part["time"].to_numpy(np.float64)])
        y = np.concatenate([[0.0], part["cif"].to_numpy(np.float64)])
        ax.step(t, y, where="post", label=str(profile))
    ax.set_ylim(0, 1)
    ax.set_xlim(left=0)
    ax.set_xlabel(f"time ({unit})")
    ax.set_ylabel("cumulative incidence")
    ax.set_title(title or "Predicted cumulative incidence (Fine–Gray)")
    ax.legend(loc="best", fontsize="small", title="profile")
    return ax
