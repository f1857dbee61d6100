"""Fitted lead scoring: recovers a known logistic truth and translates it into a criterion."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit, logit

from qualmodel import ConfigError, Journeys, qualify
from qualmodel.criteria.scoring import fit_score_criterion, scoring_features

TRUTH = {"intercept": -2.0, "demo": 0.8, "webinar": 0.25, "spam": 0.0, "segment=enterprise": 0.6}


def _truth_journeys(n: int = 20_000, seed: int = 11) -> Journeys:
    """Leads whose ``converted`` flag follows a known logistic model of event counts."""
    rng = np.random.default_rng(seed)
    ids = np.array([f"L{i:06d}" for i in range(n)], dtype=object)
    created = pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.integers(0, 200, n), unit="D")
    enterprise = rng.random(n) < 0.3
    counts = {
        "demo": rng.poisson(0.8, n),
        "webinar": rng.poisson(2.0, n),
        "spam": rng.poisson(1.0, n),
    }
    lp = TRUTH["intercept"] + TRUTH["segment=enterprise"] * enterprise
    for name in ("demo", "webinar", "spam"):
        lp = lp + TRUTH[name] * counts[name]
    converted = rng.random(n) < expit(lp)
    lead_of, names = [], []
    for name, c in counts.items():
        lead_of.append(np.repeat(np.arange(n), c))
        names.append(np.full(c.sum(), name))
    lead_of = np.concatenate(lead_of)
    names = np.concatenate(names)
    offsets = pd.to_timedelta(rng.uniform(0, 30 * 86400, len(lead_of)), unit="s")
    events = pd.DataFrame(
        {"lead_id": ids[lead_of], "ts": created.to_numpy()[lead_of] + offsets, "event": names}
    )
    leads = pd.DataFrame(
        {
            "lead_id": ids,
            "created_at": created,
            "observed_until": pd.Timestamp("2025-12-31"),
            "segment": np.where(enterprise, "enterprise", "smb"),
            "converted": converted,
        }
    )
    return Journeys.build(leads, events, {"source": "logistic-truth"})


@pytest.fixture(scope="module")
def truth_journeys() -> Journeys:
    return _truth_journeys()


def test_recovers_known_coefficients(truth_journeys):
    fit = fit_score_criterion(
        truth_journeys,
        outcome="converted",
        attributes=["segment"],
        max_count=50,
        points_per_logit=20,
    )
    coefs = fit.coefficients.set_index("term")
    assert fit.n == 20_000 and fit.n_excluded == 0
    for term, true in [
        ("intercept", TRUTH["intercept"]),
        ("event:demo", TRUTH["demo"]),
        ("event:webinar", TRUTH["webinar"]),
        ("event:spam", TRUTH["spam"]),
        ("segment=enterprise", TRUTH["segment=enterprise"]),
    ]:
        row = coefs.loc[term]
        assert row["lower"] <= true <= row["upper"], (term, true, row.to_dict())
    # smb is the most frequent level, hence the reference
    assert "segment=smb" not in coefs.index
    assert coefs.loc["event:demo", "points"] == round(20 * coefs.loc["event:demo", "coef"])


def test_criterion_qualifies_exactly_where_model_probability_reaches_target(truth_journeys):
    fit = fit_score_criterion(
        truth_journeys,
        outcome="converted",
        attributes=["segment"],
        max_count=50,
        decimals=9,
        target_probability=0.5,
    )
    c = fit.coefficients.set_index("term")["coef"]
    feats = scoring_features(truth_journeys, ["demo", "webinar", "spam"], max_count=50)
    lp = c["intercept"] + sum(c[f"event:{k}"] * feats[k] for k in ("demo", "webinar", "spam"))
    lp = lp + c["segment=enterprise"] * (truth_journeys.leads["segment"] == "enterprise")
    want = (lp >= logit(0.5)).to_numpy()
    q = qualify(truth_journeys, fit.criterion)
    got = q["qualified_at"].notna().to_numpy()
    # points are rounded to 1e-9 → only leads within a hair of the boundary may differ
    near = np.abs(lp.to_numpy() - logit(0.5)) < 1e-6
    assert np.array_equal(got[~near], want[~near])
    assert 0.05 < got.mean() < 0.95


def test_default_target_is_lift_two(truth_journeys):
    fit = fit_score_criterion(truth_journeys, outcome="converted", events=["demo"])
    assert fit.target_probability == pytest.approx(min(0.9, 2 * fit.base_rate))
    assert fit.criterion.score is not None
    assert set(fit.criterion.score.events) == {"demo"}
    assert fit.criterion.score.threshold == fit.threshold


def test_window_excludes_short_follow_up():
    j = _truth_journeys(n=3000, seed=3)
    leads = j.leads.copy()
    # the last 500 leads are cut off 10 days after creation: not observed for a 30-day window
    cut = leads.index >= 2500
    leads.loc[cut, "observed_until"] = leads.loc[cut, "created_at"] + pd.Timedelta(days=10)
    ev = j.events.copy()
    ev["lead_id"] = ev["lead_id"].astype(object)
    ok = ev["ts"].to_numpy() <= leads["observed_until"].to_numpy()[j.event_lead_codes]
    j2 = Journeys.build(leads, ev[ok], j.meta)
    fit = fit_score_criterion(j2, outcome="converted", events=["demo", "webinar"], window_days=30)
    assert fit.n == 2500 and fit.n_excluded == 500


def test_features_are_capped_and_windowed(journeys_factory):
    j = journeys_factory(
        [{"lead_id": "A", "created_at": "2025-01-01", "observed_until": "2025-03-01"}],
        [
            ("A", "2025-01-02", "demo"),
            ("A", "2025-01-03", "demo"),
            ("A", "2025-01-04", "demo"),
            ("A", "2025-02-20", "demo"),
        ],
    )
    assert scoring_features(j, max_count=5)["demo"].tolist() == [4.0]
    assert scoring_features(j, max_count=2)["demo"].tolist() == [2.0]
    assert scoring_features(j, window_days=7)["demo"].tolist() == [3.0]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"outcome": "nope"}, "outcome column 'nope' not in leads"),
        ({"outcome": "segment"}, "outcome 'segment' has dtype object"),
        ({"outcome": "converted", "events": ["demo_x"]}, "unknown event\\(s\\) demo_x"),
        ({"outcome": "converted", "attributes": ["missing"]}, "'missing' not in leads"),
        ({"outcome": "converted", "bant": ["money"]}, "unknown BANT fact\\(s\\) money"),
        ({"outcome": "converted", "target_probability": 1.5}, "target_probability"),
    ],
)
def test_bad_parameters(kwargs, message):
    j = _truth_journeys(n=2000, seed=5)
    with pytest.raises(ConfigError, match=message):
        fit_score_criterion(j, **kwargs)


def test_numeric_attribute_needs_binning():
    j = _truth_journeys(n=2000, seed=5)
    leads = j.leads.assign(visits=np.arange(j.n_leads, dtype=float))
    j2 = Journeys(leads, j.events, j.meta)
    with pytest.raises(ConfigError, match="'visits' is numeric .* bin it"):
        fit_score_criterion(j2, outcome="converted", attributes=["visits"])


def test_perfect_separation_is_a_clear_error():
    j = _truth_journeys(n=2000, seed=5)
    leads = j.leads.assign(flag=j.leads["converted"].astype(bool))
    j2 = Journeys(leads, j.events, j.meta)
    with pytest.raises(ConfigError, match="logistic fit failed .* separate"):
        fit_score_criterion(j2, outcome="converted", events=[], attributes=["flag"])


def test_x_education_matches_r_glm(shared_data):
    """Coefficients and SEs match R's glm(binomial) (tests/reference/scoring_xeducation.R)."""
    from pathlib import Path

    from qualmodel import import_crm

    ref = pd.read_csv(Path(__file__).parent / "reference" / "scoring_xeducation.csv")
    j = import_crm(shared_data / "x_education" / "Leads.csv", "x_education")
    fit = fit_score_criterion(j, "converted", events=[], attributes=["lead_origin", "do_not_email"])
    got = fit.coefficients.set_index("term").loc[ref["term"]]
    assert fit.n == 9240
    np.testing.assert_allclose(got["coef"].to_numpy(), ref["coef"].to_numpy(), atol=1e-6)
    np.testing.assert_allclose(got["se"].to_numpy(), ref["se"].to_numpy(), atol=1e-6)
