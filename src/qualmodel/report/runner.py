"""Run notebooks: papermill execution, kernels, staging, swap-in and failure folders."""

from __future__ import annotations

import os
import re
import shutil
import sys
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qualmodel.core.atomic import make_temp_dir, replace_folders, write_text_atomic
from qualmodel.core.safety import clean_stale
from qualmodel.report.helpers import in_staging
from qualmodel.report.htmlpage import export_html
from qualmodel.report.kernels import KernelPool, report_kernels
from qualmodel.report.plan import (
    Job,
    Plan,
    Result,
    Simulation,
    build_jobs,
    check_report_output,
    plan_run,
    plan_simulation,
    simulate_to,
)
from qualmodel.report.publish import write_index, write_summaries
from qualmodel.report.templates import (
    FAILED_DIR,
    IGNORED_STDERR,
    METRICS_MIMETYPE,
    PROGRESS_LINE,
    STAGING_PREFIX,
    ReportError,
    parse_param_assignments,
)

if TYPE_CHECKING:
    pass


@dataclass
class RunSummary:
    """What :func:`run_reports` produced."""

    out: Path
    index: Path
    results: list[Result]
    seconds: float
    simulate_seconds: dict[str, float] = field(default_factory=dict)


def _stream_text(output: Mapping[str, Any]) -> str:
    text = output.get("text", "")
    return "".join(text) if isinstance(text, list) else str(text)


def _without_progress(text: str) -> str:
    """Drop progress-bar updates (carriage-return or newline separated) from stderr text."""
    lines = re.split(r"[\r\n]+", text)
    kept = [line for line in lines if line.strip() and not PROGRESS_LINE.search(line)]
    return "\n".join(kept) + ("\n" if kept else "")


def clean_outputs(nb: Any) -> tuple[dict[str, Any], list[str], list[str]]:
    """Collect recorded metrics from ``nb`` and tidy its outputs, in place.

    Removes metric display outputs (moving them into ``metadata.qualmodel``), drops
    stderr chatter matching :data:`IGNORED_STDERR` and progress-bar lines
    (:data:`PROGRESS_LINE`), copies the ``parameters`` cell's
    extra tags onto papermill's injected cell (papermill issue 731).

    Parameters
    ----------
    nb : nbformat.NotebookNode

    Returns
    -------
    metrics : dict
    headline : list of str
    problems : list of str
        One line per remaining error or stderr output (cell number + first line).
    """
    metrics: dict[str, Any] = {}
    headline: list[str] = []
    problems: list[str] = []
    extra_tags: list[str] = []
    for cell in nb.cells:
        tags = cell.get("metadata", {}).get("tags", [])
        if "parameters" in tags:
            extra_tags = [t for t in tags if t != "parameters"]
        if "injected-parameters" in tags and extra_tags:
            cell.metadata["tags"] = list(dict.fromkeys([*tags, *extra_tags]))
        if cell.get("cell_type") != "code":
            continue
        kept = []
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if METRICS_MIMETYPE in data:
                payload = data[METRICS_MIMETYPE]
                metrics.update(payload.get("metrics", {}))
                headline.extend(h for h in payload.get("headline", []) if h not in headline)
                continue
            if out.get("output_type") == "stream" and out.get("name") == "stderr":
                text = _without_progress(_stream_text(out))
                if not text.strip() or any(p.search(text) for p in IGNORED_STDERR):
                    continue
                out["text"] = text
                first = text.strip().splitlines()[0] if text.strip() else ""
                problems.append(f"cell [{cell.get('execution_count')}] stderr: {first[:160]}")
            if out.get("output_type") == "error":
                problems.append(
                    f"cell [{cell.get('execution_count')}] error: {out.get('ename')}: "
                    f"{str(out.get('evalue'))[:160]}"
                )
            kept.append(out)
        cell["outputs"] = kept
    qm = dict(nb.metadata.get("qualmodel", {}))
    qm.update({"metrics": metrics, "headline": headline})
    nb.metadata["qualmodel"] = qm
    return metrics, headline, problems


def _describe_failure(exc: BaseException) -> str:
    exec_count = getattr(exc, "exec_count", None)
    if exec_count is not None or hasattr(exc, "ename"):
        evalue = " ".join(str(getattr(exc, "evalue", "")).split())[:300]
        return f"cell [{exec_count}] raised {getattr(exc, 'ename', 'error')}: {evalue}"
    return f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}"


class _Slots:
    """Hand out tqdm line positions to concurrently running notebooks."""

    def __init__(self, n: int) -> None:
        self._free = list(range(n))
        self._lock = threading.Lock()

    def take(self) -> int:
        with self._lock:
            return self._free.pop(0) if self._free else 0

    def give(self, slot: int) -> None:
        with self._lock:
            self._free.append(slot)
            self._free.sort()


