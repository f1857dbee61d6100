"""Blocks of power replicates: segmented log-rank and z-tests against the one-cohort tools."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from qualmodel.experiment.replicates import (
    BLOCK_LEADS,
    block_plan,
    logrank_by_cohort,
    ztest_two_proportions,
)
from qualmodel.survival.estimators import logrank


def _cohorts(rng, n_cohorts, per_arm, tie_days):
    rows = []
    for c in range(n_cohorts):
        for arm, rate in ((0, 1.0), (1, 1.0 + 0.2 * c)):
            t = rng.exponential(1 / rate, per_arm) * 30
            cens = rng.uniform(0, 60, per_arm)
            dur = np.minimum(t, cens)
            if tie_days:
                dur = np.floor(dur)
            ev = (t <= cens).astype(int)
            ev[rng.random(per_arm) < 0.1] = 2  # competing codes count as censored
            rows.append(pd.DataFrame({"duration": dur, "event": ev, "arm": arm, "cohort": c}))
    return pd.concat(rows, ignore_index=True)


@pytest.mark.parametrize("tie_days", [False, True])
def test_logrank_by_cohort_equals_logrank_of_each_cohort(tie_days):
    """Each cohort's statistic, p-value and O − E are those of the R-checked ``logrank``."""
    data = _cohorts(np.random.default_rng(4), 6, 80, tie_days)
    shuffled = data.sample(frac=1.0, random_state=1)  # any row order
    got = logrank_by_cohort(
        shuffled["duration"].to_numpy(),
        shuffled["event"].to_numpy(),
        shuffled["arm"].to_numpy(),
        shuffled["cohort"].to_numpy(),
        6,
    )
    for c, g in data.groupby("cohort"):
        ref = logrank(g.assign(arm=g["arm"].map({0: "a", 1: "b"})), by="arm")
        groups = ref.attrs["groups"]
        assert got["statistic"][c] == pytest.approx(ref["statistic"].iloc[0], rel=1e-9)
        assert got["p_value"][c] == pytest.approx(ref["p_value"].iloc[0], rel=1e-9)
        oe = groups["observed"][1] - groups["expected"][1]
        assert got["o_minus_e"][c] == pytest.approx(oe, rel=1e-9, abs=1e-9)
        assert got["events_a"][c] == groups["observed"][0]
        assert got["events_b"][c] == groups["observed"][1]


def test_logrank_by_cohort_without_events_or_variance():
    dur = np.array([1.0, 2.0, 3.0, 1.0, 5.0])
    got = logrank_by_cohort(dur, np.array([0, 0, 0, 1, 0]), np.array([0, 1, 0, 1, 0]),
                            np.array([0, 0, 1, 1, 1]), 3)  # fmt: skip
    assert np.isnan(got["p_value"][0]) and got["variance"][0] == 0  # no events
    assert np.isnan(got["p_value"][2])  # empty cohort
    assert got["events_b"].tolist() == [0, 1, 0]


def test_ztest_matches_statsmodels_and_degenerate_cases():
    from statsmodels.stats.proportion import proportions_ztest

    rng = np.random.default_rng(0)
    n1, n2 = rng.integers(20, 400, 50), rng.integers(20, 400, 50)
    x1, x2 = rng.binomial(n1, 0.3), rng.binomial(n2, 0.4)
    got = ztest_two_proportions(x1, n1, x2, n2)
    ref = [proportions_ztest([a, b], [c, d])[1] for a, b, c, d in zip(x1, x2, n1, n2, strict=True)]
    np.testing.assert_allclose(got, ref, rtol=1e-12)
    # an empty group, pooled proportion 1, pooled proportion 0: no test, p = 1
    got = ztest_two_proportions([0, 5, 0], [0, 5, 10], [1, 5, 0], [4, 5, 10])
    assert got.tolist() == [1.0, 1.0, 1.0]


def test_block_plan_depends_on_sizes_only():
    plan = block_plan([1000, BLOCK_LEADS * 2], 600)
    small = [b for b in plan if b[0] == 1000]
    assert [b[-1] for b in small] == [250, 250, 100]
    assert [b[3] for b in small] == [0, 250, 500]
    big = [b for b in plan if b[0] != 1000]
    assert len(big) == 600 and all(b[-1] == 1 for b in big)
    assert len({(b[1], b[2]) for b in plan}) == len(plan)  # one seed per block
