"""Helpers called from inside the notebook templates.

:func:`journeys_for`, :func:`outcome_plan`, :func:`save_figure`, :func:`provenance` and
friends: what a notebook author reads. The metric records (:func:`metric`,
:func:`record_metrics`, :func:`format_metric`, :func:`ci_table`) are in
:mod:`qualmodel.report.metrics`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qualmodel.core.atomic import write_bytes_atomic
from qualmodel.core.errors import ConfigError
from qualmodel.report.templates import NAME_RE, STAGING_PREFIX
from qualmodel.simulation.engine import GENERATOR
from qualmodel.simulation.scenario import BUILTIN_SCENARIOS

if TYPE_CHECKING:
    import pandas as pd


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
    from qualmodel.journeys.contract import Journeys

    if journeys_dir is not None:
        return Journeys.read(Path(journeys_dir).expanduser())
    from qualmodel.simulation.engine import simulate
    from qualmodel.simulation.scenario import load_scenario

    return simulate(load_scenario(scenario), n_leads=n_leads, seed=seed)


def outcome_plan(
    journeys: Any,
    target: str | None = None,
    start: str | None = None,
    competing: Sequence[str] | None = None,
    missing_ok: bool = False,
) -> dict[str, Any] | None:
    """Choose the start stage, the outcome a report times and its competing outcomes.

    Thin wrapper of :func:`qualmodel.journeys.outcomes.plan_outcomes` (read it for the defaults):
    start at SAL when some lead has one, else at the earliest stage present; target SQO
    when some lead reached it, else won; every terminal outcome present that ends some
    journey first competes, each separately, under the data's own name.

    Parameters
    ----------
    journeys : Journeys
        The data set.
    target, start : str, optional
        Stage stem, column or the data's label (``"sqo"``, ``"won_at"``, ``"approved"``).
    competing : sequence of str, optional
        Competing outcomes; ``[]`` for none; default from the data.
    missing_ok : bool, default False
        With no ``target`` given and no default target reached (no SQO, no won): return
        None instead of raising (a notebook then skips its time-to-event section).

    Returns
    -------
    dict or None
        See :func:`qualmodel.journeys.outcomes.plan_outcomes`.

    Raises
    ------
    ConfigError
        An unknown stage, or a start or target no lead reached.
    """
    from qualmodel.journeys.outcomes import plan_outcomes

    if missing_ok and target is None:
        leads = journeys.leads
        if not any(c in leads and leads[c].notna().any() for c in ("sqo_at", "won_at")):
            return None
    return plan_outcomes(journeys, start=start, target=target, competing=competing)


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


def median_metric(
    result: Mapping[str, Any], goal: str, competing: str, start: str = "SAL"
) -> dict[str, Any]:
    """Record the headline median as a metric, with the same label and definition everywhere.

    Parameters
    ----------
    result : mapping
        Output of :func:`qualmodel.survival.medians.median_among_reached`.
    goal, competing : str
        Names of the outcome and of the competing outcome (``plan["name"]``,
        ``plan["competing_name"]`` of :func:`outcome_plan`).
    start : str, default "SAL"
        Name of the start stage (``plan["start_name"]``).

    Returns
    -------
    dict
        A :func:`metric` record in days whose ``note`` is
        :func:`qualmodel.report.wording.median_definition` (listed on the index page).
    """
    from qualmodel.journeys.outcomes import stage_plural
    from qualmodel.report.metrics import metric
    from qualmodel.report.wording import median_definition

    h = result["horizon"]
    return metric(
        result["median"],
        result["lower"],
        result["upper"],
        unit="days",
        label=f"median days {start} → {goal} (of {stage_plural(start)} reaching {goal} by day "
        f"{h:g})",
        note=median_definition(goal, competing, h, start),
    )


def outcome_plan_start(journeys: Any, start: str | None = None) -> str:
    """Return the start column: ``start`` resolved, or the default (SAL, else the earliest).

    Parameters
    ----------
    journeys : Journeys
    start : str, optional
        Stage stem, column or label; None for the default of :func:`outcome_plan`.

    Returns
    -------
    str
    """
    from qualmodel.journeys.outcomes import default_start, resolve_stage

    if start is not None:
        return resolve_stage(journeys, start, "start")
    return default_start(journeys.leads)


def skip_rest(message: str) -> None:
    """Show ``message`` and turn every later cell of this notebook run into a no-op.

    For a notebook that cannot apply to the data (e.g. criteria comparison on data without
    criteria): the executed notebook, its HTML and plain ``papermill`` end with the
    explanation instead of a traceback, and the run succeeds.

    Parameters
    ----------
    message : str
        Markdown shown as the cell's output (one line: what is missing and how to supply it).
    """
    from IPython import get_ipython
    from IPython.display import Markdown, display

    display(Markdown(message))
    shell = get_ipython()
    if shell is not None and _skip_cell not in shell.input_transformers_post:
        shell.input_transformers_post.append(_skip_cell)


def _skip_cell(lines: list[str]) -> list[str]:
    """IPython input transformer of :func:`skip_rest`: run nothing."""
    return []


def group_columns(
    journeys: Any,
    group: str | Sequence[str] | None = None,
    start: str | None = None,
) -> list[str]:
    """Lead attributes a notebook compares groups by (the plan's ``groups``).

    Parameters
    ----------
    journeys : Journeys
        The data set.
    group : str or sequence of str, optional
        Attribute names, comma-separated or a list; ``"none"`` for no groups. Default:
        :func:`qualmodel.journeys.outcomes.default_groups` (2–12 levels among starters).
    start : str, optional
        Start stage (stem, column or label); default the plan's default start.

    Returns
    -------
    list of str
        The group columns (a named one with a single level left out; a non-attribute
        raises ``ConfigError``).
    """
    from qualmodel.journeys.outcomes import plan_groups

    start = outcome_plan_start(journeys, start)
    if isinstance(group, str):
        group = [] if group.strip().lower() == "none" else [g.strip() for g in group.split(",")]
    cols = plan_groups(journeys, start, group)
    if group is None:
        return cols
    leads = journeys.leads[journeys.leads[start].notna()]
    return [c for c in cols if leads[c].nunique(dropna=True) >= 2]


def model_covariates(
    table: pd.DataFrame, columns: Sequence[str], cause: int | None = None
) -> tuple[list[str], list[str]]:
    """Split group columns into those one regression can hold together and the rest.

    Columns are taken in order; each is kept when its indicator columns (all levels but
    the first, as the models code them) add their full count to the rank of the design
    built so far (intercept included). Left out: columns with one value, columns
    determined by the kept ones (a manager nested within a region, say), which would make
    the model's terms collinear, and — with ``cause`` — columns with a level that has no
    event of the cause (its coefficient would be infinite).

    Parameters
    ----------
    table : pandas.DataFrame
        The model's rows (e.g. a ``time_to_event`` table with the group columns).
    columns : sequence of str
    cause : int, optional
        Event code of the modelled outcome (``table["event"]``).

    Returns
    -------
    kept, left_out : list of str
    """
    import numpy as np
    import pandas as pd

    kept: list[str] = []
    left_out: list[str] = []
    design = np.ones((len(table), 1))
    for col in columns:
        codes = pd.get_dummies(table[col].astype(str), drop_first=True, dtype=float)
        empty = cause is not None and (
            (table["event"] == cause).groupby(table[col].astype(str)).sum().eq(0).any()
        )
        if codes.shape[1] == 0 or empty:
            left_out.append(col)
            continue
        trial = np.hstack([design, codes.to_numpy()])
        if np.linalg.matrix_rank(trial) == design.shape[1] + codes.shape[1]:
            design = trial
            kept.append(col)
        else:
            left_out.append(col)
    return kept, left_out


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
    from qualmodel.criteria.engine import load_criteria

    if criteria_file is not None:
        return load_criteria(Path(criteria_file).expanduser(), known_events=journeys.event_names)
    if has_builtin_criteria(journeys.meta):
        return load_criteria(str(journeys.meta["source"]), known_events=journeys.event_names)
    return []


def describe_data(
    journeys: Any,
    groups: Sequence[str] = (),
    start: str | None = None,
    lang: str = "en",
    title: str | None = None,
) -> str:
    """One Markdown line describing the data a notebook analyses.

    Parameters
    ----------
    journeys : Journeys
        The data set.
    groups : sequence of str, default ()
        Grouping columns the notebook uses (see :func:`group_columns`).
    start : str, optional
        Start stage counted (stem, column or label; default: :func:`outcome_plan`'s).
    lang : str, default "en"
        Report language (:mod:`qualmodel.core.i18n`).
    title : str, optional
        How the data are named (default ``meta["source"]``).

    Returns
    -------
    str
        ``**Data:** <source> — N leads, M events, K SALs; lead groups: ...`` with the
        start stage named as the data names it.
    """
    from qualmodel.journeys.outcomes import stage_labels, stage_plural

    start = outcome_plan_start(journeys, start)
    n_start = int(journeys.leads[start].notna().sum())
    from qualmodel.core.i18n import t, value_label

    label = stage_labels(journeys)[start]
    shown = [value_label("columns", g, lang) for g in groups]  # names in the report's language
    return t(
        "data.describe",
        lang,
        source=title or journeys.meta.get("source", "journeys"),
        n_leads=journeys.n_leads,
        n_events=journeys.n_events,
        n_start=n_start,
        labels=stage_plural(label, lang),
        groups=", ".join(shown) or t("data.no_groups", lang),
    )


def save_figure(
    fig: Any,
    name: str,
    figures_dir: str | os.PathLike[str] | None = None,
    *,
    dpi: int = 110,
    show: bool = True,
    density: int = 2,
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
        Display resolution: the figure is shown ``dpi`` pixels per inch of its size.
    show : bool, default True
        Display the figure as a cell output (embedded in the HTML export).
    density : int, default 2
        Pixels per displayed pixel (1–4): the PNG is rendered at ``dpi * density`` and
        shown at its ``dpi`` size, so screens with dense pixels and the PDF report get
        sharp figures (220 dpi by default; the PDF needs at least 150).

    Notes
    -----
    Returns nothing so that a cell ending with this call shows no ``Out[]`` value; the
    file is ``<figures_dir>/<name>.png``, cropped to the drawn content and stored as RGB
    (:func:`qualmodel.plotting.png.png_bytes`: matplotlib's pixels, without the alpha
    channel an opaque figure does not need).
    """
    if not NAME_RE.match(name):
        raise ConfigError(f"save_figure: name {name!r} must use letters, digits, '-', '_'")
    from qualmodel.plotting.png import png_bytes

    if not (isinstance(density, int) and 1 <= density <= 4):
        raise ConfigError(f"save_figure: density must be a whole number 1-4, got {density!r}")
    png = png_bytes(fig, dpi * density)  # rendered once, cropped to its content
    if figures_dir is not None:
        folder = Path(figures_dir).expanduser()
        folder.mkdir(parents=True, exist_ok=True)
        write_bytes_atomic(folder / f"{name}.png", png)
    if show:
        from IPython.display import Image, display

        width = int.from_bytes(png[16:20], "big")  # the PNG header's pixel width
        display(Image(data=png, format="png", width=max(1, width // density)))
    import matplotlib.pyplot as plt

    plt.close(fig)


def _version(dist: str, lang: str = "en") -> str:
    from importlib.metadata import PackageNotFoundError, version

    from qualmodel.core.i18n import t

    try:
        return version(dist)
    except PackageNotFoundError:
        return t("provenance.not_installed", lang)


#: Notebook parameters that only choose a simulation: not listed by :func:`provenance`
#: when the notebook read a journeys folder instead (they were not used).
SIMULATION_PARAMETERS: tuple[str, ...] = ("scenario", "n_leads")


def in_staging(path: Any) -> bool:
    """Whether ``path`` lies inside a ``qualmodel report`` staging folder (removed after a run).

    Parameters
    ----------
    path : path-like or None

    Returns
    -------
    bool
    """
    return path is not None and any(
        part.startswith(STAGING_PREFIX) for part in Path(str(path)).parts
    )


def _provenance_value(key: str, val: Any, lang: str = "en") -> str:
    """Show a parameter; a journeys folder inside a report staging folder is temporary."""
    from qualmodel.core.i18n import display_value, t

    if key in ("journeys_dir", "journeys_root") and in_staging(val):
        return t("provenance.staging", lang)
    if key.endswith(("_dir", "_file", "_root")) and isinstance(val, (str, os.PathLike)):
        return Path(val).name  # the folder or file name, never an absolute path
    return display_value(val, lang)


#: A SHA-256 digest (optionally ``sha256:``-prefixed) is shown by its first characters.
_DIGEST = re.compile(r"^(?:sha256:)?([0-9a-f]{12})[0-9a-f]{52}$")


def plain_value(val: Any, lang: str = "en") -> str:
    """Show a provenance value in words: no braces, short digests, file names not paths.

    Mappings read ``key value; key value``, nested ones ``key (…)``; lists are joined with
    commas; a SHA-256 digest shows its first 12 characters; a ``path`` shows its file
    name; numbers follow the language's conventions.
    """
    from qualmodel.core.i18n import display_value, fmt_number

    if isinstance(val, dict):
        parts = []
        for k, v in val.items():
            shown = plain_value(Path(str(v)).name if k == "path" else v, lang)
            parts.append(f"{k} ({shown})" if isinstance(v, dict) else f"{k} {shown}")
        return "; ".join(parts) if parts else "–"
    if isinstance(val, (list, tuple)):
        return ", ".join(plain_value(v, lang) for v in val) if val else "–"
    if isinstance(val, str):
        digest = _DIGEST.match(val)
        return f"{digest.group(1)}…" if digest else display_value(val, lang)
    if isinstance(val, int) and not isinstance(val, bool):
        return fmt_number(val, lang, ",")
    return display_value(val, lang)


def provenance(journeys: Any = None, *, lang: str = "en", **parameters: Any):
    """Tabulate package versions, run parameters and the journeys' provenance.

    Parameters
    ----------
    journeys : Journeys, optional
        Its ``meta`` (source / scenario, seed, configuration hash, ...) and sizes are listed.
    **parameters
        Run parameters to list (seed, n_leads, ...). When ``journeys_dir`` is given (not
        None), the simulation-only parameters :data:`SIMULATION_PARAMETERS` are left out:
        the notebook read that folder and did not use them. A ``journeys_dir`` inside a
        ``qualmodel report`` staging folder (removed after the run) is described as such.
    lang : str, default "en"
        Report language of the labels (:mod:`qualmodel.core.i18n`); listed as a parameter
        when not English.

    Returns
    -------
    pandas.DataFrame
        One column ``value``, indexed by ``item`` (shown without a row number).
    """
    import platform

    import pandas as pd

    from qualmodel.core.i18n import fmt_number, t

    rows: list[tuple[str, str]] = []
    read_folder = parameters.get("journeys_dir") is not None
    if lang != "en":
        parameters = {**parameters, "lang": lang}
    for key, val in parameters.items():
        if read_folder and key in SIMULATION_PARAMETERS:
            continue
        rows.append((t("provenance.parameter", lang, key=key), _provenance_value(key, val, lang)))
    if journeys is not None:
        for key, val in sorted(dict(journeys.meta).items()):
            if isinstance(val, dict) and val and all(isinstance(v, dict) for v in val.values()):
                for sub, inner in val.items():  # e.g. one row per imported file
                    label = t("provenance.journeys", lang, key=f"{key} {sub}")
                    rows.append((label, plain_value(inner, lang)))
                continue
            rows.append((t("provenance.journeys", lang, key=key), plain_value(val, lang)))
        rows.append((t("provenance.leads", lang), fmt_number(journeys.n_leads, lang, ",")))
        rows.append((t("provenance.events", lang), fmt_number(journeys.n_events, lang, ",")))
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
        rows.append((dist, _version(dist, lang)))
    item, value = t("provenance.item", lang), t("provenance.value", lang)
    return pd.DataFrame(rows, columns=[item, value]).set_index(item)


def builtin_scenarios() -> list[str]:
    """Return the names of the built-in scenarios."""
    return list(BUILTIN_SCENARIOS)


def has_builtin_criteria(meta: Mapping[str, Any]) -> bool:
    """Whether journeys with this ``meta`` get built-in criteria from :func:`criteria_for`."""
    from qualmodel.criteria.engine import list_criteria_files

    return (
        meta.get("generator") == GENERATOR and str(meta.get("source", "")) in list_criteria_files()
    )
