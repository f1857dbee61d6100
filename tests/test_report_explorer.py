"""The SQO explorer: computation against qualify / compare_criteria, widgets driven directly.

No browser is involved: the widgets' callbacks run when a control's ``value`` is set (as
the front end does) or a button's ``click()`` is called; the numbers they show are checked
against :func:`qualmodel.qualify` and :func:`qualmodel.compare_criteria` on the same
simulated population, with criteria written independently as YAML.
"""

from __future__ import annotations

import base64
import copy

import nbformat
import numpy as np
import pandas as pd
import pytest
import yaml

import qualmodel as qm
from qualmodel import survival as sv
from qualmodel.core.errors import ConfigError
from qualmodel.report import explorer as ex
from qualmodel.report import explorer_widgets as ew
from qualmodel.report.exercises import EXERCISES, direction, make_exercise
from qualmodel.report.explorer_plot import BAR_METRICS, draw, figure_png
from qualmodel.survival.durations import time_to_event

N, SEED = 3000, 11
METRICS = ["n_leads", "n_won", "n_qualified", "qualified_rate", "median_days",
           "share_by_horizon", "precision", "recall", "base_win_rate", "lift", "per_week",
           "lead_time_days"]  # fmt: skip


@pytest.fixture(scope="module")
def pop():
    return ex.load_population("startup_saas", True, N, SEED)


def _crit(text: str) -> qm.Criterion:
    return qm.Criterion.model_validate(yaml.safe_load(text))


def _builtin_score() -> qm.Criterion:
    return next(c for c in qm.scenario_criteria("startup_saas") if c.name == "score_60_decay_30d")


def _points(threshold: float, half_life: float) -> qm.Criterion:
    """The built-in startup_saas points table with another threshold / half-life."""
    spec = _builtin_score().model_dump(exclude_none=True, by_alias=True)
    spec["name"] = "independent"
    spec["score"]["threshold"] = threshold
    if half_life:
        spec["score"]["decay"] = {"half_life_days": half_life}
    else:
        spec["score"].pop("decay")
    return qm.Criterion.model_validate(spec)


def _check_against_compare(result: ex.Explored, journeys, crit: qm.Criterion) -> None:
    """The explorer's row, qualification and curves equal the public API's numbers."""
    ref = qm.compare_criteria(journeys, [crit], horizon_days=result.settings.horizon_days, n_boot=0)
    mine = result.row()
    for key in METRICS:
        np.testing.assert_allclose(float(mine[key]), float(ref[key].iloc[0]), rtol=1e-12,
                                   equal_nan=True, err_msg=key)  # fmt: skip
    qa = qm.qualify(journeys, crit)["qualified_at"].to_numpy()
    np.testing.assert_array_equal(result.qualified_at.to_numpy(), qa)
    # the qualification curve read at the horizon is compare's share_by_horizon
    curve = result.curves[result.curves["criterion"] == result.criterion.name]
    at_h = curve.loc[curve["day"] <= result.settings.horizon_days, "share"].iloc[-1]
    assert at_h == pytest.approx(float(ref["share_by_horizon"].iloc[0]), abs=1e-12)
    # SQOs per week add up to the qualified SALs
    weekly = result.weekly[result.weekly["criterion"] == result.criterion.name]
    assert int(weekly["sqos"].sum()) == int(ref["n_qualified"].iloc[0])
    # competing-risk and naive curves: the survival estimators on the criterion's times
    tte = time_to_event(journeys, target=pd.Series(qa, index=journeys.leads.index),
                        competing="disqualified_at", before_start="zero")  # fmt: skip
    cif = sv.cumulative_incidence(tte)
    h = result.settings.horizon_days
    own = cif[(cif["event"] == 1) & (cif["time"] <= h)]["cif"].iloc[-1]
    assert result.at_horizon("cif") == pytest.approx(own, abs=1e-12)
    assert result.at_horizon("naive") >= result.at_horizon("cif") - 1e-12
    # median days to SQO among the SQOs, from qualify directly
    sal = journeys.leads["sal_at"].to_numpy()
    ok = ~np.isnat(sal) & ~np.isnat(qa)
    days = (np.maximum(qa[ok], sal[ok]) - sal[ok]) / np.timedelta64(1, "D")
    assert float(mine["median_days_sqos"]) == pytest.approx(float(np.median(days)))


