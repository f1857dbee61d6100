"""Tests of qualmodel.survival.durations.time_to_event on hand-computed tiny journeys."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from qualmodel.core.errors import ConfigError
from qualmodel.survival.durations import time_to_event

CUT = "2024-03-31"


def _lead(lid: str, **stamps: str) -> dict:
    row = {"lead_id": lid, "created_at": "2024-01-01", "observed_until": CUT}
    for key, val in stamps.items():
        # one format per column: add a time of day where only a date is given
        row[key] = f"{val} 00:00" if key.endswith("_at") and val and len(val) == 10 else val
    return row


@pytest.fixture
def journeys(journeys_factory):
    leads = [
        _lead("L1", sal_at="2024-01-10", sqo_at="2024-01-20", segment="smb"),  # target
        _lead("L2", sal_at="2024-01-10", disqualified_at="2024-01-15", segment="smb"),
        _lead("L3", sal_at="2024-02-01", segment="ent"),  # censored at cut-off
        _lead("L4", segment="ent"),  # never SAL → excluded
        # tie between SQO and disqualification at the same instant → target wins
        _lead(
            "L5",
            sal_at="2024-02-01",
            sqo_at="2024-02-11",
            disqualified_at="2024-02-11",
            segment="ent",
        ),
        # disqualified before SQO → competing wins
        _lead(
            "L6",
            sal_at="2024-01-05 12:00",
            sqo_at="2024-03-01",
            disqualified_at="2024-01-06",
            segment="smb",
        ),
        # SQO then won: for the sqo→won pair
        _lead("L7", sal_at="2024-01-02", sqo_at="2024-01-12", won_at="2024-02-11", segment="ent"),
        _lead("L8", sal_at="2024-01-02", sqo_at="2024-01-12", lost_at="2024-01-22", segment="ent"),
    ]
    for row in leads:
        for c in ("sal_at", "sqo_at", "disqualified_at", "won_at", "lost_at"):
            row.setdefault(c, None)
    return journeys_factory(leads)


def test_codes_durations_and_cohorts(journeys):
    t = time_to_event(journeys, covariates=["segment"])
    assert list(t.columns) == ["lead_id", "duration", "event", "cohort", "segment"]
    assert t["lead_id"].tolist() == ["L1", "L2", "L3", "L5", "L6", "L7", "L8"]
    assert t["event"].tolist() == [1, 2, 0, 1, 2, 1, 1]
    # L3: 2024-02-01 → 2024-03-31 = 59 days; L6: 12 hours → 0.5 days
    np.testing.assert_array_equal(t["duration"], [10.0, 5.0, 59.0, 10.0, 0.5, 10.0, 10.0])
    assert t["cohort"].tolist() == [
        "2024-01",
        "2024-01",
        "2024-02",
        "2024-02",
        "2024-01",
        "2024-01",
        "2024-01",
    ]
    assert t["segment"].tolist() == ["smb", "smb", "ent", "ent", "smb", "ent", "ent"]
    assert t["event"].dtype == np.int64 and t["duration"].dtype == np.float64


def test_competing_order_decides_ties(journeys):
    # with disqualified listed as target, L5's tie goes to the (new) target
    t = time_to_event(journeys, target="disqualified_at", competing=["sqo_at"])
    assert dict(zip(t.lead_id, t.event, strict=True))["L5"] == 1
    # among competing stamps, the first listed wins a tie
    target = pd.Series(pd.NaT, index=journeys.leads.index, dtype="datetime64[ns]", name="never")
    t2 = time_to_event(journeys, target=target, competing=("disqualified_at", "sqo_at"))
    assert dict(zip(t2.lead_id, t2.event, strict=True))["L5"] == 2
    t3 = time_to_event(journeys, target=target, competing=("sqo_at", "disqualified_at"))
    got = dict(zip(t3.lead_id, t3.event, strict=True))
    assert got["L5"] == 2 and got["L2"] == 3 and got["L1"] == 2


def test_other_stage_pair_and_units(journeys):
    t = time_to_event(journeys, start="sqo_at", target="won_at", competing="lost_at", unit="weeks")
    assert t["lead_id"].tolist() == ["L1", "L5", "L6", "L7", "L8"]
    assert t["event"].tolist() == [0, 0, 0, 1, 2]
    expected = np.array([71, 49, 30, 30, 10]) / 7
    np.testing.assert_allclose(t["duration"], expected, rtol=0, atol=1e-12)
    h = time_to_event(journeys, unit="hours")
    assert h.loc[h.lead_id == "L6", "duration"].item() == 12.0


def test_horizon_censors_administratively(journeys):
    t = time_to_event(journeys, horizon=10)
    got = t.set_index("lead_id")
    assert got.loc["L1", "event"] == 1 and got.loc["L1", "duration"] == 10.0  # at horizon: kept
    assert got.loc["L3", "event"] == 0 and got.loc["L3", "duration"] == 10.0
    t9 = time_to_event(journeys, horizon=9.5).set_index("lead_id")
    assert t9.loc["L1", "event"] == 0 and t9.loc["L1", "duration"] == 9.5
    assert t9.loc["L6", "event"] == 2


def test_resolution_floors_durations(journeys):
    t = time_to_event(journeys, resolution=1).set_index("lead_id")
    assert t.loc["L6", "duration"] == 0.0 and t.loc["L1", "duration"] == 10.0


def test_series_target_positional_or_by_lead_id(journeys):
    q = pd.Series(pd.to_datetime([None, "2024-01-11", None, None, None, None, None, None]))
    t = time_to_event(journeys, target=q)
    got = t.set_index("lead_id")
    assert got.loc["L2", "event"] == 1 and got.loc["L2", "duration"] == 1.0
    assert got.loc["L1", "event"] == 0  # sqo_at is no longer the target
    by_id = q.set_axis(journeys.leads["lead_id"].to_numpy())[::-1]
    with pytest.raises(ConfigError, match="index"):
        time_to_event(journeys, target=by_id)
    t2 = time_to_event(journeys, target=q.set_axis(journeys.leads["lead_id"].to_numpy()))
    pd.testing.assert_frame_equal(t, t2)


def test_stamp_after_observed_until_is_ignored(journeys_factory):
    j = journeys_factory([_lead("A", sal_at="2024-01-01", observed_until="2024-01-31")], None)
    late = pd.Series(pd.to_datetime(["2024-02-15"]), name="qualified_at")
    t = time_to_event(j, target=late, competing=())
    assert t["event"].tolist() == [0] and t["duration"].tolist() == [30.0]


def test_before_start(journeys):
    early = pd.Series(pd.NaT, index=journeys.leads.index, dtype="datetime64[ns]", name="q")
    early.iloc[0] = pd.Timestamp("2024-01-05")  # L1 SAL is 2024-01-10
    with pytest.raises(ConfigError, match="before start 'sal_at' for lead\\(s\\) L1"):
        time_to_event(journeys, target=early)
    t = time_to_event(journeys, target=early, before_start="zero").set_index("lead_id")
    assert t.loc["L1", "duration"] == 0.0 and t.loc["L1", "event"] == 1


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"target": "nope_at"}, "target column 'nope_at'"),
        ({"competing": ("gone_at",)}, "competing\\[0\\] column 'gone_at'"),
        ({"start": "zzz"}, "start column 'zzz'"),
        ({"unit": "months"}, "unit 'months'"),
        ({"horizon": -1}, "horizon"),
        ({"resolution": 0}, "resolution"),
        ({"covariates": ["segment", "xyz"]}, "covariate column\\(s\\) xyz"),
        ({"target": pd.Series(pd.to_datetime(["2024-01-01"]))}, "has 1 rows"),
        ({"target": 3}, "column name or a datetime"),
        ({"target": pd.Series(["a"] * 8)}, "dtype object"),
    ],
)
def test_bad_inputs_are_one_line_config_errors(journeys, kwargs, match):
    with pytest.raises(ConfigError, match=match) as info:
        time_to_event(journeys, **kwargs)
    assert "\n" not in str(info.value)


def test_empty_when_nobody_reached_start(journeys_factory):
    j = journeys_factory([_lead("A", sal_at=None, sqo_at=None, disqualified_at=None)])
    t = time_to_event(j, start="sal_at", target="sqo_at")
    with pytest.raises(ConfigError, match="no lead reached sqo_at or won_at"):
        time_to_event(j)  # the plan's defaults: start at created, no outcome to time
    assert len(t) == 0 and list(t.columns) == ["lead_id", "duration", "event", "cohort"]


def test_default_competing_outcomes_follow_the_plan():
    """The API default competes what the CLI and the reports compete (one rule)."""
    from shapes import make_shape

    from qualmodel import simulate
    from qualmodel.journeys.outcomes import plan_outcomes

    j = make_shape("three_competing", seed=7)
    plan = plan_outcomes(j)
    assert len(plan["competing"]) == 3
    default = time_to_event(j, plan["start"], plan["target"])
    explicit = time_to_event(j, plan["start"], plan["target"], plan["competing"])
    pd.testing.assert_frame_equal(default, explicit)
    assert set(default["event"]) == {0, 1, 2, 3, 4}
    sim = simulate("startup_saas", n_leads=3000, seed=2)
    won = time_to_event(sim, "sal_at", "won_at")
    assert set(won["event"]) == {0, 1, 2, 3}  # disqualified and lost both compete with won
    assert (won["event"] == 3).sum() == (
        time_to_event(sim, "sal_at", "won_at", ("disqualified_at", "lost_at"))["event"] == 3
    ).sum()
