"""The confidence level every survival function takes: one check, one normal quantile."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from qualmodel import survival as sv
from qualmodel.core.errors import ConfigError
from qualmodel.criteria.scoring import fit_score_criterion
from qualmodel.survival import models as md
from qualmodel.survival.common import check_conf_level, z_value
from qualmodel.survival.headline import cure_support
from qualmodel.survival.medians import median_among_reached


@pytest.mark.parametrize(
    ("level", "z"),
    # R: print(qnorm(c(0.95, 0.975, 0.995)), digits = 17)
    [(0.90, 1.6448536269514715), (0.95, 1.9599639845400536), (0.99, 2.5758293035488999)],
)
def test_z_value_is_the_two_sided_normal_quantile(level, z):
    assert z_value(level, "f") == pytest.approx(z, rel=1e-14)
    assert z_value(str(level), "f") == z_value(level, "f")  # numbers as text, as everywhere
    assert check_conf_level(np.float32(0.5), "f") == 0.5


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    n = 400
    return pd.DataFrame(
        {
            "duration": rng.exponential(30.0, n).round(1) + 0.5,
            "event": rng.choice([0, 1, 2], n, p=[0.3, 0.5, 0.2]),
            "x": rng.normal(size=n),
            "cohort": rng.choice(["a", "b"], n),
        }
    )


CALLS = {
    "kaplan_meier": lambda d, c: sv.kaplan_meier(d, conf_level=c),
    "cumulative_incidence": lambda d, c: sv.cumulative_incidence(d, conf_level=c),
    "naive_conversion": lambda d, c: sv.naive_conversion(d, conf_level=c),
    "rmst": lambda d, c: sv.rmst(d, tau=30.0, conf_level=c),
    "cohort_conversion": lambda d, c: sv.cohort_conversion(d, conf_level=c),
    "median_among_reached": lambda d, c: median_among_reached(d, 60.0, n_boot=0, conf_level=c),
    "cure_support": lambda d, c: cure_support(d, conf_level=c),
    "cox": lambda d, c: md.cox(d, "x", conf_level=c),
    "weibull_aft": lambda d, c: md.weibull_aft(d, "x", conf_level=c),
    "cure_model": lambda d, c: md.cure_model(d, conf_level=c),
    "fine_gray": lambda d, c: md.fine_gray(d, "x", conf_level=c),
    "fit_score_criterion": lambda d, c: fit_score_criterion(None, "won_at", conf_level=c),
}


@pytest.mark.parametrize("name", sorted(CALLS))
@pytest.mark.parametrize("level", [0, 1, 1.5, -0.2, float("nan"), "high", True, None])
def test_a_bad_level_is_refused_in_one_line(table, name, level):
    with pytest.raises(ConfigError) as err:
        CALLS[name](table, level)
    assert str(err.value) == (
        f"{name}: conf_level: expected a finite number > 0 and < 1, got {level!r}"
    )
