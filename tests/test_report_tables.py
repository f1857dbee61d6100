"""Analyst tables: counts, p-values, missing cells and labels through i18n."""

from __future__ import annotations

import math

import pandas as pd

from qualmodel.report.tables import MISSING, fmt_p, p_clause, show_table


def test_fmt_p_rounds_and_floors():
    assert fmt_p(0.02457) == "0.025"
    assert fmt_p(2e-9) == "< 0.001"
    assert fmt_p(0.02457, "de") == "0,025"
    assert fmt_p(math.nan) == MISSING
    assert p_clause(0.02457) == "p = 0.025" and p_clause(3e-7) == "p < 0.001"


def _table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "metric": ["sqo_volume", "precision"],
            "leads_simulated": [340445.0, math.nan],
            "weeks": [710.07, 3.25],
            "p_value": [0.02457, 1e-9],
            "empty": [math.nan, math.nan],
            "nurtured": [True, False],
            "difference": [-0.0, 1.5],
        }
    ).set_index("metric")


def test_counts_pvalues_missing_and_empty_columns():
    shown = show_table(_table(), counts=["leads_simulated"])
    assert "empty" not in shown.columns  # a column that holds nothing is dropped
    assert shown["leads_simulated"].tolist() == ["340,445", MISSING]
    assert shown["weeks"].tolist() == ["710", "3.25"]
    assert shown["p_value"].tolist() == ["0.025", "< 0.001"]
    assert shown["nurtured"].tolist() == ["yes", "no"]
    assert shown["difference"].tolist() == ["0", "1.5"]  # no negative zero


def test_german_separators_and_labels():
    shown = show_table(_table(), "de", counts=["leads_simulated"])
    assert shown.iloc[0].tolist()[:3] == ["340.445", "710", "0,025"]
    assert shown["Nurturing"].tolist() == ["ja", "nein"]  # column name as locale label


def test_whole_floats_in_labels_and_multiindex_counts():
    table = pd.DataFrame(
        {("n", 14.0): [1198.0, 1500.0], ("share", 14.0): [0.5, 0.25]},
        index=pd.Index([26768.0, 1096.0], name="price"),
    )
    shown = show_table(table, counts=["n"])
    assert list(shown.index) == ["26,768", "1,096"]
    assert shown.iloc[:, 0].tolist() == ["1,198", "1,500"]
    assert list(shown.columns) == [("n", "14"), ("share", "14")]
