"""Tests of the report runner (qualmodel.report, qualmodel report) on tiny throwaway notebooks.

The real templates in notebooks/ are exercised in tests/test_notebooks.py.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from conftest import parse_html
from qualmodel import report
from qualmodel.cli import main
from qualmodel.core.errors import ConfigError, QualmodelError
from qualmodel.report import runner

ROOT = Path(__file__).resolve().parents[1]

PARAMS = """from typing import Optional

scenario: str = "startup_saas"  # scenario name
n_leads: int = 10  # leads
seed: int = 1  # seed
rate: float = 0.25  # a share
fail: bool = False  # raise on purpose
names: list = ["a", "b"]  # some names
journeys_dir: Optional[str] = None  # journeys folder
figures_dir: Optional[str] = None  # figures folder
"""

BODY = """import matplotlib.pyplot as plt
from qualmodel import report
assert not fail, "failing on purpose"
fig, ax = plt.subplots()
ax.plot([0, 1], [0, rate], label="rate")
ax.set_title("tiny"); ax.set_xlabel("x (days)"); ax.set_ylabel("share"); ax.legend()
report.save_figure(fig, "{stem}-line", figures_dir)
report.record_metrics(
    {{"rate": report.metric(rate, rate / 2, min(1.0, rate * 2), unit="share", label="Rate"),
      "n": n_leads, "where": str(journeys_dir is not None)}},
    headline=["rate", "n"],
)
print(scenario, n_leads, seed, names)
"""


def _write_nb(path: Path, params: str, body: str, meta: dict | None = None) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell(f"# {path.stem}"),
        nbformat.v4.new_code_cell(params, metadata={"tags": ["parameters", "keep"]}),
        nbformat.v4.new_code_cell(body),
    ]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.metadata["language_info"] = {"name": "python"}
    if meta:
        nb.metadata["qualmodel"] = meta
    nbformat.write(nb, path)


@pytest.fixture
def tiny_notebooks(tmp_path: Path) -> Path:
    folder = tmp_path / "nbs"
    folder.mkdir()
    _write_nb(folder / "01-first.ipynb", PARAMS, BODY.format(stem="01"))
    _write_nb(folder / "10-client.ipynb", PARAMS, BODY.format(stem="10"), meta={"hide_code": True})
    cross_params = PARAMS.replace(
        'scenario: str = "startup_saas"  # scenario name',
        ('scenarios: list = ["startup_saas"]  # scenario names'),
    ).replace("scenario, n_leads", "scenarios, n_leads")
    _write_nb(
        folder / "20-cross.ipynb",
        cross_params,
        BODY.format(stem="20").replace("print(scenario,", "print(scenarios,"),
    )
    (folder / "not-a-template.ipynb").write_text("{}")
    return folder


def tree_bytes(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.relative_to(root).parts[0] == report.FAILED_DIR
    }


# ------------------------------------------------------------------ parameters


@pytest.mark.parametrize(
    ("raw", "type_name", "expected"),
    [
        ("20000", "int", 20000),
        ("20_000", "int", 20000),
        ("0.5", "float", 0.5),
        ("3", "float", 3.0),
        ("yes", "bool", True),
        ("False", "bool", False),
        ("hello world", "str", "hello world"),
        ("None", "Optional[str]", None),
        ("/tmp/x", "Optional[str]", "/tmp/x"),
        ("a,b", "list", ["a", "b"]),
        ("[1, 2]", "list[int]", [1, 2]),
        ("1,2", "list[int]", [1, 2]),
        ("null", "None", None),
        ("7", "None", 7),
        ("12", "Optional[int]", 12),
    ],
)
def test_coerce_parameter(raw, type_name, expected):
    value = report.coerce_parameter("p", raw, type_name)
    assert value == expected
    assert type(value) is type(expected)


@pytest.mark.parametrize(
    ("raw", "type_name"),
    [("1.5", "int"), ("many", "int"), ("maybe", "bool"), ("x", "float"), ("None", "int")],
)
def test_coerce_parameter_rejects_wrong_type(raw, type_name):
    with pytest.raises(ConfigError, match=rf"--param p={re.escape(repr(raw))}: expected"):
        report.coerce_parameter("p", raw, type_name)


def test_parse_param_assignments():
    assert report.parse_param_assignments(["a=1", "b = x=y "]) == {"a": "1", "b": "x=y"}
    with pytest.raises(ConfigError, match="expected key=value"):
        report.parse_param_assignments(["n_leads"])
    with pytest.raises(ConfigError, match="expected key=value"):
        report.parse_param_assignments(["1x=3"])


def test_inspect_and_check_parameters(tiny_notebooks):
    templates = report.discover_templates(tiny_notebooks)
    assert [t.name for t in templates] == ["01-first", "10-client", "20-cross"]
    assert [t.kind for t in templates] == ["scenario", "scenario", "cross"]
    assert [t.hide_code for t in templates] == [False, True, False]
    first = templates[0].parameters
    assert first["n_leads"]["inferred_type_name"] == "int"
    assert first["journeys_dir"]["inferred_type_name"] == "Optional[str]"
    typed = report.check_parameters(templates, {"n_leads": "42", "rate": "0.5"})
    assert typed["01-first"] == {"n_leads": 42, "rate": 0.5}
    with pytest.raises(ConfigError, match="--param n_lead: no selected notebook declares"):
        report.check_parameters(templates, {"n_lead": "42"})
    with pytest.raises(ConfigError, match="set by the report runner; use --journeys"):
        report.check_parameters(templates, {"journeys_dir": "/x"})
    with pytest.raises(ConfigError, match="expected an integer"):
        report.check_parameters(templates, {"n_leads": "lots"})


def test_select_templates(tiny_notebooks):
    templates = report.discover_templates(tiny_notebooks)
    assert [t.name for t in report.select_templates(templates, ["10"])] == ["10-client"]
    assert [t.name for t in report.select_templates(templates, ["first", "20-cross.ipynb"])] == [
        "01-first",
        "20-cross",
    ]
    with pytest.raises(ConfigError, match="no such notebook; choose from 01-first"):
        report.select_templates(templates, ["99"])


def test_find_notebooks_dir(tmp_path, tiny_notebooks, monkeypatch):
    assert report.find_notebooks_dir(tiny_notebooks) == tiny_notebooks.resolve()
    with pytest.raises(ConfigError, match="no notebook templates"):
        report.find_notebooks_dir(tmp_path)
    monkeypatch.setenv("QUALMODEL_NOTEBOOKS", str(tiny_notebooks))
    assert report.find_notebooks_dir() == tiny_notebooks.resolve()
    monkeypatch.delenv("QUALMODEL_NOTEBOOKS")
    assert report.find_notebooks_dir() == (ROOT / "src" / "qualmodel" / "report" / "notebooks")


def test_typo_fails_before_any_kernel(tiny_notebooks, tmp_path, monkeypatch, capsys):
    def boom(*args, **kwargs):
        raise AssertionError("a kernel was started")

    monkeypatch.setattr(runner.KernelPool, "run", boom)
    out = tmp_path / "out"
    start = time.perf_counter()
    with pytest.raises(SystemExit) as exc:
        main(
            [
                "report",
                "--notebooks-dir",
                str(tiny_notebooks),
                "--param",
                "n_lead=5",
                "--out",
                str(out),
            ]
        )
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: --param n_lead: no selected notebook declares this parameter")
    assert "\n" not in err
    assert not out.exists()
    with pytest.raises(SystemExit):
        main(["report", "--notebooks-dir", str(tiny_notebooks), "-p", "n_leads=1.5"])
    assert "expected an integer" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["report", "--notebooks-dir", str(tiny_notebooks), "--scenario", "nope"])
    assert "unknown scenario 'nope'" in capsys.readouterr().err
    assert time.perf_counter() - start < 20


# ------------------------------------------------------------------ metrics helpers


def test_metric_and_record_metrics_payload(capsys):
    import numpy as np

    rec = report.metric(np.float64(0.2), np.float64(0.1), float("nan"), unit="share")
    assert rec == {"value": 0.2, "lower": 0.1, "upper": None, "unit": "share", "label": ""}
    assert type(rec["value"]) is float
    payload = report.metrics_payload({"a": 1, "b": rec, "c": "x"}, headline=["b"])
    assert payload["headline"] == ["b"]
    assert payload["metrics"]["a"]["value"] == 1
    with pytest.raises(ConfigError, match="not metrics"):
        report.record_metrics({"a": 1}, headline=["z"])
    assert report.record_metrics({"a": 1}) is None
    assert "qualmodel metrics recorded: a" in capsys.readouterr().out  # text/plain shown
    assert report.format_metric(report.metric(0.234, 0.2, 0.25, unit="share")) == (
        "23.4% [20.0%, 25.0%]"
    )
    assert report.format_metric(report.metric(12.34, unit="days")) == "12.3 d"
    assert report.format_metric(report.metric(20000)) == "20,000"
    assert report.format_metric(None) == "–"


def test_clean_outputs_moves_metrics_and_drops_kernel_chatter():
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell("x = 1", metadata={"tags": ["parameters", "hide"]})
    injected = nbformat.v4.new_code_cell("x = 2", metadata={"tags": ["injected-parameters"]})
    body = nbformat.v4.new_code_cell("...")
    body.outputs = [
        nbformat.v4.new_output(
            "display_data",
            data={report.METRICS_MIMETYPE: {"metrics": {"m": {}}, "headline": ["m"]}},
        ),
        nbformat.v4.new_output(
            "stream",
            name="stderr",
            text="[IPKernelApp] WARNING | Kernel is running over TCP without encryption. ...",
        ),
        nbformat.v4.new_output("stream", name="stderr", text="UserWarning: careful\n"),
        nbformat.v4.new_output("stream", name="stdout", text="fine\n"),
    ]
    body.execution_count = 3
    nb.cells = [params, injected, body]
    metrics, headline, problems = report.clean_outputs(nb)
    assert metrics == {"m": {}} and headline == ["m"]
    assert problems == ["cell [3] stderr: UserWarning: careful"]
    assert [o.get("text") for o in body.outputs] == ["UserWarning: careful\n", "fine\n"]
    assert injected.metadata["tags"] == ["injected-parameters", "hide"]
    assert nb.metadata["qualmodel"]["metrics"] == {"m": {}}


def test_clean_outputs_drops_progress_bars_and_keeps_warnings():
    nb = nbformat.v4.new_notebook()
    body = nbformat.v4.new_code_cell("...")
    bar = "power:   0%|          | 0/120 [00:00<?, ?it/s]\rpower: 100%|##########| 120/120 [00:12]"
    body.outputs = [
        nbformat.v4.new_output("stream", name="stderr", text=bar + "\n"),
        nbformat.v4.new_output("stream", name="stderr", text="RuntimeWarning: x\n" + bar),
    ]
    body.execution_count = 4
    nb.cells = [body]
    _, _, problems = report.clean_outputs(nb)
    assert [o.get("text") for o in body.outputs] == ["RuntimeWarning: x\n"]
    assert problems == ["cell [4] stderr: RuntimeWarning: x"]


# ------------------------------------------------------------------ full runs (tiny notebooks)


def test_run_reports_layout_index_and_html(tiny_notebooks, tmp_path):
    out = tmp_path / "reports"
    summary = report.run_reports(
        ["startup_saas", "consultancy"],
        params={"rate": "0.4"},
        jobs=2,
        out=out,
        notebooks_dir=tiny_notebooks,
        progress=False,
    )
    assert sorted(p.name for p in out.iterdir()) == [
        ".qualmodel-output.json",  # the marker: a reports folder written by qualmodel
        "consultancy",
        "cross-scenario",
        "index.html",
        "startup_saas",
    ]
    assert len(summary.results) == 5
    for target in ("startup_saas", "consultancy"):
        folder = out / target
        assert sorted(p.name for p in folder.iterdir()) == [
            "01-first.html",
            "01-first.ipynb",
            "10-client.html",
            "10-client.ipynb",
            "figures",
            "summary.json",
        ]
        assert sorted(p.name for p in (folder / "figures").iterdir()) == [
            "01-line.png",
            "10-line.png",
        ]
        summ = json.loads((folder / "summary.json").read_text())
        assert summ["scenario"] == target
        assert summ["headline"] == ["rate", "n"]
        assert summ["metrics"]["rate"]["value"] == 0.4
        assert summ["metrics"]["n"]["value"] == report.REPORT_DEFAULTS["n_leads"]
        nb = nbformat.read(folder / "01-first.ipynb", as_version=4)
        assert nb.metadata["qualmodel"]["metrics"]["rate"]["value"] == 0.4
        outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
        assert not any(report.METRICS_MIMETYPE in o.get("data", {}) for o in outputs)
        injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
        assert injected[0].metadata["tags"] == ["injected-parameters", "keep"]
        assert f'scenario = "{target}"' in injected[0].source
        stdout = "".join(o.get("text", "") for o in outputs if o.get("name") == "stdout")
        assert stdout.startswith(f"{target} 20000 2026 ['a', 'b']")
    cross = out / "cross-scenario"
    assert json.loads((cross / "summary.json").read_text())["kind"] == "cross"
    nb = nbformat.read(cross / "20-cross.ipynb", as_version=4)
    injected = next(c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", []))
    assert 'scenarios = ["startup_saas", "consultancy"]' in injected.source

    # HTML: no error / stderr outputs, figures embedded, client report without code
    for html_path in out.rglob("*.html"):
        text = html_path.read_text(encoding="utf-8")
        if html_path.name == "index.html":
            continue
        assert "jp-RenderedText" in text
        assert 'data-mime-type="application/vnd.jupyter.stderr"' not in text
        assert "Traceback" not in text
        imgs = parse_html(html_path).imgs
        assert imgs and all(src.startswith("data:image/png;base64,") for src in imgs)
    client = (out / "startup_saas" / "10-client.html").read_text(encoding="utf-8")
    first = (out / "startup_saas" / "01-first.html").read_text(encoding="utf-8")
    assert "save_figure" not in client and "save_figure" in first

    # index: every link resolves, metrics table has both scenarios
    index = out / "index.html"
    links = parse_html(index).links
    assert len(links) >= 2 * 5 + 2
    for href in links:
        assert not href.startswith(("/", "http")), href
        assert (out / href).exists(), href
    text = index.read_text(encoding="utf-8")
    assert text.count("40.0% [20.0%, 80.0%]") == 2
    assert "startup_saas/10-client.html" in text


@pytest.mark.slow
def test_failing_notebook_keeps_previous_reports(tiny_notebooks, tmp_path):
    out = tmp_path / "reports"
    report.run_reports(
        ["startup_saas"],
        notebooks=["01"],
        jobs=1,
        out=out,
        notebooks_dir=tiny_notebooks,
        progress=False,
    )
    before = tree_bytes(out)
    assert "index.html" in before and "startup_saas/01-first.html" in before
    with pytest.raises(report.ReportError) as exc:
        report.run_reports(
            ["startup_saas"],
            params={"fail": "true", "rate": "0.9"},
            jobs=2,
            out=out,
            notebooks_dir=tiny_notebooks,
            progress=False,
        )
    msg = str(exc.value)
    assert re.search(
        r"notebook (01-first|10-client) \(startup_saas\) failed: cell \[\d+\] raised", msg
    )
    assert "AssertionError: failing on purpose" in msg and "\n" not in msg
    assert tree_bytes(out) == before
    failed = out / report.FAILED_DIR / "startup_saas"
    kept = sorted(p.name for p in failed.glob("*.ipynb"))
    assert kept and set(kept) <= {"01-first.ipynb", "10-client.ipynb"}
    nb = nbformat.read(failed / kept[0], as_version=4)
    assert any(o.get("output_type") == "error" for c in nb.cells for o in c.get("outputs", []))
    assert [p.name for p in out.iterdir() if p.name.startswith(".")] == [".qualmodel-output.json"]

    # a later successful run replaces the reports and clears _failed
    report.run_reports(
        ["startup_saas"],
        notebooks=["01"],
        params={"rate": "0.1"},
        jobs=1,
        out=out,
        notebooks_dir=tiny_notebooks,
        progress=False,
    )
    assert not (out / report.FAILED_DIR).exists()
    summ = json.loads((out / "startup_saas" / "summary.json").read_text())
    assert summ["metrics"]["rate"]["value"] == 0.1


def test_journeys_mode(tiny_notebooks, tmp_path, journeys_factory):
    journeys = journeys_factory(
        [
            {
                "lead_id": "L1",
                "created_at": "2025-01-01",
                "sal_at": "2025-01-02",
                "observed_until": "2025-03-01",
            }
        ],
        meta={"source": "crm_export"},
    )
    folder = tmp_path / "acme_crm"
    journeys.write(folder)
    out = tmp_path / "reports"
    summary = report.run_reports(
        None, journeys=folder, jobs=2, out=out, notebooks_dir=tiny_notebooks, progress=False
    )
    assert {r.job.target for r in summary.results} == {"acme_crm"}
    assert {r.job.template.name for r in summary.results} == {"01-first", "10-client"}
    summ = json.loads((out / "acme_crm" / "summary.json").read_text())
    assert summ["kind"] == "journeys"
    assert summ["metrics"]["where"]["value"] == "True"
    assert summ["notebooks"]["01-first"]["parameters"]["journeys_dir"] == str(folder.resolve())
    # a folder was read: the runner's simulation defaults are not injected or reported
    assert "n_leads" not in summ["notebooks"]["01-first"]["parameters"]
    assert summ["metrics"]["n"]["value"] == 10  # the notebook's own literal, unused
    assert "n_leads" not in (out / "index.html").read_text(encoding="utf-8")
    with pytest.raises(QualmodelError):
        report.run_reports(None, journeys=tmp_path / "missing", notebooks_dir=tiny_notebooks)


def test_unreadable_parameter_lines_are_refused(tmp_path):
    folder = tmp_path / "nbs"
    folder.mkdir()
    _write_nb(folder / "01-bad.ipynb", "n: int = 1  # ok\nx: str | None = None  # a path\n", "")
    with pytest.raises(ConfigError, match=r"01-bad.ipynb: parameter\(s\) x of the 'parameters'"):
        report.discover_templates(folder)
    _write_nb(folder / "01-bad.ipynb", "n: int = 1  # default = one\n", "")
    with pytest.raises(ConfigError, match=r"parameter\(s\) n .*no '=' inside the comment"):
        report.discover_templates(folder)


def test_journeys_mode_leaves_out_teaching_and_criteria_only_notebooks(
    tiny_notebooks, tmp_path, journeys_factory
):
    _write_nb(
        tiny_notebooks / "00-primer.ipynb",
        PARAMS,
        BODY.format(stem="00"),
        meta={"simulation_only": True},
    )
    _write_nb(
        tiny_notebooks / "03-criteria.ipynb",
        PARAMS,
        BODY.format(stem="03"),
        meta={"needs_criteria": True},
    )
    folder = journeys_factory(
        [{"lead_id": "L1", "created_at": "2025-01-01", "observed_until": "2025-03-01"}],
        meta={"source": "crm_export"},
    ).write(tmp_path / "crm")
    templates = {t.name: t for t in report.discover_templates(tiny_notebooks)}
    assert templates["00-primer"].simulation_only and not templates["00-primer"].needs_criteria
    assert templates["03-criteria"].needs_criteria
    summary = report.run_reports(
        None, journeys=folder, jobs=2, out=tmp_path / "r", notebooks_dir=tiny_notebooks,
        progress=False,
    )  # fmt: skip
    assert sorted(r.job.template.name for r in summary.results) == ["01-first", "10-client"]
    # naming a notebook runs it even when it is left out by default
    summary = report.run_reports(
        None, journeys=folder, notebooks=["03"], jobs=1, out=tmp_path / "r",
        notebooks_dir=tiny_notebooks, progress=False,
    )  # fmt: skip
    assert [r.job.template.name for r in summary.results] == ["03-criteria"]


def _stage_journeys(journeys_factory, with_sqo: bool, with_sal: bool = True):
    lead = {"lead_id": "L1", "created_at": "2025-01-01", "observed_until": "2025-06-01"}
    other = dict(lead, lead_id="L2")
    if with_sal:
        lead["sal_at"] = other["sal_at"] = "2025-01-05"
    if with_sqo:
        lead["sqo_at"] = "2025-01-20"
        other["disqualified_at"] = "2025-01-10"
    elif with_sal:
        lead["won_at"] = "2025-02-01"
        other["lost_at"] = "2025-02-02"
    return journeys_factory([lead, other])


def test_outcome_plan_prefers_sqo_and_falls_back_to_won(journeys_factory):
    plan = report.outcome_plan(_stage_journeys(journeys_factory, with_sqo=True))
    assert (plan["target"], plan["competing"], plan["key"], plan["competing_key"]) == (
        "sqo_at",
        ["disqualified_at"],
        "sqo",
        "dq",
    )
    won = _stage_journeys(journeys_factory, with_sqo=False)
    plan = report.outcome_plan(won)
    assert (plan["target"], plan["competing"], plan["name"], plan["competing_name"]) == (
        "won_at",
        ["lost_at"],
        "won",
        "lost",
    )
    with pytest.raises(ConfigError, match="target 'sqo_at': no such stage"):
        report.outcome_plan(won, "sqo_at")
    with pytest.raises(ConfigError, match="target 'sal_at' is the start stage"):
        report.outcome_plan(won, "sal")
    with pytest.raises(ConfigError, match="no lead reached sqo_at or won_at"):
        report.outcome_plan(_stage_journeys(journeys_factory, with_sqo=False, with_sal=False))


def test_criteria_for_builtin_only_for_simulations(tmp_path, journeys_factory):
    import qualmodel as qm

    sim = qm.simulate("consultancy", n_leads=300, seed=3)
    names = [c.name for c in report.criteria_for(sim)]
    assert names == [c.name for c in qm.load_criteria("consultancy")]
    crm = _stage_journeys(journeys_factory, with_sqo=False)
    assert report.criteria_for(crm) == []
    path = tmp_path / "c.yaml"
    path.write_text(
        "criteria:\n  - name: has_authority\n    bant: {require: [authority]}\n", encoding="utf-8"
    )
    assert [c.name for c in report.criteria_for(crm, path)] == ["has_authority"]
    path.write_text(
        "criteria:\n  - name: demo\n    events: {all: [demo_completed]}\n", encoding="utf-8"
    )
    with pytest.raises(ConfigError, match="demo_completed"):
        report.criteria_for(crm, path)


def test_swap_in_failure_restores_previous_reports(tmp_path, monkeypatch):
    out = tmp_path / "out"
    (out / "startup_saas").mkdir(parents=True)
    (out / "startup_saas" / "summary.json").write_text("old")
    stage = tmp_path / "out" / ".staging-x"
    (stage / "startup_saas").mkdir(parents=True)
    (stage / "startup_saas" / "summary.json").write_text("new")
    real = runner.os.replace

    def flaky(src, dst):
        if Path(src).parent == stage:  # moving the new folder into place fails
            raise PermissionError(13, "simulated", str(src))
        return real(src, dst)

    monkeypatch.setattr(runner.os, "replace", flaky)
    with pytest.raises(report.ReportError, match="previous reports left unchanged"):
        runner._swap_in(stage, out, ["startup_saas"])
    assert (out / "startup_saas" / "summary.json").read_text() == "old"
    assert (stage / "startup_saas" / "summary.json").read_text() == "new"


def test_interrupt_cancels_queued_notebooks(tmp_path, monkeypatch):
    import signal

    # Ctrl-C raises KeyboardInterrupt, as in a terminal: pytest-xdist starts its workers
    # with SIGINT ignored, and only an earlier in-process papermill run changed that
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    ran = []

    def fake_job(job, progress, slots, kernels):
        ran.append(job.label)
        if len(ran) == 2:  # Ctrl-C while the second notebook runs (no race with planning)
            signal.raise_signal(signal.SIGINT)
        time.sleep(0.2)
        return runner.Result(job, True, 0.2, job.out_dir / "x.ipynb")

    monkeypatch.setattr(runner, "simulate_to", lambda *a, **k: 0.0)
    monkeypatch.setattr(runner, "_run_job", fake_job)
    try:
        with pytest.raises(KeyboardInterrupt):
            report.run_reports("all", jobs=1, out=tmp_path / "r", progress=False)
    finally:
        signal.signal(signal.SIGINT, previous)
    time.sleep(0.5)  # let the job that was running finish
    assert 2 <= len(ran) <= 3  # queued notebooks were cancelled, not run
    assert not list((tmp_path / "r").glob(".staging-*"))


def test_describe_data_counts(journeys_factory):
    j = _stage_journeys(journeys_factory, with_sqo=True)
    assert report.describe_data(j, ["segment"]) == (
        "**Data:** test — 2 leads, 0 events, 2 SALs; lead groups: segment."
    )
    german = report.describe_data(j, ["segment", "nurtured"], lang="de")
    assert german.endswith("Lead-Gruppen: Segment, Nurturing.")  # column names as labels


# ------------------------------------------------------------------ provenance, index


def test_provenance_lists_what_was_used(journeys_factory, tmp_path):
    j = journeys_factory(
        [{"lead_id": "L1", "created_at": "2025-01-01", "observed_until": "2025-03-01"}],
        meta={"source": "crm_export"},
    )
    simulated = report.provenance(
        j, scenario="startup_saas", n_leads=20000, seed=1, journeys_dir=None
    )
    assert simulated.index.name == "item" and list(simulated.columns) == ["value"]
    assert simulated.loc["parameter n_leads", "value"] == "20000"
    folder = report.provenance(
        j, scenario="startup_saas", n_leads=20000, seed=1, journeys_dir=str(tmp_path)
    )
    assert "parameter scenario" not in folder.index and "parameter n_leads" not in folder.index
    assert folder.loc["parameter journeys_dir", "value"] == tmp_path.name  # no absolute path
    assert folder.loc["journeys source", "value"] == "crm_export"
    staged = report.provenance(j, journeys_dir=str(tmp_path / ".staging-abc" / ".run" / "x"))
    assert ".staging-" not in staged.loc["parameter journeys_dir", "value"]
    assert "temporary folder" in staged.loc["parameter journeys_dir", "value"]


def test_index_states_headline_definitions(tmp_path):
    median = report.median_metric(
        {"median": 16.0, "lower": 15.0, "upper": 18.0, "reached": 0.4, "horizon": 90.0},
        "won",
        "lost",
    )
    summary = {
        "name": "maven",
        "kind": "journeys",
        "journeys_dir": "/data/maven",
        "headline": ["median_days_to_won"],
        "metrics": {"median_days_to_won": median},
        "notebooks": {"10-client-report": {"html": "10.html", "ipynb": "10.ipynb",
                                           "parameters": {"seed": 1}}},
    }  # fmt: skip
    (tmp_path / "maven").mkdir()
    (tmp_path / "maven" / "summary.json").write_text(json.dumps(summary))
    text = report.write_index(tmp_path).read_text(encoding="utf-8")
    assert "SAL → SQO lead-qualification" not in text
    assert "16.0 d [15.0 d, 18.0 d]" in text
    assert "<dt>median days SAL → won (of SALs reaching won by day 90)</dt>" in text
    assert report.median_definition("won", "lost", 90) in text.replace("&#x27;", "'")
    assert "/data/maven" not in text and "journeys = maven" in text  # a name, not a path
    # only the client report ran (no headline): its metrics still fill the table; German
    summary["headline"] = []
    summary["notebooks"]["10-client-report"]["parameters"]["lang"] = "de"
    (tmp_path / "maven" / "summary.json").write_text(json.dumps(summary))
    text = report.write_index(tmp_path).read_text(encoding="utf-8")
    assert '<html lang="de">' in text and "Kennzahlen aller Berichte" in text
    assert "16,0" in text and "Key metrics" not in text and "Parameters:" not in text


# ------------------------------------------------------------------ progress


def test_progress_bar_options(monkeypatch):
    import io

    pipe = io.StringIO()  # not a terminal
    monkeypatch.setattr(sys, "stderr", pipe)
    assert runner.progress_bar_options("t/nb", 0, None) is False
    assert runner.progress_bar_options("t/nb", 0, False) is False
    forced = runner.progress_bar_options("t/nb", 1, True)
    assert forced["file"] is pipe and forced["desc"] == "t/nb" and forced["position"] == 1
    assert forced["ncols"] == 100  # no terminal size: a fixed width, never an empty bar
    from tqdm.auto import tqdm

    bar = tqdm(total=4, unit="cell", **forced)
    bar.update(2)
    bar.close()
    drawn = re.search(r"t/nb: +0%\|.*cell/s\]", pipe.getvalue())
    assert drawn and len(drawn.group(0)) > 90  # drawn at the fixed width


def _under_pty(cmd: list[str], cwd: Path) -> tuple[int, str]:
    """Run ``cmd`` with a pseudo-terminal as stdout and stderr: exit code and all it wrote."""
    import os
    import pty

    pid, fd = pty.fork()
    if pid == 0:  # child: stdout and stderr are the pseudo-terminal
        os.chdir(cwd)
        os.execv(sys.executable, cmd)
    chunks = []
    while True:
        try:
            data = os.read(fd, 4096)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), b"".join(chunks).decode("utf-8", "replace")


@pytest.mark.slow
def test_cli_subprocess_under_a_pseudo_terminal(tiny_notebooks, tmp_path):
    """The real ``qualmodel report`` process: a pty without a size (as under `script` or CI)
    still gets a drawn bar; the summary line, no kernel chatter, the page; a bad parameter
    exits 2 with one line. (Output to pipes: the wheel test.)"""
    out = tmp_path / "reports"
    cmd = [sys.executable, "-m", "qualmodel", "report", "--notebooks-dir", str(tiny_notebooks),
           "--scenario", "digital_agency", "--notebook", "10", "--param", "n_leads=200",
           "--param", "seed=7", "--jobs", "1", "--out", str(out)]  # fmt: skip
    code, text = _under_pty(cmd, tmp_path)
    assert code == 0, text
    assert re.search(r"digital_agency/10-client: +\d+%\|", text), text
    assert "ok  digital_agency/10-client" in text
    assert "1 notebook(s) rendered" in text
    assert "Kernel is running over TCP" not in text
    assert (out / "digital_agency" / "10-client.html").is_file()
    bad = subprocess.run(
        [*cmd, "--param", "seed=x"], capture_output=True, text=True, cwd=tmp_path, timeout=60
    )
    assert bad.returncode == 2
    assert bad.stderr.strip().splitlines() == [
        "error: --param seed='x': expected an integer (declared type int)"
    ]


# ------------------------------------------------------------------ kept journeys, modes


def _mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


@pytest.mark.slow
def test_keep_journeys_and_shareable_modes(tiny_notebooks, tmp_path):
    import os

    kept = tmp_path / "data" / "simulated"
    out = tmp_path / "reports"
    old = os.umask(0o022)
    try:
        for _ in range(2):  # the second run replaces the kept simulation
            report.run_reports(
                ["startup_saas"], notebooks=["01"], params={"n_leads": "300"}, jobs=1,
                out=out, notebooks_dir=tiny_notebooks, progress=False, keep_journeys=kept,
            )  # fmt: skip
    finally:
        os.umask(old)
    from qualmodel import Journeys

    folder = kept / "startup_saas"
    j = Journeys.read(folder)
    assert j.n_leads == 300 and j.meta["seed"] == report.REPORT_DEFAULTS["seed"]
    summ = json.loads((out / "startup_saas" / "summary.json").read_text())
    assert summ["notebooks"]["01-first"]["parameters"]["journeys_dir"] == str(folder)
    nb = nbformat.read(out / "startup_saas" / "01-first.ipynb", as_version=4)
    injected = next(c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", []))
    assert "temporary" not in injected.source and str(folder) in injected.source
    assert sorted(p.name for p in kept.iterdir()) == ["startup_saas"]  # no temp leftovers
    paths = [out, *out.rglob("*"), kept, *kept.rglob("*")]
    assert len(paths) > 8
    for path in paths:  # umask 022: shareable from a web server or a drive
        assert _mode(path) == (0o755 if path.is_dir() else 0o644), path


def test_keep_journeys_refuses_a_folder_it_did_not_simulate(tiny_notebooks, tmp_path):
    foreign = tmp_path / "mine" / "startup_saas"
    foreign.mkdir(parents=True)
    (foreign / "notes.txt").write_text("keep me")
    out = tmp_path / "reports"
    with pytest.raises(ConfigError, match="is not a saved qualmodel simulation"):
        report.run_reports(
            ["startup_saas"], notebooks=["01"], out=out, notebooks_dir=tiny_notebooks,
            progress=False, keep_journeys=tmp_path / "mine",
        )  # fmt: skip
    assert (foreign / "notes.txt").read_text() == "keep me"
    # no staging folder left behind (only the marker of a qualmodel reports folder)
    assert [p.name for p in out.iterdir()] in ([], [".qualmodel-output.json"])


def test_target_parameter_accepts_stems_columns_and_the_datas_labels():
    import qualmodel as qm
    from qualmodel.report.plan import check_target

    j = qm.simulate("startup_saas", n_leads=300, seed=1)
    for name in ("won", "won_at", "SQO", "sqo"):
        check_target({"02-time-to-sqo": {"target": name}}, j)
        check_target({"02-time-to-sqo": {"target": name}})  # simulated scenarios
    labelled = qm.Journeys(j.leads, j.events, {**j.meta, "outcomes": {"approved": "won"}})
    check_target({"02-time-to-sqo": {"target": "approved"}}, labelled)
    with pytest.raises(ConfigError, match="--param target 'signed': no such stage"):
        check_target({"02-time-to-sqo": {"target": "signed"}}, j)
    with pytest.raises(ConfigError, match="no such stage; use one of"):
        check_target({"02-time-to-sqo": {"target": "signed"}})


def test_group_columns_follow_the_group_parameter():
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from shapes import make_shape

    from qualmodel import report as rp

    j = make_shape("no_sqo", n=120, seed=2)
    j.leads["origin"] = ["ads", "web", "web"] * 40
    assert rp.group_columns(j) == ["segment", "origin"]  # default: 2-12 levels
    assert rp.group_columns(j, "origin") == ["origin"]
    assert rp.group_columns(j, "origin, segment") == ["origin", "segment"]
    assert rp.group_columns(j, "none") == []
    assert rp.group_columns(j, "source") == []  # one level among the starters: nothing to compare
    with pytest.raises(ConfigError, match="group 'sal_at': not a lead attribute; use one of"):
        rp.group_columns(j, "sal_at")


def test_fresh_kernels_option_reaches_the_runner(tiny_notebooks, tmp_path, monkeypatch):
    seen = {}

    def fake_run_reports(*args, **kwargs):
        seen.update(kwargs)
        raise SystemExit(0)

    monkeypatch.setattr(report, "run_reports", fake_run_reports)
    for flag, reuse in (([], True), (["--fresh-kernels"], False)):
        with pytest.raises(SystemExit):
            main(["report", "--notebooks-dir", str(tiny_notebooks), "--out", str(tmp_path), *flag])
        assert seen.pop("reuse_kernels") is reuse


def test_kept_kernels_serve_the_next_report_run(tiny_notebooks, tmp_path, monkeypatch):
    from qualmodel.report import kernels

    monkeypatch.setattr(kernels, "_SESSION", [])
    monkeypatch.setenv(kernels.KEEP_KERNELS_ENV, "1")
    kw = dict(notebooks=["01"], jobs=1, notebooks_dir=tiny_notebooks, progress=False)
    report.run_reports("startup_saas", out=tmp_path / "a", **kw)
    (pool,) = kernels._SESSION
    (kernel,) = pool._all  # one kernel, kept alive after the run
    assert kernel.km.has_kernel and pool._idle == [kernel]
    summary = report.run_reports("consultancy", out=tmp_path / "b", **kw)
    assert all(r.ok for r in summary.results)
    assert pool._all == [kernel] and pool._idle == [kernel]  # the second run used it too
    pool.close()
    assert not kernel.km.has_kernel
