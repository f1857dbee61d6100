"""search_criteria: vectorised evaluation equals qualify, frontier, split, winner, planted truth."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from qualmodel import load_criteria, qualify, simulate
from qualmodel.core.errors import ConfigError
from qualmodel.criteria.search import criteria_yaml, frontier_mask, search_criteria
from qualmodel.criteria.space import INF, CandidateGrid, list_search_spaces, load_search_space
from qualmodel.report.wording import search_summary


@pytest.fixture(scope="module")
def saas():
    j = simulate("startup_saas", n_leads=4000, seed=3)
    return j.subset(j.leads.loc[j.leads["sal_at"].notna(), "lead_id"])


def test_vectorised_times_equal_qualify(saas):
    """The grid's qualified_at equals qualify() of the candidate criterion, lead by lead."""
    grid = CandidateGrid(saas, load_search_space("startup_saas"))
    rng = np.random.default_rng(7)
    idx = rng.choice(len(grid.table), size=40, replace=False)
    # always include the pure parts: score only, BANT only, events only
    kinds = grid.table.groupby("n_parts").head(3).index.to_numpy()
    idx = np.unique(np.r_[idx, kinds])
    times = grid.times(idx)
    for row, i in zip(times, idx, strict=True):
        q = qualify(saas, grid.criterion(i))["qualified_at"].to_numpy().view(np.int64)
        expect = np.where(q == np.iinfo(np.int64).min, INF, q)
        assert np.array_equal(row, expect), grid.table.at[i, "name"]
    assert (times != INF).any() and (times == INF).any()


def test_frontier_mask_matches_brute_force():
    rng = np.random.default_rng(1)
    p, r = rng.integers(0, 6, 300) / 5, rng.integers(0, 6, 300) / 5
    w = rng.integers(0, 6, 300).astype(float)
    w[5] = np.nan
    got = frontier_mask(p, r, w)
    for i in range(300):
        dominated = not np.isfinite(w[i])
        for j in range(300):
            if j == i or not np.isfinite(w[j]):
                continue
            ge = p[j] >= p[i] and r[j] >= r[i] and w[j] <= w[i]
            strict = p[j] > p[i] or r[j] > r[i] or w[j] < w[i]
            if ge and (strict or j < i):
                dominated = True
        assert got[i] == (not dominated), i


def _planted(saas):
    """Wins are exactly the leads meeting 'need confirmed and quote requested'."""
    rule = load_criteria(
        "criteria:\n- name: truth\n  all_of:\n  - bant: {require: [need]}\n"
        "  - events: {all: [quote_requested]}\n"
    )[0]
    q = qualify(saas, rule)["qualified_at"]
    leads = saas.leads.copy()
    won = q.notna().to_numpy()
    for col in ("won_at", "lost_at"):
        leads[col] = pd.NaT
    leads.loc[won, "won_at"] = leads.loc[won, "observed_until"]
    return type(saas)(leads, saas.events, dict(saas.meta)), won


def test_search_recovers_planted_definition(saas):
    j, won = _planted(saas)
    assert won.sum() > 50
    res = search_criteria(j, "startup_saas", n_boot=50)
    row = res.candidates[res.candidates["winner"]].iloc[0]
    assert row["precision"] == 1.0 and row["recall"] == 1.0
    assert row["precision_test"] == 1.0 and row["recall_test"] == 1.0
    assert "need" in row["bant"] and row["events"] == "quote_requested"
    held = res.holdout_row(res.winner.name)
    assert held["precision"] == 1.0 and held["recall"] == 1.0


def test_split_capacity_and_yaml_roundtrip(saas):
    res = search_criteria(saas, "startup_saas", capacity_per_week=10, n_boot=50, mature_days=0)
    sal = saas.leads["sal_at"]
    assert res.settings["n_holdout"] == int((sal >= res.split_at).sum())
    assert res.settings["n_fit"] == int((sal < res.split_at).sum())
    assert abs(res.settings["n_holdout"] / len(sal) - 0.3) < 0.01
    win = res.candidates[res.candidates["winner"]].iloc[0]
    assert win["per_week"] <= 10 and win["on_frontier"]
    within = res.frontier[res.frontier["per_week"] <= 10]
    assert win["f1"] == within["f1"].max()
    assert res.holdout["criterion"].iloc[0] == res.winner.name
    # every frontier point is a regular criterion: YAML round trip gives the same times
    names = list(res.criteria)[:5]
    back = load_criteria(criteria_yaml([res.criteria[n] for n in names]))
    for crit in back:
        a = qualify(saas, crit)["qualified_at"]
        b = qualify(saas, res.criteria[crit.name])["qualified_at"]
        pd.testing.assert_series_equal(a, b)
    with pytest.raises(ConfigError, match="no frontier definition fits 0.01 SQOs/week"):
        search_criteria(saas, "startup_saas", capacity_per_week=0.01, n_boot=0)
    with pytest.raises(ConfigError, match="no candidate qualifies ≥ 100000 fit leads"):
        search_criteria(saas, "startup_saas", min_qualified=100_000, n_boot=0)


def test_holdout_share_knob(saas):
    res = search_criteria(saas, "startup_saas", holdout_share=0.5, n_boot=0, mature_days=0)
    assert abs(res.settings["n_holdout"] / saas.n_leads - 0.5) < 0.01
    with pytest.raises(ConfigError, match="holdout_share: expected a finite number > 0 and < 1"):
        search_criteria(saas, "startup_saas", holdout_share=1.0)


