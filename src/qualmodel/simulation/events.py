"""Event streams of the simulator: background touchpoints merged with the signals.

The per-event work (times from exponential gaps, types by inverse CDF, the merge with
the small stream of signal events, the events table) runs in blocks of
:data:`BLOCK_LEADS` leads, so its temporaries stay small and its cost is linear in the
events; the draws themselves are made for all leads at once, in the order that fixes
the output of a seed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = [
    "BLOCK_LEADS",
    "background_events",
    "events_table",
    "sorted_signals",
    "type_codes",
]

_DAY_S = 86_400
_NS = 1_000_000_000


#: Leads per block of the event generation: the per-event work runs block by block so
#: that its temporaries stay in cache and the cost grows linearly with the leads.
BLOCK_LEADS = 1 << 15


def _blocks(n: int, size: int) -> range:
    return range(0, n, max(int(size), 1))


def _block_seconds(
    gaps: np.ndarray, counts: np.ndarray, start: np.ndarray, span: np.ndarray, base0: float
) -> np.ndarray:
    """Event seconds of one block of leads from its slice of the exponential gaps.

    ``gaps`` holds, lead after lead, ``count + 1`` gaps each, with the running sum of all
    earlier blocks already added to its first element; it is turned into the running sum
    in place (so the sums are exactly those of one global cumulative sum). ``base0`` is
    the running sum before the block's first lead (0 for the very first lead).
    """
    np.cumsum(gaps, out=gaps)
    end = np.cumsum(counts + 1) - 1  # each lead's extra (last) gap
    base = np.empty(counts.shape[0])
    base[0] = base0
    base[1:] = gaps[end[:-1]]
    scale = span * _DAY_S / (gaps[end] - base)
    keep = np.ones(gaps.shape[0], dtype=bool)
    keep[end] = False
    rel = gaps[keep]
    # seconds = start + (gap sums - base) * span / length; start + x >= start in floats
    rel -= np.repeat(base, counts)
    rel *= np.repeat(scale, counts)
    rel += np.repeat(start * _DAY_S, counts)
    np.floor(rel, out=rel)
    return rel


def _block_types(rates: np.ndarray, total: np.ndarray, counts: np.ndarray, u: np.ndarray):
    """Event types of one block by inverse CDF over the per-lead cumulative rate shares."""
    cum = np.cumsum(rates, axis=1)
    cum = np.divide(cum, total[:, None], out=np.ones_like(cum), where=total[:, None] > 0)
    cum32 = cum.astype(np.float32)
    types = np.zeros(u.shape[0], dtype=np.int16)
    for j in range(rates.shape[1] - 1):
        types += u > np.repeat(cum32[:, j], counts)
    return types


def background_events(
    rng: np.random.Generator,
    rates: np.ndarray,
    start: np.ndarray,
    cutoff: float,
    signals: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    type_codes: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Superposed Poisson processes per lead, merged with the signals, in (lead, time) order.

    Per lead the count is Poisson(Σ rates · (cutoff − start)); given the count, sorted
    event times are the normalised cumulative sums of ``count + 1`` exponential gaps
    (order statistics of uniforms), and each event's type is drawn with probability
    proportional to its rate. Draw order: the counts of all leads, then the gaps of all
    leads, then the type uniforms of all events; the gaps and uniforms are drawn block by
    block of :data:`BLOCK_LEADS` leads (the same numbers as drawing them at once), and
    each block's arithmetic and merge run on the block alone.

    Parameters
    ----------
    rng : numpy.random.Generator
    rates : numpy.ndarray
        ``(n_leads, n_types)`` rates per day.
    start : numpy.ndarray
        Start of each lead's process (days since window start).
    cutoff : float
        End of every process (days since window start).
    signals : tuple of numpy.ndarray
        The signal events sorted by (lead, second): lead code, second, type, value; on
        equal keys a signal goes after the background events.
    type_codes : numpy.ndarray
        Output code of each type index (background types, then the signals' types); its
        dtype is the dtype of the returned codes.

    Returns
    -------
    codes, sec, types, values : numpy.ndarray
        Lead row (int32), whole seconds since window start (int64), type code (dtype of
        ``type_codes``) and value (NaN for background events).
    """
    n = rates.shape[0]
    span = cutoff - start
    total = rates.sum(axis=1)
    counts = rng.poisson(total * span)
    ev_off = np.concatenate(([0], np.cumsum(counts)))
    size = int(ev_off[-1]) + signals[0].shape[0]
    out = (np.empty(size, np.int32), np.empty(size, np.int64), np.empty(size, type_codes.dtype))
    out = (*out, np.empty(size))
    is_sig = np.empty(size, dtype=bool)
    edges = np.arange(0, n + BLOCK_LEADS, BLOCK_LEADS).clip(max=n)
    sig_off = np.searchsorted(signals[0], edges)
    blocks = [
        (int(l0), int(l1), int(ev_off[l0]), int(ev_off[l1]), int(s0), int(s1))
        for l0, l1, s0, s1 in zip(edges[:-1], edges[1:], sig_off[:-1], sig_off[1:], strict=True)
    ]
    limit, carry = np.floor(cutoff * _DAY_S), 0.0
    for l0, l1, e0, e1, s0, s1 in blocks:  # times and the merge
        gaps = rng.standard_exponential(e1 - e0 + l1 - l0)
        gaps[0] += carry
        rel = _block_seconds(gaps, counts[l0:l1], start[l0:l1], span[l0:l1], carry)
        carry = float(gaps[-1])
        np.minimum(rel, limit, out=rel)
        a_cols = (np.repeat(np.arange(l0, l1, dtype=np.int32), counts[l0:l1]), rel.astype(np.int64))
        b_cols = [col[s0:s1] for col in signals]
        _merge_block(a_cols, b_cols, out, is_sig[e0 + s0 : e1 + s1], e0 + s0, type_codes)
    for l0, l1, e0, e1, s0, s1 in blocks:  # types, after all the gaps
        u = rng.random(e1 - e0, dtype=np.float32)
        types = _block_types(rates[l0:l1], total[l0:l1], counts[l0:l1], u)
        part = out[2][e0 + s0 : e1 + s1]
        part[~is_sig[e0 + s0 : e1 + s1]] = type_codes[types]
    return out


