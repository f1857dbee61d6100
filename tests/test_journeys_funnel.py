from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest

from qualmodel import InputError, funnel, simulate
from qualmodel.journeys.funnel import events_per_lead, stage_durations
from qualmodel.plotting import plot_events_per_lead, plot_funnel

END = "2025-12-31"


def _leads():
    base = {"created_at": "2025-01-01", "observed_until": END}
    return [
        {"lead_id": "L1", **base},
        {"lead_id": "L2", **base, "mql_at": "2025-01-03", "sal_at": "2025-01-05"},
        {
            "lead_id": "L3",
            **base,
            "mql_at": "2025-01-02",
            "sal_at": "2025-01-04",
            "sqo_at": "2025-01-14",
            "won_at": "2025-02-13",
        },
        {
            "lead_id": "L4",
            **base,
            "mql_at": "2025-01-11",
            "sal_at": "2025-01-21",
            "disqualified_at": "2025-02-20",
        },
        {
            "lead_id": "L5",
            **base,
            "mql_at": "2025-01-05",
            "sal_at": "2025-01-06",
            "sqo_at": "2025-01-26",
            "lost_at": "2025-03-27",
        },
    ]


@pytest.fixture
def small(journeys_factory):
    leads = _leads()
    for row in leads:
        row.setdefault("segment", "smb" if row["lead_id"] in ("L1", "L2", "L3") else "ent")
    events = [
        ("L1", "2025-01-02", "email_open"),
        ("L1", "2025-01-03", "email_open"),
        ("L3", "2025-01-10", "demo_completed"),
    ]
    return journeys_factory(leads, events)


def test_funnel_counts_rates_and_medians(small):
    f = funnel(small).set_index("stage")
    assert list(f.index) == ["created", "mql", "sal", "sqo", "won", "disqualified", "lost"]
    assert f["n"].tolist() == [5, 4, 4, 2, 1, 1, 1]
    assert f["kind"].tolist() == ["stage"] * 5 + ["exit"] * 2
    assert f.loc["mql", "naive_rate_from_previous"] == pytest.approx(0.8)
    assert f.loc["sal", "naive_rate_from_previous"] == pytest.approx(1.0)
    assert f.loc["sqo", "naive_rate_from_previous"] == pytest.approx(0.5)
    assert f.loc["won", "naive_rate_from_previous"] == pytest.approx(0.5)
    assert f.loc["won", "naive_rate_from_created"] == pytest.approx(0.2)
    assert f.loc["disqualified", "naive_rate_from_previous"] == pytest.approx(0.25)
    assert f.loc["lost", "from_stage"] == "sqo"
    # created→mql days 2,1,10,4; mql→sal 2,2,10,1; sal→sqo 10,20; sqo→won 30
    assert f.loc["mql", "median_days_from_previous"] == pytest.approx(3.0)
    assert f.loc["sal", "median_days_from_previous"] == pytest.approx(2.0)
    assert f.loc["sqo", "median_days_from_previous"] == pytest.approx(15.0)
    assert f.loc["won", "median_days_from_previous"] == pytest.approx(30.0)
    assert f.loc["created", "median_days_in_stage"] == pytest.approx(3.0)
    assert f.loc["sal", "median_days_in_stage"] == pytest.approx(15.0)
    assert np.isnan(f.loc["won", "median_days_in_stage"])
    assert f.loc["disqualified", "median_days_from_previous"] == pytest.approx(30.0)
    assert f.loc["lost", "median_days_from_previous"] == pytest.approx(60.0)
    assert "censoring-naive" in funnel(small).attrs["note"]


def test_funnel_without_mql_stage(journeys_factory):
    leads = _leads()
    for row in leads:
        row.pop("mql_at", None)
    f = funnel(journeys_factory(leads)).set_index("stage")
    assert "mql" not in f.index
    assert f.loc["sal", "from_stage"] == "created"
    assert f.loc["sal", "naive_rate_from_previous"] == pytest.approx(0.8)


def test_events_per_lead(small):
    t = events_per_lead(small).set_index("event")
    assert t.loc["email_open", "n_events"] == 2
    assert t.loc["email_open", "leads_with_event"] == 1
    assert t.loc["email_open", "share_with_event"] == pytest.approx(0.2)
    assert t.loc["email_open", "mean_per_lead"] == pytest.approx(0.4)
    g = events_per_lead(small, by="segment").set_index(["segment", "event"])
    assert g.loc[("smb", "email_open"), "mean_per_lead"] == pytest.approx(2 / 3)
    assert g.loc[("ent", "demo_completed"), "n_events"] == 0
    with pytest.raises(InputError, match="no leads column 'colour'"):
        events_per_lead(small, by="colour")


