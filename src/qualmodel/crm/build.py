"""CRM import: turn a CRM export (CSV tables) into :class:`~qualmodel.Journeys`.

A *mapping* (YAML, validated by :class:`Mapping`) says which CSV columns hold the lead id,
the creation time, each stage timestamp (directly, or through a status column plus a date
column), the observation cut-off, the attributes to copy and the events to emit. Two
mappings ship with the package (``maven_crm`` and ``x_education``); see ``docs/import.md``.

Every problem with the input is reported as one line naming the file, the CSV line (the
header is line 1, so the first data record is line 2; quoted values spanning several lines
are counted as in a text editor), the column and the fix:

* :class:`~qualmodel.core.errors.ConfigError` for a bad mapping (YAML syntax with line/column,
  unknown keys with the allowed ones, wrong types with the YAML key path);
* :class:`~qualmodel.core.errors.InputError` for bad CSV data (malformed rows, wrong encoding,
  missing columns, unparseable dates or numbers, unknown status values, unmatched lookup
  keys, duplicated ids, stage dates that break the journey contract).

Rows whose stage dates contradict the contract are handled by the mapping's
``on_invalid`` policy: ``error`` (default), ``drop`` (remove the lead, counted in
``meta["import"]["dropped"]``) or ``clip`` (move the offending timestamp to the nearest
allowed one, counted in ``meta["import"]["clipped"]``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping as AbcMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from qualmodel.core.errors import ConfigError, ContractError, InputError, QualmodelError, preview
from qualmodel.crm.mapping import (
    EventSpec,
    LeadIdSpec,
    Mapping,
    StatusSpec,
    cutoff_timestamp,
    snake_case,
)
from qualmodel.crm.readers import (
    LookupView,
    Table,
    apply_map,
    file_digest,
    parse_dates,
    resolve_tables,
    typed_attribute,
)
from qualmodel.crm.sql import SqlTable
from qualmodel.journeys.contract import ORDER_RULES, STAGE_COLUMNS, Journeys

__all__ = ["clip_texts", "crm_meta", "import_table"]


def _lead_ids(table: Table, spec: LeadIdSpec) -> pd.Series:
    """Return the lead ids (prefix + zero-padded digits) or raise on empty/duplicated ids."""
    frame = table.frame
    n = len(frame)
    if spec.column is None:
        width = len(str(n)) if spec.pad == "auto" or spec.pad is None else spec.pad
        raw = pd.Series(np.arange(1, n + 1).astype(str), index=frame.index)
        ids = raw.str.zfill(width)
        prefix = spec.prefix or "L"
    else:
        raw = frame[spec.column]
        empty = raw.isna().to_numpy()
        if empty.any():
            raise InputError(
                f"{table.path}: {table.where(np.flatnonzero(empty))}, column "
                f"'{spec.column}': empty lead id; fill it or drop the row(s)"
            )
        digits = raw.str.fullmatch(r"\d+").all()
        if digits and spec.pad is not None:
            longest = int(raw.str.lstrip("0").str.len().max())
            width = max(longest, 1 if spec.pad == "auto" else int(spec.pad))
            ids = raw.str.lstrip("0").replace("", "0").str.zfill(width)
        else:
            ids = raw
        prefix = spec.prefix
    ids = (prefix + ids).astype(object)
    dup = ids.duplicated(keep=False).to_numpy()
    if dup.any():
        rows = np.flatnonzero(dup)
        col = spec.column or "(row number)"
        raise InputError(
            f"{table.path}: {table.where(rows)}, column '{col}': duplicated lead id(s) "
            f"{preview(pd.unique(raw.iloc[rows]))}; deduplicate the export (one row per lead)"
        )
    return ids


def _join_lookups(
    main: Table, mapping: Mapping, tables: dict[str, Path], info: dict[str, Any]
) -> pd.DataFrame:
    frame = main.frame
    for name, lk in mapping.lookups.items():
        main.require({lk.key: f"lookups.{name}.key"})
        tab = Table(tables[name], mapping.csv, f"lookup '{name}'")
        key = lk.lookup_key or lk.key
        wanted = lk.columns or {c: c for c in tab.frame.columns if c != key}
        tab.require(
            {key: f"lookups.{name}.lookup_key"} | {c: f"lookups.{name}.columns" for c in wanted}
        )
        lf = tab.frame
        for col, m in lk.normalise.items():
            tab.require({col: f"lookups.{name}.normalise"})
            lf[col] = apply_map(lf[col], m)
        dup = lf[key].duplicated(keep=False).to_numpy() & lf[key].notna().to_numpy()
        if dup.any():
            rows = np.flatnonzero(dup)
            raise InputError(
                f"{tab.path}: {tab.where(rows)}, column '{key}': duplicated key(s) "
                f"{preview(pd.unique(lf[key].iloc[rows]))}; a lookup table needs one row "
                f"per key"
            )
        clash = [d for d in wanted.values() if d in frame.columns]
        if clash:
            raise ConfigError(
                f"lookups.{name}.columns: {preview(clash)} already exist in {main.name}; "
                f"rename them ({{source_column: new_name}})"
            )
        right_rows = np.flatnonzero(lf[key].notna().to_numpy())
        right = lf.dropna(subset=[key]).set_index(key)
        pos = right.index.get_indexer(frame[lk.key])
        keys = frame[lk.key]
        unmatched = (pos < 0) & keys.notna().to_numpy()
        n_un = int(unmatched.sum())
        info["lookups"][name] = {"rows": len(lf), "unmatched_rows": n_un}
        if n_un:
            vals = pd.unique(keys[unmatched])
            info["lookups"][name]["unmatched_values"] = [str(v) for v in vals[:20]]
            if lk.on_unmatched == "error":
                rows = np.flatnonzero(unmatched)
                raise InputError(
                    f"{main.path}: {main.where(rows)}, column '{lk.key}': {n_un} value(s) not "
                    f"found in {tab.name} column '{key}': {preview(vals)}; add a "
                    f"normalise: {{{lk.key}: {{{vals[0]}: <value in {tab.name}>}}}} entry to the "
                    f"mapping, or set lookups.{name}.on_unmatched: keep"
                )
        view = LookupView(
            tab, np.where(pos >= 0, right_rows[np.maximum(pos, 0)] if len(right_rows) else -1, -1)
        )
        for src, dest in wanted.items():
            main.sources[dest] = view
            col = right[src].to_numpy(dtype=object)
            vals = np.where(pos >= 0, col[np.maximum(pos, 0)] if len(col) else None, None)
            frame[dest] = pd.Series(vals, index=frame.index, dtype=object)
    return frame


@dataclass
class _Import:
    """The state one import carries between its steps.

    ``leads`` grows one column per step; ``keep`` marks the rows still kept (the ``drop``
    policy clears entries); ``origin`` names where each lead column came from (for error
    messages and ``meta``); ``info`` becomes ``meta["import"]``.
    """

    main: Table
    mp: Mapping
    tables: dict[str, Path]
    frame: pd.DataFrame
    leads: pd.DataFrame = field(default_factory=pd.DataFrame)
    keep: np.ndarray = field(default_factory=lambda: np.ones(0, dtype=bool))
    origin: dict[str, str] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)
    _dates: dict[str, pd.Series] = field(default_factory=dict)

    def dates(self, col: str) -> pd.Series:
        """Return column ``col`` of the main table parsed as dates (parsed once)."""
        if col not in self._dates:
            table = self.main.sources.get(col, self.main)
            self._dates[col] = parse_dates(table, col, self.frame[col], self.mp.dates)
        return self._dates[col]

    def invalid(
        self, rows: np.ndarray, problem: str, key: str, *, clippable: bool = False
    ) -> np.ndarray | None:
        """Apply the mapping's ``on_invalid`` policy to the positional ``rows``.

        ``error`` raises one line naming the rows; ``drop`` clears them from ``keep``;
        ``clip`` (only when ``clippable``; otherwise the lead is dropped) counts them and
        returns the rows for the caller to move to the nearest allowed timestamp.
        """
        policy = self.mp.on_invalid
        if policy == "clip" and clippable:
            self.info["clipped"][key] = self.info["clipped"].get(key, 0) + len(rows)
            return rows
        if policy == "error":
            raise InputError(
                f"{self.main.path}: {self.main.where(rows)}: {problem} ({len(rows)} row(s)); "
                f"fix the data, or set on_invalid: drop (or clip) in the mapping"
            )
        self.info["dropped"][key] = self.info["dropped"].get(key, 0) + len(rows)
        self.keep[rows] = False
        return None


def import_table(
    source: str | Path | AbcMapping[str, str | Path],
    mp: Mapping,
    *,
    label: str,
    observed_until: str | dt.date | pd.Timestamp | None = None,
) -> tuple[Journeys, pd.Index]:
    """Import a wide (one row per lead) CRM table through a mapping without ``history:``.

    Parameters
    ----------
    source : path-like or dict of path-like
        The main CSV file, or a dict ``{"main": path, "<lookup name>": path, ...}``.
    mp : Mapping
        A loaded mapping (its ``history`` block, if any, is ignored).
    label : str
        Mapping name for ``meta`` and messages.
    observed_until : date-like, optional
        Override the mapping's observation cut-off with one fixed date for every lead.

    Returns
    -------
    journeys : Journeys
        The imported leads and events (see :func:`~qualmodel.crm.importer.import_crm`).
    read_ids : pandas.Index
        The lead id of every row read, kept or dropped (the history import needs the
        dropped ones to tell "dropped" from "unknown" case ids).

    Raises
    ------
    ConfigError
        Bad mapping or parameter.
    InputError
        Bad CSV data (one line: file, line, column and the fix).
    """
    run = _read_main(source, mp)
    _lead_columns(run)
    read_ids = pd.Index(run.leads["lead_id"])
    for i, block in enumerate(mp.status):
        _apply_status(run, i, block)
    _require_created(run)
    _observation_cutoff(run, observed_until)
    _check_order(run)
    for name, spec in mp.attributes.items():
        table = run.main.sources.get(spec.column, run.main)
        typed = typed_attribute(table, name, spec, run.frame[spec.column], mp.dates)
        run.leads[name] = typed.set_axis(run.leads.index)
    events = _build_events(run)
    leads = _kept_leads(run)
    for col in mp.extra_outcomes():  # declared outcomes no status value reached
        if col not in leads:
            leads[col] = pd.Series(pd.NaT, index=leads.index, dtype="datetime64[ns]")
    meta = _import_meta(run, label)
    try:
        journeys = Journeys.build(leads, events, meta)
    except ContractError as exc:
        raise InputError(f"{run.main.path} (mapping {label}): {exc}") from None
    return journeys, read_ids


def _read_main(source: str | Path | AbcMapping[str, str | Path], mp: Mapping) -> _Import:
    """Read the main table, normalise it, join the lookups and check every mapped column."""
    tables = resolve_tables(source, mp)
    main = Table(tables["main"], mp.csv, "main")
    info: dict[str, Any] = {
        "rows": len(main.frame),
        "dropped": {},
        "clipped": {},
        "lookups": {},
        "status": {},
        "events": {},
    }
    for col, m in mp.normalise.items():
        main.require({col: "normalise"})
        main.frame[col] = apply_map(main.frame[col], m)
    frame = _join_lookups(main, mp, tables, info)
    mp = mp.with_columns(list(frame.columns), str(main.path))  # stages: first column present
    main.require(_needed_columns(mp))
    return _Import(main=main, mp=mp, tables=tables, frame=frame, info=info)


def _needed_columns(mp: Mapping) -> dict[str, str]:
    """Return ``{main-table column: mapping key that names it}`` for every mapped column."""
    needed: dict[str, str] = {}
    if mp.lead_id.column:
        needed[mp.lead_id.column] = "lead_id"
    for key, ts in (("created_at", mp.created_at), ("observed_until", mp.observed_until)):
        if ts.column:
            needed[ts.column] = key
    for st, col in mp.stages.items():
        needed[col] = f"stages.{st}"
    for i, block in enumerate(mp.status):
        needed[block.column] = f"status[{i}].column"
        if block.date:
            needed[block.date] = f"status[{i}].date"
        for v, val in block.values.items():
            if val.date:
                needed[val.date] = f"status[{i}].values.{v}.date"
    for name, spec in mp.attributes.items():
        needed[spec.column] = f"attributes.{name}"
    for i, ev in enumerate(mp.events):
        for k in ("name_from", "at", "value"):
            if getattr(ev, k):
                needed[getattr(ev, k)] = f"events[{i}].{k}"
    return needed


def _lead_columns(run: _Import) -> None:
    """Start ``run.leads`` with the lead ids, ``created_at`` and the direct stage columns."""
    mp = run.mp
    run.leads = pd.DataFrame({"lead_id": _lead_ids(run.main, mp.lead_id).to_numpy()})
    run.keep = np.ones(len(run.frame), dtype=bool)
    if mp.created_at.column:
        run.leads["created_at"] = run.dates(mp.created_at.column).to_numpy()
        run.origin["created_at"] = mp.created_at.column
    elif mp.created_at.value is not None:
        run.leads["created_at"] = pd.Timestamp(mp.created_at.value)
        run.origin["created_at"] = f"fixed {pd.Timestamp(mp.created_at.value).date()}"
    else:
        raise ConfigError("created_at: max is only allowed for observed_until")
    for st, col in mp.stages.items():
        run.leads[st] = run.dates(col).to_numpy()
        run.origin[st] = col


def _apply_status(run: _Import, i: int, block: StatusSpec) -> None:
    """Apply status block ``i``: set a stage date, keep open, or drop the lead per value."""
    main, n = run.main, len(run.frame)
    key = run.frame[block.column].fillna("")
    known = list(block.values)
    unknown = ~key.isin(known).to_numpy()
    if unknown.any():
        rows = np.flatnonzero(unknown)
        vals = [v if v else "(empty)" for v in pd.unique(key.iloc[rows])]
        raise InputError(
            f"{main.path}: {main.where(rows)}, column '{block.column}': unknown status "
            f"value(s) {preview(vals)}; known values: {', '.join(known)}; add them under "
            f"status[{i}].values in the mapping (a stage, open or drop)"
        )
    counts = key.value_counts()
    run.info["status"][block.column] = {k: int(counts.get(k, 0)) for k in known}
    for value, act in block.values.items():
        sel = (key == value).to_numpy()
        if not sel.any():
            continue
        if act.action == "drop":
            run.info["dropped"][f"{block.column}={value}"] = int((sel & run.keep).sum())
            run.keep &= ~sel
        elif act.action == "stage":
            col = act.date or block.date
            assert col is not None and act.stage is not None
            when = run.dates(col).to_numpy()
            if act.stage not in run.leads:
                run.leads[act.stage] = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
            empty = sel & run.keep & np.isnat(when)
            if empty.any():
                problem = f"status '{value}' needs a date in column '{col}' but it is empty"
                run.invalid(np.flatnonzero(empty), problem, key=f"missing:{col}")
            cur = run.leads[act.stage].to_numpy().copy()
            cur[sel] = when[sel]
            run.leads[act.stage] = cur
            run.origin[act.stage] = col


def _require_created(run: _Import) -> None:
    """Apply ``on_invalid`` to kept leads without a creation time."""
    missing = run.keep & np.isnat(run.leads["created_at"].to_numpy())
    if missing.any():
        problem = f"created_at (column '{run.origin.get('created_at')}') is empty"
        run.invalid(np.flatnonzero(missing), problem, key="missing:created_at")


def _observation_cutoff(run: _Import, observed_until: str | dt.date | pd.Timestamp | None) -> None:
    """Set ``observed_until``: the parameter, a column, a fixed date or the latest stamp."""
    mp, leads, origin = run.mp, run.leads, run.origin
    if observed_until is not None:
        try:
            cut = cutoff_timestamp(observed_until)
        except ValueError as exc:
            raise ConfigError(f"observed_until: {exc}") from None
        leads["observed_until"] = cut
        origin["observed_until"] = f"fixed {cut} (parameter)"
    elif mp.observed_until.column:
        column = mp.observed_until.column
        leads["observed_until"] = run.dates(column).to_numpy()
        origin["observed_until"] = column
        miss = run.keep & np.isnat(leads["observed_until"].to_numpy())
        if miss.any():
            problem = f"observed_until (column '{column}') is empty"
            run.invalid(np.flatnonzero(miss), problem, key="missing:observed_until")
    elif mp.observed_until.value is not None:
        cut = pd.Timestamp(mp.observed_until.value)  # as written: midnight for a date
        leads["observed_until"] = cut
        origin["observed_until"] = f"fixed {cut}"
    else:
        keep = run.keep
        stamps = [
            (leads[c][keep].max(), run.origin.get(c, c))
            for c in ("created_at", *STAGE_COLUMNS)
            if c in leads
        ]
        stamps += [(run.dates(ev.at)[keep].max(), ev.at) for ev in mp.events if ev.at]
        stamps += _file_stamps(run)
        found = [(ts, col) for ts, col in stamps if pd.notna(ts)]
        latest, column = max(found, key=lambda s: s[0]) if found else (pd.NaT, "")
        leads["observed_until"] = latest
        table = run.main.sources.get(column, run.main)
        origin["observed_until"] = (
            f"latest timestamp in the data ({pd.Timestamp(latest)}, column '{column}' of "
            f"{table.name})"
        )


def _file_stamps(run: _Import) -> list[tuple[pd.Timestamp, str]]:
    """Latest value (and column) of every text column that parses as dates (kept rows).

    ``observed_until: max`` is the last timestamp in the file, not only in the mapped
    columns: a close date of a still-open deal or an unmapped "last activity" column counts.
    Columns that do not parse as dates with the mapping's ``dates`` options are skipped.
    """
    out = []
    for col in run.main.frame.columns:
        values = run.frame[col]
        if not (values.dtype == object or pd.api.types.is_string_dtype(values.dtype)):
            continue
        if not values[run.keep].notna().any():
            continue
        try:
            parsed = run.dates(col)
        except QualmodelError:
            continue
        out.append((parsed[run.keep].max(), col))
    return out


def _kept_leads(run: _Import) -> pd.DataFrame:
    """Return the kept leads (raise if none is left) and count them in ``info``."""
    run.info["leads"] = int(run.keep.sum())
    if not run.keep.any():
        dropped = ", ".join(f"{k} {v}" for k, v in run.info["dropped"].items())
        raise InputError(
            f"{run.main.path}: no lead left after import (dropped: {dropped}); check the mapping"
        )
    return run.leads.loc[run.keep].reset_index(drop=True)


def _import_meta(run: _Import, label: str) -> dict[str, Any]:
    """Return the journeys' ``meta``: source, mapping, file digests, timing and ``info``."""
    mp, info = run.mp, run.info
    info["observed_until"] = run.origin.get("observed_until")
    notes = {name: spec.note for name, spec in mp.attributes.items() if spec.note}
    if notes:
        info["attribute_notes"] = notes
    info["columns"] = run.origin
    if not info["clipped"]:
        del info["clipped"]
    files = {
        name: p.meta() if isinstance(p, SqlTable) else {"path": str(p), "sha256": file_digest(p)}
        for name, p in run.tables.items()
        if isinstance(p, SqlTable) or p.exists()
    }
    files["main"]["rows"] = info["rows"]
    return crm_meta(mp, label, files, info)


