"""Shared world and checks of the hostile-input tests (test_bad_input, test_output_overlap).

Each case runs the real CLI entry point (:func:`qualmodel.cli.main`) inside a fresh copy of
a small world — a simulated journeys folder ``J``, a criteria file, a scenario file and a
tiny CRM export ``raw/`` — after hashing every file of that world; afterwards the hashes
(and the list of files, so nothing new may appear either) must be identical.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from crm_helpers import TINY_MAPPING, TINY_ROWS

import qualmodel
from qualmodel import simulate
from qualmodel.cli import main
from qualmodel.criteria.engine import list_criteria_files

CSV = "\n".join(TINY_ROWS) + "\n"
MAPPING = TINY_MAPPING
BOMB = """\
a: &a ["x", "x", "x", "x", "x", "x", "x", "x", "x"]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
criteria: [*g, *g, *g, *g, *g, *g, *g, *g, *g]
"""


def make_template(root: Path) -> Path:
    """Fill ``root`` with the world every case copies: J/, crit.yaml, scen.yaml, sub/, raw/."""
    simulate("startup_saas", n_leads=300, seed=1).write(root / "J")
    builtin = Path(qualmodel.__file__).parent
    assert "startup_saas" in list_criteria_files()
    shutil.copy(builtin / "criteria" / "definitions" / "startup_saas.yaml", root / "crit.yaml")
    shutil.copy(builtin / "simulation" / "scenarios" / "startup_saas.yaml", root / "scen.yaml")
    (root / "sub").mkdir()
    shutil.copy(root / "scen.yaml", root / "sub" / "scen.yaml")
    (root / "raw").mkdir()
    (root / "raw" / "deals.csv").write_text(CSV, encoding="utf-8")
    (root / "raw" / "m.yaml").write_text(MAPPING, encoding="utf-8")
    (root / "existing.txt").write_text("keep me\n", encoding="utf-8")
    return root


def tree_hashes(root: Path) -> dict[str, str]:
    """Relative path → SHA-256 of every file (folders as ``"<dir>"``) under ``root``."""
    out = {}
    for p in sorted(root.rglob("*")):
        rel = str(p.relative_to(root))
        out[rel] = "<dir>" if p.is_dir() else hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def enter_world(template: Path, tmp_path: Path, monkeypatch) -> Path:
    """Copy the template world into ``tmp_path/w`` and make it the current folder."""
    w = tmp_path / "w"
    shutil.copytree(template, w)
    monkeypatch.chdir(w)
    return w


def run_cli(args: list[str], capsys) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(args)
        raise SystemExit(0)
    cap = capsys.readouterr()
    return info.value.code, cap.out, cap.err


def assert_refused(args, world, capsys, expected, setup=None, monkeypatch=None) -> str:
    """Run ``args`` in ``world``; exit 2, one error line holding ``expected``; no change."""
    if setup is not None:
        setup(world)
    before = tree_hashes(world)
    if monkeypatch is not None:
        _read_only(monkeypatch)
    code, out, err = run_cli([a.format(w=world) for a in args], capsys)
    if monkeypatch is not None:
        monkeypatch.undo()
    lines = err.strip().splitlines()
    assert code == 2, (code, out, err)
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err + out
    for part in expected:
        assert part in lines[0], (part, lines[0])
    assert tree_hashes(world) == before
    return lines[0]


# --------------------------------------------------------------------------- set-ups
def _flip_bytes(name: str):
    def setup(w: Path) -> None:
        path = w / "J" / name
        data = bytearray(path.read_bytes())
        mid = len(data) // 2
        data[mid : mid + 3] = bytes(b ^ 0xFF for b in data[mid : mid + 3])
        path.write_bytes(bytes(data))

    return setup


def _truncate(name: str):
    def setup(w: Path) -> None:
        path = w / "J" / name
        path.write_bytes(path.read_bytes()[:-100])

    return setup


def _write(rel: str, content: str | bytes):
    def setup(w: Path) -> None:
        path = w / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")

    return setup


def _scenario_edit(old: str, new: str):
    def setup(w: Path) -> None:
        text = (w / "scen.yaml").read_text(encoding="utf-8")
        assert old in text, old
        (w / "bad.yaml").write_text(text.replace(old, new, 1), encoding="utf-8")

    return setup


def _copy_journeys(rel: str):
    def setup(w: Path) -> None:
        shutil.copytree(w / "J", w / rel)

    return setup


def _link(rel: str, target: str, hard: bool = False):
    def setup(w: Path) -> None:
        if hard:
            os.link(w / target, w / rel)
        else:
            (w / rel).symlink_to(w / target)

    return setup


def _remove(rel: str):
    def setup(w: Path) -> None:
        (w / rel).unlink()

    return setup


ONE_CRITERION = "criteria:\n  - name: demo\n    events: {any: [demo_completed]}\n"


def _read_only(monkeypatch) -> None:
    """Every temporary file/folder creation fails as on a read-only file system."""

    def refuse(*args, dir=None, **kw):  # noqa: A002 - tempfile's own keyword
        raise OSError(errno.EROFS, "Read-only file system", str(dir))

    def no_mkdir(path, *args, **kw):
        raise OSError(errno.EROFS, "Read-only file system", str(path))

    monkeypatch.setattr(tempfile, "mkdtemp", refuse)
    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    monkeypatch.setattr(os, "mkdir", no_mkdir)


# --------------------------------------------------------------------------- cases
SIM = ["simulate", "-n", "50"]
QUAL = ["qualify", "-j", "J", "-c", "crit.yaml"]
CMP = ["compare", "-j", "J", "-c", "startup_saas", "--n-boot", "0"]
SURV = ["survival", "-j", "J"]
FIT = ["fit-score", "-j", "J", "--no-events", "--attribute", "segment"]
IMP = ["import", "-m", "raw/m.yaml", "--csv", "raw/deals.csv"]
REP = ["report", "--journeys", "J", "--no-progress"]
