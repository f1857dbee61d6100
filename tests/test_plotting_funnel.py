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
    widths = [b.get_width() for b in ax.patches]
    plt.close(ax.figure)
    # the exits follow the stages: every lead that left the funnel is shown with its count
    assert names == ["created", "SAL", "approved", "declined", "cancelled", "expired"]
    assert widths == [100, 100, 37, 15, 24, 24]
