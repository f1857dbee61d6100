"""One analysis plan on every path: Python API defaults, the CLI and the report notebooks.

Funnel shapes (tests/shapes.py): no SAL, no SQO, three competing outcomes named by the data,
no competing outcome, and an extra outcome sent by a history mapping (an event log imported
through ``history.stages: {A_CANCELLED: withdrawn}``). On each shape the API's defaults
(``time_to_event(j)``), ``qualmodel survival`` without options and the notebooks 02 and 10
(rendered once per shape and run, shared with test_notebooks_funnels.py: shape_reports.py)
must time the same start → target with the same
competing outcomes and give the same Aalen–Johansen CIF at the horizon; the rendered text
(markdown and outputs, not code) never says "none" or "createds", nor SAL/SQO where the data
have no such stage.
"""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest
from shape_reports import NOTEBOOKS as RENDERED
from shapes import SHAPES, import_history_shape, loan_log, make_shape

from conftest import run_cli
from qualmodel import report
from qualmodel import survival as sv
from qualmodel.journeys.outcomes import plan_outcomes
from qualmodel.survival.durations import time_to_event

HORIZON = 90.0
NOTEBOOKS = ["02-time-to-sqo", "10-client-report"]
assert set(NOTEBOOKS) <= set(RENDERED)
SHAPE_NAMES = ["no_sal", "no_sqo", "three_competing", "no_lost", "history_extra"]


def _journeys(shape: str, folder):
    if shape == "history_extra":
        return import_history_shape(folder)
    return make_shape(shape, n=250, seed=3)


@pytest.fixture(scope="module", params=SHAPE_NAMES)
def shape(request, tmp_path_factory):
    """One shape: its journeys and folder."""
    name = request.param
    base = tmp_path_factory.mktemp(name)
    j = _journeys(name, base)
    folder = j.write(base / name)
    return {"name": name, "journeys": j, "folder": folder, "base": base}


def _cif_at(tte: pd.DataFrame, codes: list[int]) -> pd.Series:
    return report.at_horizon(sv.cumulative_incidence(tte), HORIZON, events=codes)["cif"]


def test_api_defaults_follow_the_plan(shape):
    j = shape["journeys"]
    plan = plan_outcomes(j)
    start, target, competing, _ = SHAPES[shape["name"]]
    assert (plan["start"], plan["target"], tuple(plan["competing"])) == (
        start,
        target,
        competing,
    )
    explicit = time_to_event(j, plan["start"], plan["target"], plan["competing"])
    pd.testing.assert_frame_equal(time_to_event(j), explicit)
    names = plan["competing_names"]
    assert len(set(names)) == len(names) and "none" not in plan["competing_name"]


def test_cli_defaults_follow_the_plan(shape, capsys):
    j = shape["journeys"]
    plan = plan_outcomes(j)
    out = shape["base"] / "cli"
    code, captured = run_cli(
        ["survival", "--journeys", str(shape["folder"]), "--out", str(out), "--force"], capsys
    )
    assert code == 0, captured.err
    chosen = ", ".join(plan["competing_names"]) or "none in these data"
    assert f"competing outcomes: {chosen} (" in captured.out
    table = pd.read_csv(out / "time_to_event.csv", dtype={"lead_id": str})
    api = time_to_event(j)
    assert table["lead_id"].tolist() == api["lead_id"].tolist()
    assert table["event"].tolist() == api["event"].tolist()
    codes = list(range(1, len(plan["competing"]) + 2))
    cif = pd.read_csv(out / "cumulative_incidence.csv")
    cli_at = report.at_horizon(cif, HORIZON, events=codes)["cif"]
    pd.testing.assert_series_equal(cli_at, _cif_at(api, codes), rtol=1e-12)


def _visible_text(nb_path) -> str:
    """Markdown cells and cell outputs of an executed notebook (code left out)."""
    nb = json.loads(nb_path.read_text(encoding="utf-8"))
    parts = []
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown":
            parts.append("".join(cell["source"]))
        for out in cell.get("outputs", []):
            parts.append("".join(out.get("text", "")))
            data = out.get("data", {})
            for kind in ("text/markdown", "text/plain"):
                parts.append("".join(data.get(kind, "")))
    return "\n".join(parts)


