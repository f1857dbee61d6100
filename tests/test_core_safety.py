"""``core.safety``: overlap guard, overwrite rule, safe YAML, checksums, stale clean-up."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from qualmodel import Journeys, simulate
from qualmodel.cli import main
from qualmodel.core.errors import ConfigError, InputError
from qualmodel.core.safety import (
    MARKER,
    check_output,
    clean_stale,
    load_yaml,
    refuse_overlap,
    temp_prefix,
)
from qualmodel.journeys.store import file_sha256


def run(args, capsys):
    with pytest.raises(SystemExit) as info:
        main([str(a) for a in args])
        raise SystemExit(0)
    cap = capsys.readouterr()
    return info.value.code, cap.out, cap.err


# ----------------------------------------------------------------------------- YAML
def test_load_yaml_plain_document():
    assert load_yaml("a: [1, 2]\nb: '2017-02-30'\n", "x.yaml") == {"a": [1, 2], "b": "2017-02-30"}


def test_load_yaml_rejects_aliases_at_their_line():
    with pytest.raises(ConfigError, match=r"x.yaml: invalid YAML at line 2 column 4 \(alias '\*a'"):
        load_yaml("a: &a 1\nb: *a\n", "x.yaml")


def test_load_yaml_reports_impossible_dates_and_error_class():
    with pytest.raises(InputError, match=r"m.yaml: .*line 1 .*impossible date '2017-02-30'"):
        load_yaml("d: 2017-02-30\n", "m.yaml", InputError)
    assert str(load_yaml("d: 2017-02-28\n", "m.yaml")["d"]) == "2017-02-28"


def test_load_yaml_no_python_objects():
    with pytest.raises(ConfigError, match="x.yaml: invalid YAML"):
        load_yaml("!!python/object/apply:os.system ['true']\n", "x.yaml")


def test_load_yaml_parses_a_text_once_and_hands_out_copies():
    from qualmodel.core import safety

    text = "a: [1, 2]\nb: {c: 3}\n"
    safety._parsed_yaml.cache_clear()
    first = load_yaml(text, "once.yaml")
    first["a"].append(99)  # the caller's own copy
    first["b"]["c"] = -1
    assert load_yaml(text, "once.yaml") == {"a": [1, 2], "b": {"c": 3}}
    assert safety._parsed_yaml.cache_info().hits == 1
    for _ in range(2):  # an error is raised again on every call, never remembered as a value
        with pytest.raises(ConfigError, match=r"bad.yaml: invalid YAML at line 2 column 1"):
            load_yaml("a: [1\n", "bad.yaml")


# ----------------------------------------------------------------------------- overlap
@pytest.mark.parametrize(
    ("out", "how"),
    [
        ("in/a.csv", "is"),
        ("in", "contains"),
        (".", "contains"),
        ("J", "is"),
        ("J/x", "lies inside"),
    ],
)
def test_refuse_overlap(tmp_path, out, how):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.csv").write_text("x")
    (tmp_path / "J").mkdir()
    inputs = {"--csv": tmp_path / "in" / "a.csv", "--journeys": tmp_path / "J"}
    with pytest.raises(ConfigError, match=f"--out .* {how} the input"):
        refuse_overlap({"--out": tmp_path / out}, inputs)


def test_refuse_overlap_allows_siblings_and_symlinks_are_resolved(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.csv").write_text("x")
    refuse_overlap({"--out": tmp_path / "in" / "b.csv"}, {"--csv": tmp_path / "in" / "a.csv"})
    (tmp_path / "link.csv").symlink_to(tmp_path / "in" / "a.csv")
    with pytest.raises(ConfigError, match="is the input file"):
        refuse_overlap({"--out": tmp_path / "link.csv"}, {"--csv": tmp_path / "in" / "a.csv"})
    os.link(tmp_path / "in" / "a.csv", tmp_path / "hard.csv")
    with pytest.raises(ConfigError, match="is the input file"):
        refuse_overlap({"--out": tmp_path / "hard.csv"}, {"--csv": tmp_path / "in" / "a.csv"})


def test_two_outputs_may_not_overlap(tmp_path):
    with pytest.raises(ConfigError, match="--out .* and --plot .* overlap"):
        refuse_overlap({"--out": tmp_path / "a", "--plot": tmp_path / "a" / "b.png"}, {})


# ----------------------------------------------------------------------------- overwrite
def test_check_output_rules(tmp_path):
    assert check_output(tmp_path / "new", "--out", force=False, kind="journeys") is False
    (tmp_path / "empty").mkdir()
    assert check_output(tmp_path / "empty", "--out", force=False, kind="survival") is False
    (tmp_path / "f.csv").write_text("x")
    with pytest.raises(ConfigError, match="already exists; pass --force"):
        check_output(tmp_path / "f.csv", "--out", force=False, kind="file")
    assert check_output(tmp_path / "f.csv", "--out", force=True, kind="file") is True
    own = tmp_path / "own"
    own.mkdir()
    (own / MARKER).write_text(json.dumps({"command": "survival"}))
    (own / "rmst.csv").write_text("x")
    with pytest.raises(ConfigError, match="already exists; pass --force"):
        check_output(own, "--out", force=False, kind="survival")
    assert check_output(own, "--out", force=True, kind="survival") is True
    with pytest.raises(ConfigError, match="not a qualmodel report folder"):
        check_output(own, "--out", force=True, kind="report")  # marker of another command
    legacy = tmp_path / "legacy"
    legacy.mkdir()
    (legacy / "rmst.csv").write_text("x")
    assert check_output(legacy, "-o", force=True, kind="survival", legacy=frozenset(["rmst.csv"]))


def test_simulate_force_replaces_only_its_own_folder(tmp_path, capsys):
    out = tmp_path / "sim"
    assert run(["simulate", "-n", "40", "--out", out], capsys)[0] == 0
    code, _, err = run(["simulate", "-n", "40", "--seed", "2", "--out", out], capsys)
    assert code == 2 and "already exists; pass --force" in err
    assert Journeys.read(out).meta["seed"] == 0
    assert run(["simulate", "-n", "40", "--seed", "2", "--out", out, "--force"], capsys)[0] == 0
    assert Journeys.read(out).meta["seed"] == 2


def test_import_may_write_a_new_folder_inside_the_data_dir(tmp_path, capsys):
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "deals.csv").write_text("id,created\n1,2020-01-01\n2,2020-01-02\n")
    (raw / "m.yaml").write_text(
        "source: tiny\nfile: deals.csv\nlead_id: id\ncreated_at: created\n"
        "observed_until: 2020-12-31\n"
    )
    args = ["import", "-m", raw / "m.yaml", "--data-dir", raw]
    assert run([*args, "--out", raw / "imported"], capsys)[0] == 0
    assert Journeys.read(raw / "imported").n_leads == 2
    code, _, err = run([*args, "--out", raw, "--force"], capsys)
    assert code == 2 and "contains the input file" in err


def test_journeys_write_refuses_foreign_folder(tmp_path):
    j = simulate("startup_saas", n_leads=30, seed=0)
    (tmp_path / "crm").mkdir()
    (tmp_path / "crm" / "export.csv").write_text("id\n1\n")
    with pytest.raises(InputError, match="not a journeys folder written by qualmodel"):
        j.write(tmp_path / "crm")
    assert (tmp_path / "crm" / "export.csv").read_text() == "id\n1\n"


# ----------------------------------------------------------------------------- checksums
def test_checksums_written_verified_and_hidden_from_meta(tmp_path):
    j = simulate("startup_saas", n_leads=30, seed=0)
    folder = j.write(tmp_path / "j")
    meta = json.loads((folder / "meta.json").read_text())
    assert meta["checksums"] == {
        "leads.parquet": file_sha256(folder / "leads.parquet"),
        "events.parquet": file_sha256(folder / "events.parquet"),
    }
    assert meta["checksums"]["leads.parquet"].startswith("sha256:")
    back = Journeys.read(folder)
    assert "checksums" not in back.meta and back.meta == j.meta
    data = bytearray((folder / "leads.parquet").read_bytes())
    data[len(data) // 2] ^= 0x01  # one flipped bit
    (folder / "leads.parquet").write_bytes(bytes(data))
    with pytest.raises(InputError, match="leads.parquet: checksum does not match meta.json"):
        Journeys.read(folder)


def test_folder_without_checksums_still_reads(tmp_path, capsys):
    folder = simulate("startup_saas", n_leads=30, seed=0).write(tmp_path / "old")
    code, out, _ = run(["validate", folder], capsys)
    assert code == 0 and out.rstrip().endswith(", checksums verified")
    meta = json.loads((folder / "meta.json").read_text())
    del meta["checksums"]
    (folder / "meta.json").write_text(json.dumps(meta))
    assert Journeys.read(folder).n_leads == 30
    code, out, _ = run(["validate", folder], capsys)
    assert code == 0 and "no checksums (written before qualmodel stored them" in out
    Journeys.read(folder).write(tmp_path / "new")  # writing it again adds them
    assert "checksums" in json.loads((tmp_path / "new" / "meta.json").read_text())


# ----------------------------------------------------------------------------- stale temps
def _dead_pid() -> int:
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    return int(proc.stdout)


def test_clean_stale_removes_only_dead_or_old_temporaries(tmp_path):
    dead = tmp_path / f".sim.tmp-{_dead_pid()}-abc"
    alive = tmp_path / f".sim.tmp-{os.getppid()}-def"
    legacy_old = tmp_path / ".sim.tmp-xyz_q"
    legacy_new = tmp_path / ".sim.old-new_q"
    other = tmp_path / ".other.tmp-1-abc"
    for p in (dead, alive, legacy_old, legacy_new, other):
        p.mkdir()
        (p / "leads.parquet").write_text("x")
    past = time.time() - 3600
    os.utime(legacy_old, (past, past))
    removed = clean_stale(tmp_path, (".sim.tmp-", ".sim.old-"))
    assert sorted(removed) == sorted([dead, legacy_old])
    assert alive.exists() and legacy_new.exists() and other.exists()
    assert temp_prefix("sim", "tmp") == f".sim.tmp-{os.getpid()}-"


def test_killed_simulate_leftovers_cleaned_on_next_run(tmp_path, capsys):
    stale = tmp_path / f".sim.tmp-{_dead_pid()}-k1ll3d"
    stale.mkdir()
    (stale / "leads.parquet").write_bytes(b"half written")
    assert run(["simulate", "-n", "30", "--out", tmp_path / "sim"], capsys)[0] == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sim"]


def test_killed_report_staging_cleaned(tmp_path):
    from qualmodel.report.runner import _open_stage

    out = tmp_path / "reports"
    out.mkdir()
    stale = out / f".staging-{_dead_pid()}-abc"
    (stale / ".run").mkdir(parents=True)
    out_dir, stage, _ = _open_stage(out)
    assert not stale.exists() and stage.exists() and (out_dir / MARKER).is_file()
    assert stage.name.startswith(f".staging-{os.getpid()}-")


def test_survival_folder_carries_marker(tmp_path, capsys):
    j = simulate("startup_saas", n_leads=200, seed=1).write(tmp_path / "j")
    out = tmp_path / "surv"
    assert run(["survival", "-j", j, "-o", out, "--competing", "none"], capsys)[0] == 0
    assert json.loads((out / MARKER).read_text())["command"] == "survival"
    assert run(["survival", "-j", j, "-o", out, "--force", "--competing", "none"], capsys)[0] == 0
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_read_only_message():
    from qualmodel.cli.app import os_error_message

    msg = os_error_message(OSError(30, "Read-only file system", "/ro/out"))
    assert msg == "/ro/out: read-only file system; choose a writable location for the output"


def _shipped_yaml() -> list[Path]:
    import qualmodel

    root = Path(qualmodel.__file__).parent
    return sorted(p for p in root.rglob("*.yaml") if "__pycache__" not in p.parts)


def test_libyaml_path_reads_every_shipped_yaml_as_the_python_loader_does():
    import yaml

    from qualmodel.core import safety

    if not yaml.__with_libyaml__:
        pytest.skip("PyYAML without libyaml: only the pure-Python loader runs")
    files = _shipped_yaml()
    assert len(files) >= 20
    for path in files:
        text = path.read_text(encoding="utf-8")
        fast = safety._fast_load(text)
        assert fast is not safety._NO_FAST_PATH, path.name
        assert fast == yaml.load(text, Loader=safety._NoAliasLoader), path.name


@pytest.mark.parametrize(
    "text",
    [
        "a: &x [1, 2]\nb: *x\n",  # an alias
        "a: [1\n",  # syntax error
        "d: 2026-02-30\n",  # impossible date
        "!!python/object/apply:os.system ['true']\n",  # a Python object
        "[" * 300 + "]" * 300,  # nested deeper than the libyaml path reads
    ],
    ids=["alias", "syntax", "date", "python-object", "deep"],
)
def test_libyaml_path_leaves_every_problem_to_the_python_loader(text, monkeypatch):
    from qualmodel.core import safety

    assert safety._fast_load(text) is safety._NO_FAST_PATH

    def outcome() -> str:
        safety._parsed_yaml.cache_clear()
        try:
            return repr(load_yaml(text, "x.yaml"))
        except ConfigError as exc:
            return str(exc)

    got = outcome()
    monkeypatch.setattr(safety, "_fast_load", lambda text: safety._NO_FAST_PATH)
    assert got == outcome()  # word for word what the pure-Python loader says
    safety._parsed_yaml.cache_clear()