def test_stage_durations(small):
    d = stage_durations(small)
    assert d.to_dict() == {"L3": 10.0, "L5": 20.0}
    assert d.name == "sal_at->sqo_at"
    with pytest.raises(InputError, match="no leads column 'foo_at'"):
        stage_durations(small, "foo_at", "sqo_at")


def test_funnel_on_simulation_matches_columns():
    j = simulate("startup_saas", 5000, seed=1)
    f = funnel(j).set_index("stage")
    assert f.loc["sqo", "n"] == j.leads["sqo_at"].notna().sum()
    assert f.loc["created", "n"] == 5000
    epl = events_per_lead(j)
    assert epl["n_events"].sum() == j.n_events


def test_plots_have_titles_labels_and_legends(small):
    ax = plot_funnel(funnel(small))
    assert ax.get_title() == "Lead funnel"
    assert ax.get_xlabel() == "leads (count)"
    stages = [t.get_text() for t in ax.get_yticklabels()]
    assert stages == ["created", "MQL", "SAL", "SQO", "won", "disqualified", "lost"]  # exits last
    assert ax.get_legend() is not None
    texts = [t.get_text() for t in ax.texts]
    assert any("50.0% of sal" in t for t in texts)
    ax = plot_events_per_lead(events_per_lead(small, by="segment"))
    assert ax.get_ylabel() == "mean events per lead (count)"
    assert ax.get_title() == "Touchpoints per lead"
    assert len(ax.get_legend().get_texts()) == 2
    import matplotlib.pyplot as plt

    plt.close("all")


def test_plot_funnel_rejects_other_tables():
    from qualmodel import ConfigError

    with pytest.raises(ConfigError, match="plot_funnel: table lacks column"):
        plot_funnel(pd.DataFrame({"x": [1]}))


def test_every_terminal_outcome_is_counted_without_sqo_or_sal():
    """A pipeline without SQO (Maven-like) still shows its lost deals; labels from meta."""
    from shapes import make_shape

    no_sqo = make_shape("no_sqo", n=200, seed=4)
    f = funnel(no_sqo).set_index("stage")
    assert f.loc["lost", "n"] == int(no_sqo.leads["lost_at"].notna().sum()) > 0
    assert f.loc["lost", "from_stage"] == "sal"
    no_sal = make_shape("no_sal", n=200, seed=4)
    f = funnel(no_sal).set_index("stage")
    assert f.loc["disqualified", "from_stage"] == "mql"
    assert f.loc["disqualified", "n"] == int(no_sal.leads["disqualified_at"].notna().sum())
    loans = make_shape("three_competing", n=200, seed=4)
    f = funnel(loans).set_index("stage")
    assert f.loc[["won", "lost", "withdrawn", "expired"], "label"].tolist() == [
        "approved", "declined", "cancelled", "expired"
    ]  # fmt: skip
    exits = f[f["kind"] == "exit"]
    assert exits["n"].sum() + f.loc["won", "n"] == int(
        loans.leads[["won_at", "lost_at", "withdrawn_at", "expired_at"]].notna().any(axis=1).sum()
    )


def test_exit_rows_count_only_exits_after_their_stage(journeys_factory):
    """n, rate and median of an exit row describe the same leads (exits after from_stage)."""
    base = {"created_at": "2025-01-01 00:00", "observed_until": END + " 00:00"}
    rows = [
        {
            "lead_id": "A",
            **base,
            "sal_at": "2025-01-05 00:00",
            "disqualified_at": "2025-01-09 00:00",
        },
        {"lead_id": "B", **base, "sal_at": "2025-01-03 00:00"},
        {"lead_id": "C", **base, "disqualified_at": "2025-01-02 00:00"},
        {"lead_id": "D", **base, "disqualified_at": "2025-01-03 00:00"},
        {"lead_id": "E", **base},
    ]
    fun = funnel(journeys_factory(rows))
    exits = fun[fun["kind"] == "exit"].set_index("from_stage")
    assert list(exits.index) == ["created", "sal"]  # the usual stage's row, and the other
    assert exits.loc["sal", "n"] == 1 and exits.loc["sal", "naive_rate_from_previous"] == 0.5
    assert exits.loc["sal", "median_days_from_previous"] == 4.0
    assert (
        exits.loc["created", "n"] == 2 and exits.loc["created", "naive_rate_from_previous"] == 0.4
    )
    assert exits.loc["created", "median_days_from_previous"] == 1.5
    assert exits["n"].sum() == 3  # every exit counted once
