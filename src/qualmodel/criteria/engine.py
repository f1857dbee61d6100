"""The qualification engine: apply declarative criteria to journeys, vectorized.

A criterion says when a lead counts as qualified (an SQO). Five kinds compose freely:

``score``
    Points per event type (negative allowed, optional cap per event type) plus points per
    lead attribute (firmographic fit or BANT facts), optional decay of event points, and a
    ``threshold``.
``bant``
    A required subset of budget / authority / need / timeline and/or ``min_of: k`` of the
    four facts, with ``timeline_days: N`` defining a timeline fact as "timeline ≤ N days".
``events``
    ``all`` / ``any`` of listed events, optional ``min_count`` and ``within_days`` window.
``all_of`` / ``any_of``
    Combinators over other criteria.

:func:`qualify` returns, per lead, the first time the criterion holds. The exact
semantics (ties, decay, windows, when a fact is known) are written out below and in
``docs/criteria.md``; every rule is evaluated with numpy over the (lead, ts)-sorted event
table of :class:`~qualmodel.Journeys`, without a per-lead Python loop. Columns whose name
starts with ``true_`` (simulation truth) are never read.

Time convention
---------------
The state of a lead at time ``t`` counts every event with ``ts ≤ t`` (events sharing a
timestamp act together). A criterion is checked at *candidate instants*: the lead's event
timestamps, the instants its BANT facts become known, and its ``created_at``.

Score semantics
---------------
``score(t) = P(t) + N(t) + A(t)`` where

* ``P(t)`` — positive event points, decayed: each event ``j`` with points ``p_j > 0``
  contributes ``p_j · 2^(-(t - t_j) / half_life_days)`` (exponential decay) or
  ``p_j · max(0, 1 - (t - t_j) / per_days)`` (linear decay: a point loses ``1/per_days``
  of its value per day and is worth nothing from ``per_days`` days on); without decay,
  ``p_j``. The exponential form is computed with the recursion
  ``S_j = S_{j-1} · 2^(-(t_j - t_{j-1})/h) + p_j``, evaluated blockwise with exponents
  rebased per lead and per block so nothing overflows or loses precision.
* ``N(t)`` — negative event points (penalties such as an unsubscribe): summed, never
  decayed. Hence decay never raises a score.
* ``A(t)`` — attribute points, not decayed: a static attribute (``column``) counts from
  ``created_at``; a BANT fact (``bant``) counts from the instant it becomes known (below).

Caps per event type: with ``max_count: k`` only the first ``k`` occurrences of that event
type (per lead) score; with ``max_points: m`` (positive points only) the ``n``-th
occurrence contributes ``clip(m - (n-1)·p, 0, p)``, so the undecayed total of that event
type never exceeds ``m``.

Between candidate instants ``P`` can only decrease and ``N``, ``A`` are constant, so the
first instant with ``score ≥ threshold`` is always a candidate instant; the engine only
evaluates those. The reported ``score`` is the score at ``qualified_at``, or at
``observed_until`` for leads that never qualify.

BANT facts
----------
``budget`` holds when ``budget_confirmed`` is true, ``authority`` when ``authority`` is
true, ``need`` when ``need`` is true, ``timeline`` when ``timeline_days ≤ N`` (or, without
``N``, when ``timeline_days`` is known). A fact that holds becomes known at the lead's
first ``bant_budget`` / ``bant_authority`` / ``bant_need`` / ``bant_timeline`` event, or,
when the lead has no such event (CRM imports), at ``sal_at``; never when neither exists.

Combinators
-----------
``all_of`` is met at the latest of its parts' first times, once every part has been met
at least once (a decayed score may have fallen back by then — this is the documented
choice; it makes ``all_of`` never earlier than any part). ``any_of`` is met at the earliest
of its parts' first times.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd
import yaml

from qualmodel.core.errors import ConfigError, preview
from qualmodel.criteria.arrays import (
    first_after,
    first_per_lead,
    kth_recent_scan,
    seg_cumsum,
)
from qualmodel.criteria.schema import (
    BANT_FACTS,
    FACT_COLUMN,
    AttributePoints,
    BantRule,
    Criterion,
    Decay,
    EventPoints,
    EventsRule,
    ScoreRule,
    check_events,
    criteria_event_names,
    list_criteria_files,
    load_criteria,
    scenario_criteria,
)
from qualmodel.journeys.contract import TRUTH_PREFIX, Journeys

__all__ = [
    "AttributePoints",
    "BantRule",
    "Criterion",
    "Decay",
    "EventPoints",
    "EventsRule",
    "ScoreRule",
    "criteria_event_names",
    "list_criteria_files",
    "load_criteria",
    "qualify",
    "scenario_criteria",
    "score_trajectory",
]

_DAY_NS = 86_400 * 10**9
_INF = np.iinfo(np.int64).max  # "never" in int64 nanoseconds
_BLOCK_EXP = 256.0  # largest exponent (in half-lives) inside one rebased block


# ---------------------------------------------------------------------------- engine
class _Ctx:
    """Numpy views of the sorted event table shared by all rules."""

    def __init__(self, journeys: Journeys) -> None:
        self.journeys = journeys
        self.n_leads = journeys.n_leads
        self.codes = journeys.event_lead_codes.astype(np.intp, copy=False)
        self.ts = journeys.events["ts"].to_numpy().view(np.int64)
        ev = journeys.events["event"]
        self.ev = ev.cat.codes.to_numpy()
        self.names = [str(c) for c in ev.cat.categories]
        self.name_code = {n: i for i, n in enumerate(self.names)}
        counts = np.bincount(self.codes, minlength=self.n_leads)
        self.offsets = np.zeros(self.n_leads + 1, dtype=np.intp)
        np.cumsum(counts, out=self.offsets[1:])
        self.n = len(self.ts)
        self._last_of_instant: np.ndarray | None = None
        self._bant: dict[str, np.ndarray] = {}

    @property
    def last_of_instant(self) -> np.ndarray:
        """True on the last row of each (lead, ts) group: where a state is evaluated."""
        if self._last_of_instant is None:
            ok = np.ones(self.n, dtype=bool)
            if self.n > 1:
                ok[:-1] = (self.codes[1:] != self.codes[:-1]) | (self.ts[1:] != self.ts[:-1])
            self._last_of_instant = ok
        return self._last_of_instant

    def mask(self, name: str) -> np.ndarray:
        code = self.name_code.get(name)
        if code is None:
            return np.zeros(self.n, dtype=bool)
        return self.ev == code

    def lead_column(self, col: str) -> np.ndarray:
        return self.journeys.leads[col].to_numpy()

    def stamp(self, col: str) -> np.ndarray:
        """Lead timestamp column as int64 ns with ``_INF`` for NaT / missing column."""
        if col not in self.journeys.leads.columns:
            return np.full(self.n_leads, _INF, dtype=np.int64)
        v = self.journeys.leads[col].to_numpy().view(np.int64).copy()
        v[v == np.iinfo(np.int64).min] = _INF
        return v


# ------------------------------------------------------------------ BANT facts
def _fact_known(ctx: _Ctx, fact: str, timeline_max: float | None, where: str) -> np.ndarray:
    """int64 ns when ``fact`` becomes known to hold, ``_INF`` when it never does."""
    key = f"{fact}:{timeline_max}"
    if key in ctx._bant:
        return ctx._bant[key]
    col = FACT_COLUMN[fact]
    leads = ctx.journeys.leads
    if col not in leads.columns:
        raise ConfigError(
            f"{where}: BANT fact '{fact}' needs lead column '{col}', which these journeys "
            f"lack; add it to the data (or the import mapping) or drop the fact"
        )
    if fact == "timeline":
        days = pd.to_numeric(leads[col], errors="coerce").to_numpy(dtype=np.float64)
        holds = ~np.isnan(days)
        if timeline_max is not None:
            holds &= days <= timeline_max
    else:
        holds = leads[col].fillna(False).to_numpy(dtype=bool)
    known = ctx.stamp("sal_at")
    m = ctx.mask(f"bant_{fact}")
    rows = np.flatnonzero(m)
    lead, first_ts = first_per_lead(rows, ctx.codes, ctx.ts, ctx.n_leads)
    known[lead] = first_ts
    out = np.where(holds, known, _INF)
    ctx._bant[key] = out
    return out


def _bant_first(ctx: _Ctx, rule: BantRule, where: str) -> np.ndarray:
    facts = list(BANT_FACTS) if rule.min_of is not None else list(dict.fromkeys(rule.require))
    known = {f: _fact_known(ctx, f, rule.timeline_days, where) for f in facts}
    t = np.full(ctx.n_leads, np.iinfo(np.int64).min, dtype=np.int64)
    for f in rule.require:
        t = np.maximum(t, known[f])
    if rule.min_of is not None:
        stack = np.sort(np.stack([known[f] for f in BANT_FACTS], axis=1), axis=1)
        t = np.maximum(t, stack[:, rule.min_of - 1])
    return t


# ------------------------------------------------------------------ events rule
def _kth_recent(ctx: _Ctx, mask: np.ndarray, k: int) -> np.ndarray:
    """Per row: ts of the k-th most recent masked row of the same lead at or before it.

    Returns int64 ns, ``int64 min`` when the lead has fewer than ``k`` such rows so far.
    """
    if not mask.any():
        return np.full(ctx.n, np.iinfo(np.int64).min, dtype=np.int64)
    return kth_recent_scan(mask, ctx.codes, ctx.ts, k)


def _events_first(ctx: _Ctx, rule: EventsRule) -> np.ndarray:
    never = np.iinfo(np.int64).min
    need = np.full(ctx.n, np.iinfo(np.int64).max, dtype=np.int64)
    for name in dict.fromkeys(rule.all):
        need = np.minimum(need, _kth_recent(ctx, ctx.mask(name), rule.min_count))
    if rule.any:
        anym = np.zeros(ctx.n, dtype=bool)
        for name in dict.fromkeys(rule.any):
            anym |= ctx.mask(name)
        need = np.minimum(need, _kth_recent(ctx, anym, rule.min_count))
    ok = need != never
    if rule.within_days is not None:
        window = round(rule.within_days * _DAY_NS)
        ok &= need >= ctx.ts - window
    out = np.full(ctx.n_leads, _INF, dtype=np.int64)
    lead, t = first_per_lead(np.flatnonzero(ok), ctx.codes, ctx.ts, ctx.n_leads)
    out[lead] = t
    return out


# ------------------------------------------------------------------ score rule
class _Score:
    """Per-row score components of a score rule, and evaluation at arbitrary instants."""

    def __init__(self, ctx: _Ctx, rule: ScoreRule, where: str) -> None:
        self.ctx = ctx
        self.rule = rule
        n = ctx.n
        table = np.zeros(len(ctx.names) + 1, dtype=np.float64)
        for name, ep in rule.events.items():
            if name in ctx.name_code:
                table[ctx.name_code[name]] = ep.points
        p = table[ctx.ev] if n else np.zeros(0)
        for name, ep in rule.events.items():
            if name in ctx.name_code and (ep.max_count is not None or ep.max_points is not None):
                rows = np.flatnonzero(ctx.ev == ctx.name_code[name])
                if len(rows) == 0:
                    continue
                lead = ctx.codes[rows]
                start = np.ones(len(rows), dtype=bool)
                start[1:] = lead[1:] != lead[:-1]
                ar = np.arange(len(rows))
                rank = ar - np.maximum.accumulate(np.where(start, ar, 0))
                contrib = np.full(len(rows), ep.points)
                if ep.max_count is not None:
                    contrib = np.where(rank < ep.max_count, contrib, 0.0)
                if ep.max_points is not None:
                    capped = np.clip(ep.max_points - rank * ep.points, 0.0, ep.points)
                    contrib = np.minimum(contrib, capped)
                p[rows] = contrib
        self.pos = np.maximum(p, 0.0)
        self.neg_cum = seg_cumsum(np.minimum(p, 0.0), ctx.codes, ctx.n_leads)
        decay = rule.decay
        self.half_life_ns = (
            None
            if decay is None or decay.half_life_days is None
            else (decay.half_life_days * _DAY_NS)
        )
        self.per_ns = (
            None if decay is None or decay.per_days is None else (decay.per_days * _DAY_NS)
        )
        if self.half_life_ns is not None:
            self.pos_rows = _exp_decay_scan(ctx, self.pos, self.half_life_ns)
        elif self.per_ns is not None:
            # relative times in days from the lead's first event keep the sums precise
            first = ctx.ts[ctx.offsets[:-1].clip(max=max(n - 1, 0))] if n else ctx.ts
            self.trel = (ctx.ts - first[ctx.codes]).astype(np.float64) if n else np.zeros(0)
            self.cum0 = seg_cumsum(self.pos, ctx.codes, ctx.n_leads)
            self.cum1 = seg_cumsum(self.pos * self.trel, ctx.codes, ctx.n_leads)
            self.first_ts = first
            self.pos_rows = self._linear_at(np.arange(n), ctx.codes, ctx.ts)
        else:
            self.pos_rows = seg_cumsum(self.pos, ctx.codes, ctx.n_leads)
        # attribute points
        self.static = np.zeros(ctx.n_leads, dtype=np.float64)
        self.bant_terms: list[tuple[np.ndarray, float]] = []
        leads = ctx.journeys.leads
        for j, ap in enumerate(rule.attributes):
            if ap.bant is not None:
                known = _fact_known(ctx, ap.bant, ap.max, f"{where}.score.attributes[{j}]")
                self.bant_terms.append((known, ap.points))
                continue
            if ap.column not in leads.columns:
                raise ConfigError(
                    f"{where}.score.attributes[{j}].column: lead column '{ap.column}' not in "
                    f"these journeys (have: {preview(_observable(leads), k=12)}); fix the name"
                )
            self.static += ap.points * _attribute_test(leads[ap.column], ap)

    def attr_at(self, leads: np.ndarray, t: np.ndarray) -> np.ndarray:
        a = self.static[leads].copy()
        for known, pts in self.bant_terms:
            a += np.where(known[leads] <= t, pts, 0.0)
        return a

    def _linear_at(self, last: np.ndarray, leads: np.ndarray, t: np.ndarray) -> np.ndarray:
        """Linear-decay positive points at instants ``t`` given the last row ≤ t (or -1)."""
        ctx = self.ctx
        lo = ctx.offsets[leads]
        start = first_after(ctx.ts, lo, last + 1, t - self.per_ns, strict=True)
        valid = last >= start
        li = np.where(valid, last, 0)
        prev = np.maximum(start - 1, 0)
        has_prev = start > lo
        w0 = ctx_take(self.cum0, li) - np.where(has_prev, ctx_take(self.cum0, prev), 0.0)
        w1 = ctx_take(self.cum1, li) - np.where(has_prev, ctx_take(self.cum1, prev), 0.0)
        first = self.first_ts[leads] if len(self.first_ts) else t
        trel_t = (t - first).astype(np.float64)
        val = w0 - (w0 * trel_t - w1) / self.per_ns
        return np.where(valid, np.maximum(val, 0.0), 0.0)

    def rows(self) -> np.ndarray:
        """Score at every event row (state after all events up to that row)."""
        ctx = self.ctx
        return self.pos_rows + self.neg_cum + self.attr_at(ctx.codes, ctx.ts)

    def at(self, leads: np.ndarray, t: np.ndarray) -> np.ndarray:
        """Score of ``leads`` at instants ``t`` (int64 ns), counting events with ts ≤ t."""
        ctx = self.ctx
        leads = np.asarray(leads, dtype=np.intp)
        t = np.asarray(t, dtype=np.int64)
        lo = ctx.offsets[leads]
        last = first_after(ctx.ts, lo, ctx.offsets[leads + 1], t, strict=True) - 1
        has = last >= lo
        li = np.where(has, last, 0)
        if self.half_life_ns is not None:
            dt = np.where(has, t - ctx_take(ctx.ts, li, t), 0).astype(np.float64)
            pos = ctx_take(self.pos_rows, li) * np.exp2(-dt / self.half_life_ns)
        elif self.per_ns is not None:
            pos = self._linear_at(last, leads, t)
        else:
            pos = ctx_take(self.pos_rows, li)
        neg = ctx_take(self.neg_cum, li)
        ev = np.where(has, pos + neg, 0.0)
        return ev + self.attr_at(leads, t)


def ctx_take(arr: np.ndarray, idx: np.ndarray, fill: Any = 0.0) -> np.ndarray:
    """``arr[idx]`` that tolerates an empty ``arr`` (returns ``fill``)."""
    if len(arr) == 0:
        return np.broadcast_to(np.asarray(fill), idx.shape).copy()
    return arr[idx]


def _observable(leads: pd.DataFrame) -> list[str]:
    return [c for c in leads.columns if not c.startswith(TRUTH_PREFIX)]


def _attribute_test(series: pd.Series, ap: AttributePoints) -> np.ndarray:
    ok = series.notna().to_numpy()
    if ap.equals is not None:
        ok &= (series == ap.equals).fillna(False).to_numpy(dtype=bool)
    if ap.in_ is not None:
        ok &= series.isin(ap.in_).to_numpy(dtype=bool)
    if ap.min is not None or ap.max is not None:
        num = pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64)
        if ap.min is not None:
            ok &= num >= ap.min
        if ap.max is not None:
            ok &= num <= ap.max
    return ok.astype(np.float64)


def _exp_decay_scan(ctx: _Ctx, pos: np.ndarray, half_life_ns: float) -> np.ndarray:
    """Exponentially decayed running sum of ``pos`` per lead, at each row.

    ``S_i = S_{i-1}·2^(-(t_i - t_{i-1})/h) + p_i`` restarted at every lead. Computed as
    ``S_i = 2^(-x_i) Σ_{j≤i} p_j 2^(x_j)`` with ``x`` measured in half-lives from the start
    of a block; a block starts at each lead and whenever ``x`` would exceed
    ``_BLOCK_EXP`` (so ``2^x`` never overflows and the sum keeps full relative precision),
    and the value carried over a block boundary is added decayed.
    """
    n = ctx.n
    if n == 0:
        return np.zeros(0)
    codes, ts = ctx.codes, ctx.ts
    lead_first = ts[np.minimum(ctx.offsets[:-1], n - 1)]
    x = (ts - lead_first[codes]).astype(np.float64) / half_life_ns
    block = np.floor(x / _BLOCK_EXP)
    if block.max() == 0:  # one block per lead: the common case
        return seg_cumsum(pos * np.exp2(x), codes, ctx.n_leads) * np.exp2(-x)
    new = np.ones(n, dtype=bool)
    new[1:] = (codes[1:] != codes[:-1]) | (block[1:] != block[:-1])
    seg = np.cumsum(new) - 1
    seg_start = np.flatnonzero(new)
    xs = (ts - ts[seg_start][seg]).astype(np.float64) / half_life_ns
    s = seg_cumsum(pos * np.exp2(xs), seg.astype(np.intp), len(seg_start)) * np.exp2(-xs)
    # carry across block boundaries of the same lead, in block order
    lead_seg_first = np.ones(len(seg_start), dtype=bool)
    seg_lead = codes[seg_start]
    lead_seg_first[1:] = seg_lead[1:] != seg_lead[:-1]
    ar = np.arange(len(seg_start))
    seg_rank = ar - np.maximum.accumulate(np.where(lead_seg_first, ar, 0))
    row_rank = seg_rank[seg]
    for r in range(1, int(seg_rank.max()) + 1):
        rows = np.flatnonzero(row_rank == r)
        prev_end = seg_start[seg[rows]] - 1
        dt = (ts[rows] - ts[prev_end]).astype(np.float64)
        s[rows] += s[prev_end] * np.exp2(-dt / half_life_ns)
    return s


def _reaches(score: np.ndarray, threshold: float) -> np.ndarray:
    """``score ≥ threshold`` up to floating-point rounding of the decay arithmetic.

    Decayed scores are sums of ``points · 2^x · 2^-x`` terms, so a score that is exactly at
    the threshold in exact arithmetic can come out a few ulps below it; a relative
    tolerance of 1e-9 (of ``max(1, |threshold|)``) counts it as reached.
    """
    return score >= threshold - 1e-9 * max(1.0, abs(threshold))


def _score_first(ctx: _Ctx, rule: ScoreRule, where: str) -> tuple[np.ndarray, np.ndarray]:
    """(first crossing int64 ns or _INF, score at crossing or at observed_until)."""
    sc = _Score(ctx, rule, where)
    thr = rule.threshold
    first = np.full(ctx.n_leads, _INF, dtype=np.int64)
    val = np.full(ctx.n_leads, np.nan)
    if ctx.n:
        row_score = sc.rows()
        hit = np.flatnonzero(ctx.last_of_instant & _reaches(row_score, thr))
        lead, t = first_per_lead(hit, ctx.codes, ctx.ts, ctx.n_leads)
        first[lead] = t
        _, v = first_per_lead(hit, ctx.codes, row_score, ctx.n_leads)
        val[lead] = v
    # other candidate instants: created_at (static points / threshold ≤ 0), BANT known times
    cand_leads: list[np.ndarray] = []
    cand_t: list[np.ndarray] = []
    all_leads = np.arange(ctx.n_leads, dtype=np.intp)
    if thr <= 0 or np.any(sc.static != 0):
        cand_leads.append(all_leads)
        cand_t.append(ctx.stamp("created_at"))
    for known, _ in sc.bant_terms:
        ok = known != _INF
        cand_leads.append(all_leads[ok])
        cand_t.append(known[ok])
    if cand_leads:
        cl = np.concatenate(cand_leads)
        ct = np.concatenate(cand_t)
        cs = sc.at(cl, ct)
        hit = _reaches(cs, thr) & (ct < first[cl])
        cl, ct, cs = cl[hit], ct[hit], cs[hit]
        order = np.lexsort((ct, cl))
        cl, ct, cs = cl[order], ct[order], cs[order]
        keep = np.ones(len(cl), dtype=bool)
        keep[1:] = cl[1:] != cl[:-1]
        first[cl[keep]] = ct[keep]
        val[cl[keep]] = cs[keep]
    never = first == _INF
    if never.any():
        idx = np.flatnonzero(never)
        val[idx] = sc.at(idx, ctx.stamp("observed_until")[idx])
    return first, val


# ------------------------------------------------------------------ dispatch
def _first_time(ctx: _Ctx, crit: Criterion, where: str) -> tuple[np.ndarray, np.ndarray | None]:
    if crit.score is not None:
        return _score_first(ctx, crit.score, where)
    if crit.bant is not None:
        return _bant_first(ctx, crit.bant, f"{where}.bant"), None
    if crit.events is not None:
        return _events_first(ctx, crit.events), None
    key = "all_of" if crit.all_of is not None else "any_of"
    parts = [
        _first_time(ctx, part, f"{where}.{key}[{j}]")[0]
        for j, part in enumerate(getattr(crit, key))
    ]
    stack = np.stack(parts, axis=0)
    return (stack.max(axis=0) if key == "all_of" else stack.min(axis=0)), None


def qualify(journeys: Journeys, criterion: Criterion | str, strict: bool = True) -> pd.DataFrame:
    """First time each lead meets a criterion.

    Parameters
    ----------
    journeys : Journeys
    criterion : Criterion or str
        A criterion object, or YAML text of a single criterion mapping.
    strict : bool, default True
        When true, an event name the journeys do not know (not among the categories of
        ``journeys.events.event``) is a :class:`ConfigError` naming the YAML path; when
        false such an event simply never happens.

    Returns
    -------
    pandas.DataFrame
        One row per lead in ``journeys.leads`` order: ``lead_id``, ``qualified_at``
        (``datetime64[ns]``, ``NaT`` if never by ``observed_until``) and ``score`` (for
        ``score`` criteria the score at ``qualified_at``, or at ``observed_until`` when
        never qualified; ``NaN`` for other kinds).
    """
    crit = _as_criterion(criterion)
    ctx = _Ctx(journeys)
    if strict:
        check_events(crit, set(ctx.names), crit.source)
    first, score = _first_time(ctx, crit, crit.source)
    until = ctx.stamp("observed_until")
    first = np.where(first > until, _INF, first)
    qualified = first.copy()
    qualified[first == _INF] = np.iinfo(np.int64).min
    if score is None:
        score = np.full(ctx.n_leads, np.nan)
    return pd.DataFrame(
        {
            "lead_id": journeys.leads["lead_id"].to_numpy(),
            "qualified_at": qualified.view("datetime64[ns]"),
            "score": score,
        }
    )


def _as_criterion(criterion: Criterion | str) -> Criterion:
    if isinstance(criterion, Criterion):
        return criterion
    if isinstance(criterion, str):
        from qualmodel.core.safety import load_yaml

        data = load_yaml(criterion, "<criterion yaml>", ConfigError)
        if isinstance(data, dict) and "criteria" not in data:
            data = [data]
        crits = load_criteria(yaml.safe_dump({"criteria": data}))
        if len(crits) != 1:
            raise ConfigError("qualify: give one criterion; use compare_criteria for several")
        return crits[0]
    raise ConfigError(f"qualify: expected a Criterion, got {type(criterion).__name__}")


def score_trajectory(
    journeys: Journeys,
    criterion: Criterion,
    lead_ids: Iterable[str],
    n_grid: int = 200,
) -> pd.DataFrame:
    """Score over time of some leads, for plots.

    The score is evaluated (with the :func:`qualify` semantics) at each lead's
    ``created_at``, every event time, every BANT-known instant, ``observed_until``, and
    ``n_grid`` evenly spaced instants between ``created_at`` and ``observed_until`` (so
    decay shows as a curve).

    Parameters
    ----------
    journeys : Journeys
    criterion : Criterion
        A ``score`` criterion, or a combinator whose first ``score`` part is used.
    lead_ids : iterable of str
    n_grid : int, default 200

    Returns
    -------
    pandas.DataFrame
        ``lead_id``, ``ts``, ``score`` sorted by lead and time (unique instants).
    """
    crit = _as_criterion(criterion)
    rule = _find_score(crit)
    if rule is None:
        raise ConfigError(
            f"{crit.source}: score_trajectory needs a 'score' criterion (got {crit.kind})"
        )
    ids = list(lead_ids)
    sub = journeys.subset(ids)
    ctx = _Ctx(sub)
    sc = _Score(ctx, rule, crit.source)
    created = ctx.stamp("created_at")
    until = ctx.stamp("observed_until")
    leads = [np.arange(ctx.n_leads), np.arange(ctx.n_leads), ctx.codes]
    times = [created, until, ctx.ts]
    if n_grid > 0:
        frac = np.linspace(0.0, 1.0, n_grid)
        g_leads = np.repeat(np.arange(ctx.n_leads), n_grid)
        span = (until - created).astype(np.float64)
        g_t = created[g_leads] + (np.tile(frac, ctx.n_leads) * span[g_leads]).astype(np.int64)
        leads.append(g_leads)
        times.append(g_t)
    for known, _ in sc.bant_terms:
        ok = known != _INF
        leads.append(np.flatnonzero(ok))
        times.append(known[ok])
    tbl = pd.DataFrame({"lead": np.concatenate(leads), "t": np.concatenate(times)})
    tbl = tbl.drop_duplicates().sort_values(["lead", "t"], kind="stable")
    lv = tbl["lead"].to_numpy(dtype=np.intp)
    tv = tbl["t"].to_numpy(dtype=np.int64)
    score = sc.at(lv, tv)
    return pd.DataFrame(
        {
            "lead_id": sub.leads["lead_id"].to_numpy()[lv],
            "ts": tv.view("datetime64[ns]"),
            "score": score,
        }
    )


def _find_score(crit: Criterion) -> ScoreRule | None:
    if crit.score is not None:
        return crit.score
    for part in crit.all_of or crit.any_of or ():
        found = _find_score(part)
        if found is not None:
            return found
    return None
