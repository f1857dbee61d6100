"""plot_power_curve: one line per metric with its intervals, reference lines, bad input."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from qualmodel.core.errors import ConfigError  # noqa: E402
from qualmodel.plotting import plot_power_curve  # noqa: E402


def _table() -> pd.DataFrame:
    rows = []
    for metric, powers in (("sqo_volume", [0.3, 0.9]), ("precision", [0.1, 0.2])):
        for n, p in zip((100, 400), powers, strict=True):
            rows.append(
                dict(metric=metric, n_leads=n, power=p, power_lo=p - 0.1, power_hi=p + 0.05)
            )
    return pd.DataFrame(rows).assign(alpha=0.05)


def test_one_line_per_metric_with_reference_lines():
    ax = plot_power_curve(_table(), target=0.9)
    labels = ax.get_legend_handles_labels()[1]
    assert sorted(labels) == ["90% power", "alpha", "precision", "sqo_volume"]
    bars = {c.get_label(): c for c in ax.containers}
    data_line = bars["sqo_volume"].lines[0]
    assert list(data_line.get_xdata()) == [100, 400]
    assert list(data_line.get_ydata()) == [0.3, 0.9]
    flat = {round(float(h.get_ydata()[0]), 3) for h in ax.get_lines() if h.get_label() in labels}
    assert {0.9, 0.05} <= flat
    plt.close(ax.figure)


def test_missing_columns_named():
    with pytest.raises(ConfigError, match="power_lo"):
        plot_power_curve(_table().drop(columns="power_lo"))


def test_power_curve_accepts_bounds_rounded_inside_the_estimate():
    """A table whose Wilson bound at power 1 is 1 - 1e-16 still plots (no negative error bar)."""
    import matplotlib.pyplot as plt
    import pandas as pd

    from qualmodel.plotting import plot_power_curve

    table = pd.DataFrame(
        {"metric": "sqo_volume", "n_leads": [100, 200], "power": [0.5, 1.0],
         "power_lo": [0.3, 0.84], "power_hi": [0.7, 1 - 1e-16], "alpha": 0.05}
    )  # fmt: skip
    ax = plot_power_curve(table)
    plt.close(ax.figure)
