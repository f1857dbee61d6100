"""A wheel built from the project carries everything ``qualmodel report`` needs.

The wheel is built offline from a copy of the source and installed into a fresh virtual
environment. Its third-party dependencies, and their Jupyter data files, are borrowed from
the running environment (a ``.pth`` line and ``JUPYTER_PATH``), so nothing is downloaded.
``qualmodel report --scenario startup_saas`` (small sizes, one kernel: a fresh install
compiles its numba functions, once per kernel) then runs in an empty folder far from the
checkout: the notebook templates, scenarios, criteria, spaces, mappings and message
catalogues must all come from the installed package.
"""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.run_first  # the longest test in its own interpreter: start it early
ROOT = Path(__file__).resolve().parents[1]
#: Small run: what is checked is that every shipped file is found, not the numbers.
TINY = {"n_leads": 1500, "n_boot": 50, "n_replicates": 20}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    src = tmp_path_factory.mktemp("src")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(
        ROOT / "src", src / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
    )
    out = tmp_path_factory.mktemp("dist")
    cmd = [sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "--no-build-isolation",
           "--no-index", "-q", "-w", str(out)]  # fmt: skip
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    (whl,) = out.glob("qualmodel-*.whl")
    return whl


def test_wheel_holds_the_templates_and_every_yaml(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    shipped = {
        "qualmodel/report/notebooks/": ".ipynb",
        "qualmodel/simulation/scenarios/": ".yaml",
        "qualmodel/criteria/definitions/": ".yaml",
        "qualmodel/criteria/spaces/": ".yaml",
        "qualmodel/crm/mappings/": ".yaml",
        "qualmodel/core/locales/": ".yaml",
    }
    pkg = ROOT / "src"
    for folder, suffix in shipped.items():
        want = sorted(p.name for p in (pkg / folder).glob(f"*{suffix}"))
        have = sorted(
            n.rsplit("/", 1)[1] for n in names if n.startswith(folder) and n.endswith(suffix)
        )
        assert want and have == want, folder


@pytest.mark.slow
def test_installed_wheel_runs_a_report_in_an_empty_folder(wheel, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    py = venv / "bin" / "python"
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "--no-index",
         "-q", str(wheel)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    purelib = subprocess.run(
        [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    # third-party packages from the running environment, after the venv's own site-packages
    (Path(purelib) / "borrowed_dependencies.pth").write_text(
        "\n".join(site.getsitepackages()) + "\n"
    )
    work = tmp_path / "empty"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "QUALMODEL_NOTEBOOKS"}}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    # the borrowed packages' data files (nbconvert's HTML templates) stay where they are
    env["JUPYTER_PATH"] = str(Path(sys.prefix) / "share" / "jupyter")
    where = subprocess.run(
        [str(py), "-c", "import qualmodel; print(qualmodel.__file__)"],
        cwd=work, env=env, check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    assert Path(where).is_relative_to(venv), where  # the wheel, not the checkout
    proc = subprocess.run(
        [str(venv / "bin" / "qualmodel"), "report", "--scenario", "startup_saas", "--jobs", "1",
         *[f"--param={k}={v}" for k, v in TINY.items()]],
        cwd=work, env=env, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    html = sorted(p.name for p in (work / "reports" / "startup_saas").glob("*.html"))
    assert "10-client-report.html" in html and "02-time-to-sqo.html" in html, html
    assert (work / "reports" / "index.html").is_file()
