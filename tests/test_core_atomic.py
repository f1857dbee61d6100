"""Atomic writers keep the modes an ordinary ``open``/``mkdir`` gives (the process umask)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pandas as pd
import pytest

from qualmodel.cli import main
from qualmodel.core import atomic
from qualmodel.core.atomic import (
    current_umask,
    make_temp_dir,
    write_csv_atomic,
    write_text_atomic,
)
from qualmodel.core.errors import ConfigError


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(params=[0o022, 0o077, 0o002])
def umask(request):
    """Run the test under a given process umask, restoring the previous one."""
    old = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(old)


def test_current_umask_reads_without_changing(umask):
    assert current_umask() == umask
    assert current_umask() == umask  # reading twice: the mask itself did not change


def test_text_and_csv_writers_follow_umask(umask, tmp_path):
    plain = tmp_path / "plain.txt"
    plain.write_text("x")  # what open() gives under this umask: the reference
    text = write_text_atomic(tmp_path / "a.txt", "hello\n")
    csv = write_csv_atomic(pd.DataFrame({"a": [1]}), tmp_path / "sub" / "b.csv")
    assert _mode(text) == _mode(csv) == _mode(plain) == 0o666 & ~umask
    assert _mode(csv.parent) == 0o777 & ~umask


def test_make_temp_dir_follows_umask(umask, tmp_path):
    folder = make_temp_dir(tmp_path, ".x-")
    assert folder.parent == tmp_path and folder.name.startswith(".x-")
    assert _mode(folder) == 0o777 & ~umask


def test_journeys_folder_follows_umask(umask, tmp_path, journeys_factory):
    j = journeys_factory(
        [{"lead_id": "a", "created_at": "2024-01-01", "observed_until": "2024-02-01"}]
    )
    folder = j.write(tmp_path / "journeys")
    assert _mode(folder) == 0o777 & ~umask
    for name in ("leads.parquet", "events.parquet", "meta.json"):
        assert _mode(folder / name) == 0o666 & ~umask
    j.write(folder)  # replacing an existing folder: same modes
    assert _mode(folder) == 0o777 & ~umask


def test_cli_csv_and_folder_outputs_are_shareable_with_umask_022(tmp_path, capsys):
    old = os.umask(0o022)
    try:
        sim = tmp_path / "sim"
        main(["simulate", "--scenario", "startup_saas", "--n-leads", "300", "--seed", "1",
              "--out", str(sim)])  # fmt: skip
        main(["survival", "--journeys", str(sim), "--out", str(tmp_path / "surv")])
        main(["funnel", str(sim), "--csv", str(tmp_path / "funnel.csv")])
    finally:
        os.umask(old)
    capsys.readouterr()
    outputs = [sim, tmp_path / "surv", tmp_path / "funnel.csv"]
    outputs += [p for d in outputs[:2] for p in d.rglob("*")]
    assert len(outputs) > 8
    for path in outputs:
        assert _mode(path) == (0o755 if path.is_dir() else 0o644), path


def test_write_text_atomic_keeps_old_file_on_error(tmp_path):
    target = tmp_path / "out.csv"
    write_text_atomic(target, "a,b\n1,2\n")
    assert target.read_bytes() == b"a,b\n1,2\n"
    with pytest.raises(UnicodeEncodeError):
        write_text_atomic(target, "a\n\ud800\n")  # not encodable: fails mid-write
    assert target.read_bytes() == b"a,b\n1,2\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]  # no temp left
    with pytest.raises(ConfigError, match="is a folder"):
        write_text_atomic(tmp_path, "x")


def test_write_csv_atomic_round_trip(tmp_path):
    frame = pd.DataFrame({"x": [1, 2], "t": pd.to_datetime(["2024-01-01", "2024-01-02"])})
    path = write_csv_atomic(frame, tmp_path / "sub" / "t.csv", date_format="%Y-%m-%d")
    assert path.read_text() == "x,t\n1,2024-01-01\n2,2024-01-02\n"


# ------------------------------------------------------------ several files, folder swaps
def test_temp_paths_renames_every_file_together(tmp_path):
    a, b = tmp_path / "sub" / "a.csv", tmp_path / "sub" / "b.png"
    with atomic.temp_paths(a, b) as (ta, tb):
        ta.write_text("x\n")
        tb.write_bytes(b"png")
        assert not a.exists() and not b.exists()  # nothing visible before the end
    assert a.read_text() == "x\n" and b.read_bytes() == b"png"
    assert sorted(p.name for p in a.parent.iterdir()) == ["a.csv", "b.png"]


def test_temp_paths_failure_leaves_old_files_and_no_temporaries(tmp_path):
    a, b = tmp_path / "a.csv", tmp_path / "b.png"
    a.write_text("old\n")
    with pytest.raises(RuntimeError), atomic.temp_paths(a, b) as (ta, _tb):
        ta.write_text("new\n")
        raise RuntimeError("drawing failed")
    assert a.read_text() == "old\n" and not b.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["a.csv"]


def test_replace_folder_swaps_in_and_removes_the_old_one(tmp_path):
    dest, src = tmp_path / "out", tmp_path / ".out.tmp-1-x"
    dest.mkdir()
    (dest / "old.txt").write_text("old")
    src.mkdir()
    (src / "new.txt").write_text("new")
    atomic.replace_folder(src, dest)
    assert [p.name for p in dest.iterdir()] == ["new.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_replace_folders_rolls_back_when_a_rename_fails(tmp_path, monkeypatch):
    stage = tmp_path / "stage"
    for name in ("one", "two"):
        (stage / name).mkdir(parents=True)
        (stage / name / "f").write_text(f"new {name}")
        (tmp_path / name).mkdir()
        (tmp_path / name / "f").write_text(f"old {name}")
    real = os.replace
    calls = {"n": 0}

    def flaky(src, dst):
        calls["n"] += 1
        if calls["n"] == 4:  # set aside one, move one, set aside two, then fail moving two
            raise OSError(16, "Device or resource busy")
        return real(src, dst)

    monkeypatch.setattr(atomic.os, "replace", flaky)
    with pytest.raises(OSError):
        atomic.replace_folders([(stage / n, tmp_path / n) for n in ("one", "two")])
    monkeypatch.setattr(atomic.os, "replace", real)
    for name in ("one", "two"):
        assert (tmp_path / name / "f").read_text() == f"old {name}"
        assert (stage / name / "f").read_text() == f"new {name}"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one", "stage", "two"]
