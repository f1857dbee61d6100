"""Cox partial-likelihood engine on sorted cumulative sums (numpy only).

Every subject ``i`` is at risk on a contiguous range ``[lo_i, hi_i)`` of the **event
groups** (distinct event times of its stratum, ordered by stratum then time). Risk-set sums
at every group are then reverse cumulative sums of ``np.bincount`` arrays, the Hessian is
one weighted cross product ``Xᵀ diag(a) X`` (the weight ``a_i`` collects the group
contributions over the subject's range), so a Newton step costs O(n·p²) time and O(n·p)
memory with no loop over times. Right-censored data, counting-process ``(start, stop]``
rows, strata, case weights, Efron or Breslow ties, and (for Fine–Gray) a *tail*: rows that
stay in later risk sets with a group-dependent weight ``tail_weight_i · group_mult_k``.

The iteration reproduces R ``coxph`` (``coxfit6``/``agfit4``): start at β = 0, Newton
steps with step halving when the log-likelihood drops, convergence when
``|1 − ℓ_old/ℓ_new| ≤ eps`` (``eps = 1e-9``, at most ``iter_max = 20`` steps), and the
variance at the returned β. Same iterates → the same estimates as R to rounding.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

__all__ = ["CoxProblem", "CoxResult", "fit_cox", "prepare"]

#: R ``coxph.control()`` defaults.
EPS = 1e-9
ITER_MAX = 20
TOLER_INF = float(np.sqrt(EPS))


@dataclass
class CoxProblem:
    """Data of a Cox fit, indexed for the cumulative-sum passes (see :func:`prepare`)."""

    x: np.ndarray  # (n, p) centred covariates
    w: np.ndarray  # case weights
    lo: np.ndarray  # first event group at risk
    hi: np.ndarray  # one past the last event group at risk
    ev: np.ndarray  # bool, row is an event
    grp: np.ndarray  # event group of each event row (ev rows only)
    n_groups: int
    step_group: np.ndarray  # Efron/Breslow step -> group
    step_frac: np.ndarray  # l / d of the step (0 for Breslow)
    step_mw: np.ndarray  # weight of the step (mean death weight; Breslow: total)
    group_stratum: np.ndarray
    group_time: np.ndarray
    tail: np.ndarray | None = None  # bool: row stays at risk after hi with weights
    tail_hi: np.ndarray | None = None  # one past the last tail group
    tail_weight: np.ndarray | None = None  # 1 / G(T_i-)
    group_mult: np.ndarray | None = None  # G(t_k-)
    order: np.ndarray | None = None  # rows of the input in the problem's order
    blocks: np.ndarray | None = None  # first row of each run of equal hi
    hi_pos: np.ndarray | None = None  # first sorted row with hi > k, per group k
    has_lo: bool = True  # some row enters after the first group of its stratum
    plain_steps: bool = False  # one step per group, no Efron fractions
    ev_start: np.ndarray | None = None  # first event row (in event order) of each group
    wx_events: np.ndarray | None = None  # Σ over events of w·x


@dataclass
class CoxResult:
    """Estimates of :func:`fit_cox`."""

    coef: np.ndarray
    var: np.ndarray
    loglik_null: float
    loglik: float
    score: np.ndarray
    iterations: int
    converged: bool
    infinite: list[int]


def prepare(
    stop: np.ndarray,
    status: np.ndarray,
    x: np.ndarray,
    *,
    start: np.ndarray | None = None,
    weights: np.ndarray | None = None,
    strata: np.ndarray | None = None,
    ties: str = "efron",
) -> CoxProblem:
    """Index a data set for :func:`fit_cox`.

    Parameters
    ----------
    stop : numpy.ndarray
        Event or censoring times (the ``stop`` of ``(start, stop]`` rows).
    status : numpy.ndarray
        1 for an event, 0 for censoring.
    x : numpy.ndarray
        ``(n, p)`` covariates (centred here; the coefficients do not change).
    start : numpy.ndarray, optional
        Entry times of counting-process rows (at risk on ``(start, stop]``).
    weights : numpy.ndarray, optional
        Case weights (R ``weights``), default 1.
    strata : numpy.ndarray, optional
        Integer stratum codes.
    ties : {"efron", "breslow"}
        Tie handling.

    Returns
    -------
    CoxProblem
    """
    n = len(stop)
    stop = np.asarray(stop, np.float64)
    ev = np.asarray(status).astype(bool)
    w = np.ones(n) if weights is None else np.asarray(weights, np.float64)
    s = np.zeros(n, np.int64) if strata is None else np.asarray(strata, np.int64)
    if start is None:
        order, hi, lo, g_stratum, g_time = _index_right_censored(stop, ev, s)
    else:
        order, hi, lo, g_stratum, g_time = _index_counting(
            stop, np.asarray(start, np.float64), ev, s
        )
    ev, w = ev[order], w[order]
    grp = hi[ev] - 1
    k = len(g_time)
    nd = np.bincount(grp, minlength=k)
    wsum = np.bincount(grp, weights=w[ev], minlength=k)
    plain = ties != "efron" or bool((nd <= 1).all())
    if plain:
        step_group, step_frac, step_mw = np.arange(k), np.zeros(k), wsum
    else:
        step_group = np.repeat(np.arange(k), nd)
        first = np.cumsum(nd) - nd
        step_frac = (np.arange(step_group.size) - first[step_group]) / nd[step_group]
        step_mw = (wsum / np.maximum(nd, 1))[step_group]
    xc = np.asarray(x, np.float64)[order]
    xc -= xc.mean(axis=0)
    blocks = np.flatnonzero(np.r_[True, hi[1:] != hi[:-1]])
    return CoxProblem(
        xc,
        w,
        lo,
        hi,
        ev,
        grp,
        k,
        step_group,
        step_frac,
        step_mw,
        g_stratum,
        g_time,
        order=order,
        blocks=blocks,
        hi_pos=np.searchsorted(hi[blocks], np.arange(k), side="right"),
        has_lo=bool(start is not None or (lo > 0).any()),
        plain_steps=plain,
        ev_start=np.searchsorted(grp, np.arange(k), side="left"),
        wx_events=w[ev] @ xc[ev],
    )


def _index_right_censored(
    stop: np.ndarray, ev: np.ndarray, s: np.ndarray
) -> tuple[np.ndarray, ...]:
    """Row order (stratum, time) and at-risk group ranges from one sort, O(n) after it."""
    order = np.lexsort((stop, s)) if s.any() else np.argsort(stop, kind="stable")
    ts, ss, es = stop[order], s[order], ev[order]
    new = np.r_[True, (ts[1:] != ts[:-1]) | (ss[1:] != ss[:-1])]
    starts = np.flatnonzero(new)
    has_event = np.logical_or.reduceat(es, starts)
    groups_upto = np.cumsum(has_event)
    hi = np.repeat(groups_upto, np.diff(np.r_[starts, len(ts)]))
    g_stratum = ss[starts][has_event]
    g_time = ts[starts][has_event]
    per_stratum = np.bincount(g_stratum, minlength=int(s.max()) + 1 if s.size else 1)
    lo = (np.cumsum(per_stratum) - per_stratum)[ss]
    return order, hi, lo, g_stratum, g_time


def _index_counting(
    stop: np.ndarray, start: np.ndarray, ev: np.ndarray, s: np.ndarray
) -> tuple[np.ndarray, ...]:
    """As :func:`_index_right_censored` for (start, stop] rows."""
    times = np.unique(np.concatenate([stop, start]))
    base = np.int64(len(times) + 1)
    key_stop = s * base + np.searchsorted(times, stop)
    groups = np.unique(key_stop[ev])
    hi = np.searchsorted(groups, key_stop, side="right")
    key_start = s * base + np.searchsorted(times, start)
    lo = np.searchsorted(groups, key_start, side="right")
    order = np.argsort(hi, kind="stable")
    return order, hi[order], lo[order], groups // base, times[groups % base]


def _revcum_sorted(values: np.ndarray, blocks: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """Risk-set sums ``S(k) = Σ values[i] over hi_i > k`` for rows sorted by ``hi``.

    Block sums of equal-``hi`` rows (contiguous ``reduceat``), reverse cumulative sum over
    blocks (small partial sums first), then the block where ``hi`` first exceeds ``k``.
    """
    sums = np.add.reduceat(values, blocks, axis=0)
    out = np.zeros((len(sums) + 1,) + values.shape[1:])
    np.cumsum(sums[::-1], axis=0, out=out[-2::-1])
    return out[pos]


def _revcum(values: np.ndarray, index: np.ndarray, k: int) -> np.ndarray:
    """``out[g] = Σ values[i] over index[i] > g`` for g in 0..k-1 (values 1-D or 2-D)."""
    if values.ndim == 1:
        b = np.bincount(index, weights=values, minlength=k + 1)
        return np.cumsum(b[::-1])[::-1][1:]
    cols = [
        np.bincount(index, weights=values[:, j], minlength=k + 1) for j in range(values.shape[1])
    ]
    b = np.column_stack(cols) if cols else np.zeros((k + 1, 0))
    return np.cumsum(b[::-1], axis=0)[::-1][1:]


def _groupsum(values: np.ndarray, index: np.ndarray, k: int) -> np.ndarray:
    if values.ndim == 1:
        return np.bincount(index, weights=values, minlength=k)
    return np.column_stack(
        [np.bincount(index, weights=values[:, j], minlength=k) for j in range(values.shape[1])]
    ).reshape(k, values.shape[1])


def _range_sum(cum: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Σ over groups in [lo, hi) of a per-group quantity, from its prefix sums ``cum``."""
    return cum[hi] - cum[lo]


