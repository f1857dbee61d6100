"""compare_criteria / pairwise_tests against hand-computed values and outside references."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from lifelines import KaplanMeierFitter
from lifelines.statistics import logrank_test
from scipy import stats

from conftest import make_journeys
from qualmodel.core.errors import ConfigError
from qualmodel.criteria.compare import (
    compare_criteria,
    mcnemar,
    pairwise_tests,
    recommend_criterion,
    weighted_km,
)
from qualmodel.criteria.engine import Criterion, load_criteria

# Ten leads, all SAL on 2026-01-01, observed until 2026-04-01 (90 days).
# demo_completed: L0 01-11 (10 d), L1 01-21 (20 d), L3 01-06 (5 d), L4 02-10 (40 d)
# won: L0, L1, L2, L5.  pricing_call: L0 01-12, L2 01-03, L6 01-04.
# true_ready_at: L0 01-09, L1 01-25, L4 02-01 (L3 never ready).
WON = {"L0", "L1", "L2", "L5"}
DEMO = {"L0": "2026-01-11", "L1": "2026-01-21", "L3": "2026-01-06", "L4": "2026-02-10"}
PRICING = {"L0": "2026-01-12", "L2": "2026-01-03", "L6": "2026-01-04"}
READY = {"L0": "2026-01-09", "L1": "2026-01-25", "L4": "2026-02-01"}


def tiny():
    leads, events = [], []
    for i in range(10):
        lid = f"L{i}"
        row = dict(
            lead_id=lid,
            created_at="2025-12-20",
            sal_at="2026-01-01",
            observed_until="2026-04-01",
            true_ready_at=READY.get(lid),
        )
        if lid in WON:
            row.update(sqo_at="2026-02-20", won_at="2026-03-01")
        leads.append(row)
        if lid in DEMO:
            events.append((lid, DEMO[lid], "demo_completed"))
        if lid in PRICING:
            events.append((lid, PRICING[lid], "pricing_call"))
    # one lead without SAL: excluded everywhere
    leads.append(dict(lead_id="L9x", created_at="2026-01-01", observed_until="2026-04-01"))
    events.append(("L9x", "2026-01-02", "demo_completed"))
    j = make_journeys(leads, events)
    j.leads["true_ready_at"] = pd.to_datetime(j.leads["true_ready_at"])
    return j


CRITS = load_criteria(
    """
criteria:
  - name: demo
    events: {all: [demo_completed]}
  - name: pricing
    events: {all: [pricing_call]}
