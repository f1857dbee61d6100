"""Power of a stated effect on a fitted scenario (``power --effect``)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import optimize

import qualmodel as qm
from conftest import run_cli
from qualmodel.core.errors import ConfigError
from qualmodel.experiment.effects import apply_effect, bootstrap_leads, effect_power, parse_effect
from qualmodel.experiment.mde import leads_needed, two_proportion_power
from qualmodel.simulation.twin_schema import twin_yaml


@pytest.fixture(scope="module")
def twin():
    obs = qm.simulate("consultancy", n_leads=6000, seed=5)
    sc, _ = qm.fit_scenario(obs, seed=0, n_boot=5, n_check=1)
    return sc


@pytest.mark.parametrize(
    "text, kind, value",
    [("share:+10%", "share", 1.1), ("share:-5%", "share", 0.95), ("hr:0.8", "hr", 0.8)],
)
def test_parse_effect(text, kind, value):
    eff = parse_effect(text)
    assert eff.kind == kind and eff.value == pytest.approx(value) and eff.label == text


@pytest.mark.parametrize("text", ["share:10", "share:0%", "share:-100%", "hr:1", "hr:-2", "x"])
def test_parse_effect_refuses(text):
    with pytest.raises(ConfigError, match="--effect"):
        parse_effect(text)


def test_share_lift_takes_room_from_competitors(twin):
    lifted = apply_effect(twin, parse_effect("share:+40%"))
    t = twin.plan.target
    assert lifted.stages[t].share == pytest.approx(twin.stages[t].share * 1.4)
    after = twin.stages[t].after
    assert sum(lifted.stages[k].share for k in lifted.children(after)) <= 1.0 + 1e-9
    with pytest.raises(ConfigError, match="> 1"):
        apply_effect(twin, parse_effect("share:+900%"))


def test_hazard_ratio_transforms_the_cumulative_incidence(twin):
    t = twin.plan.target
    st = twin.stages[t]
    hr = apply_effect(twin, parse_effect("hr:0.7")).stages[t]
    days = np.array([10.0, 30.0, 90.0])
    want = 1 - (1 - st.share * st.delay.cdf(days)) ** 0.7
    assert np.allclose(hr.share * hr.delay.cdf(days), want, atol=2e-3)


def test_effect_needs_a_fitted_scenario():
    with pytest.raises(ConfigError, match="fitted scenario"):
        apply_effect(qm.load_scenario("startup_saas"), parse_effect("hr:0.8"))


def test_effect_power_table_and_spread(twin):
    tab = effect_power(twin, "share:+30%", n_leads=[1000, 3000], n_replicates=20, seed=1)
    assert set(tab["metric"]) == {"target_share", "time_to_target"}
    row = tab[(tab["metric"] == "target_share") & (tab["n_leads"] == 3000)].iloc[0]
    assert row["candidate_value"] / row["baseline_value"] == pytest.approx(1.3, rel=0.1)
    again = effect_power(twin, "share:+30%", n_leads=[1000, 3000], n_replicates=20, seed=1)
    assert tab.equals(again)
    spread = bootstrap_leads(tab, twin)
    assert spread["n_boot"] == 5 and spread["lo"] <= spread["hi"]
    assert not leads_needed(tab).empty


def test_cli_power_effect(twin, tmp_path, capsys):
    path = tmp_path / "twin.yaml"
    path.write_text(twin_yaml(twin), encoding="utf-8")
    out = tmp_path / "power.csv"
    args = ["power", "--scenario", str(path), "--effect", "share:+30%", "--out", str(out)]
    code, cap = run_cli([*args, "--n-leads", "500,1000", "--replicates", "10"], capsys)
    assert code == 0, cap.err
    assert "leads per arm for 80% power" in cap.out and "model-based" in cap.out
    assert out.is_file()
    code, cap = run_cli(
        ["power", "--scenario", "startup_saas", "--out", str(tmp_path / "x.csv")], capsys
    )
    assert code == 2 and "--baseline and --candidate" in cap.err
    bad = [
        "power",
        "--scenario",
        "startup_saas",
        "--effect",
        "hr:0.8",
        "--out",
        str(tmp_path / "y.csv"),
    ]
    code, cap = run_cli(bad, capsys)
    assert code == 2 and "fitted scenario" in cap.err and not (tmp_path / "y.csv").exists()


@pytest.mark.slow
def test_leads_per_arm_on_the_twin_match_the_truth():
    """share:+25% on startup_saas: twin (simulated power) within ±25% of the truth's
    normal-approximation leads per arm at the true scenario's observed SQO share."""
    obs = qm.simulate("startup_saas", n_leads=20_000, seed=1)
    twin, _ = qm.fit_scenario(obs, seed=0, n_boot=0, n_check=1)
    tab = effect_power(twin, "share:+25%", n_leads=[1500, 3000, 6000], n_replicates=60, seed=0)
    twin_n = float(leads_needed(tab).set_index("metric").loc["target_share", "leads_analytic"])
    p0 = np.mean(
        [qm.simulate("startup_saas", n_leads=20_000, seed=300 + i).leads["sqo_at"].notna().mean()
         for i in range(5)]
    )  # fmt: skip
    truth_n = optimize.brentq(
        lambda x: two_proportion_power(p0, 1.25 * p0, x, x, 0.05) - 0.8, 2, 1e9
    )
    assert abs(twin_n / truth_n - 1) <= 0.25, (twin_n, truth_n)


@pytest.mark.slow
def test_effect_power_same_table_on_dask(twin):
    from qualmodel.experiment.power import local_cluster

    kw = dict(n_leads=[500, 1000], n_replicates=10, seed=3)
    a = effect_power(twin, "hr:0.8", **kw)
    with local_cluster(2) as client:
        b = effect_power(twin, "hr:0.8", client=client, **kw)
    assert a.equals(b)


@pytest.mark.parametrize("seed", [3, 11])
def test_replicate_times_equal_time_to_event_on_the_simulated_twin(twin, seed):
    """The table-free replicate path gives the rows time_to_event gives on simulate_twin."""
    from qualmodel.experiment.effects import _arm_times
    from qualmodel.simulation.twin import simulate_twin
    from qualmodel.survival.durations import time_to_event

    sc = twin.model_copy(update={"touchpoints": {}})
    reached, started, duration, event = _arm_times(sc, 1500, seed)
    j = simulate_twin(sc, 1500, seed)
    start = "created_at" if sc.plan.start == "created" else f"{sc.plan.start}_at"
    tte = time_to_event(j, start=start, target=f"{sc.plan.target}_at", competing=())
    np.testing.assert_array_equal(reached, j.leads[f"{sc.plan.target}_at"].notna().to_numpy())
    np.testing.assert_array_equal(started, j.leads[start].notna().to_numpy())
    np.testing.assert_array_equal(duration, tte["duration"].to_numpy())
    np.testing.assert_array_equal(event, tte["event"].to_numpy())
