"""Run the notebook templates with papermill and publish HTML reports.

The templates are ``notebooks/NN-name.ipynb``; each has one cell tagged ``parameters``
holding typed, commented literals. :func:`run_reports` executes them per scenario (or per
saved journeys folder), exports HTML with nbconvert and writes::

    <out>/<target>/<NN-name>.ipynb      executed notebook (metrics in its metadata)
    <out>/<target>/<NN-name>.html       HTML export (code hidden where the template asks)
    <out>/<target>/figures/*.png        figures saved by the notebooks
    <out>/<target>/summary.json         key metrics recorded by the notebooks
    <out>/cross-scenario/...            the cross-scenario notebook, same layout
    <out>/index.html                    cross-scenario table of key metrics + links

A run is all-or-nothing: everything is written into a staging folder inside ``<out>`` and
swapped in only when every notebook succeeded. When a notebook fails, the previous reports
are left untouched, the staging folder is kept as ``<out>/_failed/`` and a
:class:`ReportError` names the notebook and the failing cell.

Notebook side helpers (called from inside the templates): :func:`journeys_for`,
:func:`save_figure`, :func:`record_metrics`, :func:`metric` and :func:`provenance`.

Template metadata (``metadata.qualmodel`` in the ``.ipynb``) may set ``kind`` (``"scenario"``:
one run per scenario or journeys folder; ``"cross"``: one run for all scenarios; default
``"cross"`` for numbers ≥ 20) and ``hide_code`` (export without code, default false).
"""

from __future__ import annotations

import ast
import html
import json
import logging
import math
import os
import re
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qualmodel.errors import ConfigError, InputError, QualmodelError, preview
from qualmodel.io import write_text_atomic
from qualmodel.scenario import BUILTIN_SCENARIOS

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "METRICS_MIMETYPE",
    "REPORT_DEFAULTS",
    "ReportError",
    "RunSummary",
    "Template",
    "check_parameters",
    "ci_table",
    "clean_outputs",
    "coerce_parameter",
    "discover_templates",
    "execute_notebook",
    "export_html",
    "find_notebooks_dir",
    "format_metric",
    "inspect_parameters",
    "journeys_for",
    "metric",
    "metrics_payload",
    "parse_param_assignments",
    "provenance",
    "record_metrics",
    "run_reports",
    "save_figure",
    "select_templates",
    "write_index",
]

#: MIME type of the display output that :func:`record_metrics` emits.
METRICS_MIMETYPE = "application/vnd.qualmodel.metrics+json"
#: Folder name of the cross-scenario report inside the output folder.
CROSS_TARGET = "cross-scenario"
#: Folder name (inside the output folder) that keeps the output of a failed run.
FAILED_DIR = "_failed"
#: Parameter values the runner uses for ``qualmodel report`` / ``make report`` when the
#: user does not override them (applied only to notebooks that declare the name). The
#: notebooks' own literal defaults are smaller so that opening or nbval-testing a template
#: stays quick.
REPORT_DEFAULTS: dict[str, Any] = {"n_leads": 20_000, "seed": 2026, "n_boot": 500}
#: Parameters that the runner sets itself; users choose them through CLI options.
RUNNER_PARAMETERS: dict[str, str] = {
    "scenario": "--scenario",
    "scenarios": "--scenario",
    "journeys_dir": "--journeys",
    "journeys_root": "--scenario (journeys are simulated once per run)",
    "figures_dir": "--out",
}
#: stderr stream outputs matching one of these patterns are dropped from executed
#: notebooks: harmless start-up chatter of the kernel, never a library warning.
IGNORED_STDERR: tuple[re.Pattern[str], ...] = (
    re.compile(r"^\[IPKernelApp\] WARNING \| Kernel is running over TCP without encryption"),
)

_TEMPLATE_RE = re.compile(r"^(?P<number>\d{2})-(?P<slug>[A-Za-z0-9][A-Za-z0-9_-]*)\.ipynb$")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class ReportError(QualmodelError, RuntimeError):
    """A notebook failed while rendering reports (names notebook, cell and error)."""


# --------------------------------------------------------------------------------------
# templates and parameters
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Template:
    """A notebook template found in the notebooks folder.

    Attributes
    ----------
    name : str
        File stem, e.g. ``"03-compare-criteria"``.
    path : Path
        Absolute path of the ``.ipynb`` file.
    kind : str
        ``"scenario"`` (one run per scenario / journeys folder) or ``"cross"``.
    hide_code : bool
        Export the HTML without code cells' input.
    parameters : dict
        ``papermill.inspect_notebook`` result: name → ``{name, inferred_type_name,
        default, help}``.
    simulation_only : bool
        Teaching material built on a simulation (``metadata.qualmodel.simulation_only``):
        left out of ``--journeys`` runs unless named with ``--notebook``.
    needs_criteria : bool
        Only compares criteria (``metadata.qualmodel.needs_criteria``): left out of
        ``--journeys`` runs on non-simulated data unless ``criteria_file`` is given.
    """

    name: str
    path: Path
    kind: str
    hide_code: bool
    parameters: dict[str, dict[str, Any]] = field(default_factory=dict)
    simulation_only: bool = False
    needs_criteria: bool = False


def _is_notebooks_dir(path: Path) -> bool:
    return path.is_dir() and any(_TEMPLATE_RE.match(p.name) for p in path.glob("*.ipynb"))


def find_notebooks_dir(notebooks_dir: str | os.PathLike[str] | None = None) -> Path:
    """Locate the folder holding the ``NN-name.ipynb`` templates.

    Looked up in order: ``notebooks_dir``; the ``QUALMODEL_NOTEBOOKS`` environment
    variable; ``notebooks/`` of the source checkout this package is imported from
    (editable install); ``qualmodel/notebooks`` shipped as package data; ``notebooks/``
    in the current folder or any parent.

    Parameters
    ----------
    notebooks_dir : path, optional
        Explicit folder; must exist and contain templates.

    Returns
    -------
    Path
        Absolute folder path.

    Raises
    ------
    ConfigError
        When no folder with templates is found.
    """
    if notebooks_dir is not None:
        path = Path(notebooks_dir).expanduser().resolve()
        if not _is_notebooks_dir(path):
            raise ConfigError(
                f"{path}: no notebook templates (NN-name.ipynb) found; pass the folder "
                f"holding them with --notebooks-dir"
            )
        return path
    candidates: list[Path] = []
    env = os.environ.get("QUALMODEL_NOTEBOOKS")
    if env:
        candidates.append(Path(env).expanduser())
    here = Path(__file__).resolve()
    candidates.append(here.parents[2] / "notebooks")
    candidates.append(here.parent / "notebooks")
    cwd = Path.cwd().resolve()
    candidates.extend(p / "notebooks" for p in (cwd, *cwd.parents))
    for cand in candidates:
        if _is_notebooks_dir(cand):
            return cand.resolve()
    raise ConfigError(
        "no notebook templates found (looked in QUALMODEL_NOTEBOOKS, the source checkout and "
        "./notebooks); run from a qualmodel checkout or pass --notebooks-dir"
    )


