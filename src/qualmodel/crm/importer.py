"""``import_crm``: one entry point for every mapping, wide table or stage history.

A mapping without ``history:`` is imported by :func:`~qualmodel.crm.build.import_table`; one
with ``history:`` (a long stage history or event log, optionally joined to a leads table and
touchpoints) by :func:`~qualmodel.crm.history_import.import_history`, which uses the table
import for its leads table.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping as AbcMapping
from pathlib import Path
from typing import Any

import pandas as pd

from qualmodel.crm.build import import_table
from qualmodel.crm.history_import import import_history
from qualmodel.crm.mapping import Mapping, load_mapping
from qualmodel.journeys.contract import Journeys

__all__ = ["import_crm"]


def import_crm(
    source: str | Path | AbcMapping[str, str | Path],
    mapping: str | Path | Mapping | AbcMapping[str, Any],
    *,
    observed_until: str | dt.date | pd.Timestamp | None = None,
) -> Journeys:
    """Import a CRM export into :class:`~qualmodel.Journeys` through a mapping.

    Parameters
    ----------
    source : path-like or dict of path-like
        The main CSV file, or a dict ``{"main": path, "<lookup name>": path, ...}`` (with a
        ``history:`` block also ``"history"``, ``"touchpoints"`` and ``"labels"``, the table
        of ``history.labels``), or a database URL.
        Lookup tables not given are looked up next to the main file under the file names
        in the mapping.
    mapping : str, path-like, Mapping or dict
        A built-in mapping name (``"maven_crm"``, ``"x_education"``), a YAML path, or a
        loaded :class:`Mapping`.
    observed_until : date-like, optional
        Override the mapping's observation cut-off with one fixed date for every lead
        (for a history: the data cut-off; rows after it are dropped).

    Returns
    -------
    Journeys
        Leads sorted by ``lead_id``; ``meta`` holds ``source``, ``mapping`` (name and
        hash), ``files`` (path, sha256, rows), ``timing`` (``"real"`` or ``"none"``),
        ``time_unit`` and ``import`` (``rows``, ``leads``, ``dropped``, ``clipped``,
        ``lookups``, ``status`` counts, event ``timing`` per event spec).

    Raises
    ------
    ConfigError
        Bad mapping or parameter.
    InputError
        Bad CSV data (one line: file, line, column and the fix).
    """
    mp = load_mapping(mapping)
    label = str(mapping) if isinstance(mapping, str | Path) else mp.source
    if mp.history is not None:
        return import_history(source, mp, label=label, observed_until=observed_until)
    return import_table(source, mp, label=label, observed_until=observed_until)[0]
