"""Which funnel a data set describes: start stage, target, competing outcomes and their names.

Real funnels differ: a marketing funnel may run MQL → won with no SAL and no lost stage, an
opportunity pipeline SAL → won/lost with no SQO, a loan-application log may end in approved,
declined or cancelled. This module reads the stages a :class:`~qualmodel.Journeys` object
actually holds and plans the time-to-event analysis the reports and the CLI run on it:

* :func:`stage_labels` — the data's own name for every stage column (``meta["outcomes"]``
  overrides the defaults ``MQL``, ``SAL``, ``SQO``, ``won``, ``lost``, ...);
* :func:`resolve_stage` — a stage given as ``sqo``, ``sqo_at`` or a label (``declined``);
* :func:`plan_outcomes` — start (default: SAL if some lead has one, else the earliest stage
  present), target (default: SQO if some lead reached one, else won) and the competing
  outcomes (default: every terminal outcome that ends some journey before the target);
* :func:`outcome_label`, :func:`outcome_verb` — a stage's name and verb in the report
  language (the data's own vocabulary where it has one);
* :func:`label_missing` — group columns with missing values labelled ``"(missing)"``.

The headline shares of a plan and the cure-model rule are estimated in
:mod:`qualmodel.survival.headline`; :mod:`qualmodel.report.wording` words them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from qualmodel.core.errors import ConfigError
from qualmodel.journeys.contract import BANT_COLUMNS, outcome_labels

__all__ = [
    "DEFAULT_LABELS",
    "PlanWarning",
    "default_competing",
    "default_groups",
    "default_start",
    "default_target",
    "label_missing",
    "outcome_label",
    "outcome_verb",
    "censored_outcomes",
    "plan_groups",
    "plan_outcomes",
    "reference_group",
    "resolve_stage",
    "stage_labels",
    "stage_plural",
    "terminal_outcomes",
]

#: Display name of each standard stage column (overridden by ``meta["outcomes"]``).
DEFAULT_LABELS: dict[str, str] = {
    "created_at": "created",
    "mql_at": "MQL",
    "sal_at": "SAL",
    "sqo_at": "SQO",
    "disqualified_at": "disqualified",
    "won_at": "won",
    "lost_at": "lost",
    "recycled_at": "recycled",
}
#: Metric-name stem of the standard stages (other columns use their own stem).
_KEYS: dict[str, str] = {"disqualified_at": "dq"}
#: Stages that can start the clock, earliest first (SAL is preferred when present).
_START_ORDER: tuple[str, ...] = ("mql_at", "sal_at", "sqo_at")
#: Standard terminal outcomes, in the order they are listed as competing outcomes.
_TERMINAL: tuple[str, ...] = ("disqualified_at", "lost_at", "won_at")
#: Label of missing group values in tables and figures.
MISSING_LABEL = "(missing)"


def _reached(leads: pd.DataFrame, col: str) -> bool:
    return col in leads.columns and bool(leads[col].notna().any())


def stage_labels(journeys: Any) -> dict[str, str]:
    """Return the data's own name of every stage column in ``journeys.leads``.

    Parameters
    ----------
    journeys : Journeys

    Returns
    -------
    dict
        Column → label: :data:`DEFAULT_LABELS`, overridden and extended by the outcomes
        declared in ``journeys.meta["outcomes"]`` (``{label: column}``).
    """
    labels = {c: v for c, v in DEFAULT_LABELS.items() if c in journeys.leads.columns}
    labels["created_at"] = "created"
    labels.update(outcome_labels(journeys.meta))
    return labels


def _key(column: str) -> str:
    return _KEYS.get(column, column.removesuffix("_at"))


def resolve_stage(journeys: Any, name: str, option: str = "stage") -> str:
    """Map a stage name to its ``leads`` column: ``sqo``, ``sqo_at`` or a label (``declined``).

    Parameters
    ----------
    journeys : Journeys
    name : str
        Stem, column name or the data's label (case-insensitive).
    option : str, default "stage"
        What the name was given as, for the error message (e.g. ``"--target"``).

    Returns
    -------
    str
        The column name.

    Raises
    ------
    ConfigError
        Unknown stage (the message lists the stages present).
    """
    labels = stage_labels(journeys)
    wanted = name.strip().lower()
    for col, label in labels.items():
        if wanted in (col.lower(), col.lower().removesuffix("_at"), label.lower()):
            return col
    known = []
    for col, label in labels.items():
        stem = col.removesuffix("_at")
        known.append(stem if label.lower() == stem else f"{stem} ({label})")
    raise ConfigError(
        f"{option} '{name}': no such stage in these journeys; use one of {', '.join(known)}"
    )


def default_start(leads: pd.DataFrame) -> str:
    """Default start column: ``sal_at`` when some lead has it, else the earliest stage present.

    Parameters
    ----------
    leads : pandas.DataFrame

    Returns
    -------
    str
        ``sal_at``, ``mql_at``, ``sqo_at`` or ``created_at``.
    """
    if _reached(leads, "sal_at"):
        return "sal_at"
    for col in _START_ORDER:
        if _reached(leads, col):
            return col
    return "created_at"


class PlanWarning(UserWarning):
    """A default of the analysis plan censors an outcome the data hold (say which)."""


def default_target(leads: pd.DataFrame, start: str) -> str:
    """Default target column: ``sqo_at`` when some lead reached it, else ``won_at``.

    Parameters
    ----------
    leads : pandas.DataFrame
    start : str
        The start column (never its own target).

    Returns
    -------
    str

    Raises
    ------
    ConfigError
        Neither stage reached (choose ``target=``).
    """
    for col in ("sqo_at", "won_at"):
        if col != start and _reached(leads, col):
            return col
    raise ConfigError(
        "no lead reached sqo_at or won_at; choose the outcome to time with target=... "
        "(a stage column some lead reached)"
    )


def _competes(leads: pd.DataFrame, start: str, target: str, col: str) -> bool:
    """Whether ``col`` ends some journey from ``start`` before (or without) the target."""
    if col in (start, target) or not _reached(leads, col):
        return False
    s, t, c = (leads[x].to_numpy() for x in (start, target, col))
    first = ~np.isnat(s) & ~np.isnat(c) & (np.isnat(t) | (c < t))
    return bool(first.any())


def terminal_outcomes(journeys: Any) -> list[str]:
    """Terminal outcome columns some lead reached: the standard ones, then the declared extras.

    Parameters
    ----------
    journeys : Journeys

    Returns
    -------
    list of str
    """
    extra = [c for c in outcome_labels(journeys.meta) if c not in _TERMINAL]
    return [c for c in (*_TERMINAL, *extra) if _reached(journeys.leads, c)]


def default_competing(journeys: Any, start: str, target: str) -> list[str]:
    """Return the competing outcomes a plan uses by default.

    Every terminal outcome that ends some journey from ``start`` before the target, each
    kept separate: the standard ones (disqualified, lost, won) first, then the extra
    outcomes declared in ``meta["outcomes"]``. :func:`plan_outcomes`, the CLI and
    :func:`~qualmodel.survival.durations.time_to_event` all use this one rule.

    Parameters
    ----------
    journeys : Journeys
    start, target : str
        Stage columns.

    Returns
    -------
    list of str
        Columns, in the order they are coded 2, 3, ...
    """
    leads = journeys.leads
    if start not in leads or target not in leads:
        return []
    extra = [c for c in outcome_labels(journeys.meta) if c not in _TERMINAL]
    return [c for c in (*_TERMINAL, *extra) if _competes(leads, start, target, c)]


def censored_outcomes(
    journeys: Any, start: str, target: str, competing: Sequence[str]
) -> list[str]:
    """Terminal outcomes that end some journey first but are not among ``competing``.

    Such leads are counted as still open (censored at the outcome's follow-up end), which
    biases the target's cumulative incidence upward; plans, the CLI and
    :func:`~qualmodel.survival.durations.time_to_event` say so when this happens.

    Parameters
    ----------
    journeys : Journeys
    start, target : str
        Stage columns.
    competing : sequence of str
        The competing columns of the analysis.

    Returns
    -------
    list of str
        Columns, in :func:`default_competing` order.
    """
    return [c for c in default_competing(journeys, start, target) if c not in competing]


def default_groups(journeys: Any, start: str | None = None, max_levels: int = 12) -> list[str]:
    """Lead attributes worth comparing groups by: 2 to ``max_levels`` levels among starters.

    Parameters
    ----------
    journeys : Journeys
    start : str, optional
        Start column (default :func:`default_start`); only leads that reached it count.
    max_levels : int, default 12
        Most distinct non-missing values an attribute may have.

    Returns
    -------
    list of str
        Attribute columns with 2 to ``max_levels`` distinct non-missing values among the
        leads that reached ``start``, in column order — not ids, stage or time columns,
        not simulation truth ``true_*``, not the BANT answers (``budget_confirmed``,
        ``authority``, ``need``: criteria inputs, compared in the criteria reports).
    """
    leads = journeys.leads
    start = default_start(leads) if start is None else start
    rows = leads[leads[start].notna()] if start in leads else leads.iloc[:0]
    skip = {"lead_id", "observed_until", *BANT_COLUMNS}
    out = []
    for col in rows.columns:
        s = rows[col]
        if col in skip or col.startswith("true_") or pd.api.types.is_datetime64_any_dtype(s):
            continue
        if 2 <= s.nunique(dropna=True) <= max_levels:
            out.append(col)
    return out


def reference_group(values: pd.Series) -> str:
    """Return the largest group of ``values`` (ties: first in sorted order), never "(missing)".

    Missing values (and values already labelled "(missing)" by :func:`label_missing`) are
    not a group here.

    Parameters
    ----------
    values : pandas.Series
        One group column (missing values are not a group here).

    Returns
    -------
    str
        The level as text (``True`` → ``"True"``), as :func:`label_missing` writes it.
    """
    counts = values.dropna().astype(str).value_counts().drop(MISSING_LABEL, errors="ignore")
    if counts.empty:
        return MISSING_LABEL
    top = counts[counts == counts.max()].index
    return str(sorted(top)[0])


def plan_groups(journeys: Any, start: str, groups: str | Sequence[str] | None) -> list[str]:
    """Return the group columns of a plan: ``groups`` checked, or :func:`default_groups`.

    Parameters
    ----------
    journeys : Journeys
    start : str
        Start column.
    groups : str or sequence of str, optional
        Lead attributes; None for the default.

    Returns
    -------
    list of str

    Raises
    ------
    ConfigError
        A name that is not a lead attribute (the message lists the defaults).
    """
    if groups is None:
        return default_groups(journeys, start)
    cols = [groups] if isinstance(groups, str) else list(groups)
    leads = journeys.leads
    bad = [c for c in cols if c not in leads.columns or c.endswith("_at") or c == "lead_id"]
    if bad:
        options = ", ".join(default_groups(journeys, start)) or "none with 2-12 levels"
        raise ConfigError(f"group {bad[0]!r}: not a lead attribute; use one of {options}")
    return cols


def plan_outcomes(
    journeys: Any,
    start: str | None = None,
    target: str | None = None,
    competing: Sequence[str] | None = None,
    groups: str | Sequence[str] | None = None,
) -> dict[str, Any]:
    """Plan a time-to-event analysis on the stages this data set holds.

    Parameters
    ----------
    journeys : Journeys
    start : str, optional
        Stage where the clock starts (stem, column or label). Default: ``sal_at`` when
        some lead has it, else the earliest of ``mql_at``, ``sqo_at`` present, else
        ``created_at``.
    target : str, optional
        Outcome of interest. Default: ``sqo_at`` when some lead reached SQO, else
        ``won_at``.
    competing : sequence of str, optional
        Competing outcomes (codes 2, 3, ... in this order); ``[]`` for none. Default: every
        terminal outcome (``disqualified``, ``lost``, ``won`` and the extra outcomes
        declared in ``meta["outcomes"]``) that ends at least one journey from ``start``
        before the target — each kept separate, never lumped.
    groups : str or sequence of str, optional
        Lead attributes to compare groups by (``[]`` for none). Default:
        :func:`default_groups` (the attributes with 2–12 levels among the starters).

    Returns
    -------
    dict
        ``start``, ``target`` (columns), ``competing`` (list of columns, as for
        ``time_to_event(..., competing=)``), ``competing_columns`` (same list),
        ``start_name``, ``start_plural`` ("SALs", "created leads": :func:`stage_plural`),
        ``name``, ``competing_names`` (labels), ``competing_name`` (labels joined by " or ";
        empty when nothing competes), ``verb`` / ``verb_past`` / ``competing_verb`` /
        ``competing_verbs`` (sentence fragments: "become SQOs", "became SQOs", "are lost",
        "are cancelled"; :func:`outcome_verb`), ``key`` / ``competing_keys`` /
        ``competing_key`` (metric-name stems), ``event_labels``
        (event code → label, 0 = "still open"), ``censored`` / ``censored_names``
        (terminal outcomes that end some journey first but are not competing: counted as
        still open — :func:`censored_outcomes`), ``groups`` (attribute columns) and
        ``references`` (group column → its largest group, the reference of differences:
        :func:`reference_group`).

    Raises
    ------
    ConfigError
        Unknown stage, a start or target no lead reached, target equal to start.
    """
    leads = journeys.leads
    source = journeys.meta.get("source", "journeys")
    start_col = default_start(leads) if start is None else resolve_stage(journeys, start, "start")
    if not _reached(leads, start_col):
        raise ConfigError(f"{source}: start {start_col!r}: no lead reached that stage")
    if target is None:
        target_col = default_target(leads, start_col)
    else:
        target_col = resolve_stage(journeys, target, "target")
    if target_col == start_col:
        raise ConfigError(f"target {target_col!r} is the start stage; choose a later stage")
    if not _reached(leads, target_col):
        raise ConfigError(f"target {target_col!r}: no lead reached that stage in these journeys")
    if competing is None:
        cols = default_competing(journeys, start_col, target_col)
    else:
        cols = [resolve_stage(journeys, c, "competing") for c in competing]
        bad = [c for c in cols if c in (start_col, target_col)]
        if bad:
            raise ConfigError(f"competing {bad[0]!r} is the start or the target; drop it")
    labels = stage_labels(journeys)
    name = labels[target_col]
    names = [labels[c] for c in cols]
    censored = censored_outcomes(journeys, start_col, target_col, cols)
    group_cols = plan_groups(journeys, start_col, groups)
    verb = outcome_verb(target_col, name)
    competing_verbs = [outcome_verb(c, labels[c]) for c in cols]
    competing_verb = " or ".join(competing_verbs)
    return {
        "start": start_col,
        "target": target_col,
        "competing": list(cols),
        "competing_columns": list(cols),
        "start_name": labels[start_col],
        "start_plural": stage_plural(labels[start_col]),
        "name": name,
        "competing_names": names,
        "competing_name": " or ".join(names),
        "verb": verb,
        "verb_past": outcome_verb(target_col, name, past=True),
        "competing_verb": competing_verb or "end otherwise",
        "competing_verbs": competing_verbs,
        "key": _key(target_col),
        "competing_keys": [_key(c) for c in cols],
        "competing_key": "_or_".join(_key(c) for c in cols) or "competing",
        "event_labels": {0: "still open", 1: name, **{i + 2: n for i, n in enumerate(names)}},
        "censored": censored,
        "censored_names": [labels[c] for c in censored],
        "groups": group_cols,
        "references": {
            g: reference_group(leads.loc[leads[start_col].notna(), g]) for g in group_cols
        },
    }


def outcome_label(column: str, label: str, lang: str = "en") -> str:
    """Display name of a stage in ``lang``: the standard stages' catalogue name, else ``label``.

    A stage keeps its data's own name (``meta["outcomes"]``, e.g. ``declined``) unless that
    name is the standard one (:data:`DEFAULT_LABELS`), which is translated
    (``values.stage`` of the catalogue: ``won`` → ``gewonnen``).
    """
    from qualmodel.core.i18n import value_label

    if DEFAULT_LABELS.get(column) != label:
        return label
    return value_label("stage", column.removesuffix("_at"), lang, default=label)


def stage_plural(label: str, lang: str = "en") -> str:
    """Plural of a stage name for "N {plural}": ``SALs``, ``MQLs``, ``created leads``.

    An acronym (``SAL``, ``MQL``) takes the catalogue's plural ending
    (``outcomes.plural.acronym``); any other name — ``created``, the data's ``submitted`` —
    becomes "<name> leads" (``outcomes.plural.other``), never "createds".

    Parameters
    ----------
    label : str
        The stage's display name (:func:`outcome_label`).
    lang : str, default "en"

    Returns
    -------
    str
    """
    from qualmodel.core.i18n import t

    kind = "acronym" if label.isalpha() and label.isupper() else "other"
    return t(f"outcomes.plural.{kind}", lang, label=label)


def outcome_verb(column: str, label: str, lang: str = "en", *, past: bool = False) -> str:
    """Sentence fragment for leads reaching a stage, from the catalogue (``outcomes.verb``).

    English: "become SQOs" (past "became SQOs"), "reach MQL", "are won" ("were won"),
    "are declined". German gives verb-final clause fragments ("zu SQOs werden",
    "gewonnen werden", "als „declined“ enden") for subordinate clauses.

    Parameters
    ----------
    column, label : str
        Stage column and the data's name of it (:func:`stage_labels`).
    lang : str, default "en"
    past : bool, default False
        Past tense ("became SQOs", "were won").

    Returns
    -------
    str
    """
    from qualmodel.core.i18n import t

    if column == "sqo_at" and label == "SQO":
        kind = "sqo"
    elif column in ("sal_at", "mql_at", "sqo_at"):
        kind = "reach"
    elif DEFAULT_LABELS.get(column) == label:
        kind = "end"
    else:  # the data's own vocabulary
        kind = "end_data"
    key = f"outcomes.verb{'_past' if past else ''}.{kind}"
    return t(key, lang, label=outcome_label(column, label, lang))


def label_missing(
    data: pd.DataFrame, columns: str | Sequence[str], label: str = MISSING_LABEL
) -> pd.DataFrame:
    """Return a copy of ``data`` where missing values of group columns read ``label``.

    Parameters
    ----------
    data : pandas.DataFrame
    columns : str or sequence of str
        Group columns; the ones with missing values become strings (``True`` →
        ``"True"``) with missing values replaced by ``label``.
    label : str, default "(missing)"

    Returns
    -------
    pandas.DataFrame
    """
    cols = [columns] if isinstance(columns, str) else list(columns)
    out = data.copy()
    for col in cols:
        s = out[col]
        if s.isna().any():
            out[col] = s.astype(object).where(s.notna(), label).astype(str)
    return out