def inspect_parameters(notebook: str | os.PathLike[str]) -> dict[str, dict[str, Any]]:
    """Return the declared parameters of a notebook without starting a kernel.

    Parameters
    ----------
    notebook : path
        ``.ipynb`` file with a cell tagged ``parameters``.

    Returns
    -------
    dict
        name → ``{name, inferred_type_name, default, help}`` (``papermill.inspect_notebook``).
    """
    import papermill

    path = Path(notebook)
    if not path.is_file():
        raise InputError(f"{path}: notebook not found; check the path")
    log = logging.getLogger("papermill")
    level = log.level
    log.setLevel(logging.ERROR)  # unparsable lines are reported below, as one error
    try:
        found = dict(papermill.inspect_notebook(str(path)))
    finally:
        log.setLevel(level)
    missing = [n for n in _assigned_names(path) if n not in found]
    if missing:
        raise ConfigError(
            f"{path.name}: parameter(s) {', '.join(missing)} of the 'parameters' cell cannot be "
            f"read by papermill; write one 'name: type = literal  # help' per line, with no "
            f"'=' inside the comment and no 'X | None' annotation (use Optional[X])"
        )
    return found


def _assigned_names(path: Path) -> list[str]:
    """Return the names assigned at top level of a notebook's ``parameters`` cell."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            try:
                tree = ast.parse(cell.source)
            except SyntaxError as exc:
                raise ConfigError(
                    f"{path.name}: 'parameters' cell line {exc.lineno}: invalid Python; fix it"
                ) from None
            names: list[str] = []
            for node in tree.body:
                if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                    names.append(node.target.id)
                elif isinstance(node, ast.Assign):
                    names.extend(t.id for t in node.targets if isinstance(t, ast.Name))
            return names
    return []


def discover_templates(notebooks_dir: str | os.PathLike[str] | None = None) -> list[Template]:
    """List the templates of the notebooks folder in file-name order.

    Parameters
    ----------
    notebooks_dir : path, optional
        See :func:`find_notebooks_dir`.

    Returns
    -------
    list of Template
    """
    import nbformat

    folder = find_notebooks_dir(notebooks_dir)
    out: list[Template] = []
    for path in sorted(folder.glob("*.ipynb")):
        match = _TEMPLATE_RE.match(path.name)
        if not match:
            continue
        try:
            nb = nbformat.read(path, as_version=4)
        except Exception as exc:  # nbformat raises several unrelated types
            raise InputError(f"{path}: not a readable notebook ({exc}); fix or remove it") from exc
        meta = dict(nb.metadata.get("qualmodel", {}))
        kind = meta.get("kind") or ("cross" if int(match["number"]) >= 20 else "scenario")
        if kind not in ("scenario", "cross"):
            raise ConfigError(
                f"{path}: metadata.qualmodel.kind is {kind!r}; use 'scenario' or 'cross'"
            )
        out.append(
            Template(
                name=path.stem,
                path=path,
                kind=kind,
                hide_code=bool(meta.get("hide_code", False)),
                parameters=inspect_parameters(path),
                simulation_only=bool(meta.get("simulation_only", False)),
                needs_criteria=bool(meta.get("needs_criteria", False)),
            )
        )
    return out


def select_templates(templates: Sequence[Template], names: Iterable[str] | None) -> list[Template]:
    """Pick templates by full name (``02-time-to-sqo``), number (``02``) or slug.

    Parameters
    ----------
    templates : sequence of Template
    names : iterable of str, optional
        ``None`` or empty selects all.

    Returns
    -------
    list of Template
        In template order.
    """
    wanted = [n.removesuffix(".ipynb") for n in (names or [])]
    if not wanted:
        return list(templates)
    chosen: set[str] = set()
    for name in wanted:
        hits = [t for t in templates if name in (t.name, t.name[:2], t.name[3:])]
        if not hits:
            raise ConfigError(
                f"--notebook {name!r}: no such notebook; choose from "
                f"{', '.join(t.name for t in templates)}"
            )
        chosen.update(t.name for t in hits)
    return [t for t in templates if t.name in chosen]


def parse_param_assignments(items: Iterable[str]) -> dict[str, str]:
    """Split ``key=value`` strings (from ``--param``) into a dict of raw strings.

    Parameters
    ----------
    items : iterable of str

    Returns
    -------
    dict
        key → raw value string.
    """
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key.isidentifier():
            raise ConfigError(f"--param {item!r}: expected key=value, e.g. --param n_leads=5000")
        out[key] = value.strip()
    return out


_NONE_WORDS = {"none", "null", "~"}
_TRUE_WORDS = {"true", "yes", "1", "on"}
_FALSE_WORDS = {"false", "no", "0", "off"}


def _split_type(type_name: str) -> tuple[str, bool, str | None]:
    """Return (base type, optional?, element type) of an annotation string."""
    t = type_name.replace(" ", "")
    optional = False
    m = re.fullmatch(r"(?:typing\.)?Optional\[(.+)\]", t)
    if m:
        t, optional = m[1], True
    parts = [p for p in re.split(r"\|", t) if p]
    if "None" in parts and len(parts) > 1:
        optional = True
        parts = [p for p in parts if p != "None"]
        t = parts[0]
    m = re.fullmatch(r"(?:typing\.)?(list|List|tuple|Tuple|dict|Dict)(?:\[(.*)\])?", t)
    if m:
        return m[1].lower(), optional, m[2]
    return t, optional, None


def _declared_type(spec: Mapping[str, Any]) -> str:
    """Return the declared type name, or the literal default's type when unannotated."""
    name = str(spec.get("inferred_type_name") or "None")
    if name not in ("None", ""):
        return name
    try:
        default = ast.literal_eval(str(spec.get("default")))
    except (ValueError, SyntaxError):
        return "str"
    return "None" if default is None else type(default).__name__


def _coerce_scalar(raw: str, base: str) -> Any:
    text = raw.strip()
    if base == "int":
        if not re.fullmatch(r"[+-]?\d[\d_]*", text):
            raise ValueError("an integer")
        return int(text)
    if base == "float":
        try:
            value = float(text)
        except ValueError:
            raise ValueError("a number") from None
        return value
    if base == "bool":
        low = text.lower()
        if low in _TRUE_WORDS:
            return True
        if low in _FALSE_WORDS:
            return False
        raise ValueError("true or false")
    if base == "str":
        return raw
    try:  # unknown annotation: accept a Python literal, else the string itself
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return raw


