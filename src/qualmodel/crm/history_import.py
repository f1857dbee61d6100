"""Import a mapping with a ``history:`` block: leads table + stage history + touchpoints.

:func:`import_history` is what :func:`~qualmodel.crm.importer.import_crm` runs when the mapping
has a ``history`` block. Two shapes are supported:

* **history only** (no ``file:`` in the mapping): every case id of the history becomes a
  lead; ``created_at`` is the ``created`` activity, else the case's first row;
  ``observed_until`` is the explicit cut-off, else the latest timestamp kept.
* **leads table + history** (``file:`` names the leads table, read exactly like a wide
  export: lookups, attributes, status blocks, events): the history adds stage timestamps
  and touchpoints to those leads, matched on the lead id (after the same prefix and
  zero-padding as the leads table's ids). A history row for a lead that is not in the leads
  table is invalid (``history.on_invalid``).

An optional ``touchpoints:`` table adds one event per row (case id, activity, timestamp).
"""

from __future__ import annotations

from collections.abc import Mapping as AbcMapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pandas.api.types import union_categoricals

from qualmodel.core.errors import ConfigError, ContractError, InputError
from qualmodel.crm.build import crm_meta, import_table
from qualmodel.crm.history import HistoryResult, build_history
from qualmodel.crm.history_mapping import HistorySpec
from qualmodel.crm.logs import LogTable, read_log
from qualmodel.crm.mapping import LeadIdSpec, Mapping, as_timestamp
from qualmodel.crm.readers import file_digest
from qualmodel.crm.sql import SqlTable, is_db_url
from qualmodel.crm.stage_labels import apply_labels, read_labels
from qualmodel.journeys.contract import Journeys

__all__ = ["history_tables", "import_history"]

_LOG_ROLES = ("history", "touchpoints")


def history_tables(
    source: str | Path | AbcMapping[str, str | Path], mp: Mapping
) -> tuple[dict[str, Path], dict[str, str | Path]]:
    """Split the given tables into long tables (history, touchpoints) and the rest.

    Parameters
    ----------
    source : path-like or dict
        A single path (the history file when the mapping has no leads table, else the
        leads table) or ``{"main": ..., "history": ..., "touchpoints": ..., "labels": ...,
        <lookup>: ...}`` (``labels``: the table of ``history.labels``, default next to the
        history file).
    mp : Mapping
        A mapping with a ``history`` block.

    Returns
    -------
    (dict, dict)
        Paths of the long tables and the labels table (defaulting to the mapping's file
        names next to the first given file; the labels next to the history) and the
        remaining tables for the leads-table import.
    """
    if is_db_url(source):
        url = str(source)
        dbs: dict[str, Any] = {}
        for role in _LOG_ROLES:
            spec = getattr(mp, role)
            if spec is not None:
                dbs[role] = SqlTable(url, spec.table, spec.query, role)
        if mp.history.labels is not None:
            lab = mp.history.labels
            dbs["labels"] = SqlTable(url, lab.table, lab.query, "history.labels")
        return dbs, ({"main": url} if has_leads_table(mp) else {})
    given = (
        {str(k): Path(v) for k, v in source.items()}
        if isinstance(source, AbcMapping)
        else {"main" if mp.file else "history": Path(source)}
    )
    first = next(iter(given.values()), Path("."))
    logs: dict[str, Path] = {}
    for role in _LOG_ROLES:
        spec = getattr(mp, role)
        if spec is not None:
            if role not in given and spec.file is None:
                raise ConfigError(f"{role}: no file: in the mapping; give the {role} table")
            logs[role] = given.pop(role, first.parent / str(spec.file))
        elif role in given:
            raise ConfigError(f"table '{role}' given but the mapping has no {role}: block")
    _labels_table(mp, given, logs)
    if not mp.file and given:
        raise ConfigError(
            f"table(s) {', '.join(given)} given but the mapping has no leads table (file:); "
            f"give only history (and touchpoints)"
        )
    return logs, given


