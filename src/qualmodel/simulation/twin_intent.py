"""High-intent touchpoints of a twin, timed relative to the lead's stages (``intent:``).

The block (fitted by :mod:`qualmodel.experiment.twin_intent_fit`, written out in
``docs/twin.md``) holds, for each outcome class of leads (:data:`CLASSES`: those that reach
the plan's target, those that reach only its start, the others): the share of each
presence pattern of the intent events (a string of 0/1 in the order of ``events``), the
mean number of further events of a present type, the stage each event is timed from
(``anchors``), quantiles of the first event's day minus its anchor's day (``first_days``)
and of every further event's day minus the first one's (``gap_days``). The joint presence
table carries the co-occurrence of the events that criteria read together (e.g. demo,
pricing call and quote); the first-event timing carries when a rule first holds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from qualmodel.simulation.twin_blocks import IntentClass, TwinIntent

__all__ = ["CLASSES", "intent_touchpoints", "lead_class"]

#: Outcome classes of leads: reached the target in the window; reached only the start; rest.
CLASSES: tuple[str, ...] = ("target", "start", "other")


def lead_class(target: np.ndarray, start: np.ndarray | None, end_days: float) -> np.ndarray:
    """Class code (index into :data:`CLASSES`) of every lead.

    ``target``, ``start``: days of the plan's stages (``inf`` or NaN when not reached);
    ``start`` None when the plan starts at creation (no ``start`` class then).
    """
    with np.errstate(invalid="ignore"):
        reached = target <= end_days
        began = np.zeros_like(reached) if start is None else start <= end_days
    return np.where(reached, 0, np.where(began, 1, 2)).astype(np.int64)


def _draw(q: list[float], rng: np.random.Generator, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Draw from the quantile table ``q`` (linear interpolation), clipped to ``[lo, hi]``.

    The bounds are the lead's own follow-up (arrival to window end): a draw outside it is
    moved to the bound, as a real event before arrival is recorded at arrival. (Drawing
    from the table truncated to the bounds instead squeezes a lead's events together and
    inflates decayed scores: +4 to +6 points of target leads qualified by the built-in
    score rules, against +1 to +2 when clipped.)
    """
    qq = np.asarray(q, dtype=np.float64)
    u = rng.random(lo.size)
    return np.clip(np.interp(u, np.linspace(0.0, 1.0, qq.size), qq), lo, hi)


def _pick_tables(tables: list[dict[str, float]], group: np.ndarray, rng) -> np.ndarray:
    """Presence bits (lead × event) drawn from the pattern table of each lead's group."""
    pats = sorted({k for t in tables for k in t})
    prob = np.array([[t.get(k, 0.0) for k in pats] for t in tables])
    cum = np.cumsum(prob / prob.sum(axis=1, keepdims=True), axis=1)
    u = rng.random(group.size)
    pick = np.empty(group.size, dtype=np.int64)
    for g in np.unique(group):  # the patterns whose cumulative share is at most u
        rows = group == g
        pick[rows] = np.searchsorted(cum[g], u[rows], side="right")
    pick = np.minimum(pick, len(pats) - 1)
    return np.array([[c == "1" for c in k] for k in pats], dtype=bool)[pick]


def _patterns(
    spec: IntentClass, follow: np.ndarray, outcome: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Presence bits drawn from the class's patterns (per outcome or follow-up group)."""
    if spec.patterns_by_outcome is not None:
        names = list(spec.patterns_by_outcome)
        tables = [spec.patterns_by_outcome[k] for k in names]
        index = {k: i for i, k in enumerate(names)}
        group = np.array([index.get(o, index.get("open", 0)) for o in outcome], dtype=np.int64)
        return _pick_tables(tables, group, rng)
    if spec.patterns_by_follow_up is not None:
        group = np.searchsorted(spec.follow_up_edges_days or [], follow, side="right")
        return _pick_tables(spec.patterns_by_follow_up, group, rng)
    pats = list(spec.patterns)
    p = np.asarray([spec.patterns[k] for k in pats], dtype=np.float64)
    pick = rng.choice(len(pats), size=follow.size, p=p / p.sum())
    return np.array([[c == "1" for c in k] for k in pats], dtype=bool)[pick]


def _class_events(
    spec: IntentClass,
    events: list[str],
    rows: np.ndarray,
    times: dict[str, np.ndarray],
    end_days: float,
    rng: np.random.Generator,
    outcome: np.ndarray,
) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
    created = times["created"]
    bits = _patterns(spec, end_days - created[rows], outcome, rng)
    out_rows, out_days, out_kind = [], [], []
    for j, ev in enumerate(events):
        has = rows[bits[:, j]]
        anchor = times[spec.anchors[ev]][has]
        # "follow_up" timing: the tables hold shares of the lead's remaining follow-up
        scale = end_days - anchor if spec.timing.get(ev) == "follow_up" else None
        unit = np.ones(has.size) if scale is None else np.maximum(scale, 1e-9)
        lo, hi = (created[has] - anchor) / unit, (end_days - anchor) / unit
        first = anchor + unit * _draw(spec.first_days[ev], rng, lo, hi)
        extra = rng.poisson(float(spec.extra[ev]), size=has.size)
        later = np.repeat(np.arange(has.size), extra)
        room = end_days - first[later]
        g_unit = np.ones(later.size) if scale is None else np.maximum(room, 1e-9)
        gap = g_unit * _draw(spec.gap_days[ev], rng, np.zeros(later.size), room / g_unit)
        out_rows += [has, has[later]]
        out_days += [first, first[later] + gap]
        out_kind.append(np.full(has.size + later.size, j, dtype=np.int16))
    return out_rows, out_days, out_kind


def intent_touchpoints(
    intent: TwinIntent,
    times: dict[str, np.ndarray],
    cls: np.ndarray,
    end_days: float,
    rng: np.random.Generator,
    outcome: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Intent events: lead rows, days since the window start, kinds (inside the window).

    A kind is the event's position in ``intent.events`` (int16).

    ``times`` maps ``created`` and every stage to its latent day (``inf`` if never reached);
    ``cls`` is :func:`lead_class` of every lead; ``outcome`` names, per lead, the stage
    after the target it reached first in the window (``open`` when none; used by a class
    with ``patterns_by_outcome``). A class the block lacks is drawn as ``other``.
    """
    if outcome is None:
        outcome = np.full(cls.size, "open", dtype=object)
    created = times["created"]
    rows, days, kinds = [], [], []
    for code, name in enumerate(CLASSES):
        mask = cls == code
        if not mask.any():
            continue
        spec = intent.classes().get(name, intent.other)
        rows_c = np.flatnonzero(mask)
        r, d, k = _class_events(
            spec, list(intent.events), rows_c, times, end_days, rng, outcome[rows_c]
        )
        rows += r
        days += d
        kinds += k
    r, d, k = np.concatenate(rows), np.concatenate(days), np.concatenate(kinds)
    # the fitted patterns were observed inside the window already, so every draw is kept
    # inside the lead's follow-up (arrival to window end)
    d = np.minimum(np.maximum(d, created[r]), end_days)
    return r, d, k
