"""survival.concordance against R's survival::concordance (tests/reference/concordance.R).

The reference CSV holds C, its standard error and the pair counts for continuous and
day-tied data, weights, strata, (start, stop] rows with and without a cluster, and the
concordance of R's coxph and survreg fits; the tests assert 1e-10.
"""

from __future__ import annotations

from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import qualmodel as qm
from qualmodel.core.errors import ConfigError
from qualmodel.survival.concordance import COUNTS, concordance

REF = Path(__file__).with_name("reference")
DATA = pd.read_csv(REF / "concordance_input.csv")
R = pd.read_csv(REF / "concordance_ref.csv").set_index("case")
TOL = 1e-10

CASES = {
    "continuous": ("continuous", {}),
    "continuous_reverse": ("continuous", {"reverse": True}),
    "ties": ("ties", {}),
    "ties_reverse": ("ties", {"reverse": True}),
    "weighted": ("weighted", {"weights": "weight"}),
    "strata": ("strata", {"strata": "stratum"}),
    "counting": ("counting", {"start": "start"}),
    "counting_cluster": ("counting", {"start": "start", "cluster": "id"}),
}


def _case(name: str) -> pd.DataFrame:
    return DATA[DATA["case"] == name].reset_index(drop=True)


def _assert_equal_to_r(res, case: str) -> None:
    ref = R.loc[case]
    assert abs(res.concordance - ref["concordance"]) <= TOL
    assert abs(res.std - ref["std"]) <= TOL
    for key in COUNTS:
        assert res.counts[key] == pytest.approx(ref[key], rel=1e-12, abs=1e-9), key


@pytest.mark.parametrize("case", list(CASES))
def test_concordance_equals_r(case):
    source, options = CASES[case]
    d = _case(source)
    kw = {k: (d[v] if isinstance(v, str) else v) for k, v in options.items()}
    _assert_equal_to_r(concordance(d["time"], d["status"], d["score"], **kw), case)


def test_cox_and_aft_fits_carry_r_concordance():
    d = _case("cox").rename(columns={"time": "duration", "status": "event"})
    cox = qm.cox(d, ["x1", "x2"])
    assert abs(cox.summary["concordance"] - R.loc["cox", "concordance"]) <= TOL
    assert abs(cox.summary["concordance_se"] - R.loc["cox", "std"]) <= TOL
    aft = qm.weibull_aft(d, ["x1", "x2"])
    assert abs(aft.summary["concordance"] - R.loc["weibull_aft", "concordance"]) <= TOL
    assert abs(aft.summary["concordance_se"] - R.loc["weibull_aft", "std"]) <= TOL


def test_weighted_and_counting_cox_fits_get_a_concordance():
    d = _case("weighted").rename(columns={"time": "duration", "status": "event"})
    fit = qm.cox(d, ["score"], weights="weight")
    direct = concordance(d["duration"], d["event"], d["score"], weights=d["weight"], reverse=True)
    assert fit.summary["concordance"] == pytest.approx(direct.concordance, abs=1e-12)
    c = _case("counting").rename(columns={"time": "duration", "status": "event"})
    fit = qm.cox(c, ["score"], start="start", cluster="id")
    direct = concordance(
        c["duration"], c["event"], c["score"], start=c["start"], cluster=c["id"], reverse=True
    )
    assert fit.summary["concordance_se"] == pytest.approx(direct.std, abs=1e-12)


def test_fine_gray_concordance_is_that_of_the_cause():
    d = _case("cox").rename(columns={"time": "duration", "status": "event"})
    d["event"] = np.where(d["event"] == 1, np.where(d["x2"] > 0, 1, 2), 0)
    fit = qm.fine_gray(d, ["x1"])
    lp = d["x1"].to_numpy() * fit.table["coef"].iloc[0]
    direct = concordance(d["duration"], (d["event"] == 1).astype(int), lp, reverse=True)
    assert fit.summary["concordance"] == pytest.approx(direct.concordance, abs=1e-12)


def _brute_force(time, event, score, start):
    """Pair counts and per-row influence straight from the definition (O(n^2))."""
    n = len(time)
    counts = np.zeros(5)
    infl = np.zeros((n, 5))
    for i, j in combinations(range(n), 2):
        for a, b in ((i, j), (j, i)):  # a has the event, b is at risk then
            if not event[a] or not (start[b] < time[a] <= time[b]):
                continue
            if time[b] == time[a] and event[b]:
                if a < b:  # a tie in y, counted once
                    col = 4 if score[a] == score[b] else 3
                    counts[col] += 1
                    infl[[a, b], col] += 1
                continue
            col = 0 if score[b] > score[a] else (1 if score[b] < score[a] else 2)
            counts[col] += 1
            infl[[a, b], col] += 1
    return counts, infl


@pytest.mark.parametrize("seed", range(6))
def test_counts_and_influence_follow_the_definition(seed):
    rng = np.random.default_rng(seed)
    n = 40
    stop = rng.integers(1, 12, size=n).astype(float)
    start = np.where(rng.random(n) < 0.4, stop - rng.integers(1, 4, size=n), -np.inf)
    event = rng.random(n) < 0.6
    score = rng.integers(0, 5, size=n).astype(float)
    counts, infl = _brute_force(stop, event, score, start)
    res = concordance(stop, event.astype(int), score, start=np.where(start > -1, start, np.nan))
    assert [res.counts[k] for k in COUNTS] == counts.tolist()
    assert np.array_equal(res.influence, infl)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"score": np.ones(5)}, "all scores equal"),
        ({"event": np.zeros(5)}, "no event"),
        ({"score": [1.0, np.nan, 2.0, 3.0, 4.0]}, "score has 1 missing"),
        ({"score": [1.0, 2.0]}, "score has 2 values but time has 5"),
        ({"event": [0, 1, 2, 1, 0]}, "event must be 0"),
        ({"weights": [1, 1, 0, 1, 1]}, "weights must be > 0"),
    ],
)
def test_bad_input_is_one_line(kwargs, message):
    args = {"time": [1.0, 2.0, 3.0, 4.0, 5.0], "event": [1, 1, 0, 1, 0], "score": [5, 3, 4, 1, 2]}
    args.update(kwargs)
    with pytest.raises(ConfigError, match=message) as err:
        concordance(args.pop("time"), args.pop("event"), args.pop("score"), **args)
    assert "\n" not in str(err.value)
