"""``qualmodel power``: CSV + PNG, progress bar, Dask local cluster, one-line errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from qualmodel.cli import main

SC, A, B = "startup_saas", "bant_3_of_4", "score_60_decay_30d"
ROOT = Path(__file__).resolve().parents[1]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _args(out: Path, *extra: str) -> list[str]:
    return [
        "power",
        "-s",
        SC,
        "--baseline",
        A,
        "--candidate",
        B,
        "-o",
        str(out),
        "--n-leads",
        "60,120",
        "--replicates",
        "10",
        "--metric",
        "sqo_volume,precision",
        *extra,
    ]


def test_csv_and_valid_png_written(tmp_path, capsys):
    import matplotlib.image as mpimg

    out, png = tmp_path / "p.csv", tmp_path / "p.png"
    main(_args(out, "--plot", str(png), "--no-progress"))
    table = pd.read_csv(out)
    assert list(table["metric"]) == ["sqo_volume"] * 2 + ["precision"] * 2
    assert {"power", "power_lo", "power_hi", "weeks_of_flow", "effect", "mde"} <= set(table)
    data = png.read_bytes()
    assert data[:8] == PNG_MAGIC
    img = mpimg.imread(png)
    assert img.ndim == 3 and img.shape[0] > 100 and img.shape[1] > 100
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.csv", "p.png"]  # no temp left
    assert capsys.readouterr().err == ""  # --no-progress: no bar


def test_forced_progress_bar_on_stderr(tmp_path, capsys):
    main(_args(tmp_path / "p.csv", "--progress"))
    err = capsys.readouterr().err
    assert "power" in err and "100%" in err and "20/20" in err


def test_dask_local_cluster_cli_same_csv_as_in_process(tmp_path):
    ref, got = tmp_path / "in.csv", tmp_path / "dask.csv"
    main(_args(ref, "--no-progress"))
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    cmd = [sys.executable, "-m", "qualmodel", *_args(got, "--dask", "local:2", "--chunk-size", "3")]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert got.read_bytes() == ref.read_bytes()


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (["--n-leads", "0"], "n_leads"),
        (["--n-leads", "-5,10"], "n_leads"),
        (["--replicates", "3"], "n_replicates"),
        (["--alpha", "0"], "alpha"),
        (["--alpha", "1.5"], "alpha"),
        (["--candidate", "nope"], "unknown criterion"),
        (["--metric", "nope"], "unknown metric"),
        (["--chunk-size", "0"], "chunk-size"),
        (["--dask", "local:0"], "worker count"),
        (["--dask", "tcp://127.0.0.1:1", "--dask-timeout", "0.5"], "within 0.5 s"),
    ],
)
def test_bad_input_one_line_exit_2_no_outputs(tmp_path, capsys, extra, needle):
    out, png = tmp_path / "p.csv", tmp_path / "p.png"
    with pytest.raises(SystemExit) as exc:
        main(_args(out, "--plot", str(png), "--progress", *extra))
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and needle in err[0], err
    assert list(tmp_path.iterdir()) == []  # no CSV, no PNG, no temp file