def _prefix(v: np.ndarray) -> np.ndarray:
    pad = np.zeros((1,) + v.shape[1:])
    return np.concatenate([pad, np.cumsum(v, axis=0)])


@dataclass
class State:
    """Per-iteration quantities of one Newton step: linear predictor, risk sums, score."""

    eta: np.ndarray
    r: np.ndarray
    a: np.ndarray  # step denominators
    s1: np.ndarray  # (groups, p) risk-set sums of r·x
    d1: np.ndarray | None  # (groups, p) sums over the tied events (Efron steps only)
    loglik: float
    score: np.ndarray
    step_group: np.ndarray
    step_frac: np.ndarray

    @cached_property
    def xbar(self) -> np.ndarray:
        """Risk-set means at every step, ``(steps, p)`` (built on demand: not in Newton)."""
        if self.d1 is None:
            return self.s1 / self.a[:, None]
        g, f = self.step_group, self.step_frac
        return (self.s1[g] - f[:, None] * self.d1[g]) / self.a[:, None]


def state(pb: CoxProblem, beta: np.ndarray) -> State:
    """Log-likelihood, score and step quantities at ``beta``."""
    k = pb.n_groups
    eta = pb.x @ beta
    shift = float(eta.max()) if eta.size else 0.0
    r = pb.w * np.exp(eta - shift)
    rx = pb.x * r[:, None]
    s0 = _revcum_sorted(r, pb.blocks, pb.hi_pos)
    s1 = _revcum_sorted(rx, pb.blocks, pb.hi_pos)
    if pb.has_lo:
        s0 = s0 - _revcum(r, pb.lo, k)
        s1 = s1 - _revcum(rx, pb.lo, k)
    if pb.tail is not None:
        t = pb.tail
        q = r[t] * pb.tail_weight
        s0 = s0 + pb.group_mult * (_revcum(q, pb.tail_hi, k) - _revcum(q, pb.hi[t], k))
        qx = rx[t] * pb.tail_weight[:, None]
        s1 = s1 + pb.group_mult[:, None] * (_revcum(qx, pb.tail_hi, k) - _revcum(qx, pb.hi[t], k))
    if pb.plain_steps:
        a, d1 = s0, None
        score = pb.wx_events - (pb.step_mw / a) @ s1
    else:
        g, f = pb.step_group, pb.step_frac
        d0 = np.add.reduceat(r[pb.ev], pb.ev_start)
        d1 = np.add.reduceat(rx[pb.ev], pb.ev_start, axis=0)
        a = s0[g] - f * d0[g]
        # Σ_l mw·xbar_l per group from scalar step sums: no (steps, p) array
        h = np.bincount(g, weights=pb.step_mw / a, minlength=k)
        e = np.bincount(g, weights=pb.step_mw * f / a, minlength=k)
        score = pb.wx_events - h @ s1 + e @ d1
    we = pb.w[pb.ev]
    loglik = float(we @ eta[pb.ev] - pb.step_mw @ (np.log(a) + shift))
    return State(eta, r, a, s1, d1, loglik, score, pb.step_group, pb.step_frac)


