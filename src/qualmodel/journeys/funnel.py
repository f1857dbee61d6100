"""Funnel summaries of :class:`~qualmodel.journeys.contract.Journeys`: stage counts, rates, timing.

The rates here are **censoring-naive**: a lead that has not reached a stage *yet* (for
example because it arrived shortly before the data cut-off) counts as not converted. They
describe what a CRM dashboard shows, not the eventual conversion probability; use
``survival.durations`` and ``survival.estimators`` for censoring-aware estimates.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from qualmodel.journeys.contract import extra_outcome_columns
from qualmodel.journeys.outcomes import stage_labels

__all__ = ["FUNNEL_STAGES", "events_per_lead", "funnel", "stage_durations"]

#: Forward stages in order: (name, timestamp column; ``None`` for lead creation).
FUNNEL_STAGES: tuple[tuple[str, str], ...] = (
    ("created", "created_at"),
    ("mql", "mql_at"),
    ("sal", "sal_at"),
    ("sqo", "sqo_at"),
    ("won", "won_at"),
)
#: Exits: (name, timestamp column, stage they leave from when that stage is present).
_EXITS: tuple[tuple[str, str, str], ...] = (
    ("disqualified", "disqualified_at", "sal"),
    ("lost", "lost_at", "sqo"),
)
#: Forward stages an exit can leave from, in funnel order (it falls back to earlier ones).
_FROM_ORDER: tuple[str, ...] = ("created", "mql", "sal", "sqo")
_DAY_NS = 86_400 * 10**9

_COLUMNS = [
    "stage",
    "kind",
    "from_stage",
    "n",
    "naive_rate_from_previous",
    "naive_rate_from_created",
    "median_days_from_previous",
    "median_days_in_stage",
]


def _days_between(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Days from ``a`` to ``b`` (datetime64[ns]) where both are set."""
    both = ~np.isnat(a) & ~np.isnat(b)
    return (b[both].view("int64") - a[both].view("int64")) / _DAY_NS


def _median(x: np.ndarray) -> float:
    return float(np.median(x)) if x.size else float("nan")


def funnel(journeys) -> pd.DataFrame:
    """Stage counts, censoring-naive conversion rates and median days in each stage.

    Parameters
    ----------
    journeys : Journeys

    Returns
    -------
    pandas.DataFrame
        One row per forward stage present (``created``, ``mql``, ``sal``, ``sqo``, ``won``;
        ``kind="stage"``) and per terminal exit present (``kind="exit"``):
        ``disqualified`` from SAL, ``lost`` from SQO, and the extra outcomes declared in
        ``meta["outcomes"]`` (from SQO); an exit whose usual stage is absent leaves from
        the latest earlier forward stage present (``lost`` from SAL on a pipeline without
        SQOs, ``disqualified`` from MQL on a funnel without SAL). Each exit row counts only
        the leads whose exit came after its ``from_stage`` (the latest forward stage they
        reached before exiting), so ``n``, the rate and the median describe the same
        leads; exits that left from another stage get a row of their own (``declined``
        from ``created`` besides ``declined`` from ``sal``), so every terminal outcome is
        counted once. Columns:

        * ``from_stage`` – the stage the row converts from;
        * ``n`` – leads with the stage timestamp set;
        * ``naive_rate_from_previous`` – share of leads in ``from_stage`` that also reached
          this stage (open leads count as not converted: censoring-naive);
        * ``naive_rate_from_created`` – ``n`` over all leads (censoring-naive);
        * ``median_days_from_previous`` – median days from ``from_stage`` to this stage;
        * ``median_days_in_stage`` – median days spent in this stage before reaching the
          next forward stage (NaN for the last one);
        * ``label`` – the stage as the data names it (``meta["outcomes"]``, e.g.
          ``declined`` for ``lost``).

        ``DataFrame.attrs["note"]`` repeats that the rates ignore censoring.
    """
    leads = journeys.leads
    n_all = len(leads)
    stages = [(s, c) for s, c in FUNNEL_STAGES if c in leads.columns]
    # drop optional stages that are never filled (e.g. a CRM without MQL)
    stages = [(s, c) for s, c in stages if s == "created" or s != "mql" or leads[c].notna().any()]
    cols = {c: leads[c].to_numpy() for _, c in stages}
    rows: list[dict] = []
    for i, (stage, col) in enumerate(stages):
        at = cols[col]
        reached = ~np.isnat(at)
        n = int(reached.sum())
        if i == 0:
            prev_stage, rate_prev, days_prev = None, 1.0, float("nan")
        else:
            prev_stage, prev_col = stages[i - 1]
            prev = ~np.isnat(cols[prev_col])
            n_prev = int(prev.sum())
            rate_prev = float((prev & reached).sum() / n_prev) if n_prev else float("nan")
            days_prev = _median(_days_between(cols[prev_col], at))
        if i + 1 < len(stages):
            days_in = _median(_days_between(at, cols[stages[i + 1][1]]))
        else:
            days_in = float("nan")
        rows.append(
            {
                "stage": stage,
                "kind": "stage",
                "from_stage": prev_stage,
                "n": n,
                "naive_rate_from_previous": rate_prev,
                "naive_rate_from_created": n / n_all if n_all else float("nan"),
                "median_days_from_previous": days_prev,
                "median_days_in_stage": days_in,
            }
        )
    names = {s: c for s, c in stages}
    for stage, col, src in _exits(journeys, names):
        rows += _exit_rows(leads[col].to_numpy(), stage, src, stages, cols, n_all)
    out = pd.DataFrame(rows, columns=_COLUMNS)
    labels = stage_labels(journeys)
    out["label"] = [labels.get(f"{s}_at", s) for s in out["stage"]]
    out.attrs["note"] = (
        "censoring-naive: leads still open at the cut-off count as not converted; "
        "use survival estimates for eventual conversion"
    )
    return out


