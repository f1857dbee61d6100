"""Fine–Gray subdistribution-hazard regression (R ``cmprsk::crr``) and predicted CIFs.

A lead with a competing event (another non-zero code) stays in the risk set of the cause
after its own time with weight ``G(t−)/G(T_i−)``, ``G`` the Kaplan–Meier of the censoring
times (per stratum). On the engine of :mod:`~.partial_likelihood` that is a *tail*
range per such lead, so a Newton step is still O(n·p²) with no per-time loop. Ties are
Breslow's (``crr``'s). Standard errors are ``crr``'s sandwich, including the term for the
estimated ``G`` (Fine & Gray 1999); ``table["se_naive"]`` is the model-based SE and
``summary["se_robust_no_g"]`` is R ``finegray`` + ``coxph(..., cluster = id)``'s SE.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from qualmodel.core.errors import ConfigError, preview
from qualmodel.survival.common import z_value
from qualmodel.survival.concordance import concordance
from qualmodel.survival.models import partial_likelihood as pl
from qualmodel.survival.models.common import ModelFit, ModelWarning, model_inputs, wald

__all__ = ["fine_gray", "predict_cif"]

#: Relative log-likelihood change that stops the Newton steps (tighter than coxph's).
FG_EPS = 1e-12
FG_ITER_MAX = 50


def _censor_km_left(time: np.ndarray, censored: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the times and left-continuous censoring KM ``G(t−)`` (crr's ``uuu``)."""
    ut, inv = np.unique(time, return_inverse=True)
    d = np.bincount(inv, weights=censored.astype(np.float64), minlength=len(ut))
    at_risk = np.cumsum(np.bincount(inv, minlength=len(ut))[::-1])[::-1].astype(np.float64)
    surv = np.cumprod(1.0 - d / at_risk)
    return ut, np.concatenate([[1.0], surv[:-1]])


def _problem(
    time: np.ndarray, code: np.ndarray, cause: int, x: np.ndarray, strata: np.ndarray
) -> tuple[pl.CoxProblem, np.ndarray]:
    """Breslow Cox problem with tails for competing events; returns it and G(T_i−)."""
    status = (code == cause).astype(np.int64)
    pb = pl.prepare(time, status, x, strata=strata, ties="breslow")
    g_row = np.ones(len(time))
    g_group = np.ones(pb.n_groups)
    gtimes = pb.group_time
    for s in np.unique(strata):
        m = strata == s
        ut, left = _censor_km_left(time[m], code[m] == 0)
        g_row[m] = left[np.searchsorted(ut, time[m])]
        gm = pb.group_stratum == s
        g_group[gm] = left[np.searchsorted(ut, gtimes[gm])]
    o = pb.order
    comp = ((code != 0) & (code != cause))[o]
    pb.tail = comp
    pb.tail_hi = np.searchsorted(pb.group_stratum, strata[o][comp], side="right")
    pb.tail_weight = 1.0 / g_row[o][comp]
    pb.group_mult = g_group
    return pb, g_row


def _psi(
    pb: pl.CoxProblem,
    st: pl.State,
    time: np.ndarray,
    code: np.ndarray,
    strata: np.ndarray,
    g_row: np.ndarray,
) -> np.ndarray:
    """Return crr's correction ψ_i of the score residuals for the estimated censoring KM.

    Inputs are in data order; rows of the result are in the problem's (sorted) order.
    """
    o = pb.order
    time, code, strata, g_row = time[o], code[o], strata[o], g_row[o]
    n, p = pb.x.shape
    psi = np.zeros((n, p))
    comp = pb.tail
    for s in np.unique(strata):
        m = strata == s
        cens = m & (code == 0)
        if not cens.any():
            continue
        gm = np.flatnonzero(pb.group_stratum == s)
        tk = pb.group_time[gm]
        c = pb.step_mw[gm] * pb.group_mult[gm] / st.a[gm]
        hsuf = np.concatenate([np.cumsum(c[::-1])[::-1], [0.0]])
        ksuf = np.concatenate(
            [np.cumsum((st.xbar[gm] * c[:, None])[::-1], axis=0)[::-1], np.zeros((1, p))]
        )
        cm = m & comp
        order = np.argsort(time[cm], kind="stable")
        tc = time[cm][order]
        rq = (st.r[cm] / g_row[cm])[order]
        c0 = np.concatenate([[0.0], np.cumsum(rq)])
        c1 = np.concatenate([np.zeros((1, p)), np.cumsum(pb.x[cm][order] * rq[:, None], axis=0)])
        uc, nc = np.unique(time[cens], return_counts=True)
        tm = np.sort(time[m])
        y = len(tm) - np.searchsorted(tm, uc, side="left")
        ik = np.searchsorted(tk, uc, side="left")
        ic = np.searchsorted(tc, uc, side="left")
        q = hsuf[ik][:, None] * c1[ic] - ksuf[ik] * c0[ic][:, None]
        cum = np.concatenate([np.zeros((1, p)), np.cumsum(q * (nc / y**2)[:, None], axis=0)])
        rows = np.flatnonzero(m)
        psi[rows] -= cum[np.searchsorted(uc, time[rows], side="right")]
        crow = np.flatnonzero(cens)
        j = np.searchsorted(uc, time[crow])
        psi[crow] += q[j] / y[j][:, None]
    return psi


