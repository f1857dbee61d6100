"""Turn a long stage history / event log into lead stage timestamps and touchpoint events.

:func:`build_history` works on a :class:`~qualmodel.crm.logs.LogTable` (case, activity,
timestamp, optional value) and a :class:`~qualmodel.crm.history_mapping.HistorySpec`.
Everything is vectorised over rows (sorting and segmented reductions); there is no Python
loop over cases, so a 1M-event log takes seconds.

The rules, in the order they are applied:

1. rows with an empty case id, activity or timestamp, or an unparseable timestamp, are
   invalid (``on_invalid``: error, or drop the row);
2. every activity must be known (``stages``, ``touchpoints``, ``ignore``) unless
   ``other_activities`` is ``event`` or ``ignore``; the error lists the unknown names with
   their counts;
3. a row whose case is not in the leads table (when there is one) is invalid;
4. rows after an explicit data cut-off are dropped (they happened after the data was "seen");
5. the same (case, activity, timestamp) twice is a duplicate (``duplicates``);
6. each stage takes the first (earliest) or last occurrence of its activities
   (``occurrence``); other occurrences are re-entries, counted in ``repeated``;
7. a case with both won and lost is invalid unless ``won_and_lost: last`` keeps the later;
8. a funnel stage missing before a reached later one (SQO without SAL) is counted in
   ``skipped`` and, with ``skipped_stages: fill``, takes the later stage's timestamp;
9. stage order must follow the journey contract (created ≤ mql ≤ sal ≤ sqo ≤ won/lost,
   disqualified after sal, everything after created); touchpoints must lie after the
   lead's creation. A case breaking this is invalid (error, or the whole case is dropped).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from qualmodel.core.errors import InputError, preview
from qualmodel.crm.history_mapping import HISTORY_STAGES, HistorySpec
from qualmodel.crm.logs import LogTable
from qualmodel.journeys.contract import ORDER_RULES

__all__ = ["HistoryResult", "build_history", "event_name"]

_NAT = np.datetime64("NaT", "ns")
_FUNNEL = ("mql", "sal", "sqo")
_DOCS = "docs/import.md"


def event_name(activity: str) -> str:
    """Return the snake_case event name of an activity (``"Email Opened"`` → ``email_opened``)."""
    import re

    return re.sub(r"[^0-9a-z]+", "_", str(activity).strip().lower()).strip("_") or "activity"


@dataclass
class HistoryResult:
    """What a history table contributes to the journeys.

    Attributes
    ----------
    cases : pandas.DataFrame
        One row per kept case: ``case`` (the id as in the file), ``created_at`` (the
        ``created`` activity, else the case's first row) and one ``<stage>_at`` column per
        mapped stage (NaT when not reached).
    events : pandas.DataFrame
        ``case`` (categorical whose categories are ``cases.case`` in order), ``ts``,
        ``event`` (categorical), ``value``: the touchpoint rows of kept cases, file order.
    info : dict
        Counts for ``meta["import"]["history"]`` and the dry-run report.
    """

    cases: pd.DataFrame
    events: pd.DataFrame
    info: dict[str, Any] = field(default_factory=dict)


class _Rows:
    """Row bookkeeping: which rows are kept, and the error-or-drop policy with messages."""

    def __init__(self, log: LogTable) -> None:
        self.log = log
        self.keep = np.ones(len(log.frame), dtype=bool)
        self.dropped: dict[str, int] = {}
        self.ignored: dict[str, int] = {}

    def reject(self, mask: np.ndarray, policy: str, column: str, problem: str, fix: str) -> None:
        """Raise (policy ``error``) or drop the rows in ``mask`` that are still kept."""
        mask = mask & self.keep
        if not mask.any():
            return
        rows = np.flatnonzero(mask)
        if policy == "error":
            raise InputError(
                f"{self.log.path}: {self.log.where(rows)}, column '{column}': {problem} "
                f"({len(rows)} row(s)); {fix}"
            )
        key = problem.split(" (")[0]
        self.dropped[key] = self.dropped.get(key, 0) + len(rows)
        self.keep &= ~mask


def _check_rows(rows: _Rows, spec: HistorySpec, role: str) -> None:
    log, f, cols = rows.log, rows.log.frame, rows.log.columns
    fix = f"fix the export, or set {role}.on_invalid: drop to skip such rows"
    pol = spec.on_invalid
    rows.reject(f["case"].isna().to_numpy(), pol, cols["case"], "empty case id", fix)
    rows.reject(f["activity"].isna().to_numpy(), pol, cols["activity"], "empty activity", fix)
    empty = np.isnat(f["ts"].to_numpy()) & ~log.bad_ts
    rows.reject(empty, pol, cols["ts"], "empty timestamp", fix)
    if log.bad_ts.any():
        first = (
            log.raw_ts.iloc[int(np.flatnonzero(log.bad_ts & rows.keep)[0])]
            if (log.bad_ts & rows.keep).any()
            else None
        )
        rows.reject(
            log.bad_ts,
            pol,
            cols["ts"],
            f"unparseable timestamp (e.g. {first!r})",
            f"fix the value(s), set dates.format in the mapping (e.g. '%d/%m/%Y %H:%M'), or "
            f"set {role}.on_invalid: drop",
        )


def _classify(rows: _Rows, spec: HistorySpec, role: str) -> tuple[np.ndarray, np.ndarray, list]:
    """Return per-row stage code (-1 none), per-row event code (-1 none), event names."""
    f = rows.log.frame
    codes = f["activity"].cat.codes.to_numpy()
    uniques = f["activity"].cat.categories
    stage_of = np.full(len(uniques) + 1, -1, dtype=np.int64)
    event_of = np.full(len(uniques) + 1, -1, dtype=np.int64)
    names: list[str] = []
    unknown: list[int] = []
    ignored = np.zeros(len(uniques) + 1, dtype=bool)
    ignore = set(spec.ignore)
    targets = spec.stage_names()
    for i, act in enumerate(uniques):
        if act in spec.stages:
            stage_of[i] = targets.index(spec.stages[act])
        elif act in spec.touchpoints or (act not in ignore and spec.other_activities == "event"):
            name = spec.touchpoints.get(act) or event_name(act)
            if name not in names:
                names.append(name)
            event_of[i] = names.index(name)
        elif act in ignore or spec.other_activities == "ignore":
            ignored[i] = True
        else:
            unknown.append(i)
    kept_codes = np.where(rows.keep, codes, -1)
    if unknown:
        counts = np.bincount(kept_codes[kept_codes >= 0], minlength=len(uniques))
        unknown = sorted((u for u in unknown if counts[u]), key=lambda u: -counts[u])
        if unknown:
            listed = ", ".join(f"{uniques[u]!r} ({counts[u]})" for u in unknown[:10])
            more = f" (+{len(unknown) - 10} more)" if len(unknown) > 10 else ""
            mask = np.isin(codes, unknown) & rows.keep
            raise InputError(
                f"{rows.log.path}: {rows.log.first(np.flatnonzero(mask))}, column "
                f"'{rows.log.columns['activity']}': {len(unknown)} unknown activity name(s) "
                f"(with row counts): {listed}{more}; add each under {role}.stages (a stage), "
                f"{role}.touchpoints (an event) or {role}.ignore, or set "
                f"{role}.other_activities: event"
            )
    counts = np.bincount(codes[(codes >= 0) & rows.keep], minlength=len(uniques))
    rows.ignored = {
        str(uniques[i]): int(counts[i]) for i in np.flatnonzero(ignored[:-1]) if counts[i]
    }
    return stage_of[codes], event_of[codes], names


def _case_codes(
    rows: _Rows,
    spec: HistorySpec,
    role: str,
    lead_keys: pd.Index | None,
    leads_file: str,
    dropped_leads: pd.Index | None = None,
) -> tuple[np.ndarray, pd.Index]:
    """Return each row's case number and the case ids (the leads table's keys when given)."""
    case = rows.log.frame["case"]
    raw, cats = case.cat.codes.to_numpy(), case.cat.categories
    if lead_keys is None:
        return raw.astype(np.int64), pd.Index(cats, dtype=object)
    pos = np.append(lead_keys.get_indexer(cats), -1)
    codes = pos[raw]
    if dropped_leads is not None and len(dropped_leads):
        gone = np.append(cats.isin(dropped_leads), False)[raw] & rows.keep
        if gone.any():
            rows.dropped["lead dropped by the leads table import"] = int(gone.sum())
            rows.keep &= ~gone
    unknown = (codes < 0) & (raw >= 0)
    if (unknown & rows.keep).any():
        ids = pd.unique(np.asarray(cats, dtype=object)[raw[unknown & rows.keep]])
        rows.reject(
            unknown,
            spec.on_invalid,
            rows.log.columns["case"],
            f"{rows.log.role} row for unknown lead(s) {preview(ids)} (not in {leads_file})",
            f"add the leads to {leads_file}, fix the ids, or set {role}.on_invalid: drop",
        )
    return codes, lead_keys


def _sorted_rows(rows: _Rows, case: np.ndarray) -> np.ndarray:
    """Return the kept rows sorted by (case, timestamp), ties in file order."""
    ts = rows.log.frame["ts"].to_numpy().view("int64")
    ok = np.flatnonzero(rows.keep)
    return ok[np.lexsort((ts[ok], case[ok]))]


def _select_stages(
    rows: _Rows,
    spec: HistorySpec,
    stage: np.ndarray,
    case: np.ndarray,
    order: np.ndarray,
    n_cases: int,
) -> tuple[np.ndarray, np.ndarray, dict[str, int]]:
    """Pick each (case, stage)'s first or last occurrence; return times, rows, repeat counts."""
    targets = spec.stage_names()
    n_st = len(targets)
    order = order[rows.keep[order] & (stage[order] >= 0)]
    key = case[order].astype(np.int64) * n_st + stage[order]
    perm = np.argsort(key, kind="stable")  # keeps the time order inside each group
    order, key = order[perm], key[perm]
    times = np.full((n_cases, n_st), _NAT)
    where = np.full((n_cases, n_st), -1, dtype=np.int64)
    repeated: dict[str, int] = {}
    if not len(order):
        return times, where, repeated
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    ends = np.r_[starts[1:], len(order)] - 1
    g_case, g_stage = case[order[starts]], stage[order[starts]]
    ts = rows.log.frame["ts"].to_numpy()
    for s, name in enumerate(targets):
        in_s = g_stage == s
        if not in_s.any():
            continue
        pick = order[(starts if spec.take(name) == "first" else ends)[in_s]]
        times[g_case[in_s], s] = ts[pick]
        where[g_case[in_s], s] = pick
        extra = int((ends[in_s] - starts[in_s]).sum())
        if extra:
            repeated[name] = extra
    return times, where, repeated


