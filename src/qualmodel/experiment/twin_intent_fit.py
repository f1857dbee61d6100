"""Fit the ``intent:`` block of a twin: high-intent touchpoints timed to the stages.

The intent events are the (at most ``k``) event types whose share of leads reaching the
target most exceeds their share among the other leads (ratio ≥ ``RATIO``). For each outcome
class (:data:`~qualmodel.simulation.twin_intent.CLASSES`: leads that reach the target,
those that reach only the plan's start, the others): the share of every presence pattern
of those events, the mean number of further events of a present type, and per event its
anchor — the stage every lead of the class passed whose day the first event follows most
closely (smallest interquartile range of the offsets) — with 21 quantiles of the first
event's day minus the anchor's (``first_days``) and of each further event's day minus the
first one's (``gap_days``), in days or, for events spread over the whole follow-up, in
shares of it (``timing``). Pattern shares are kept per follow-up group
(:data:`FOLLOW_UP_GROUPS`) and, for the target's leads, per outcome of the target (won,
lost, open; :data:`MIN_OUTCOME_LEADS`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from qualmodel.simulation.twin_intent import CLASSES, lead_class

__all__ = ["RATIO", "class_anchors", "fit_intent", "plan_classes"]

_QUANTS = np.linspace(0.0, 1.0, 21)
#: Least ratio of the share of target leads with the event to that of the other leads.
RATIO = 1.2
#: Follow-up groups of a class's presence patterns (leads with little follow-up show fewer).
FOLLOW_UP_GROUPS = 4
#: Fewest leads per follow-up group (smaller classes keep one pattern table).
MIN_GROUP_LEADS = 250
#: Fewest target leads per outcome (e.g. won, lost, open) for pattern shares per outcome.
MIN_OUTCOME_LEADS = 30
#: Share of a class's leads with an event that must have passed a stage to time it from it.
ANCHOR_COVERAGE = 0.95


def _pick(counts: dict[str, np.ndarray], reached: np.ndarray, k: int) -> list[str]:
    ratio = {}
    for ev, c in counts.items():
        st, so = float((c[reached] > 0).mean()), float((c[~reached] > 0).mean())
        if st > 0.01 and st >= RATIO * so:
            ratio[ev] = st / max(so, 1e-6)
    return sorted(sorted(ratio, key=lambda e: -ratio[e])[:k])


def _lineage(stem: str, tree: dict[str, str]) -> list[str]:
    """Return ``created``, the ancestors of ``stem`` in the stage tree, ``stem`` (in order)."""
    out = [stem]
    while out[-1] != "created":
        out.append(tree.get(out[-1], "created"))
    return out[::-1]


def class_anchors(plan: dict[str, str], tree: dict[str, str]) -> dict[str, list[str]]:
    """Stages each class's leads all pass in the twin (candidate anchors of its events)."""
    start = plan["start"].removesuffix("_at")
    return {
        "target": _lineage(plan["target"].removesuffix("_at"), tree),
        "start": _lineage(start, tree),
        "other": ["created"],
    }


def plan_classes(days: dict[str, np.ndarray], plan: dict[str, str]) -> np.ndarray:
    """Class code of every lead of the data (see :func:`~.twin_intent.lead_class`)."""
    start = plan["start"].removesuffix("_at")
    return lead_class(
        days[plan["target"].removesuffix("_at")],
        None if start == "created" else days[start],
        np.inf,
    )


def _first_and_later(codes: np.ndarray, names: np.ndarray, ev_days: np.ndarray, ev: str):
    """First day per lead with ``ev`` (Series by lead code); (lead, day − first) of the rest."""
    sel = names == ev
    lead, day = codes[sel], ev_days[sel]
    order = np.lexsort((day, lead))
    lead, day = lead[order], day[order]
    new = np.r_[True, lead[1:] != lead[:-1]] if lead.size else np.zeros(0, dtype=bool)
    first_day = day[new]
    gap = day - first_day[np.cumsum(new) - 1]
    return pd.Series(first_day, index=lead[new]), (lead[~new], gap[~new])


