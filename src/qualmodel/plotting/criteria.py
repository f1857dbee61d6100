"""Plots for qualification criteria: timing curves, quality vs volume, workload, scores.

Every function draws on ``ax`` (or a new figure) and returns the ``Axes``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from qualmodel.plotting.base import axes

__all__ = [
    "plot_precision_recall",
    "plot_qualification_curves",
    "plot_score_trajectory",
    "plot_workload",
]


def _err(table: pd.DataFrame, key: str) -> np.ndarray:
    """Asymmetric error bars (2 × n) from ``key``, ``key_lo``, ``key_hi`` (0 where NaN)."""
    est = table[key].to_numpy(dtype=float)
    lo = est - table.get(f"{key}_lo", table[key]).to_numpy(dtype=float)
    hi = table.get(f"{key}_hi", table[key]).to_numpy(dtype=float) - est
    return np.nan_to_num(np.vstack([lo, hi]).clip(min=0))


def plot_qualification_curves(
    journeys,
    criteria: Sequence,
    start: str = "sal_at",
    max_days: float | None = None,
    ax=None,
):
    """Share of leads qualified vs days since ``start``, one curve per criterion.

    The curve is 1 − S(t) of the Kaplan–Meier estimator (censored at ``observed_until``),
    the same quantity as ``share_by_horizon`` in
    :func:`~qualmodel.criteria.compare.compare_criteria`.

    Parameters
    ----------
    journeys : Journeys
    criteria : sequence of Criterion
    start : str, default "sal_at"
    max_days : float, optional
        Right end of the x axis.
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    from qualmodel.criteria.compare import qualification_table, weighted_km

    ax = axes(ax)
    table = qualification_table(journeys, criteria, strict=False)
    leads = journeys.leads
    pop = leads[start].notna().to_numpy()
    s0 = leads[start].to_numpy()[pop]
    until = leads["observed_until"].to_numpy()[pop]
    day = np.timedelta64(1, "D")
    for name in table.columns:
        qa = table[name].to_numpy()[pop]
        qual = ~np.isnat(qa)
        end = np.where(qual, np.maximum(qa, s0), until)
        dur = (end - s0) / day
        times, surv = weighted_km(dur, qual, np.ones((1, len(dur))))
        x = np.r_[0.0, times]
        y = np.r_[0.0, 1.0 - surv[0]] if len(times) else np.zeros(1)
        if max_days is not None:  # extend the last step to the right edge
            x, y = np.r_[x, max(max_days, x[-1])], np.r_[y, y[-1]]
        ax.step(x, 100 * y, where="post", label=name)
    ax.set_xlabel(f"days since {start.removesuffix('_at').upper()}")
    ax.set_ylabel("leads qualified (%)")
    ax.set_title("When would each criterion qualify leads? (Kaplan–Meier)")
    ax.set_ylim(0, None)
    ax.set_xlim(0, max_days)
    ax.legend(title="criterion", fontsize="small")
    ax.grid(alpha=0.3)
    return ax


def plot_precision_recall(compare_table: pd.DataFrame, ax=None):
    """Quality vs volume: precision against recall per criterion, with 95% CI bars.

    Parameters
    ----------
    compare_table : pandas.DataFrame
        Output of :func:`~qualmodel.criteria.compare.compare_criteria`.
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = axes(ax)
    t = compare_table
    for i, row in enumerate(t.itertuples(index=False)):
        sub = t.iloc[[i]]
        ax.errorbar(
            100 * row.recall,
            100 * row.precision,
            xerr=100 * _err(sub, "recall"),
            yerr=100 * _err(sub, "precision"),
            fmt="o",
            capsize=3,
            label=f"{row.criterion} ({100 * row.qualified_rate:.0f}% qualified)",
        )
    if len(t):
        base = 100 * float(t["base_win_rate"].iloc[0])
        ax.axhline(base, color="grey", linestyle="--", label=f"base win rate {base:.1f}%")
    ax.set_xlabel("recall: won leads the criterion qualifies (%)")
    ax.set_ylabel("precision: qualified leads that are won (%)")
    ax.set_title("Quality vs volume of qualification criteria (95% bootstrap CI)")
    ax.set_xlim(0, 100)
    ax.set_ylim(0, None)
    ax.legend(fontsize="small")
    ax.grid(alpha=0.3)
    return ax


def plot_workload(compare_table: pd.DataFrame, ax=None):
    """Sales workload: qualified leads per week per criterion, with 95% CI bars.

    Parameters
    ----------
    compare_table : pandas.DataFrame
        Output of :func:`~qualmodel.criteria.compare.compare_criteria`.
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = axes(ax)
    t = compare_table
    y = np.arange(len(t))
    ax.barh(
        y,
        t["per_week"].to_numpy(dtype=float),
        xerr=_err(t, "per_week"),
        capsize=3,
        color="tab:blue",
        alpha=0.8,
        label="qualified per week (95% CI)",
    )
    ax.set_yticks(y, t["criterion"].tolist())
    ax.invert_yaxis()
    ax.set_xlabel("qualified leads per week (leads/week)")
    ax.set_ylabel("criterion")
    ax.set_title("Sales workload under each criterion")
    ax.legend(fontsize="small")
    ax.grid(alpha=0.3, axis="x")
    return ax


def plot_score_trajectory(
    trajectory: pd.DataFrame,
    threshold: float | None = None,
    qualified: pd.DataFrame | None = None,
    ax=None,
):
    """Score over time for a few leads, with the threshold and qualification instants.

    Parameters
    ----------
    trajectory : pandas.DataFrame
        Output of :func:`~qualmodel.criteria.engine.score_trajectory` (``lead_id, ts, score``).
    threshold : float, optional
        Drawn as a horizontal line.
    qualified : pandas.DataFrame, optional
        Output of :func:`~qualmodel.criteria.engine.qualify`; qualification instants are marked.
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = axes(ax)
    for lead, sub in trajectory.groupby("lead_id", sort=True):
        (line,) = ax.plot(sub["ts"], sub["score"], label=str(lead))
        if qualified is not None:
            hit = qualified[(qualified["lead_id"] == lead) & qualified["qualified_at"].notna()]
            if len(hit):
                ax.plot(hit["qualified_at"], hit["score"], "o", color=line.get_color())
    if threshold is not None:
        ax.axhline(threshold, color="grey", linestyle="--", label=f"threshold {threshold:g}")
    ax.set_xlabel("date")
    ax.set_ylabel("score (points)")
    ax.set_title("Lead score over time (dots: qualification)")
    ax.legend(title="lead", fontsize="small")
    ax.grid(alpha=0.3)
    ax.figure.autofmt_xdate()
    return ax