def _first_rows(
    rows: _Rows, case: np.ndarray, order: np.ndarray, n_cases: int
) -> tuple[np.ndarray, np.ndarray]:
    """Return each case's earliest kept timestamp and the row holding it (-1: none)."""
    order = order[rows.keep[order]]
    firsts = order[np.flatnonzero(np.r_[True, case[order][1:] != case[order][:-1]])]
    out = np.full(n_cases, _NAT)
    at = np.full(n_cases, -1, dtype=np.int64)
    if len(order):
        out[case[firsts]] = rows.log.frame["ts"].to_numpy()[firsts]
        at[case[firsts]] = firsts
    return out, at


def _duplicates(rows: _Rows, spec: HistorySpec, role: str, case: np.ndarray, order: np.ndarray):
    """Reject rows repeating an earlier row's case, activity and timestamp."""
    o = order[rows.keep[order]]
    ts = rows.log.frame["ts"].to_numpy().view("int64")[o]
    c = case[o]
    tie = (c[1:] == c[:-1]) & (ts[1:] == ts[:-1])  # rows sharing case and time (rare)
    mask = np.zeros(len(rows.keep), dtype=bool)
    if tie.any():
        in_run = np.zeros(len(o), dtype=bool)
        in_run[1:] |= tie
        in_run[:-1] |= tie
        sub = np.sort(o[in_run])  # file order, so the first copy is kept
        act = rows.log.frame["activity"].cat.codes.to_numpy()
        key = pd.DataFrame(
            {"c": case[sub], "t": rows.log.frame["ts"].to_numpy()[sub], "a": act[sub]}
        )
        mask[sub[key.duplicated(keep="first").to_numpy()]] = True
    rows.reject(
        mask,
        spec.duplicates,
        rows.log.columns["activity"],
        "duplicate event (same case, activity and timestamp as an earlier row)",
        f"remove the repeated rows from the export, or set {role}.duplicates: drop",
    )


