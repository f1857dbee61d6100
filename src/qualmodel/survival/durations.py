"""Time-to-event tables: from stage timestamps to (duration, event code) with censoring.

:func:`time_to_event` turns a :class:`~qualmodel.Journeys` object into the one table every
estimator in :mod:`qualmodel.survival.estimators` consumes: one row per lead that reached the
``start`` stage, with the time from ``start`` to the first of the ``target`` and the
``competing`` stamps, and an integer event code.

Event codes
-----------
* ``0`` — censored: none of the stamps happened by ``observed_until`` (or by the
  ``horizon``); the duration runs to ``observed_until`` (or to the horizon).
* ``1`` — the ``target`` stamp came first.
* ``2, 3, ...`` — the first, second, ... ``competing`` stamp came first.

Ties: when the target and a competing stamp fall on the same instant the **target wins**
(code 1); among competing stamps the one listed first wins. Stamps later than the lead's
``observed_until`` are treated as not (yet) observed.

Rounding policy
---------------
Durations are exact by default: the nanosecond difference is split into whole units and a
remainder, so stamps that fall on whole days give exactly integral float durations (two
leads with the same day difference tie exactly, which keeps day-resolution ties intact for
the estimators and for reference software). **Keep them exact** unless you need ties: on
timestamped data every estimate then equals R's on the same exact durations.

With ``resolution`` set, durations are rounded to multiples of it, which changes the
estimates (by up to about 1e-2 on the shares of a timestamped CRM export) — use it to
create ties on purpose (faster Cox fits on continuous timestamps) or to match a report
that counts days:

* ``rounding="floor"`` (default): completed units, "day k since SAL" — an event a few hours
  after the start is at day 0, so day-0 events appear (the cure model places them at
  ``zero_time``);
* ``rounding="ceil"``: the unit the event falls in, counted from 1 — no day-0 events unless
  the stamps are equal, and every duration is an upper bound of the exact one.

Floored (or ceiled) durations equal R's ``floor()`` (``ceiling()``) of
``difftime(..., units = "days")`` on the same timestamps (``tests/reference/rounding.R``).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from qualmodel.core.errors import ConfigError, preview
from qualmodel.journeys.contract import Journeys
from qualmodel.journeys.outcomes import (
    PlanWarning,
    default_competing,
    default_start,
    default_target,
    terminal_outcomes,
)

__all__ = ["UNITS", "time_to_event"]

#: Supported duration units and their length in nanoseconds.
UNITS: dict[str, int] = {
    "hours": 3_600 * 10**9,
    "days": 86_400 * 10**9,
    "weeks": 7 * 86_400 * 10**9,
}

StampSpec = str | pd.Series


def _stamp(journeys: Journeys, spec: StampSpec, role: str) -> tuple[str, np.ndarray]:
    """Return (label, int64 ns array with NaT) for a column name or an aligned Series."""
    leads = journeys.leads
    if isinstance(spec, str):
        if spec not in leads.columns:
            stamps = [c for c in leads.columns if c.endswith("_at")]
            raise ConfigError(
                f"time_to_event: {role} column '{spec}' is not in journeys.leads; "
                f"choose one of {preview(stamps, k=10)} or pass a datetime Series"
            )
        values = leads[spec]
        label = spec
    elif isinstance(spec, pd.Series):
        label = str(spec.name) if spec.name is not None else f"<{role} series>"
        if len(spec) != len(leads):
            raise ConfigError(
                f"time_to_event: {role} series '{label}' has {len(spec)} rows but "
                f"journeys.leads has {len(leads)}; align it with journeys.leads rows"
            )
        if spec.index.equals(leads.index):
            values = spec
        elif spec.index.equals(pd.Index(leads["lead_id"])):
            values = spec.set_axis(leads.index)
        else:
            raise ConfigError(
                f"time_to_event: {role} series '{label}' has an index that matches neither "
                f"journeys.leads rows nor lead ids; use .reset_index(drop=True) or index "
                f"it by lead_id"
            )
    else:
        raise ConfigError(
            f"time_to_event: {role} must be a column name or a datetime pandas Series, "
            f"got {type(spec).__name__}"
        )
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        raise ConfigError(
            f"time_to_event: {role} '{label}' is timezone-aware; convert it with "
            f".dt.tz_convert('UTC').dt.tz_localize(None)"
        )
    if not pd.api.types.is_datetime64_dtype(values.dtype):
        if values.isna().all():
            return label, np.full(len(values), np.iinfo(np.int64).min, dtype=np.int64)
        raise ConfigError(
            f"time_to_event: {role} '{label}' has dtype {values.dtype}, expected datetime64; "
            f"parse it with pandas.to_datetime"
        )
    return label, values.astype("datetime64[ns]").to_numpy().view(np.int64)


def _to_units(
    delta_ns: np.ndarray, unit_ns: int, resolution: float | None, rounding: str = "floor"
) -> np.ndarray:
    """Convert non-negative int64 nanosecond differences to float units (exact whole part)."""
    whole, rest = np.divmod(delta_ns, unit_ns)
    out = whole.astype(np.float64) + rest.astype(np.float64) / unit_ns
    if resolution is not None:
        step = np.ceil if rounding == "ceil" else np.floor
        out = step(out / resolution) * resolution
    return out


def _check_options(
    unit: str, horizon: float | None, resolution: float | None, rounding: str, before_start: str
) -> None:
    """Raise a one-line ConfigError for an unknown unit or a bad horizon/resolution/mode."""
    if unit not in UNITS:
        raise ConfigError(
            f"time_to_event: unit '{unit}' is not supported; use one of {', '.join(UNITS)}"
        )
    if horizon is not None and not (np.isfinite(horizon) and horizon > 0):
        raise ConfigError(f"time_to_event: horizon must be a positive number, got {horizon!r}")
    if resolution is not None and not (np.isfinite(resolution) and resolution > 0):
        raise ConfigError(
            f"time_to_event: resolution must be a positive number, got {resolution!r}"
        )
    if rounding not in ("floor", "ceil"):
        raise ConfigError(f"time_to_event: rounding must be 'floor' or 'ceil', got {rounding!r}")
    if before_start not in ("error", "zero"):
        raise ConfigError(
            f"time_to_event: before_start must be 'error' or 'zero', got {before_start!r}"
        )


def _first_outcome(
    journeys: Journeys,
    specs: list[tuple[str, StampSpec]],
    keep: np.ndarray,
    start: str,
    start_ns: np.ndarray,
    until_ns: np.ndarray,
    before_start: str,
) -> tuple[np.ndarray, np.ndarray]:
    """Return (end stamp in ns, event code) of the first observed outcome per kept lead.

    Codes follow ``specs`` order from 1 (0 = none seen by ``observed_until``, which is then
    the end). On ties the earlier code wins. Stamps before start raise or count at start.
    """
    nat = np.iinfo(np.int64).min
    ids = journeys.leads["lead_id"].to_numpy()[keep]
    end_ns = until_ns.copy()
    event = np.zeros(len(start_ns), dtype=np.int64)
    for code, (role, spec) in enumerate(specs, start=1):
        label, ts = _stamp(journeys, spec, role)
        ts = ts[keep]
        seen = (ts != nat) & (ts <= until_ns)
        early = seen & (ts < start_ns)
        if early.any():
            if before_start == "error":
                raise ConfigError(
                    f"time_to_event: {role} '{label}' is before start '{start}' for lead(s) "
                    f"{preview(ids[early])}; fix the stamps or pass before_start='zero'"
                )
            ts = np.where(early, start_ns, ts)
        # strict '<' keeps the earlier code on ties: target wins, then competing order
        first = seen & ((event == 0) | (ts < end_ns))
        end_ns = np.where(first, ts, end_ns)
        event = np.where(first, code, event)
    return end_ns, event


def _cohort(start_ns: np.ndarray) -> np.ndarray:
    """Month of each start stamp as 'YYYY-MM': format only the distinct months, then index."""
    months, month_idx = np.unique(
        start_ns.view("datetime64[ns]").astype("datetime64[M]"), return_inverse=True
    )
    return months.astype(str).astype(object)[month_idx]


def _default_competing(journeys: Journeys, start: Any, target: Any) -> list[str]:
    if isinstance(target, str) and isinstance(start, str):
        return default_competing(journeys, start, target)
    cols = [c for c in ("disqualified_at",) if c in journeys.leads]
    others = [c for c in terminal_outcomes(journeys) if c not in cols and c != start]
    if others:
        warnings.warn(
            f"time_to_event: with a Series target the default competing outcome is "
            f"{', '.join(cols) or 'none'}; {', '.join(others)} present in the data "
            f"count as still open (censored); pass competing=[...] to choose",
            PlanWarning,
            stacklevel=3,
        )
    return cols


def time_to_event(
    journeys: Journeys,
    start: str | None = None,
    target: StampSpec | None = None,
    competing: StampSpec | Sequence[StampSpec] | None = None,
    unit: Literal["days", "weeks", "hours"] = "days",
    horizon: float | None = None,
    covariates: str | Sequence[str] | None = None,
    resolution: float | None = None,
    before_start: Literal["error", "zero"] = "error",
    rounding: Literal["floor", "ceil"] = "floor",
    time_varying: str | Sequence[str] | None = None,
) -> pd.DataFrame:
    """Build the duration / event-code table from ``start`` to the first outcome stamp.

    Parameters
    ----------
    journeys : Journeys
        The leads and their stage timestamps.
    start : str, default "sal_at"
        Column of ``journeys.leads`` where the clock starts; leads without it are excluded.
    target : str or pandas.Series, default "sqo_at"
        The outcome of interest (event code 1): a ``leads`` column name or a datetime
        Series aligned with ``journeys.leads`` rows (same index, or indexed by lead id),
        e.g. a criterion's ``qualified_at``.
    competing : str, Series or sequence of them, optional
        Competing outcomes, coded 2, 3, ... in the given order; ``()`` for none. Default:
        the plan's rule (:func:`qualmodel.journeys.outcomes.default_competing`, as the CLI
        and the reports use it) — every terminal outcome (disqualified, lost, won, and the
        extra outcomes of ``meta["outcomes"]``) that ends some journey from ``start`` before
        the target, each separate; with a Series target (a criterion's ``qualified_at``),
        ``disqualified_at`` when the data have it — the other terminal outcomes present
        then count as still open, and a
        :class:`~qualmodel.journeys.outcomes.PlanWarning` names them. An explicit list
        wins silently (``plan_outcomes(...)["censored"]`` lists what it leaves out).
    unit : {"days", "weeks", "hours"}, default "days"
        Unit of ``duration`` (float).
    horizon : float, optional
        Administrative censoring: durations beyond ``horizon`` units are cut to
        ``horizon`` with event code 0 (an event exactly at the horizon is kept).
    covariates : str or sequence of str, optional
        ``leads`` columns copied into the result (after ``cohort``).
    resolution : float, optional
        Round durations to multiples of this many units (see the module notes: keep
        ``None``, exact durations, unless you need ties); ``rounding`` says how.
    before_start : {"error", "zero"}, default "error"
        What to do when an outcome stamp precedes ``start``: raise a
        :class:`~qualmodel.core.errors.ConfigError`, or count the outcome at duration 0 (useful
        when a criterion can be met before the lead is accepted).
    rounding : {"floor", "ceil"}, default "floor"
        With ``resolution``: ``"floor"`` counts completed units (day-0 events appear),
        ``"ceil"`` the unit the event falls in (no day 0 unless the stamps are equal).
    time_varying : str or sequence of str, optional
        Touchpoint names of ``journeys.events`` (e.g. ``"webinar_attended"``) turned into
        time-varying 0/1 covariates "had it by t": the table becomes a counting-process
        table with one row per lead and interval ``(start, duration]``, split at the first
        occurrence of each touchpoint after ``start`` (a touchpoint at or before ``start``
        counts from 0; one at or after the end of follow-up never switches on). Only the
        last row of a lead carries its event code. Fit with
        ``cox(table, [...], start="start", cluster="lead_id")``.

    Returns
    -------
    pandas.DataFrame
        Columns ``lead_id`` (str), ``duration`` (float64, ``unit``), ``event`` (int64:
        0 censored, 1 target, 2.. competing), ``cohort`` (str ``YYYY-MM``, month of
        ``start``) and the covariates; one row per lead with ``start`` set, in
        ``journeys.leads`` order, with a fresh RangeIndex. With ``time_varying``: a
        ``start`` column after ``lead_id`` and one 0/1 column per touchpoint, several rows
        per lead (ordered by lead, then ``start``).

    Raises
    ------
    ConfigError
        Unknown column or unit, misaligned Series, negative horizon or resolution, or an
        outcome stamp before ``start`` (with ``before_start="error"``).

    Notes
    -----
    Ties: if the target and a competing stamp are equal, the target wins (code 1); among
    competing stamps the earlier-listed one wins. Stamps after ``observed_until`` are
    ignored (the lead is censored at ``observed_until`` unless an earlier stamp exists).
    """
    _check_options(unit, horizon, resolution, rounding, before_start)
    if start is None:
        start = default_start(journeys.leads)
    if target is None:
        target = default_target(journeys.leads, start)
    if competing is None:
        competing = _default_competing(journeys, start, target)
    elif isinstance(competing, str | pd.Series):
        competing = (competing,)
    competing = tuple(competing)
    if isinstance(covariates, str):
        covariates = [covariates]
    covariates = list(covariates or [])
    leads = journeys.leads
    unknown = [c for c in covariates if c not in leads.columns]
    if unknown:
        raise ConfigError(
            f"time_to_event: covariate column(s) {preview(unknown)} not in journeys.leads; "
            f"available: {preview(list(leads.columns), k=12)}"
        )
    if not isinstance(start, str):
        raise ConfigError("time_to_event: start must be a leads column name such as 'sal_at'")
    _, start_ns = _stamp(journeys, start, "start")
    nat = np.iinfo(np.int64).min
    keep = start_ns != nat
    start_ns = start_ns[keep]
    until_ns = leads["observed_until"].to_numpy().view(np.int64)[keep]
    ids = leads["lead_id"].to_numpy()[keep]

    specs = [("target", target)] + [(f"competing[{i}]", c) for i, c in enumerate(competing)]
    end_ns, event = _first_outcome(journeys, specs, keep, start, start_ns, until_ns, before_start)

    # observed_until may precede start only for broken input; clip to zero follow-up
    delta = np.maximum(end_ns - start_ns, 0)
    duration = _to_units(delta, UNITS[unit], resolution, rounding)
    if horizon is not None:
        over = duration > horizon
        duration = np.where(over, float(horizon), duration)
        event = np.where(over, 0, event)

    out = pd.DataFrame(
        {
            "lead_id": ids.astype(object),
            "duration": duration,
            "event": event.astype(np.int64),
            "cohort": _cohort(start_ns),
        }
    )
    rows = np.flatnonzero(keep)
    for col in covariates:
        out[col] = leads[col].iloc[rows].reset_index(drop=True)
    if time_varying is not None:
        names = [time_varying] if isinstance(time_varying, str) else list(time_varying)
        offsets = {
            name: _first_offset(journeys, ids, start_ns, name, UNITS[unit], resolution)
            for name in names
        }
        out = _split_intervals(out, offsets)
    return out


def _first_offset(
    journeys: Journeys,
    ids: np.ndarray,
    start_ns: np.ndarray,
    name: str,
    unit_ns: int,
    resolution: float | None,
) -> np.ndarray:
    """Units from start to the first ``name`` touchpoint (≤ 0 before start, inf if none)."""
    ev = journeys.events
    if not (ev["event"] == name).any():
        known = sorted(pd.unique(ev["event"]).astype(str))
        raise ConfigError(
            f"time_to_event: time_varying touchpoint '{name}' never occurs in "
            f"journeys.events; choose one of {preview(known, k=10)}"
        )
    first = ev.loc[ev["event"] == name].groupby("lead_id", sort=False, observed=True)["ts"].min()
    ts = first.reindex(ids).to_numpy().astype("datetime64[ns]").view(np.int64)
    nat = np.iinfo(np.int64).min
    out = np.full(len(ids), np.inf)
    seen = ts != nat
    delta = ts[seen] - start_ns[seen]
    units = _to_units(np.abs(delta), unit_ns, resolution)
    out[seen] = np.where(delta <= 0, 0.0, units)
    return out


def _split_intervals(table: pd.DataFrame, offsets: dict[str, np.ndarray]) -> pd.DataFrame:
    """Counting-process form: split each lead's (0, duration] at its touchpoint offsets."""
    n = len(table)
    dur = table["duration"].to_numpy(np.float64)
    lead = [np.arange(n)]
    cut = [np.zeros(n)]
    for off in offsets.values():
        inside = (off > 0) & (off < dur)
        lead.append(np.flatnonzero(inside))
        cut.append(off[inside])
    cuts = pd.DataFrame({"row": np.concatenate(lead), "start": np.concatenate(cut)})
    cuts = cuts.drop_duplicates().sort_values(["row", "start"], kind="stable")
    row = cuts["row"].to_numpy()
    start = cuts["start"].to_numpy()
    last = np.r_[row[1:] != row[:-1], True]
    stop = np.where(last, dur[row], np.r_[start[1:], 0.0])
    out = table.iloc[row].reset_index(drop=True)
    out.insert(1, "start", start)
    out["duration"] = stop
    out["event"] = np.where(last, out["event"].to_numpy(), 0).astype(np.int64)
    for name, off in offsets.items():
        out[name] = (off[row] <= start).astype(np.int64)
    return out
