"""Lead attributes of a twin's leads, per outcome class: segment, BANT facts, timeline.

Written out in ``docs/twin.md``: a lead's class (:func:`~.twin_intent.lead_class`) picks
the segment mix, the shares of each BANT fact known and true, and the timeline's
quantiles the data show for that class (the overall block when the twin has no
``by_class``); where a block names the ``event`` recording when the fact became known,
the share known is the one of the leads with (or without) that event on the twin.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from qualmodel.simulation.twin_intent import CLASSES

if TYPE_CHECKING:
    from qualmodel.simulation.twin_schema import TwinScenario

__all__ = ["bant_columns", "segment_codes"]

Rng = Callable[[str], np.random.Generator]


def segment_codes(sc: TwinScenario, cls: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Segment value (index into ``segment.shares``) of every lead."""
    seg = sc.segment
    names = list(seg.shares)
    n = cls.size
    if seg.by_class is None:
        p = np.asarray([seg.shares[k] for k in names])
        return rng.choice(len(names), size=n, p=p / p.sum())
    table = np.array(
        [[seg.by_class.get(c, seg.shares).get(k, 0.0) for k in names] for c in CLASSES]
    )
    cum = np.cumsum(table / table.sum(axis=1, keepdims=True), axis=1)[cls]
    return np.minimum((rng.random(n)[:, None] >= cum).sum(axis=1), len(names) - 1)


def _per_lead(spec: Any, cls: np.ndarray, has: np.ndarray | None, key: str) -> np.ndarray:
    """Per-lead value of ``key`` from the lead's class entry (with the event split)."""
    entries = [spec.by_class.get(c) for c in CLASSES]
    fallback = spec.by_class.get("other")
    vals = [getattr(e or fallback, key) for e in entries]
    out = np.asarray(vals, dtype=np.float64)[cls]
    if key == "known_share" and has is not None:
        with_ev = [(e or fallback).known_with_event for e in entries]
        without = [(e or fallback).known_without_event for e in entries]
        if all(v is not None for v in with_ev + without):
            out = np.where(has, np.asarray(with_ev)[cls], np.asarray(without)[cls])
    return out


def _presence(spec: Any, present: dict[str, np.ndarray]) -> np.ndarray | None:
    return present.get(spec.event) if spec.event is not None else None


def bant_columns(
    sc: TwinScenario, n: int, rng: Rng, cls: np.ndarray, present: dict[str, np.ndarray]
) -> dict[str, Any]:
    """BANT columns (nullable booleans) and ``timeline_days`` of ``n`` leads.

    ``rng(name)`` gives the generator of a named component; ``present`` maps an event
    name to whether each lead has it on the twin.
    """
    out: dict[str, Any] = {}
    gen = rng("bant")
    for col in sorted(sc.bant):
        spec = sc.bant[col]
        kn, tr = spec.known_share, spec.true_share
        if spec.by_class is not None:
            kn = _per_lead(spec, cls, _presence(spec, present), "known_share")
            tr = _per_lead(spec, cls, None, "true_share")
        known = gen.random(n) < kn
        value = gen.random(n) < tr
        out[col] = pd.arrays.BooleanArray(value, ~known)
    tl = sc.timeline
    if tl is not None:
        gen = rng("bant.timeline")
        kn = tl.known_share
        u_known, u = gen.random(n), gen.random(n)
        if tl.by_class is None:
            q = np.asarray(tl.quantiles_days, dtype=np.float64)
            days = np.interp(u, np.linspace(0.0, 1.0, q.size), q)
        else:
            kn = _per_lead(tl, cls, _presence(tl, present), "known_share")
            days = np.empty(n)
            for code, name in enumerate(CLASSES):
                m = cls == code
                entry = tl.by_class.get(name) or tl.by_class.get("other")
                q = np.asarray(entry.quantiles_days, dtype=np.float64)
                days[m] = np.interp(u[m], np.linspace(0.0, 1.0, q.size), q)
        out["timeline_days"] = np.where(u_known < kn, np.round(days), np.nan)
    return out
