"""The explorer's figure: four panels, built once and refilled on every update.

Creating axes and tick objects costs more than drawing them, so :func:`draw` builds the
2 × 2 figure once (:func:`new_figure`) and afterwards only replaces the data of its lines
and bars, the legends and the axis limits. Panels:

1. top left — share of SALs qualified by day since SAL (1 − Kaplan–Meier), the definition
   and the scenario's current definition, with the horizon dotted;
2. top right — precision and recall of wins and the share of SALs qualified, per
   definition, with the win rate of all SALs dashed;
3. bottom left — SQOs per calendar week (sales workload);
4. bottom right — SAL → SQO under the definition: naive 1 − KM (disqualification
   censored) against the Aalen–Johansen incidence (disqualification competing).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from qualmodel.core.i18n import check_lang, localize_figure, t
from qualmodel.plotting.png import png_bytes
from qualmodel.report.explorer import Explored, label

__all__ = ["BAR_METRICS", "MAX_DAYS", "draw", "figure_png", "new_figure"]

#: Right end of the day axes (days since SAL).
MAX_DAYS = 180.0
#: Bars of the top-right panel (compare_criteria columns, shown in percent).
BAR_METRICS: tuple[str, ...] = ("precision", "recall", "qualified_rate")
_WIDTH = 0.4


def new_figure(lang: str = "en") -> Any:
    """Build the empty explorer figure for ``lang`` (not registered with pyplot)."""
    from matplotlib.figure import Figure

    check_lang(lang)
    fig = Figure(figsize=(12, 8), dpi=80)  # fixed margins: a layout engine doubles the time
    (a1, a2), (a3, a4) = fig.subplots(2, 2)
    fig.subplots_adjust(left=0.06, right=0.985, top=0.95, bottom=0.07, hspace=0.32, wspace=0.16)
    x = np.arange(len(BAR_METRICS))
    artists: dict[str, Any] = {
        "curves": [a1.step([], [], where="post")[0] for _ in range(2)],
        "bars": [a2.bar(x + i * _WIDTH, np.zeros(len(x)), _WIDTH) for i in range(2)],
        "base": a2.axhline(0.0, color="grey", linestyle="--"),
        "weekly": [a3.step([], [], where="post")[0] for _ in range(2)],
        "naive": a4.step([], [], where="post", linestyle="--")[0],
        "cif": a4.step([], [], where="post")[0],
    }
    a1.axvline(0.0, color="grey", linestyle=":")
    a1.set(xlim=(0, MAX_DAYS), title=t("explorer.plot.curves", lang))
    a1.set(xlabel=t("explorer.plot.days", lang), ylabel=t("explorer.plot.share", lang))
    a2.set_xticks(x + _WIDTH / 2, [t(f"explorer.bar.{k}", lang) for k in BAR_METRICS])
    a2.set(title=t("explorer.plot.quality", lang), ylabel="%", ylim=(0, 100))
    a3.set(title=t("explorer.plot.weekly", lang), ylabel=t("explorer.plot.sqos", lang))
    a3.xaxis_date()
    from matplotlib.dates import AutoDateLocator

    a3.xaxis.set_major_locator(AutoDateLocator(maxticks=6))
    a4.set(xlim=(0, MAX_DAYS), ylim=(0, 1.02), title=t("explorer.plot.naive", lang))
    a4.set(xlabel=t("explorer.plot.days", lang), ylabel=t("explorer.plot.cif", lang))
    for ax in (a1, a2, a3, a4):
        ax.grid(alpha=0.3)
    fig._qualmodel_explorer = artists  # the refillable artists, found again by draw()
    return localize_figure(fig, lang)


def draw(explored: Explored, lang: str = "en", fig: Any = None) -> Any:
    """Draw ``explored`` into ``fig`` (a figure from :func:`new_figure`) or a new figure.

    Parameters
    ----------
    explored : Explored
    lang : str, default "en"
    fig : matplotlib.figure.Figure, optional
        A figure made by :func:`new_figure` (or returned by an earlier ``draw``) in the
        same language; refilled in place.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig = fig if fig is not None else new_figure(lang)
    art = fig._qualmodel_explorer
    a1, a2, a3, a4 = fig.axes
    names = [label(explored, "definition", lang)]
    if explored.reference is not None:
        names.append(label(explored, "reference", lang))
    curves = [g for _, g in explored.curves.groupby("criterion", sort=False)]
    weeks = [g for _, g in explored.weekly.groupby("criterion", sort=False)]
    for i, line in enumerate(art["curves"]):
        _fill_step(line, _nth(curves, i), "day", "share", 100.0, extend_to=MAX_DAYS)
    a1.lines[2].set_xdata([explored.settings.horizon_days] * 2)
    _top(a1, art["curves"])
    for i, bars in enumerate(art["bars"]):
        row = explored.table.iloc[i] if i < len(explored.table) else None
        for bar, key in zip(bars, BAR_METRICS, strict=True):
            bar.set_height(0.0 if row is None else 100 * np.nan_to_num(float(row[key])))
    art["base"].set_ydata([100 * float(explored.table["base_win_rate"].iloc[0])] * 2)
    for i, line in enumerate(art["weekly"]):
        _fill_step(line, _nth(weeks, i), "week", "sqos", 1.0)
    _top(a3, art["weekly"], span=True, room=1.3)  # room for the legend
    for key in ("naive", "cif"):
        tbl = getattr(explored, key)
        _fill_step(art[key], tbl[tbl["event"] == 1], "time", "cif", 1.0, start=0.0)
    _legends(art, names, lang)
    return fig


