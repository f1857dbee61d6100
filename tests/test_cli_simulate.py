from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from qualmodel import Journeys
from qualmodel.cli import main

ROOT = Path(__file__).resolve().parents[1]


def run(args, capsys):
    """Run the CLI in-process; return (exit code, stdout, stderr)."""
    try:
        main(args)
        code = 0
    except SystemExit as exc:
        code = 0 if exc.code is None else exc.code
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("cli") / "saas"
    main(
        [
            "simulate",
            "--scenario",
            "startup_saas",
            "--n-leads",
            "2000",
            "--seed",
            "4",
            "--out",
            str(out),
        ]
    )
    return out


def test_scenarios_lists_names_and_descriptions(capsys):
    code, out, err = run(["scenarios"], capsys)
    assert code == 0 and err == ""
    lines = out.strip().splitlines()
    assert [line.split()[0] for line in lines] == ["startup_saas", "consultancy", "digital_agency"]
    assert all(len(line) > 40 for line in lines)


def test_simulate_writes_a_valid_folder(folder, tmp_path, capsys):
    j = Journeys.read(folder)
    assert j.n_leads == 2000 and j.meta["seed"] == 4 and j.meta["source"] == "startup_saas"
    code, out, err = run(
        [
            "simulate",
            "-s",
            "consultancy",
            "-n",
            "500",
            "--seed",
            "1",
            "--no-nurture",
            "--out",
            str(tmp_path / "c"),
        ],
        capsys,
    )
    assert code == 0, err
    assert out.startswith(f"wrote {tmp_path / 'c'}: 500 leads,")
    assert "nurture off" in out
    assert not Journeys.read(tmp_path / "c").leads["nurtured"].any()
    # no temp folders left behind next to the output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c"]


def test_simulate_from_a_yaml_path(tmp_path, capsys):
    src = ROOT / "src" / "qualmodel" / "simulation" / "scenarios" / "digital_agency.yaml"
    code, out, err = run(
        ["simulate", "-s", str(src), "-n", "300", "--out", str(tmp_path / "d")], capsys
    )
    assert code == 0, err
    assert Journeys.read(tmp_path / "d").meta["source"] == "digital_agency"


def test_validate_prints_one_ok_line(folder, capsys):
    code, out, err = run(["validate", str(folder)], capsys)
    assert code == 0 and err == ""
    assert out.count("\n") == 1
    assert out.startswith(f"OK {folder}: 2,000 leads, ")
    assert "source startup_saas" in out


def test_funnel_prints_table_and_writes_csv(folder, tmp_path, capsys):
    csv = tmp_path / "sub" / "funnel.csv"
    code, out, err = run(["funnel", str(folder), "--csv", str(csv)], capsys)
    assert code == 0, err
    assert "rate_from_prev*" in out and "censoring-naive" in out
    for stage in ("created", "mql", "sal", "sqo", "won", "disqualified", "lost"):
        assert stage in out
    table = pd.read_csv(csv)
    assert table.loc[table["stage"] == "created", "n"].item() == 2000
    assert sorted(p.name for p in csv.parent.iterdir()) == ["funnel.csv"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["simulate", "-s", "nope", "--out", "{tmp}/x"], "error: unknown scenario 'nope'"),
        (["simulate", "-n", "0", "--out", "{tmp}/x"], "error: n_leads must be a positive"),
        (["simulate", "-n", "-3", "--out", "{tmp}/x"], "error: n_leads must be a positive"),
        (["simulate", "-n", "abc", "--out", "{tmp}/x"], "error: Invalid value for '--n-leads'"),
        (["simulate", "-n", "5", "--seed", "-1", "--out", "{tmp}/x"], "error: seed must be"),
        (["simulate", "-n", "5", "--out", "{tmp}/file.txt"], "exists and is not a folder"),
        (["validate", "{tmp}/missing"], "no such journeys folder"),
        (["funnel", "{tmp}/missing"], "no such journeys folder"),
        (["validate", "{tmp}/empty"], "leads.parquet: missing"),
        (["simulate", "-s", "{tmp}/bad.yaml", "--out", "{tmp}/x"], "bad.yaml: invalid YAML"),
    ],
)
def test_errors_exit_2_with_one_line(args, message, tmp_path, capsys):
    (tmp_path / "file.txt").write_text("x")
    (tmp_path / "empty").mkdir()
    (tmp_path / "bad.yaml").write_text("a: [1\n")
    code, out, err = run([a.replace("{tmp}", str(tmp_path)) for a in args], capsys)
    assert code == 2
    assert err.count("\n") == 1 and message in err, err
    assert "Traceback" not in err
    assert not (tmp_path / "x").exists()


def test_real_subprocess_simulate_validate(tmp_path):
    exe = Path(sys.executable).with_name("qualmodel")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "qualmodel"]
    out = tmp_path / "agency"
    proc = subprocess.run(
        [
            *cmd,
            "simulate",
            "--scenario",
            "digital_agency",
            "--n-leads",
            "1000",
            "--seed",
            "3",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    proc = subprocess.run([*cmd, "validate", str(out)], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.startswith("OK ")
    bad = subprocess.run(
        [*cmd, "simulate", "--n-leads", "0", "--out", str(out)], capture_output=True, text=True
    )
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert bad.stderr.count("\n") == 1


def test_progress_bar_goes_to_stderr(tmp_path, capsys):
    code, out, err = run(
        ["simulate", "-n", "200", "--progress", "--out", str(tmp_path / "p")], capsys
    )
    assert code == 0
    assert "simulate startup_saas" in err and "wrote" in out
    code, out, err = run(
        ["simulate", "-n", "200", "--no-progress", "--out", str(tmp_path / "q")], capsys
    )
    assert code == 0 and err == ""
