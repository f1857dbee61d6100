"""Minimum detectable effect: statsmodels solve_power, a published value, simulation truth."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from qualmodel.core.errors import ConfigError
from qualmodel.experiment.mde import mde_hazard_ratio, mde_two_proportions, two_proportion_power
from qualmodel.survival.estimators import logrank


def _ztest_rejections(p1, p2, n1, n2, alpha, reps, rng):
    """Share of pooled two-proportion z-tests rejecting (as statsmodels proportions_ztest)."""
    x1, x2 = rng.binomial(n1, p1, reps), rng.binomial(n2, p2, reps)
    pool = (x1 + x2) / (n1 + n2)
    se = np.sqrt(pool * (1 - pool) * (1 / n1 + 1 / n2))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(se > 0, (x2 / n2 - x1 / n1) / se, 0.0)
    return float(np.mean(2 * stats.norm.sf(np.abs(z)) < alpha))


CASES = [(0.15, 400, 400), (0.08, 2000, 1000), (0.5, 150, 300), (0.30, 800, 800)]


@pytest.mark.parametrize(("p", "n1", "n2"), CASES)
def test_mde_matches_statsmodels_solve_power_and_simulation(p, n1, n2):
    from statsmodels.stats.power import NormalIndPower

    ours = mde_two_proportions(p, n1, n2, alpha=0.05, target=0.8)
    h = NormalIndPower().solve_power(nobs1=n1, alpha=0.05, power=0.8, ratio=n2 / n1)
    theirs = math.sin(math.asin(math.sqrt(p)) + h / 2) ** 2 - p  # Cohen's h → difference
    assert ours > 0
    assert abs(ours - theirs) / theirs < 0.06, (ours, theirs)
    reps = 6000
    se = math.sqrt(0.8 * 0.2 / reps)
    rng = np.random.default_rng(7)
    for delta in (ours, theirs):  # both give 80% power by simulation, within MC error
        got = _ztest_rejections(p, p + delta, n1, n2, 0.05, reps, rng)
        assert abs(got - 0.8) < 4 * se + 0.01, (delta, got)


def test_mde_direction_and_forward_power():
    up = mde_two_proportions(0.2, 500, 500, direction=1)
    down = mde_two_proportions(0.2, 500, 500, direction=-1)
    assert up > 0 > down
    assert two_proportion_power(0.2, 0.2 + up, 500, 500, 0.05) == pytest.approx(0.8, abs=1e-6)
    assert two_proportion_power(0.2, 0.2 + down, 500, 500, 0.05) == pytest.approx(0.8, abs=1e-6)
    # more leads, smaller detectable effect; a stricter alpha, a larger one
    assert mde_two_proportions(0.2, 2000, 2000) < up
    assert mde_two_proportions(0.2, 500, 500, alpha=0.01) > up
    assert mde_two_proportions(0.2, 500, 500, target=0.9) > up


def test_mde_unreachable_is_nan_and_bad_levels_raise():
    assert math.isnan(mde_two_proportions(0.99, 5, 5))  # even p → 1 is not detectable
    assert math.isnan(mde_two_proportions(0.3, 0, 10))
    assert math.isnan(mde_hazard_ratio(0))
    with pytest.raises(ConfigError, match="alpha"):
        mde_two_proportions(0.2, 100, 100, alpha=1.0)
    with pytest.raises(ConfigError, match="target power"):
        mde_hazard_ratio(100, target=0.0)
    with pytest.raises(ConfigError, match="baseline proportion"):
        mde_two_proportions(1.2, 100, 100)


def test_mde_hazard_ratio_published_schoenfeld_value():
    # Schoenfeld (1983): HR 0.7, two-sided 5%, 80% power needs 247 events (1:1).
    assert mde_hazard_ratio(247, direction=-1) == pytest.approx(0.7, abs=0.002)
    assert mde_hazard_ratio(247) == pytest.approx(1 / 0.7, abs=0.004)


def test_mde_hazard_ratio_gives_80_percent_logrank_power_by_simulation():
    import pandas as pd

    n_arm, reps = 150, 500  # no censoring: 300 events
    hr = mde_hazard_ratio(2 * n_arm)
    rng = np.random.default_rng(11)
    arm = np.repeat(["a", "b"], n_arm)
    rejections = 0
    for _ in range(reps):
        t = np.concatenate([rng.exponential(1.0, n_arm), rng.exponential(1 / hr, n_arm)])
        data = pd.DataFrame({"duration": t, "event": 1, "arm": arm})
        rejections += float(logrank(data, by="arm").iloc[0]["p_value"]) < 0.05
    got = rejections / reps
    assert abs(got - 0.8) < 4 * math.sqrt(0.16 / reps) + 0.02, (hr, got)


def test_leads_for_proportions_matches_the_published_formula():
    """Fleiss' pooled normal-approximation sample size: 0.5 vs 0.6 needs 387.3 per arm."""
    from qualmodel.experiment.mde import leads_for_proportions

    assert leads_for_proportions(0.5, 0.6, 1.0, 1.0) == pytest.approx(387.3, abs=0.2)
    # a denominator of one lead in ten (e.g. recall over won leads) needs ten times the leads
    assert leads_for_proportions(0.5, 0.6, 0.1, 0.1) == pytest.approx(3873, abs=2)
    assert math.isnan(leads_for_proportions(0.3, 0.3, 1.0, 1.0))
    assert math.isnan(leads_for_proportions(0.3, 0.4, 0.0, 1.0))