def progress_bar_options(label: str, slot: int, progress: bool | None) -> bool | dict[str, Any]:
    """Papermill ``progress_bar`` argument for one notebook: tqdm options, or False.

    Parameters
    ----------
    label : str
        Bar description (``target/notebook``).
    slot : int
        Line of the bar among the notebooks running at once.
    progress : bool or None
        True: always draw bars on stderr; False: never; None: when stderr is a terminal.

    Returns
    -------
    bool or dict
        ``False`` or tqdm keyword arguments writing to the current ``sys.stderr`` with a
        fixed size: the terminal's, or 100 columns × 50 lines when it reports none
        (pseudo-terminals without a size, pipes), where tqdm would otherwise draw empty
        bars or hide them.
    """
    if progress is False or (progress is None and not sys.stderr.isatty()):
        return False
    try:
        columns, lines = os.get_terminal_size(sys.stderr.fileno())
    except (AttributeError, OSError, ValueError):
        columns = lines = 0
    return {
        "desc": label,
        "position": slot,
        "leave": False,
        "file": sys.stderr,
        "ncols": columns if columns > 0 else 100,
        "nrows": lines if lines > 0 else 50,  # tqdm hides bars below a 0-line screen
    }


def _run_job(job: Job, progress: bool | None, slots: _Slots, kernels: KernelPool) -> Result:
    import nbformat

    out_ipynb = job.out_dir / f"{job.template.name}.ipynb"
    job.out_dir.mkdir(parents=True, exist_ok=True)
    slot = slots.take()
    bar = progress_bar_options(job.label, slot, progress)
    start = time.perf_counter()
    try:
        kernels.run(
            job.template.path,
            out_ipynb,
            job.parameters,
            cwd=job.cwd,
            log_path=job.log_path,
            progress_bar=bar,
        )
    except Exception as exc:  # papermill / kernel failures are reported, not raised
        elapsed = time.perf_counter() - start
        return Result(job, False, elapsed, out_ipynb, error=_describe_failure(exc))
    finally:
        slots.give(slot)
    try:
        nb = nbformat.read(out_ipynb, as_version=4)
        metrics, headline, problems = clean_outputs(nb)
        _annotate_injected(nb, job)
        write_text_atomic(out_ipynb, nbformat.writes(nb))
        html_path, pdf_path, pages = _export(nb, job)
    except Exception as exc:  # nbformat / nbconvert / Typst errors: report like a failed cell
        elapsed = time.perf_counter() - start
        kind = "PDF" if "typst" in type(exc).__module__.lower() else "HTML"
        msg = f"{kind} export failed: {type(exc).__name__}: {' '.join(str(exc).split())[:300]}"
        return Result(job, False, elapsed, out_ipynb, error=msg)
    return Result(
        job,
        True,
        time.perf_counter() - start,
        out_ipynb,
        html=html_path,
        pdf=pdf_path,
        pages=pages,
        metrics=metrics,
        headline=headline,
        warnings=problems,
    )


def page_title(nb: Any, default: str) -> str:
    """Return the page title: the report's own first heading when it shows one, else ``default``.

    A client report opens with ``# Lead qualification report — <data title>`` (Markdown
    output); the browser tab shows that instead of the template and target names.
    """
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            text = str(out.get("data", {}).get("text/markdown", "")).strip()
            if text:
                first = text.splitlines()[0]
                return first[2:].strip() if first.startswith("# ") else default
    return default


def _export(nb: Any, job: Job) -> tuple[Path | None, Path | None, int | None]:
    """Write the job's HTML and/or PDF (as :attr:`Job.html` / :attr:`Job.pdf` say)."""
    html_path = pdf_path = pages = None
    stem = job.out_dir / job.template.name
    if job.html:
        html_path = export_html(
            nb,
            stem.with_suffix(".html"),
            hide_code=job.template.hide_code,
            title=page_title(nb, f"{job.template.name} — {job.target}"),
        )
    if job.pdf:
        from qualmodel.report.pdf import write_pdf

        pdf_path = stem.with_suffix(".pdf")
        pages = write_pdf(nb, pdf_path, lang=str(job.parameters.get("lang", "en")))
    return html_path, pdf_path, pages


def _annotate_injected(nb: Any, job: Job) -> None:
    """Note in the injected-parameters cell which values were temporary runner paths."""
    temp_keys = [
        k
        for k in ("journeys_dir", "journeys_root")
        if k in job.parameters and in_staging(job.parameters[k])
    ]
    if not temp_keys or job.depends_on is None:
        return
    for cell in nb.cells:
        if "injected-parameters" in cell.get("metadata", {}).get("tags", []):
            cell.source = (
                cell.source.rstrip("\n")
                + f"\n# {', '.join(temp_keys)}: journeys simulated once by `qualmodel report` "
                "from scenario, n_leads and seed into a temporary folder (removed after the run)"
            )