def fine_gray(
    data: pd.DataFrame,
    covariates: str | Sequence[str],
    cause: int = 1,
    strata: str | Sequence[str] | None = None,
    conf_level: float = 0.95,
) -> ModelFit:
    """Fine–Gray regression of the cumulative incidence of ``cause`` (R ``cmprsk::crr``).

    Parameters
    ----------
    data : pandas.DataFrame
        Duration table of :func:`~qualmodel.survival.durations.time_to_event` (code 0 censored,
        ``cause`` the event of interest, any other code a competing event) with the
        covariate columns.
    covariates : str or list of str
        Covariate columns, coded as in :func:`~qualmodel.survival.models.cox`.
    cause : int, default 1
        Event code whose cumulative incidence is modelled.
    strata : str or list of str, optional
        Columns defining strata with separate baseline subdistribution hazards and their
        own censoring distribution ``G``.
    conf_level : float, default 0.95
        Level of the Wald limits.

    Returns
    -------
    ModelFit
        ``model="fine_gray"``; ``table`` with the columns of :func:`cox` (``hr`` are
        subdistribution hazard ratios) plus ``se_naive``; ``summary``: ``n``, ``events``,
        ``competing``, ``log_likelihood`` (crr's ``loglik``), ``iterations``, ``cause``,
        ``strata``, ``conf_level``, ``concordance`` and ``concordance_se`` (Harrell's C of
        the linear predictor against the time to ``cause``, every other outcome censored,
        within strata: R ``concordance(Surv(time, status == cause) ~ lp, reverse = TRUE)``),
        ``se_robust_no_g`` (dict term → SE of R ``finegray`` +
        ``coxph(cluster = id)``); ``baseline``: cumulative baseline subdistribution hazard
        per stratum (for :func:`predict_cif`).

    Raises
    ------
    ConfigError
        As :func:`cox`; also no events of ``cause``.
    """
    zq = z_value(conf_level, "fine_gray")
    inp = model_inputs(data, covariates, cause, strata, None, "fine_gray")
    time = data["duration"].to_numpy(np.float64)
    code = data["event"].to_numpy().astype(np.int64)
    names = list(inp.design.columns)
    x = inp.design.to_numpy(np.float64)
    pb, g_row = _problem(time, code, cause, x, inp.strata)
    try:
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            res, st = pl.fit_cox(pb, eps=FG_EPS, iter_max=FG_ITER_MAX)
    except np.linalg.LinAlgError:
        raise ConfigError(
            f"fine_gray: singular information matrix: a term among {preview(names)} is "
            f"collinear with others or has no events; drop or merge it"
        ) from None
    if not res.converged or res.infinite:
        warnings.warn(
            "fine_gray: did not converge or a coefficient may be infinite (a level with no "
            "events of the cause?)",
            ModelWarning,
            stacklevel=2,
        )
    eta_res = pl.score_residuals(pb, st)
    total = eta_res + _psi(pb, st, time, code, inp.strata, g_row)
    d = total @ res.var
    se = np.sqrt(np.diag(d.T @ d))
    d0 = eta_res @ res.var
    table = wald(names, res.coef, se, zq, "hr")
    table["se_naive"] = np.sqrt(np.diag(res.var))
    base = pd.DataFrame(
        {
            "stratum": pb.group_stratum,
            "time": pb.group_time,
            "hazard": pb.step_mw / st.a * np.exp(-_shift(pb, st)),
        }
    )
    base["cumhaz"] = base.groupby("stratum")["hazard"].cumsum()
    summary = {
        "n": int(len(data)),
        "events": int(inp.status.sum()),
        "competing": int(pb.tail.sum()),
        "log_likelihood": res.loglik,
        "iterations": res.iterations,
        "cause": int(cause),
        "strata": inp.strata_cols,
        "conf_level": conf_level,
        "se_robust_no_g": dict(zip(names, np.sqrt(np.diag(d0.T @ d0)), strict=True)),
        "x_mean": dict(zip(names, x.mean(axis=0), strict=True)),
        **_fg_concordance(time, code == cause, x @ res.coef, inp.strata),
    }
    return ModelFit("fine_gray", table, summary, inp.references, terms=inp.terms, baseline=base)