# ------------------------------------------------------------------ computation
def test_default_points_rule_is_the_builtin_score_criterion(pop):
    result = ex.explore(pop, ex.Settings())
    _check_against_compare(result, pop.journeys, _builtin_score())
    assert result.reference.name == "seed_demo_pricing_quote"
    ref = qm.compare_criteria(pop.journeys, [result.reference], n_boot=0)
    assert result.row("reference")["per_week"] == pytest.approx(ref["per_week"].iloc[0])


@pytest.mark.parametrize(
    ("settings", "yaml_text"),
    [
        (ex.Settings(family="bant", bant_k=2),
         "name: b\nbant: {min_of: 2, timeline_days: 90}"),
        (ex.Settings(family="bant", bant_k=4, horizon_days=30),
         "name: b\nbant: {min_of: 4, timeline_days: 90}"),
        (ex.Settings(family="events"),
         "name: e\nevents: {all: [demo_completed, pricing_call, quote_requested]}"),
        (ex.Settings(family="events", events=("pricing_call",)),
         "name: e\nevents: {all: [pricing_call]}"),
    ],
)  # fmt: skip
def test_bant_and_events_families_match_compare(pop, settings, yaml_text):
    _check_against_compare(ex.explore(pop, settings), pop.journeys, _crit(yaml_text))


@pytest.mark.parametrize(("threshold", "half_life"), [(25.0, 7.0), (90.0, 60.0), (40.0, 0.0)])
def test_points_family_matches_compare(pop, threshold, half_life):
    settings = ex.Settings(threshold=threshold, half_life_days=half_life)
    result = ex.explore(pop, settings)
    _check_against_compare(result, pop.journeys, _points(threshold, half_life))
    assert result.criterion.name.endswith("nodecay" if not half_life else f"hl{half_life:g}")


def test_results_are_cached_and_nurture_shares_the_leads(pop):
    s = ex.Settings(threshold=55)
    first = ex.explore(pop, s)
    assert ex.explore(pop, s).table.equals(first.table)
    assert ex.load_population("startup_saas", True, N, SEED) is pop
    off = ex.load_population("startup_saas", False, N, SEED)
    assert off is not pop and not off.journeys.leads["nurtured"].any()
    pd.testing.assert_series_equal(off.journeys.leads["sal_at"], pop.journeys.leads["sal_at"])


def test_derived_points_table_for_a_scenario_without_builtin_criteria(tmp_path):
    sc = qm.load_scenario("consultancy")
    path = tmp_path / "mine.yaml"
    path.write_text(
        yaml.safe_dump(sc.model_dump(mode="json", exclude_none=True) | {"name": "mine"})
    )
    p = ex.load_population(str(path), True, 1500, 3)
    assert p.reference is None
    assert {e: v["points"] for e, v in p.points["events"].items() if e in p.signals} == {
        e: ex.DERIVED_POINTS["sqo"] for e in p.signals
    }
    result = ex.explore(p, ex.Settings(scenario=str(path)))
    assert len(result.table) == 1 and result.row()["n_leads"] > 0


@pytest.mark.parametrize(
    ("changes", "needle"),
    [
        ({"family": "score"}, "family 'score' is unknown"),
        ({"threshold": 0}, "threshold"),
        ({"half_life_days": -1}, "half_life_days"),
        ({"bant_k": 5}, "bant_k"),
        ({"horizon_days": float("nan")}, "horizon_days"),
    ],
)
def test_bad_settings_are_one_line_errors(changes, needle):
    with pytest.raises(ConfigError) as info:
        ex.Settings(**changes)
    assert needle in str(info.value) and "\n" not in str(info.value)


def test_unknown_event_names_the_choices(pop):
    with pytest.raises(ConfigError, match="choose from .*demo_completed"):
        ex.criterion_for(pop, ex.Settings(family="events", events=("fax_sent",)))


# ------------------------------------------------------------------ figure and table
def test_figure_shows_the_computed_numbers(pop):
    result = ex.explore(pop, ex.Settings(family="bant", bant_k=3))
    fig = draw(result)
    a1, a2, a3, a4 = fig.axes
    line = a1.lines[0]
    x, y = np.asarray(line.get_xdata()), np.asarray(line.get_ydata())
    at_h = y[x <= result.settings.horizon_days][-1] / 100
    assert at_h == pytest.approx(result.row()["share_by_horizon"], abs=1e-12)
    heights = [b.get_height() / 100 for b in a2.containers[0]]
    assert heights == pytest.approx([result.row()[k] for k in BAR_METRICS])
    assert sum(a3.lines[0].get_ydata()) == result.row()["n_qualified"]
    assert figure_png(fig)[:8] == b"\x89PNG\r\n\x1a\n"
    # refilling the same figure for another definition changes the bars
    other = ex.explore(pop, ex.Settings(family="bant", bant_k=1))
    assert draw(other, fig=fig) is fig
    assert a2.containers[0][0].get_height() / 100 == pytest.approx(other.row()["precision"])