def run_reports(
    scenario: str | Sequence[str] | None = "all",
    *,
    journeys: str | os.PathLike[str] | None = None,
    notebooks: Iterable[str] | None = None,
    params: Mapping[str, str] | Iterable[str] | None = None,
    jobs: int | None = None,
    out: str | os.PathLike[str] = "reports",
    notebooks_dir: str | os.PathLike[str] | None = None,
    progress: bool | None = None,
    keep_journeys: str | os.PathLike[str] | None = None,
    fmt: str = "both",
    reuse_kernels: bool = True,
) -> RunSummary:
    """Render the notebook reports; all-or-nothing.

    Parameters
    ----------
    scenario : str or sequence of str, optional
        Built-in scenario name(s), YAML path(s), or ``"all"``. Ignored when ``journeys``
        is given (pass None). With more than one scenario, cross-scenario notebooks run too.
    journeys : path, optional
        A saved or imported journeys folder: per-dataset notebooks run on it, reports go
        to ``<out>/<folder name>/``. Unless named in ``notebooks``, templates marked
        ``simulation_only`` are left out, and so are those marked ``needs_criteria`` when
        the folder is not a simulation and no ``criteria_file`` parameter is given.
    notebooks : iterable of str, optional
        Template names, numbers or slugs to run (default all).
    params : mapping or iterable of ``key=value``, optional
        Parameter overrides, type-checked against the templates before any kernel starts.
    jobs : int, optional
        Notebooks executed at once (default ``os.cpu_count()``).
    out : path, default ``"reports"``
        Output folder.
    notebooks_dir : path, optional
        Templates folder (see :func:`find_notebooks_dir`).
    progress : bool, optional
        ``None`` (default): one line per finished notebook on stderr, plus a tqdm bar per
        running notebook when stderr is a terminal; ``True``: lines and bars even when
        stderr is not a terminal; ``False``: silent.
    keep_journeys : path, optional
        Keep the journeys the run simulates in ``<keep_journeys>/<scenario>`` (seeded, so
        re-running reproduces them); the notebooks read them there and their provenance
        names that folder. Default: a temporary folder removed after the run. An existing
        ``<keep_journeys>/<scenario>`` is replaced only when it holds a qualmodel
        simulation (else ConfigError before any kernel starts).
    fmt : {"both", "html", "pdf"}, default "both"
        ``both``: HTML of every notebook and, beside it, a PDF of the client-facing ones
        (template metadata ``pdf``: the client report); ``html``: no PDF; ``pdf``: the
        client-facing notebooks as PDF only (the others stay HTML).
    reuse_kernels : bool, default True
        Each of the ``jobs`` worker threads keeps one kernel and runs its notebooks on it,
        reset before each one to a fresh kernel's state (namespace, execution counter,
        figures, matplotlib and pandas display settings, warning filters, working folder;
        see :mod:`~qualmodel.report.kernels`); this saves the ≈ 2.5 s of CPU that
        starting a kernel and importing the stack costs per notebook. False: a new kernel
        per notebook. With the environment variable ``QUALMODEL_KEEP_KERNELS=1`` the warm
        kernels also serve the next runs in this process
        (:func:`~qualmodel.report.kernels.report_kernels`).

    Returns
    -------
    RunSummary

    Raises
    ------
    ConfigError
        Bad names or parameters (raised before any kernel starts).
    ReportError
        A notebook failed; the staged output is kept under ``<out>/_failed/``.
    """
    t0 = time.perf_counter()
    raw = params if isinstance(params, Mapping) else parse_param_assignments(params or [])
    jobs = max(1, int(jobs or os.cpu_count() or 1))
    plan = plan_run(
        scenario,
        raw,
        journeys=journeys,
        notebooks=notebooks,
        notebooks_dir=notebooks_dir,
        fmt=fmt,
    )
    check_report_output(plan, out, notebooks_dir)
    out_dir, stage, scratch = _open_stage(out)
    try:
        sim = plan_simulation(plan, scratch, keep_journeys)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    job_list = build_jobs(plan, sim, stage, scratch)
    results, sim_seconds = _execute(job_list, plan, sim, jobs, progress, stage, reuse_kernels)
    _keep_failed(results, out_dir, stage)
    shutil.rmtree(scratch, ignore_errors=True)
    done = write_summaries(stage, results, plan)
    _swap_in(stage, out_dir, done)
    index = write_index(out_dir)
    return RunSummary(out_dir, index, results, time.perf_counter() - t0, sim_seconds)