def crm_meta(
    mp: Mapping, label: str, files: dict[str, Any], info: dict[str, Any]
) -> dict[str, Any]:
    """Return the ``meta`` of an imported journeys folder (every kind of import).

    Parameters
    ----------
    mp : Mapping
        The mapping used.
    label : str
        Its name or path, as the user gave it.
    files : dict
        Input file records (path, SHA-256, rows).
    info : dict
        Import counts and notes (``meta["import"]``).

    Returns
    -------
    dict
    """
    meta = {
        "source": mp.source,
        "kind": "crm_import",
        "mapping": {"name": label, "hash": mp.resolved_hash()},
        "files": files,
        "timing": mp.timing,
        "time_unit": "days",
        "import": clip_texts(info),
    }
    if mp.title:  # how reports title the data
        meta["title"] = mp.title
    if mp.outcomes:  # the data's own outcome names, on every import path
        meta["outcomes"] = dict(mp.outcomes)
    return meta


#: Longest data value copied into ``meta`` as it is (longer ones are shortened).
META_TEXT_CHARS = 200


def clip_texts(value: Any) -> Any:
    """Return ``value`` with every string (keys too) over :data:`META_TEXT_CHARS` shortened.

    Import notes quote the data (activity names, unknown values); a corrupt export could
    otherwise copy a huge value into ``meta.json``.
    """
    if isinstance(value, str):
        if len(value) <= META_TEXT_CHARS:
            return value
        return f"{value[:80]}… ({len(value):,} characters)"
    if isinstance(value, dict):
        return {clip_texts(k): clip_texts(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clip_texts(v) for v in value]
    return value


def _check_order(run: _Import) -> None:
    """Apply ``on_invalid`` to stage dates out of order or after the cut-off, won and lost."""
    leads, origin = run.leads, run.origin
    present = set(leads.columns)

    def label(c: str) -> str:
        src = origin.get(c)
        return f"{c} ({src!r})" if src else c

    for early, late in ORDER_RULES:
        if early not in present or late not in present:
            continue
        a = leads[early].to_numpy()
        b = leads[late].to_numpy()
        bad = run.keep & ~np.isnat(a) & ~np.isnat(b) & (b < a)
        problem = f"{label(late)} is before {label(early)}"
        _clip_or_invalid(run, late, bad, a, problem, f"{late}<{early}", clippable=True)
    end = leads["observed_until"].to_numpy()
    extra = [c for c in run.mp.extra_outcomes() if c in present]
    for col in ("created_at", *[c for c in STAGE_COLUMNS if c in present], *extra):
        v = leads[col].to_numpy()
        bad = run.keep & ~np.isnat(v) & (v > end)
        problem = f"{label(col)} is after observed_until ({origin.get('observed_until')})"
        clippable = col != "created_at"
        _clip_or_invalid(run, col, bad, end, problem, f"{col}>observed_until", clippable=clippable)
    if "won_at" in present and "lost_at" in present:
        both = run.keep & leads["won_at"].notna().to_numpy() & leads["lost_at"].notna().to_numpy()
        if both.any():
            run.invalid(np.flatnonzero(both), "the lead is both won and lost", key="won_and_lost")


def _clip_or_invalid(
    run: _Import,
    col: str,
    bad: np.ndarray,
    bound: np.ndarray,
    problem: str,
    key: str,
    *,
    clippable: bool,
) -> None:
    """Apply ``on_invalid`` to the ``bad`` rows; under ``clip`` move ``col`` to ``bound``."""
    if not bad.any():
        return
    rows = np.flatnonzero(bad)
    clip = run.invalid(rows, problem, key, clippable=clippable)
    if clip is not None:
        values = run.leads[col].to_numpy().copy()
        values[clip] = bound[clip]
        run.leads[col] = values


def _build_events(run: _Import) -> pd.DataFrame:
    """Return the event log of the kept leads, one part per ``events`` spec of the mapping."""
    mp, frame, leads, keep, info = run.mp, run.frame, run.leads, run.keep, run.info
    parts: list[pd.DataFrame] = []
    ids = leads["lead_id"].to_numpy()
    for i, ev in enumerate(mp.events):
        names, label = _event_names(ev, frame)
        if ev.at is not None:
            ts = run.dates(ev.at).to_numpy()
            timing = f"real (column '{ev.at}')"
        else:
            assert ev.at_stage is not None
            if ev.at_stage not in leads:
                raise ConfigError(f"events[{i}].at_stage: {ev.at_stage} is not set by this mapping")
            ts = leads[ev.at_stage].to_numpy()
            timing = f"placeholder (the lead's {ev.at_stage})"
        has = names.notna().to_numpy() & ~np.isnat(ts)
        if ev.at is not None:
            has, ts = _event_bounds(run, ev.at, label, has, ts)
        has &= keep
        info["events"][label] = {"count": int(has.sum()), "timing": timing}
        part = pd.DataFrame(
            {
                "lead_id": ids[has],
                "ts": ts[has],
                "event": names.to_numpy()[has],
            }
        )
        if ev.value is not None:
            vals = pd.to_numeric(frame[ev.value], errors="coerce")
            part["value"] = vals.to_numpy()[has]
        parts.append(part)
    if not parts:
        return pd.DataFrame(
            {
                "lead_id": pd.Series([], dtype=object),
                "ts": pd.Series([], dtype="datetime64[ns]"),
                "event": pd.Series([], dtype="category"),
            }
        )
    out = pd.concat(parts, ignore_index=True)
    if "value" not in out:
        out["value"] = np.nan
    return out


def _event_names(ev: EventSpec, frame: pd.DataFrame) -> tuple[pd.Series, str]:
    """Return the event name per row (``None`` for no event) and the spec's label."""
    if ev.name is not None:
        return pd.Series(ev.name, index=frame.index, dtype=object), ev.name
    assert ev.name_from is not None
    raw = apply_map(frame[ev.name_from], ev.map)
    lookup = {v: ev.prefix + snake_case(v) for v in pd.unique(raw.dropna())}
    names = raw.map(lookup).astype(object)
    names = names.where(names.notna(), None)
    names = names.where(names != ev.prefix, None)
    return names, f"{ev.prefix}<{ev.name_from}>"


def _event_bounds(
    run: _Import, column: str, label: str, has: np.ndarray, ts: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Apply ``on_invalid`` to events before created_at or after observed_until.

    ``drop`` drops the event only (the lead stays); ``clip`` moves it to the bound.
    Returns the updated ``has`` (rows with an event) and ``ts``.
    """
    keep, info = run.keep, run.info
    created = run.leads["created_at"].to_numpy()
    until = run.leads["observed_until"].to_numpy()
    early = keep & has & (ts < created)
    late = keep & has & (ts > until)
    for bad, what, bound, tag in (
        (early, "before the lead's created_at", created, "before_created"),
        (late, "after observed_until", until, "after_end"),
    ):
        if not bad.any():
            continue
        rows = np.flatnonzero(bad)
        problem = f"event {label!r} (column '{column}') is {what}"
        key = f"event:{label}:{tag}"
        if run.mp.on_invalid == "error":
            run.invalid(rows, problem, key)
        elif run.mp.on_invalid == "drop":  # drop the event only, keep the lead
            info["dropped"][key] = info["dropped"].get(key, 0) + len(rows)
            has = has & ~bad
        else:
            info["clipped"][key] = info["clipped"].get(key, 0) + len(rows)
            ts = ts.copy()
            ts[rows] = bound[rows]
    return has, ts
