"""Tests of the survival figures: what is drawn, labelled and returned."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

import qualmodel.plotting as qp  # noqa: E402
from qualmodel import survival as sv  # noqa: E402
from qualmodel.core.errors import ConfigError  # noqa: E402


@pytest.fixture
def data() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    n = 300
    return pd.DataFrame(
        {
            "duration": np.floor(rng.exponential(40, n)),
            "event": rng.choice([0, 1, 2], n, p=[0.2, 0.5, 0.3]).astype(np.int64),
            "segment": rng.choice(["smb", "ent"], n),
            "cohort": rng.choice(["2024-01", "2024-02", "2024-03"], n),
        }
    )


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_exports():
    assert set(qp.survival.__all__) <= set(dir(qp))
    for name in (
        "plot_survival",
        "plot_cumulative_incidence",
        "plot_naive_vs_competing",
        "plot_cohort_maturity",
    ):
        assert callable(getattr(qp, name))


def test_plot_survival_groups_steps_and_labels(data):
    km = sv.kaplan_meier(data, by="segment")
    fig, ax = plt.subplots()
    out = qp.plot_survival(km, by="segment", ax=ax, unit="days")
    assert out is ax
    assert len(ax.get_lines()) == 2
    assert ax.get_xlabel() == "days since SAL"
    assert ax.get_title() == "Kaplan–Meier survival"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["ent", "smb"]
    line = ax.get_lines()[0]
    ent = km[km.segment == "ent"]
    np.testing.assert_array_equal(line.get_ydata(), np.r_[1.0, ent["survival"]])
    assert line.get_drawstyle() == "steps-post"
    assert len(ax.collections) == 2  # CI bands


def test_plot_cumulative_incidence_with_at_risk_table(data):
    cif = sv.cumulative_incidence(data)
    ax = qp.plot_cumulative_incidence(cif, at_risk=True, event_labels={2: "lost"})
    assert isinstance(ax, matplotlib.axes.Axes)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["SQO", "lost"]
    texts = [t.get_text() for t in ax.texts]
    assert "at risk" in texts and f"{len(data):,}" in texts  # everybody at risk at 0
    assert ax.get_ylabel().startswith("cumulative incidence")
    no_ci = qp.plot_cumulative_incidence(cif, ci=False, events=[1])
    assert len(no_ci.get_lines()) == 1 and len(no_ci.collections) == 0


def test_plot_naive_vs_competing(data):
    ax = qp.plot_naive_vs_competing(sv.naive_conversion(data), sv.cumulative_incidence(data))
    naive, aj = ax.get_lines()
    assert naive.get_ydata()[-1] > aj.get_ydata()[-1]
    assert "naive" in ax.get_legend().get_texts()[0].get_text()
    assert ax.get_ylabel() == "share reaching SQO"
    with pytest.raises(ConfigError, match="no rows for event 3"):
        qp.plot_naive_vs_competing(sv.naive_conversion(data), sv.cumulative_incidence(data), 3)


def test_plot_cohort_maturity(data):
    cohorts = sv.cohort_conversion(data, ages=(30, 60))
    ax = qp.plot_cohort_maturity(cohorts)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["2024-01", "2024-02", "2024-03"]
    assert len(ax.patches) == 3  # maturity bars
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "by 30 days" in labels and "naive share by 60 days" in labels
    assert ax.get_xlabel() == "start cohort (month)"


def test_wrong_table_is_a_config_error(data):
    with pytest.raises(ConfigError, match="kaplan_meier"):
        qp.plot_survival(sv.cumulative_incidence(data))
    with pytest.raises(ConfigError, match="by column 'nope'"):
        qp.plot_survival(sv.kaplan_meier(data), by="nope")