class _Cases:
    """Case bookkeeping: which cases are kept, and the case-level error-or-drop policy."""

    def __init__(self, rows: _Rows, ids: pd.Index, present: np.ndarray, policy: str) -> None:
        self.rows = rows
        self.ids = ids
        self.ok = present.copy()
        self.policy = policy
        self.dropped: dict[str, int] = {}

    def reject(self, bad: np.ndarray, at_row: np.ndarray, problem: Any, fix: str) -> None:
        """Raise for the first case in ``bad`` or drop them all; ``problem(c)`` describes case c."""
        bad = bad & self.ok
        if not bad.any():
            return
        cases = np.flatnonzero(bad)
        if self.policy == "error":
            c = int(cases[0])
            log = self.rows.log
            where = log.first(at_row[c : c + 1]) if at_row[c] >= 0 else "(leads table)"
            raise InputError(
                f"{log.path}: {where}, column '{log.columns['ts']}': case {self.ids[c]!r} "
                f"{problem(c)} ({len(cases)} case(s) like this); {fix}"
            )
        key = problem(None)
        self.dropped[key] = self.dropped.get(key, 0) + len(cases)
        self.ok &= ~bad


def _stamp(t: np.datetime64) -> str:
    return str(pd.Timestamp(t))


def _outcomes(cases: _Cases, spec: HistorySpec, times: np.ndarray, where: np.ndarray, role: str):
    """Apply ``won_and_lost`` to cases with both outcomes; return how many kept the last."""
    w, lo = HISTORY_STAGES.index("won"), HISTORY_STAGES.index("lost")
    both = ~np.isnat(times[:, w]) & ~np.isnat(times[:, lo]) & cases.ok
    if spec.won_and_lost == "last":
        won_later = times[:, w] >= times[:, lo]
        clear_lost, clear_won = both & won_later, both & ~won_later
        times[clear_lost, lo], where[clear_lost, lo] = _NAT, -1
        times[clear_won, w], where[clear_won, w] = _NAT, -1
        return int(both.sum())
    log = cases.rows.log

    def problem(c: int | None) -> str:
        if c is None:
            return "both won and lost"
        return (
            f"is both won ({log.first(where[c : c + 1, w])}, {_stamp(times[c, w])}) and lost "
            f"({_stamp(times[c, lo])})"
        )

    cases.reject(
        both,
        np.maximum(where[:, w], where[:, lo]),
        problem,
        f"keep one outcome per case in the export, set {role}.won_and_lost: last (keeps the "
        f"later one), or {role}.on_invalid: drop",
    )
    return 0


