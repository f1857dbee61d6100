"""Survival figures: Kaplan–Meier, cumulative incidence, naive vs competing, cohort maturity.

Every function draws step curves from the tidy tables of :mod:`qualmodel.survival.estimators` on
``ax`` (or a new figure) and returns the Axes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from qualmodel.core.errors import ConfigError
from qualmodel.plotting.base import axes, need_columns

__all__ = [
    "plot_cohort_maturity",
    "plot_cumulative_incidence",
    "plot_naive_vs_competing",
    "plot_survival",
]

DEFAULT_EVENT_LABELS: dict[int, str] = {1: "SQO", 2: "disqualified"}


def _split(table: pd.DataFrame, by: str | None) -> list[tuple[str | None, pd.DataFrame]]:
    if by is None:
        return [(None, table)]
    if by not in table.columns:
        raise ConfigError(f"plot: by column '{by}' not in the table; use one of its group columns")
    return [(str(k), g) for k, g in table.groupby(by, sort=True, observed=True)]


def _step(
    ax: Axes,
    time: np.ndarray,
    value: np.ndarray,
    start: float,
    lower: np.ndarray | None,
    upper: np.ndarray | None,
    label: str,
    **kw: object,
) -> None:
    """Right-continuous step curve from (0, start) with an optional shaded band."""
    t = np.r_[0.0, time]
    y = np.r_[start, value]
    (line,) = ax.step(t, y, where="post", label=label, **kw)
    if lower is not None and upper is not None:
        lo = np.r_[start, lower]
        hi = np.r_[start, upper]
        ax.fill_between(t, lo, hi, step="post", alpha=0.2, color=line.get_color(), lw=0)


def _curve_label(by: object, group: object, event: str, n_events: int) -> str:
    """Legend entry of one group's curve: ``nurtured`` / ``not nurtured`` for a yes/no group."""
    if isinstance(group, (bool, np.bool_)) or str(group) in ("True", "False"):
        group = str(by) if str(group) == "True" else f"not {by}"
    return str(group) if n_events == 1 else f"{group}: {event}"


def _xlabel(unit: str, start_label: str) -> str:
    return f"{unit} since {start_label}"


