"""survival.estimators checked against R survival 3.5 / cmprsk reference CSVs.

The CSVs in tests/reference/ were produced by make_reference.R (see its README). Tolerances:
point estimates ≤ 1e-9, standard errors and limits ≤ 1e-6, log-rank and RMST ≤ 1e-6.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from qualmodel import survival as sv
from qualmodel.core.errors import ConfigError, InputError
from qualmodel.survival import models as md

REF = Path(__file__).parent / "reference"
MAVEN_CUTOFF = pd.Timestamp("2017-12-31")
POINT, SE = 1e-9, 1e-6


def _read_ref(name: str) -> pd.DataFrame:
    return pd.read_csv(REF / name, keep_default_na=False, na_values=["NA", "NaN"])


def maven_table(path: Path) -> pd.DataFrame:
    """Duration table from the raw Maven pipeline CSV, as the R script builds it."""
    raw = pd.read_csv(path)
    raw = raw[raw["engage_date"].notna()]
    engage = pd.to_datetime(raw["engage_date"])
    close = pd.to_datetime(raw["close_date"]).fillna(MAVEN_CUTOFF)
    event = np.select([raw["deal_stage"] == "Won", raw["deal_stage"] == "Lost"], [1, 2], 0)
    out = pd.DataFrame(
        {
            "id": raw["opportunity_id"].to_numpy(),
            "group": raw["product"].to_numpy(),
            "duration": (close - engage).dt.days.astype(float).to_numpy(),
            "event": event.astype(np.int64),
        }
    )
    return out.sort_values("id", ignore_index=True)


@pytest.fixture(scope="module")
def sim() -> pd.DataFrame:
    d = pd.read_csv(REF / "sim_input.csv")
    d["duration"] = d["duration"].astype(float)
    return d


@pytest.fixture(scope="module")
def maven(shared_data) -> pd.DataFrame:
    return maven_table(shared_data / "maven_crm" / "sales_pipeline.csv")


@pytest.fixture(params=["sim", "maven"])
def case(request, sim):
    if request.param == "sim":
        return "sim", sim
    return "maven", request.getfixturevalue("maven")


def _close(got, want, tol, what):
    got = np.asarray(got, dtype=float)
    want = np.asarray(want, dtype=float)
    assert got.shape == want.shape, what
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want), err_msg=what)
    np.testing.assert_allclose(got, want, rtol=0, atol=tol, err_msg=what)


def test_maven_table_shape(maven):
    assert len(maven) == 8300
    assert maven["event"].value_counts().to_dict() == {1: 4238, 2: 2473, 0: 1589}
    assert (maven["duration"] >= 0).all()


@pytest.mark.parametrize("conf_type", ["log", "log-log", "plain"])
def test_kaplan_meier_matches_r(case, conf_type):
    name, data = case
    ref = _read_ref(f"{name}_km.csv")
    ref = ref[ref["conf_type"] == conf_type]
    for by, r in ((None, ref[ref["group"] == "all"]), ("group", ref[ref["group"] != "all"])):
        km = sv.kaplan_meier(data, by=by, conf_type=conf_type)
        if by:
            assert km["group"].tolist() == r["group"].tolist()
        _close(km["time"], r["time"], 0, "time")
        assert km["at_risk"].tolist() == r["n_risk"].tolist()
        assert km["n_event"].tolist() == r["n_event"].tolist()
        assert km["n_censor"].tolist() == r["n_censor"].tolist()
        _close(km["survival"], r["surv"], POINT, "survival")
        _close(km["se_log"], r["std_err_log"], SE, "se_log")
        _close(km["se"], r["se_surv"], SE, "se")
        _close(km["lower"], r["lower"], SE, "lower")
        _close(km["upper"], r["upper"], SE, "upper")


def test_cumulative_incidence_matches_r_aalen_johansen(case):
    name, data = case
    ref = _read_ref(f"{name}_cif.csv")
    for by, r in ((None, ref[ref["group"] == "all"]), ("group", ref[ref["group"] != "all"])):
        r = r.sort_values(["group", "event", "time"], kind="stable")
        cif = sv.cumulative_incidence(data, by=by)
        assert cif["event"].tolist() == r["event"].tolist()
        _close(cif["time"], r["time"], 0, "time")
        assert cif["at_risk"].tolist() == r["n_risk"].tolist()
        assert cif["n_event"].tolist() == r["n_event"].tolist()
        _close(cif["cif"], r["cif"], POINT, "cif")
        _close(cif["se"], r["std_err"], SE, "se (infinitesimal jackknife)")
        _close(cif["lower"], r["lower"], SE, "lower")
        _close(cif["upper"], r["upper"], SE, "upper")


def test_cumulative_incidence_matches_cmprsk_cuminc_with_delta_variance(case):
    name, data = case
    ref = _read_ref(f"{name}_cuminc.csv")
    cif = sv.cumulative_incidence(data, variance="delta")
    for k in (1, 2):
        r = ref[ref["curve"] == f"1 {k}"]
        c = cif[cif["event"] == k]
        # cuminc lists each jump twice (before/after); read our step function at its times
        idx = np.searchsorted(c["time"].to_numpy(), r["time"].to_numpy(), side="right") - 1
        last = np.r_[r["time"].to_numpy()[1:] != r["time"].to_numpy()[:-1], True]
        for ours_col, ref_col, tol in (("cif", "est", POINT), ("se", "var", SE)):
            ours = np.where(idx >= 0, c[ours_col].to_numpy()[np.maximum(idx, 0)], 0.0)
            want = r[ref_col].to_numpy()
            want = np.sqrt(want) if ref_col == "var" else want
            _close(ours[last], want[last], tol, f"cmprsk {ref_col}, cause {k}")
    # the two variance estimators differ (they are different methods)
    ij = sv.cumulative_incidence(data)
    assert np.abs(ij["se"] - cif["se"]).max() > 1e-6
    _close(ij["cif"], cif["cif"], 0, "same point estimate")


def test_aalen_johansen_differs_from_naive_and_sums_with_survival(sim):
    cif = sv.cumulative_incidence(sim)
    naive = sv.naive_conversion(sim)
    km_all = sv.kaplan_meier(sim.assign(event=(sim["event"] > 0).astype(np.int64)))
    total = cif.pivot(index="time", columns="event", values="cif").sum(axis=1)
    _close(total.to_numpy() + km_all["survival"].to_numpy(), np.ones(len(total)), 1e-12, "sum")
    # treating the competing event as censoring overstates conversion
    assert (naive["cif"].to_numpy() >= cif.loc[cif.event == 1, "cif"].to_numpy() - 1e-15).all()
    assert naive["cif"].iloc[-1] - cif.loc[cif.event == 1, "cif"].iloc[-1] > 0.05


def test_naive_conversion_is_one_minus_r_km(case):
    name, data = case
    r = _read_ref(f"{name}_km.csv")
    r = r[(r["conf_type"] == "log-log") & (r["group"] == "all")]
    nv = sv.naive_conversion(data)
    _close(nv["cif"], 1 - r["surv"], POINT, "1 - S")
    _close(nv["se"], r["se_surv"], SE, "se")
    _close(nv["lower"], 1 - r["upper"], SE, "lower")
    _close(nv["upper"], 1 - r["lower"], SE, "upper")
    assert set(nv.columns) == set(sv.cumulative_incidence(data).columns)


def test_logrank_matches_survdiff(case):
    name, data = case
    ref = _read_ref(f"{name}_logrank.csv")
    first_two = sorted(data["group"].unique())[:2]
    for row in ref.itertuples():
        d = data if row.groups == "all" else data[data["group"].isin(first_two)]
        res = sv.logrank(d, by="group", event=row.event)
        assert abs(res["statistic"].item() - row.statistic) <= 1e-6
        assert res["df"].item() == row.df
        groups = pd.DataFrame(res.attrs["groups"])
        assert groups["observed"].sum() == pytest.approx(groups["expected"].sum())


def test_rmst_matches_r_rmean(case):
    name, data = case
    ref = _read_ref(f"{name}_rmst.csv")
    for tau, r in ref.groupby("tau", sort=False):
        res = pd.concat([sv.rmst(data, tau), sv.rmst(data, tau, by="group")], ignore_index=True)
        _close(res["rmst"], r["rmean"], 1e-6, f"rmst tau={tau}")
        _close(res["se"], r["se"], 1e-6, f"se tau={tau}")


def test_rmst_differences():
    d = pd.DataFrame(
        {
            "duration": [1.0, 2, 3, 4, 2, 4, 6, 8],
            "event": [1, 1, 1, 1, 1, 0, 1, 1],
            "arm": ["a"] * 4 + ["b"] * 4,
        }
    )
    res = sv.rmst(d, tau=4, by="arm")
    # arm a: S = .75,.5,.25,0 → area 1 + .75 + .5 + .25 = 2.5; arm b: 2·1 + 2·.75 = 3.5
    _close(res["rmst"], [2.5, 3.5], 1e-12, "rmst")
    assert np.isnan(res["difference"].iloc[0])
    assert res["difference"].iloc[1] == pytest.approx(1.0)
    dse = np.hypot(res["se"].iloc[0], res["se"].iloc[1])
    assert res["difference_se"].iloc[1] == pytest.approx(dse)
    assert res["difference_lower"].iloc[1] == pytest.approx(1.0 - 1.959963984540054 * dse)
    assert 0 < res["p_value"].iloc[1] < 1


def test_median_matches_r(case):
    name, data = case
    ref = _read_ref(f"{name}_median.csv")
    for ct, r in ref.groupby("conf_type", sort=False):
        res = pd.concat(
            [
                sv.median_survival(sv.kaplan_meier(data, conf_type=ct)),
                sv.median_survival(sv.kaplan_meier(data, by="group", conf_type=ct)),
            ],
            ignore_index=True,
        )
        for col in ("median", "lower", "upper"):
            _close(res[col], r[col], 0, f"{ct} {col}")


def test_median_midpoint_rule():
    # S = 0.75, 0.5, 0.5, 0.25 at 1,2,3,4 is flat at 0.5 on [2, 4) → median (2 + 4) / 2
    km = pd.DataFrame(
        {
            "time": [1.0, 2, 3, 4],
            "survival": [0.75, 0.5, 0.5, 0.25],
            "lower": [0.5, 0.3, 0.3, 0.1],
            "upper": [0.9, 0.7, 0.7, 0.6],
        }
    )
    res = sv.median_survival(km)
    # lower curve is flat at 0.5 on [1, 2) → 1.5; the upper curve never reaches 0.5
    assert res.loc[0, "median"] == 3.0 and res.loc[0, "lower"] == 1.5
    assert np.isnan(res.loc[0, "upper"])


def test_kaplan_meier_hand_case_with_ties_and_zero():
    # R: survfit(Surv(c(1,2,2,3,3,4), c(1,0,1,1,1,1)) ~ 1, conf.type = "log-log")
    d = pd.DataFrame({"duration": [1.0, 2, 2, 3, 3, 4], "event": [1, 0, 1, 1, 1, 1]})
    km = sv.kaplan_meier(d)
    _close(km["survival"], [5 / 6, 2 / 3, 2 / 9, 0.0], 1e-15, "S")
    _close(km["se_log"][:3], [0.1825742, 0.2886751, 0.8660254], 1e-7, "se_log")
    assert np.isinf(km["se_log"].iloc[3]) and np.isnan(km["se"].iloc[3])
    _close(km["lower"], [0.273122850, 0.194616637, 0.009569137, np.nan], 1e-9, "lower")
    assert km["n_censor"].tolist() == [0, 1, 0, 0]
    # competing codes count as censored
    d2 = d.assign(event=[1, 2, 1, 1, 1, 1])
    pd.testing.assert_frame_equal(sv.kaplan_meier(d2), km)


def test_aalen_johansen_tiny_hand_case():
    # times 1 (cause 1), 2 (cause 2), 2 (censored), 3 (cause 1):
    # S: 3/4 after 1, 3/4·(1−1/3) = 1/2 after 2; F1 = 1/4, then +1/2·1 = 3/4 at 3
    d = pd.DataFrame({"duration": [1.0, 2, 2, 3], "event": [1, 2, 0, 1]})
    cif = sv.cumulative_incidence(d)
    f1 = cif[cif.event == 1]
    f2 = cif[cif.event == 2]
    _close(f1["cif"], [0.25, 0.25, 0.75], 1e-15, "F1")
    _close(f2["cif"], [0.0, 0.25, 0.25], 1e-15, "F2")
    assert f1["at_risk"].tolist() == [4, 3, 1]
    # unrequested causes still leave the risk set
    only1 = sv.cumulative_incidence(d, events=[1])
    _close(only1["cif"], f1["cif"], 0, "F1 alone")


def test_cohort_conversion_counts_and_matches_cif():
    d = pd.DataFrame(
        {
            "duration": [5.0, 20, 40, 70, 10, 15, 25, 35.0],
            "event": [1, 2, 1, 0, 1, 0, 0, 2],
            "cohort": ["2024-01"] * 4 + ["2024-02"] * 4,
        }
    )
    res = sv.cohort_conversion(d, ages=(10, 30))
    assert res[["cohort", "age"]].values.tolist() == [
        ["2024-01", 10.0],
        ["2024-01", 30.0],
        ["2024-02", 10.0],
        ["2024-02", 30.0],
    ]
    assert res["n"].tolist() == [4, 4, 4, 4]
    # mature by 10: Jan all (5 had an event, others followed ≥ 10); by 30: 5, 20 events + 40, 70
    assert res["n_mature"].tolist() == [4, 4, 4, 2]
    # Jan at 10: one of four converted, nobody censored yet → 0.25; Feb at 30: KM-type
    cif = sv.cumulative_incidence(d, by="cohort", events=[1])
    jan = cif[(cif.cohort == "2024-01") & (cif.time == 5.0)]["cif"].item()
    assert res["converted"].iloc[0] == pytest.approx(jan) == pytest.approx(0.25)
    assert res["observed_share"].tolist() == [0.25, 0.25, 0.25, 0.25]
    assert res["converted"].iloc[3] == pytest.approx(0.25)


@pytest.mark.parametrize(
    ("call", "err", "match"),
    [
        (lambda d: sv.kaplan_meier(d.drop(columns="event")), ConfigError, "'event'"),
        (lambda d: sv.kaplan_meier(d, by="nope"), ConfigError, "nope"),
        (lambda d: sv.kaplan_meier(d, conf_type="logit"), ConfigError, "conf_type"),
        (lambda d: sv.kaplan_meier(d.assign(duration=-1.0)), InputError, "negative"),
        (lambda d: sv.kaplan_meier(d.assign(event=0.5)), InputError, "integers"),
        (lambda d: sv.logrank(d, by=None), ConfigError, "by= is required"),
        (lambda d: sv.logrank(d.assign(group="A"), by="group"), ConfigError, "at least 2"),
        (lambda d: sv.rmst(d, tau=0), ConfigError, "tau"),
        (lambda d: sv.cumulative_incidence(d, events=[0]), ConfigError, "codes"),
        (lambda d: sv.cumulative_incidence(d, variance="x"), ConfigError, "variance 'x'"),
        (lambda d: sv.kaplan_meier(d.iloc[:0]), InputError, "empty"),
    ],
)
def test_bad_inputs(sim, call, err, match):
    with pytest.raises(err, match=match):
        call(sim)


def test_maven_through_import_crm_and_time_to_event(shared_data, maven):
    from qualmodel.crm import import_crm
    from qualmodel.survival.durations import time_to_event

    journeys = import_crm(shared_data / "maven_crm" / "sales_pipeline.csv", "maven_crm")
    tte = time_to_event(
        journeys, start="sal_at", target="won_at", competing="lost_at", covariates=["product"]
    )
    assert tte["lead_id"].tolist() == maven["id"].tolist()
    _close(tte["duration"], maven["duration"], 0, "duration")
    assert tte["event"].tolist() == maven["event"].tolist()
    ref = _read_ref("maven_cif.csv")
    ref = ref[ref["group"] == "all"]
    cif = sv.cumulative_incidence(tte)
    _close(cif["cif"], ref["cif"], POINT, "cif via import_crm")
    _close(cif["se"], ref["std_err"], SE, "se via import_crm")
    lr = _read_ref("maven_logrank.csv")
    want = lr[(lr["groups"] == "all") & (lr["event"] == 1)]["statistic"].item()
    assert abs(sv.logrank(tte, by="product")["statistic"].item() - want) <= 1e-6


def test_cox_matches_r_coxph_efron(case):
    name, data = case
    ref = _read_ref(f"{name}_cox.csv")
    covs = ["group"]
    if name == "sim":
        data = data.assign(x=((data["id"] * 37) % 11) / 5)
        covs.append("x")
    res = md.cox(data, covs).table
    assert res["term"].tolist() == [t.replace("group", "group=", 1) for t in ref["term"]]
    _close(res["coef"], ref["coef"], 1e-6, "coef")
    _close(res["se"], ref["se"], 1e-6, "se")
    _close(res["p_value"], ref["p_value"], 1e-6, "p")
    _close(res["hr"], np.exp(ref["coef"]), 1e-6, "HR")
    fit = md.cox(data, covs)
    assert fit.summary["log_likelihood"] == pytest.approx(ref["loglik"].iloc[0], abs=1e-6)
    assert fit.summary["events"] == int((data["event"] == 1).sum())


def test_cox_bad_covariates(sim):
    with pytest.raises(ConfigError, match="do not vary"):
        md.cox(sim.assign(k=1.0), ["k"])
    with pytest.raises(ConfigError, match="missing value"):
        md.cox(sim.assign(k=np.nan), ["k"])
    with pytest.raises(ConfigError, match="nope"):
        md.cox(sim, ["nope"])


def test_rmst_reference_group():
    """Differences against a chosen reference group equal the plain RMST differences."""
    from qualmodel.core.errors import ConfigError as _ConfigError

    rng = np.random.default_rng(0)
    data = pd.DataFrame(
        {
            "duration": rng.exponential(20, 90),
            "event": rng.integers(0, 2, 90),
            "g": np.repeat(["a", "b", "c"], 30),
        }
    )
    first = sv.rmst(data, tau=30, by="g")
    ref = sv.rmst(data, tau=30, by="g", reference="c").set_index("g")
    assert np.isnan(ref.loc["c", "difference"])
    expected = first.set_index("g")["rmst"] - first.set_index("g").loc["c", "rmst"]
    assert np.allclose(ref.loc[["a", "b"], "difference"], expected.loc[["a", "b"]])
    with pytest.raises(_ConfigError, match="reference 'z' is not a group of g"):
        sv.rmst(data, tau=30, by="g", reference="z")