def _nth(items: list[Any], i: int) -> Any:
    return items[i] if i < len(items) else None


def _fill_step(
    line: Any,
    table: Any,
    x: str,
    y: str,
    scale: float,
    extend_to: float | None = None,
    start: float | None = None,
) -> None:
    """Set a step line's data from two table columns (hidden when ``table`` is None)."""
    if table is None or table.empty:
        line.set_data([], [])
        line.set_visible(False)
        return
    xs, ys = table[x].to_numpy(), scale * table[y].to_numpy(dtype=float)
    if np.issubdtype(xs.dtype, np.datetime64):
        from matplotlib.dates import date2num

        xs = date2num(xs)
    if start is not None:  # curves that start at (0, 0)
        xs, ys = np.r_[start, xs], np.r_[0.0, ys]
    if extend_to is not None:  # carry the last step to the right edge
        xs, ys = np.r_[xs, max(extend_to, float(xs[-1]))], np.r_[ys, ys[-1]]
    line.set_data(xs, ys)
    line.set_visible(True)


def _top(ax: Any, lines: list[Any], span: bool = False, room: float = 1.05) -> None:
    """Y axis from 0 to a little above the visible lines (and their x span if asked)."""
    shown = [ln for ln in lines if ln.get_visible() and len(ln.get_ydata())]
    top = max((float(np.max(ln.get_ydata())) for ln in shown), default=1.0)
    ax.set_ylim(0, room * top + 0.5)
    if span and shown:
        xs = np.concatenate([np.asarray(ln.get_xdata(), dtype=float) for ln in shown])
        ax.set_xlim(xs.min(), xs.max())


def _legends(art: dict[str, Any], names: list[str], lang: str) -> None:
    """One legend per panel with the current definition names."""
    n = len(names)
    for key, where in (("curves", "lower right"), ("weekly", "upper left")):
        lines = art[key][:n]
        lines[0].axes.legend(lines, names, fontsize="small", loc=where)
    bars = [b.patches[0] for b in art["bars"][:n]]
    for extra in art["bars"][n:]:
        for bar in extra:
            bar.set_height(0.0)
    art["base"].axes.legend(
        [*bars, art["base"]], [*names, t("explorer.plot.base", lang)], fontsize="small"
    )
    art["cif"].axes.legend(
        [art["naive"], art["cif"]],
        [t("explorer.plot.naive_curve", lang), t("explorer.plot.cif_curve", lang)],
        fontsize="small",
        loc="upper left",
    )


def figure_png(fig: Any, dpi: int = 80) -> bytes:
    """PNG bytes of a figure (for an image widget or an HTML fallback), uncropped."""
    return png_bytes(fig, dpi, tight=False)
