"""Notebook templates: discovery, parameter inspection and type-checking.

The templates are ``notebooks/NN-name.ipynb``; each has one cell tagged ``parameters``
holding typed, commented literals. Template metadata (``metadata.qualmodel`` in the
``.ipynb``) may set ``kind`` (``"scenario"``: one run per scenario or journeys folder;
``"cross"``: one run for all scenarios; default ``"cross"`` for numbers ≥ 20) and
``hide_code`` (export without code, default false) and ``pdf`` (client-facing: also a PDF).
"""

from __future__ import annotations

import ast
import json
import logging
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qualmodel.core.errors import ConfigError, InputError, QualmodelError, preview

if TYPE_CHECKING:
    pass


#: MIME type of the display output that :func:`record_metrics` emits.
METRICS_MIMETYPE = "application/vnd.qualmodel.metrics+json"
#: ``--format`` values: ``both`` (HTML of every notebook, and a PDF of the client-facing
#: ones), ``html`` (no PDF), ``pdf`` (client-facing notebooks as PDF only).
FORMATS: tuple[str, ...] = ("both", "html", "pdf")
#: Folder name of the cross-scenario report inside the output folder.
CROSS_TARGET = "cross-scenario"
#: Folder name (inside the output folder) that keeps the output of a failed run.
FAILED_DIR = "_failed"
#: Name prefix of the staging folder a run writes into (inside the output folder).
STAGING_PREFIX = ".staging-"
#: Parameter values the runner uses for ``qualmodel report`` / ``make report`` when the
#: user does not override them (applied only to notebooks that declare the name). The
#: notebooks' own literal defaults are smaller so that opening or nbval-testing a template
#: stays quick. ``n_replicates`` = 500 keeps every power interval of a report within
#: ±0.05 (Wilson, 95%); ``show_progress`` off keeps progress bars out of rendered reports.
REPORT_DEFAULTS: dict[str, Any] = {
    "n_leads": 20_000,
    "seed": 2026,
    "n_boot": 500,
    "n_replicates": 500,
    "show_progress": False,
}
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
#: A progress-bar update (tqdm's text bar: ``power:  40%|####      | 48/120 [...]``); such
#: lines are removed from a rendered report's stderr, other stderr text is kept.
PROGRESS_LINE = re.compile(r"\d+%\|[^|]*\|\s*\d+(?:\.\d+)?[kMG]?/\d+")

_TEMPLATE_RE = re.compile(r"^(?P<number>\d{2})-(?P<slug>[A-Za-z0-9][A-Za-z0-9_-]*)\.ipynb$")
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


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
    pdf : bool
        Client-facing (``metadata.qualmodel.pdf``): also typeset as a PDF (``--format``).
    """

    name: str
    path: Path
    kind: str
    hide_code: bool
    parameters: dict[str, dict[str, Any]] = field(default_factory=dict)
    simulation_only: bool = False
    needs_criteria: bool = False
    pdf: bool = False


def _is_notebooks_dir(path: Path) -> bool:
    return path.is_dir() and any(_TEMPLATE_RE.match(p.name) for p in path.glob("*.ipynb"))


def find_notebooks_dir(notebooks_dir: str | os.PathLike[str] | None = None) -> Path:
    """Locate the folder holding the ``NN-name.ipynb`` templates.

    Looked up in order: ``notebooks_dir``; the ``QUALMODEL_NOTEBOOKS`` environment
    variable; the templates shipped as package data in ``qualmodel/report/notebooks``
    (the checkout's top-level ``notebooks/`` is a link to that folder).

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
    candidates.append(Path(str(resources.files("qualmodel.report"))) / "notebooks")
    for cand in candidates:
        if _is_notebooks_dir(cand):
            return cand.resolve()
    raise ConfigError(
        "no notebook templates found (looked in QUALMODEL_NOTEBOOKS and the installed "
        "package); reinstall qualmodel or pass --notebooks-dir"
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
                pdf=bool(meta.get("pdf", False)),
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