def _merge_block(
    a_cols: tuple[np.ndarray, np.ndarray],
    b_cols: list[np.ndarray],
    out: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    is_sig: np.ndarray,
    offset: int,
    type_codes: np.ndarray,
) -> None:
    """Merge one block's background events ``a`` and signals ``b`` into ``out[offset:]``.

    Both are sorted by (lead, second); on equal keys ``b`` goes after ``a``. Writes lead
    codes and seconds of both, the signals' types and values (NaN for ``a``) and marks the
    signals' places in ``is_sig``.
    """
    n_a, n_b = a_cols[0].shape[0], b_cols[0].shape[0]
    key_a = a_cols[0].astype(np.int64)
    key_a <<= 32
    key_a |= a_cols[1]
    key_b = (b_cols[0].astype(np.int64) << 32) | b_cols[1]
    pos_b = np.searchsorted(key_a, key_b, side="right") + np.arange(n_b)
    is_sig[:] = False
    is_sig[pos_b] = True
    is_a = ~is_sig
    for col, a, b in zip(out[:2], a_cols, b_cols[:2], strict=True):
        part = col[offset : offset + n_a + n_b]
        part[is_a] = a
        part[pos_b] = b
    out[2][offset + pos_b] = type_codes[b_cols[2]]
    values = out[3][offset : offset + n_a + n_b]
    values[is_a] = np.nan
    values[pos_b] = b_cols[3]


def type_codes(all_names: list[str]) -> np.ndarray:
    """Category code (position in the sorted names) of each type index, int8 when it fits."""
    ordered = sorted(all_names)
    small = np.int8 if len(all_names) < 127 else np.int16
    return np.array([ordered.index(x) for x in all_names], dtype=small)


def sorted_signals(
    parts: tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray], list[np.ndarray]],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Sort the small signal stream by (lead, second).

    Parameters
    ----------
    parts : tuple of lists of numpy.ndarray
        Per signal kind: lead codes, times (days since window start), type codes, values.

    Returns
    -------
    codes, sec, types, values : numpy.ndarray
        Lead code (int32), whole second (int64), type (int16), value (float64); stable
        order on equal keys.
    """
    b_codes, b_t, b_type, b_val = parts
    bc = np.concatenate(b_codes).astype(np.int64)
    b_sec = np.floor(np.concatenate(b_t) * _DAY_S).astype(np.int64)
    order = np.argsort((bc << 32) | b_sec, kind="stable")
    return (
        bc[order].astype(np.int32),
        b_sec[order],
        np.concatenate(b_type)[order],
        np.concatenate(b_val)[order],
    )


def _categorical_dtype(categories: pd.Index) -> pd.CategoricalDtype:
    """Categorical dtype over categories known to be unique (skips the O(n) hash check)."""
    fast = getattr(pd.CategoricalDtype, "_from_fastpath", None)
    if fast is not None:
        try:
            return fast(categories, False)
        except TypeError:  # pragma: no cover - other pandas signature
            pass
    return pd.CategoricalDtype(categories)  # pragma: no cover


def _to_datetime_inplace(sec: np.ndarray, start_ns: int) -> np.ndarray:
    """Whole seconds since ``start_ns`` → datetime64[ns], reusing the int64 buffer."""
    sec *= _NS
    sec += start_ns
    return sec.view("datetime64[ns]")


def _known_unique(index: pd.Index) -> pd.Index:
    """Mark an index of unique, non-missing ids as such (pandas then skips hashing it).

    The simulator's lead ids are unique by construction; pandas would otherwise hash all
    of them (superlinear in the leads) each time a categorical dtype over them is made.
    """
    cache = getattr(index, "_cache", None)
    if isinstance(cache, dict):
        cache.update(is_unique=True, hasnans=False)
    return index


def events_table(
    merged: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    index: pd.Index,
    all_names: list[str],
    start_ns: int,
) -> pd.DataFrame:
    """Build the events table from merged lead codes, seconds, type codes and values.

    Parameters
    ----------
    merged : tuple of numpy.ndarray
        Output of :func:`background_events` (type codes from :func:`type_codes`); the
        seconds buffer becomes the timestamps.
    index : pandas.Index
        The lead ids (unique by construction), categories of ``lead_id``.
    all_names : list of str
        Event names; the categories are their sorted order.
    start_ns : int
        Window start (ns since the epoch).

    Returns
    -------
    pandas.DataFrame
        ``lead_id`` and ``event`` categoricals built from codes, ``ts``, ``value``.
    """
    codes, secs, types, vals = merged
    return pd.DataFrame(
        {
            "lead_id": pd.Categorical.from_codes(
                codes, dtype=_categorical_dtype(_known_unique(index)), validate=False
            ),
            "ts": _to_datetime_inplace(secs, start_ns),
            "event": pd.Categorical.from_codes(
                types, dtype=pd.CategoricalDtype(sorted(all_names)), validate=False
            ),
            "value": vals,
        },
        copy=False,
    )