def _exit_rows(
    at: np.ndarray,
    stage: str,
    usual: str,
    stages: list[tuple[str, str]],
    cols: dict[str, np.ndarray],
    n_all: int,
) -> list[dict]:
    """Rows of one exit, one per forward stage it leaves from (the latest reached before it).

    Rows in funnel order; the usual stage's row is always there (also when empty), a row for
    another stage only when some exit left from it. ``n``, the rate and the median of a row
    count the same leads: those whose exit came after that stage and before the next one.
    """
    reached = ~np.isnat(at)
    forward = [(k, s, c) for k, (s, c) in enumerate(stages) if s in _FROM_ORDER]
    src = np.full(len(at), -1)
    for k, _, c in forward:
        before = reached & ~np.isnat(cols[c]) & (cols[c] <= at)
        src[before] = k
    rows = []
    for k, name, c in forward:
        mine = src == k
        if name != usual and not mine.any():
            continue
        n_src = int((~np.isnat(cols[c])).sum())
        n = int(mine.sum())
        rows.append(
            {
                "stage": stage,
                "kind": "exit",
                "from_stage": name,
                "n": n,
                "naive_rate_from_previous": n / n_src if n_src else float("nan"),
                "naive_rate_from_created": n / n_all if n_all else float("nan"),
                "median_days_from_previous": _median(
                    (at[mine] - cols[c][mine]).view("int64") / _DAY_NS
                ),
                "median_days_in_stage": float("nan"),
            }
        )
    return rows


def _exits(journeys, present: dict[str, str]) -> list[tuple[str, str, str]]:
    """(name, column, from stage) of every terminal exit column in the leads table."""
    leads = journeys.leads
    extra = [(c.removesuffix("_at"), c, "sqo") for c in extra_outcome_columns(journeys.meta)]
    out = []
    for stage, col, src in (*_EXITS, *extra):
        if col not in leads.columns:
            continue
        if src not in present:
            earlier = _FROM_ORDER[: _FROM_ORDER.index(src) + 1][::-1]
            src = next(s for s in earlier if s in present)
        out.append((stage, col, src))
    return out


def events_per_lead(journeys, by: str | None = None) -> pd.DataFrame:
    """Touchpoint volume by event type (optionally per group of leads).

    Parameters
    ----------
    journeys : Journeys
    by : str, optional
        A ``leads`` column to group by (e.g. ``"segment"``, ``"nurtured"``).

    Returns
    -------
    pandas.DataFrame
        Columns ``[by], event, n_events, n_leads, leads_with_event, share_with_event,
        mean_per_lead`` (means over all leads of the group, including those without the
        event), sorted by group then event name.
    """
    leads = journeys.leads
    codes = journeys.event_lead_codes.astype(np.int64)
    ev = journeys.events["event"]
    names = [str(c) for c in ev.cat.categories]
    k = len(names)
    n = len(leads)
    per = np.bincount(codes * k + ev.cat.codes.to_numpy().astype(np.int64), minlength=n * k)
    per = per.reshape(n, k)
    if by is None:
        groups = [(None, np.ones(n, dtype=bool))]
    else:
        if by not in leads.columns:
            from qualmodel.core.errors import InputError

            raise InputError(
                f"events_per_lead: no leads column '{by}'; choose one of "
                f"{', '.join(map(str, leads.columns[:12]))}"
            )
        key = leads[by]
        values = key.dropna().unique()
        try:
            values = sorted(values)
        except TypeError:
            values = list(values)
        groups = [(v, (key == v).to_numpy(dtype=bool, na_value=False)) for v in values]
    rows = []
    for value, mask in groups:
        sub = per[mask]
        n_g = int(mask.sum())
        for j in np.argsort(names):
            row = {} if by is None else {by: value}
            col = sub[:, j]
            row.update(
                {
                    "event": names[j],
                    "n_events": int(col.sum()),
                    "n_leads": n_g,
                    "leads_with_event": int((col > 0).sum()),
                    "share_with_event": float((col > 0).mean()) if n_g else float("nan"),
                    "mean_per_lead": float(col.mean()) if n_g else float("nan"),
                }
            )
            rows.append(row)
    cols = ([] if by is None else [by]) + [
        "event",
        "n_events",
        "n_leads",
        "leads_with_event",
        "share_with_event",
        "mean_per_lead",
    ]
    return pd.DataFrame(rows, columns=cols)


def stage_durations(journeys, start: str = "sal_at", end: str = "sqo_at") -> pd.Series:
    """Days from ``start`` to ``end`` for leads with both timestamps (no censoring).

    Parameters
    ----------
    journeys : Journeys
    start, end : str
        Timestamp columns of ``leads``.

    Returns
    -------
    pandas.Series
        Float days indexed by ``lead_id``, named ``f"{start}->{end}"``.
    """
    leads = journeys.leads
    for col in (start, end):
        if col not in leads.columns:
            from qualmodel.core.errors import InputError

            raise InputError(f"stage_durations: no leads column '{col}'; check the name")
    a = leads[start].to_numpy()
    b = leads[end].to_numpy()
    both = ~np.isnat(a) & ~np.isnat(b)
    days = (b[both].view("int64") - a[both].view("int64")) / _DAY_NS
    return pd.Series(
        days,
        index=pd.Index(leads["lead_id"].to_numpy()[both], name="lead_id"),
        name=f"{start}->{end}",
    )
