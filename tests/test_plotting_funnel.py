"""Funnel figure: stages labelled as the data names them."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from shapes import make_shape  # noqa: E402

from qualmodel.journeys.funnel import funnel  # noqa: E402
from qualmodel.plotting import plot_funnel  # noqa: E402


def test_funnel_figure_uses_the_data_labels():
    ax = plot_funnel(funnel(make_shape("three_competing", n=100, seed=2)))
    names = [t.get_text() for t in ax.get_yticklabels()]
    plt.close(ax.figure)
    assert names == ["created", "SAL", "approved"]
