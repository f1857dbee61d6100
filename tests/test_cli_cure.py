"""Tests of ``qualmodel cure``: the stated support rule, the estimate and the table."""

from __future__ import annotations

import pandas as pd
import pytest
from shapes import make_shape

from conftest import run_cli
from qualmodel.journeys.outcomes import plan_outcomes
from qualmodel.survival.durations import time_to_event
from qualmodel.survival.models import cure_model


def test_cure_prints_the_cure_model_estimate_and_writes_the_table(tmp_path, capsys):
    j = make_shape("three_competing", seed=7)
    folder = j.write(tmp_path / "loans")
    out = tmp_path / "cure.csv"
    code, cap = run_cli(["cure", "-j", str(folder), "--out", str(out)], capsys)
    assert code == 3, cap.err  # competing outcomes observed: the rule declines
    assert (
        "no cure-model estimate for 400 SALs → approved: competing outcome(s) declined, "
        "cancelled, expired present: the cure model would treat those leads as if they "
        "could still convert (--ignore-rule fits anyway)"
    ) in cap.out
    assert not out.exists()
    code, cap = run_cli(["cure", "-j", str(folder), "--out", str(out), "--ignore-rule"], capsys)
    assert code == 0, cap.err
    plan = plan_outcomes(j)
    s = cure_model(time_to_event(j, plan["start"], plan["target"], plan["competing"])).summary
    line = cap.out.strip().splitlines()[-1]
    assert line.startswith(
        f"expected never to reach approved: {s['cured_fraction']:.1%} (95% CI "
        f"{s['cured_fraction_lower']:.1%}–{s['cured_fraction_upper']:.1%}) of 400 SALs"
    )
    table = pd.read_csv(out).set_index("term")
    assert table.loc["cured_fraction", "estimate"] == pytest.approx(s["cured_fraction"], 1e-12)


def test_cure_declines_when_the_rule_fails(tmp_path, capsys):
    folder = make_shape("no_lost", cure=0.0, median=60, span=100, follow=20, seed=2).write(
        tmp_path / "short"
    )
    out = tmp_path / "cure.csv"
    code, cap = run_cli(["cure", "-j", str(folder), "--out", str(out)], capsys)
    assert code == 3  # no estimate: scripts can tell, and no --out file is written
    assert "no cure-model estimate for 400 MQLs → won: the leads are not followed long" in cap.out
    assert not out.exists()
    code, cap = run_cli(["cure", "-j", str(folder), "--ignore-rule"], capsys)
    assert code == 0 and "rule fails: the leads are not followed long enough" in cap.out


def test_cure_day_rounded_zeros_use_zero_time(tmp_path, capsys):
    folder = make_shape("three_competing", seed=7).write(tmp_path / "loans")
    code, cap = run_cli(["cure", "-j", str(folder), "--resolution", "1", "--ignore-rule"], capsys)
    assert code == 0, cap.err
    code, cap = run_cli(
        ["cure", "-j", str(folder), "--resolution", "1", "--zero-time", "3", "--ignore-rule"],
        capsys,
    )
    assert code == 2
    assert "zero_time=3.0 must be positive and at most the smallest" in cap.err
