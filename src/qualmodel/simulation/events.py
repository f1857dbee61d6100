"""Event streams of the simulator: background touchpoints merged with the signals.

The per-event work (times from exponential gaps, the merge with the small stream of
signal events, types by inverse CDF) runs in blocks of :data:`BLOCK_LEADS` leads, each
block in one compiled pass (numba) over its events that does the same floating-point
operations in the same order as the array formulation it replaced (the output of a seed is
unchanged); the draws themselves are made in the order that fixes the output of a seed.
"""

from __future__ import annotations

import numba
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


@numba.njit(cache=True, nogil=True)
def _merge_seconds(gaps, counts, start, span, base0, limit, lead0, sig, out, is_sig):
    """Event seconds of one block of leads, merged with the block's signals, in one pass.

    ``gaps`` holds, lead after lead, ``count + 1`` exponential gaps each, with the running
    sum of all earlier blocks already added to its first element; it becomes the running
    sum in place (so the sums are exactly those of one global cumulative sum). ``base0`` is
    that sum before the block's first lead. A lead's event seconds are
    ``floor((sum − base) · span·86,400 / length + start·86,400)`` capped at ``limit``: the
    same floating-point operations, in the same order, as the array formulation. The
    signals ``sig = (lead, second, type code, value)`` go after background events with an
    equal (lead, second) key; ``out = (lead, second, type, value)`` receives both (type
    left for :func:`_fill_types`, value NaN for background events) and ``is_sig`` marks
    the signals.
    """
    s_lead, s_sec = sig[0], sig[1]
    o_lead, o_sec, o_val = out[0], out[1], out[3]
    n_sig = s_lead.shape[0]
    acc = 0.0
    g = 0
    j = 0
    o = 0
    base = base0
    for i in range(counts.shape[0]):
        lead = lead0 + i
        first = g
        for k in range(counts[i] + 1):
            acc += gaps[first + k]
            gaps[first + k] = acc
        g = first + counts[i] + 1
        end = gaps[g - 1]
        scale = span[i] * 86400.0 / (end - base)
        shift = start[i] * 86400.0
        for k in range(counts[i]):
            x = gaps[first + k] - base
            x *= scale
            x += shift
            x = np.floor(x)
            sec = np.int64(min(x, limit))
            while j < n_sig and (s_lead[j] < lead or (s_lead[j] == lead and s_sec[j] < sec)):
                _put_signal(sig, j, out, is_sig, o)
                j += 1
                o += 1
            o_lead[o], o_sec[o], o_val[o], is_sig[o] = lead, sec, np.nan, False
            o += 1
        base = end
    while j < n_sig:
        _put_signal(sig, j, out, is_sig, o)
        j += 1
        o += 1


@numba.njit(cache=True, nogil=True)
def _put_signal(sig, j, out, is_sig, o):
    """Copy signal ``j`` (lead, second, type code, value) to output row ``o``."""
    out[0][o] = sig[0][j]
    out[1][o] = sig[1][j]
    out[2][o] = sig[2][j]
    out[3][o] = sig[3][j]
    is_sig[o] = True


@numba.njit(cache=True, nogil=True)
def _fill_types(rates, total, counts, u, is_sig, type_codes, out_type):
    """Background event types of one block by inverse CDF over each lead's rate shares.

    A lead's cumulative rate shares are summed in float64, divided by its total rate (1
    where the total is 0) and rounded to float32; an event's type is the number of shares
    its float32 uniform exceeds (the last share is never compared). Types go to the rows
    of ``out_type`` that ``is_sig`` does not mark, in order.
    """
    n_types = rates.shape[1]
    cum32 = np.empty(n_types, dtype=np.float32)
    e = 0
    o = 0
    for i in range(counts.shape[0]):
        acc = 0.0
        for t in range(n_types):
            acc += rates[i, t]
            cum32[t] = np.float32(acc / total[i]) if total[i] > 0 else np.float32(1.0)
        for _ in range(counts[i]):
            ui = u[e]
            kind = 0
            for t in range(n_types - 1):
                if ui > cum32[t]:
                    kind += 1
            while is_sig[o]:
                o += 1
            out_type[o] = type_codes[kind]
            o += 1
            e += 1


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
        part = tuple(col[e0 + s0 : e1 + s1] for col in out)
        sig = tuple(col[s0:s1] for col in signals[:2]) + (type_codes[signals[2][s0:s1]],)
        _merge_seconds(
            gaps, counts[l0:l1], start[l0:l1], span[l0:l1], carry, limit, l0,
            (*sig, signals[3][s0:s1]), part, is_sig[e0 + s0 : e1 + s1],
        )  # fmt: skip
        carry = float(gaps[-1])
    for l0, l1, e0, e1, s0, s1 in blocks:  # types, after all the gaps
        u = rng.random(e1 - e0, dtype=np.float32)
        sl = slice(e0 + s0, e1 + s1)
        _fill_types(
            rates[l0:l1], total[l0:l1], counts[l0:l1], u, is_sig[sl], type_codes, out[2][sl]
        )
    return out


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
