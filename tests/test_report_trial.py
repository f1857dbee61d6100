"""What the power notebook compares: criteria, an effect on a fitted scenario, or nothing."""

from __future__ import annotations

import json

import pandas as pd
import pytest

import qualmodel as qm
from qualmodel import report
from qualmodel.core.errors import ConfigError
from qualmodel.experiment.effects import effect_power
from qualmodel.experiment.power import criteria_pair, power
from qualmodel.report.plan import plan_run, resolve_scenarios
from qualmodel.report.trial import TWIN_BOOT
from qualmodel.simulation.twin_schema import twin_yaml


@pytest.fixture(scope="module")
def simulated():
    return qm.simulate("startup_saas", n_leads=6000, seed=11)


@pytest.fixture(scope="module")
def imported_dir(simulated, tmp_path_factory):
    """The simulation saved as if it came from a CRM export (no simulator in its meta)."""
    meta = {k: v for k, v in simulated.meta.items() if k not in ("generator", "seed")}
    meta.update(source="acme_crm", generator="qualmodel.import")
    data = qm.Journeys(simulated.leads, simulated.events, meta)
    return data.write(tmp_path_factory.mktemp("trial") / "acme")


@pytest.fixture(scope="module")
def twin_file(simulated, tmp_path_factory):
    twin, _ = qm.fit_scenario(simulated, seed=2, n_boot=0, n_check=1)
    path = tmp_path_factory.mktemp("twin") / "acme_twin.yaml"
    path.write_text(twin_yaml(twin), encoding="utf-8")
    return path


def test_builtin_scenario_compares_its_criteria():
    source = report.power_source("consultancy")
    pair = criteria_pair("consultancy", None, None, None)
    assert source.kind == "criteria" and source.fit is None
    assert [c.name for c in source.pair] == [c.name for c in pair]
    assert source.baseline == f"`{pair[0].name}`"
    intro = report.power_intro(source, 500, 0.05, "share:+10%")
    assert pair[0].name in intro and "consultancy" in intro and "model-based" not in intro
    assert report.fit_table(source) is None


def test_simulated_journeys_use_their_own_scenario(simulated, tmp_path):
    """Journeys simulated from a built-in scenario: that scenario, whatever ``scenario`` says."""
    folder = simulated.write(tmp_path / "sim")
    source = report.power_source("digital_agency", folder)
    assert source.kind == "criteria" and source.scenario == "startup_saas"


def test_imported_journeys_get_a_twin_fitted_here(imported_dir):
    source = report.power_source("startup_saas", imported_dir, seed=4)
    assert source.kind == "effect" and source.pair is None
    expected, fit = qm.fit_scenario(qm.Journeys.read(imported_dir), seed=4, n_boot=TWIN_BOOT)
    assert twin_yaml(source.scenario) == twin_yaml(expected)
    table = report.fit_table(source)
    assert list(table["statistic"]) == list(fit["distances"])
    assert table["distance"].tolist() == pytest.approx(list(fit["distances"].values()))
    intro = report.power_intro(source, 200, 0.05, "share:+10%")
    assert "model-based" in intro and "acme_crm" in intro and "share:+10%" in intro
    assert "SQO" in intro  # the target stage, named as the data name it
    assert "fit distances below" in intro


def test_fitted_scenario_file_compares_an_effect(twin_file):
    source = report.power_source(str(twin_file), effect="hr:0.8")
    assert source.kind == "effect" and source.fit is None
    table = report.fit_table(source)  # the distances written into the scenario file
    assert table is not None and (table["statistic"] == "band.sqo").any()
    kw = dict(sample_sizes=[300, 600], n_replicates=10, alpha=0.05, seed=3)
    got = report.run_power(source, effect="hr:0.8", metrics=["sqo_volume"], **kw)
    want = effect_power(source.scenario, "hr:0.8", n_leads=[300, 600], n_replicates=10, seed=3)
    pd.testing.assert_frame_equal(got, want)
    assert set(got["metric"]) == {"target_share", "time_to_target"}
    assert (got["mde"].dropna() >= 0).all()
    assert set(got["mde_direction"]) <= {"increase", "decrease"}


def test_criteria_run_equals_power():
    source = report.power_source("startup_saas")
    kw = dict(sample_sizes=[200], n_replicates=10, alpha=0.05, seed=1)
    got = report.run_power(source, effect="share:+10%", metrics=["sqo_volume"], **kw)
    want = power("startup_saas", *source.pair, metric=["sqo_volume"], n_leads=[200],
                 n_replicates=10, seed=1)  # fmt: skip
    pd.testing.assert_frame_equal(got, want)


def test_no_answer_says_why(imported_dir, tmp_path):
    """Journeys without timestamps cannot be twinned: kind none, the reason, no table."""
    data = qm.Journeys.read(imported_dir)
    flat = qm.Journeys(data.leads, data.events, {**data.meta, "timing": "none"})
    source = report.power_source("startup_saas", flat.write(tmp_path / "flat"))
    assert source.kind == "none" and "no funnel twin can be fitted" in source.reason
    assert "timing" in source.reason
    assert report.run_power(source, effect="share:+10%", metrics=[], sample_sizes=[100],
                            n_replicates=10, alpha=0.05, seed=0) is None  # fmt: skip
    assert report.power_intro(source, 10, 0.05, "share:+10%").startswith("**No power answer**")


def test_bad_effect_is_one_line():
    with pytest.raises(ConfigError, match="share"):
        report.power_source("startup_saas", effect="double it")


def test_scenario_files_are_made_absolute(twin_file, monkeypatch):
    monkeypatch.chdir(twin_file.parent)
    assert resolve_scenarios([twin_file.name, "consultancy"]) == [str(twin_file), "consultancy"]


def test_fitted_scenario_runs_leave_out_the_primer(twin_file, monkeypatch):
    monkeypatch.chdir(twin_file.parent)
    plan = plan_run([twin_file.name, "consultancy"], {}, journeys=None, notebooks=None,
                    notebooks_dir=None)  # fmt: skip
    assert plan.left_out == {"acme_twin": {"00-sal-vs-sqo-primer"}}
    named = plan_run([twin_file.name], {}, journeys=None, notebooks=["00"], notebooks_dir=None)
    assert named.left_out == {}


def test_power_notebook_declares_the_new_parameters():
    nb = json.loads(
        (report.find_notebooks_dir() / "04-power-analysis.ipynb").read_text(encoding="utf-8")
    )
    params = next(c for c in nb["cells"] if "parameters" in c["metadata"].get("tags", []))
    text = "".join(params["source"])
    assert 'effect: str = "share:+10%"' in text and "journeys_dir: Optional[str] = None" in text
    assert "simulation_only" not in nb["metadata"]["qualmodel"]