def plot_survival(
    km: pd.DataFrame,
    by: str | None = None,
    ci: bool = True,
    unit: str = "days",
    start_label: str = "SAL",
    title: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Plot Kaplan–Meier curves (share still without the event) with confidence bands.

    Parameters
    ----------
    km : pandas.DataFrame
        Output of :func:`qualmodel.survival.estimators.kaplan_meier`.
    by : str, optional
        Group column of ``km``; one curve per group.
    ci : bool, default True
        Shade the pointwise confidence limits.
    unit, start_label : str
        Axis label parts: ``"<unit> since <start_label>"``.
    title : str, optional
        Figure title (a default is used).
    ax : matplotlib.axes.Axes, optional
        Where to draw.

    Returns
    -------
    matplotlib.axes.Axes
    """
    need_columns(km, ["time", "survival", "lower", "upper"], "plot_survival", "kaplan_meier")
    ax = axes(ax)
    for name, g in _split(km, by):
        _step(
            ax,
            g["time"].to_numpy(),
            g["survival"].to_numpy(),
            1.0,
            g["lower"].to_numpy() if ci else None,
            g["upper"].to_numpy() if ci else None,
            label=name if name is not None else "all leads",
        )
    ax.set_ylim(0, 1.02)
    ax.set_xlim(left=0)
    ax.set_xlabel(_xlabel(unit, start_label))
    ax.set_ylabel("share without the event (Kaplan–Meier)")
    ax.set_title(title or "Kaplan–Meier survival")
    ax.legend(title=by, loc="best")
    return ax


def _at_risk_table(
    ax: Axes, curves: list[tuple[str, pd.DataFrame]], unit: str, start_label: str
) -> None:
    """Write the number at risk at the x ticks under the axes."""
    ticks = [t for t in ax.get_xticks() if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]]
    ax.set_xticks(ticks)
    for row, (name, g) in enumerate(curves):
        time = g["time"].to_numpy()
        risk = g["at_risk"].to_numpy()
        for t in ticks:
            j = np.searchsorted(time, t, side="left")
            n = int(risk[j]) if j < len(time) else 0
            ax.annotate(
                f"{n:,}",
                xy=(t, 0),
                xycoords=("data", "axes fraction"),
                xytext=(0, -36 - 12 * row),
                textcoords="offset points",
                ha="center",
                va="top",
                fontsize=8,
            )
        ax.annotate(
            name,
            xy=(0, 0),
            xycoords="axes fraction",
            xytext=(-30, -36 - 12 * row),
            textcoords="offset points",
            ha="right",
            va="top",
            fontsize=8,
        )
    ax.annotate(
        "at risk",
        xy=(0, 0),
        xycoords="axes fraction",
        xytext=(-30, -24),
        textcoords="offset points",
        ha="right",
        va="top",
        fontsize=8,
        style="italic",
    )
    ax.set_xlabel(_xlabel(unit, start_label), labelpad=30 + 12 * len(curves))


def plot_cumulative_incidence(
    cif: pd.DataFrame,
    by: str | None = None,
    events: Sequence[int] | None = None,
    ci: bool = True,
    at_risk: bool = False,
    event_labels: Mapping[int, str] | None = None,
    unit: str = "days",
    start_label: str = "SAL",
    title: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Plot Aalen–Johansen cumulative incidence curves with bands and an at-risk table.

    Parameters
    ----------
    cif : pandas.DataFrame
        Output of :func:`qualmodel.survival.estimators.cumulative_incidence`.
    by : str, optional
        Group column; one curve per (group, event).
    events : sequence of int, optional
        Event codes to draw (default: all in ``cif``).
    ci : bool, default True
        Shade the pointwise confidence limits.
    at_risk : bool, default False
        Print the number at risk at the x ticks under the axes.
    event_labels : mapping of int to str, optional
        Names of the event codes (default 1 → "SQO", 2 → "disqualified").
    unit, start_label : str
        Axis label parts: ``"<unit> since <start_label>"``.
    title : str, optional
        Figure title.
    ax : matplotlib.axes.Axes, optional
        Where to draw.

    Returns
    -------
    matplotlib.axes.Axes
    """
    need_columns(
        cif,
        ["time", "event", "cif", "lower", "upper", "at_risk"],
        "plot_cumulative_incidence",
        "cumulative_incidence",
    )
    labels = {**DEFAULT_EVENT_LABELS, **(event_labels or {})}
    ax = axes(ax)
    codes = list(events) if events is not None else sorted(cif["event"].unique())
    risk_curves: list[tuple[str, pd.DataFrame]] = []
    for name, g in _split(cif, by):
        for k in codes:
            c = g[g["event"] == k]
            if c.empty:
                continue
            label = labels.get(int(k), f"event {k}")
            _step(
                ax,
                c["time"].to_numpy(),
                c["cif"].to_numpy(),
                0.0,
                c["lower"].fillna(0.0).to_numpy() if ci else None,
                c["upper"].fillna(0.0).to_numpy() if ci else None,
                label=label if name is None else _curve_label(by, name, label, len(codes)),
            )
            if k == codes[0]:
                risk_curves.append((name if name is not None else "all", c))
    ax.set_ylim(-0.02, 1.02)  # a curve that stays at zero shows above the axis line
    ax.set_xlim(left=0)
    ax.set_ylabel("cumulative incidence (Aalen–Johansen)")
    ax.set_xlabel(_xlabel(unit, start_label))
    ax.set_title(title or "Cumulative incidence with competing events")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)  # off the curves
    if at_risk:
        _at_risk_table(ax, risk_curves, unit, start_label)
    return ax


