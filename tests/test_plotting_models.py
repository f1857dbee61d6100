"""Tests of the hazard-ratio forest plot."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

from pathlib import Path  # noqa: E402

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

import qualmodel.plotting as qp  # noqa: E402
from qualmodel.core.errors import ConfigError  # noqa: E402
from qualmodel.survival import models as md  # noqa: E402

REF = Path(__file__).resolve().parent / "reference"


@pytest.fixture(scope="module")
def fit() -> md.ModelFit:
    return md.cox(pd.read_csv(REF / "cox_input.csv"), ["plan", "score", "partner"])


def test_forest_plot_draws_each_term_with_its_interval(fit):
    ax = qp.plot_hazard_ratios(fit.table)
    assert ax.get_xscale() == "log"
    assert ax.get_xlabel() == "hazard ratio (log scale)"
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == list(fit.table["term"])
    points = ax.lines[0].get_xdata()
    np.testing.assert_allclose(points, fit.table["hr"])
    segs = ax.collections[0].get_segments()
    np.testing.assert_allclose([s[0][0] for s in segs], fit.table["hr_lower"])
    np.testing.assert_allclose([s[1][0] for s in segs], fit.table["hr_upper"])
    assert ax.get_title()
    plt.close("all")


def test_forest_plot_accepts_fit_and_axes(fit):
    _, ax = plt.subplots()
    out = qp.plot_hazard_ratios(fit, ax=ax)
    assert out is ax and "cox" in ax.get_title()
    plt.close("all")


def test_forest_plot_rejects_other_tables():
    with pytest.raises(ConfigError, match="hr_lower"):
        qp.plot_hazard_ratios(pd.DataFrame({"term": ["a"], "hr": [1.0]}))


def test_forest_plot_clips_zero_lower_and_infinite_upper_limits():
    data = pd.read_csv(REF / "cox_input.csv")
    # a level whose rows are all censored: its coefficient diverges, hr_lower underflows
    level = np.where((data["event"] != 1) & (data["id"] % 3 == 0), "dead", data["plan"])
    with pytest.warns(md.ModelWarning):
        fit = md.cox(data.assign(lv=level), ["lv", "score"])
    row = fit.table.set_index("term").loc["lv=dead"]
    assert row["hr_lower"] == 0 and row["hr_upper"] == np.inf
    ax = qp.plot_hazard_ratios(fit)
    segs = ax.collections[0].get_segments()
    lows = np.array([s[0][0] for s in segs])
    highs = np.array([s[1][0] for s in segs])
    assert np.isfinite(lows).all() and (lows > 0).all() and np.isfinite(highs).all()
    i = list(fit.table["term"]).index("lv=dead")
    assert lows[i] < fit.table["hr"].min() and highs[i] > fit.table["hr"].max()
    markers = {line.get_marker(): line for line in ax.lines}
    np.testing.assert_allclose(markers["<"].get_xdata(), [lows[i]])
    np.testing.assert_allclose(markers[">"].get_xdata(), [highs[i]])
    plt.close("all")


def test_forest_plot_rejects_non_positive_hazard_ratio():
    table = pd.DataFrame({"term": ["a"], "hr": [0.0], "hr_lower": [0.0], "hr_upper": [1.0]})
    with pytest.raises(ConfigError, match="not finite and positive"):
        qp.plot_hazard_ratios(table)


@pytest.fixture(scope="module")
def fg_fit() -> md.ModelFit:
    return md.fine_gray(pd.read_csv(REF / "coxph_input.csv"), ["grade", "x1", "x2"])


def test_forest_plot_of_fine_gray_is_labelled_subdistribution(fg_fit):
    ax = qp.plot_hazard_ratios(fg_fit)
    assert ax.get_xlabel() == "subdistribution hazard ratio (log scale)"
    assert "Fine–Gray, cause 1" in ax.get_title()
    np.testing.assert_allclose(ax.lines[0].get_xdata(), fg_fit.table["hr"])
    plt.close("all")


def test_predicted_cif_plot_draws_one_step_curve_per_profile(fg_fit):
    profiles = pd.DataFrame({"grade": ["high", "low"], "x1": [0.0, 0.0], "x2": [0, 0]})
    profiles.index = ["high grade", "low grade"]
    cif = md.predict_cif(fg_fit, profiles)
    ax = qp.plot_predicted_cif(cif)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["high grade", "low grade"]
    assert len(ax.lines) == 2
    for line, (_, part) in zip(ax.lines, cif.groupby("profile", sort=False), strict=True):
        assert line.get_ydata()[0] == 0.0
        assert line.get_ydata()[-1] == pytest.approx(part["cif"].iloc[-1])
    # grade low has a negative coefficient: its curve ends lower
    assert ax.lines[1].get_ydata()[-1] < ax.lines[0].get_ydata()[-1]
    assert ax.get_ylim() == (0.0, 1.0)
    plt.close("all")


def test_predicted_cif_plot_rejects_other_tables():
    with pytest.raises(ConfigError, match="predict_cif"):
        qp.plot_predicted_cif(pd.DataFrame({"time": [1.0]}))