"""
)


def test_compare_hand_computed_metrics():
    out = compare_criteria(tiny(), CRITS, horizon_days=30, n_boot=200, seed=1)
    r = out.set_index("criterion").loc["demo"]
    assert r["n_leads"] == 10 and r["n_won"] == 4 and r["n_qualified"] == 4
    assert r["qualified_rate"] == pytest.approx(0.4)
    # qualified & won: L0, L1 → precision 2/4, recall 2/4, base 4/10, lift 1.25
    assert r["precision"] == pytest.approx(0.5)
    assert r["recall"] == pytest.approx(0.5)
    assert r["base_win_rate"] == pytest.approx(0.4)
    assert r["lift"] == pytest.approx(1.25)
    # KM: events at 5, 10, 20, 40 d among 10 at risk, 6 censored at 90 d:
    # S = .9, .8, .7, .6 → median not reached; 1 − S(30) = 0.3
    assert np.isnan(r["median_days"])
    assert r["share_by_horizon"] == pytest.approx(0.3)
    # workload: 4 qualified over 90 days = 90/7 weeks
    assert r["per_week"] == pytest.approx(4 / (90 / 7))
    # lead time vs true_ready_at: L0 +2, L1 −4, L4 +9 → median 2 days
    assert r["lead_time_days"] == pytest.approx(2.0) and r["n_lead_time"] == 3
    p = out.set_index("criterion").loc["pricing"]
    # pricing: L0 (11 d), L2 (2 d), L6 (3 d); won L0, L2 → precision 2/3, recall 2/4
    assert p["precision"] == pytest.approx(2 / 3) and p["recall"] == pytest.approx(0.5)
    assert p["lift"] == pytest.approx((2 / 3) / 0.4)
    assert out.attrs["span_weeks"] == pytest.approx(90 / 7)


def test_confidence_intervals_contain_estimate_and_are_reproducible():
    j = tiny()
    a = compare_criteria(j, CRITS, n_boot=300, seed=7)
    b = compare_criteria(j, CRITS, n_boot=300, seed=7)
    c = compare_criteria(j, CRITS, n_boot=300, seed=8)
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(c)
    for key in ("qualified_rate", "share_by_horizon", "precision", "recall", "lift", "per_week"):
        assert (a[f"{key}_lo"] <= a[key] + 1e-12).all(), key
        assert (a[key] <= a[f"{key}_hi"] + 1e-12).all(), key
        assert (a[f"{key}_lo"] < a[f"{key}_hi"]).all(), key


def random_journeys(n=600, seed=0):
    rng = np.random.default_rng(seed)
    leads, events = [], []
    base = pd.Timestamp("2026-01-01")
    for i in range(n):
        lid = f"L{i:05d}"
        won = rng.random() < 0.3
        row = dict(
            lead_id=lid,
            created_at=base,
            sal_at=base + pd.Timedelta(days=1),
            observed_until=base + pd.Timedelta(days=120),
        )
        if won:
            row.update(sqo_at=base + pd.Timedelta(days=100), won_at=base + pd.Timedelta(days=110))
        leads.append(row)
        for name, rate in (("demo_completed", 0.6 if won else 0.3), ("pricing_call", 0.5)):
            if rng.random() < rate:
                events.append(
                    (lid, str(base + pd.Timedelta(hours=int(rng.integers(24, 2800)))), name)
                )
    return make_journeys(leads, events)


def test_bootstrap_se_close_to_binomial_se():
    j = random_journeys()
    out = compare_criteria(j, CRITS[:1], n_boot=1000, seed=0).iloc[0]
    p, n = out["qualified_rate"], out["n_leads"]
    # percentile 95 % interval ≈ ±1.96·sqrt(p(1−p)/n) for a proportion with n = 600
    width = out["qualified_rate_hi"] - out["qualified_rate_lo"]
    assert width == pytest.approx(2 * 1.96 * np.sqrt(p * (1 - p) / n), rel=0.15)


def test_weighted_km_matches_lifelines():
    rng = np.random.default_rng(5)
    dur = np.round(rng.exponential(30, 400), 1)
    ev = rng.random(400) < 0.6
    times, surv = weighted_km(dur, ev, np.ones((1, 400)))
    kmf = KaplanMeierFitter().fit(dur, ev)
    ref = kmf.survival_function_at_times(times).to_numpy()
    np.testing.assert_allclose(surv[0], ref, rtol=1e-12)
    # integer weights = duplicated rows
    w = rng.integers(0, 3, 400)
    times_w, surv_w = weighted_km(dur, ev, w[None, :].astype(float))
    kmf = KaplanMeierFitter().fit(np.repeat(dur, w), np.repeat(ev, w))
    np.testing.assert_allclose(surv_w[0], kmf.survival_function_at_times(times_w), rtol=1e-12)


def test_median_and_share_match_lifelines():
    j = random_journeys(seed=2)
    either = Criterion(name="either", any_of=[CRITS[0], CRITS[1]])
    crits = [*CRITS, either]
    out = compare_criteria(j, crits, horizon_days=45, n_boot=0).set_index("criterion")
    from qualmodel import qualify

    assert np.isfinite(out.loc["either", "median_days"])
    for c in crits:
        qa = qualify(j, c)["qualified_at"]
        sal = j.leads["sal_at"]
        end = qa.fillna(j.leads["observed_until"])
        dur = (end - sal) / pd.Timedelta(days=1)
        kmf = KaplanMeierFitter().fit(dur, qa.notna())
        ref = kmf.median_survival_time_
        got = out.loc[c.name, "median_days"]
        assert got == pytest.approx(ref) if np.isfinite(ref) else np.isnan(got)
        s45 = float(kmf.survival_function_at_times(45).iloc[0])
        assert out.loc[c.name, "share_by_horizon"] == pytest.approx(1 - s45)
        assert np.isnan(out.loc[c.name, "qualified_rate_lo"])  # n_boot = 0


def test_mcnemar_exact_matches_scipy_binomial():
    out = pairwise_tests(tiny(), CRITS).iloc[0]
    # demo {L0,L1,L3,L4} vs pricing {L0,L2,L6}: both 1, only demo 3, only pricing 2
    assert (out["both"], out["only_a"], out["only_b"], out["neither"]) == (1, 3, 2, 4)
    assert out["mcnemar_method"] == "exact binomial"
    ref = stats.binomtest(2, 5, 0.5).pvalue
    assert out["mcnemar_p"] == pytest.approx(ref)


@pytest.mark.parametrize("exact", [True, False])
def test_mcnemar_is_statsmodels_mcnemar(exact):
    from statsmodels.stats.contingency_tables import mcnemar as reference

    for only_a, only_b in [(0, 0), (0, 3), (3, 2), (12, 12), (1, 23), (40, 25), (7, 300)]:
        if not exact and only_a + only_b == 0:
            continue
        ref = reference([[5, only_a], [only_b, 9]], exact=exact, correction=True)
        stat, p = mcnemar(only_a, only_b, exact=exact)
        assert stat == pytest.approx(float(ref.statistic), rel=1e-14)
        assert p == pytest.approx(float(ref.pvalue), rel=1e-12, abs=1e-300)


def test_mcnemar_chi_square_and_logrank_against_references():
    j = random_journeys(seed=3)
    out = pairwise_tests(j, CRITS).iloc[0]
    b, c = out["only_a"], out["only_b"]
    assert b + c >= 25 and out["mcnemar_method"] == "chi-square, continuity"
    chi = (abs(b - c) - 1) ** 2 / (b + c)
    assert out["mcnemar_statistic"] == pytest.approx(chi)
    assert out["mcnemar_p"] == pytest.approx(stats.chi2.sf(chi, 1))
    # log-rank against lifelines on the same two duration samples
    from qualmodel import qualify

    sal = j.leads["sal_at"]
    ds = []
    for crit in CRITS:
        qa = qualify(j, crit)["qualified_at"]
        end = qa.fillna(j.leads["observed_until"])
        ds.append(((end - sal) / pd.Timedelta(days=1), qa.notna()))
    ref = logrank_test(ds[0][0], ds[1][0], ds[0][1], ds[1][1])
    assert out["logrank_statistic"] == pytest.approx(ref.test_statistic, rel=1e-9)
    assert out["logrank_p"] == pytest.approx(ref.p_value, rel=1e-9)


def test_qualified_before_start_counts_at_start():
    j = make_journeys(
        [
            dict(
                lead_id="A",
                created_at="2026-01-01",
                sal_at="2026-01-10",
                won_at=None,
                observed_until="2026-03-01",
            ),
            dict(
                lead_id="B",
                created_at="2026-01-01",
                sal_at="2026-01-10",
                won_at=None,
                observed_until="2026-03-01",
            ),
        ],
        [("A", "2026-01-02", "demo_completed"), ("B", "2026-01-30", "demo_completed")],
    )
    out = compare_criteria(j, CRITS[:1], n_boot=0, strict=False).iloc[0]
    # A at 0 days, B at 20 days → S = .5 after day 0 → median 0
    assert out["median_days"] == 0.0 and out["share_by_horizon"] == 1.0


def test_compare_errors():
    j = tiny()
    with pytest.raises(ConfigError, match="unique non-empty names"):
        compare_criteria(j, [CRITS[0], CRITS[0]], n_boot=0)
    with pytest.raises(ConfigError, match="outcome column 'closed_at'"):
        compare_criteria(j, CRITS, outcome="closed_at", n_boot=0)
    with pytest.raises(ConfigError, match="at least two"):
        pairwise_tests(j, CRITS[:1])
    with pytest.raises(ConfigError, match="at least one"):
        compare_criteria(j, [], n_boot=0)
    assert isinstance(CRITS[0], Criterion)


SCENARIOS = ["startup_saas", "consultancy", "digital_agency"]


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_builtin_criteria_run_on_simulated_journeys(scenario):
    from qualmodel.criteria.engine import qualify, scenario_criteria
    from qualmodel.simulation.engine import simulate

    j = simulate(scenario, n_leads=2000, seed=1)
    crits = load_criteria(scenario, known_events=j.event_names)  # known event names only
    assert [c.name for c in crits] == [c.name for c in scenario_criteria(scenario)]
    for c in crits:
        r = qualify(j, c)
        assert len(r) == j.n_leads
        assert r["qualified_at"].notna().any(), c.name
        ok = r["qualified_at"].notna()
        assert (r["qualified_at"][ok] <= j.leads["observed_until"][ok]).all()


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_seed_rule_beats_base_win_rate_on_simulation(scenario):
    from qualmodel.criteria.engine import scenario_criteria
    from qualmodel.simulation.engine import simulate

    # 2,000 leads give only ~300 SALs (too few to separate precision from the base rate);
    # 20,000 leads give ~3,000
    j = simulate(scenario, n_leads=20000, seed=1)
    seed_rule = scenario_criteria(scenario)[0]
    out = compare_criteria(j, [seed_rule], n_boot=300, seed=0).iloc[0]
    assert out["precision"] > out["base_win_rate"]
    assert out["lift_lo"] > 1.0


def test_criteria_plots():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from qualmodel.criteria.engine import qualify, score_trajectory
    from qualmodel.plotting import (
        plot_precision_recall,
        plot_qualification_curves,
        plot_score_trajectory,
        plot_workload,
    )

    j = tiny()
    table = compare_criteria(j, CRITS, n_boot=50)
    ax = plot_qualification_curves(j, CRITS, max_days=60)
    assert ax.get_xlabel() == "days since SAL" and "%" in ax.get_ylabel() and ax.get_title()
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["demo", "pricing"]
    # demo curve: 10 % at 5 d, …, 40 % at 40 d (hand-computed KM above)
    y = ax.get_lines()[0].get_ydata()
    assert max(y) == pytest.approx(40.0)
    ax = plot_precision_recall(table)
    assert "precision" in ax.get_ylabel() and "recall" in ax.get_xlabel() and ax.get_legend()
    ax = plot_workload(table)
    assert "per week" in ax.get_xlabel() and ax.get_title()
    score = Criterion(
        name="s",
        score={
            "threshold": 30,
            "decay": {"half_life_days": 5},
            "events": {"demo_completed": 20, "pricing_call": 20},
        },
    )
    tr = score_trajectory(j, score, ["L0", "L1"], n_grid=30)
    ax = plot_score_trajectory(tr, threshold=30, qualified=qualify(j, score))
    assert ax.get_ylabel() == "score (points)" and len(ax.get_legend().get_texts()) == 3
    plt.close("all")


def _rec_table(rows):
    return pd.DataFrame(
        rows, columns=["criterion", "precision", "precision_hi", "recall", "per_week"]
    )


def test_recommend_criterion_highest_recall_among_not_worse():
    table = _rec_table(
        [
            ("current", 0.40, 0.45, 0.30, 10.0),
            ("broad", 0.20, 0.25, 0.90, 40.0),  # clearly worse precision: excluded
            ("balanced", 0.36, 0.41, 0.60, 20.0),  # hi 0.41 >= 0.40: eligible
            ("tie", 0.38, 0.43, 0.60, 15.0),  # same recall, lower workload: wins
        ]
    )
    rec = recommend_criterion(table)
    assert rec.loc["recommended", "criterion"] == "tie"
    assert rec.loc["baseline", "criterion"] == "current"
    assert bool(rec["changed"].iloc[0]) is True


def test_recommend_criterion_keeps_baseline_and_named_baseline():
    table = _rec_table(
        [
            ("strict", 0.60, 0.70, 0.20, 5.0),
            ("loose", 0.30, 0.35, 0.80, 30.0),
        ]
    )
    rec = recommend_criterion(table)
    assert rec.loc["recommended", "criterion"] == "strict"
    assert not rec["changed"].any()
    # with the loose rule as the current definition, the strict one has lower recall
    rec = recommend_criterion(table, baseline="loose")
    assert rec.loc["recommended", "criterion"] == "loose"
    assert rec.loc["baseline", "criterion"] == "loose"


def test_recommend_criterion_errors():
    table = _rec_table([("a", 0.5, 0.6, 0.5, 1.0)])
    with pytest.raises(ConfigError, match="baseline 'zzz' is not in the table"):
        recommend_criterion(table, baseline="zzz")
    with pytest.raises(ConfigError, match="outside the table"):
        recommend_criterion(table, baseline=3)
    with pytest.raises(ConfigError, match="lacks column"):
        recommend_criterion(table.drop(columns="recall"))
    with pytest.raises(ConfigError, match="empty"):
        recommend_criterion(table.iloc[:0])
