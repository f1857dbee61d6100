"""Fit the ``intent:`` block of a twin: high-intent touchpoints timed to the stages.

The intent events are the (at most ``k``) event types whose share of leads reaching the
target most exceeds their share among the other leads (ratio ≥ ``RATIO``). For each class (leads
that reach the target, the others): the share of every presence pattern of those events,
the mean number of extra events of a present type, and 21 quantiles of the event day
relative to the anchor (target stage day, or arrival day).
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["fit_intent"]

_QUANTS = np.linspace(0.0, 1.0, 21)
#: Least ratio of the share of target leads with the event to that of the other leads.
RATIO = 1.2


def _pick(counts: dict[str, np.ndarray], reached: np.ndarray, k: int) -> list[str]:
    ratio = {}
    for ev, c in counts.items():
        st, so = float((c[reached] > 0).mean()), float((c[~reached] > 0).mean())
        if st > 0.01 and st >= RATIO * so:
            ratio[ev] = st / max(so, 1e-6)
    return sorted(sorted(ratio, key=lambda e: -ratio[e])[:k])


def _class_block(events, counts, codes, ev_names, ev_days, mask, anchor) -> dict[str, Any]:
    bits = np.column_stack([counts[e][mask] > 0 for e in events])
    keys = np.array(["".join("1" if b else "0" for b in row) for row in bits])
    uniq, n = np.unique(keys, return_counts=True)
    block: dict[str, Any] = {
        "patterns": {str(u): round(float(c) / keys.size, 8) for u, c in zip(uniq, n, strict=True)},
        "extra": {},
        "offsets_days": {},
    }
    for e in events:
        c = counts[e][mask]
        block["extra"][e] = round(float(c[c > 0].mean() - 1) if (c > 0).any() else 0.0, 6)
        sel = (ev_names == e) & mask[codes]
        off = ev_days[sel] - anchor[codes[sel]]
        q = np.quantile(off, _QUANTS) if off.size else np.zeros(_QUANTS.size)
        block["offsets_days"][e] = [round(float(x), 4) for x in q]
    return block


def fit_intent(
    journeys: Any, days: dict[str, np.ndarray], target: str, k: int = 12
) -> dict[str, Any] | None:
    """Fit the ``intent:`` block; None without events that mark the target's leads.

    ``days`` are counted from the first arrival day, as in the rest of the fit.
    """
    events = journeys.events
    if events.empty:
        return None
    tgt = days[target.removesuffix("_at")]
    reached = ~np.isnan(tgt)
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
    out: dict[str, Any] = {"events": picked}
    out["target"] = _class_block(
        picked, counts, codes, names, ev_days, reached, np.where(reached, tgt, 0.0)
    )
    out["other"] = _class_block(picked, counts, codes, names, ev_days, ~reached, days["created"])
    out["source"] = (
        f"presence patterns, extra counts and timing of {', '.join(picked)} among the leads "
        f"that reached {target} (timed from it) and the others (timed from arrival)"
    )
    return out