def _labels_table(mp: Mapping, given: dict[str, Path], logs: dict[str, Path]) -> None:
    """Move the ``labels`` table (``history.labels``) from ``given`` to ``logs``."""
    lab = mp.history.labels if mp.history is not None else None
    if lab is None:
        if "labels" in given and "labels" not in mp.lookups:
            raise ConfigError("table 'labels' given but the mapping has no history.labels block")
        return
    if "labels" not in given and lab.file is None:
        raise ConfigError(
            "history.labels: no file: in the mapping; give the table of stage ids and labels "
            "(--table labels=FILE)"
        )
    logs["labels"] = given.pop("labels", logs["history"].parent / str(lab.file))


def _read_history(mp: Mapping, logs: dict[str, Any]) -> tuple[LogTable, dict[str, int]]:
    """Read the history table and apply its ``labels`` lookup; return it and row counts."""
    assert mp.history is not None
    log = read_log(logs["history"], mp.history, "history", mp.csv, mp.dates, mp.xes)
    lab = mp.history.labels
    if lab is None:
        return log, {}
    labels = read_labels(logs["labels"], lab, mp.csv)
    apply_labels(log, labels, logs["labels"], lab.key)
    return log, {"labels": len(labels)}


def has_leads_table(mp: Mapping) -> bool:
    """Return True when the mapping names a leads table (``file``, ``table`` or ``query``)."""
    return bool(mp.file or mp.table or mp.query)


def _match_ids(log: LogTable, lead_ids: pd.Index, spec: LeadIdSpec) -> None:
    """Rewrite the log's case ids like the leads' ids (prefix, zero-padding of digits)."""
    case = log.frame["case"]
    u = pd.Series(case.cat.categories.to_numpy(), dtype=object)
    body = lead_ids.str.slice(len(spec.prefix))
    if spec.pad is not None and len(body) and body.str.fullmatch(r"\d+").all():
        width = int(body.str.len().max())
        digits = u.str.fullmatch(r"\d+").fillna(False).to_numpy(dtype=bool)
        u[digits] = u[digits].str.lstrip("0").replace("", "0").str.zfill(width)
    new_codes, cats = pd.factorize(spec.prefix + u)  # "7" and "007" may become one id
    lookup = np.append(new_codes, -1).astype(np.int32)
    log.frame["case"] = pd.Categorical.from_codes(
        lookup[case.cat.codes.to_numpy()], categories=pd.Index(cats, dtype=object)
    )


def _format_ids(ids: pd.Series, spec: LeadIdSpec) -> pd.Series:
    """Lead ids of a history-only import: prefix, and zero-padding of digit-only ids."""
    if spec.pad is not None and len(ids) and ids.str.fullmatch(r"\d+").all():
        body = ids.str.lstrip("0").replace("", "0")
        width = max(int(body.str.len().max()), 1 if spec.pad == "auto" else int(spec.pad))
        ids = body.str.zfill(width)
    return spec.prefix + ids


def _latest(*columns: pd.Series) -> pd.Timestamp:
    """Return the latest timestamp of ``columns`` (exact: no float round trip)."""
    values = np.concatenate([c.to_numpy(dtype="datetime64[ns]") for c in columns])
    return pd.Timestamp(values[~np.isnat(values)].max())


def _cutoff(mp: Mapping, observed_until: Any) -> pd.Timestamp | None:
    if observed_until is not None:
        try:
            return as_timestamp(observed_until)
        except ValueError as exc:
            raise ConfigError(f"observed_until: {exc}") from None
    if mp.observed_until.value is not None:
        return pd.Timestamp(mp.observed_until.value)
    return None