@pytest.mark.slow
def test_notebooks_follow_the_plan(shape, shape_reports):
    j = shape["journeys"]
    plan = plan_outcomes(j)
    out = shape_reports(shape["name"], j)
    summary = json.loads((out / "summary.json").read_text())["notebooks"]
    codes = list(range(1, len(plan["competing"]) + 2))
    api = _cif_at(time_to_event(j), codes)
    keys = [plan["key"], *plan["competing_keys"]]
    for nb in NOTEBOOKS:
        metrics = summary[nb]["metrics"]
        got = [k.removesuffix("_by_horizon") for k in metrics if k.endswith("_by_horizon")]
        assert sorted(k for k in got if not k.startswith(("naive_", "open"))) == sorted(keys), nb
        for code, key in zip(codes, keys, strict=True):
            assert metrics[f"{key}_by_horizon"]["value"] == pytest.approx(api[code], abs=1e-12)
    assert f"n_{plan['start'].removesuffix('_at')}" in summary["10-client-report"]["metrics"]


@pytest.mark.slow
def test_rendered_text_speaks_the_data_vocabulary(shape, shape_reports):
    j = shape["journeys"]
    plan = plan_outcomes(j)
    out = shape_reports(shape["name"], j)
    has = {c.removesuffix("_at").upper() for c in j.leads if j.leads[c].notna().any()}
    for nb in NOTEBOOKS:
        text = _visible_text(out / f"{nb}.ipynb")
        assert not re.search(r"\bnone\b", text, flags=re.I), (nb, _around(text, r"\bnone\b"))
        assert "createds" not in text.lower(), nb
        for stage in ("SAL", "SQO"):
            if stage not in has:
                assert not re.search(rf"\b{stage}s?\b", text), (nb, _around(text, stage))
        for name in (plan["name"], *plan["competing_names"]):
            assert name in text, (nb, name)
        assert "(missing)" not in text.split("RMST by")[-1].split("\n")[0], nb


def _around(text: str, pattern: str) -> str:
    m = re.search(pattern, text, flags=re.I)
    return "" if m is None else text[max(m.start() - 120, 0) : m.end() + 120]


@pytest.mark.slow
def test_event_log_example_names_its_outcomes(tmp_path):
    """docs/import.md: the event_log mapping's outcomes reach the client report text and legend."""
    import matplotlib

    matplotlib.use("Agg")
    from qualmodel import plotting as qp
    from qualmodel.crm import import_crm

    loan_log().to_csv(tmp_path / "log.csv", index=False)
    j = import_crm(tmp_path / "log.csv", "event_log")
    folder = j.write(tmp_path / "loans")
    params = {"target": "approved"}
    report.run_reports(
        None,
        journeys=folder,
        notebooks=["10-client-report"],
        params=params,
        out=tmp_path / "r",
        progress=False,
    )
    text = _visible_text(tmp_path / "r" / "loans" / "10-client-report.ipynb")
    plan = plan_outcomes(j, target="approved")
    assert plan["competing_names"] == ["declined", "cancelled"]
    for name in ("approved", "declined", "cancelled"):
        assert re.search(rf"\bare {name}\b", text), name  # key numbers
        assert name in text.split("Method")[-1], name  # the method names them too
    # the standard names never replace the data's (the provenance lists raw import counts)
    assert not re.search(r"\b(won|lost|disqualified)\b", text.split("## Provenance")[0])
    names = report.plan_names(plan)
    cif = sv.cumulative_incidence(
        time_to_event(j, plan["start"], plan["target"], plan["competing"])
    )
    labels = {k: v for k, v in names["event_labels"].items() if k}
    ax = qp.plot_cumulative_incidence(cif, event_labels=labels, start_label=names["first"])
    legend = [x.get_text() for x in ax.get_legend().get_texts()]
    assert {"approved", "declined", "cancelled"} <= set(legend), legend
