"""Harrell's concordance in O(n log n), defined and computed as R's ``survival::concordance``.

A pair of observations is **comparable** when one of them, ``i``, has an event at time ``t``
while the other, ``j``, is still at risk then: its follow-up ends later, or at ``t``
censored (a censored time equal to an event time counts as longer, R's convention); for
``(start, stop]`` rows, ``j`` is at risk when ``start_j < t <= stop_j``. The pair is

* **concordant** when the longer-lived ``j`` has the larger score (``reverse=False``; with
  ``reverse=True``, for risk scores such as a Cox linear predictor, when it has the smaller
  one), **discordant** when the order is the other way, **tied in x** when the scores are
  equal;
* **tied in y** (``tied_y``) when both have an event at ``t`` (``tied_xy`` when their
  scores are equal too); such pairs do not enter the concordance.

Each pair counts with weight ``w_i * w_j`` (case weights; R's default ``timewt="n"``), pairs
are formed within strata only and the counts are summed over strata. The concordance is
``(concordant + tied_x / 2) / (concordant + discordant + tied_x)`` and its standard error is
R's infinitesimal jackknife: with ``S = (concordant - discordant) / N`` (Somers' d) and, for
every observation, the weighted counts ``c_k, d_k, t_k`` of the concordant, discordant and
tied-in-x pairs it belongs to, ``dfbeta_k = w_k ((c_k - d_k) / N - S (c_k + d_k + t_k) / N)``
and ``var(C) = sum(dfbeta_k^2) / 4`` (dfbeta summed within clusters first when a cluster is
given).

The counting uses two passes of a binary indexed (Fenwick) tree over the ranks of the score:
one down the event times (each event against the risk set) and one up them (each at-risk row
against the events it is compared with), compiled with numba. Times are compared exactly
(R's ``timefix`` rounding of nearly equal times is not applied).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numba
import numpy as np
import pandas as pd

from qualmodel.core.errors import ConfigError

__all__ = ["Concordance", "concordance"]

#: Columns of the per-observation influence matrix (R's ``influence`` column order).
COUNTS = ("concordant", "discordant", "tied_x", "tied_y", "tied_xy")


@dataclass(frozen=True)
class Concordance:
    """Result of :func:`concordance`.

    Attributes
    ----------
    concordance : float
        Harrell's C.
    std : float
        Its standard error (infinitesimal jackknife, R's ``sqrt(var)``).
    counts : dict
        Weighted pair counts ``concordant``, ``discordant``, ``tied_x``, ``tied_y``,
        ``tied_xy`` (R's ``count``).
    n : int
        Observations (rows).
    rows, sorted_influence : numpy.ndarray
        The per-row pair counts in the engine's order (``sorted_influence[k]`` belongs to
        input row ``rows[k]``, columns as for ``reverse=False``); :attr:`influence` gives
        them in the input's row order and the direction asked for (R's ``influence=2``).
    reverse : bool
        Whether a larger score was taken to predict a shorter time.
    """

    concordance: float
    std: float
    counts: dict[str, float]
    n: int
    rows: np.ndarray = field(repr=False)
    sorted_influence: np.ndarray = field(repr=False)
    reverse: bool = False

    @property
    def influence(self) -> np.ndarray:
        """``n x 5`` weighted pair counts per row (columns as ``counts``), input row order."""
        out = np.empty_like(self.sorted_influence)
        out[self.rows] = self.sorted_influence
        return out[:, [1, 0, 2, 3, 4]] if self.reverse else out

    @property
    def var(self) -> float:
        """Variance of the concordance (``std ** 2``)."""
        return self.std**2


# ------------------------------------------------------------------------ Fenwick kernels
@numba.njit(cache=True)
def _add(tree: np.ndarray, pos: int, value: float) -> None:
    i = pos + 1
    n = tree.shape[0] - 1
    while i <= n:
        tree[i] += value
        i += i & (-i)


@numba.njit(cache=True)
def _below(tree: np.ndarray, pos: int) -> float:
    """Sum of the values at ranks < ``pos``."""
    s = 0.0
    i = pos
    while i > 0:
        s += tree[i]
        i -= i & (-i)
    return s


#: Ranks per block of the two-level counter: a Fenwick tree over blocks (small enough to
#: stay in cache) plus a plain scan inside the block (64: one scan of 512 contiguous bytes).
BLOCK = 64


@numba.njit(cache=True)
def _put(tree: np.ndarray, count: np.ndarray, pos: int, value: float) -> None:
    """Add ``value`` at rank ``pos`` of the two-level counter."""
    _add(tree, pos // BLOCK, value)
    count[pos] += value


@numba.njit(cache=True)
def _less(tree: np.ndarray, count: np.ndarray, pos: int) -> float:
    """Sum of the values at ranks < ``pos`` of the two-level counter."""
    s = _below(tree, pos // BLOCK)
    for r in range(pos - pos % BLOCK, pos):
        s += count[r]
    return s


@numba.njit(cache=True)
def _tied_events(rank, w, infl, tot, scratch):
    """Pairs of events at one time (slices of one tie group): tied in y, or in x and y.

    ``scratch`` is a zeroed array over the ranks, returned zeroed.
    """
    group_w = 0.0
    for d in range(rank.shape[0]):
        group_w += w[d]
        scratch[rank[d]] += w[d]
    for d in range(rank.shape[0]):
        same_w = scratch[rank[d]]
        infl[d, 3] += group_w - same_w
        infl[d, 4] += same_w - w[d]
        tot[3] += w[d] * (group_w - same_w) / 2.0
        tot[4] += w[d] * (same_w - w[d]) / 2.0
    for d in range(rank.shape[0]):
        scratch[rank[d]] = 0.0


@numba.njit(cache=True, nogil=True)
def _events_against_risk_set(stop, status, rank, w, nrank, leave, leave_start, infl):
    """Pass down the event times: each event against the rows at risk; return the totals.

    The rows come sorted by time descending, censored rows before events at the same time
    (so an event's risk set is every row before its tie group). ``leave`` holds the
    positions of rows with an entry time, by entry time descending (``leave_start``); a row
    leaves the risk set once the event times reach its entry.
    """
    n = stop.shape[0]
    tree = np.zeros(nrank // BLOCK + 2)
    count = np.zeros(nrank)
    total = 0.0
    tot = np.zeros(5)
    scratch = np.zeros(nrank)
    ia = 0
    ir = 0
    k = 0
    while k < n:
        if not status[k]:
            k += 1
            continue
        t = stop[k]
        while ia < k:  # rows before the tie group: later times, or censored at t
            _put(tree, count, rank[ia], w[ia])
            total += w[ia]
            ia += 1
        while ir < leave.shape[0] and leave_start[ir] >= t:
            r = leave[ir]  # entered at or after t: not at risk at t (added above, as stop > t)
            _put(tree, count, rank[r], -w[r])
            total -= w[r]
            ir += 1
        m = k
        while m < n and stop[m] == t:
            m += 1
        for d in range(k, m):
            less = _less(tree, count, rank[d])
            equal = count[rank[d]]
            greater = total - less - equal
            infl[d, 0] += greater
            infl[d, 1] += less
            infl[d, 2] += equal
            tot[0] += w[d] * greater
            tot[1] += w[d] * less
            tot[2] += w[d] * equal
        if m - k > 1:
            _tied_events(rank[k:m], w[k:m], infl[k:m], tot, scratch)
        k = m
    return tot


@numba.njit(cache=True, nogil=True)
def _risk_rows_against_events(q_rank, q_sign, q_before, ev_rank, ev_w, nrank, out):
    """Pass up the event times: each at-risk row against the events it is compared with.

    Queries come in order; query ``i`` counts, with sign ``q_sign[i]``, the first
    ``q_before[i]`` events (time ascending) by their score relative to ``q_rank[i]``.
    """
    tree = np.zeros(nrank // BLOCK + 2)
    count = np.zeros(nrank)
    total = 0.0
    ie = 0
    for qi in range(q_rank.shape[0]):
        while ie < q_before[qi]:
            _put(tree, count, ev_rank[ie], ev_w[ie])
            total += ev_w[ie]
            ie += 1
        less = _less(tree, count, q_rank[qi])
        equal = count[q_rank[qi]]
        # the row outlives the event: a smaller event score is concordant
        out[qi, 0] += q_sign[qi] * less
        out[qi, 1] += q_sign[qi] * (total - less - equal)
        out[qi, 2] += q_sign[qi] * equal


@numba.njit(cache=True, nogil=True)
def _up_queries(u_stop, u_status, u_rank, u_w):
    """Events (ranks, weights) in time order, and how many of them each row meets.

    Rows come by time ascending, events before censored rows at the same time. A censored
    row meets the events at or before its time (all earlier in this order); an event row
    those strictly before its time (the events before its tie group).
    """
    n = u_stop.shape[0]
    n_ev = 0
    for i in range(n):
        n_ev += u_status[i]
    ev_rank = np.empty(n_ev, dtype=u_rank.dtype)
    ev_w = np.empty(n_ev)
    before = np.empty(n, dtype=np.int64)
    seen = 0
    group_seen = 0
    for i in range(n):
        if i == 0 or u_stop[i] != u_stop[i - 1]:
            group_seen = seen
        if u_status[i]:
            before[i] = group_seen
            ev_rank[seen] = u_rank[i]
            ev_w[seen] = u_w[i]
            seen += 1
        else:
            before[i] = seen
    return ev_rank, ev_w, before


@numba.njit(cache=True, nogil=True)
def _jackknife_terms(w, infl, npair, somer):
    """Per-row dfbeta of Somers' d (R's infinitesimal jackknife) and their sum of squares."""
    n = w.shape[0]
    dfbeta = np.empty(n)
    total = 0.0
    for k in range(n):
        pairs = infl[k, 0] + infl[k, 1] + infl[k, 2]
        d = w[k] * ((infl[k, 0] - infl[k, 1]) / npair - somer / npair * pairs)
        dfbeta[k] = d
        total += d * d
    return dfbeta, total


@numba.njit(cache=True, nogil=True)
def _ranks_in_order(values, order):
    """Dense ranks of ``values`` given their ascending ``order`` (one pass)."""
    ranks = np.empty(values.shape[0], dtype=np.int64)
    r = 0
    prev = values[order[0]] if order.shape[0] else 0.0
    for i in range(order.shape[0]):
        v = values[order[i]]
        if v != prev:
            r += 1
            prev = v
        ranks[order[i]] = r
    return ranks


def _dense_ranks(values: np.ndarray) -> np.ndarray:
    """Dense ranks 0..k-1 of ``values`` (equal values share a rank)."""
    # stability does not matter: equal values share a rank
    return _ranks_in_order(values, np.argsort(values))


@numba.njit(cache=True, nogil=True)
def _down_gather(trank, status, stop, rank, w):
    """Rows by time rank descending, censored before events at the same time, gathered.

    A counting sort on ``(last - trank) * 2 + status``; returns the order and the stop
    times, event flags, score ranks and weights in that order.
    """
    n = trank.shape[0]
    last = 0
    for i in range(n):
        last = max(last, trank[i])
    nkeys = 2 * (last + 1)
    start = np.zeros(nkeys + 1, dtype=np.int64)
    for i in range(n):
        start[(last - trank[i]) * 2 + status[i] + 1] += 1
    for k in range(nkeys):
        start[k + 1] += start[k]
    down = np.empty(n, dtype=np.int64)
    for i in range(n):
        key = (last - trank[i]) * 2 + status[i]
        down[start[key]] = i
        start[key] += 1
    d_stop = np.empty(n)
    d_status = np.empty(n, dtype=np.bool_)
    d_rank = np.empty(n, dtype=np.int64)
    d_w = np.empty(n)
    for j in range(n):
        i = down[j]
        d_stop[j] = stop[i]
        d_status[j] = status[i]
        d_rank[j] = rank[i]
        d_w[j] = w[i]
    return down, d_stop, d_status, d_rank, d_w


def _stratum_counts(start, stop, trank, status, rank, w, nrank, pool):
    """Totals, per-row influence and its row order for one stratum (arrays of that stratum)."""
    n = stop.shape[0]
    down, d_stop, d_status, d_rank, d_w = _down_gather(trank, status, stop, rank, w)
    entry = np.isfinite(start)
    if entry.any():
        pos = np.empty(n, dtype=np.int64)
        pos[down] = np.arange(n)
        rows = np.flatnonzero(entry)
        rows = rows[np.argsort(-start[rows], kind="stable")]
        leave, leave_start = pos[rows], start[rows]
    else:
        leave, leave_start = np.empty(0, np.int64), np.empty(0)
    d_infl = np.zeros((n, 5))
    pass_a = pool.submit(
        _events_against_risk_set, d_stop, d_status, d_rank, d_w, nrank, leave, leave_start, d_infl
    )
    # up the times: events before censored rows at the same time
    u_stop, u_status = d_stop[::-1], d_status[::-1]
    ev_rank, ev_w, before = _up_queries(u_stop, u_status, d_rank[::-1], d_w[::-1])
    if not entry.any():
        out = np.zeros((n, 3))
        _risk_rows_against_events(d_rank[::-1], np.ones(n), before, ev_rank, ev_w, nrank, out)
        tot = pass_a.result()
        d_infl[::-1, :3] += out
    else:  # each row also subtracts the events at or before its entry time
        rows = np.flatnonzero(entry[down])
        ev_t = u_stop[u_status]
        q_rank = np.concatenate([d_rank[::-1], d_rank[rows]])
        q_sign = np.concatenate([np.ones(n), -np.ones(rows.shape[0])])
        q_row = np.concatenate([np.arange(n)[::-1], rows])
        before = np.concatenate([before, np.searchsorted(ev_t, start[down][rows], side="right")])
        order = np.argsort(before, kind="stable")
        out = np.zeros((q_rank.shape[0], 3))
        _risk_rows_against_events(
            q_rank[order], q_sign[order], before[order], ev_rank, ev_w, nrank, out
        )
        tot = pass_a.result()
        np.add.at(d_infl, (q_row[order][:, None], np.arange(3)[None, :]), out)
    return tot, d_infl, down


def _as_array(name: str, values, n: int | None, dtype=np.float64) -> np.ndarray:
    arr = np.asarray(values, dtype=dtype)
    if arr.ndim != 1:
        raise ConfigError(f"concordance: {name} must be one-dimensional, got shape {arr.shape}")
    if n is not None and arr.shape[0] != n:
        raise ConfigError(
            f"concordance: {name} has {arr.shape[0]} values but time has {n}; pass one per row"
        )
    return arr


def _codes(name: str, values, n: int) -> np.ndarray:
    """Integer codes 0..k-1 of a grouping (strata or cluster) with one value per row."""
    arr = np.asarray(values)
    if arr.ndim != 1 or arr.shape[0] != n:
        raise ConfigError(f"concordance: {name} must hold one value per row ({n})")
    codes = pd.factorize(arr, use_na_sentinel=False)[0]
    return codes.astype(np.int64)


def _checked(time, event, score, weights, start):
    t = _as_array("time", time, None)
    n = t.shape[0]
    x = _as_array("score", score, n)
    ev = _as_array("event", event, n)
    w = np.ones(n) if weights is None else _as_array("weights", weights, n)
    s = np.full(n, -np.inf) if start is None else _as_array("start", start, n)
    for name, arr in (("time", t), ("score", x), ("event", ev), ("weights", w)):
        bad = ~np.isfinite(arr)
        if bad.any():
            raise ConfigError(
                f"concordance: {name} has {int(bad.sum())} missing or infinite value(s) (first "
                f"at row {int(np.flatnonzero(bad)[0])}); drop those rows or fill them"
            )
    if not np.isin(ev, (0, 1)).all():
        raise ConfigError("concordance: event must be 0 (censored) or 1 (event); code others 0")
    if (w <= 0).any():
        raise ConfigError("concordance: weights must be > 0; drop rows of weight 0")
    if start is not None and not (np.isnan(s) | (s < t)).all():
        raise ConfigError("concordance: start must lie below time on every row")
    return t, ev.astype(bool), x, w, np.where(np.isnan(s), -np.inf, s)


def concordance(
    time,
    event,
    score,
    *,
    weights=None,
    strata=None,
    start=None,
    cluster=None,
    reverse: bool = False,
) -> Concordance:
    """Harrell's concordance of ``score`` with the time to event, as R's ``concordance``.

    Parameters
    ----------
    time : array-like
        Follow-up time (the ``stop`` of ``(start, stop]`` rows).
    event : array-like of 0/1
        1 = the event happened at ``time``; 0 = censored (code competing outcomes 0).
    score : array-like
        The prediction. By default a larger score predicts a *longer* time (R's default);
        pass ``reverse=True`` for risk scores (a Cox or Fine–Gray linear predictor).
    weights : array-like, optional
        Case weights (> 0); a pair counts ``w_i * w_j``.
    strata : array-like, optional
        Pairs are formed within strata only; counts are summed over strata.
    start : array-like, optional
        Entry times of ``(start, stop]`` rows (counting-process data).
    cluster : array-like, optional
        Cluster ids: the jackknife sums the influence within clusters (several rows of one
        lead).
    reverse : bool, default False
        Whether a larger score predicts a shorter time.

    Returns
    -------
    Concordance
        ``concordance``, ``std``, ``counts`` and per-row ``influence``.

    Raises
    ------
    ConfigError
        Mismatched lengths, missing or non-finite values, event codes other than 0/1,
        non-positive weights, no event, or no comparable pair with distinct scores (all
        scores equal).
    """
    t, ev, x, w, s = _checked(time, event, score, weights, start)
    n = t.shape[0]
    if not ev.any():
        raise ConfigError("concordance: no event in the data; nothing to compare")
    with ThreadPoolExecutor(max_workers=2) as pool:  # the sorts and passes release the GIL
        ranks = pool.submit(_dense_ranks, x)
        trank = _dense_ranks(t)
        rank = ranks.result()
        nrank = int(rank.max()) + 1
        if strata is None:
            tot, infl, rows = _stratum_counts(s, t, trank, ev, rank, w, nrank, pool)
        else:
            tot, infl, rows = _over_strata(s, t, trank, ev, rank, w, nrank, strata, pool)
    return _result(tot, infl, rows, w[rows], cluster, reverse, n)


def _over_strata(s, t, trank, ev, rank, w, nrank, strata, pool):
    """Pair totals summed over strata, with the influence and row order of every stratum."""
    codes = _codes("strata", strata, t.shape[0])
    tot = np.zeros(5)
    parts, rows = [], []
    for idx in np.split(np.argsort(codes, kind="stable"), np.cumsum(np.bincount(codes))[:-1]):
        sub = (s[idx], t[idx], trank[idx], ev[idx], rank[idx], w[idx])
        part_tot, part, order = _stratum_counts(*sub, nrank, pool)
        tot += part_tot
        parts.append(part)
        rows.append(idx[order])
    return tot, np.concatenate(parts), np.concatenate(rows)


def _result(tot, infl, rows, w, cluster, reverse: bool, n: int) -> Concordance:
    """C and its jackknife SE from the totals and the per-row counts (in ``rows`` order)."""
    npair = tot[0] + tot[1] + tot[2]
    if npair <= 0 or tot[0] + tot[1] <= 0:
        raise ConfigError(
            "concordance: no comparable pair with distinct scores (all scores equal, or no "
            "lead at risk after an event); the concordance is undefined"
        )
    somer = (tot[0] - tot[1]) / npair
    dfbeta, squares = _jackknife_terms(w, infl, float(npair), float(somer))
    if cluster is not None:
        dfbeta = np.bincount(_codes("cluster", cluster, n)[rows], weights=dfbeta)
        squares = float(np.sum(dfbeta**2))
    std = float(np.sqrt(squares / 4))
    c = (somer + 1) / 2
    if reverse:  # the influence is swapped when asked for (Concordance.influence)
        c = 1 - c
        tot = tot[[1, 0, 2, 3, 4]]
    counts = dict(zip(COUNTS, map(float, tot), strict=True))
    return Concordance(float(c), std, counts, n, rows, infl, reverse)