def test_summary_table_in_both_languages(pop):
    result = ex.explore(pop, ex.Settings())
    en = ex.summary_table(result)
    de = ex.summary_table(result, "de")
    assert list(en.columns) == ["points ≥ 60, half-life 30 days",
                                "current definition (seed_demo_pricing_quote)"]  # fmt: skip
    assert en.loc["SQOs per week (sales workload)"].iloc[0] == f"{result.row()['per_week']:.1f}"
    per_week_de = de.loc["SQOs pro Woche (Vertriebslast)"].iloc[0]
    assert per_week_de == f"{result.row()['per_week']:.1f}".replace(".", ",")


# ------------------------------------------------------------------ widgets
@pytest.fixture
def explorer():
    return ew.Explorer("startup_saas", N, SEED)


def test_moving_controls_recomputes_like_compare(explorer, pop):
    c = explorer.controls
    c["threshold"].value = 85.0
    _check_against_compare(explorer.result, pop.journeys, _points(85.0, 30.0))
    png = explorer.image.value
    c["half_life_days"].value = 0.0
    _check_against_compare(explorer.result, pop.journeys, _points(85.0, 0.0))
    assert explorer.image.value != png and explorer.image.value[:4] == b"\x89PNG"
    c["family"].value = "bant"
    assert c["threshold"].layout.display == "none" and c["bant_k"].layout.display is None
    c["bant_k"].value = 2
    _check_against_compare(explorer.result, pop.journeys,
                           _crit("name: b\nbant: {min_of: 2, timeline_days: 90}"))  # fmt: skip
    assert "SQOs per week (sales workload)" in explorer.table.value
    assert f"{explorer.result.row()['per_week']:.1f}" in explorer.table.value


def test_events_and_nurture_controls(explorer):
    c = explorer.controls
    c["family"].value = "events"
    assert set(c["events"].value) == {"demo_completed", "pricing_call", "quote_requested"}
    c["events"].value = ("webinar_attended", "pricing_call")
    off = ex.load_population("startup_saas", False, N, SEED)
    c["nurture"].value = False
    crit = _crit("name: e\nevents: {all: [webinar_attended, pricing_call]}")
    _check_against_compare(explorer.result, off.journeys, crit)


def test_switching_scenario_offers_its_events(explorer):
    c = explorer.controls
    c["family"].value = "events"
    c["scenario"].value = "consultancy"
    consultancy = ex.load_population("consultancy", True, N, SEED)
    assert tuple(c["events"].value) == consultancy.signals
    assert set(consultancy.signals) <= set(c["events"].options)
    assert explorer.result.settings.scenario == "consultancy"
    crit = _crit(yaml.safe_dump({"name": "e", "events": {"all": list(consultancy.signals)}}))
    _check_against_compare(explorer.result, consultancy.journeys, crit)


def test_apply_moves_every_control_with_one_update(explorer, monkeypatch):
    calls = []
    real = ew.explore
    monkeypatch.setattr(ew, "explore", lambda *a: calls.append(a) or real(*a))
    target = ex.Settings(nurture=False, family="bant", bant_k=4, threshold=20.0)
    result = explorer.apply(target)
    assert len(calls) == 1
    assert explorer.settings().replace(events=()) == target
    assert result.criterion.name == "bant_4_of_4"


def test_static_fallback_of_the_explorer(explorer):
    bundle = explorer._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    html = bundle["text/html"]
    assert "The controls of this explorer work in JupyterLab" in html
    assert "points ≥ 60, half-life 30 days" in html
    png = html.split('src="data:image/png;base64,')[1].split('"')[0]
    assert base64.b64decode(png) == explorer.image.value
    german = ew.Explorer("startup_saas", N, SEED, lang="de")._repr_mimebundle_()["text/html"]
    assert "Die Regler dieses Explorers funktionieren in JupyterLab" in german