def test_mature_days_knob(saas):
    """Default: only SALs followed for ≥ horizon_days; mature_days=0 keeps all."""
    follow = (saas.leads["observed_until"] - saas.leads["sal_at"]).dt.days
    res = search_criteria(saas, "startup_saas", n_boot=0, horizon_days=60)
    s = res.settings
    assert s["mature_days"] == 60
    assert s["n_fit"] + s["n_holdout"] == int((follow >= 60).sum()) < saas.n_leads
    res = search_criteria(saas, "startup_saas", n_boot=0, mature_days=0)
    assert res.settings["n_fit"] + res.settings["n_holdout"] == saas.n_leads
    with pytest.raises(ConfigError, match="mature_days: expected a finite number ≥ 0"):
        search_criteria(saas, "startup_saas", mature_days=-1)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("score: {threshold: [10], half_life_days: [0]}\n", r"score.half_life_days: .*> 0"),
        ("bant: {choose_from: [budget, money]}\n", r"bant.choose_from\[1\]"),
        ("events: {choose_frm: [a]}\n", r"events.choose_frm: unknown key"),
        ("name: x\n", "give at least one of"),
        ("score: {threshold: {min: 5, max: 1, step: 1}, events: {a: 1}}\n", "below min"),
    ],
)
def test_space_errors_are_one_line(text, match):
    with pytest.raises(ConfigError, match=match) as info:
        load_search_space(text)
    assert "\n" not in str(info.value)


def test_unknown_event_in_space(saas):
    with pytest.raises(ConfigError, match="unknown event.*demo_complete"):
        search_criteria(saas, "events: {choose_from: [demo_complete]}\n")


def test_builtin_spaces_load():
    assert list_search_spaces() == ["consultancy", "digital_agency", "startup_saas"]
    for name in list_search_spaces():
        assert load_search_space(name).scenario == name


def test_cli_search_writes_outputs(tmp_path, saas):
    from qualmodel.cli import main

    saas.write(tmp_path / "j")
    out = tmp_path / "out"
    main(
        [
            "search",
            "-j",
            str(tmp_path / "j"),
            "-s",
            "startup_saas",
            "--n-boot",
            "20",
            "--capacity-per-week",
            "10",
            "--out",
            str(out),
        ]
    )
    names = sorted(p.name for p in out.iterdir())
    assert names == ["frontier.csv", "frontier.png", "frontier.yaml", "holdout.csv", "winner.yaml"]
    winner = load_criteria(out / "winner.yaml")
    assert len(winner) == 1 and winner[0].name == pd.read_csv(out / "holdout.csv")["criterion"][0]
    assert len(load_criteria(out / "frontier.yaml")) == len(pd.read_csv(out / "frontier.csv"))
    assert (out / "frontier.png").read_bytes()[:4] == b"\x89PNG"


def test_cli_search_errors_exit_2(tmp_path, saas, capsys):
    from qualmodel.cli import main

    saas.write(tmp_path / "j")
    bad = tmp_path / "space.yaml"
    bad.write_text("bant: {choose_from: [budgett]}\n")
    with pytest.raises(SystemExit) as info:
        main(["search", "-j", str(tmp_path / "j"), "-s", str(bad), "--out", str(tmp_path / "o")])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "space.yaml: bant.choose_from[0]" in err
    assert not (tmp_path / "o").exists()


def test_plot_frontier_draws_candidates_frontier_and_winner(saas):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from qualmodel.plotting import plot_frontier

    res = search_criteria(saas, "startup_saas", capacity_per_week=10, n_boot=0)
    ax = plot_frontier(res, labels={"title": "Gesuchte SQO-Definitionen"})
    sizes = [len(c.get_offsets()) for c in ax.collections]
    n_over = int((res.frontier["per_week"] > 10).sum())
    assert sizes[0] == len(res.candidates)  # every candidate in grey
    assert sizes[1] + n_over == len(res.frontier)
    assert 1 in sizes  # the winner's star
    assert ax.get_title() == "Gesuchte SQO-Definitionen"
    # built-in rules: numbers at the points (names overlap there), names in the legend
    names = [t.get_text() for t in ax.get_legend().get_texts()]
    marks = [t.get_text() for t in ax.texts]
    assert marks == [str(i) for i in range(1, len(res.builtins) + 1)]
    assert [f"{i}: {n}" for i, n in enumerate(res.builtins["criterion"], 1)] == names[-len(marks) :]
    plt.close(ax.figure)


def test_summary_sentence_states_winner_and_cis(saas):
    res = search_criteria(saas, "startup_saas", n_boot=50)
    row = res.holdout_row(res.winner.name)
    en, de = search_summary(res), search_summary(res, "de")
    assert res.winner.name in en and res.winner.name in de
    assert f"{row['precision_lo']:.0%}–{row['precision_hi']:.0%}" in en
    assert f"{row['recall']:.0%}".replace("%", "\u00a0%") in de
    assert en.count(". ") == 0  # one sentence


def test_holdout_metrics_match_compare_criteria(saas):
    """The vectorised held-out metrics of the winner equal compare_criteria's (same leads)."""
    res = search_criteria(saas, "startup_saas", n_boot=0)
    row = res.candidates[res.candidates["winner"]].iloc[0]
    held = res.holdout_row(res.winner.name)
    assert row["precision_test"] == pytest.approx(held["precision"], abs=1e-12)
    assert row["recall_test"] == pytest.approx(held["recall"], abs=1e-12)
    assert row["lead_time_days_test"] == pytest.approx(held["lead_time_days"], abs=1e-9)
    assert res.candidates.loc[~res.candidates["on_frontier"], "lead_time_days"].isna().all()