def coerce_parameter(name: str, raw: str, type_name: str) -> Any:
    """Convert a ``--param`` string to the type declared in the notebook.

    Parameters
    ----------
    name : str
        Parameter name (for the error message).
    raw : str
        Value as typed on the command line.
    type_name : str
        Declared type, e.g. ``"int"``, ``"Optional[str]"``, ``"list[str]"``, ``"None"``.

    Returns
    -------
    object
        The typed value.

    Raises
    ------
    ConfigError
        When the value does not fit the declared type.
    """
    base, optional, element = _split_type(type_name)
    text = raw.strip()
    if (optional or base == "None") and text.lower() in _NONE_WORDS:
        return None
    if base == "None":  # declared as None without annotation: accept any literal / str
        return _coerce_scalar(raw, "")
    try:
        if base in ("list", "tuple"):
            if text.startswith("["):
                try:
                    value = ast.literal_eval(text)
                except (ValueError, SyntaxError):
                    raise ValueError("a list such as [1, 2] or a,b") from None
                if not isinstance(value, list):
                    raise ValueError("a list such as [1, 2] or a,b")
                items = [str(v) if element in (None, "str") else v for v in value]
                if element and element not in ("str", "Any"):
                    items = [_coerce_scalar(str(v), element) for v in value]
                return items
            parts = [p.strip() for p in text.split(",") if p.strip()]
            return [_coerce_scalar(p, element or "str") for p in parts]
        if base == "dict":
            try:
                value = json.loads(text)
            except json.JSONDecodeError:
                raise ValueError('a JSON object such as {"a": 1}') from None
            if not isinstance(value, dict):
                raise ValueError('a JSON object such as {"a": 1}')
            return value
        return _coerce_scalar(raw, base)
    except ValueError as exc:
        none_hint = " or None" if optional else ""
        raise ConfigError(
            f"--param {name}={raw!r}: expected {exc}{none_hint} (declared type {type_name})"
        ) from None


def check_parameters(
    templates: Sequence[Template], params: Mapping[str, str]
) -> dict[str, dict[str, Any]]:
    """Type-check ``--param`` values against the templates' declarations (no kernel).

    Parameters
    ----------
    templates : sequence of Template
        The notebooks that will run.
    params : mapping
        Raw ``key → value`` strings.

    Returns
    -------
    dict
        Template name → typed parameters that template declares.

    Raises
    ------
    ConfigError
        Unknown parameter name, a runner-owned name, or a value of the wrong type.
    """
    declared: dict[str, list[Template]] = {}
    for t in templates:
        for pname in t.parameters:
            declared.setdefault(pname, []).append(t)
    for key in params:
        if key in RUNNER_PARAMETERS:
            raise ConfigError(
                f"--param {key}: set by the report runner; use {RUNNER_PARAMETERS[key]} instead"
            )
        if key not in declared:
            known = sorted(k for k in declared if k not in RUNNER_PARAMETERS)
            near = [k for k in known if k.startswith(key[:3])] or known
            raise ConfigError(
                f"--param {key}: no selected notebook declares this parameter; "
                f"known parameters: {preview(near, k=12)}"
            )
    typed: dict[str, dict[str, Any]] = {t.name: {} for t in templates}
    for key, raw in params.items():
        for t in declared[key]:
            typed[t.name][key] = coerce_parameter(key, raw, _declared_type(t.parameters[key]))
    return typed


# --------------------------------------------------------------------------------------
# helpers used inside the notebooks
# --------------------------------------------------------------------------------------


def journeys_for(
    scenario: str,
    n_leads: int,
    seed: int,
    journeys_dir: str | os.PathLike[str] | None = None,
):
    """Return the journeys a notebook analyses: a saved folder or a fresh simulation.

    Parameters
    ----------
    scenario : str
        Built-in scenario name or scenario YAML path (used when ``journeys_dir`` is None).
    n_leads : int
        Number of simulated leads.
    seed : int
        Simulation seed.
    journeys_dir : path, optional
        Saved or imported journeys folder (``leads.parquet``, ``events.parquet``,
        ``meta.json``); when given, ``scenario``, ``n_leads`` and ``seed`` are ignored.

    Returns
    -------
    Journeys
    """
    from qualmodel.journeys import Journeys

    if journeys_dir is not None:
        return Journeys.read(Path(journeys_dir).expanduser())
    from qualmodel.scenario import load_scenario
    from qualmodel.simulate import simulate

    return simulate(load_scenario(scenario), n_leads=n_leads, seed=seed)


#: The outcome a notebook times from SAL, by target column: display name, metric key
#: prefix, competing column, its display name and its metric key prefix.
OUTCOMES: dict[str, tuple[str, str, str, str, str]] = {
    "sqo_at": ("SQO", "sqo", "disqualified_at", "disqualified", "dq"),
    "won_at": ("won", "won", "lost_at", "lost", "lost"),
}


def outcome_plan(journeys: Any, target: str | None = None) -> dict[str, Any]:
    """Choose the outcome a report times from SAL, and its competing outcome.

    Simulated journeys and CRM exports with an SQO stage are analysed as SAL → SQO with
    disqualification competing. Exports without SQOs (an opportunity pipeline such as
    Maven CRM's, which records only acceptance and the close) fall back to SAL → won with
    lost competing, so the same notebooks run on them.

    Parameters
    ----------
    journeys : Journeys
        The data set.
    target : str, optional
        Stage column to time (``"sqo_at"`` or ``"won_at"``); None picks ``sqo_at`` when
        some lead reached SQO, else ``won_at``.

    Returns
    -------
    dict
        ``start`` (``"sal_at"``), ``target``, ``competing`` (what to pass as
        ``time_to_event(..., competing=)``: the competing column, or for ``won_at`` on data
        that also records disqualification the earlier of ``lost_at`` and
        ``disqualified_at``), ``competing_columns`` (the columns behind it),
        ``name`` / ``competing_name`` (words for titles), ``verb`` / ``competing_verb``
        (for sentences: "become SQOs" / "are disqualified"), ``key`` / ``competing_key``
        (metric name prefixes, e.g. ``"sqo"`` / ``"dq"``).

    Raises
    ------
    ConfigError
        No SAL stage, an unknown target, or a target no lead reached.
    """
    leads = journeys.leads
    if "sal_at" not in leads.columns or not leads["sal_at"].notna().any():
        raise ConfigError(
            f"{journeys.meta.get('source', 'journeys')}: no lead has a SAL date (sal_at), "
            "so time from SAL cannot be analysed; map a SAL stage in the import mapping"
        )
    if target is None:
        reached = [c for c in OUTCOMES if c in leads.columns and leads[c].notna().any()]
        if not reached:
            raise ConfigError(
                f"{journeys.meta.get('source', 'journeys')}: no lead reached sqo_at or "
                "won_at; nothing to time from SAL"
            )
        target = reached[0]
    if target not in OUTCOMES:
        raise ConfigError(f"target {target!r} is not one of {', '.join(OUTCOMES)}; pick one")
    if target not in leads.columns or not leads[target].notna().any():
        raise ConfigError(f"target {target!r}: no lead reached that stage in these journeys")
    name, key, competing, competing_name, competing_key = OUTCOMES[target]
    verbs = {"sqo": ("become SQOs", "are disqualified"), "won": ("are won", "are lost")}[key]
    columns = [competing] if competing in leads.columns else []
    spec: list[Any] = list(columns)
    if target == "won_at" and "disqualified_at" in leads.columns:
        # a disqualified SAL can no longer be won either: it competes like a lost deal
        columns.append("disqualified_at")
        spec = [leads[columns].min(axis=1).rename("lost_or_disqualified_at")]
        competing_name, verbs = "lost or disqualified", (verbs[0], "are lost or disqualified")
    return {
        "start": "sal_at",
        "target": target,
        "competing": spec,
        "competing_columns": columns,
        "name": name,
        "competing_name": competing_name,
        "verb": verbs[0],
        "competing_verb": verbs[1],
        "key": key,
        "competing_key": competing_key,
    }