def test_rendered_html_shows_the_static_fallback(explorer, tmp_path):
    """With recorded widget state removed, nbconvert picks the static rendering."""
    from qualmodel.report import export_html

    bundle = explorer._repr_mimebundle_()
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("explorer")
    cell.outputs = [nbformat.v4.new_output("execute_result", data=bundle, execution_count=1)]
    nb.cells = [cell]
    model = bundle["application/vnd.jupyter.widget-view+json"]["model_id"]
    state = {"state": {model: {"model_name": "VBoxModel", "state": {}}}, "version_major": 2,
             "version_minor": 0}  # fmt: skip
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": state}
    kept = copy.deepcopy(nb)
    page = export_html(nb, tmp_path / "x.html", hide_code=False, title="x").read_text()
    assert "The controls of this explorer work in JupyterLab" in page
    assert "application/vnd.jupyter.widget-view+json" not in page
    assert nb == kept  # the executed notebook keeps its widget state


# ------------------------------------------------------------------ exercises
@pytest.mark.parametrize("key", EXERCISES)
def test_exercise_answers_come_from_the_population(key):
    exe = make_exercise(key, ex.Settings(), N, SEED)
    v = exe.values
    if key in ("definitions", "ripe", "nurture"):
        for tag, s in (("a", exe.start), ("b", exe.moved)):
            p = ex.load_population(s.scenario, s.nurture, N, SEED)
            row = qm.compare_criteria(p.journeys, [ex.criterion_for(p, s)], n_boot=0).iloc[0]
            for metric in ("per_week", "precision", "recall", "share_by_horizon"):
                assert v[f"{metric}_{tag}"] == pytest.approx(row[metric]), (metric, tag)
        shown = "share_by_horizon" if key == "ripe" else "per_week"
        a, b = v[f"{shown}_a"], v[f"{shown}_b"]
        assert v[f"{shown}_dir"] == direction(a, b)
        spec = ".1%" if key == "ripe" else ".1f"
        assert f"{a:{spec}}" in exe.answer and f"{b:{spec}}" in exe.answer
    if key == "contexts":
        table = v["table"]
        for name in ("startup_saas", "consultancy", "digital_agency"):
            p = ex.load_population(name, True, N, SEED)
            crit = _crit("name: b\nbant: {min_of: 3, timeline_days: 90}")
            row = qm.compare_criteria(p.journeys, [crit], n_boot=0).iloc[0]
            assert table.loc[name, "precision"] == pytest.approx(row["precision"])
            assert f"{row['qualified_rate']:.1%}" in exe.answer
        assert v["most_rate"] == table["qualified_rate"].astype(float).idxmax()
    if key == "outcomes":
        assert v["sqo_a"] + v["dq_a"] + v["open_a"] == pytest.approx(1.0)
        assert v["naive_a"] >= v["sqo_a"] and v["sqo_b"] >= v["sqo_a"]
    for text in (exe.question, exe.answer):
        assert "nan" not in text and "{" not in text


def test_direction_words():
    assert direction(1.0, 2.0) == "rises" and direction(2.0, 1.0, "de") == "sinkt"
    assert direction(1.0, 1.0) == "unchanged" and direction(float("nan"), 1.0) == "not estimable"


def test_exercise_view_sets_up_the_explorer_and_hides_the_answer(explorer):
    view = ew.exercise(explorer, "definitions")
    assert view.reveal.selected_index is None  # answer folded away
    view.setup.click()
    assert explorer.settings().threshold == view.exercise.start.threshold
    assert explorer.result.criterion.name == "points_40_hl30"
    answer = view.answer.outputs[0]["data"]["text/markdown"]
    assert answer == view.exercise.answer
    bundle = view._repr_mimebundle_()
    assert "<details><summary>Show the answer</summary>" in bundle["text/markdown"]
    assert bundle["text/markdown"].startswith(view.exercise.question)
    with pytest.raises(ConfigError, match="exercise 'x' is unknown"):
        ew.exercise(explorer, "x")


def test_populations_kept_are_bounded(monkeypatch):
    monkeypatch.setattr(ex, "_POPULATIONS", {})
    monkeypatch.setattr(ex, "MAX_POPULATIONS", 2)
    first = ex.load_population("startup_saas", True, 500, 1)
    ex.load_population("startup_saas", True, 500, 2)
    assert ex.load_population("startup_saas", True, 500, 1) is first
    ex.load_population("startup_saas", True, 500, 3)  # drops the oldest
    assert len(ex._POPULATIONS) == 2
    assert ex.load_population("startup_saas", True, 500, 1) is not first
