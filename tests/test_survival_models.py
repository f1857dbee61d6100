"""qualmodel.survival.models against R survival (tests/reference/cox_*, aft_*) and simulation truth.

Tolerances (absolute differences): Cox coefficients, SEs and log-likelihoods 1e-8; AFT
coefficients 1e-6, standard errors 1e-5, log-likelihoods 1e-6; cox.zph chi-square 1e-6.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import qualmodel as qm
from qualmodel.core.errors import ConfigError
from qualmodel.survival import models as md

REF = Path(__file__).resolve().parent / "reference"
COEF_TOL, SE_TOL, LL_TOL, ZPH_TOL = 1e-6, 1e-5, 1e-6, 1e-6
# the Cox engine reproduces R coxph to rounding: its own, tighter tolerance
COX_TOL = 1e-8

SIM_MODELS = {
    "main": dict(covariates=["plan", "score", "partner"], event=1, strata=None),
    "competing": dict(covariates=["plan", "score", "partner"], event=2, strata=None),
    "strata": dict(covariates=["plan", "score"], event=1, strata="partner"),
}
MAVEN_COVS = ["product_series", "regional_office"]


def _ref(name: str, data: str, model: str) -> pd.DataFrame:
    ref = pd.read_csv(REF / name)
    return ref[(ref["data"] == data) & (ref["model"] == model)].reset_index(drop=True)


@pytest.fixture(scope="module")
def sim_input() -> pd.DataFrame:
    return pd.read_csv(REF / "cox_input.csv")


@pytest.fixture(scope="module")
def maven(shared_data: Path) -> pd.DataFrame:
    j = qm.import_crm(shared_data / "maven_crm" / "sales_pipeline.csv", "maven_crm")
    return qm.time_to_event(
        j, start="sal_at", target="won_at", competing=("lost_at",), covariates=MAVEN_COVS
    )


def _check_cox(fit: md.ModelFit, data: pd.DataFrame, name: str, model: str) -> None:
    ref = _ref("cox_coef.csv", name, model).set_index("term")
    got = fit.table.set_index("term")
    assert sorted(got.index) == sorted(ref.index)
    got = got.loc[ref.index]
    np.testing.assert_allclose(got["coef"], ref["coef"], rtol=0, atol=COX_TOL)
    np.testing.assert_allclose(got["se"], ref["se"], rtol=0, atol=COX_TOL)
    np.testing.assert_allclose(got["z"], ref["z"], rtol=0, atol=1e-6)
    np.testing.assert_allclose(got["p_value"], ref["p_value"], rtol=1e-4, atol=1e-10)
    fitref = _ref("cox_fit.csv", name, model).iloc[0]
    assert fit.summary["n"] == fitref["n"]
    assert fit.summary["events"] == fitref["events"]
    assert abs(fit.summary["log_likelihood"] - fitref["loglik"]) <= COX_TOL
    assert abs(fit.summary["log_likelihood_null"] - fitref["loglik_null"]) <= COX_TOL
    assert abs(fit.summary["concordance"] - fitref["concordance"]) <= 1e-9
    zref = _ref("cox_zph.csv", name, model).set_index("term")
    zph = md.cox_zph(fit, data).set_index("term")
    assert list(zph.index) == list(zref.index)
    np.testing.assert_allclose(zph["chisq"], zref["chisq"], rtol=0, atol=ZPH_TOL)
    np.testing.assert_array_equal(zph["df"], zref["df"])
    np.testing.assert_allclose(zph["p_value"], zref["p_value"], rtol=1e-5, atol=1e-12)


def _check_aft(fit: md.ModelFit, name: str, model: str) -> None:
    ref = _ref("aft_coef.csv", name, model).set_index("term")
    got = fit.table.set_index("term")
    terms = [t for t in ref.index if t not in ("(Intercept)", "Log(scale)")]
    assert sorted(got.index) == sorted(terms)
    got = got.loc[terms]
    np.testing.assert_allclose(got["coef"], ref.loc[terms, "coef"], rtol=0, atol=COEF_TOL)
    np.testing.assert_allclose(got["se"], ref.loc[terms, "se"], rtol=0, atol=SE_TOL)
    s = fit.summary
    assert abs(s["intercept"] - ref.loc["(Intercept)", "coef"]) <= COEF_TOL
    assert abs(s["intercept_se"] - ref.loc["(Intercept)", "se"]) <= SE_TOL
    assert abs(s["survreg_log_scale"] - ref.loc["Log(scale)", "coef"]) <= COEF_TOL
    assert abs(s["log_shape_se"] - ref.loc["Log(scale)", "se"]) <= SE_TOL
    fitref = _ref("aft_fit.csv", name, model).iloc[0]
    assert abs(s["log_likelihood"] - fitref["loglik"]) <= LL_TOL
    assert abs(s["shape"] - 1 / fitref["scale"]) <= 1e-6
    # implied PH coefficients: -shape * AFT coefficient
    np.testing.assert_allclose(got["ph_coef"], -s["shape"] * got["coef"], rtol=1e-12)


# ------------------------------------------------------------------------- vs R
@pytest.mark.parametrize("model", sorted(SIM_MODELS))
def test_cox_matches_r_on_simulated_input(sim_input, model):
    spec = SIM_MODELS[model]
    fit = md.cox(sim_input, **spec)
    assert fit.references == {"plan": "basic"}
    _check_cox(fit, sim_input, "sim", model)


def test_cox_matches_r_on_maven(maven):
    fit = md.cox(maven, MAVEN_COVS)
    assert fit.references == {"product_series": "GTK", "regional_office": "Central"}
    _check_cox(fit, maven, "maven", "main")


@pytest.mark.parametrize("model", ["main", "competing"])
def test_weibull_aft_matches_r_survreg(sim_input, model):
    spec = SIM_MODELS[model]
    fit = md.weibull_aft(sim_input, spec["covariates"], event=spec["event"])
    _check_aft(fit, "sim", model)


def test_weibull_aft_matches_r_survreg_on_maven(maven):
    _check_aft(md.weibull_aft(maven, MAVEN_COVS), "maven", "main")


def test_lifelines_ph_test_is_not_rs_cox_zph(sim_input):
    """Documents why cox_zph exists: lifelines reports the survival 2.x statistic."""
    from lifelines import CoxPHFitter
    from lifelines.statistics import proportional_hazard_test

    fit = md.cox(sim_input, ["score"])
    frame = sim_input[["duration", "score"]].assign(e=(sim_input["event"] == 1).astype(int))
    cph = CoxPHFitter().fit(frame, "duration", "e")
    lif = proportional_hazard_test(cph, frame, time_transform="km").summary["test_statistic"]
    ours = md.cox_zph(fit, sim_input).set_index("term").loc["score", "chisq"]
    assert abs(float(lif.iloc[0]) - ours) > 1e-4


# ---------------------------------------------------------------- simulation truth
TRUTH_COLS = {
    "true_intent": "intent",
    "true_budget": "budget",
    "true_authority": "authority",
    "true_need": "need",
}


@pytest.fixture(scope="module")
def scenario():
    return qm.load_scenario("startup_saas")


@pytest.fixture(scope="module")
def sim_sal(scenario) -> pd.DataFrame:
    """SAL→SQO table of 20,000 simulated leads with the true hazard covariates."""
    j = qm.simulate(scenario, n_leads=20_000, seed=2)
    covs = ["segment", "nurtured", *TRUTH_COLS, "true_never_convert"]
    data = qm.time_to_event(j, covariates=covs)
    return data.rename(columns=TRUTH_COLS)


def _truth_log_hr(scenario) -> dict[str, float]:
    """YAML log HRs as qualmodel terms (segment dummies against the first segment)."""
    ref = scenario.segment_names[0]
    out = {}
    for name, value in scenario.sales.sqo.log_hr.items():
        key = f"segment={name}" if name in scenario.segment_names else name
        out[key] = value
    for seg in scenario.segment_names:
        if seg != ref:
            out.setdefault(f"segment={seg}", 0.0)
    return out


HAZARD_COVS = ["segment", "intent", "nurtured", "budget", "authority", "need"]


def _assert_jointly_consistent(coef: pd.Series, se: pd.Series, truth: dict[str, float]) -> None:
    """Joint check of all estimates against the truth at one seed.

    Requiring each of ~7 true values inside its own 95% CI fails by chance in ~30% of
    seeds; instead the sum of squared standardised errors must stay below the chi-square
    0.999 quantile (df = number of coefficients), and each |z| below a loose 4.
    """
    terms = sorted(truth)
    z = (coef.loc[terms] - pd.Series(truth).loc[terms]) / se.loc[terms]
    assert (z.abs() < 4).all(), z.to_dict()
    assert float((z**2).sum()) < stats.chi2.ppf(0.999, df=len(terms)), z.to_dict()


def test_cox_recovers_yaml_log_hazard_ratios(sim_sal, scenario):
    # the cured share breaks proportional hazards (docs/simulation.md): fit susceptible SALs
    data = sim_sal[~sim_sal["true_never_convert"]].reset_index(drop=True)
    fit = md.cox(data, HAZARD_COVS)
    assert fit.references == {"segment": scenario.segment_names[0]}
    truth = _truth_log_hr(scenario)
    table = fit.table.set_index("term")
    assert set(table.index) == set(truth)
    _assert_jointly_consistent(table["coef"], table["se"], truth)


def test_weibull_aft_recovers_shape_scale_and_log_hrs(sim_sal, scenario):
    data = sim_sal[~sim_sal["true_never_convert"]].reset_index(drop=True)
    fit = md.weibull_aft(data, HAZARD_COVS)
    truth = _truth_log_hr(scenario)
    table = fit.table.set_index("term")
    assert set(table.index) == set(truth)
    _assert_jointly_consistent(table["ph_coef"], table["ph_se"], truth)
    s = fit.summary
    assert s["shape_lower"] < scenario.sales.sqo.shape < s["shape_upper"]
    assert s["scale_lower"] < scenario.sales.sqo.scale_days < s["scale_upper"]


def test_cure_fraction_without_competing_risk_matches_never_convert_share(scenario):
    """Latent readiness time (censored only at the cut-off): π is the never-convert share."""
    j = qm.simulate(scenario, n_leads=20_000, seed=2)
    data = qm.time_to_event(
        j, target="true_ready_at", competing=(), covariates=["true_never_convert"]
    )
    fit = md.cure_model(data)
    s = fit.summary
    realised = float(data["true_never_convert"].mean())
    assert s["cured_fraction_lower"] < realised < s["cured_fraction_upper"]
    assert (
        s["cured_fraction_lower"] < scenario.sales.never_convert.share < s["cured_fraction_upper"]
    )
    row = fit.table.set_index("term").loc["cured_fraction"]
    assert row["lower"] == s["cured_fraction_lower"] and row["estimate"] == s["cured_fraction"]


def test_cure_fraction_with_independent_disqualification(scenario):
    """Disqualification censored and not depending on cure status: π is recovered."""
    sc = scenario.with_overrides({"sales.disqualification.never_convert_log_hr": 0.0})
    j = qm.simulate(sc, n_leads=20_000, seed=2)
    data = qm.time_to_event(j, covariates=["true_never_convert"])
    assert (data["event"] == 2).sum() > 300  # disqualification really competes
    s = md.cure_model(data).summary
    realised = float(data["true_never_convert"].mean())
    assert s["cured_fraction_lower"] < realised < s["cured_fraction_upper"]


def test_cure_fraction_underestimated_when_cured_are_disqualified_faster(sim_sal):
    """The documented bias: with never_convert_log_hr > 0 censoring is informative."""
    s = md.cure_model(sim_sal).summary
    realised = float(sim_sal["true_never_convert"].mean())
    assert s["cured_fraction_upper"] < realised


# ----------------------------------------------------------------------- errors
def test_categorical_reference_and_bool_coding(sim_input):
    data = sim_input.assign(
        plan_cat=pd.Categorical(sim_input["plan"], categories=["pro", "basic", "plus"]),
        partner_b=sim_input["partner"].astype(bool),
    )
    by_str = md.cox(data, ["plan", "partner_b"])
    assert by_str.references == {"plan": "basic"}
    by_cat = md.cox(data, ["plan_cat", "partner"])
    assert by_cat.references == {"plan_cat": "pro"}
    t_str, t_cat = by_str.table.set_index("term"), by_cat.table.set_index("term")
    # reference pro instead of basic: basic's coefficient is minus pro's
    assert abs(t_cat.loc["plan_cat=basic", "coef"] + t_str.loc["plan=pro", "coef"]) < 1e-8
    assert abs(t_cat.loc["partner", "coef"] - t_str.loc["partner_b", "coef"]) < 1e-8


@pytest.mark.parametrize(
    ("mutate", "covs", "needle"),
    [
        (lambda d: d, ["nope"], "'nope'"),
        (lambda d: d.assign(k=1.0), ["k"], "'k' do not vary"),
        (lambda d: d.assign(k="a"), ["k"], "'k' does not vary"),
        (lambda d: d.assign(k=np.where(d.id == 5, np.nan, 1.0 * d.id)), ["k"], "missing"),
        (lambda d: d.assign(k=pd.Timestamp("2024-01-01")), ["k"], "dtype datetime64"),
        (lambda d: d.assign(event=np.where(d.id <= 3, 1, 0)), ["score"], "only 3 event"),
        (lambda d: d.drop(columns="duration"), ["score"], "'duration' is missing"),
    ],
)
@pytest.mark.parametrize("func", [md.cox, md.weibull_aft])
def test_bad_input_is_a_one_line_config_error(sim_input, mutate, covs, needle, func):
    with pytest.raises(ConfigError) as err:
        func(mutate(sim_input.copy()), covs)
    assert needle in str(err.value) and "\n" not in str(err.value)


def test_other_errors(sim_input):
    with pytest.raises(ConfigError, match="ties='exact'"):
        md.cox(sim_input, ["score"], ties="exact")
    with pytest.raises(ConfigError, match="strata column"):
        md.cox(sim_input, ["score"], strata="nope")
    with pytest.raises(ConfigError, match="covariates are not supported"):
        md.cure_model(sim_input, ["score"])
    with pytest.raises(ConfigError, match="duration 0"):
        md.weibull_aft(sim_input.assign(duration=sim_input["duration"] - 1), ["score"])
    fit = md.cox(sim_input, ["score"])
    with pytest.raises(ConfigError, match="rows"):
        md.cox_zph(fit, sim_input.iloc[:10])
    with pytest.raises(ConfigError, match="transform"):
        md.cox_zph(fit, sim_input, transform="spline")
    with pytest.raises(ConfigError, match="result of qualmodel.survival.models.cox"):
        md.cox_zph(md.weibull_aft(sim_input, ["score"]), sim_input)


def test_non_convergence_is_reported_as_model_warning(sim_input):
    # a covariate that is 1 only for censored rows: its coefficient diverges
    data = sim_input.assign(flag=(sim_input["event"] != 1) & (sim_input["id"] % 2 == 1))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        md.cox(data, ["score", "flag"])
    msgs = [str(w.message) for w in caught if issubclass(w.category, md.ModelWarning)]
    assert msgs and all(m.startswith("cox: ") for m in msgs)


def test_public_exports():
    assert qm.cox is md.cox and qm.weibull_aft is md.weibull_aft
    assert qm.cure_model is md.cure_model


# ------------------------------------------------------------ reviewed defects
@pytest.mark.parametrize("func", ["cox", "weibull_aft", "cure_model"])
def test_missing_event_values_are_an_error_not_censoring(sim_input, func):
    data = sim_input.assign(event=sim_input["event"].where(sim_input["id"] > 4))
    args = () if func == "cure_model" else (["score"],)
    with pytest.raises(ConfigError) as err:
        getattr(md, func)(data, *args)
    msg = str(err.value)
    assert msg == f"{func}: 'event' has 4 missing value(s); drop those rows first"


def test_cox_rejects_missing_strata_values(sim_input):
    data = sim_input.assign(region=np.where(sim_input["id"] % 7 == 0, None, "north"))
    data.loc[data["id"] % 2 == 0, "region"] = "south"
    with pytest.raises(ConfigError, match="strata column 'region' has .* missing") as err:
        md.cox(data, ["score"], strata="region")
    assert "\n" not in str(err.value)


def test_cox_rejects_a_column_both_covariate_and_stratum(sim_input):
    with pytest.raises(ConfigError, match="'partner' given both as covariate and as stratum"):
        md.cox(sim_input, ["score", "partner"], strata="partner")


def _no_event_level(data: pd.DataFrame) -> pd.DataFrame:
    """A categorical with a level 'dead' whose rows are all censored (no event 1)."""
    level = np.where((data["event"] != 1) & (data["id"] % 3 == 0), "dead", data["plan"])
    return data.assign(lv=level)


def test_weibull_aft_warns_when_newton_does_not_converge(sim_input):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = md.weibull_aft(_no_event_level(sim_input), ["lv", "score"])
    msgs = [str(w.message) for w in caught if issubclass(w.category, md.ModelWarning)]
    assert any(m.startswith("weibull_aft: did not converge") for m in msgs), msgs
    assert not [w for w in caught if issubclass(w.category, RuntimeWarning)]
    assert fit.table.set_index("term").loc["lv=dead", "hr_upper"] == np.inf


def test_weibull_aft_collinear_covariates_are_a_config_error(sim_input):
    data = sim_input.assign(score2=2 * sim_input["score"] + 1)
    with pytest.raises(ConfigError, match="collinear") as err:
        md.weibull_aft(data, ["score", "score2"])
    assert str(err.value).startswith("weibull_aft: ") and "\n" not in str(err.value)


@pytest.mark.parametrize("scenario", ["startup_saas", "digital_agency"])
def test_cure_model_matches_lifelines_mixture_cure_fitter(scenario):
    """Estimates, standard errors and log-likelihood of lifelines' own fit (an independent
    implementation: automatic differentiation, Nelder-Mead then L-BFGS-B) to 1e-4."""
    from lifelines import MixtureCureFitter, WeibullFitter

    data = qm.time_to_event(qm.simulate(scenario, n_leads=5_000, seed=3))
    fit = md.cure_model(data)
    ref = MixtureCureFitter(WeibullFitter())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref.fit(data["duration"], (data["event"] == 1).astype(int))
    tab = fit.table.set_index("term")
    want = [ref.cured_fraction_, ref.params_["lambda_"], ref.params_["rho_"]]
    np.testing.assert_allclose(tab["estimate"], want, rtol=1e-4)
    np.testing.assert_allclose(tab["se"], np.sqrt(np.diag(ref.variance_matrix_)), rtol=1e-4)
    assert fit.summary["log_likelihood"] >= ref.log_likelihood_ - 1e-6  # at least as high
    assert fit.summary["AIC"] == pytest.approx(ref.AIC_, abs=1e-5)


def test_cure_fraction_at_the_boundary_warns_and_has_no_interval():
    rng = np.random.default_rng(1)
    t = 100 * rng.weibull(1.5, 2000)  # no cured share at all
    c = rng.uniform(0, 300, 2000)
    data = pd.DataFrame({"duration": np.minimum(t, c), "event": (t <= c).astype(int)})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = md.cure_model(data)
    msgs = [str(w.message) for w in caught if issubclass(w.category, md.ModelWarning)]
    assert any("cured fraction at the boundary" in m for m in msgs), msgs
    assert not [w for w in caught if issubclass(w.category, RuntimeWarning)]
    s = fit.summary
    assert s["cured_fraction"] < 1e-6
    assert np.isnan(s["cured_fraction_lower"]) and np.isnan(s["cured_fraction_upper"])
    row = fit.table.set_index("term").loc["cured_fraction"]
    assert np.isnan(row["lower"]) and np.isnan(row["upper"])
    # the latency parameters are still estimated
    assert abs(fit.table.set_index("term").loc["shape", "estimate"] - 1.5) < 0.15


def test_cox_zph_rejects_a_reordered_table(sim_input):
    fit = md.cox(sim_input, ["score"])
    shuffled = sim_input.sample(frac=1.0, random_state=0).reset_index(drop=True)
    with pytest.raises(ConfigError, match=r"\['duration'\] differs from the fitted durations"):
        md.cox_zph(fit, shuffled)
    sorted_ = sim_input.sort_values("duration", kind="stable")
    with pytest.raises(ConfigError, match="row order"):
        md.cox_zph(fit, sorted_)
