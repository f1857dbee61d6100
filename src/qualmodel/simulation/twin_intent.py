"""High-intent touchpoints of a twin, timed relative to the lead's stages (``intent:``).

The block (fitted by :mod:`qualmodel.experiment.twin_intent_fit`, written out in
``docs/twin.md``) holds, for the leads that reach the plan's target (class ``target``) and
for the others (class ``other``): the share of each presence pattern of the intent events
(a string of 0/1 in the order of ``events``), the mean number of extra events of a present
type, and quantiles of each event's day relative to its anchor (the target stage for class
``target``, arrival for class ``other``). The joint presence table carries the co-occurrence
of the events that criteria read together (e.g. demo, pricing call and quote).
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["intent_touchpoints"]


def _class_events(
    spec: dict[str, Any], rows: np.ndarray, anchor: np.ndarray, rng: np.random.Generator
) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
    events = list(spec["events"])
    pats = list(spec["patterns"])
    p = np.asarray([spec["patterns"][k] for k in pats], dtype=np.float64)
    pick = rng.choice(len(pats), size=rows.size, p=p / p.sum())
    bits = np.array([[c == "1" for c in k] for k in pats], dtype=bool)[pick]
    out_rows, out_days, out_kind = [], [], []
    for j, ev in enumerate(events):
        has = rows[bits[:, j]]
        count = 1 + rng.poisson(float(spec["extra"][ev]), size=has.size)
        r = np.repeat(has, count)
        q = np.asarray(spec["offsets_days"][ev], dtype=np.float64)
        off = np.interp(rng.random(r.size), np.linspace(0.0, 1.0, q.size), q)
        out_rows.append(r)
        out_days.append(anchor[r] + off)
        out_kind.append(np.full(r.size, ev, dtype=object))
    return out_rows, out_days, out_kind


def intent_touchpoints(
    intent: dict[str, Any],
    created: np.ndarray,
    target: np.ndarray,
    end_days: float,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Intent events: lead rows, days since the window start, names (inside the window).

    The classes are those of the fit: a lead counts as ``target`` when it reaches the
    target inside the window (as observed in the data), else as ``other``.
    """
    reached = target <= end_days
    rows, days, kinds = [], [], []
    for cls, mask, anchor in (
        ("target", reached, np.where(reached, target, 0.0)),
        ("other", ~reached, created),
    ):
        spec = {**intent[cls], "events": intent["events"]}
        r, d, k = _class_events(spec, np.flatnonzero(mask), anchor, rng)
        rows += r
        days += d
        kinds += k
    r, d, k = np.concatenate(rows), np.concatenate(days), np.concatenate(kinds)
    # the fitted patterns were observed inside the window already: an event drawn after
    # its end is kept at the window end (dropping it would censor the patterns twice)
    d = np.minimum(np.maximum(d, created[r]), end_days)
    return r, d, k