def at_horizon(cif: pd.DataFrame, horizon: float, events: Sequence[int] = (1, 2)) -> pd.DataFrame:
    """Cumulative incidence of each event at a horizon, from :func:`cumulative_incidence`.

    Parameters
    ----------
    cif : pandas.DataFrame
        Output of ``survival.cumulative_incidence`` (one curve, no ``by``).
    horizon : float
        Time (duration units) at which to read the step functions.
    events : sequence of int, default (1, 2)
        Event codes wanted; an event that never happened by ``horizon`` gets ``cif`` 0 and
        no interval (NaN limits).

    Returns
    -------
    pandas.DataFrame
        Indexed by event code, columns ``cif, lower, upper``.
    """
    before = cif[cif["time"] <= horizon]
    last = before.groupby("event")[["cif", "lower", "upper"]].last()
    out = last.reindex(list(events))
    out["cif"] = out["cif"].fillna(0.0)
    return out


def group_columns(
    journeys: Any, candidates: Sequence[str] = ("segment", "nurtured", "source")
) -> list[str]:
    """Lead columns worth comparing groups by: those with at least two levels among SALs.

    Parameters
    ----------
    journeys : Journeys
        The data set.
    candidates : sequence of str, default ("segment", "nurtured", "source")
        Columns to consider, in order.

    Returns
    -------
    list of str
        The candidates present in ``journeys.leads`` with two or more non-missing values
        among leads that reached SAL (all leads when there is no ``sal_at``).
    """
    leads = journeys.leads
    if "sal_at" in leads.columns and leads["sal_at"].notna().any():
        leads = leads[leads["sal_at"].notna()]
    return [c for c in candidates if c in leads.columns and leads[c].nunique(dropna=True) >= 2]


def criteria_for(journeys: Any, criteria_file: str | os.PathLike[str] | None = None) -> list[Any]:
    """Criteria a notebook compares: a criteria file, or the built-in ones of a simulation.

    Parameters
    ----------
    journeys : Journeys
        The data set; event names in the file are checked against it.
    criteria_file : path, optional
        Criteria YAML. None: the built-in criteria of the scenario the journeys were
        simulated from (``meta["source"]``), or none for other data.

    Returns
    -------
    list of Criterion
        Possibly empty (an import without a criteria file).
    """
    from qualmodel.criteria import load_criteria

    if criteria_file is not None:
        return load_criteria(Path(criteria_file).expanduser(), known_events=journeys.event_names)
    if _has_builtin_criteria(journeys.meta):
        return load_criteria(str(journeys.meta["source"]), known_events=journeys.event_names)
    return []


def describe_data(journeys: Any, groups: Sequence[str] = ()) -> str:
    """One Markdown line describing the data a notebook analyses.

    Parameters
    ----------
    journeys : Journeys
        The data set.
    groups : sequence of str, default ()
        Grouping columns the notebook uses (see :func:`group_columns`).

    Returns
    -------
    str
        ``**Data:** <source> — N leads, M events, K SALs; lead groups: ...``.
    """
    leads = journeys.leads
    n_sal = int(leads["sal_at"].notna().sum()) if "sal_at" in leads.columns else 0
    return (
        f"**Data:** {journeys.meta.get('source', 'journeys')} — {journeys.n_leads:,} leads, "
        f"{journeys.n_events:,} events, {n_sal:,} SALs; lead groups: "
        f"{', '.join(groups) or 'none'}."
    )


def save_figure(
    fig: Any,
    name: str,
    figures_dir: str | os.PathLike[str] | None = None,
    *,
    dpi: int = 110,
    show: bool = True,
) -> None:
    """Save a matplotlib figure as ``<figures_dir>/<name>.png``, display it and close it.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    name : str
        File stem (letters, digits, ``-``, ``_``), e.g. ``"02-km-by-segment"``.
    figures_dir : path, optional
        Target folder (created if needed); ``None`` only displays the figure.
    dpi : int, default 110
    show : bool, default True
        Display the figure as a cell output (embedded in the HTML export).

    Notes
    -----
    Returns nothing so that a cell ending with this call shows no ``Out[]`` value; the
    file is ``<figures_dir>/<name>.png``.
    """
    if not _NAME_RE.match(name):
        raise ConfigError(f"save_figure: name {name!r} must use letters, digits, '-', '_'")
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")  # rendered once
    png = buf.getvalue()
    if figures_dir is not None:
        folder = Path(figures_dir).expanduser()
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{name}.png"
        tmp = folder / f".{name}.{os.getpid()}.tmp.png"
        tmp.write_bytes(png)
        os.replace(tmp, path)
    if show:
        from IPython.display import Image, display

        display(Image(data=png, format="png"))
    import matplotlib.pyplot as plt

    plt.close(fig)


