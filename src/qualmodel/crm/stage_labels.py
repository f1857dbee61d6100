"""Turn a history's stage ids into the pipeline's labels (the ``history.labels`` lookup).

CRMs record a stage change by the stage's id — HubSpot ``appointmentscheduled`` or
``1234567`` for a custom stage, Pipedrive ``3`` — and keep the labels in a pipeline-stage
table (HubSpot ``deal_pipeline_stage``, Pipedrive ``stages``). :func:`read_labels` reads
that table (CSV, Parquet or a ``--db`` table, through :class:`~qualmodel.crm.readers.Table`
like the other tables of a mapping) and :func:`apply_labels` rewrites the activity column of a
:class:`~qualmodel.crm.logs.LogTable` so that the mapping's ``stages`` map speaks labels.
Ids are compared as trimmed text; a whole number stored as a float (``3.0``) is the id
``3``, so a numeric column of Parquet or a database matches the CSV text.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from qualmodel.core.errors import InputError, preview
from qualmodel.crm.history_mapping import StageLabels, file_format
from qualmodel.crm.logs import LogTable
from qualmodel.crm.mapping import CsvOptions
from qualmodel.crm.readers import Table
from qualmodel.crm.sql import SqlTable

__all__ = ["apply_labels", "read_labels"]

_KEY = "history.labels"


def _id_text(values: pd.Series) -> pd.Series:
    """Return ids as trimmed text; ``3.0`` → ``3`` (a numeric column read as float)."""
    text = values.astype("string").str.strip()
    whole = text.str.fullmatch(r"-?\d+\.0+").fillna(False).astype(bool)
    return text.mask(whole, text.str.replace(r"\.0+$", "", regex=True))


def read_labels(src: Path | SqlTable, spec: StageLabels, csv: CsvOptions | None = None) -> dict:
    """Read the id → label table named by ``history.labels``.

    Parameters
    ----------
    src : pathlib.Path or SqlTable
        The labels file, or the ``--db`` table / query.
    spec : StageLabels
        The ``history.labels`` block (``key`` and ``label`` columns).
    csv : CsvOptions, optional
        The mapping's CSV options.

    Returns
    -------
    dict
        ``{id: label}`` (text), one entry per distinct id.

    Raises
    ------
    InputError
        A missing column, an empty id or label, or an id given two different labels.
    """
    fmt = "auto" if isinstance(src, SqlTable) else file_format(str(src), spec.format)
    frame = Table(src, csv or CsvOptions(), "labels", fmt).frame
    missing = [
        f"'{c}' (mapping key {_KEY}.{k})"
        for k, c in (("key", spec.key), ("label", spec.label))
        if c not in frame.columns
    ]
    if missing:
        raise InputError(
            f"{src}: missing column(s) {', '.join(missing)}; available columns: "
            f"{preview(list(frame.columns), 12)}; fix {_KEY} in the mapping or the table"
        )
    ids = _id_text(frame[spec.key])
    labels = frame[spec.label].astype("string").str.strip()
    for col, values in ((spec.key, ids), (spec.label, labels)):
        empty = (values.isna() | (values == "")).to_numpy(dtype=bool)
        if empty.any():
            raise InputError(
                f"{src}: row {int(np.flatnonzero(empty)[0]) + 1}, column '{col}': empty value "
                f"({int(empty.sum())} row(s)); fill it or remove the row from the labels table"
            )
    pairs = pd.DataFrame({"id": ids, "label": labels}).drop_duplicates()
    clash = pairs["id"].duplicated(keep=False).to_numpy()
    if clash.any():
        stage = pairs["id"].to_numpy()[clash][0]
        both = sorted(pairs.loc[pairs["id"] == stage, "label"].astype(str))
        raise InputError(
            f"{src}: column '{spec.key}': id {stage!r} has two labels ({', '.join(both)}); keep "
            f"one row per id (filter the table with {_KEY}.query)"
        )
    return dict(zip(pairs["id"].astype(str), pairs["label"].astype(str), strict=True))


def apply_labels(log: LogTable, labels: dict, src: Path | SqlTable, key: str) -> None:
    """Replace the ids of ``log``'s activity column by their labels (in place).

    Parameters
    ----------
    log : LogTable
        The history as read (``activity`` a categorical of stripped text).
    labels : dict
        ``{id: label}`` from :func:`read_labels`.
    src : pathlib.Path or SqlTable
        The labels table, named in messages.
    key : str
        Its id column (``history.labels.key``), named in messages.

    Raises
    ------
    InputError
        An id of a kept history row is not in the labels table (names the id, the history
        row, the labels table and the fix).
    """
    act = log.frame["activity"]
    codes, ids = act.cat.codes.to_numpy(), _id_text(pd.Series(act.cat.categories, dtype=object))
    named = ids.map(labels)
    used = np.bincount(codes[codes >= 0], minlength=len(ids)) > 0  # rows may be filtered
    unknown = np.flatnonzero(named.isna().to_numpy(dtype=bool) & used)
    if len(unknown):
        rows = np.flatnonzero(np.isin(codes, unknown))
        first = str(ids.iloc[int(codes[rows[0]])])
        listed = preview(pd.unique(ids.iloc[unknown].astype(str)))
        raise InputError(
            f"{log.path}: {log.first(rows)}, column '{log.columns['activity']}': stage id "
            f"{first!r} is not in the labels table {src} (column '{key}'; "
            f"unknown id(s) {listed}); add the stage to that table, or fix "
            f"{_KEY}.key / the history's activity column in the mapping"
        )
    new_codes, cats = pd.factorize(named.astype(object).to_numpy(), use_na_sentinel=True)
    lookup = np.append(new_codes, -1).astype(np.int32)
    log.frame["activity"] = pd.Categorical.from_codes(
        lookup[codes], categories=pd.Index(cats, dtype=object)
    )
