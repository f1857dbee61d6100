"""The journey data contract: leads, their touchpoint events, and provenance metadata.

A :class:`Journeys` object is the one data structure every qualmodel step consumes or
produces. It is validated on construction, so any object you hold is known to satisfy:

* ``leads`` has one row per lead, sorted by ``lead_id`` (unique, non-empty strings), with
  ``created_at`` and ``observed_until`` always set, and optional stage timestamps
  (:data:`STAGE_COLUMNS`) that are ``NaT`` when a stage was not reached;
* stage order: ``created_at ≤ mql_at ≤ sal_at ≤ sqo_at ≤ won_at | lost_at ≤
  observed_until``; ``disqualified_at`` and ``recycled_at`` lie after ``created_at``
  (and after ``sal_at`` when both are set); a lead is not both won and lost;
* ``events`` has one row per touchpoint (``lead_id``, ``ts``, ``event``, optional
  ``value``), sorted by (``lead_id``, ``ts``), every ``lead_id`` known, and every ``ts``
  within ``[created_at, observed_until]`` of its lead;
* ``meta`` is a JSON-serialisable dict (source, seed, version, config hash, time unit).

Normalisation done on construction (cheap, order-preserving): timestamp columns become
``datetime64[ns]``; ``events.lead_id`` becomes a categorical whose categories are
``leads.lead_id`` in order (so ``events.lead_id.cat.codes`` is the row position of the lead
in ``leads``); ``events.event`` becomes a categorical; ``events.value`` becomes float64.
Use :meth:`Journeys.build` to also sort unsorted input.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from qualmodel.core.errors import ContractError, preview
from qualmodel.journeys.store import read_parts, write_folder

#: Stage timestamp columns a ``leads`` table may carry (all optional).
STAGE_COLUMNS: tuple[str, ...] = (
    "mql_at",
    "sal_at",
    "sqo_at",
    "disqualified_at",
    "won_at",
    "lost_at",
    "recycled_at",
)
#: Stages that end a journey; extra outcomes declared in ``meta["outcomes"]`` join them.
TERMINAL_COLUMNS: tuple[str, ...] = ("won_at", "lost_at")
#: Columns every ``leads`` table must have.
REQUIRED_LEAD_COLUMNS: tuple[str, ...] = ("lead_id", "created_at", "observed_until")
#: Columns every ``events`` table must have (``value`` is optional).
REQUIRED_EVENT_COLUMNS: tuple[str, ...] = ("lead_id", "ts", "event")
#: BANT attribute columns understood by criteria (all optional).
BANT_COLUMNS: tuple[str, ...] = ("budget_confirmed", "authority", "need", "timeline_days")
#: Prefix of columns that only a simulation knows; criteria must never read them.
TRUTH_PREFIX = "true_"

#: (earlier, later) stage pairs checked when both timestamps are set (the CRM importer
#: applies its ``on_invalid`` policy to the same pairs).
ORDER_RULES: tuple[tuple[str, str], ...] = (
    ("created_at", "mql_at"),
    ("created_at", "sal_at"),
    ("mql_at", "sal_at"),
    ("sal_at", "sqo_at"),
    ("created_at", "sqo_at"),
    ("sqo_at", "won_at"),
    ("sqo_at", "lost_at"),
    ("sal_at", "won_at"),
    ("sal_at", "lost_at"),
    ("created_at", "won_at"),
    ("created_at", "lost_at"),
    ("created_at", "disqualified_at"),
    ("sal_at", "disqualified_at"),
    ("created_at", "recycled_at"),
)


def _to_ns(series: pd.Series, table: str, column: str) -> pd.Series:
    """Return ``series`` as tz-naive ``datetime64[ns]`` or raise a :class:`ContractError`."""
    if isinstance(series.dtype, pd.DatetimeTZDtype):
        raise ContractError(
            f"{table}: column '{column}' is timezone-aware ({series.dtype}); convert to UTC "
            f"and drop the zone with .dt.tz_convert('UTC').dt.tz_localize(None)"
        )
    if not pd.api.types.is_datetime64_dtype(series.dtype):
        if series.isna().all():
            return pd.Series(pd.NaT, index=series.index, dtype="datetime64[ns]", name=column)
        raise ContractError(
            f"{table}: column '{column}' has dtype {series.dtype}, expected datetime64; "
            f"parse it with pandas.to_datetime before building Journeys"
        )
    return series.astype("datetime64[ns]")


def outcome_labels(meta: Mapping[str, Any]) -> dict[str, str]:
    """Column → label of the outcomes named in ``meta["outcomes"]`` (``{label: column}``).

    Parameters
    ----------
    meta : mapping
        A journeys ``meta`` dict (validated or not).

    Returns
    -------
    dict
        ``{"lost_at": "declined", "withdrawn_at": "cancelled"}`` for
        ``meta["outcomes"] = {"declined": "lost", "cancelled": "withdrawn"}``: a column may
        be given with or without its ``_at`` suffix. Empty when nothing is declared.
    """
    raw = meta.get("outcomes") or {}
    if not isinstance(raw, Mapping):
        return {}
    return {_outcome_column(str(col)): str(label) for label, col in raw.items()}


def _outcome_column(col: str) -> str:
    return col if col.endswith("_at") else f"{col}_at"


def extra_outcome_columns(meta: Mapping[str, Any]) -> list[str]:
    """Outcome columns declared in ``meta["outcomes"]`` beyond :data:`STAGE_COLUMNS`.

    Parameters
    ----------
    meta : mapping

    Returns
    -------
    list of str
        In declaration order, e.g. ``["withdrawn_at"]``.
    """
    return [c for c in outcome_labels(meta) if c not in STAGE_COLUMNS]


def _check_outcomes(meta: Mapping[str, Any]) -> None:
    raw = meta.get("outcomes")
    if raw is None:
        return
    if not isinstance(raw, Mapping):
        raise ContractError(
            f"meta['outcomes'] must map outcome labels to columns, e.g. "
            f"{{'declined': 'lost', 'cancelled': 'withdrawn'}}; got {type(raw).__name__}"
        )
    seen: dict[str, str] = {}
    for label, col in raw.items():
        if not isinstance(label, str) or not label.strip() or not isinstance(col, str):
            raise ContractError(
                f"meta['outcomes']: entry {label!r}: {col!r} must map a non-empty label to a "
                f"column name such as 'withdrawn'"
            )
        column = _outcome_column(col)
        if not re.fullmatch(r"[a-z][a-z0-9_]*_at", column) or column in _NOT_OUTCOMES:
            raise ContractError(
                f"meta['outcomes']: {label!r} maps to {col!r}, which cannot be an outcome "
                f"column; use a lowercase name such as 'withdrawn' (stored as withdrawn_at) "
                f"or one of won, lost, disqualified"
            )
        if column in seen:
            raise ContractError(
                f"meta['outcomes']: {seen[column]!r} and {label!r} both map to {column}; "
                f"give each outcome its own column"
            )
        seen[column] = label


#: Columns that cannot be declared outcomes (they are not terminal stages).
_NOT_OUTCOMES: frozenset[str] = frozenset({"created_at", "observed_until_at", "mql_at", "sal_at"})


def _normalise_leads(leads: pd.DataFrame, extra: Sequence[str] = ()) -> pd.DataFrame:
    if not isinstance(leads, pd.DataFrame):
        raise ContractError(f"leads must be a pandas DataFrame, got {type(leads).__name__}")
    missing = [c for c in REQUIRED_LEAD_COLUMNS if c not in leads.columns]
    if missing:
        raise ContractError(
            f"leads: missing required column(s) {', '.join(missing)}; every lead needs "
            f"lead_id, created_at and observed_until"
        )
    if leads.columns.duplicated().any():
        dup = leads.columns[leads.columns.duplicated()].tolist()
        raise ContractError(f"leads: duplicated column name(s) {preview(dup)}; rename them")
    out = leads.reset_index(drop=True).copy()
    ids = out["lead_id"]
    if ids.isna().any():
        rows = np.flatnonzero(ids.isna().to_numpy())
        raise ContractError(
            f"leads: column 'lead_id' is empty in row(s) {preview(rows)}; every lead needs an id"
        )
    if not (pd.api.types.is_string_dtype(ids.dtype) or ids.dtype == object):
        raise ContractError(
            f"leads: column 'lead_id' has dtype {ids.dtype}, expected str; "
            f"convert with .astype(str)"
        )
    ids = ids.astype(object)
    if pd.api.types.infer_dtype(ids, skipna=False) != "string" or (ids == "").any():
        not_str = ~np.fromiter(
            (isinstance(v, str) and v != "" for v in ids), dtype=bool, count=len(ids)
        )
        bad = ids[not_str].head(5).tolist()
        raise ContractError(
            f"leads: column 'lead_id' must hold non-empty strings; found {preview(bad)}; "
            f"convert with .astype(str)"
        )
    out["lead_id"] = ids
    missing = [c for c in extra if c not in out.columns]
    if missing:
        raise ContractError(
            f"leads: outcome column(s) {preview(missing)} declared in meta['outcomes'] are "
            f"missing; add them (NaT where not reached) or drop them from meta['outcomes']"
        )
    stamps = [c for c in STAGE_COLUMNS if c in out] + list(extra)
    for col in ("created_at", "observed_until", *stamps):
        out[col] = _to_ns(out[col], "leads", col)
    return out


def _normalise_events(events: pd.DataFrame, lead_ids: pd.Index) -> pd.DataFrame:
    if not isinstance(events, pd.DataFrame):
        raise ContractError(f"events must be a pandas DataFrame, got {type(events).__name__}")
    missing = [c for c in REQUIRED_EVENT_COLUMNS if c not in events.columns]
    if missing:
        raise ContractError(
            f"events: missing required column(s) {', '.join(missing)}; every event needs "
            f"lead_id, ts and event"
        )
    out = events.reset_index(drop=True)
    if not out.index.equals(events.index):
        out = out.copy()
    else:
        out = out.copy(deep=False)
    lid = out["lead_id"]
    if isinstance(lid.dtype, pd.CategoricalDtype) and lid.cat.categories.equals(lead_ids):
        pass
    else:
        if isinstance(lid.dtype, pd.CategoricalDtype):
            # remap through the (small) dictionary instead of hashing every row
            raw = lid
            cat_pos = lead_ids.get_indexer(lid.cat.categories.astype(object))
            old_codes = lid.cat.codes.to_numpy()
            codes = np.where(old_codes >= 0, cat_pos[old_codes], -1)
        else:
            raw = lid
            codes = lead_ids.get_indexer(raw)
        unknown = codes < 0
        if unknown.any():
            bad = pd.unique(raw[unknown].astype(str))
            raise ContractError(
                f"events: {int(unknown.sum())} event(s) name lead_id(s) not in leads, e.g. "
                f"{preview(bad)}; drop those events or add the leads"
            )
        out["lead_id"] = pd.Categorical.from_codes(codes.astype(np.int32), categories=lead_ids)
    out["ts"] = _to_ns(out["ts"], "events", "ts")
    ev = out["event"]
    if ev.isna().any():
        rows = np.flatnonzero(ev.isna().to_numpy())
        raise ContractError(
            f"events: column 'event' is empty in row(s) {preview(rows)}; every event needs a name"
        )
    if not isinstance(ev.dtype, pd.CategoricalDtype):
        out["event"] = ev.astype(str).astype("category")
    elif not all(isinstance(c, str) for c in ev.cat.categories):
        out["event"] = ev.astype(str).astype("category")
    if "value" in out.columns:
        try:
            out["value"] = out["value"].astype("float64")
        except (TypeError, ValueError) as exc:
            raise ContractError(
                f"events: column 'value' must be numeric ({exc}); convert it with "
                f"pandas.to_numeric or drop it"
            ) from None
    return out


def _check_leads(leads: pd.DataFrame, extra: Sequence[str] = ()) -> None:
    ids = leads["lead_id"]
    if ids.duplicated().any():
        dup = pd.unique(ids[ids.duplicated()])
        raise ContractError(
            f"leads: lead_id must be unique; duplicated: {preview(dup)}; deduplicate the rows"
        )
    if not ids.is_monotonic_increasing:
        raise ContractError(
            "leads: rows must be sorted by lead_id; use Journeys.build(...) which sorts, or "
            "leads.sort_values('lead_id')"
        )
    for col in ("created_at", "observed_until"):
        nat = leads[col].isna().to_numpy()
        if nat.any():
            raise ContractError(
                f"leads: column '{col}' is empty (NaT) for lead(s) {preview(ids[nat])}; "
                f"every lead needs {col}"
            )
    present = set(leads.columns)
    stamps = ["created_at", *[c for c in STAGE_COLUMNS if c in present], *extra]
    end = leads["observed_until"].to_numpy()
    for col in stamps:
        v = leads[col].to_numpy()
        bad = ~np.isnat(v) & (v > end)
        if bad.any():
            raise ContractError(
                f"leads: '{col}' is after 'observed_until' for {int(bad.sum())} lead(s) "
                f"({preview(ids[bad])}); a stage cannot be seen after the data cut-off — "
                f"move observed_until or clear the stage"
            )
    for early, late in ORDER_RULES:
        if early not in present or late not in present:
            continue
        a = leads[early].to_numpy()
        b = leads[late].to_numpy()
        bad = ~np.isnat(a) & ~np.isnat(b) & (b < a)
        if bad.any():
            raise ContractError(
                f"leads: '{late}' is before '{early}' for {int(bad.sum())} lead(s) "
                f"({preview(ids[bad])}); stages must follow created_at ≤ mql_at ≤ sal_at ≤ "
                f"sqo_at ≤ won_at/lost_at ≤ observed_until — fix the timestamps or clear "
                f"'{late}'"
            )
    _check_terminal(leads, ids, [c for c in TERMINAL_COLUMNS if c in present] + list(extra))
    for col in extra:
        a, b = leads["created_at"].to_numpy(), leads[col].to_numpy()
        bad = ~np.isnat(b) & (b < a)
        if bad.any():
            raise ContractError(
                f"leads: outcome '{col}' is before 'created_at' for {int(bad.sum())} lead(s) "
                f"({preview(ids[bad])}); fix the timestamps or clear '{col}'"
            )
    for col in leads.columns:
        if (
            col.startswith(TRUTH_PREFIX)
            or col in REQUIRED_LEAD_COLUMNS
            or col in STAGE_COLUMNS
            or col in extra
        ):
            continue
        if col in ("budget_confirmed", "authority", "need"):
            s = leads[col]
            if not (pd.api.types.is_bool_dtype(s.dtype) or str(s.dtype) == "boolean"):
                raise ContractError(
                    f"leads: BANT column '{col}' has dtype {s.dtype}, expected bool "
                    f"(nullable 'boolean' allowed); map yes/no values to True/False"
                )
        if col == "timeline_days" and not pd.api.types.is_numeric_dtype(leads[col].dtype):
            raise ContractError(
                f"leads: column 'timeline_days' has dtype {leads[col].dtype}, expected a "
                f"number of days; convert with pandas.to_numeric"
            )


def _check_terminal(leads: pd.DataFrame, ids: pd.Series, columns: Sequence[str]) -> None:
    """Reject leads with two terminal outcomes (won, lost or a declared extra outcome)."""
    for i, a in enumerate(columns):
        for b in columns[i + 1 :]:
            both = leads[a].notna().to_numpy() & leads[b].notna().to_numpy()
            if both.any():
                what = (
                    "both won and lost"
                    if {a, b} == {"won_at", "lost_at"}
                    else (f"both {a.removesuffix('_at')} and {b.removesuffix('_at')}")
                )
                raise ContractError(
                    f"leads: {int(both.sum())} lead(s) are {what} ({preview(ids[both])}); "
                    f"keep only the final outcome"
                )


def _check_events(events: pd.DataFrame, leads: pd.DataFrame) -> None:
    if events.empty:
        return
    codes = events["lead_id"].cat.codes.to_numpy()
    ts = events["ts"].to_numpy()
    if np.isnat(ts).any():
        rows = np.flatnonzero(np.isnat(ts))
        raise ContractError(
            f"events: column 'ts' is empty (NaT) in row(s) {preview(rows)}; every event needs "
            f"a timestamp"
        )
    ids = leads["lead_id"].to_numpy()
    created = leads["created_at"].to_numpy()[codes]
    before = ts < created
    if before.any():
        raise ContractError(
            f"events: {int(before.sum())} event(s) happen before their lead's created_at "
            f"(leads {preview(pd.unique(ids[codes[before]]))}); fix created_at or drop "
            f"those events"
        )
    until = leads["observed_until"].to_numpy()[codes]
    after = ts > until
    if after.any():
        raise ContractError(
            f"events: {int(after.sum())} event(s) happen after their lead's observed_until "
            f"(leads {preview(pd.unique(ids[codes[after]]))}); move observed_until or drop "
            f"those events"
        )
    dc = np.diff(codes)
    dt = np.diff(ts.view("int64"))
    unsorted = (dc < 0) | ((dc == 0) & (dt < 0))
    if unsorted.any():
        rows = np.flatnonzero(unsorted) + 1
        raise ContractError(
            f"events: rows must be sorted by (lead_id, ts); first out-of-order row(s) "
            f"{preview(rows)}; use Journeys.build(...) which sorts"
        )


def _check_meta(meta: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(meta, Mapping):
        raise ContractError(f"meta must be a dict, got {type(meta).__name__}")
    out = dict(meta)
    _check_outcomes(out)
    try:
        json.dumps(out, sort_keys=True)
    except (TypeError, ValueError) as exc:
        raise ContractError(
            f"meta must be JSON-serialisable ({exc}); store plain str/int/float/list/dict"
        ) from None
    out.setdefault("source", "unknown")
    out.setdefault("time_unit", "days")
    if "qualmodel_version" not in out:
        from qualmodel import __version__

        out["qualmodel_version"] = __version__
    return out


@dataclass(frozen=True)
class Journeys:
    """Lead journeys: one row per lead, one row per touchpoint, and provenance.

    Parameters
    ----------
    leads : pandas.DataFrame
        One row per lead, sorted by ``lead_id``. Required columns ``lead_id`` (str),
        ``created_at`` and ``observed_until`` (datetime64). Optional stage timestamps
        :data:`STAGE_COLUMNS` (``NaT`` when not reached), attributes such as ``segment``,
        ``source``, BANT (:data:`BANT_COLUMNS`), ``deal_value``, and simulation truth
        columns prefixed ``true_``.
    events : pandas.DataFrame
        One row per touchpoint with ``lead_id``, ``ts`` (datetime64), ``event`` and an
        optional float ``value``; sorted by (``lead_id``, ``ts``).
    meta : dict, optional
        Provenance: ``source`` (scenario or CRM name), ``seed``, ``qualmodel_version``,
        ``config_hash``, ``time_unit``. Must be JSON-serialisable.

    Raises
    ------
    ContractError
        When any rule of the contract is broken; the message names the table, the column,
        the first offending lead ids or rows, and the fix.
    """

    leads: pd.DataFrame
    events: pd.DataFrame
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        meta = _check_meta(self.meta)
        extra = extra_outcome_columns(meta)
        leads = _normalise_leads(self.leads, extra)
        _check_leads(leads, extra)
        index = pd.Index(leads["lead_id"].to_numpy(), dtype=object)
        events = _normalise_events(self.events, index)
        _check_events(events, leads)
        object.__setattr__(self, "leads", leads)
        object.__setattr__(self, "events", events)
        object.__setattr__(self, "meta", meta)

    # ------------------------------------------------------------------ construction
    @classmethod
    def trusted(
        cls, leads: pd.DataFrame, events: pd.DataFrame, meta: Mapping[str, Any]
    ) -> Journeys:
        """Wrap tables that a producer builds in contract form, with the cheap checks only.

        For internal producers that guarantee the contract by construction (the
        simulator: sorted ids, categorical event leads over them, ns timestamps in stage
        order); re-validating millions of rows would cost more than producing them. Checked
        here: meta, the required columns, and that the events' lead categories are the lead
        ids. ``tests/test_simulation_engine.py`` checks that the full validation accepts
        and leaves unchanged what the simulator wraps this way.

        Parameters
        ----------
        leads, events : pandas.DataFrame
            Tables already in contract form.
        meta : mapping
            Provenance (checked as in the constructor).

        Returns
        -------
        Journeys
        """
        meta = _check_meta(meta)
        missing = [c for c in REQUIRED_LEAD_COLUMNS if c not in leads.columns] + [
            c for c in REQUIRED_EVENT_COLUMNS if c not in events.columns
        ]
        lid = events["lead_id"] if "lead_id" in events else None
        if missing or not isinstance(getattr(lid, "dtype", None), pd.CategoricalDtype):
            raise ContractError(f"trusted journeys lack contract form ({missing or 'lead_id'})")
        if len(lid.cat.categories) != len(leads):
            raise ContractError("trusted journeys: event lead categories are not the lead ids")
        obj = cls.__new__(cls)
        object.__setattr__(obj, "leads", leads)
        object.__setattr__(obj, "events", events)
        object.__setattr__(obj, "meta", meta)
        return obj

    @classmethod
    def build(
        cls,
        leads: pd.DataFrame,
        events: pd.DataFrame | None = None,
        meta: Mapping[str, Any] | None = None,
    ) -> Journeys:
        """Sort ``leads`` by ``lead_id`` and ``events`` by (``lead_id``, ``ts``), then validate.

        Parameters
        ----------
        leads, events, meta
            As for :class:`Journeys`; ``events`` may be ``None`` for a lead table alone.

        Returns
        -------
        Journeys
        """
        leads = _normalise_leads(leads)
        leads = leads.sort_values("lead_id", kind="stable").reset_index(drop=True)
        if events is None:
            events = pd.DataFrame(
                {
                    "lead_id": pd.Series([], dtype=object),
                    "ts": pd.Series([], dtype="datetime64[ns]"),
                    "event": pd.Series([], dtype="category"),
                }
            )
        index = pd.Index(leads["lead_id"].to_numpy(), dtype=object)
        dup = index.duplicated()
        if dup.any():
            raise ContractError(
                f"leads: lead_id must be unique; duplicated: {preview(pd.unique(index[dup]))}; "
                f"deduplicate the rows"
            )
        ev = _normalise_events(events, index)
        if not ev.empty:
            order = np.lexsort((ev["ts"].to_numpy().view("int64"), ev["lead_id"].cat.codes))
            ev = ev.take(order).reset_index(drop=True)
        return cls(leads, ev, dict(meta or {}))

    # ------------------------------------------------------------------ accessors
    @property
    def n_leads(self) -> int:
        """Number of leads."""
        return len(self.leads)

    @property
    def n_events(self) -> int:
        """Number of events."""
        return len(self.events)

    @property
    def event_names(self) -> list[str]:
        """Event type names present in the categorical ``events.event`` (sorted)."""
        return sorted(str(c) for c in self.events["event"].cat.categories)

    @property
    def event_lead_codes(self) -> np.ndarray:
        """Row position in ``leads`` of each event's lead (int32, non-decreasing)."""
        return self.events["lead_id"].cat.codes.to_numpy()

    def subset(self, lead_ids: Iterable[str]) -> Journeys:
        """Return the journeys of the given leads only (order of ``leads`` is kept).

        Parameters
        ----------
        lead_ids : iterable of str
            Leads to keep; unknown ids raise :class:`ContractError`.

        Returns
        -------
        Journeys
        """
        wanted = pd.Index(list(lead_ids), dtype=object)
        pos = pd.Index(self.leads["lead_id"].to_numpy(), dtype=object).get_indexer(wanted)
        if (pos < 0).any():
            raise ContractError(f"subset: unknown lead_id(s) {preview(wanted[pos < 0])}")
        keep = np.zeros(self.n_leads, dtype=bool)
        keep[pos] = True
        leads = self.leads.loc[keep].reset_index(drop=True)
        ev_keep = keep[self.event_lead_codes]
        events = self.events.loc[ev_keep].copy()
        events["lead_id"] = events["lead_id"].astype(object)
        return Journeys(leads, events.reset_index(drop=True), dict(self.meta))

    # ------------------------------------------------------------------ files
    def write(self, path: str | os.PathLike[str], overwrite: bool = True) -> Path:
        """Write ``leads.parquet``, ``events.parquet`` and ``meta.json`` into folder ``path``.

        The folder is written under a temporary name next to ``path`` and renamed into
        place, so a reader never sees a half-written folder and a failure leaves any
        previous content intact; folder and files get the modes ``mkdir``/``open`` would
        give (the process umask applies); temporaries left by a killed process are removed first.
        ``meta.json`` also stores the SHA-256 of both data files under ``"checksums"``
        (checked by :meth:`read`; not part of :attr:`meta`). A non-empty folder that is not
        a journeys folder (no ``meta.json`` with ``qualmodel_version``) is never replaced.

        Parameters
        ----------
        path : path-like
            Target folder.
        overwrite : bool, default True
            Replace an existing folder; with ``False`` an existing folder is an error.

        Returns
        -------
        pathlib.Path
            The folder written.
        """
        return write_folder(self.leads, self.events, self.meta, path, overwrite)

    @classmethod
    def read(cls, path: str | os.PathLike[str]) -> Journeys:
        """Read a folder written by :meth:`write` and validate it.

        Parameters
        ----------
        path : path-like
            Folder with ``leads.parquet``, ``events.parquet`` and ``meta.json``.

        Returns
        -------
        Journeys

        Raises
        ------
        InputError
            When the folder or one of its files is missing or unreadable, or a data file
            does not match its checksum in ``meta.json`` (folders written before checksums
            existed have none and are read without this check).
        ContractError
            When the content breaks the contract.
        """
        folder, leads, events, meta = read_parts(path)
        try:
            return cls(leads, events, meta)
        except ContractError as exc:
            raise ContractError(f"{folder}: {exc}") from None