def _finite(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()  # numpy scalar → Python
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def metric(
    value: Any,
    lower: Any = None,
    upper: Any = None,
    *,
    unit: str = "",
    label: str = "",
) -> dict[str, Any]:
    """Build one metric record for :func:`record_metrics`.

    Parameters
    ----------
    value : float, int or str
        The estimate.
    lower, upper : float, optional
        Confidence interval bounds.
    unit : str
        ``"share"`` (a rate in [0, 1], shown as %), ``"days"``, ``"leads"``, ... .
    label : str
        Human-readable name shown on the index page.

    Returns
    -------
    dict
        ``{value, lower, upper, unit, label}`` with plain Python numbers.
    """
    return {
        "value": _finite(value),
        "lower": _finite(lower),
        "upper": _finite(upper),
        "unit": unit,
        "label": label,
    }


def _normalise_metrics(metrics: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for key, val in metrics.items():
        if not isinstance(key, str) or not key:
            raise ConfigError(f"record_metrics: metric names must be non-empty str, got {key!r}")
        if isinstance(val, Mapping):
            rec = metric(
                val.get("value", val.get("estimate")),
                val.get("lower"),
                val.get("upper"),
                unit=str(val.get("unit", "")),
                label=str(val.get("label", "")),
            )
        else:
            rec = metric(val)
        out[key] = rec
    json.dumps(out)  # fail here, not in the runner, when something is not serialisable
    return out


def metrics_payload(
    metrics: Mapping[str, Any], *, headline: bool | Iterable[str] = False
) -> dict[str, Any]:
    """Validate metrics and build the payload that :func:`record_metrics` displays.

    Parameters
    ----------
    metrics : mapping
        name → number, string, or :func:`metric` record.
    headline : bool or iterable of str, default False
        Which metrics appear in the cross-scenario table of ``index.html`` (True: all).

    Returns
    -------
    dict
        ``{"metrics": {name: record}, "headline": [names]}``.
    """
    records = _normalise_metrics(metrics)
    if headline is True:
        heads = list(records)
    elif headline is False:
        heads = []
    else:
        heads = list(headline)
        unknown = [h for h in heads if h not in records]
        if unknown:
            raise ConfigError(f"record_metrics: headline names {unknown} are not metrics")
    return {"metrics": records, "headline": heads}


def record_metrics(metrics: Mapping[str, Any], *, headline: bool | Iterable[str] = False) -> None:
    """Record key metrics of a notebook so that the report runner can collect them.

    Emits a display output of MIME type :data:`METRICS_MIMETYPE` (plus a one-line
    ``text/plain``); ``qualmodel report`` moves it into the executed notebook's metadata
    (``metadata.qualmodel.metrics``), the target's ``summary.json`` and the index page,
    and removes the output from the notebook.

    Parameters
    ----------
    metrics : mapping
        name → number, string, or :func:`metric` record.
    headline : bool or iterable of str, default False
        Which metrics appear in the cross-scenario table of ``index.html`` (True: all).
    """
    payload = metrics_payload(metrics, headline=headline)
    from IPython.display import display

    text = f"qualmodel metrics recorded: {', '.join(payload['metrics'])}"
    display({METRICS_MIMETYPE: payload, "text/plain": text}, raw=True)


def _version(dist: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return "not installed"


def provenance(journeys: Any = None, **parameters: Any):
    """Tabulate package versions, run parameters and the journeys' provenance.

    Parameters
    ----------
    journeys : Journeys, optional
        Its ``meta`` (source / scenario, seed, configuration hash, ...) and sizes are listed.
    **parameters
        Run parameters to list (seed, n_leads, ...).

    Returns
    -------
    pandas.DataFrame
        Columns ``item, value``.
    """
    import platform

    import pandas as pd

    rows: list[tuple[str, str]] = []
    for key, val in parameters.items():
        rows.append((f"parameter {key}", str(val)))
    if journeys is not None:
        for key, val in sorted(dict(journeys.meta).items()):
            if isinstance(val, (dict, list)):
                val = json.dumps(val, sort_keys=True, default=str)
            rows.append((f"journeys {key}", str(val)))
        rows.append(("journeys leads", f"{journeys.n_leads:,}"))
        rows.append(("journeys events", f"{journeys.n_events:,}"))
    rows.append(("python", platform.python_version()))
    for dist in (
        "qualmodel",
        "numpy",
        "pandas",
        "scipy",
        "lifelines",
        "statsmodels",
        "matplotlib",
        "papermill",
    ):
        rows.append((dist, _version(dist)))
    return pd.DataFrame(rows, columns=["item", "value"])


# --------------------------------------------------------------------------------------
# running notebooks
# --------------------------------------------------------------------------------------


@dataclass
class Job:
    """One notebook execution: a template applied to one target folder."""

    template: Template
    target: str
    parameters: dict[str, Any]
    out_dir: Path
    cwd: Path
    log_path: Path
    depends_on: str | None = None

    @property
    def label(self) -> str:
        """``target/notebook`` as shown in progress output and errors."""
        return f"{self.target}/{self.template.name}"


@dataclass
class Result:
    """Outcome of a :class:`Job`."""

    job: Job
    ok: bool
    seconds: float
    ipynb: Path
    html: Path | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    headline: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    error: str | None = None


@dataclass
class RunSummary:
    """What :func:`run_reports` produced."""

    out: Path
    index: Path
    results: list[Result]
    seconds: float
    simulate_seconds: dict[str, float] = field(default_factory=dict)


def _kernel_manager_class(cwd: Path, stderr_file: Any):
    """Build an AsyncKernelManager subclass: kernel started in ``cwd``, stderr to a file.

    Papermill's own ``cwd`` changes the directory of the whole process (unsafe with
    threads); starting the kernel process itself in ``cwd`` is equivalent for the notebook.
    Kernel start-up chatter on stderr (ipykernel's TCP notice) goes into the log file.
    """
    from jupyter_client.manager import AsyncKernelManager

    class _ReportKernelManager(AsyncKernelManager):
        async def _start(self, **kw: Any) -> None:
            kw.setdefault("cwd", str(cwd))
            kw.setdefault("stderr", stderr_file)
            await AsyncKernelManager._async_start_kernel(self, **kw)

        start_kernel = _start

    return _ReportKernelManager


def execute_notebook(
    template: str | os.PathLike[str],
    output: str | os.PathLike[str],
    parameters: Mapping[str, Any] | None = None,
    *,
    cwd: str | os.PathLike[str] | None = None,
    log_path: str | os.PathLike[str] | None = None,
    progress_bar: bool | dict[str, Any] = False,
) -> Any:
    """Execute one notebook with papermill on the running interpreter's ``python3`` kernel.

    Parameters
    ----------
    template : path
        Input notebook.
    output : path
        Executed notebook to write (written even when a cell fails).
    parameters : mapping, optional
        Injected parameters.
    cwd : path, optional
        Working folder of the kernel (default: the output's folder).
    log_path : path, optional
        File receiving the kernel process's stderr (default: discarded).
    progress_bar : bool or dict
        Papermill's tqdm progress bar (a dict passes tqdm options).

    Returns
    -------
    nbformat.NotebookNode
        The executed notebook.

    Raises
    ------
    papermill.PapermillExecutionError
        When a cell raises.
    """
    import papermill

    output = Path(output)
    run_dir = Path(cwd) if cwd is not None else output.parent
    run_dir.mkdir(parents=True, exist_ok=True)
    with open(log_path or os.devnull, "ab") as err:
        return papermill.execute_notebook(
            str(template),
            str(output),
            parameters=dict(parameters or {}),
            kernel_name="python3",
            progress_bar=progress_bar,
            kernel_manager_class=_kernel_manager_class(run_dir, err),
        )


def _stream_text(output: Mapping[str, Any]) -> str:
    text = output.get("text", "")
    return "".join(text) if isinstance(text, list) else str(text)


def clean_outputs(nb: Any) -> tuple[dict[str, Any], list[str], list[str]]:
    """Collect recorded metrics from ``nb`` and tidy its outputs, in place.

    Removes metric display outputs (moving them into ``metadata.qualmodel``), drops
    stderr chatter matching :data:`IGNORED_STDERR`, copies the ``parameters`` cell's
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
                text = _stream_text(out)
                if any(p.search(text) for p in IGNORED_STDERR):
                    continue
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


def export_html(nb: Any, path: Path, *, hide_code: bool, title: str) -> Path:
    """Write ``nb`` as HTML (lab template; images stay embedded), atomically.

    Parameters
    ----------
    nb : nbformat.NotebookNode
    path : Path
    hide_code : bool
        Exclude code input and prompts (client-facing report).
    title : str
        HTML page title.

    Returns
    -------
    Path
    """
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="lab")
    exporter.exclude_input = hide_code
    exporter.exclude_input_prompt = hide_code
    exporter.exclude_output_prompt = hide_code
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": title}})
    write_text_atomic(path, body)
    return path


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


def _run_job(job: Job, progress: bool, slots: _Slots) -> Result:
    import nbformat

    out_ipynb = job.out_dir / f"{job.template.name}.ipynb"
    job.out_dir.mkdir(parents=True, exist_ok=True)
    slot = slots.take()
    bar: bool | dict[str, Any] = (
        {"desc": job.label, "position": slot, "leave": False, "file": sys.stderr}
        if progress and sys.stderr.isatty()
        else False
    )
    start = time.perf_counter()
    try:
        execute_notebook(
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
        html_path = export_html(
            nb,
            job.out_dir / f"{job.template.name}.html",
            hide_code=job.template.hide_code,
            title=f"{job.template.name} — {job.target}",
        )
    except Exception as exc:  # nbformat / nbconvert errors: report like a failed cell
        elapsed = time.perf_counter() - start
        msg = f"HTML export failed: {type(exc).__name__}: {' '.join(str(exc).split())[:300]}"
        return Result(job, False, elapsed, out_ipynb, error=msg)
    return Result(
        job,
        True,
        time.perf_counter() - start,
        out_ipynb,
        html=html_path,
        metrics=metrics,
        headline=headline,
        warnings=problems,
    )


def _annotate_injected(nb: Any, job: Job) -> None:
    """Note in the injected-parameters cell which values were temporary runner paths."""
    temp_keys = [k for k in ("journeys_dir", "journeys_root") if k in job.parameters]
    if not temp_keys or job.depends_on is None:
        return
    for cell in nb.cells:
        if "injected-parameters" in cell.get("metadata", {}).get("tags", []):
            cell.source = (
                cell.source.rstrip("\n")
                + f"\n# {', '.join(temp_keys)}: journeys simulated once by `qualmodel report` "
                "from scenario, n_leads and seed into a temporary folder (removed after the run)"
            )


# --------------------------------------------------------------------------------------
# the whole run
# --------------------------------------------------------------------------------------


def resolve_scenarios(scenario: str | Sequence[str] | None) -> list[str]:
    """Expand ``"all"`` to the built-in scenario names; keep names / YAML paths as given.

    Parameters
    ----------
    scenario : str or sequence of str, optional

    Returns
    -------
    list of str
    """
    if scenario is None:
        return []
    names = [scenario] if isinstance(scenario, str) else list(scenario)
    out: list[str] = []
    for name in names:
        if name == "all":
            out.extend(_builtin_scenarios())
        else:
            out.append(name)
    return list(dict.fromkeys(out))


def _builtin_scenarios() -> list[str]:
    return list(BUILTIN_SCENARIOS)


def _has_builtin_criteria(meta: Mapping[str, Any]) -> bool:
    """Whether journeys with this ``meta`` get built-in criteria from :func:`criteria_for`."""
    from qualmodel.criteria import list_criteria_files

    return (
        meta.get("generator") == "qualmodel.simulate"
        and str(meta.get("source", "")) in list_criteria_files()
    )


#: Parameters holding a file the notebook reads: made absolute against the caller's
#: folder (kernels run inside the staging folder) and checked before any kernel starts.
PATH_PARAMETERS: tuple[str, ...] = ("criteria_file",)


def _resolve_path_parameters(typed: dict[str, dict[str, Any]]) -> None:
    for values in typed.values():
        for key in PATH_PARAMETERS:
            val = values.get(key)
            if not isinstance(val, str):
                continue
            path = Path(val).expanduser().resolve()
            if not path.is_file():
                raise ConfigError(
                    f"--param {key}={val}: no such file ({path}); give an existing file"
                )
            values[key] = str(path)


def _target_name(scenario: str) -> str:
    """Output folder for a scenario name or YAML path."""
    stem = Path(scenario).stem if scenario.endswith((".yaml", ".yml")) else scenario
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", stem).strip("-.")
    if not name or name in (CROSS_TARGET, FAILED_DIR):
        raise ConfigError(f"--scenario {scenario!r}: cannot be used as a report folder name")
    return name


def _check_scenario(scenario: str) -> None:
    """Fail before any kernel starts when a scenario name / path is unknown."""
    from qualmodel.scenario import load_scenario

    load_scenario(scenario)


def scenario_folder(root: str | os.PathLike[str], scenario: str) -> str:
    """Folder of one scenario's saved journeys under ``root`` (as ``qualmodel report`` writes).

    Parameters
    ----------
    root : path
        The ``journeys_root`` folder.
    scenario : str
        Built-in scenario name or scenario YAML path.

    Returns
    -------
    str
        ``<root>/<name>``, the name being the scenario name or the YAML file's stem.
    """
    return str(Path(root) / _target_name(scenario))


def _simulate_to(scenario: str, n_leads: int, seed: int, folder: Path) -> float:
    start = time.perf_counter()
    journeys = journeys_for(scenario, n_leads=n_leads, seed=seed)
    journeys.write(folder)
    return time.perf_counter() - start


def _effective(template: Template, typed: Mapping[str, Any]) -> dict[str, Any]:
    params = {k: v for k, v in REPORT_DEFAULTS.items() if k in template.parameters}
    params.update(typed)
    return params


def run_reports(
    scenario: str | Sequence[str] | None = "all",
    *,
    journeys: str | os.PathLike[str] | None = None,
    notebooks: Iterable[str] | None = None,
    params: Mapping[str, str] | Iterable[str] | None = None,
    jobs: int | None = None,
    out: str | os.PathLike[str] = "reports",
    notebooks_dir: str | os.PathLike[str] | None = None,
    progress: bool = True,
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
    progress : bool, default True
        Show a tqdm bar per running notebook (when stderr is a terminal) and one line per
        finished notebook.

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
    templates = select_templates(discover_templates(notebooks_dir), notebooks)
    journeys_path: Path | None = None
    if journeys is not None:
        journeys_path = Path(journeys).expanduser().resolve()
        from qualmodel.journeys import Journeys

        meta = Journeys.read(journeys_path).meta  # validate before starting kernels
        scenarios: list[str] = []
        source = str(meta.get("scenario") or meta.get("source") or "")
        targets = {_target_name(journeys_path.name): source}
        has_criteria = _has_builtin_criteria(meta) or str(raw.get("criteria_file")) not in (
            "None",
            "",
        )
        per = [
            t
            for t in templates
            if t.kind == "scenario"
            and (
                notebooks is not None
                or (not t.simulation_only and (has_criteria or not t.needs_criteria))
            )
        ]
        cross: list[Template] = []
    else:
        scenarios = resolve_scenarios(scenario)
        if not scenarios:
            raise ConfigError("nothing to run: pass --scenario NAME|all or --journeys DIR")
        targets = {_target_name(s): s for s in scenarios}
        if len(targets) != len(scenarios):
            raise ConfigError(f"--scenario {scenarios}: two scenarios share a report folder name")
        per = [t for t in templates if t.kind == "scenario"]
        cross = [t for t in templates if t.kind == "cross"] if len(scenarios) > 1 else []
    selected = per + cross
    if not selected:
        raise ConfigError(
            "no notebook to run: cross-scenario notebooks need several scenarios and "
            "per-dataset notebooks need --scenario or --journeys"
        )
    typed = check_parameters(selected, raw)
    _resolve_path_parameters(typed)
    for s in scenarios:
        _check_scenario(s)

    out_dir = Path(out).expanduser().resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=".staging-", dir=out_dir))
    scratch = stage / ".run"
    (scratch / "logs").mkdir(parents=True)

    def sim_settings(template_list: Sequence[Template]) -> tuple[int, int]:
        merged: dict[str, Any] = dict(REPORT_DEFAULTS)
        for t in template_list:
            merged.update({k: v for k, v in typed[t.name].items() if k in ("n_leads", "seed")})
        return int(merged["n_leads"]), int(merged["seed"])

    n_leads, seed = sim_settings(selected)
    need_sim = journeys_path is None and any(
        "journeys_dir" in t.parameters or "journeys_root" in t.parameters for t in selected
    )
    job_list: list[Job] = []
    for t in cross:
        params_t = _effective(t, typed[t.name])
        if "scenarios" in t.parameters:
            params_t["scenarios"] = scenarios
        if "journeys_root" in t.parameters and need_sim:
            params_t["journeys_root"] = str(scratch / "journeys")
        if "figures_dir" in t.parameters:
            params_t["figures_dir"] = "figures"
        job_list.append(
            Job(
                t,
                CROSS_TARGET,
                params_t,
                stage / CROSS_TARGET,
                stage / CROSS_TARGET,
                scratch / "logs" / f"{CROSS_TARGET}-{t.name}.log",
                depends_on="*" if need_sim else None,
            )
        )
    for target, scen in targets.items():
        for t in per:
            params_t = _effective(t, typed[t.name])
            if "scenario" in t.parameters and scen and journeys_path is None:
                params_t["scenario"] = scen
            elif "scenario" in t.parameters and scen and scen in _builtin_scenarios():
                params_t["scenario"] = scen
            depends = None
            if journeys_path is not None and "journeys_dir" in t.parameters:
                params_t["journeys_dir"] = str(journeys_path)
            elif need_sim and "journeys_dir" in t.parameters:
                params_t["journeys_dir"] = str(scratch / "journeys" / target)
                depends = target
            if "figures_dir" in t.parameters:
                params_t["figures_dir"] = "figures"
            job_list.append(
                Job(
                    t,
                    target,
                    params_t,
                    stage / target,
                    stage / target,
                    scratch / "logs" / f"{target}-{t.name}.log",
                    depends_on=depends,
                )
            )

    results: list[Result] = []
    sim_seconds: dict[str, float] = {}
    slots = _Slots(jobs)
    failed = threading.Event()
    lock = threading.Lock()
    pool = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="qualmodel-report")
    try:
        sims: dict[str, Future[float]] = {}
        if need_sim:
            for target, scen in targets.items():
                sims[target] = pool.submit(
                    _simulate_to, scen, n_leads, seed, scratch / "journeys" / target
                )

        def run(job: Job) -> Result | None:
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
            res = _run_job(job, progress, slots)
            if not res.ok:
                failed.set()
            if progress:
                from tqdm.auto import tqdm

                mark = "ok " if res.ok else "FAILED"
                with lock:
                    tqdm.write(f"{mark} {job.label:<42} {res.seconds:6.1f} s", file=sys.stderr)
            return res

        futures = [pool.submit(run, job) for job in job_list]
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

    shutil.rmtree(scratch, ignore_errors=True)
    by_target: dict[str, list[Result]] = {}
    for r in results:
        by_target.setdefault(r.job.target, []).append(r)
    for target, res in by_target.items():
        summary = _target_summary(target, res, targets.get(target), journeys_path, scenarios)
        write_text_atomic(stage / target / "summary.json", json.dumps(summary, indent=2) + "\n")
    _swap_in(stage, out_dir, list(by_target))
    index = write_index(out_dir)
    return RunSummary(out_dir, index, results, time.perf_counter() - t0, sim_seconds)


def _target_summary(
    target: str,
    results: Sequence[Result],
    scenario: str | None,
    journeys_path: Path | None,
    scenarios: Sequence[str],
) -> dict[str, Any]:
    metrics: dict[str, Any] = {}
    headline: list[str] = []
    notebooks: dict[str, Any] = {}
    for r in sorted(results, key=lambda r: r.job.template.name):
        metrics.update(r.metrics)
        headline.extend(h for h in r.headline if h not in headline)
        notebooks[r.job.template.name] = {
            "html": f"{r.job.template.name}.html",
            "ipynb": f"{r.job.template.name}.ipynb",
            "seconds": round(r.seconds, 2),
            "parameters": {
                k: v
                for k, v in r.job.parameters.items()
                if k not in ("journeys_dir", "journeys_root", "figures_dir")
                or journeys_path is not None
            },
            "metrics": r.metrics,
        }
    kind = "cross" if target == CROSS_TARGET else ("journeys" if journeys_path else "scenario")
    return {
        "name": target,
        "kind": kind,
        "scenario": scenario or None,
        "scenarios": list(scenarios) if kind == "cross" else None,
        "journeys_dir": str(journeys_path) if journeys_path else None,
        "headline": headline,
        "metrics": metrics,
        "notebooks": notebooks,
    }


def _swap_in(stage: Path, out_dir: Path, names: Sequence[str]) -> None:
    """Move ``stage/<name>`` to ``out_dir/<name>``, replacing older folders (rename only)."""
    trash = Path(tempfile.mkdtemp(prefix=".old-", dir=out_dir))
    moved: list[str] = []
    try:
        for name in names:
            dest = out_dir / name
            if dest.exists():
                os.replace(dest, trash / name)
            os.replace(stage / name, dest)
            moved.append(name)
    except OSError as exc:
        for name in moved:  # roll back what was already swapped
            os.replace(out_dir / name, stage / name)
        for name in names:  # and put back every older folder that was set aside
            if (trash / name).exists() and not (out_dir / name).exists():
                os.replace(trash / name, out_dir / name)
        raise ReportError(
            f"{out_dir}: could not move the new reports into place ({exc.strerror or exc}); "
            f"previous reports left unchanged, new output kept in {stage} (is another "
            f"'qualmodel report' writing to the same folder?)"
        ) from None
    shutil.rmtree(trash, ignore_errors=True)
    shutil.rmtree(stage, ignore_errors=True)
    shutil.rmtree(out_dir / FAILED_DIR, ignore_errors=True)


# --------------------------------------------------------------------------------------
# index page
# --------------------------------------------------------------------------------------


def format_metric(rec: Mapping[str, Any] | None) -> str:
    """Format a metric record for a table cell (``23.4% [21.0%, 25.9%]``).

    Parameters
    ----------
    rec : mapping or None
        A :func:`metric` record.

    Returns
    -------
    str
    """
    if not rec or rec.get("value") is None:
        return "–"
    unit = rec.get("unit", "")

    def fmt(v: Any) -> str:
        if isinstance(v, str):
            return v
        if isinstance(v, bool):
            return "yes" if v else "no"
        if unit == "share":
            return f"{v:.1%}"
        if unit == "days":
            return f"{v:,.1f} d"
        if isinstance(v, int) or (isinstance(v, float) and v.is_integer() and abs(v) >= 100):
            return f"{v:,.0f}"
        return f"{v:,.3g}"

    text = fmt(rec["value"])
    lo, hi = rec.get("lower"), rec.get("upper")
    if lo is not None and hi is not None:
        text += f" [{fmt(lo)}, {fmt(hi)}]"
    return text


def ci_table(
    table: Any,
    columns: Mapping[str, str],
    *,
    index: str | None = None,
    lower: str = "{}_lo",
    upper: str = "{}_hi",
) -> Any:
    """Format estimate columns with their interval columns as display strings.

    Parameters
    ----------
    table : pandas.DataFrame
        Holds ``<col>`` and, when present, ``<col>_lo`` / ``<col>_hi`` (see ``lower`` /
        ``upper``), e.g. the output of :func:`qualmodel.compare.compare_criteria`.
    columns : mapping
        Column → unit (``"share"``, ``"days"``, ``""``) for :func:`format_metric`.
    index : str, optional
        Column to use as the row index of the result.
    lower, upper : str
        Name patterns of the bound columns.

    Returns
    -------
    pandas.DataFrame
        Strings such as ``"23.4% [21.0%, 25.9%]"``, one column per entry of ``columns``.
    """
    import pandas as pd

    out = pd.DataFrame(index=table.index)
    for col, unit in columns.items():
        lo_col, hi_col = lower.format(col), upper.format(col)
        out[col] = [
            format_metric(
                metric(
                    row[col],
                    row[lo_col] if lo_col in table.columns else None,
                    row[hi_col] if hi_col in table.columns else None,
                    unit=unit,
                )
            )
            for _, row in table.iterrows()
        ]
    if index is not None:
        out.index = pd.Index(table[index].to_numpy(), name=index)
    return out


def _load_summaries(out_dir: Path) -> list[dict[str, Any]]:
    summaries = []
    for path in sorted(out_dir.glob("*/summary.json")):
        if path.parent.name.startswith((".", "_")):
            continue
        try:
            summaries.append(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, json.JSONDecodeError):
            continue
    order = {name: i for i, name in enumerate(BUILTIN_SCENARIOS)}
    summaries.sort(
        key=lambda s: (s.get("kind") == "cross", order.get(s.get("name"), 99), s.get("name"))
    )
    return summaries


def write_index(out: str | os.PathLike[str]) -> Path:
    """(Re)write ``<out>/index.html`` from every ``<out>/*/summary.json``.

    Parameters
    ----------
    out : path
        Reports folder.

    Returns
    -------
    Path
        The index file.
    """
    out_dir = Path(out)
    summaries = _load_summaries(out_dir)
    columns = [s for s in summaries if s.get("kind") != "cross"]
    heads: list[str] = []
    labels: dict[str, str] = {}
    for s in columns:
        for h in s.get("headline") or []:
            if h not in heads:
                heads.append(h)
            rec = s.get("metrics", {}).get(h) or {}
            labels.setdefault(h, rec.get("label") or h.replace("_", " "))
    esc = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        "<title>qualmodel reports</title>",
        "<style>body{font-family:system-ui,sans-serif;margin:2rem;max-width:72rem}"
        "table{border-collapse:collapse}th,td{border:1px solid #ccc;padding:.3rem .6rem;"
        "text-align:left}th{background:#f3f3f3}td.num{text-align:right;white-space:nowrap}"
        "</style></head><body>",
        "<h1>qualmodel reports</h1>",
        "<p>SAL → SQO lead-qualification reports. Intervals are 95% confidence intervals.</p>",
    ]
    if heads and columns:
        parts.append("<h2>Key metrics across reports</h2><table><thead><tr><th>metric</th>")
        parts += [
            f'<th><a href="{esc(s["name"])}/{esc(_main_report(s))}">{esc(s["name"])}</a></th>'
            for s in columns
        ]
        parts.append("</tr></thead><tbody>")
        for h in heads:
            parts.append(f"<tr><th>{esc(labels[h])}</th>")
            for s in columns:
                cell = format_metric(s.get("metrics", {}).get(h))
                parts.append(f'<td class="num">{esc(cell)}</td>')
            parts.append("</tr>")
        parts.append("</tbody></table>")
    parts.append("<h2>Reports</h2>")
    for s in summaries:
        title = "Cross-scenario comparison" if s.get("kind") == "cross" else s["name"]
        parts.append(f"<h3>{esc(title)}</h3>")
        shown: dict[str, Any] = {}
        for info in s.get("notebooks", {}).values():
            for key in ("n_leads", "seed", "n_boot", "horizon_days"):
                if key in info.get("parameters", {}):
                    shown.setdefault(key, info["parameters"][key])
        if s.get("journeys_dir"):
            shown = {"journeys": s["journeys_dir"], **shown}
        if shown:
            text = ", ".join(f"{k} = {v}" for k, v in shown.items())
            parts.append(f"<p>Parameters: {esc(text)}</p>")
        parts.append("<ul>")
        for nb_name, info in sorted(s.get("notebooks", {}).items()):
            base = f"{esc(s['name'])}/"
            parts.append(
                f'<li><a href="{base}{esc(info["html"])}">{esc(nb_name)}</a> '
                f'(<a href="{base}{esc(info["ipynb"])}">notebook</a>)</li>'
            )
        parts.append(
            f'<li><a href="{esc(s["name"])}/summary.json">summary.json</a> '
            f'· <a href="{esc(s["name"])}/figures/">figures</a></li></ul>'
            if (out_dir / s["name"] / "figures").is_dir()
            else f'<li><a href="{esc(s["name"])}/summary.json">summary.json</a></li></ul>'
        )
    parts.append("</body></html>\n")
    path = out_dir / "index.html"
    write_text_atomic(path, "\n".join(parts))
    return path


def _main_report(summary: Mapping[str, Any]) -> str:
    """Return the report a column header links to (the client report when present)."""
    notebooks = summary.get("notebooks", {})
    for name in sorted(notebooks):
        if "client" in name:
            return notebooks[name]["html"]
    return notebooks[sorted(notebooks)[0]]["html"] if notebooks else "summary.json"
