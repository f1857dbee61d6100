"""Criterion-level fit diagnostics of a twin, checked against a known simulation truth."""

from __future__ import annotations

import numpy as np
import pytest

import qualmodel as qm
from conftest import run_cli
from qualmodel.core.errors import ConfigError
from qualmodel.criteria.engine import load_criteria, qualify
from qualmodel.simulation.twin_schema import twin_yaml

NAME = "digital_agency"


@pytest.fixture(scope="module")
def fitted():
    obs = qm.simulate(NAME, n_leads=20_000, seed=1)
    twin, report = qm.fit_scenario(obs, seed=0, n_boot=0, n_check=3, segment="segment")
    return obs, twin, report


def _share(journeys, crit) -> float:
    return float(qualify(journeys, crit)["qualified_at"].notna().mean())


def test_every_builtin_criterion_is_compared_and_recorded(fitted):
    _, twin, report = fitted
    names = [c.name for c in load_criteria(NAME)]
    table = report["criteria"]
    assert table["criterion"].unique().tolist() == names
    assert set(table["statistic"]) == {"share", "median_days"}
    for name in names:
        for stat in ("share", "median_days"):
            key = f"criterion.{name}.{stat}"
            assert key in report["distances"] and key in twin.source["distances"]
    assert "criterion." + names[0] + ".share" in twin_yaml(twin)


def test_twin_qualifies_like_the_truth(fitted):
    """Share qualified: the twin's is within 0.005 of the true scenario's (mean of 3 sims).

    The fitted sample itself (20,000 leads, ~1,400 SQOs) puts a standard error of about
    0.0015 on a share of 0.03, and the twin's SQO funnel can be off by a few thousandths.
    """
    _, twin, report = fitted
    truth = [qm.simulate(NAME, n_leads=20_000, seed=s) for s in (21, 22, 23)]
    shares = report["criteria"].query("statistic == 'share'").set_index("criterion")["twin"]
    for crit in load_criteria(NAME):
        true_share = np.mean([_share(j, crit) for j in truth])
        assert abs(shares[crit.name] - true_share) < 0.005, (crit.name, shares[crit.name])
    medians = report["criteria"].query("statistic == 'median_days'")
    assert (medians["distance"] < 10).all(), medians


def test_pair_and_unknown_names(fitted, monkeypatch):
    from qualmodel.experiment import twin_fit

    obs, _, _ = fitted
    pair = ["seed_rfp_workshop_timeline_budget", "score_55_decay_21d"]
    kw = dict(seed=0, n_boot=0, n_check=1, segment="segment")
    _, report = qm.fit_scenario(obs, criteria_names=pair, **kw)
    assert report["criteria"]["criterion"].unique().tolist() == pair
    with monkeypatch.context() as m:  # refused before any fitting work
        m.setattr(twin_fit, "fit_transitions", lambda *a: pytest.fail("fitted first"))
        with pytest.raises(ConfigError, match="unknown criterion 'nosuch'"):
            qm.fit_scenario(obs, criteria_names=["nosuch"], **kw)
    _, report = qm.fit_scenario(obs, criteria=[], **kw)
    assert "criteria" not in report
    assert not any(k.startswith("criterion.") for k in report["distances"])


def test_twin_without_segment_says_which_criteria_it_cannot_run(fitted):
    obs, _, _ = fitted
    twin, report = qm.fit_scenario(obs, seed=0, n_boot=0, n_check=1)
    assert "score_55_decay_21d" in report["criteria_skipped"]
    assert "segment" in twin.source["criteria_skipped"]["score_55_decay_21d"]


def test_cli_prints_the_criteria(fitted, tmp_path, capsys):
    obs, _, _ = fitted
    folder = tmp_path / "journeys"
    obs.write(folder)
    out = tmp_path / "twin.yaml"
    args = ["fit-scenario", "--journeys", str(folder), "--out", str(out), "--n-boot", "0"]
    code, cap = run_cli(
        [*args, "--segment", "segment", "--pair", "seed_rfp_workshop_timeline_budget,"
         "score_55_decay_21d"],
        capsys,
    )  # fmt: skip
    assert code == 0, cap.err
    assert "criteria (share qualified" in cap.out and "score_55_decay_21d" in cap.out
    assert "bant_budget_timeline_90d" not in cap.out
    code, cap = run_cli([*args, "--force", "--criteria", "none"], capsys)
    assert code == 0 and "criteria (share" not in cap.out
    code, cap = run_cli([*args, "--force", "--pair", "a,b,c"], capsys)
    assert code == 2 and "--pair" in cap.err
