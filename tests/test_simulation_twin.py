"""Fitted-scenario schema, delay families and the twin simulator."""

from __future__ import annotations

import numpy as np
import pytest

import qualmodel as qm
from qualmodel.core.errors import ConfigError
from qualmodel.simulation.delays import EmpiricalDelay, LognormalDelay, PointDelay, WeibullDelay
from qualmodel.simulation.twin_schema import twin_yaml

FAMILIES = [
    WeibullDelay(family="weibull", shape=0.7, scale_days=40.0),
    LognormalDelay(family="lognormal", median_days=20.0, sigma=1.3),
    EmpiricalDelay(
        family="empirical", knots_days=[0.0, 5.0, 60.0, 61.0], cdf_at_knots=[0.1, 0.5, 0.5, 1.0]
    ),
]


@pytest.mark.parametrize("delay", FAMILIES, ids=lambda d: d.family)
def test_quantile_inverts_cdf(delay):
    u = np.linspace(0.11, 0.99, 40)
    assert np.allclose(delay.cdf(delay.quantile(u)), u, atol=1e-9)


def test_empirical_follows_a_bimodal_delay():
    d = FAMILIES[2]
    draws = d.quantile(np.random.default_rng(0).random(200_000))
    assert abs(np.mean(draws == 0.0) - 0.1) < 0.005  # the atom at the first knot
    assert abs(np.mean((draws > 5) & (draws < 60)) - 0.0) < 1e-12  # flat between the modes
    assert abs(np.mean(draws > 60) - 0.5) < 0.005


def test_point_delay():
    d = PointDelay(family="point", days=2.0)
    assert d.cdf(np.array([1.9, 2.0])).tolist() == [0.0, 1.0]
    assert d.quantile(np.array([0.3])).tolist() == [2.0]


@pytest.mark.parametrize(
    "knots, cdf",
    [([0.0, 0.0], [0.5, 1.0]), ([0.0, 1.0], [0.6, 0.5]), ([0.0, 1.0], [0.2, 0.9])],
)
def test_empirical_refuses_bad_shapes(knots, cdf):
    with pytest.raises(ValueError):
        EmpiricalDelay(family="empirical", knots_days=knots, cdf_at_knots=cdf)


@pytest.fixture(scope="module")
def twin():
    obs = qm.simulate("consultancy", n_leads=4000, seed=3)
    sc, _ = qm.fit_scenario(obs, seed=0, n_boot=2, n_check=1)
    return sc


def test_yaml_round_trip_and_simulate(twin, tmp_path):
    path = tmp_path / "twin.yaml"
    path.write_text(twin_yaml(twin), encoding="utf-8")
    loaded = qm.load_scenario(path)
    assert loaded == twin
    a = qm.simulate(path, n_leads=3000, seed=7)
    b = qm.simulate(loaded, n_leads=3000, seed=7)
    assert a.leads.equals(b.leads) and a.events.equals(b.events)
    assert a.meta["kind"] == "twin" and a.meta["config_hash"] == qm.scenario_hash(twin)
    c = qm.simulate(path, n_leads=3000, seed=8)
    assert not a.leads.equals(c.leads)


def test_full_validation_accepts_the_trusted_twin_simulation_unchanged(twin):
    """simulate_twin builds contract-form tables and wraps them with Journeys.trusted; the
    full validation, and Journeys.build's sorting and normalising, leave them unchanged."""
    import pandas as pd

    from qualmodel import Journeys

    j = qm.simulate(twin, n_leads=3000, seed=11)
    assert j.n_events > 0 and twin.intent is not None
    for checked in (Journeys(j.leads, j.events, j.meta), Journeys.build(j.leads, j.events, j.meta)):
        pd.testing.assert_frame_equal(checked.leads, j.leads, check_exact=True)
        pd.testing.assert_frame_equal(checked.events, j.events, check_exact=True)
        assert checked.meta == j.meta
    # event categories: exactly the names that occur, sorted
    assert list(j.events["event"].cat.categories) == sorted(set(j.events["event"].astype(str)))


def test_twin_schema_errors_name_the_key(twin, tmp_path):
    text = twin_yaml(twin).replace("after: sal", "after: nowhere", 1)
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match="after"):
        qm.load_scenario(path)
    data = twin.model_dump(mode="json")
    data["stages"]["sqo"]["share"] = 0.99  # with disqualified, more than 1 from SAL
    with pytest.raises(Exception, match="sum"):
        type(twin).model_validate(data)


def test_terminal_outcomes_are_exclusive(twin):
    j = qm.simulate(twin, n_leads=5000, seed=1)
    both = j.leads["won_at"].notna() & j.leads["lost_at"].notna()
    assert not both.any()
    assert (j.leads["sqo_at"].isna() | (j.leads["sqo_at"] >= j.leads["sal_at"])).all()


def test_day_resolution_twin_writes_whole_days():
    j = qm.simulate("startup_saas", n_leads=4000, seed=4)
    leads = j.leads.copy()
    for col in [c for c in leads.columns if c.endswith("_at")]:
        leads[col] = leads[col].dt.floor("D")
    dated = qm.Journeys(leads, j.events.iloc[:0], j.meta)
    twin, _ = qm.fit_scenario(dated, seed=0, n_boot=0, n_check=1)
    assert twin.resolution == "day"
    sim = qm.simulate(twin, n_leads=3000, seed=2).leads
    for col in [c for c in sim.columns if c.endswith("_at")]:
        stamps = sim[col].dropna()
        assert (stamps == stamps.dt.floor("D")).all(), col


def test_lead_time_order_is_the_stable_lexicographic_order():
    from qualmodel.simulation.twin import lead_time_order

    rng = np.random.default_rng(4)
    code = np.concatenate([np.sort(rng.integers(0, 50, 300)) for _ in range(4)])
    sec = rng.integers(-5, 40, code.size)  # many ties, negative seconds
    np.testing.assert_array_equal(lead_time_order(code, sec), np.lexsort((sec, code)))
    assert lead_time_order(code[:0], sec[:0]).size == 0
    huge = np.array([3, 1, 1], dtype=np.int64)  # a packed key would overflow: lexsort
    wide = np.array([0, 2**62, -(2**62)], dtype=np.int64)
    np.testing.assert_array_equal(lead_time_order(huge, wide), np.lexsort((wide, huge)))