def _skipped(
    spec: HistorySpec, times: np.ndarray, where: np.ndarray, ok: np.ndarray
) -> dict[str, int]:
    """Count (and with ``fill``, fill) funnel stages missing before a reached later stage."""
    mapped = set(spec.stages.values())
    w, lo = HISTORY_STAGES.index("won"), HISTORY_STAGES.index("lost")
    later = np.where(np.isnat(times[:, w]), times[:, lo], times[:, w])
    later_row = np.where(np.isnat(times[:, w]), where[:, lo], where[:, w])
    out: dict[str, int] = {}
    for name in reversed(_FUNNEL):
        s = HISTORY_STAGES.index(name)
        missing = np.isnat(times[:, s]) & ~np.isnat(later) & ok
        if name in mapped and missing.any():
            out[name] = int(missing.sum())
            if spec.skipped_stages == "fill":
                times[missing, s] = later[missing]
                where[missing, s] = later_row[missing]
        later = np.where(np.isnat(times[:, s]), later, times[:, s])
        later_row = np.where(np.isnat(times[:, s]), later_row, where[:, s])
    return out


def _check_order(cases: _Cases, times: np.ndarray, where: np.ndarray, role: str) -> None:
    log = cases.rows.log
    for early, late in ORDER_RULES:
        e, lt = HISTORY_STAGES.index(early[:-3]), HISTORY_STAGES.index(late[:-3])
        bad = ~np.isnat(times[:, e]) & ~np.isnat(times[:, lt]) & (times[:, lt] < times[:, e])
        if not (bad & cases.ok).any():
            continue

        def problem(
            c: int | None, e: int = e, lt: int = lt, early: str = early, late: str = late
        ) -> str:
            if c is None:
                return "timestamps out of order"
            src = log.first(where[c : c + 1, e]) if where[c, e] >= 0 else "leads table"
            return (
                f"reaches {late} ({_stamp(times[c, lt])}) before {early} ({src}, "
                f"{_stamp(times[c, e])}): timestamps out of order"
            )

        cases.reject(
            bad,
            where[:, lt],
            problem,
            f"fix the timestamps or the stage map in the mapping, or set {role}.on_invalid: "
            f"drop to skip such cases",
        )


