"""The numpy Cox engine (survival.models.partial_likelihood) against R coxph.

References: tests/reference/coxph_*.csv written by coxph_reference.R (continuous times and
their day-rounded ties; Efron and Breslow, strata, case weights, robust and cluster SEs).
Tolerances (absolute): coefficients, SEs and log-likelihoods 1e-8; cox.zph chi-square 1e-6.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from qualmodel.core.errors import ConfigError
from qualmodel.survival import models as md

REF = Path(__file__).resolve().parent / "reference"
TOL, ZPH_TOL = 1e-8, 1e-6
COVS = ["grade", "x1", "x2"]
SPECS = {
    "efron": {},
    "breslow": {"ties": "breslow"},
    "strata": {"strata": "s"},
    # R coxph turns robust SEs on by itself for non-integer case weights
    "weights": {"weights": "w", "robust": True},
    "robust": {"robust": True},
    "cluster": {"ties": "breslow", "strata": "s", "weights": "w", "cluster": "cl"},
    "event2": {"event": 2},
}


def _input(kind: str) -> pd.DataFrame:
    data = pd.read_csv(REF / "coxph_input.csv")
    if kind == "day":
        data["duration"] = np.ceil(data["duration"])
    return data


def _ref(name: str, kind: str, model: str) -> pd.DataFrame:
    ref = pd.read_csv(REF / name)
    return ref[(ref["data"] == kind) & (ref["model"] == model)].reset_index(drop=True)


@pytest.mark.parametrize("model", sorted(SPECS))
@pytest.mark.parametrize("kind", ["cont", "day"])
def test_cox_matches_r_coxph_to_1e8(kind, model):
    data = _input(kind)
    fit = md.cox(data, COVS, concordance=False, **SPECS[model])
    ref = _ref("coxph_coef.csv", kind, model).set_index("term")
    got = fit.table.set_index("term").loc[ref.index]
    np.testing.assert_allclose(got["coef"], ref["coef"], rtol=0, atol=TOL)
    np.testing.assert_allclose(got["se"], ref["se"], rtol=0, atol=TOL)
    if "se_naive" in got:
        np.testing.assert_allclose(got["se_naive"], ref["se_naive"], rtol=0, atol=TOL)
    fr = _ref("coxph_fit.csv", kind, model).iloc[0]
    assert abs(fit.summary["log_likelihood"] - fr["loglik"]) <= TOL
    assert abs(fit.summary["log_likelihood_null"] - fr["loglik_null"]) <= TOL
    assert fit.summary["events"] == fr["events"]
    assert fit.summary["iterations"] == fr["iter"]
    zref = _ref("coxph_zph.csv", kind, model)
    if len(zref):
        zph = md.cox_zph(fit, data).set_index("term").loc[zref["term"]]
        np.testing.assert_allclose(zph["chisq"], zref["chisq"], rtol=0, atol=ZPH_TOL)
        np.testing.assert_array_equal(zph["df"], zref["df"])


def test_cox_agrees_with_lifelines_on_continuous_times():
    from lifelines import CoxPHFitter

    data = _input("cont")
    fit = md.cox(data, ["x1", "x2"], concordance=False)
    frame = data[["duration", "x1", "x2"]].assign(e=(data["event"] == 1).astype(int))
    cph = CoxPHFitter().fit(frame, "duration", "e")
    got = fit.table.set_index("term")
    np.testing.assert_allclose(got["coef"], cph.params_[["x1", "x2"]], atol=1e-6)
    np.testing.assert_allclose(got["se"], cph.standard_errors_[["x1", "x2"]], atol=1e-6)


@pytest.mark.parametrize(
    ("mutate", "kwargs", "needle"),
    [
        (lambda d: d.assign(k=3.0), {"covariates": ["x1", "k"]}, "'k' do not vary"),
        (
            lambda d: d.assign(k=2 * d["x1"] - 1),
            {"covariates": ["x1", "k"]},
            "'k' is collinear with 'x1'",
        ),
        (lambda d: d.assign(event=0), {"covariates": ["x1"]}, "no events with code 1"),
        (
            lambda d: d.assign(k=np.where(d.id == 7, np.nan, d.x1)),
            {"covariates": ["k"]},
            "covariate 'k' has 1 missing",
        ),
        (
            lambda d: d.assign(s=np.where(d.id == 9, "c", d.s)),
            {"covariates": ["x1"], "strata": "s"},
            "stratum s=c has only one lead",
        ),
        (lambda d: d.assign(w=-1.0), {"covariates": ["x1"], "weights": "w"}, "non-positive"),
    ],
)
def test_bad_input_is_one_line(mutate, kwargs, needle):
    with pytest.raises(ConfigError) as err:
        md.cox(mutate(_input("cont")), **kwargs)
    msg = str(err.value)
    assert needle in msg and "\n" not in msg and msg.startswith("cox: ")
