"""Array kernels of the criteria engine: segmented sums, per-lead bisection and firsts.

Events are sorted by lead, then time; "segments" are the rows of one lead. The numba
kernels do integer work only (or compare as numpy compares), so their results equal the
numpy formulations they replace.
"""

from __future__ import annotations

import numba
import numpy as np
import pandas as pd

__all__ = ["bisect_ranges", "first_after", "first_per_lead", "kth_recent_scan", "seg_cumsum"]


def seg_cumsum(values: np.ndarray, labels: np.ndarray, ngroups: int) -> np.ndarray:
    """Cumulative sum restarting at every new label (labels sorted, intp)."""
    if len(values) == 0:
        return values.astype(np.float64)
    try:  # pandas' Cython kernel: compensated, no factorisation
        from pandas._libs.groupby import group_cumsum

        out = np.empty((len(values), 1), dtype=np.float64)
        group_cumsum(
            out,
            np.ascontiguousarray(values, dtype=np.float64).reshape(-1, 1),
            labels,
            ngroups,
            False,
            True,
        )
        return out[:, 0]
    except (ImportError, TypeError, ValueError):  # pragma: no cover - private API moved
        s = pd.Series(values, dtype=np.float64)
        return s.groupby(labels, sort=False).cumsum().to_numpy()


def first_after(
    ts: np.ndarray, lo: np.ndarray, hi: np.ndarray, t: np.ndarray, strict: bool = True
) -> np.ndarray:
    """Vectorized bisection: first index in ``[lo, hi)`` with ``ts > t`` (``≥`` if not strict).

    ``ts`` must be sorted within every ``[lo, hi)`` range; returns ``hi`` when none.
    """
    lo = np.asarray(lo, dtype=np.intp)
    if len(ts) == 0 or len(lo) == 0:
        return lo.copy()
    hi = np.asarray(hi, dtype=np.intp)
    # t keeps its dtype: a float bound compares as numpy compares int64 with float64
    t = np.ascontiguousarray(np.broadcast_to(np.asarray(t), lo.shape))
    return bisect_ranges(ts, lo, hi, t, strict)


@numba.njit(cache=True)
def bisect_ranges(ts, lo, hi, t, strict):
    """Per range ``[lo_i, hi_i)``: first index with ``ts > t_i`` (``≥`` if not strict)."""
    out = np.empty(lo.shape[0], dtype=np.intp)
    for i in range(lo.shape[0]):
        a, b = lo[i], hi[i]
        while a < b:
            mid = (a + b) >> 1
            if ts[mid] <= t[i] if strict else ts[mid] < t[i]:
                a = mid + 1
            else:
                b = mid
        out[i] = a
    return out


def first_per_lead(rows: np.ndarray, codes: np.ndarray, values: np.ndarray, n_leads: int):
    """Return the first of the sorted row indices ``rows`` per lead, as (leads, values)."""
    if len(rows) == 0:
        return np.empty(0, dtype=np.intp), values[:0]
    lead = codes[rows]
    first = np.ones(len(rows), dtype=bool)
    first[1:] = lead[1:] != lead[:-1]
    return lead[first], values[rows[first]]


@numba.njit(cache=True)
def kth_recent_scan(mask, codes, ts, k):
    """Per row: ts of the k-th most recent masked row of the same lead at or before it.

    One pass; masked row positions are kept in order of appearance. ``int64 min`` when the
    lead has fewer than ``k`` such rows so far.
    """
    n = mask.shape[0]
    never = np.iinfo(np.int64).min
    out = np.empty(n, dtype=np.int64)
    pos = np.empty(n, dtype=np.int64)
    seen = 0
    for i in range(n):
        if mask[i]:
            pos[seen] = i
            seen += 1
        m = seen - k
        if m >= 0 and codes[pos[m]] == codes[i]:
            out[i] = ts[pos[m]]
        else:
            out[i] = never
    return out