def build_history(
    log: LogTable,
    spec: HistorySpec,
    *,
    role: str = "history",
    lead_keys: pd.Index | None = None,
    created: np.ndarray | None = None,
    until: np.ndarray | None = None,
    cutoff: pd.Timestamp | None = None,
    leads_file: str = "the leads table",
    dropped_leads: pd.Index | None = None,
) -> HistoryResult:
    """Apply the history rules (module docstring) to a long table.

    Parameters
    ----------
    log : LogTable
        The table read by :func:`~qualmodel.crm.logs.read_log`.
    spec : HistorySpec
        The mapping's ``history`` block.
    role : str
        Mapping key whose policies (``on_invalid``, ``duplicates``, ...) the messages name;
        a touchpoints table follows the ``history`` block's policies.
    lead_keys : pandas.Index, optional
        Case ids of the leads table, in its row order; rows for other cases are invalid.
        Without it every case id in the log becomes a lead.
    created, until : numpy.ndarray, optional
        ``created_at`` / ``observed_until`` of the leads table (aligned with ``lead_keys``):
        stages must not precede ``created``; rows after ``until`` are invalid.
    cutoff : pandas.Timestamp, optional
        An explicit data cut-off: later rows are dropped (counted as "after the data cut-off").
    leads_file : str
        Name of the leads table in messages.
    dropped_leads : pandas.Index, optional
        Ids of leads-table rows that its own import dropped (``on_invalid: drop``): their
        history rows are dropped too (counted), not reported as unknown leads.

    Returns
    -------
    HistoryResult

    Raises
    ------
    InputError
        One line naming the file, row(s), column and the fix (see the module rules).
    """
    rows = _Rows(log)
    ts = log.frame["ts"].to_numpy()
    role = "history" if role == "touchpoints" else role  # the policies live under history:
    _check_rows(rows, spec, role)
    stage, event, names = _classify(rows, spec, role)
    case, ids = _case_codes(rows, spec, role, lead_keys, leads_file, dropped_leads)
    n_cases = len(ids)
    if cutoff is not None:
        late = rows.keep & (ts > np.datetime64(cutoff, "ns"))
        if late.any():
            rows.dropped["after the data cut-off"] = int(late.sum())
            rows.keep &= ~late
    if until is not None:
        bound = until[np.maximum(case, 0)]
        rows.reject(
            ts > bound,
            spec.on_invalid,
            log.columns["ts"],
            f"timestamp after the lead's observed_until in {leads_file}",
            f"fix the timestamps or observed_until, or set {role}.on_invalid: drop",
        )
    order = _sorted_rows(rows, case)
    _duplicates(rows, spec, role, case, order)
    times, where, repeated = _select_stages(rows, spec, stage, case, order, n_cases)
    c_idx = HISTORY_STAGES.index("created")
    if created is None:
        first_ts, first_row = _first_rows(rows, case, order, n_cases)
        has = ~np.isnat(times[:, c_idx])
        times[:, c_idx] = np.where(has, times[:, c_idx], first_ts)
        where[:, c_idx] = np.where(has, where[:, c_idx], first_row)
        present = first_row >= 0
    else:
        times[:, c_idx] = created
        present = np.ones(n_cases, dtype=bool)
    cases = _Cases(rows, ids, present, spec.on_invalid)
    kept_last = _outcomes(cases, spec, times, where, role)
    skipped = _skipped(spec, times, where, cases.ok)
    _check_order(cases, times, where, role)
    is_event = rows.keep & (event >= 0) & (case >= 0)
    rows.reject(
        is_event & (ts < times[np.maximum(case, 0), c_idx]),
        spec.on_invalid,
        log.columns["ts"],
        "touchpoint before the lead was created (timestamps out of order)",
        f"fix the timestamps, or set {role}.on_invalid: drop",
    )
    result = _result(rows, cases, spec, times, case, event, names)
    result.info.update(
        repeated=repeated,
        skipped=skipped,
        filled=skipped if spec.skipped_stages == "fill" else {},
        won_and_lost_kept_last=kept_last,
    )
    return result


