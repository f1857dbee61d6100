"""CLI: ``qualmodel qualify`` and ``qualmodel compare``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from conftest import make_journeys
from qualmodel.cli import main

CRIT_YAML = """
criteria:
  - name: demo
    description: demo completed
    events: {all: [demo_completed]}
  - name: score
    description: decayed score
    score: {threshold: 30, decay: {half_life_days: 10}, events: {demo_completed: 20,
            pricing_call: 20}}
"""


@pytest.fixture
def folder(tmp_path) -> Path:
    leads = [
        dict(
            lead_id="A",
            created_at="2026-01-01",
            sal_at="2026-01-02",
            sqo_at="2026-02-01",
            won_at="2026-02-10",
            observed_until="2026-04-01",
        ),
        dict(
            lead_id="B",
            created_at="2026-01-01",
            sal_at="2026-01-02",
            won_at=None,
            observed_until="2026-04-01",
        ),
        dict(
            lead_id="C",
            created_at="2026-01-01",
            sal_at="2026-01-03",
            won_at=None,
            observed_until="2026-04-01",
        ),
    ]
    events = [
        ("A", "2026-01-05", "demo_completed"),
        ("A", "2026-01-06", "pricing_call"),  # 20·2^-0.1 + 20 = 38.66 ≥ 30 → 01-06
        ("B", "2026-01-05", "demo_completed"),
        ("B", "2026-02-25", "pricing_call"),  # 20·2^-5.1 + 20 = 20.58 < 30
    ]
    make_journeys(leads, events).write(tmp_path / "j")
    (tmp_path / "c.yaml").write_text(CRIT_YAML)
    return tmp_path


def run(args, capsys):
    try:
        main(args)
        code = 0
    except SystemExit as exc:
        code = exc.code
    cap = capsys.readouterr()
    return code, cap.out, cap.err


def test_qualify_writes_csv(folder, capsys):
    out = folder / "q.csv"
    code, stdout, _ = run(
        [
            "qualify",
            "--journeys",
            str(folder / "j"),
            "--criteria",
            str(folder / "c.yaml"),
            "--out",
            str(out),
        ],
        capsys,
    )
    assert code == 0 and "3 qualifications" in stdout
    t = pd.read_csv(out, parse_dates=["qualified_at"])
    assert list(t.columns) == ["lead_id", "criterion", "qualified_at", "score"]
    got = t.set_index(["criterion", "lead_id"])["qualified_at"]
    assert got[("demo", "A")] == pd.Timestamp("2026-01-05")
    assert got[("demo", "B")] == pd.Timestamp("2026-01-05")
    assert got[("score", "A")] == pd.Timestamp("2026-01-06")
    assert pd.isna(got[("score", "B")]) and pd.isna(got[("demo", "C")])
    assert not list(folder.glob(".q.csv.*"))  # no temp file left
    code, _, err = run(
        [
            "qualify",
            "-j",
            str(folder / "j"),
            "-c",
            str(folder / "c.yaml"),
            "--name",
            "score",
            "-o",
            str(out),
        ],
        capsys,
    )
    assert code == 2 and "--force" in err  # an existing output needs --force
    code, _, _ = run(
        ["qualify", "-j", str(folder / "j"), "-c", str(folder / "c.yaml"), "--name", "score",
         "-o", str(out), "--force"],
        capsys,
    )  # fmt: skip
    assert code == 0 and set(pd.read_csv(out)["criterion"]) == {"score"}


def test_compare_writes_csv_and_pairwise(folder, capsys):
    out, pw = folder / "cmp.csv", folder / "pw.csv"
    code, stdout, _ = run(
        [
            "compare",
            "-j",
            str(folder / "j"),
            "--criteria",
            str(folder / "c.yaml"),
            "-o",
            str(out),
            "--n-boot",
            "50",
            "--seed",
            "3",
            "--horizon-days",
            "30",
            "--pairwise",
            str(pw),
        ],
        capsys,
    )
    assert code == 0, stdout
    t = pd.read_csv(out).set_index("criterion")
    # demo: A, B qualified; won: A → precision 1/2, recall 1/1
    assert t.loc["demo", "n_qualified"] == 2
    assert t.loc["demo", "precision"] == pytest.approx(0.5)
    assert t.loc["score", "precision"] == pytest.approx(1.0)
    assert {"precision_lo", "precision_hi", "lift", "per_week"} <= set(t.columns)
    p = pd.read_csv(pw)
    assert len(p) == 1 and p.loc[0, "mcnemar_method"] == "exact binomial"


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--criteria", "nope"], "not a criteria file or built-in name"),
        (["--criteria", "{yaml}", "--name", "zzz"], "no criterion 'zzz'"),
        (["--criteria", "{bad}"], "criteria[0].events: unknown key 'al'"),
        (["--criteria", "{unknown_event}"], "criteria[0].events.all[0]: unknown event 'dem'"),
    ],
)
def test_qualify_errors_are_one_line(folder, capsys, args, needle):
    (folder / "bad.yaml").write_text("- name: x\n  events: {al: [a]}\n")
    (folder / "ue.yaml").write_text("- name: x\n  events: {all: [dem]}\n")
    args = [
        a.format(yaml=folder / "c.yaml", bad=folder / "bad.yaml", unknown_event=folder / "ue.yaml")
        for a in args
    ]
    code, _, err = run(
        ["qualify", "-j", str(folder / "j"), *args, "-o", str(folder / "x.csv")], capsys
    )
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0]
    assert not (folder / "x.csv").exists()


def test_compare_bad_options(folder, capsys):
    code, _, err = run(
        [
            "compare",
            "-j",
            str(folder / "j"),
            "-c",
            str(folder / "c.yaml"),
            "-o",
            str(folder / "x.csv"),
            "--n-boot",
            "-1",
        ],
        capsys,
    )
    assert code == 2 and "--n-boot" in err
    code, _, err = run(
        [
            "compare",
            "-j",
            str(folder / "missing"),
            "-c",
            str(folder / "c.yaml"),
            "-o",
            str(folder / "x.csv"),
        ],
        capsys,
    )
    assert code == 2 and "no such journeys folder" in err


def test_subprocess_compare_builtin_scenario(tmp_path):
    from qualmodel.simulation.engine import simulate

    simulate("consultancy", n_leads=1500, seed=2).write(tmp_path / "j")
    exe = Path(sys.executable).with_name("qualmodel")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "qualmodel"]
    proc = subprocess.run(
        [
            *cmd,
            "compare",
            "--journeys",
            str(tmp_path / "j"),
            "--criteria",
            "consultancy",
            "--out",
            str(tmp_path / "cmp.csv"),
            "--n-boot",
            "100",
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    t = pd.read_csv(tmp_path / "cmp.csv")
    assert len(t) >= 4 and t["criterion"].iloc[0] == "seed_discovery_challenges_tailored"
    assert (t["qualified_rate_lo"] <= t["qualified_rate"]).all()
    bad = subprocess.run(
        [
            *cmd,
            "qualify",
            "--journeys",
            str(tmp_path / "j"),
            "--criteria",
            "nope.yaml",
            "--out",
            str(tmp_path / "q.csv"),
        ],
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert bad.stderr.count("\n") == 1


def test_compare_stages_by_stem_or_label_and_the_plan_start(folder, capsys):
    """--start defaults to the plan's start; stems (sal) and columns (won_at) both work."""
    outs = []
    for extra in ([], ["--start", "sal", "--outcome", "won"], ["--start", "sal_at"]):
        out = folder / f"cmp{len(outs)}.csv"
        code, stdout, _ = run(
            ["compare", "-j", str(folder / "j"), "--criteria", str(folder / "c.yaml"), "-o",
             str(out), "--n-boot", "0", *extra],
            capsys,
        )  # fmt: skip
        assert code == 0, stdout
        outs.append(pd.read_csv(out))
    pd.testing.assert_frame_equal(outs[0], outs[1])
    pd.testing.assert_frame_equal(outs[0], outs[2])
    code, _, err = run(
        ["compare", "-j", str(folder / "j"), "--criteria", str(folder / "c.yaml"), "-o",
         str(folder / "bad.csv"), "--outcome", "approved"],
        capsys,
    )  # fmt: skip
    assert code == 2 and "--outcome 'approved': no such stage" in err
