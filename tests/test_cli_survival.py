"""Tests of ``qualmodel survival`` (in-process and one real subprocess run)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import run_cli
from qualmodel import survival as sv
from qualmodel.cli import main
from qualmodel.survival.durations import time_to_event

TABLES = (
    "time_to_event",
    "kaplan_meier",
    "cumulative_incidence",
    "naive_conversion",
    "logrank",
    "rmst",
    "cohort_conversion",
)
FIGURES = ("survival", "cumulative_incidence", "naive_vs_competing", "cohort_maturity")


@pytest.fixture
def journeys_dir(tmp_path, journeys_factory) -> Path:
    rng = np.random.default_rng(11)
    rows = []
    for i in range(60):
        sal = pd.Timestamp("2024-01-01") + pd.Timedelta(days=int(rng.integers(0, 90)))
        row = {
            "lead_id": f"L{i:04d}",
            "created_at": "2024-01-01",
            "observed_until": "2024-06-30",
            "sal_at": str(sal.date()),
            "sqo_at": None,
            "disqualified_at": None,
            "segment": "smb" if i % 2 else "ent",
        }
        u = rng.random()
        day = str((sal + pd.Timedelta(days=int(rng.integers(0, 60)))).date())
        if u < 0.5:
            row["sqo_at"] = day
        elif u < 0.8:
            row["disqualified_at"] = day
        rows.append(row)
    folder = tmp_path / "journeys"
    journeys_factory(rows).write(folder)
    return folder


def _run(args, capsys):
    with pytest.raises(SystemExit) as info:
        main(args)
    return info.value.code, capsys.readouterr()


def test_writes_all_tables_and_figures(journeys_dir, tmp_path, capsys):
    out = tmp_path / "surv"
    main(
        [
            "survival",
            "--journeys",
            str(journeys_dir),
            "--start",
            "sal",
            "--target",
            "sqo",
            "--competing",
            "disqualified",
            "--by",
            "segment",
            "--out",
            str(out),
        ]
    )
    assert "wrote 7 tables and 4 figures for 60 leads" in capsys.readouterr().out
    for name in TABLES:
        assert (out / f"{name}.csv").is_file(), name
    for name in FIGURES:
        png = (out / f"{name}.png").read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp left
    # the CSVs are exactly what the library computes
    from qualmodel.journeys.contract import Journeys

    tte = time_to_event(Journeys.read(journeys_dir), covariates=["segment"])
    got = pd.read_csv(out / "time_to_event.csv")
    np.testing.assert_array_equal(got["duration"], tte["duration"])
    assert got["event"].tolist() == tte["event"].tolist()
    cif = pd.read_csv(out / "cumulative_incidence.csv")
    np.testing.assert_allclose(
        cif["cif"], sv.cumulative_incidence(tte, by="segment")["cif"], rtol=0, atol=1e-12
    )
    lr = pd.read_csv(out / "logrank.csv")
    assert lr["event"].tolist() == [1, 2]
    assert lr["statistic"].iloc[0] == pytest.approx(
        sv.logrank(tte, by="segment")["statistic"].item()
    )
    cohorts = pd.read_csv(out / "cohort_conversion.csv")
    assert sorted(cohorts["age"].unique()) == [30, 60, 90]


def test_existing_out_needs_force(journeys_dir, tmp_path, capsys):
    out = tmp_path / "surv"
    out.mkdir()
    (out / "keep.txt").write_text("x")
    for force in ([], ["--force"]):  # a folder qualmodel did not write: never replaced
        code, cap = _run(["survival", "-j", str(journeys_dir), "-o", str(out), *force], capsys)
        assert code == 2 and "not a qualmodel survival folder" in cap.err
        assert (out / "keep.txt").read_text() == "x"
    out = tmp_path / "surv2"
    main(["survival", "-j", str(journeys_dir), "-o", str(out)])
    code, cap = _run(["survival", "-j", str(journeys_dir), "-o", str(out)], capsys)
    assert code == 2 and "already exists" in cap.err and "--force" in cap.err
    main(["survival", "-j", str(journeys_dir), "-o", str(out), "--force", "--competing", "none"])
    assert pd.read_csv(out / "cumulative_incidence.csv")["event"].unique().tolist() == [1]
    assert pd.read_csv(out / "logrank.csv").empty  # no --by


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--target", "signed"], "--target 'signed': no such stage in these journeys; use one of"),
        (["--competing", "bogus"], "--competing 'bogus': no such stage in these journeys"),
        (["--by", "region"], "--by 'region': not a column"),
        (["--unit", "months"], "unit 'months' is not supported"),
        (["--ages", "a,b"], "--ages 'a,b'"),
    ],
)
def test_bad_options_exit_2_with_one_line(journeys_dir, tmp_path, capsys, extra, message):
    out = tmp_path / "surv"
    code, cap = _run(["survival", "-j", str(journeys_dir), "-o", str(out), *extra], capsys)
    assert code == 2
    assert message in cap.err
    assert cap.err.count("\n") == 1 and "Traceback" not in cap.err
    assert not out.exists()


def test_missing_journeys_folder(tmp_path, capsys):
    code, cap = _run(["survival", "-j", str(tmp_path / "nope"), "-o", str(tmp_path / "o")], capsys)
    assert code == 2 and "no such journeys folder" in cap.err


def test_subprocess_run(journeys_dir, tmp_path):
    out = tmp_path / "sub"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "qualmodel",
            "survival",
            "--journeys",
            str(journeys_dir),
            "--target",
            "sqo_at",
            "--unit",
            "weeks",
            "--tau",
            "8",
            "--ages",
            "4,8",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    rm = pd.read_csv(out / "rmst.csv")
    assert rm["tau"].tolist() == [8.0] and 0 < rm["rmst"].item() <= 8


def test_unknown_start_stage(journeys_dir, tmp_path, capsys):
    code, cap = _run(
        ["survival", "-j", str(journeys_dir), "--start", "nowhere", "-o", str(tmp_path / "x")],
        capsys,
    )
    assert code == 2
    assert cap.err.strip().startswith("error: --start 'nowhere': no such stage")


def test_defaults_follow_the_stages_present(tmp_path, capsys):
    """MQL → won without a lost stage: no competing outcome, said in one line."""
    from shapes import make_shape

    folder = make_shape("no_lost", n=120, seed=5).write(tmp_path / "mql_won")
    code, cap = run_cli(
        ["survival", "-j", str(folder), "--start", "mql", "--target", "won", "-o",
         str(tmp_path / "a")],
        capsys,
    )  # fmt: skip
    assert code == 0, cap.err
    assert cap.out.splitlines()[0].startswith("competing outcomes: none in these data")
    tte = pd.read_csv(tmp_path / "a" / "time_to_event.csv")
    assert set(tte["event"]) == {0, 1}
    code, cap = run_cli(
        ["survival", "-j", str(folder), "--competing", "none", "-o", str(tmp_path / "b")],
        capsys,
    )
    assert code == 0 and "competing outcomes" not in cap.out
    code, cap = run_cli(
        ["survival", "-j", str(folder), "--competing", "lost", "-o", str(tmp_path / "c")],
        capsys,
    )
    assert code == 2
    assert cap.err.strip() == (
        "error: --competing 'lost': no such stage in these journeys; use one of created, "
        "mql, won; or pass --competing none"
    )


def test_three_competing_outcomes_named_as_the_data_does(tmp_path, capsys):
    from shapes import make_shape

    folder = make_shape("three_competing", n=150, seed=5).write(tmp_path / "loans")
    code, cap = run_cli(
        ["survival", "-j", str(folder), "--target", "approved", "--by", "source", "-o",
         str(tmp_path / "a")],
        capsys,
    )  # fmt: skip
    assert code == 0, cap.err
    assert "competing outcomes: declined, cancelled, expired" in cap.out
    cif = pd.read_csv(tmp_path / "a" / "cumulative_incidence.csv")
    assert sorted(cif["event"].unique()) == [1, 2, 3, 4]
    assert set(cif["source"]) == {"web", "(missing)"}  # no NaN-labelled group
