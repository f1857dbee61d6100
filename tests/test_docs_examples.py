"""Every fenced Python and shell example in README.md and docs/*.md runs as written.

Examples run in a fresh temporary working folder that holds ``data/simulated/startup_saas``
(the folder the README simulates) and a link ``../shared/data`` to the real public CRM data
when it is present (examples that read it are skipped otherwise). A fence preceded by the
line ``<!-- example: not run (reason) -->`` is skipped: it is illustrative only (placeholder
files), or a named test runs it as written and checks what it produces. Shell lines for
the two set-up commands themselves (``make``, ``conda``, ``pytest``) are left to CI; every
``qualmodel`` command line is run (in the test's process, as ``qualmodel.cli.main``) and must
exit 0.
"""

from __future__ import annotations

import contextlib
import io
import re
import shlex
from pathlib import Path

import matplotlib
import pytest

from qualmodel.cli import main

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"(<!-- example: not run[^>]*-->\n)?```(\w+)\n(.*?)```", re.S)
SHELL = {"bash", "sh", "shell", "console"}
SKIP_CMDS = ("make ", "conda ", "pytest ")


def _examples() -> list[pytest.param]:
    out = []
    for doc in DOCS:
        text = doc.read_text(encoding="utf-8")
        for m in FENCE.finditer(text):
            skip, lang, body = m.group(1), m.group(2), m.group(3)
            if lang != "python" and lang not in SHELL:
                continue
            line = text[: m.start(2)].count("\n") + 1
            marks = [pytest.mark.skip(reason="marked not run")] if skip else []
            if "../shared/data" in body and not SHARED.is_dir():
                marks.append(pytest.mark.skip(reason="needs ../shared/data"))
            ident = f"{doc.relative_to(ROOT)}:{line}"
            out.append(pytest.param(lang, body, id=ident, marks=marks))
    return out


def _commands(body: str) -> list[str]:
    """Shell command lines (continuations joined, comments dropped) that call qualmodel."""
    joined = body.replace("\\\n", " ")
    cmds = []
    for raw in joined.splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith(SKIP_CMDS) or line.startswith("#"):
            continue
        cmds.append(line)
    return cmds


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("docs")
    work = base / "project"
    work.mkdir()
    if SHARED.is_dir():
        (base / "shared").mkdir()
        (base / "shared" / "data").symlink_to(SHARED, target_is_directory=True)
    _run(
        "qualmodel simulate --scenario startup_saas --n-leads 20000 --seed 1 "
        "--out data/simulated/startup_saas",
        work,
    )
    crit = (ROOT / "docs" / "criteria.md").read_text(encoding="utf-8")
    score_yaml = re.search(r"### `score`\n\n```yaml\n(.*?)```", crit, re.S)
    assert score_yaml, "docs/criteria.md lost its score example"
    (work / "mine.yaml").write_text(score_yaml.group(1), encoding="utf-8")
    return work


def _run(cmd: str, cwd: Path) -> None:
    """Run one ``qualmodel`` command line in this process (as ``main(argv)``) in ``cwd``."""
    argv = shlex.split(cmd)
    assert argv[0] in {"qualmodel", ".venv/bin/qualmodel"}, f"not a qualmodel command: {cmd}"
    err = io.StringIO()
    code: object = 0
    with contextlib.chdir(cwd), contextlib.redirect_stderr(err), contextlib.redirect_stdout(err):
        try:
            main(argv[1:])
        except SystemExit as exc:
            code = exc.code
    assert code in (0, None), f"{cmd}\n{err.getvalue()[-2000:]}"


@pytest.mark.slow
@pytest.mark.parametrize(("lang", "body"), _examples())
def test_example_runs(lang: str, body: str, workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(workdir)
    matplotlib.use("Agg")
    if lang == "python":
        exec(compile(body, "<example>", "exec"), {"__name__": "__example__"})
        return
    cmds = _commands(body)
    for cmd in cmds:
        _run(cmd, workdir)