def _touchpoints(
    mp: Mapping,
    path: Path,
    leads: pd.DataFrame,
    cut: pd.Timestamp | None,
    dropped: pd.Index | None,
) -> HistoryResult:
    tp = mp.touchpoints
    assert tp is not None and mp.history is not None
    spec = HistorySpec.model_construct(
        **tp.model_dump(exclude={"events"}),
        stages={},
        occurrence={},
        touchpoints=tp.events,
        ignore=[],
        other_activities="event",
        skipped_stages="keep",
        won_and_lost="error",
        duplicates=mp.history.duplicates,
        on_invalid=mp.history.on_invalid,
    )
    log = read_log(path, spec, "touchpoints", mp.csv, mp.dates, mp.xes)
    _match_ids(log, pd.Index(leads["lead_id"]), mp.lead_id)
    return build_history(
        log,
        spec,
        role="touchpoints",
        lead_keys=pd.Index(leads["lead_id"]),
        created=leads["created_at"].to_numpy(),
        until=leads["observed_until"].to_numpy(),
        cutoff=cut,
        leads_file="the leads of this import",
        dropped_leads=dropped,
    )


def _events(lead_ids: pd.Index, parts: list[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate event tables whose ``lead_id`` are categoricals over ``lead_ids``.

    Keeping the codes (instead of strings) spares the contract a hash of every event's id.
    """
    parts = [p for p in parts if len(p)] or parts[:1]
    lead = np.concatenate([p["lead_id"].cat.codes.to_numpy() for p in parts])
    value = [p["value"] if "value" in p else pd.Series(np.nan, index=p.index) for p in parts]
    return pd.DataFrame(
        {
            "lead_id": pd.Categorical.from_codes(lead, categories=lead_ids),
            "ts": np.concatenate([p["ts"].to_numpy() for p in parts]),
            "event": union_categoricals(
                [p["event"].astype("category") for p in parts], ignore_order=True
            ),
            "value": np.concatenate([v.to_numpy(dtype="float64") for v in value]),
        }
    )


def _recode(events: pd.DataFrame, new_code: np.ndarray, lead_ids: pd.Index) -> pd.DataFrame:
    """Return ``events`` (lead codes over other leads) re-coded onto ``lead_ids``.

    ``new_code[old]`` is the new position of old lead ``old`` (-1: the lead was dropped,
    and so are its events).
    """
    codes = new_code[events["lead_id"].cat.codes.to_numpy()]
    out = events.loc[codes >= 0].copy()
    out["lead_id"] = pd.Categorical.from_codes(codes[codes >= 0], categories=lead_ids)
    return out


def _history_only(
    mp: Mapping, log: LogTable, cut: pd.Timestamp | None
) -> tuple[pd.DataFrame, HistoryResult, str]:
    assert mp.history is not None
    res = build_history(log, mp.history, cutoff=cut)
    if res.cases.empty:
        raise InputError(f"{log.path}: no case left after import; check the mapping")
    ids = _format_ids(res.cases["case"].astype(str), mp.lead_id).to_numpy()
    perm = np.argsort(ids, kind="stable")
    leads = res.cases.rename(columns={"case": "lead_id"}).iloc[perm].reset_index(drop=True)
    leads["lead_id"] = ids[perm]
    new_code = np.empty(len(perm), dtype=np.int64)
    new_code[perm] = np.arange(len(perm))
    res.events = _recode(
        res.events.rename(columns={"case": "lead_id"}), new_code, pd.Index(leads["lead_id"])
    )
    if cut is None:
        latest = _latest(*(leads[c] for c in leads.columns if c != "lead_id"), res.events["ts"])
        cut, origin = latest, f"latest timestamp in the data ({latest})"
    else:
        origin = f"fixed {cut}"
    leads["observed_until"] = cut
    return leads, res, origin


def _with_leads_table(
    mp: Mapping,
    rest: dict[str, str | Path],
    log: LogTable,
    cut: pd.Timestamp | None,
    label: str,
) -> tuple[Journeys, HistoryResult, pd.Index | None]:
    assert mp.history is not None
    if mp.lead_id.column is None:
        raise ConfigError(
            "lead_id: a history needs the leads table's id column (lead_id: <column>) to "
            "match its case ids"
        )
    table_mapping = mp.model_copy(update={"history": None, "touchpoints": None})
    src: Any = rest["main"] if is_db_url(rest.get("main")) else rest
    base, read_ids = import_table(src, table_mapping, label=label, observed_until=cut)
    leads = base.leads
    _match_ids(log, pd.Index(leads["lead_id"]), mp.lead_id)
    dropped = None
    if base.meta["import"].get("dropped"):  # ids of the rows the leads-table import dropped
        dropped = read_ids.difference(pd.Index(leads["lead_id"]))
    per_lead = cut is None and not mp.observed_until.latest
    res = build_history(
        log,
        mp.history,
        lead_keys=pd.Index(leads["lead_id"]),
        created=leads["created_at"].to_numpy(),
        until=leads["observed_until"].to_numpy() if per_lead else None,
        cutoff=cut,
        leads_file=str(base.meta["files"]["main"].get("table", ""))
        if is_db_url(rest.get("main"))
        else Path(str(rest.get("main", mp.file))).name,
        dropped_leads=dropped,
    )
    return base, res, dropped


def import_history(
    source: str | Path | AbcMapping[str, str | Path],
    mp: Mapping,
    *,
    label: str,
    observed_until: Any = None,
) -> Journeys:
    """Import a leads table (optional), a stage history and touchpoints into Journeys.

    Parameters
    ----------
    source : path-like or dict
        See :func:`history_tables`.
    mp : Mapping
        A mapping with a ``history`` block.
    label : str
        Mapping name for ``meta`` and messages.
    observed_until : date-like, optional
        Explicit data cut-off; rows after it are dropped. Default: the mapping's
        ``observed_until`` (a date, a leads-table column, or ``max``: the latest timestamp).

    Returns
    -------
    Journeys
        ``meta["import"]["history"]`` (and ``["touchpoints"]``) hold the counts of
        :class:`~qualmodel.crm.history.HistoryResult`.

    Raises
    ------
    ConfigError, InputError
        One line naming the file, row, column and the fix.
    """
    assert mp.history is not None
    logs, rest = history_tables(source, mp)
    cut = _cutoff(mp, observed_until)
    log, counts = _read_history(mp, logs)
    info: dict[str, Any] = {}
    if has_leads_table(mp):
        base, res, dropped = _with_leads_table(mp, rest, log, cut, label)
        info = dict(base.meta["import"])
        # a hash lookup: numpy's isin on object arrays grows with the product of the sizes
        keep = pd.Index(res.cases["case"]).get_indexer(base.leads["lead_id"]) >= 0
        leads = base.leads.loc[keep].reset_index(drop=True)
        for col in res.cases.columns:
            if col.endswith("_at") and col != "created_at":
                leads[col] = res.cases[col].to_numpy()
        if mp.observed_until.latest and cut is None:
            latest = _latest(leads["observed_until"], log.frame["ts"])
            leads["observed_until"] = latest
            info["observed_until"] = f"latest timestamp in the data ({latest})"
        new_code = np.where(keep, np.cumsum(keep) - 1, -1)
        base_events = [_recode(base.events, new_code, pd.Index(leads["lead_id"]))]
        res.events = res.events.rename(columns={"case": "lead_id"})
        files = dict(base.meta["files"])
    else:
        leads, res, origin = _history_only(mp, log, cut)
        info = {"leads": len(leads), "dropped": {}, "observed_until": origin}
        base_events, files, dropped = [], {}, None
    tp = _touchpoints(mp, logs["touchpoints"], leads, cut, dropped) if mp.touchpoints else None
    info["leads"] = len(leads)
    info["history"] = res.info
    if tp is not None:
        info["touchpoints"] = tp.info
    for role, path in logs.items():
        files[role] = (
            path.meta()
            if isinstance(path, SqlTable)
            else {"path": str(path), "sha256": file_digest(path)}
        )
        files[role]["rows"] = counts.get(role) or (res if role == "history" else tp).info["rows"]  # type: ignore[union-attr]
    tp_events = [] if tp is None else [tp.events.rename(columns={"case": "lead_id"})]
    events = _events(pd.Index(leads["lead_id"]), [*base_events, res.events, *tp_events])
    meta = crm_meta(mp, label, files, info)
    try:
        return Journeys.build(leads, events, meta)
    except ContractError as exc:
        raise InputError(f"{log.path} (mapping {label}): {exc}") from None
