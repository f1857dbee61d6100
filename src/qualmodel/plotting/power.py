"""Power curve of a simulated power analysis (:func:`qualmodel.experiment.power`)."""

from __future__ import annotations

import pandas as pd
from matplotlib.axes import Axes

from qualmodel.experiment.mde import DEFAULT_MDE_POWER
from qualmodel.plotting.base import axes, need_columns

__all__ = ["plot_power_curve"]


def plot_power_curve(
    power_table: pd.DataFrame, ax: Axes | None = None, target: float = DEFAULT_MDE_POWER
) -> Axes:
    """Power against leads per arm, one line per metric, with Monte-Carlo 95% intervals.

    Parameters
    ----------
    power_table : pandas.DataFrame
        Output of :func:`qualmodel.experiment.power.power`.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure when omitted.
    target : float, default 0.8
        Power drawn as a dotted reference line.

    Returns
    -------
    matplotlib.axes.Axes
    """
    cols = ["metric", "n_leads", "power", "power_lo", "power_hi", "alpha"]
    need_columns(power_table, cols, "plot_power_curve", "qualmodel.experiment.power")
    ax = axes(ax, (6.5, 4.2))
    for metric, g in power_table.groupby("metric", sort=False):
        g = g.sort_values("n_leads")
        ax.errorbar(
            g["n_leads"],
            g["power"],
            yerr=[
                (g["power"] - g["power_lo"]).clip(lower=0),
                (g["power_hi"] - g["power"]).clip(lower=0),
            ],
            marker="o",
            capsize=3,
            label=str(metric),
        )
    ax.axhline(target, ls=":", c="grey", label=f"{target:.0%} power")
    ax.axhline(float(power_table["alpha"].iloc[0]), ls="--", c="lightgrey", label="alpha")
    ax.set(xlabel="leads per arm", ylabel="power (share of replicates rejecting)", ylim=(0, 1.02))
    ax.legend(fontsize="small")
    return ax
