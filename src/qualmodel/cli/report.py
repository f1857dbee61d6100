"""CLI command ``qualmodel report``: render the notebook reports with papermill."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from qualmodel.cli.app import app


@app.command("report")
def report(
    scenario: Annotated[
        list[str] | None,
        typer.Option(
            "--scenario",
            "-s",
            help="Built-in scenario name, scenario YAML path, or 'all' (repeatable). "
            "Default 'all' unless --journeys is given.",
        ),
    ] = None,
    journeys: Annotated[
        Path | None,
        typer.Option(
            "--journeys",
            "-j",
            help="Saved or imported journeys folder; the per-dataset notebooks run on it "
            "and write <out>/<folder name>/.",
        ),
    ] = None,
    notebook: Annotated[
        list[str] | None,
        typer.Option(
            "--notebook",
            "-n",
            help="Notebook to run: name (02-time-to-sqo), number (02) or slug "
            "(repeatable; default all).",
        ),
    ] = None,
    param: Annotated[
        list[str] | None,
        typer.Option(
            "--param",
            "-p",
            help="Notebook parameter key=value, typed as declared in the notebook (repeatable).",
        ),
    ] = None,
    jobs: Annotated[
        int | None,
        typer.Option("--jobs", min=1, help="Notebooks run at once (default: number of cores)."),
    ] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")] = Path("reports"),
    notebooks_dir: Annotated[
        Path | None,
        typer.Option("--notebooks-dir", help="Folder of the NN-name.ipynb templates."),
    ] = None,
    progress: Annotated[
        bool | None,
        typer.Option(
            "--progress/--no-progress",
            help="Progress bar per running notebook on stderr (default: only when stderr is "
            "a terminal) and a line per finished notebook; --no-progress: neither.",
            show_default=False,
        ),
    ] = None,
    lang: Annotated[
        str,
        typer.Option(
            "--lang",
            help="Report language of the notebooks that declare a 'lang' parameter "
            "(the primer 00 and the client report 10): en or de.",
        ),
    ] = "en",
    keep_journeys: Annotated[
        Path | None,
        typer.Option(
            "--keep-journeys",
            help="Keep the journeys simulated for --scenario runs in DIR/<scenario> "
            "(default: a temporary folder); an existing simulation there is replaced.",
        ),
    ] = None,
    fmt: Annotated[
        str,
        typer.Option(
            "--format",
            help="both: HTML of every notebook and a PDF of the client report beside it; "
            "html: no PDF; pdf: the client report as PDF only.",
        ),
    ] = "both",
    fresh_kernels: Annotated[
        bool,
        typer.Option(
            "--fresh-kernels",
            help="Start a new kernel for every notebook (default: each of the --jobs kernels "
            "runs several notebooks, reset to a fresh kernel's state before each; faster).",
        ),
    ] = False,
) -> None:
    """Run the report notebooks (papermill) and write HTML reports plus an index page."""
    from qualmodel.report import run_reports

    if journeys is not None and scenario:
        raise typer.BadParameter("use either --scenario or --journeys, not both")
    summary = run_reports(
        None if journeys is not None else (scenario or ["all"]),
        journeys=journeys,
        notebooks=notebook or None,
        params=_notebook_params(param, lang),
        jobs=jobs,
        out=out,
        notebooks_dir=notebooks_dir,
        progress=progress,
        keep_journeys=keep_journeys,
        fmt=fmt,
        reuse_kernels=not fresh_kernels,
    )
    _print_summary(summary, keep_journeys)


def _notebook_params(param: list[str] | None, lang: str) -> list[str]:
    """Return the ``--param`` values plus ``lang=<lang>`` for a non-English ``--lang``."""
    from qualmodel.core.i18n import check_lang

    params = list(param or [])
    if lang != "en":
        check_lang(lang)
        if any(p.split("=", 1)[0].strip() == "lang" for p in params):
            raise typer.BadParameter("give the language once: --lang or --param lang=..., not both")
        params.append(f"lang={lang}")
    return params


def _print_summary(summary: Any, keep_journeys: Path | None) -> None:
    """Print notebook warnings (stderr), kept simulation folders and the closing line."""
    for res in summary.results:
        for problem in res.warnings:
            print(f"warning: {res.job.label}: {problem}", file=sys.stderr)
    for res in summary.results:
        if res.pdf is not None:
            path = summary.out / res.job.target / res.pdf.name
            print(f"PDF: {path} ({res.pages} page{'s' * (res.pages != 1)})")
    if keep_journeys is not None and summary.simulate_seconds:
        kept = ", ".join(str(keep_journeys / t) for t in summary.simulate_seconds)
        print(f"simulated journeys kept in {kept}")
    print(
        f"{len(summary.results)} notebook(s) rendered in {summary.seconds:.1f} s; "
        f"open {summary.index}"
    )