def _result(
    rows: _Rows,
    cases: _Cases,
    spec: HistorySpec,
    times: np.ndarray,
    case: np.ndarray,
    event: np.ndarray,
    names: list[str],
) -> HistoryResult:
    """Assemble the kept cases' stage table, their touchpoint events and the row counts."""
    log, ids, ok = rows.log, cases.ids, cases.ok
    ts = log.frame["ts"].to_numpy()
    c_idx = HISTORY_STAGES.index("created")
    sel = rows.keep & (event >= 0) & (case >= 0)
    sel[sel] = ok[case[sel]]
    kept_ids = pd.Index(ids.to_numpy()[ok], dtype=object)
    position = np.cumsum(ok) - 1  # case number -> row of the kept cases
    events = pd.DataFrame(
        {
            "case": pd.Categorical.from_codes(position[case[sel]], categories=kept_ids),
            "ts": ts[sel],
            "event": pd.Categorical.from_codes(
                event[sel], categories=pd.Index(names, dtype=object)
            ),
        }
    )
    if "value" in log.frame:
        events["value"] = log.frame["value"].to_numpy()[sel]
    out = pd.DataFrame({"case": kept_ids.to_numpy(), "created_at": times[ok, c_idx]})
    mapped = set(spec.stages.values())
    for s, name in enumerate(spec.stage_names()):
        if name != "created" and name in mapped:
            out[f"{name}_at"] = times[ok, s]
    info = {
        "rows": len(log.frame),
        "cases": int(ok.sum()),
        "stages": {c[:-3]: int(out[c].notna().sum()) for c in out.columns if c.endswith("_at")},
        "events": {str(k): int(v) for k, v in events["event"].value_counts().items() if v},
        "ignored": rows.ignored,
        "dropped_rows": rows.dropped,
        "dropped_cases": cases.dropped,
    }
    return HistoryResult(out, events, info)
