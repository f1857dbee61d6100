"""The real notebook templates in notebooks/: structure, a full tiny report run, papermill CLI.

The full run executes every template for the three built-in scenarios (18 runs) plus the
cross-scenario notebook with tiny parameters (1,500 leads, 50 bootstrap resamples) through
:func:`qualmodel.report.run_reports`; every template is also run under the plain
``papermill`` CLI with ``-p`` overrides from an unrelated working folder.
"""

from __future__ import annotations

import ast
import html
import json
import logging
import math
import os
import re
import shlex
import signal
import traceback
from pathlib import Path

import nbformat
import pytest
from report_scan import scan_reports

from conftest import parse_html
from qualmodel import report
from qualmodel.report.templates import PROGRESS_LINE

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "src" / "qualmodel" / "report" / "notebooks"
TEMPLATES = sorted(NOTEBOOKS.glob("[0-9][0-9]-*.ipynb"))
EXPECTED = [
    "00-sal-vs-sqo-primer",
    "01-journeys",
    "02-time-to-sqo",
    "03-compare-criteria",
    "04-power-analysis",
    "10-client-report",
    "20-cross-scenario",
]
TINY = {"n_leads": "1500", "n_boot": "50", "n_replicates": "20"}


def test_templates_present_and_clean():
    assert [p.stem for p in TEMPLATES] == EXPECTED
    for path in TEMPLATES:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert all(not c.outputs and c.execution_count is None for c in code), path.name
        tagged = [c for c in code if "parameters" in c.metadata.get("tags", [])]
        assert len(tagged) == 1, path.name
        declared = report.inspect_parameters(path)
        for name in ("n_leads", "seed", "figures_dir"):
            assert name in declared, (path.name, name)
        assert all(p["help"] for p in declared.values()), path.name
        assert all(p["inferred_type_name"] != "None" for p in declared.values()), path.name
        for cell in code:  # thin: no function or class definitions
            tree = ast.parse(cell.source)
            kinds = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
            defs = [n for n in ast.walk(tree) if isinstance(n, kinds)]
            assert not defs, (path.name, cell.source[:60])
        assert "provenance" in code[-1].source, path.name
        assert re.search(r"^(import|from) qualmodel\b", "\n".join(c.source for c in code), re.M)
    client = nbformat.read(NOTEBOOKS / "10-client-report.ipynb", as_version=4)
    assert client.metadata["qualmodel"]["hide_code"] is True