def _open_stage(out: str | os.PathLike[str]) -> tuple[Path, Path, Path]:
    """Create the output folder and a fresh staging folder (with ``.run/logs``) inside it.

    Staging / trash folders left by a killed run (their process is gone) are removed first,
    and the folder gets the marker that recognises it as a qualmodel reports folder.
    """
    from qualmodel.core.safety import MARKER, write_marker

    out_dir = Path(out).expanduser().resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    clean_stale(out_dir, (STAGING_PREFIX, ".old-"))
    if not (out_dir / MARKER).exists():
        write_marker(out_dir, "report")
    stage = make_temp_dir(out_dir, f"{STAGING_PREFIX}{os.getpid()}-")
    scratch = stage / ".run"
    (scratch / "logs").mkdir(parents=True)
    return out_dir, stage, scratch


def _run_when_ready(
    job: Job,
    sims: Mapping[str, Future[float]],
    failed: threading.Event,
    lock: threading.Lock,
    slots: _Slots,
    progress: bool | None,
    kernels: KernelPool,
) -> Result | None:
    """Wait for the job's simulations, then run it unless the run already failed."""
    deps = (
        list(sims.values())
        if job.depends_on == "*"
        else ([sims[job.depends_on]] if job.depends_on else [])
    )
    wait(deps)
    for dep in deps:
        if dep.exception() is not None:
            exc = dep.exception()
            failed.set()
            msg = f"simulation failed: {exc}"
            return Result(job, False, 0.0, job.out_dir, error=msg)
    if failed.is_set():
        return None
    res = _run_job(job, progress, slots, kernels)
    if not res.ok:
        failed.set()
    if progress is not False:
        from tqdm.auto import tqdm

        mark = "ok " if res.ok else "FAILED"
        with lock:
            tqdm.write(f"{mark} {job.label:<42} {res.seconds:6.1f} s", file=sys.stderr)
    return res


def _execute(
    job_list: Sequence[Job],
    plan: Plan,
    sim: Simulation,
    jobs: int,
    progress: bool | None,
    stage: Path,
    reuse_kernels: bool = True,
) -> tuple[list[Result], dict[str, float]]:
    """Simulate (if needed) and run every job on a thread pool; Ctrl-C leaves no staging."""
    results: list[Result] = []
    sim_seconds: dict[str, float] = {}
    slots = _Slots(jobs)
    failed = threading.Event()
    lock = threading.Lock()
    pool = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="qualmodel-report")
    kernels, owned = report_kernels(reuse_kernels, jobs)
    try:
        sims: dict[str, Future[float]] = {}
        if sim.needed:
            for target, scen in plan.targets.items():
                sims[target] = pool.submit(
                    simulate_to, scen, sim.n_leads, sim.seed, sim.root / target
                )
        futures = [
            pool.submit(_run_when_ready, job, sims, failed, lock, slots, progress, kernels)
            for job in job_list
        ]
        for fut in futures:
            res = fut.result()
            if res is not None:
                results.append(res)
        for target, fut in sims.items():
            if fut.exception() is None:
                sim_seconds[target] = fut.result()
        pool.shutdown(wait=True)
    except BaseException:  # interrupted or crashed: cancel queued work, leave no staging
        failed.set()
        pool.shutdown(wait=False, cancel_futures=True)
        shutil.rmtree(stage, ignore_errors=True)
        raise
    finally:
        if owned:
            kernels.close()
    return results, sim_seconds


def _keep_failed(results: Sequence[Result], out_dir: Path, stage: Path) -> None:
    """On any failure, keep the staging folder as ``<out>/_failed`` and raise ReportError."""
    bad = [r for r in results if not r.ok]
    if bad:
        failed_dir = out_dir / FAILED_DIR
        shutil.rmtree(failed_dir, ignore_errors=True)
        os.replace(stage, failed_dir)
        first = bad[0]
        kept = failed_dir / first.job.target / f"{first.job.template.name}.ipynb"
        others = f" (+{len(bad) - 1} more failed)" if len(bad) > 1 else ""
        raise ReportError(
            f"notebook {first.job.template.name} ({first.job.target}) failed: {first.error}"
            f"{others}; previous reports left unchanged, failed output kept in {kept}"
        )


def _swap_in(stage: Path, out_dir: Path, names: Sequence[str]) -> None:
    """Move ``stage/<name>`` to ``out_dir/<name>``, replacing older folders, all or none."""
    try:
        replace_folders([(stage / name, out_dir / name) for name in names])
    except OSError as exc:
        raise ReportError(
            f"{out_dir}: could not move the new reports into place ({exc.strerror or exc}); "
            f"previous reports left unchanged, new output kept in {stage} (is another "
            f"'qualmodel report' writing to the same folder?)"
        ) from None
    shutil.rmtree(stage, ignore_errors=True)
    shutil.rmtree(out_dir / FAILED_DIR, ignore_errors=True)
