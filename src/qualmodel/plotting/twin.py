"""Fit diagnostics of a fitted scenario (:func:`qualmodel.simulation.fit.fit_scenario`)."""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.figure import Figure

__all__ = ["plot_twin_fit"]


def plot_twin_fit(report: dict[str, Any], max_days: float = 365.0) -> Figure:
    """Observed Aalen–Johansen curves with their 95% band against the twin's, and the funnel.

    Parameters
    ----------
    report : dict
        The fit report of :func:`~qualmodel.simulation.fit.fit_scenario` (``curves`` and
        ``funnel`` tables).
    max_days : float, default 365
        Right end of the curve panels.

    Returns
    -------
    matplotlib.figure.Figure
        One panel per stage transition (observed step curve, shaded band, twin dashed)
        and a bar panel of the funnel shares.
    """
    import matplotlib.pyplot as plt

    curves, funnel = report["curves"], report["funnel"]
    parents = list(dict.fromkeys(curves["after"]))
    n = len(parents) + 1
    cols = min(n, 3)
    rows = int(np.ceil(n / cols))
    fig, axs = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.4 * rows), squeeze=False)
    flat = axs.ravel()
    for ax, parent in zip(flat, parents, strict=False):
        sub = curves[(curves["after"] == parent) & (curves["day"] <= max_days)]
        for i, (stage, g) in enumerate(sub.groupby("stage", sort=False)):
            color = f"C{i}"
            ax.step(g["day"], g["observed"], where="post", color=color, label=f"{stage} observed")
            ax.fill_between(g["day"], g["lower"], g["upper"], step="post", color=color, alpha=0.2)
            ax.plot(g["day"], g["twin"], ls="--", color=color, label=f"{stage} twin")
        ax.set(title=f"from {parent}", xlabel="days", ylabel="cumulative incidence")
        ax.legend(fontsize="x-small")
    ax = flat[len(parents)]
    x = np.arange(len(funnel))
    ax.bar(x - 0.2, funnel["observed"], width=0.4, label="observed")
    ax.bar(x + 0.2, funnel["twin"], width=0.4, label="twin")
    ax.set_xticks(x, funnel["stage"])
    ax.set(title="share of leads reaching each stage", ylim=(0, 1.05))
    ax.legend(fontsize="x-small")
    for extra in flat[n:]:
        extra.set_visible(False)
    fig.tight_layout()
    return fig