def test_report_defaults_give_decision_quality_power():
    """qualmodel report: ≥ 500 replicates (Wilson 95% half-width ≤ 0.05), no progress bars."""
    from statsmodels.stats.proportion import proportion_confint

    reps = report.REPORT_DEFAULTS["n_replicates"]
    lo, hi = proportion_confint(reps // 2, reps, alpha=0.05, method="wilson")
    assert reps >= 500 and (hi - lo) / 2 <= 0.05
    assert report.REPORT_DEFAULTS["show_progress"] is False
    declared = report.inspect_parameters(NOTEBOOKS / "04-power-analysis.ipynb")
    assert {"n_replicates", "show_progress"} <= set(declared)


@pytest.mark.slow
def test_full_tiny_report_run(tmp_path):
    """One run of all 19 executions (one test, so pytest-xdist never repeats the run)."""
    out = tmp_path / "reports"
    summary = report.run_reports("all", params=TINY, jobs=2, out=out, progress=False)
    rendered = (out, summary)
    check_run_succeeds_without_warnings(rendered)
    check_recorded_metrics_are_sane(rendered)
    check_html_has_no_errors_or_warnings_and_images_resolve(rendered)
    check_executed_notebooks_have_no_error_or_stderr_outputs(rendered)
    check_index_links_resolve(rendered)
    check_visible_output_is_clean(rendered)


def check_visible_output_is_clean(rendered):
    """No "nan", negative zero, "e-0", progress bar, absolute path or count ending ".0".

    Every notebook's outputs (code is not scanned) and the index; each finding names the
    notebook and the snippet.
    """
    out, _ = rendered
    assert len(list(out.glob("*/*.ipynb"))) == 3 * 6 + 1
    assert scan_reports(out) == []


def _all_metrics(out: Path):
    for path in out.glob("*/summary.json"):
        summ = json.loads(path.read_text())
        for nb_name, info in summ["notebooks"].items():
            for key, rec in info["metrics"].items():
                yield summ["name"], nb_name, key, rec


def check_run_succeeds_without_warnings(rendered):
    out, summary = rendered
    assert len(summary.results) == 3 * 6 + 1
    assert all(r.ok for r in summary.results)
    assert [(r.job.label, r.warnings) for r in summary.results if r.warnings] == []
    targets = sorted(p.name for p in out.iterdir() if p.is_dir())
    assert targets == ["consultancy", "cross-scenario", "digital_agency", "startup_saas"]
    for target in ("startup_saas", "consultancy", "digital_agency"):
        names = sorted(p.stem for p in (out / target).glob("*.html"))
        assert names == EXPECTED[:-1]
        assert len(list((out / target / "figures").glob("*.png"))) >= 15
        summ = json.loads((out / target / "summary.json").read_text())
        assert summ["notebooks"]["03-compare-criteria"]["parameters"]["n_leads"] == 1500


def check_recorded_metrics_are_sane(rendered):
    out, _ = rendered
    seen = set()
    for target, nb_name, key, rec in _all_metrics(out):
        seen.add((nb_name, key))
        value, lo, hi = rec["value"], rec["lower"], rec["upper"]
        if rec["unit"] == "share":
            assert 0.0 <= value <= 1.0, (target, nb_name, key, value)
            for bound in (lo, hi):
                assert bound is None or -1e-12 <= bound <= 1 + 1e-12, (target, key, rec)
        if lo is not None and hi is not None:
            assert lo - 1e-9 <= value <= hi + 1e-9, (target, nb_name, key, rec)
        if rec["unit"] == "leads":
            assert isinstance(value, int) and value > 0
        if isinstance(value, float):
            assert math.isfinite(value)
    for nb_name, key in [
        ("00-sal-vs-sqo-primer", "sqo_by_horizon"),
        ("01-journeys", "n_sal"),
        ("02-time-to-sqo", "median_days_to_sqo"),
        ("03-compare-criteria", "best_compared_precision"),
        ("04-power-analysis", "power_mde"),
        ("10-client-report", "recommended_criterion"),
        ("20-cross-scenario", "sqo_by_horizon.consultancy"),
    ]:
        assert (nb_name, key) in seen
    for path in out.glob("*/summary.json"):
        summ = json.loads(path.read_text())
        m = summ["notebooks"].get("02-time-to-sqo", {}).get("metrics")
        if m:  # 1 - KM with competing events censored never falls below Aalen-Johansen
            assert m["naive_sqo_by_horizon"]["value"] >= m["sqo_by_horizon"]["value"] - 1e-12
            assert m["sqo_by_horizon"]["value"] + m["dq_by_horizon"]["value"] <= 1 + 1e-12


def check_html_has_no_errors_or_warnings_and_images_resolve(rendered):
    out, _ = rendered
    pages = sorted(out.rglob("*.html"))
    assert len(pages) == 3 * 6 + 1 + 1
    for page in pages:
        text = page.read_text(encoding="utf-8")
        parsed = parse_html(page)
        for src in parsed.imgs:
            assert src.startswith("data:image/png;base64,") or (page.parent / src).is_file()
        if page.name == "index.html":
            continue
        assert len(parsed.imgs) >= 1, page
        # error and stderr outputs are both rendered with this attribute by the lab template
        assert 'data-mime-type="application/vnd.jupyter.stderr"' not in text, page
        for word in ("Traceback", "Warning", "Error:"):
            assert word not in text, (page, word)
        assert not PROGRESS_LINE.search(text), page  # no progress bar text
    client = (out / "startup_saas" / "10-client-report.html").read_text(encoding="utf-8")
    assert "record_metrics" not in client and "import qualmodel" not in client
    assert "Key numbers" in client
    analyst = (out / "startup_saas" / "03-compare-criteria.html").read_text(encoding="utf-8")
    assert "compare_criteria" in analyst
    assert "Recommended" in analyst or "Keep the current definition" in analyst


def check_executed_notebooks_have_no_error_or_stderr_outputs(rendered):
    out, _ = rendered
    for path in out.rglob("*.ipynb"):
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            for o in cell.get("outputs", []):
                assert o["output_type"] != "error", (path, cell.source[:80])
                assert not (o["output_type"] == "stream" and o["name"] == "stderr"), (
                    path,
                    o.get("text", "")[:200],
                )
        assert nb.metadata["qualmodel"]["metrics"], path


def check_index_links_resolve(rendered):
    out, _ = rendered
    index = out / "index.html"
    links = parse_html(index).links
    assert len(links) >= 3 * (2 * 5 + 2) + 3
    for href in links:
        assert not href.startswith(("/", "http:", "https:", "file:")), href
        assert (out / href).exists(), href
    text = index.read_text(encoding="utf-8")
    for target in ("startup_saas", "consultancy", "digital_agency"):
        assert f'href="{target}/10-client-report.html"' in text
    assert 'href="cross-scenario/20-cross-scenario.html"' in text
    assert "SALs → SQO by day 90 (competing risks)" in text


def _papermill(args, cwd, monkeypatch, capfd) -> tuple[int, str]:
    """Run the ``papermill`` command line from ``cwd``: (exit code, its stderr).

    The command of the ``papermill`` script (its argument parsing and engine, a fresh kernel
    per notebook), called in this process: a new interpreter would only add start-up time.
    """
    from papermill.cli import papermill as command

    monkeypatch.chdir(cwd)
    monkeypatch.setenv("PYDEVD_DISABLE_FILE_VALIDATION", "1")  # the command sets it
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level  # the command configures logging
    sigint = signal.getsignal(signal.SIGINT)  # nbclient resets it to Python's default
    capfd.readouterr()
    try:
        command.main(["--no-progress-bar", *map(str, args)], "papermill", standalone_mode=False)
        code = 0
    except SystemExit as exc:
        code = exc.code or 0
    except Exception:  # what the script would print before exiting 1
        traceback.print_exc()
        code = 1
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        signal.signal(signal.SIGINT, sigint)
    return code, capfd.readouterr().err


def _without_kernel_log(err: str) -> str:
    """``err`` without the kernel application's own log records (``[IPKernelApp] ...`` and
    the lines that follow each): a kernel shut down under load may log a zmq socket error
    of its own there, which is not the notebook's nor papermill's."""
    kept, in_kernel_record = [], False
    for line in err.splitlines():
        if line.startswith("["):
            in_kernel_record = line.startswith("[IPKernelApp")
        if not in_kernel_record:
            kept.append(line)
    return "\n".join(kept)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "overrides", "key", "evidence"),
    [
        (
            "00-sal-vs-sqo-primer",
            ["-p", "n_leads", "1500", "-p", "ripe_days", "10"],
            "sqo_by_horizon",
            "sales-ready within 10 days",
        ),
        (
            "01-journeys",
            ["-p", "scenario", "digital_agency", "-p", "n_leads", "1500"],
            "n_sal",
            "digital_agency",
        ),
        (
            "02-time-to-sqo",
            ["-p", "n_leads", "1500", "-p", "horizon_days", "60", "-p", "target", "sqo_at"],
            "sqo_by_horizon",
            "SQO by day 60",
        ),
        (
            "03-compare-criteria",
            ["-p", "scenario", "consultancy", "-p", "n_leads", "1500", "-p", "n_boot", "30"],
            "best_compared_precision",
            "consultancy",
        ),
        (
            "04-power-analysis",
            ["-p", "scenario", "consultancy", "-p", "n_leads", "3000", "-p", "n_replicates",
             "10", "-y", "sample_sizes: [100, 300]"],
            "power_mde",
            "| 20/20 [",  # the one progress line, final state: 2 sizes x 10 replicates
        ),
        (
            "10-client-report",
            ["-p", "scenario", "consultancy", "-p", "n_leads", "1500", "-p", "n_boot", "40"],
            "sqo_by_horizon",
            "consultancy",
        ),
        (
            "20-cross-scenario",
            ["-y", "scenarios: [startup_saas, digital_agency]", "-p", "n_leads", "1500",
             "-p", "n_boot", "40", "-p", "horizon_days", "60"],
            "sqo_by_horizon.startup_saas",
            "SQO by day 60",
        ),
    ],
)  # fmt: skip
def test_plain_papermill_cli(name, overrides, key, evidence, tmp_path, monkeypatch, capfd):
    work = tmp_path / "elsewhere"
    work.mkdir()
    figures = tmp_path / "figs"
    code, err = _papermill(
        [
            str(NOTEBOOKS / f"{name}.ipynb"),
            "out.ipynb",
            *overrides,
            "-p",
            "figures_dir",
            str(figures),
        ],
        work,
        monkeypatch,
        capfd,
    )
    assert code == 0, err[-2000:]
    nb = nbformat.read(work / "out.ipynb", as_version=4)
    payloads = [
        o["data"][report.METRICS_MIMETYPE]
        for c in nb.cells
        for o in c.get("outputs", [])
        if report.METRICS_MIMETYPE in o.get("data", {})
    ]
    metrics = {k: v for p in payloads for k, v in p["metrics"].items()}
    rec = metrics[key]
    if rec["unit"] == "share":
        assert 0 < rec["value"] < 1
    elif rec["unit"] == "leads":
        assert rec["value"] > 0
    # the -p / -y overrides reached the kernel: their effect shows in the outputs
    outputs = json.dumps([c.get("outputs", []) for c in nb.cells], ensure_ascii=False)
    assert evidence in outputs
    if name == "04-power-analysis":  # progress: one output updated in place, not a stream
        bars = [o for c in nb.cells for o in c.get("outputs", []) if "%|" in json.dumps(o)]
        assert len(bars) == 1 and bars[0]["output_type"] == "display_data", bars
        assert "3,000 leads per arm" in outputs
    if name == "20-cross-scenario":
        assert sorted(metrics) == [
            "sqo_by_horizon.digital_agency",
            "sqo_by_horizon.startup_saas",
        ]
    assert sorted(p.name for p in figures.glob("*.png"))