def _quantiles(x: np.ndarray) -> list[float]:
    q = np.quantile(x, _QUANTS) if x.size else np.zeros(_QUANTS.size)
    return [round(float(v), 4) for v in q]


def _anchor(first: pd.Series, days: dict[str, np.ndarray], cands: list[str]) -> str:
    """Return the candidate anchor the first events follow most closely (smallest IQR)."""
    best, best_iqr = "created", np.inf
    leads = first.index.to_numpy()
    for stem in cands:
        off = first.to_numpy() - days[stem][leads]
        ok = ~np.isnan(off)
        if not ok.any() or ok.mean() < ANCHOR_COVERAGE:
            continue
        iqr = float(np.subtract(*np.quantile(off[ok], [0.75, 0.25])))
        if iqr < best_iqr - 1e-9:
            best, best_iqr = stem, iqr
    return best


def _ks(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sample Kolmogorov–Smirnov distance (1.0 when a sample is empty)."""
    if a.size == 0 or b.size == 0:
        return 1.0
    grid = np.union1d(a, b)
    fa = np.searchsorted(np.sort(a), grid, side="right") / a.size
    fb = np.searchsorted(np.sort(b), grid, side="right") / b.size
    return float(np.abs(fa - fb).max())


def _timing(off: np.ndarray, room: np.ndarray) -> str:
    """``days`` or ``follow_up``: the scale on which offsets depend least on follow-up.

    ``room`` is each lead's follow-up from the anchor. Offsets are compared between the
    leads with short and long follow-up (split at its median) in days and as a share of
    the follow-up; a background event spread over the whole follow-up looks alike on the
    second scale, an event tied to the anchor on the first.
    """
    if off.size < 20 or (off < 0).any() or (room <= 0).any():
        return "days"
    short = room <= np.median(room)
    frac = off / room
    by_days = _ks(off[short], off[~short])
    by_share = _ks(frac[short], frac[~short])
    return "follow_up" if by_share < by_days else "days"


def _pattern_shares(keys: np.ndarray) -> dict[str, float]:
    uniq, n = np.unique(keys, return_counts=True)
    return {str(u): round(float(c) / keys.size, 8) for u, c in zip(uniq, n, strict=True)}


def _by_follow_up(keys: np.ndarray, follow: np.ndarray) -> dict[str, Any]:
    """Pattern shares per follow-up group (equal-count groups of window end − arrival)."""
    if keys.size < FOLLOW_UP_GROUPS * MIN_GROUP_LEADS:
        return {}
    qs = np.quantile(follow, np.arange(1, FOLLOW_UP_GROUPS) / FOLLOW_UP_GROUPS)
    edges = [round(float(x), 4) for x in np.unique(qs)]
    group = np.searchsorted(edges, follow, side="right")
    return {
        "follow_up_edges_days": edges,
        "patterns_by_follow_up": [_pattern_shares(keys[group == g]) for g in range(len(edges) + 1)],
    }


def target_outcome(days: dict[str, np.ndarray], plan: dict[str, str], tree: dict) -> np.ndarray:
    """Per lead: the stage after the target reached first (``open`` when none)."""
    target = plan["target"].removesuffix("_at")
    n = days["created"].size
    out = np.full(n, "open", dtype=object)
    best = np.full(n, np.inf)
    for kid in [s for s, p in tree.items() if p == target]:
        t = np.where(np.isnan(days[kid]), np.inf, days[kid])
        first = t < best
        out[first], best[first] = kid, t[first]
    return out


def _by_outcome(keys: np.ndarray, outcome: np.ndarray | None) -> dict[str, Any]:
    """Pattern shares per outcome of the target's leads (each with ≥ MIN_OUTCOME_LEADS)."""
    if outcome is None:
        return {}
    names, n = np.unique(outcome.astype(str), return_counts=True)
    if names.size < 2 or n.min() < MIN_OUTCOME_LEADS:
        return {}
    return {"patterns_by_outcome": {str(k): _pattern_shares(keys[outcome == k]) for k in names}}


def _class_block(events, counts, firsts, later, days, mask, cands, outcome=None) -> dict[str, Any]:
    bits = np.column_stack([counts[e][mask] > 0 for e in events])
    keys = np.array(["".join("1" if b else "0" for b in row) for row in bits])
    follow = (days["observed_until"] - days["created"])[mask]
    split = _by_outcome(keys, None if outcome is None else outcome[mask])
    block: dict[str, Any] = {
        "patterns": _pattern_shares(keys),
        **(split or _by_follow_up(keys, follow)),
        "extra": {},
        "anchors": {},
        "first_days": {},
        "gap_days": {},
        "timing": {},
    }
    for e in events:
        c = counts[e][mask]
        block["extra"][e] = round(float(c[c > 0].mean() - 1) if (c > 0).any() else 0.0, 6)
        first = firsts[e][mask[firsts[e].index.to_numpy()]]
        anchor = _anchor(first, days, cands)
        who = first.index.to_numpy()
        off = first.to_numpy() - days[anchor][who]
        ok = ~np.isnan(off)
        room = days["observed_until"][who] - days[anchor][who]
        timing = _timing(off[ok], room[ok])
        lead, gap = later[e]
        sel = mask[lead]
        lead, gap = lead[sel], gap[sel]
        if timing == "follow_up":
            off, ok = off / room, ok & (room > 0)
            left = days["observed_until"][lead] - firsts[e].reindex(lead).to_numpy()
            gap = np.clip(gap / np.where(left > 0, left, np.inf), 0.0, 1.0)
        block["anchors"][e] = anchor
        block["timing"][e] = timing
        block["first_days"][e] = _quantiles(off[ok])
        block["gap_days"][e] = _quantiles(gap)
    return block


def fit_intent(
    journeys: Any, days: dict[str, np.ndarray], plan: dict[str, str], tree: dict, k: int = 12
) -> dict[str, Any] | None:
    """Fit the ``intent:`` block; None without events that mark the target's leads.

    ``days`` are counted from the first arrival day, as in the rest of the fit; ``tree``
    is the fitted stage tree (``{stage: after}``).
    """
    events = journeys.events
    if events.empty:
        return None
    cls = plan_classes(days, plan)
    reached = cls == 0
    n = reached.size
    codes = events["lead_id"].cat.codes.to_numpy()
    names = events["event"].astype(str).to_numpy()
    counts = {str(e): np.bincount(codes[names == e], minlength=n) for e in journeys.event_names}
    picked = _pick(counts, reached, k)
    if not picked or reached.sum() < 50:
        return None
    t0 = np.asarray(journeys.events["ts"].values, dtype="datetime64[ns]").astype(np.int64)
    start = np.nanmin(journeys.leads["created_at"].to_numpy("datetime64[ns]"))
    start = start.astype("datetime64[D]").astype("datetime64[ns]").astype(np.int64)
    ev_days = (t0 - start) / 86_400e9
    firsts, later = {}, {}
    for e in picked:
        firsts[e], later[e] = _first_and_later(codes, names, ev_days, e)
    cands = class_anchors(plan, tree)
    out: dict[str, Any] = {"events": picked}
    for code, name in enumerate(CLASSES):
        if (cls == code).any():
            out[name] = _class_block(
                picked,
                counts,
                firsts,
                later,
                days,
                cls == code,
                cands[name],
                target_outcome(days, plan, tree) if name == "target" else None,
            )
    out["source"] = (
        f"presence patterns, extra counts and timing of {', '.join(picked)} per outcome "
        f"class (reached {plan['target']}; reached only {plan['start']}; the others), each "
        f"event's first occurrence timed from the stage it follows most closely"
    )
    return out