def plot_naive_vs_competing(
    naive: pd.DataFrame,
    cif: pd.DataFrame,
    event: int = 1,
    ci: bool = True,
    event_label: str | None = None,
    unit: str = "days",
    start_label: str = "SAL",
    title: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Overlay naive 1 − Kaplan–Meier and the Aalen–Johansen incidence of one event.

    Parameters
    ----------
    naive : pandas.DataFrame
        Output of :func:`qualmodel.survival.estimators.naive_conversion` (no groups).
    cif : pandas.DataFrame
        Output of :func:`qualmodel.survival.estimators.cumulative_incidence` (no groups).
    event : int, default 1
        Event code compared.
    ci : bool, default True
        Shade the confidence limits.
    event_label : str, optional
        Name of the event (default from the code: 1 → "SQO").
    unit, start_label : str
        Axis label parts.
    title : str, optional
        Figure title.
    ax : matplotlib.axes.Axes, optional
        Where to draw.

    Returns
    -------
    matplotlib.axes.Axes
    """
    for table, src in ((naive, "naive_conversion"), (cif, "cumulative_incidence")):
        need_columns(
            table, ["time", "event", "cif", "lower", "upper"], "plot_naive_vs_competing", src
        )
    name = event_label or DEFAULT_EVENT_LABELS.get(event, f"event {event}")
    ax = axes(ax)
    for table, label, style in (
        (naive, "naive 1 − KM (competing events censored)", "--"),
        (cif, "Aalen–Johansen (competing-aware)", "-"),
    ):
        c = table[table["event"] == event]
        if c.empty:
            raise ConfigError(f"plot_naive_vs_competing: no rows for event {event}")
        _step(
            ax,
            c["time"].to_numpy(),
            c["cif"].to_numpy(),
            0.0,
            c["lower"].fillna(0.0).to_numpy() if ci else None,
            c["upper"].fillna(0.0).to_numpy() if ci else None,
            label=label,
            linestyle=style,
        )
    ax.set_ylim(0, 1.02)
    ax.set_xlim(left=0)
    ax.set_xlabel(_xlabel(unit, start_label))
    ax.set_ylabel(f"share reaching {name}")
    ax.set_title(title or f"Conversion to {name}: naive vs competing risks")
    ax.legend(loc="best")
    return ax


def plot_cohort_maturity(
    cohorts: pd.DataFrame,
    ages: Sequence[float] | None = None,
    unit: str = "days",
    title: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Conversion by start cohort at fixed ages: competing-aware vs naive, with maturity.

    Parameters
    ----------
    cohorts : pandas.DataFrame
        Output of :func:`qualmodel.survival.estimators.cohort_conversion`.
    ages : sequence of float, optional
        Ages to draw (default: all in the table).
    unit : str, default "days"
        Unit of the ages, for the legend.
    title : str, optional
        Figure title.
    ax : matplotlib.axes.Axes, optional
        Where to draw.

    Returns
    -------
    matplotlib.axes.Axes
        Solid lines with error bars: Aalen–Johansen share converted by each age; dashed:
        the naive observed share; grey bars: share of the cohort old enough (mature) at
        the largest age.
    """
    need_columns(
        cohorts,
        ["cohort", "age", "n", "n_mature", "converted", "lower", "upper", "observed_share"],
        "plot_cohort_maturity",
        "cohort_conversion",
    )
    ax = axes(ax)
    sel = sorted(cohorts["age"].unique()) if ages is None else [float(a) for a in ages]
    names = sorted(cohorts["cohort"].unique())
    x = np.arange(len(names))
    oldest = cohorts[cohorts["age"] == max(sel)].set_index("cohort").reindex(names)
    ax.bar(
        x,
        (oldest["n_mature"] / oldest["n"]).to_numpy(),
        color="0.85",
        width=0.8,
        label=f"share mature at {max(sel):g} {unit}",
    )
    for age in sel:
        g = cohorts[cohorts["age"] == age].set_index("cohort").reindex(names)
        est = g["converted"].to_numpy()
        err = np.vstack([est - g["lower"].to_numpy(), g["upper"].to_numpy() - est])
        err = np.nan_to_num(np.maximum(err, 0.0))
        bar = ax.errorbar(x, est, yerr=err, marker="o", capsize=2, label=f"by {age:g} {unit}")
        ax.plot(
            x,
            g["observed_share"].to_numpy(),
            linestyle="--",
            color=bar.lines[0].get_color(),
            label=f"naive share by {age:g} {unit}",
        )
    ax.set_xticks(x, names, rotation=45, ha="right")
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("start cohort (month)")
    ax.set_ylabel("share converted")
    ax.set_title(title or "Conversion by cohort: competing-aware vs naive")
    ax.legend(loc="best", fontsize=8)
    return ax
