"""Funnel figures: stage counts with conversion rates, touchpoint volume per lead."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from qualmodel.core.errors import ConfigError
from qualmodel.plotting.base import axes, need_columns

__all__ = ["plot_events_per_lead", "plot_funnel"]


def plot_funnel(funnel_df: pd.DataFrame, ax: Axes | None = None, title: str | None = None) -> Axes:
    """Horizontal bars of leads per forward stage, labelled with naive conversion rates.

    Exits (``kind == "exit"``: lost, disqualified) follow below the stages as grey bars, so
    every lead that left the funnel is shown.

    Parameters
    ----------
    funnel_df : pandas.DataFrame
        Output of :func:`qualmodel.journeys.funnel.funnel`.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure when omitted.
    title : str, optional
        Figure title (default ``"Lead funnel"``).

    Returns
    -------
    matplotlib.axes.Axes
    """
    need_columns(
        funnel_df,
        ["stage", "kind", "n", "naive_rate_from_previous", "naive_rate_from_created"],
        "plot_funnel",
        "qualmodel.journeys.funnel.funnel(journeys)",
    )
    ax = axes(ax)
    stages = funnel_df[funnel_df["kind"] == "stage"].reset_index(drop=True)
    y = np.arange(len(stages))[::-1]
    bars = ax.barh(y, stages["n"], color="tab:blue", alpha=0.8, label="leads reaching stage")
    top = float(stages["n"].max()) if len(stages) else 1.0
    for yi, bar, row in zip(y, bars, stages.itertuples(index=False), strict=True):
        text = f"{int(row.n):,}"
        if row.from_stage is not None and row.from_stage == row.from_stage:
            text += f"  ({100 * row.naive_rate_from_previous:.1f}% of {row.from_stage}"
            if row.from_stage != "created":
                text += f", {100 * row.naive_rate_from_created:.1f}% of created"
            text += ")"
        ax.text(bar.get_width() + 0.01 * top, yi, text, va="center", fontsize=8)
    exits = funnel_df[funnel_df["kind"] == "exit"].reset_index(drop=True)
    if len(exits):  # leads that left the funnel (lost, disqualified) below the stages
        ye = -1.0 - np.arange(len(exits))
        gone = ax.barh(ye, exits["n"], color="tab:gray", alpha=0.7, label="leads leaving (exit)")
        for yi, bar, n in zip(ye, gone, exits["n"], strict=True):
            ax.text(bar.get_width() + 0.01 * top, yi, f"{int(n):,}", va="center", fontsize=8)
        y = np.concatenate([y, ye])
        stages = pd.concat([stages, exits], ignore_index=True)
    names = stages["label"] if "label" in stages.columns else stages["stage"]
    ax.set_yticks(y, [str(s) for s in names])
    ax.set_xlim(0, top * 1.6)
    ax.set_xlabel("leads (count)")
    ax.set_ylabel("stage")
    ax.set_title(title or "Lead funnel")
    ax.legend(
        loc="lower right",
        fontsize=8,
        title="rates are censoring-naive",
        title_fontsize=8,
    )
    return ax


def plot_events_per_lead(
    table: pd.DataFrame,
    ax: Axes | None = None,
    by: str | None = None,
    title: str | None = None,
) -> Axes:
    """Bars of the mean number of each touchpoint per lead (grouped when ``by`` is given).

    Parameters
    ----------
    table : pandas.DataFrame
        Output of :func:`qualmodel.journeys.funnel.events_per_lead`.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure when omitted.
    by : str, optional
        Group column of ``table`` (the ``by`` passed to ``events_per_lead``); detected
        automatically when the table has exactly one extra column.
    title : str, optional
        Figure title (default ``"Touchpoints per lead"``).

    Returns
    -------
    matplotlib.axes.Axes
    """
    base = ["event", "n_events", "n_leads", "leads_with_event", "share_with_event"]
    need_columns(table, [*base, "mean_per_lead"], "plot_events_per_lead", "events_per_lead(j)")
    extra = [c for c in table.columns if c not in (*base, "mean_per_lead")]
    if by is None and len(extra) == 1:
        by = extra[0]
    if by is not None and by not in table.columns:
        raise ConfigError(f"plot_events_per_lead: no column '{by}' in the table; check 'by'")
    ax = axes(ax, (8, 4.5))
    events = sorted(table["event"].astype(str).unique())
    x = np.arange(len(events))
    groups = [(None, table)] if by is None else list(table.groupby(by, sort=True, observed=True))
    width = 0.8 / max(len(groups), 1)
    for i, (key, g) in enumerate(groups):
        means = g.set_index(g["event"].astype(str))["mean_per_lead"].reindex(events)
        label = "all leads" if key is None else f"{by} = {key}"
        ax.bar(x - 0.4 + width * (i + 0.5), means.to_numpy(), width=width, label=label)
    ax.set_xticks(x, events, rotation=45, ha="right")
    ax.set_xlabel("event type")
    ax.set_ylabel("mean events per lead (count)")
    ax.set_title(title or "Touchpoints per lead")
    ax.legend(fontsize=8)
    return ax
