"""What every figure module shares: a new or given Axes, and the input-table check."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.axes import Axes

from qualmodel.core.errors import ConfigError

__all__ = ["DEFAULT_SIZE", "axes", "legend_outside", "need_columns"]

#: Figure size (inches) of a new figure when no Axes is given.
DEFAULT_SIZE: tuple[float, float] = (7, 4.5)


def axes(ax: Axes | None, size: tuple[float, float] = DEFAULT_SIZE) -> Axes:
    """Return ``ax``, or the Axes of a new figure of ``size`` inches when it is ``None``.

    Parameters
    ----------
    ax : matplotlib.axes.Axes or None
        Axes to draw on.
    size : tuple of float, default (7, 4.5)
        Width and height of a new figure.

    Returns
    -------
    matplotlib.axes.Axes
    """
    if ax is None:
        _, ax = plt.subplots(figsize=size)
    return ax


def need_columns(table: pd.DataFrame, cols: Sequence[str], func: str, source: str) -> None:
    """Raise a one-line error when ``table`` lacks any of ``cols``.

    Parameters
    ----------
    table : pandas.DataFrame
        Input of a plot function.
    cols : sequence of str
        Columns the plot needs.
    func : str
        The plot function's name (starts the message).
    source : str
        What produces a suitable table (named in the fix).

    Raises
    ------
    ConfigError
        ``"<func>: table lacks column(s) ...; pass the output of <source>"``.
    """
    missing = [c for c in cols if c not in table.columns]
    if missing:
        raise ConfigError(
            f"{func}: table lacks column(s) {', '.join(missing)}; pass the output of {source}"
        )


def legend_outside(ax: Axes, title: str | None = None) -> None:
    """Place the legend of ``ax`` right of the plot area, where it covers no data.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        Axes with labelled artists.
    title : str, optional
        Legend title.
    """
    ax.legend(title=title, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    ax.figure.tight_layout()