@pytest.mark.slow
@pytest.mark.realdata
def test_imported_crm_report(shared_data, tmp_path, monkeypatch, capsys):
    """The README's real-data example, run as written: an imported opportunity pipeline (no
    SQO stage) gets a SAL → won report.

    The rendered HTML carries no simulation parameter, no pointer to a notebook that was not
    rendered, and the same headline median (number and definition) as the index page.
    """
    from qualmodel.cli import main

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"A client report on a real CRM export.*?```bash\n(.*?)```", readme, re.S)
    assert block, "README lost its real-data example"
    project = tmp_path / "project"
    project.mkdir()
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "data").symlink_to(shared_data, target_is_directory=True)
    monkeypatch.chdir(project)
    old_umask = os.umask(0o022)
    try:
        for line in block.group(1).strip().splitlines():
            argv = shlex.split(line.split(" #", 1)[0])
            assert argv[0] == ".venv/bin/qualmodel", line
            try:
                main(argv[1:])
            except SystemExit as exc:
                assert exc.code in (0, None), line
    finally:
        os.umask(old_umask)
    out, folder = project / "reports", project / "data" / "imported" / "maven"
    assert sorted(p.stem for p in (out / "maven").glob("*.html")) == [
        "01-journeys",
        "02-time-to-sqo",
        "04-power-analysis",
        "10-client-report",
    ]
    assert "warning:" not in capsys.readouterr().err
    metrics = json.loads((out / "maven" / "summary.json").read_text())["metrics"]
    # how long must we test: answered for this funnel by a twin fitted on the fly
    weeks = metrics["power_weeks_needed"]["value"]
    assert 5 < weeks < 200, weeks
    power_nb = nbformat.read(out / "maven" / "04-power-analysis.ipynb", as_version=4)
    power_out = json.dumps([c.get("outputs", []) for c in power_nb.cells], ensure_ascii=False)
    assert "model-based" in power_out and "maven_crm_twin" in power_out
    assert "band.won" in power_out and "startup_saas" not in power_out
    won, lost = metrics["won_by_horizon"], metrics["lost_by_horizon"]
    assert 0 < won["lower"] <= won["value"] <= won["upper"] < 1
    assert won["value"] + lost["value"] < 1
    assert "SALs → won by day 90" in won["label"]
    client = (out / "maven" / "10-client-report.html").read_text(encoding="utf-8")
    index = (out / "index.html").read_text(encoding="utf-8")
    assert "No candidate qualification definitions were compared" in client
    assert "Traceback" not in client
    # no simulation leftovers and no pointer to a notebook that was not rendered
    for page, text in (("client", client), ("index", index)):
        for leftover in (
            "startup_saas",
            "n_leads",
            "20000",
            "20,000",
            ".staging-",
            "SAL → SQO",
            "03-compare-criteria",
            "Choosing the SQO definition",
        ):
            assert leftover not in text, (page, leftover)  # fmt: skip
    assert not (out / "maven" / "03-compare-criteria.html").exists()
    assert scan_reports(out) == []  # every notebook's output and the index read cleanly
    assert str(folder.resolve()) not in client  # provenance names files, not paths
    assert "imported with the mapping maven_crm" in client and "sales_pipeline.csv (" in client
    assert re.search(r"<th>\s*0\s*</th>", client) is None  # provenance without row numbers
    for name in ("01-journeys", "02-time-to-sqo"):  # the analyst notebooks' outputs too
        nb = nbformat.read(out / "maven" / f"{name}.ipynb", as_version=4)
        outputs = json.dumps([c.get("outputs", []) for c in nb.cells], ensure_ascii=False)
        assert "startup_saas" not in outputs and "n_leads" not in outputs, name
    # one headline median, same number and definition in the index and the client report
    median = metrics["median_days_to_won"]
    assert median["lower"] <= median["value"] <= median["upper"]
    assert f"half did so within <strong>{median['value']:.1f} days</strong>" in client
    definition = report.median_definition("won", "lost", 90)
    assert definition in html.unescape(client) and definition in html.unescape(index)
    assert report.format_metric(median) in index
    # shareable files with umask 022
    for path in [out, *out.rglob("*")]:
        assert path.stat().st_mode & 0o777 == (0o755 if path.is_dir() else 0o644), path


