"""The headline median, checked against the known truth of a competing-risks simulation."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from qualmodel import survival as sv
from qualmodel.core.errors import ConfigError
from qualmodel.report.wording import median_definition, median_sentence
from qualmodel.survival.medians import (
    _cif,
    median_among_reached,
)

RATE_GOAL, RATE_RIVAL, HORIZON = 1 / 30, 1 / 60, 90.0


def _truth(horizon: float = HORIZON) -> float:
    """Exponential competing risks: F1(t) = p1 (1 − e^{−λt}), λ = λ1 + λ2, so the median of
    T given (cause 1, T ≤ h) solves 1 − e^{−λt} = (1 − e^{−λh}) / 2."""
    lam = RATE_GOAL + RATE_RIVAL
    return -math.log(1 - (1 - math.exp(-lam * horizon)) / 2) / lam


def _simulate(n: int, seed: int, censor_max: float = 120.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    t_goal = rng.exponential(1 / RATE_GOAL, n)
    t_rival = rng.exponential(1 / RATE_RIVAL, n)
    t_cens = rng.uniform(0, censor_max, n)  # open leads: independent cut-off
    t = np.minimum.reduce([t_goal, t_rival, t_cens])
    event = np.select([t == t_goal, t == t_rival], [1, 2], 0)
    return pd.DataFrame({"duration": np.ceil(t), "event": event})  # whole days: ties


def test_cif_matches_the_r_checked_aalen_johansen():
    tte = _simulate(3000, seed=4)
    ref = sv.cumulative_incidence(tte, events=[1])
    times, cif = _cif(tte["duration"].to_numpy(), tte["event"].to_numpy(), 1)
    np.testing.assert_allclose(times, ref["time"].to_numpy())
    np.testing.assert_allclose(cif, ref["cif"].to_numpy(), rtol=1e-12)


def test_median_recovers_simulation_truth_with_censoring_and_competing_risk():
    tte = _simulate(40_000, seed=1)
    res = median_among_reached(tte, HORIZON, n_boot=100, seed=3)
    truth = math.ceil(_truth())  # 13.6 days; durations are rounded up to whole days: 14
    assert res["median"] == truth
    assert res["lower"] <= truth <= res["upper"]
    assert res["reached"] == pytest.approx(2 / 3 * (1 - math.exp(-HORIZON / 20)), abs=0.01)
    # the two tempting alternatives miss the truth by far more than the estimate does
    converted_only = tte.loc[tte["event"] == 1, "duration"].median()
    km_rival_censored = sv.median_survival(sv.kaplan_meier(tte))["median"].iloc[0]
    assert km_rival_censored - truth > 5  # ≈ 21 days: as if nobody were disqualified
    assert converted_only < truth  # slow conversions still open at the cut-off


def test_bootstrap_is_seeded_and_optional():
    tte = _simulate(2000, seed=2)
    a = median_among_reached(tte, HORIZON, n_boot=50, seed=7)
    b = median_among_reached(tte, HORIZON, n_boot=50, seed=7)
    assert a == b
    assert a["lower"] <= a["median"] <= a["upper"]
    none = median_among_reached(tte, HORIZON, n_boot=0)
    assert none["median"] == a["median"] and math.isnan(none["lower"])


def test_nobody_reached_and_bad_input():
    tte = pd.DataFrame({"duration": [5.0, 10.0], "event": [2, 0]})
    res = median_among_reached(tte, 30, n_boot=10)
    assert math.isnan(res["median"]) and res["reached"] == 0
    assert median_sentence(res, "were won") == (
        "No SALs were won within 30 days, so there is no median time."
    )
    with pytest.raises(ConfigError, match="horizon"):
        median_among_reached(tte, 0)
    with pytest.raises(ConfigError, match="duration"):
        median_among_reached(tte.rename(columns={"duration": "d"}), 30)


def test_sentence_and_definition_name_the_same_quantity():
    res = {"median": 21.2, "lower": 19.6, "upper": 23.0, "reached": 0.4, "horizon": 90.0}
    assert median_sentence(res, "were won") == (
        "Of the SALs that were won within 90 days, half did so within **21.2 days** "
        "(95% CI 19.6–23.0 days)."
    )
    text = median_definition("won", "lost", 90)
    assert text.startswith("Median days SAL → won among the SALs that reach won within 90 days")
    assert "Aalen–Johansen" in text and "lost counted as a competing outcome" in text
