"""Fit the lead attributes of a twin per outcome class: segment mix, BANT facts, timeline.

Criteria read these attributes next to the events (score points for a segment, BANT gates,
a timeline of at most so many days), so the twin keeps what the data show for each outcome
class (:data:`~qualmodel.simulation.twin_intent.CLASSES`): the segment mix, the share of
leads with a BANT fact known and true, and the timeline's quantiles. Where the data record
when a fact became known as an event (``bant_budget``, ``bant_timeline``, ...), the share
known is kept separately for the leads with and without that event, so that a fact is known
on the twin's leads whose event says so (the criteria time a fact by that event).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from qualmodel.core.errors import ConfigError
from qualmodel.simulation.twin_intent import CLASSES

__all__ = ["MAX_SEGMENT_VALUES", "fit_bant", "fit_segment", "fit_timeline"]

#: Most distinct values of a segment column.
MAX_SEGMENT_VALUES = 50
#: BANT columns and the event that records when each became known.
BANT_EVENTS: dict[str, str] = {
    "budget_confirmed": "bant_budget",
    "authority": "bant_authority",
    "need": "bant_need",
    "timeline_days": "bant_timeline",
}


def shares(counts: np.ndarray, total: int) -> list[float]:
    """Return counts / total rounded to 8 decimals, the last absorbing the rounding (sum 1)."""
    s = np.round(counts / total, 8)
    s[-1] = round(1.0 - float(s[:-1].sum()), 8)
    return [float(x) for x in s]


def fit_segment(journeys: Any, column: str | None, cls: np.ndarray) -> dict[str, Any] | None:
    """Return the ``segment:`` block: the mix of ``column``, overall and per outcome class."""
    if column is None:
        return None
    leads = journeys.leads
    n = journeys.n_leads
    if column not in leads.columns or column.endswith("_at"):
        attrs = [c for c in leads.columns if not c.endswith("_at") and c != "lead_id"]
        raise ConfigError(
            f"segment '{column}': no such lead attribute; use one of {', '.join(attrs[:12])}"
        )
    values = leads[column].astype(object).where(leads[column].notna(), "(missing)").astype(str)
    counts = values.value_counts(sort=False).sort_index()
    if len(counts) < 2 or len(counts) > MAX_SEGMENT_VALUES:
        raise ConfigError(
            f"segment '{column}' has {len(counts):,} distinct value(s); a segment needs 2 to "
            f"{MAX_SEGMENT_VALUES} values — choose a coarser attribute"
        )
    names = counts.index.tolist()
    by_class = {}
    for code, name in enumerate(CLASSES):
        sub = values[cls == code].value_counts().reindex(names, fill_value=0)
        if int(sub.sum()) > 0:
            by_class[name] = dict(zip(names, shares(sub.to_numpy(), int(sub.sum())), strict=True))
    return {
        "column": column,
        "shares": dict(zip(names, shares(counts.to_numpy(), n), strict=True)),
        "by_class": by_class,
        "source": f"share of the {n:,} leads per value of '{column}' (missing as "
        f"'(missing)'), overall and per outcome class",
    }


def _has_event(journeys: Any, event: str) -> np.ndarray | None:
    """Per lead: whether it has ``event`` (None when the data never record it)."""
    if event not in set(journeys.event_names):
        return None
    ev = journeys.events
    codes = ev["lead_id"].cat.codes.to_numpy()[(ev["event"] == event).to_numpy()]
    return np.bincount(codes, minlength=journeys.n_leads) > 0


def _known_split(known: np.ndarray, has: np.ndarray | None, mask: np.ndarray) -> dict:
    if has is None:
        return {}
    out = {}
    for key, sel in (("known_with_event", has & mask), ("known_without_event", ~has & mask)):
        out[key] = round(float(known[sel].mean()), 8) if sel.any() else 0.0
    return out


def _bant_shares(v: pd.Series, has: np.ndarray | None, mask: np.ndarray) -> dict[str, float]:
    known = v.notna().to_numpy()
    sub = v[mask]
    k = sub.notna()
    true = float(sub[k].astype(bool).mean()) if k.any() else 0.0
    return {
        "known_share": round(float(k.mean()), 8),
        "true_share": round(true, 8),
        **_known_split(known, has, mask),
    }


def fit_bant(journeys: Any, cls: np.ndarray) -> dict[str, Any]:
    """Return the ``bant:`` block: per column, shares known and true, overall and per class."""
    leads = journeys.leads
    out = {}
    for col in ("budget_confirmed", "authority", "need"):
        if col not in leads or leads[col].notna().sum() == 0:
            continue
        v = leads[col]
        known = v.notna()
        has = _has_event(journeys, BANT_EVENTS[col])
        spec: dict[str, Any] = {
            "known_share": round(float(known.mean()), 8),
            "true_share": round(float(v[known].astype(bool).mean()), 8),
        }
        if has is not None:
            spec["event"] = BANT_EVENTS[col]
        spec["by_class"] = {
            name: _bant_shares(v, has, cls == code)
            for code, name in enumerate(CLASSES)
            if (cls == code).any()
        }
        spec["source"] = (
            f"share of leads with '{col}' known, and true among them (all; per outcome "
            f"class" + (f"; known with and without '{spec['event']}')" if has is not None else ")")
        )
        out[col] = spec
    return out


def _timeline_spec(v: np.ndarray, has: np.ndarray | None, mask: np.ndarray) -> dict[str, Any]:
    known = np.isfinite(v) & (v >= 0)
    sub = v[mask & known]
    q = np.quantile(sub, np.linspace(0.0, 1.0, 21)) if sub.size else np.zeros(21)
    return {
        "known_share": round(float(known[mask].mean()), 8),
        "quantiles_days": [round(float(x), 4) for x in q],
        **_known_split(known, has, mask),
    }


def fit_timeline(journeys: Any, cls: np.ndarray) -> dict[str, Any] | None:
    """Share of leads with a known BANT timeline and 21 quantiles of it (days), per class."""
    leads = journeys.leads
    if "timeline_days" not in leads:
        return None
    v = pd.to_numeric(leads["timeline_days"], errors="coerce").to_numpy(dtype=np.float64)
    known = np.isfinite(v) & (v >= 0)
    if not known.any():
        return None
    has = _has_event(journeys, BANT_EVENTS["timeline_days"])
    out: dict[str, Any] = {
        "known_share": round(float(known.mean()), 8),
        "quantiles_days": _timeline_spec(v, None, np.ones(v.size, dtype=bool))["quantiles_days"],
    }
    if has is not None:
        out["event"] = BANT_EVENTS["timeline_days"]
    out["by_class"] = {
        name: _timeline_spec(v, has, cls == code)
        for code, name in enumerate(CLASSES)
        if (cls == code).any()
    }
    out["source"] = (
        "share of leads with 'timeline_days' known, and its quantiles among them (all; per "
        "outcome class"
        + (f"; known with and without '{out['event']}')" if has is not None else ")")
    )
    return out
