"""Regression-model figures: a forest plot of hazard ratios with confidence intervals."""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.ticker import FuncFormatter

from qualmodel.errors import ConfigError

__all__ = ["plot_hazard_ratios"]

_COLUMNS = ("term", "hr", "hr_lower", "hr_upper")


def plot_hazard_ratios(table: pd.DataFrame | Any, ax: Axes | None = None) -> Axes:
    """Forest plot: one row per term, hazard ratio with its confidence interval.

    Parameters
    ----------
    table : pandas.DataFrame or ModelFit
        The ``table`` of :func:`qualmodel.models.cox` or :func:`qualmodel.models.weibull_aft`
        (its implied PH hazard ratios), or the fit itself; needs ``term, hr, hr_lower,
        hr_upper``.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure when omitted.

    Returns
    -------
    matplotlib.axes.Axes
        Terms top to bottom in table order, a dashed line at HR = 1, log x-axis labelled
        "hazard ratio (log scale)".

    Raises
    ------
    ConfigError
        The table lacks the hazard-ratio columns, is empty, or has non-positive ratios.
    """
    title = "Hazard ratios"
    if hasattr(table, "table") and hasattr(table, "model"):
        title = f"Hazard ratios ({table.model})"
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
    if not (np.all(hr > 0) and np.all(lo > 0)):
        raise ConfigError("plot_hazard_ratios: hazard ratios must be positive; check the table")
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 0.45 * len(table) + 1.5))
    y = np.arange(len(table))[::-1]
    hi_plot = np.where(np.isfinite(hi), hi, np.nanmax(hr) * 10)
    ax.hlines(y, lo, hi_plot, color="C0", lw=2, label="confidence interval")
    ax.plot(hr, y, "o", color="C0", label="hazard ratio")
    ax.axvline(1.0, color="grey", ls="--", lw=1)
    ax.set_xscale("log")
    plain = FuncFormatter(lambda v, _pos: f"{v:g}")
    ax.xaxis.set_major_formatter(plain)
    ax.xaxis.set_minor_formatter(plain)
    ax.set_yticks(y)
    ax.set_yticklabels(table["term"].astype(str))
    ax.set_ylim(-0.7, len(table) - 0.3)
    ax.set_xlabel("hazard ratio (log scale)")
    ax.set_ylabel("term")
    ax.set_title(title)
    ax.legend(loc="best", fontsize="small")
    return ax
