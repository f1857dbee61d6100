"""Export journeys as a long stage history (the shape most CRMs export), with its mapping.

:func:`export_history` turns :class:`~qualmodel.Journeys` into two tables: ``leads`` (one
row per lead: id, creation, cut-off, attributes) and ``history`` (one row per stage reached
and per touchpoint: lead id, activity, timestamp, value). :func:`write_history` writes them
(CSV, Parquet or XES) together with a mapping YAML that imports them back into the same
journeys — useful to hand simulated data to other tools, and the round-trip test of the
history importer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import yaml

from qualmodel.core.atomic import write_csv_atomic, write_text_atomic
from qualmodel.core.errors import ConfigError
from qualmodel.crm.xes import write_xes
from qualmodel.journeys.contract import (
    STAGE_COLUMNS,
    TRUTH_PREFIX,
    Journeys,
    extra_outcome_columns,
    outcome_labels,
)

__all__ = ["export_history", "history_mapping", "write_history"]

_LEAD_FIXED = ("lead_id", "created_at", "observed_until")


def _stage_columns(journeys: Journeys) -> list[str]:
    """Stage columns exported as activities: the standard ones, then the declared outcomes."""
    leads = journeys.leads
    extra = [c for c in extra_outcome_columns(journeys.meta) if c in leads.columns]
    return [*(c for c in STAGE_COLUMNS if c in leads.columns), *extra]


def _attribute_columns(journeys: Journeys) -> list[str]:
    stages = set(_stage_columns(journeys))
    return [
        c
        for c in journeys.leads.columns
        if c not in _LEAD_FIXED and c not in stages and not c.startswith(TRUTH_PREFIX)
    ]


def export_history(journeys: Journeys, *, created: bool = True) -> dict[str, pd.DataFrame]:
    """Return the journeys as a leads table and a long stage-history table.

    Parameters
    ----------
    journeys : Journeys
        Simulated or imported journeys.
    created : bool, default True
        Also write a ``created`` activity at each lead's ``created_at`` (needed when the
        history is imported without the leads table).

    Returns
    -------
    dict of pandas.DataFrame
        ``leads``: ``lead_id``, ``created_at``, ``observed_until`` and the attribute columns
        (simulation-truth ``true_*`` columns are left out). ``history``: ``lead_id``,
        ``activity`` (a stage name — ``created``, ``mql``, ``sal``, ``sqo``,
        ``disqualified``, ``won``, ``lost``, ``recycled``, an extra outcome declared in
        ``meta["outcomes"]`` such as ``withdrawn`` — or the event name), ``ts`` and
        ``value`` (events only), sorted by lead and time (ties keep stages first, then
        events in their journeys order).

    Raises
    ------
    ConfigError
        When an event name equals a stage activity name (it could not be told apart).
    """
    leads, events = journeys.leads, journeys.events
    stage_cols = _stage_columns(journeys)
    names = (["created_at"] if created else []) + stage_cols
    clash = sorted({c[:-3] for c in names} & set(map(str, events["event"].cat.categories)))
    if clash:
        raise ConfigError(
            f"event name(s) {', '.join(clash)} equal stage activity names; rename those "
            f"events before exporting"
        )
    parts = []
    for col in names:
        has = leads[col].notna().to_numpy()
        parts.append(
            pd.DataFrame(
                {
                    "lead_id": leads["lead_id"].to_numpy()[has],
                    "activity": col[:-3],
                    "ts": leads[col].to_numpy()[has],
                    "value": np.nan,
                }
            )
        )
    parts.append(
        pd.DataFrame(
            {
                "lead_id": events["lead_id"].astype(object).to_numpy(),
                "activity": events["event"].astype(object).to_numpy(),
                "ts": events["ts"].to_numpy(),
                "value": events["value"].to_numpy() if "value" in events else np.nan,
            }
        )
    )
    hist = pd.concat(parts, ignore_index=True)
    hist = hist.sort_values(["lead_id", "ts"], kind="stable", ignore_index=True)
    keep = [*_LEAD_FIXED, *_attribute_columns(journeys)]
    return {"leads": leads[keep].reset_index(drop=True), "history": hist}


def _attribute_type(dtype: Any) -> str:
    if isinstance(dtype, pd.CategoricalDtype):
        return "category"
    if pd.api.types.is_bool_dtype(dtype):
        return "bool"
    if pd.api.types.is_integer_dtype(dtype):
        return "int"
    if pd.api.types.is_float_dtype(dtype):
        return "float"
    if pd.api.types.is_datetime64_dtype(dtype):
        return "date"
    return "str"


def history_mapping(
    journeys: Journeys, history_file: str, leads_file: str | None = "leads.csv"
) -> dict[str, Any]:
    """Return the mapping (as a dict) that imports :func:`write_history` output back.

    Parameters
    ----------
    journeys : Journeys
        The journeys that were exported (for the stage and attribute list).
    history_file : str
        File name of the history table (``history.csv``, ``.parquet``, ``.xes``).
    leads_file : str or None
        File name of the leads table; ``None`` for a history-only mapping (creation from
        the ``created`` activity, cut-off = the latest timestamp).

    Returns
    -------
    dict
        A mapping accepted by :func:`~qualmodel.crm.mapping.load_mapping`. Without a
        leads table, a cut-off shared by every lead is written as ``observed_until``. The
        data's outcome names (``meta["outcomes"]``) are written as its ``outcomes:`` block,
        so the imported journeys keep them (extra outcomes included).
    """
    leads = journeys.leads
    stages = {c[:-3]: c[:-3] for c in _stage_columns(journeys)}
    is_xes = history_file.endswith((".xes", ".xes.gz"))
    history: dict[str, Any] = {
        "file": history_file,
        "case_id": "case:concept:name" if is_xes else "lead_id",
        "activity": "concept:name" if is_xes else "activity",
        "timestamp": "time:timestamp" if is_xes else "ts",
        "value": "value",
        "stages": stages,
        "other_activities": "event",
    }
    out: dict[str, Any] = {
        "source": str(journeys.meta.get("source", "export")),
        "description": "Journeys exported by qualmodel.crm.export_history.",
    }
    named = outcome_labels(journeys.meta)
    if named:
        out["outcomes"] = {label: col[:-3] for col, label in named.items()}
    if leads_file is None:
        history["stages"] = {"created": "created", **stages}
        ends = leads["observed_until"].unique()
        if len(ends) == 1:  # one cut-off for every lead: keep it (else the latest timestamp)
            out["observed_until"] = pd.Timestamp(ends[0]).to_pydatetime()
        return {**out, "history": history}
    history["ignore"] = ["created"]
    attrs = {
        c: {"column": c, "type": _attribute_type(leads[c].dtype)}
        for c in _attribute_columns(journeys)
    }
    return {
        **out,
        "file": leads_file,
        "lead_id": {"column": "lead_id", "pad": None},
        "created_at": "created_at",
        "observed_until": "observed_until",
        "attributes": attrs,
        "history": history,
    }


def write_history(
    journeys: Journeys,
    folder: str | Path,
    *,
    format: Literal["csv", "parquet", "xes"] = "csv",
    leads_table: bool = True,
) -> dict[str, Path]:
    """Write :func:`export_history` tables and the mapping that imports them back.

    Parameters
    ----------
    journeys : Journeys
        The journeys to export.
    folder : str or pathlib.Path
        Destination folder (created); files are written atomically.
    format : {"csv", "parquet", "xes"}
        Format of the history table (the leads table is always CSV).
    leads_table : bool, default True
        Write ``leads.csv`` (creation, cut-off, attributes); without it the history alone
        carries the journeys (creation from the ``created`` activity).

    Returns
    -------
    dict of pathlib.Path
        ``history``, ``mapping`` and (with ``leads_table``) ``leads``.
    """
    folder = Path(folder)
    tables = export_history(journeys)
    name = {"csv": "history.csv", "parquet": "history.parquet", "xes": "history.xes"}[format]
    paths = {"history": folder / name, "mapping": folder / "mapping.yaml"}
    hist = tables["history"]
    if format == "csv":
        write_csv_atomic(hist, paths["history"])
    elif format == "parquet":
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".{name}.tmp"
        hist.to_parquet(tmp, index=False)
        tmp.replace(paths["history"])
    else:
        write_xes(hist, paths["history"], case="lead_id", activity="activity", ts="ts")
    if leads_table:
        paths["leads"] = folder / "leads.csv"
        write_csv_atomic(tables["leads"], paths["leads"])
    mapping = history_mapping(journeys, name, "leads.csv" if leads_table else None)
    write_text_atomic(
        paths["mapping"], yaml.safe_dump(mapping, sort_keys=False, allow_unicode=True)
    )
    return paths
