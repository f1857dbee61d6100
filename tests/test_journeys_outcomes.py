"""qualmodel.journeys.outcomes: plans on funnels of every shape, the headline and the cure rule.

Estimates are checked against R (``tests/reference/funnels.R``): Aalen–Johansen shares of
three competing outcomes at two horizons, on exact, floored and ceiled durations computed
by R from the same timestamps, and a direct maximum-likelihood fit of the Weibull mixture
cure model (exact durations, and floored ones with day-0 events at ``zero_time=0.5``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from shapes import SHAPES, make_shape

from qualmodel import Journeys
from qualmodel.core.errors import ConfigError, ContractError
from qualmodel.journeys.outcomes import (
    label_missing,
    plan_outcomes,
    resolve_stage,
    stage_labels,
)
from qualmodel.report.wording import cure_reason
from qualmodel.survival.durations import time_to_event
from qualmodel.survival.headline import cure_support, headline
from qualmodel.survival.models import cure_model

REF = Path(__file__).parent / "reference"
REF_SEEDS = {"three_competing": 7, "no_lost": 3}  # as make_funnels_input.py


def _tte(j, plan, **kw):
    return time_to_event(j, plan["start"], plan["target"], plan["competing"], **kw)


@pytest.mark.parametrize("shape", list(SHAPES))
def test_default_plan_follows_the_stages_present(shape):
    start, target, competing, outcomes = SHAPES[shape]
    plan = plan_outcomes(make_shape(shape))
    assert (plan["start"], plan["target"], tuple(plan["competing"])) == (start, target, competing)
    names = {v if v.endswith("_at") else f"{v}_at": k for k, v in outcomes.items()}
    assert plan["name"] == names.get(target, {"sqo_at": "SQO", "won_at": "won"}[target])
    assert plan["competing_names"] == [names.get(c, c.removesuffix("_at")) for c in competing]
    assert plan["start_name"] == {"mql_at": "MQL", "sal_at": "SAL"}[start]


def test_three_competing_outcomes_are_kept_apart():
    j = make_shape("three_competing", seed=7)
    plan = plan_outcomes(j)
    tte = _tte(j, plan)
    assert sorted(tte["event"].unique()) == [0, 1, 2, 3, 4]
    assert plan["event_labels"] == {
        0: "still open", 1: "approved", 2: "declined", 3: "cancelled", 4: "expired"
    }  # fmt: skip
    assert resolve_stage(j, "cancelled") == "withdrawn_at"
    assert resolve_stage(j, "Declined") == "lost_at"
    assert stage_labels(j)["won_at"] == "approved"


def test_explicit_start_target_and_competing():
    j = make_shape("three_competing", seed=7)
    plan = plan_outcomes(j, start="sal", target="declined", competing=["approved"])
    assert (plan["target"], plan["competing"]) == ("lost_at", ["won_at"])
    assert plan_outcomes(j, competing=[])["competing"] == []
    with pytest.raises(ConfigError, match="'mql': no such stage in these journeys"):
        plan_outcomes(j, start="mql")
    with pytest.raises(ConfigError, match="is the start or the target"):
        plan_outcomes(j, competing=["approved"])


@pytest.mark.parametrize("shape", list(REF_SEEDS))
@pytest.mark.parametrize("rounding", ["exact", "floor", "ceil"])
def test_headline_shares_match_r(shape, rounding):
    ref = pd.read_csv(REF / "funnels_cif.csv")
    j = make_shape(shape, seed=REF_SEEDS[shape])
    plan = plan_outcomes(j)
    kw = {} if rounding == "exact" else {"resolution": 1, "rounding": rounding}
    tte = _tte(j, plan, **kw)
    for h in (30, 90):
        r = ref[(ref["shape"] == shape) & (ref["rounding"] == rounding) & (ref["horizon"] == h)]
        r = r.sort_values("event")
        hl = headline(tte, plan, h)
        mine = hl[hl["kind"].isin(["target", "competing"])]
        np.testing.assert_allclose(mine["share"], r["cif"], rtol=0, atol=1e-12)
        np.testing.assert_allclose(mine["lower"], r["lower"], rtol=0, atol=1e-9)
        np.testing.assert_allclose(mine["upper"], r["upper"], rtol=0, atol=1e-9)
        open_row = hl.set_index("kind").loc["open"]
        assert open_row["share"] == pytest.approx(1 - r["cif"].sum(), abs=1e-12)
        zeros = int(((tte["duration"] == 0) & (tte["event"] > 0)).sum())
        assert zeros == int(r["n_zero"].iloc[0])
    if rounding == "ceil":  # ceiling leaves no day-0 events on timestamped data
        assert not ((tte["duration"] == 0) & (tte["event"] > 0)).any()


@pytest.mark.parametrize("shape", list(REF_SEEDS))
@pytest.mark.parametrize("rounding", ["exact", "floor"])
def test_cure_model_matches_r_mle_with_day_zero_default(shape, rounding):
    ref = pd.read_csv(REF / "funnels_cure.csv").set_index(["shape", "rounding"])
    r = ref.loc[(shape, rounding)]
    j = make_shape(shape, seed=REF_SEEDS[shape])
    kw = {} if rounding == "exact" else {"resolution": 1}
    s = cure_model(_tte(j, plan_outcomes(j), **kw)).summary
    assert s["zero_events"] == r["n_zero"]
    assert s["cured_fraction"] == pytest.approx(r["cured_fraction"], abs=1e-7)
    assert s["log_likelihood"] == pytest.approx(r["log_likelihood"], abs=1e-10)


def test_cure_model_zero_time_knob():
    j = make_shape("three_competing", seed=7)
    tte = _tte(j, plan_outcomes(j), resolution=1)
    with pytest.raises(ConfigError, match="event\\(s\\) at duration 0; pass zero_time"):
        cure_model(tte, zero_time=None)
    with pytest.raises(ConfigError, match="at most the smallest positive event duration"):
        cure_model(tte, zero_time=5.0)
    a = cure_model(tte, zero_time=0.25).summary["cured_fraction"]
    b = cure_model(tte).summary["cured_fraction"]
    assert a != b


@pytest.mark.parametrize("shape", list(SHAPES))
def test_headline_never_convert_equals_the_cure_model(shape):
    j = make_shape(shape, seed=REF_SEEDS.get(shape, 1))
    plan = plan_outcomes(j)
    tte = _tte(j, plan)
    s = cure_model(tte).summary
    rivals = plan["competing_names"]
    hl = headline(tte, plan, 90).set_index("kind")
    support = hl.attrs["cure"]
    if rivals:  # a competing outcome is observed: no "never" line unless opted in
        assert not support.supported and "never" not in hl.index
        assert cure_reason(support, labels=plan["event_labels"]) == (
            f"competing outcome(s) {', '.join(rivals)} present: the cure model would treat "
            "those leads as if they could still convert"
        )
        assert "konkurrierende Ergebnisse" in cure_reason(support, "de")
        hl = headline(tte, plan, 90, allow_competing=True).set_index("kind")
        support = hl.attrs["cure"]
    assert support.supported, cure_reason(support)
    never = hl.loc["never"]
    assert (never["share"], never["lower"], never["upper"]) == (
        s["cured_fraction"],
        s["cured_fraction_lower"],
        s["cured_fraction_upper"],
    )
    assert never["outcome"] == f"expected never to reach {plan['name']}"


def test_cure_rule_counts_only_observed_competing_outcomes():
    j = make_shape("three_competing", seed=7)
    plan = plan_outcomes(j)
    tte = _tte(j, plan)
    assert not cure_support(tte).supported
    assert "event 2, event 3, event 4 present" in cure_reason(cure_support(tte))
    # the same leads with the competing outcomes recorded as censored: the rule holds
    censored = tte.assign(event=tte["event"].where(tte["event"] <= 1, 0))
    assert cure_support(censored).supported
    assert cure_support(tte, allow_competing=True).supported


def test_never_convert_absent_when_the_rule_fails():
    # no plateau: every lead would convert and the cut-off comes before the tail ends
    short = make_shape("no_lost", cure=0.0, median=60, span=100, follow=20, seed=2)
    plan = plan_outcomes(short)
    hl = headline(_tte(short, plan), plan, 30)
    assert "never" not in set(hl["kind"])
    assert "not followed long enough past the last conversion" in cure_reason(hl.attrs["cure"])
    few = make_shape("no_lost", n=30, seed=2)
    support = cure_support(_tte(few, plan_outcomes(few)))
    assert not support.supported and "target events" in cure_reason(support)
    # a boundary fit (no cured share) is not supported even with long follow-up
    none_cured = make_shape("no_lost", cure=0.0, median=5, seed=4)
    support = cure_support(_tte(none_cured, plan_outcomes(none_cured)))
    assert not support.supported


def test_label_missing_names_the_missing_group():
    j = make_shape("no_sqo")
    tte = label_missing(_tte(j, plan_outcomes(j), covariates=["source"]), ["source"])
    assert set(tte["source"]) == {"web", "(missing)"}
    assert not tte["source"].isna().any()


def test_contract_validates_declared_outcome_columns():
    j = make_shape("three_competing", seed=7)
    leads = j.leads.copy()
    with pytest.raises(ContractError, match="withdrawn_at.*declared in meta\\['outcomes'\\]"):
        Journeys.build(leads.drop(columns="withdrawn_at"), None, j.meta)
    both = leads.copy()
    both.loc[0, "withdrawn_at"] = both.loc[0, "observed_until"]
    both.loc[0, "won_at"] = both.loc[0, "observed_until"]
    both.loc[0, ["lost_at", "expired_at"]] = pd.NaT
    with pytest.raises(ContractError, match="both won and withdrawn"):
        Journeys.build(both, None, j.meta)
    late = leads.copy()
    late.loc[1, "expired_at"] = late.loc[1, "observed_until"] + pd.Timedelta(days=1)
    with pytest.raises(ContractError, match="'expired_at' is after 'observed_until'"):
        Journeys.build(late, None, j.meta)
    with pytest.raises(ContractError, match="cannot be an outcome column"):
        Journeys.build(leads, None, dict(j.meta, outcomes={"x": "sal"}))
    with pytest.raises(ContractError, match="both map to lost_at"):
        Journeys.build(leads, None, dict(j.meta, outcomes={"a": "lost", "b": "lost_at"}))


def test_plan_groups_reference_and_censored_outcomes():
    """Groups by any attribute with 2-12 levels; the largest group is the reference."""
    import warnings

    import numpy as np
    from shapes import make_shape

    from qualmodel.journeys.outcomes import (
        PlanWarning,
        default_groups,
        plan_outcomes,
        reference_group,
        stage_plural,
    )
    from qualmodel.survival.durations import time_to_event

    j = make_shape("three_competing", n=200, seed=4)
    j.leads["origin"] = np.where(np.arange(200) % 3 == 0, "ads", "web")
    j.leads["lead_score"] = np.arange(200.0)  # 200 levels: not a group
    assert default_groups(j) == ["segment", "origin"]  # "source" has one level (+ missing)
    plan = plan_outcomes(j, competing=["lost"], groups="origin")
    assert plan["groups"] == ["origin"] and plan["references"] == {"origin": "web"}
    assert plan["censored"] == ["withdrawn_at", "expired_at"]
    assert plan["censored_names"] == ["cancelled", "expired"]
    assert plan_outcomes(j)["censored"] == []
    with pytest.raises(ConfigError, match="group 'nope': not a lead attribute"):
        plan_outcomes(j, groups=["nope"])
    s = pd.Series(["a", None, None, None, "b", "b"])
    assert reference_group(s) == "b"  # never the missing values
    assert reference_group(pd.Series(["(missing)"] * 3 + ["x"])) == "x"
    assert [stage_plural(x) for x in ("SAL", "created", "approved")] == [
        "SALs",
        "created leads",
        "approved leads",
    ]
    target = j.leads["won_at"]
    with pytest.warns(PlanWarning, match="lost_at, won_at, withdrawn_at, expired_at present"):
        time_to_event(j, start="sal_at", target=target)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        time_to_event(j, start="sal_at", target=target, competing=())  # explicit: silent