def _fg_concordance(time, hit, lp, strata) -> dict[str, float | None]:
    """Concordance of the subdistribution linear predictor with the time to the cause."""
    try:
        c = concordance(time, hit.astype(np.int64), lp, strata=strata, reverse=True)
    except ConfigError:  # e.g. every lead has the same linear predictor
        return {"concordance": None, "concordance_se": None}
    return {"concordance": c.concordance, "concordance_se": c.std}


def _shift(pb: pl.CoxProblem, st: pl.State) -> float:
    """Return the constant subtracted from the linear predictor inside the engine."""
    return float(np.max(st.eta)) if st.eta.size else 0.0


def _profile_matrix(fit: ModelFit, profiles: pd.DataFrame) -> np.ndarray:
    """Encode covariate profiles with the fit's dummy coding (centred as in the fit)."""
    names = list(fit.table["term"])
    cols = {}
    for col, terms in fit.terms.items():
        if col not in profiles.columns:
            raise ConfigError(
                f"predict_cif: profiles lack covariate column '{col}'; give one column per "
                f"covariate of the fit ({preview(list(fit.terms))})"
            )
        if col in fit.references:
            text = profiles[col].astype(str)
            for t in terms:
                cols[t] = (text == t.split("=", 1)[1]).to_numpy(np.float64)
        else:
            cols[col] = pd.to_numeric(profiles[col], errors="coerce").to_numpy(np.float64)
    x = np.column_stack([cols[t] for t in names])
    if not np.isfinite(x).all():
        raise ConfigError("predict_cif: profiles have missing or non-numeric values; fix them")
    return x - np.array([fit.summary["x_mean"][t] for t in names])


def predict_cif(fit: ModelFit, profiles: pd.DataFrame, stratum: int = 0) -> pd.DataFrame:
    """Predicted cumulative incidence ``1 − exp(−Λ₀(t)·exp(xβ))`` per covariate profile.

    The same curve as R ``predict.crr`` (step function at the cause's event times).

    Parameters
    ----------
    fit : ModelFit
        Result of :func:`fine_gray`.
    profiles : pandas.DataFrame
        One row per profile, one column per covariate (raw values, e.g. ``grade="mid"``);
        the index labels the profiles.
    stratum : int, default 0
        Stratum code (order of first appearance of the strata values in the data).

    Returns
    -------
    pandas.DataFrame
        ``profile, time, cif``: one row per profile and event time.

    Raises
    ------
    ConfigError
        Not a Fine–Gray fit, or profiles lacking a covariate.
    """
    if not isinstance(fit, ModelFit) or fit.model != "fine_gray" or fit.baseline is None:
        raise ConfigError(
            "predict_cif: fit must be the result of qualmodel.survival.models.fine_gray"
        )
    x = _profile_matrix(fit, profiles)
    base = fit.baseline[fit.baseline["stratum"] == stratum]
    lp = x @ fit.table["coef"].to_numpy(np.float64)
    cum = base["cumhaz"].to_numpy()
    cif = 1.0 - np.exp(-np.outer(np.exp(lp), cum))
    return pd.DataFrame(
        {
            "profile": np.repeat(profiles.index.to_numpy(), len(cum)),
            "time": np.tile(base["time"].to_numpy(), len(lp)),
            "cif": cif.ravel(),
        }
    )