@pytest.mark.slow
def test_compare_criteria_without_criteria_ends_with_explanation(
    tmp_path, journeys_factory, monkeypatch, capfd
):
    """Plain papermill on data without criteria: exit 0, the last output is the one line."""
    folder = journeys_factory(
        [{"lead_id": "L1", "created_at": "2025-01-01", "sal_at": "2025-01-02",
          "won_at": "2025-01-20", "observed_until": "2025-03-01"},
         {"lead_id": "L2", "created_at": "2025-01-01", "sal_at": "2025-01-03",
          "observed_until": "2025-03-01"}],
        meta={"source": "crm_export"},
    ).write(tmp_path / "crm")  # fmt: skip
    code, err = _papermill(
        [NOTEBOOKS / "03-compare-criteria.ipynb", "out.ipynb", "-p", "journeys_dir", folder],
        tmp_path,
        monkeypatch,
        capfd,
    )
    assert code == 0, err[-2000:]
    assert "Traceback" not in _without_kernel_log(err)
    nb = nbformat.read(tmp_path / "out.ipynb", as_version=4)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert all(o["output_type"] != "error" for o in outputs)
    last = outputs[-1]["data"]["text/markdown"]
    assert last.startswith("**No criteria to compare:** crm_export is not a simulation")
    assert "criteria_file" in last and "\n" not in last
