"""The report notebooks on each funnel shape, rendered once per test run.

``tests/test_plan_matrix.py`` and ``tests/test_notebooks_funnels.py`` read the same
notebooks rendered on the same generated shapes (``make_shape(name, n=250, seed=3)``) with
default parameters. The session fixture ``shape_reports`` (conftest) renders them on first
use into a folder all pytest-xdist workers of the run share; a file lock per shape lets one
worker render while another that needs the same shape waits, then reads the same files.
"""

from __future__ import annotations

import fcntl
import json
from pathlib import Path

import pandas as pd

from qualmodel import Journeys, report

#: Notebooks rendered per shape: every per-dataset notebook the two modules read.
NOTEBOOKS = ("01-journeys", "02-time-to-sqo", "03-compare-criteria", "10-client-report")


def _fingerprint(j: Journeys) -> str:
    """Hash of both tables (a later caller must pass the journeys that were rendered)."""
    parts = [pd.util.hash_pandas_object(t, index=False).sum() for t in (j.leads, j.events)]
    return f"{j.n_leads}:{j.n_events}:{int(parts[0])}:{int(parts[1])}"


class ShapeReports:
    """Renders of :data:`NOTEBOOKS` per shape name, under ``root`` (shared by the workers)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def __call__(self, name: str, journeys: Journeys) -> Path:
        """Folder of the notebooks rendered on ``journeys`` (rendered by the first caller)."""
        base = self.root / name
        done = self.root / f"{name}.json"
        with open(self.root / f"{name}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
            if not done.exists():
                folder = journeys.write(base / name)
                summary = report.run_reports(
                    None, journeys=folder, notebooks=list(NOTEBOOKS), jobs=2,
                    out=base / "r", progress=False,
                )  # fmt: skip
                got = sorted(r.job.template.name for r in summary.results)
                assert got == sorted(NOTEBOOKS), got
                done.write_text(json.dumps({"journeys": _fingerprint(journeys)}))
        assert json.loads(done.read_text())["journeys"] == _fingerprint(journeys), name
        return base / "r" / name
