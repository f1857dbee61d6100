"""time_to_event(..., time_varying=[...]) and Cox on (start, stop] rows against R coxph.

Reference: tests/reference/tv_input.csv (make_tv_input.py: known truth, webinar log-HR 0.7)
and tv_coef.csv (tv_reference.R, coxph(Surv(start, stop, event) ~ ...)). Tolerance 1e-8.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import qualmodel as qm
from qualmodel.core.errors import ConfigError

REF = Path(__file__).resolve().parent / "reference"
TOL = 1e-8
SPECS = {
    "efron": {},
    "breslow": {"ties": "breslow"},
    "cluster": {"cluster": "lead_id"},
    "event2": {"event": 2},
}


def _maker():
    spec = importlib.util.spec_from_file_location("make_tv_input", REF / "make_tv_input.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def tv() -> pd.DataFrame:
    return pd.read_csv(REF / "tv_input.csv")


def test_table_is_reproduced_by_time_to_event(tv):
    got = _maker().table()
    pd.testing.assert_frame_equal(
        got[["lead_id", "start", "duration", "event", "webinar_attended"]],
        tv[["lead_id", "start", "duration", "event", "webinar_attended"]],
        check_exact=False,
        rtol=0,
        atol=1e-12,
    )


@pytest.mark.parametrize("model", sorted(SPECS))
def test_counting_process_cox_matches_r(tv, model):
    fit = qm.cox(tv, ["webinar_attended", "fit"], start="start", **SPECS[model])
    ref = pd.read_csv(REF / "tv_coef.csv")
    ref = ref[ref["model"] == model].set_index("term")
    got = fit.table.set_index("term").loc[ref.index]
    np.testing.assert_allclose(got["coef"], ref["coef"], rtol=0, atol=TOL)
    np.testing.assert_allclose(got["se"], ref["se"], rtol=0, atol=TOL)
    assert abs(fit.summary["log_likelihood"] - ref["loglik"].iloc[0]) <= TOL
    assert abs(fit.summary["log_likelihood_null"] - ref["loglik_null"].iloc[0]) <= TOL


def test_webinar_effect_truth_is_covered(tv):
    fit = qm.cox(tv, ["webinar_attended", "fit"], start="start", cluster="lead_id")
    t = fit.table.set_index("term")
    for term, truth in _maker().TRUTH.items():
        assert t.loc[term, "lower"] < truth < t.loc[term, "upper"], term


def test_splitting_rules(journeys_factory):
    j = journeys_factory(
        [
            {
                "lead_id": "a",
                "created_at": "2025-01-01",
                "observed_until": "2025-03-01",
                "sal_at": "2025-01-01",
                "sqo_at": "2025-01-21",
            },
            {
                "lead_id": "b",
                "created_at": "2025-01-01",
                "observed_until": "2025-03-01",
                "sal_at": "2025-01-05",
                "sqo_at": "2025-01-15",
            },
            {
                "lead_id": "c",
                "created_at": "2025-01-01",
                "observed_until": "2025-01-31",
                "sal_at": "2025-01-01",
                "sqo_at": None,
            },
        ],
        [
            ("a", "2025-01-11", "webinar_attended"),
            ("a", "2025-01-16", "webinar_attended"),  # only the first counts
            ("a", "2025-01-06", "demo"),
            ("b", "2025-01-02", "webinar_attended"),  # before SAL: on from 0
            ("b", "2025-01-15", "demo"),  # at the event time: never on
            ("c", "2025-01-31", "demo"),  # at the end of follow-up: never on
        ],
    )
    t = qm.time_to_event(j, competing=(), time_varying=["webinar_attended", "demo"])
    assert t["lead_id"].tolist() == ["a", "a", "a", "b", "c"]
    assert t["start"].tolist() == [0.0, 5.0, 10.0, 0.0, 0.0]
    assert t["duration"].tolist() == [5.0, 10.0, 20.0, 10.0, 30.0]
    assert t["event"].tolist() == [0, 0, 1, 1, 0]
    assert t["demo"].tolist() == [0, 1, 1, 0, 0]
    assert t["webinar_attended"].tolist() == [0, 0, 1, 1, 0]


def test_unknown_touchpoint_is_one_line(journeys_factory):
    j = journeys_factory(
        [
            {
                "lead_id": "a",
                "created_at": "2025-01-01",
                "observed_until": "2025-03-01",
                "sal_at": "2025-01-01",
                "sqo_at": "2025-02-01",
            }
        ],
        [("a", "2025-01-11", "webinar_attended")],
    )
    with pytest.raises(ConfigError, match="'webinar' never occurs") as err:
        qm.time_to_event(j, competing=(), time_varying=["webinar"])
    assert "\n" not in str(err.value)