def _subject_weights(pb: CoxProblem, st: State, h: np.ndarray, e: np.ndarray) -> np.ndarray:
    """Per-row ``r_i · Σ_k h_k`` over its at-risk groups (Efron: minus ``e_k`` if event)."""
    hc = _prefix(h)
    f = _range_sum(hc, pb.lo, pb.hi)
    f[pb.ev] -= e[pb.grp]
    if pb.tail is not None:
        hm = _prefix(h * pb.group_mult)
        t = np.flatnonzero(pb.tail)
        f[t] += pb.tail_weight * _range_sum(hm, pb.hi[t], pb.tail_hi)
    return st.r * f


def information(pb: CoxProblem, st: State, step_mult: np.ndarray | None = None) -> np.ndarray:
    """Σ over steps of ``mult · mw · V_step`` (V = risk-set covariance), no n×p×p arrays."""
    k = pb.n_groups
    c = pb.step_mw if step_mult is None else pb.step_mw * step_mult
    h = np.bincount(pb.step_group, weights=c / st.a, minlength=k)
    e = np.bincount(pb.step_group, weights=c * pb.step_frac / st.a, minlength=k)
    aw = _subject_weights(pb, st, h, e)
    xw = pb.x * aw[:, None]
    if st.d1 is None:
        return pb.x.T @ xw - (st.s1 * (c / st.a**2)[:, None]).T @ st.s1
    # Σ_l c·xbar_l xbar_lᵀ with xbar_l = (s1 − f·d1)/a_l, from scalar step sums per group
    g, f, a2 = pb.step_group, pb.step_frac, st.a**2
    q0 = np.bincount(g, weights=c / a2, minlength=k)
    q1 = np.bincount(g, weights=c * f / a2, minlength=k)
    q2 = np.bincount(g, weights=c * f * f / a2, minlength=k)
    s1, d1 = st.s1, st.d1
    cross = (s1 * q1[:, None]).T @ d1
    outer = (s1 * q0[:, None]).T @ s1 - cross - cross.T + (d1 * q2[:, None]).T @ d1
    return pb.x.T @ xw - outer


