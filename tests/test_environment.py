"""environment.yml must list exactly the packages and version bounds of pyproject.toml."""

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
# conda-forge names that differ from PyPI names
CONDA_NAMES = {"duckdb": "python-duckdb"}
# PyPI-only packages: not on conda-forge, installed by the `pip: -e .[dev,bench]` line
PIP_ONLY = {"survival", "typst"}


def _split(spec: str) -> tuple[str, str]:
    m = re.match(r"^\s*([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?\s*(.*)$", spec)
    assert m, spec
    return m.group(1).lower().replace("_", "-"), m.group(2).replace(" ", "")


def _pyproject() -> dict[str, str]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    specs = list(data["project"]["dependencies"])
    for extra in data["project"].get("optional-dependencies", {}).values():
        specs += extra
    out = {}
    for spec in specs:
        name, ver = _split(spec)
        if name not in PIP_ONLY:
            out[CONDA_NAMES.get(name, name)] = ver
    return out


def _environment() -> dict[str, str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert env["channels"] == ["conda-forge"]
    out = {}
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            assert dep == {"pip": ["-e .[dev,bench]"]}, dep
            continue
        name, ver = _split(dep)
        if name in {"python", "pip"}:
            continue
        out[name] = ver
    return out


def test_environment_matches_pyproject():
    py, env = _pyproject(), _environment()
    assert set(py) - set(env) == set(), "in pyproject.toml but not environment.yml"
    assert set(env) - set(py) == set(), "in environment.yml but not pyproject.toml"
    diffs = {k: (py[k], env[k]) for k in py if py[k] != env[k]}
    assert diffs == {}, f"version bounds differ (pyproject, environment): {diffs}"


def test_pip_only_packages_are_in_an_extra_the_pip_line_installs():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    specs = [*project["dependencies"], *(s for key in ("dev", "bench") for s in extras[key])]
    assert PIP_ONLY <= {_split(spec)[0] for spec in specs}


def test_python_requirement_matches():
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert f"python{data['project']['requires-python']}" in env["dependencies"]


def test_generated_outputs_are_ignored_by_git():
    """What `make setup/report/bench` and the README's import example write stays untracked."""
    import shutil
    import subprocess

    import pytest

    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "--keep-journeys data/simulated" in makefile  # make report keeps its journeys here
    written = [
        ".venv/pip.log",  # make setup
        "reports/index.html",  # make report
        "reports/startup_saas/figures/02-cif-all.png",
        "data/simulated/startup_saas/leads.parquet",
        "benchmarks/results/latest.json",  # make bench
        "data/imported/maven/meta.json",  # README import example
        "reports/maven/summary.json",
        "src/qualmodel/__pycache__/engine.cpython-311.pyc",  # make test keeps bytecode
        "tests/__pycache__/test_x.cpython-311-pytest-9.2.0.pyc",
    ]
    proc = subprocess.run(
        ["git", "check-ignore", "--no-index", *written], cwd=ROOT, capture_output=True, text=True
    )
    assert sorted(proc.stdout.split()) == sorted(written)
    kept = ["reports/.gitkeep", "data/.gitkeep", "benchmarks/run.py", "notebooks/01-journeys.ipynb"]
    proc = subprocess.run(
        ["git", "check-ignore", "--no-index", *kept], cwd=ROOT, capture_output=True, text=True
    )
    assert proc.stdout == ""


def test_make_clean_removes_everything_generated(tmp_path):
    """`make clean`, run in a copy of the Makefile, leaves only tracked files behind."""
    import shutil
    import subprocess

    import pytest

    if shutil.which("make") is None:
        pytest.skip("make not installed")
    shutil.copy(ROOT / "Makefile", tmp_path / "Makefile")
    tracked = [
        "reports/.gitkeep",
        "data/.gitkeep",
        "src/qualmodel/__init__.py",
        "benchmarks/run.py",
    ]
    generated = [
        ".venv/bin/python",
        "reports/index.html",
        "reports/.qualmodel-output.json",
        "reports/startup_saas/figures/02-cif-all.png",
        "data/simulated/startup_saas/leads.parquet",
        "data/imported/maven/meta.json",
        "benchmarks/results/latest.json",
        ".hypothesis/examples/x",
        ".pytest_cache/v/x",
        ".ruff_cache/x",
        "src/qualmodel.egg-info/PKG-INFO",
        "src/qualmodel/__pycache__/x.pyc",
        "notebooks/.ipynb_checkpoints/x.ipynb",
        "build/lib/x",
        "dist/x.whl",
    ]
    for rel in tracked + generated:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x", encoding="utf-8")
    proc = subprocess.run(["make", "clean"], cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    left = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    assert left == sorted(["Makefile", *tracked])
