"""Shared fixtures: a tiny hand-made Journeys factory and the real-data folder."""

from __future__ import annotations

import os
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from qualmodel import Journeys
from qualmodel.cli import _skip_iri_grammar

ROOT = Path(__file__).resolve().parents[1]
#: ``../shared/data``; ``QUALMODEL_SHARED_DATA`` overrides it (e.g. from a git worktree).
SHARED_DATA = Path(os.environ.get("QUALMODEL_SHARED_DATA", ROOT.parent / "shared" / "data"))
# The suite renders many small reports: each worker process keeps its warm kernels from one
# report run to the next (qualmodel.report.kernels.report_kernels), as a long session would.
os.environ.setdefault("QUALMODEL_KEEP_KERNELS", "1")
# Reading notebooks imports jsonschema, whose optional IRI checker compiles a grammar for
# 1.2 s on import; no test validates IRIs: skip it as the qualmodel command does.
_skip_iri_grammar()


def make_journeys(
    leads: list[dict], events: list[tuple] | None = None, meta: dict | None = None
) -> Journeys:
    """Build Journeys from plain rows; timestamps given as ISO strings.

    ``leads`` rows are dicts (missing stage keys → NaT); ``events`` rows are
    ``(lead_id, ts, event)`` or ``(lead_id, ts, event, value)``.
    """
    ldf = pd.DataFrame(leads)
    for col in ldf.columns:
        if col.endswith("_at") or col == "observed_until":
            ldf[col] = pd.to_datetime(ldf[col])
    rows = events or []
    edf = pd.DataFrame(
        [(r[0], r[1], r[2], r[3] if len(r) > 3 else float("nan")) for r in rows],
        columns=["lead_id", "ts", "event", "value"],
    )
    edf["ts"] = pd.to_datetime(edf["ts"])
    return Journeys.build(ldf, edf, meta or {"source": "test"})


def run_cli(args: list[str], capsys) -> tuple[int, object]:
    """Run ``qualmodel`` in-process: (exit code, 0 when it returns; captured output)."""
    from qualmodel.cli import main

    try:
        main(args)
    except SystemExit as exc:
        return exc.code, capsys.readouterr()
    return 0, capsys.readouterr()


def pytest_collection_modifyitems(config, items):
    """Put the tests marked ``run_first`` at the front of the run.

    pytest-xdist hands tests out in collection order; a long test collected last (the wheel
    test, about 18 s of its own interpreter and kernel) kept one worker busy alone at the
    end of a parallel run while the other had nothing left to do.
    """
    first = [item for item in items if item.get_closest_marker("run_first")]
    if first:
        items[:] = first + [item for item in items if not item.get_closest_marker("run_first")]


@pytest.fixture
def journeys_factory():
    """Return :func:`make_journeys`."""
    return make_journeys


@pytest.fixture(scope="session")
def pg_url():
    """URL (with password) of a PostgreSQL server started for this session, stopped at the end.

    Fails (never skips) when the server binaries are missing: see tests/pg_server.py.
    """
    from tests import pg_server

    try:
        url, root, _ = pg_server.start()
    except (RuntimeError, OSError) as exc:
        pytest.fail(str(exc))
    except Exception as exc:  # a failed initdb / pg_ctl: show its output
        pytest.fail(
            f"could not start the test PostgreSQL server: {exc} {getattr(exc, 'stderr', '')}"
        )
    yield url
    pg_server.stop(root)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Path of ``../shared/data``; skips the test when the folder is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real CRM data not available at {SHARED_DATA}")
    return SHARED_DATA


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.imgs: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        if tag == "img" and a.get("src"):
            self.imgs.append(a["src"])


def parse_html(path: Path) -> _Links:
    p = _Links()
    p.feed(path.read_text(encoding="utf-8"))
    return p


@pytest.fixture(scope="session")
def shape_reports(tmp_path_factory):
    """Report notebooks rendered once per funnel shape and run (see ``shape_reports.py``)."""
    from shape_reports import ShapeReports

    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):  # the workers' folders share the run's folder
        root = root.parent
    return ShapeReports(root / "shape-reports")


@pytest.fixture(scope="session")
def world_template(tmp_path_factory) -> Path:
    """The small world of the hostile-input tests (see ``bad_input_helpers.py``)."""
    from bad_input_helpers import make_template

    return make_template(tmp_path_factory.mktemp("world"))


@pytest.fixture
def world(world_template, tmp_path, monkeypatch) -> Path:
    """A fresh copy of :func:`world_template`, made the current folder."""
    from bad_input_helpers import enter_world

    return enter_world(world_template, tmp_path, monkeypatch)