def score_residuals(pb: CoxProblem, st: State) -> np.ndarray:
    """Per-row score contributions ``U_i`` (weighted; Σ U_i = score), R's Efron split."""
    k = pb.n_groups
    c = pb.step_mw / st.a
    h = np.bincount(pb.step_group, weights=c, minlength=k)
    e = np.bincount(pb.step_group, weights=c * pb.step_frac, minlength=k)
    gx = _groupsum(st.xbar * c[:, None], pb.step_group, k)
    ge = _groupsum(st.xbar * (c * pb.step_frac)[:, None], pb.step_group, k)
    rf = _subject_weights(pb, st, h, e)
    gc = _prefix(gx)
    gsum = _range_sum(gc, pb.lo, pb.hi)
    gsum[pb.ev] -= ge[pb.grp]
    if pb.tail is not None:
        gm = _prefix(gx * pb.group_mult[:, None])
        t = np.flatnonzero(pb.tail)
        gsum[t] += pb.tail_weight[:, None] * _range_sum(gm, pb.hi[t], pb.tail_hi)
    resid = -(pb.x * rf[:, None] - st.r[:, None] * gsum)
    nd = np.bincount(pb.step_group, minlength=k)
    mean_xbar = _groupsum(st.xbar, pb.step_group, k) / np.maximum(nd, 1)[:, None]
    evi = np.flatnonzero(pb.ev)
    resid[evi] += pb.w[evi, None] * (pb.x[evi] - mean_xbar[pb.grp])
    return resid


def fit_cox(
    pb: CoxProblem,
    init: np.ndarray | None = None,
    eps: float = EPS,
    iter_max: int = ITER_MAX,
) -> tuple[CoxResult, State]:
    """Newton–Raphson as R ``coxph`` (see the module docstring).

    Parameters
    ----------
    pb : CoxProblem
        From :func:`prepare`.
    init : numpy.ndarray, optional
        Starting β (default 0).
    eps : float, default 1e-9
        Relative log-likelihood change that stops the iteration (``coxph.control(eps)``).
    iter_max : int, default 20
        Maximum Newton steps (``coxph.control(iter.max)``).

    Returns
    -------
    result : CoxResult
    state : State
        Quantities at the returned β (for residuals and tests).

    Raises
    ------
    numpy.linalg.LinAlgError
        The information matrix is singular.
    """
    p = pb.x.shape[1]
    beta = np.zeros(p) if init is None else np.asarray(init, np.float64).copy()
    st = state(pb, beta)
    imat = information(pb, st)
    loglik0 = loglik = st.loglik
    newbeta = beta + np.linalg.solve(imat, st.score)
    halving, converged, it = False, False, 0
    for it in range(1, iter_max + 1):
        new = state(pb, newbeta)
        if np.isfinite(new.loglik) and abs(1 - loglik / new.loglik) <= eps and not halving:
            st, beta, converged = new, newbeta, True
            break
        if it == iter_max:
            st, beta = new, newbeta
            break
        if not np.isfinite(new.loglik) or new.loglik < loglik:
            halving = True
            newbeta = (newbeta + beta) / 2
        else:
            halving = False
            loglik, beta, st = new.loglik, newbeta, new
            imat = information(pb, st)
            newbeta = beta + np.linalg.solve(imat, st.score)
    imat = information(pb, st)
    var = np.linalg.inv(imat)
    step = np.abs(st.score @ var)
    infinite = (
        []
        if not converged
        else list(np.flatnonzero((step > eps) & (step > TOLER_INF * np.abs(beta))))
    )
    res = CoxResult(beta, var, loglik0, st.loglik, st.score, it, converged, infinite)
    return res, st


def robust_variance(
    pb: CoxProblem, st: State, var: np.ndarray, cluster: np.ndarray | None = None
) -> np.ndarray:
    """Sandwich ``V (Σ_c U_c U_cᵀ) V`` (R ``robust = TRUE`` / ``cluster``)."""
    resid = score_residuals(pb, st)
    if cluster is not None:
        codes = np.unique(cluster, return_inverse=True)[1]
        resid = _groupsum(resid, codes, int(codes.max()) + 1)
    d = resid @ var
    return d.T @ d
