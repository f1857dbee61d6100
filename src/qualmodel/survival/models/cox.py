"""Cox proportional-hazards model and its proportional-hazards test (R ``cox.zph``).

:func:`cox` fits on the numpy engine of :mod:`~.partial_likelihood` (Efron or Breslow
ties, strata, case weights, robust sandwich SEs, ``(start, stop]`` rows) and reproduces R
``coxph`` to rounding; :func:`cox_zph` is the score test of R ``cox.zph`` (survival ≥ 3)
computed per event time without n×p×p intermediates.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from qualmodel.core.distributions import chi2_sf
from qualmodel.core.errors import ConfigError, preview
from qualmodel.survival.common import z_value
from qualmodel.survival.concordance import concordance as concordance_of
from qualmodel.survival.models import partial_likelihood as pl
from qualmodel.survival.models.common import ModelFit, ModelWarning, model_inputs, wald

__all__ = ["cox", "cox_zph"]

TIES = ("efron", "breslow")


def _entry(data: pd.DataFrame, start: str | None, func: str) -> np.ndarray | None:
    """Entry times of counting-process rows, checked against ``duration``."""
    if start is None:
        return None
    if start not in data.columns:
        raise ConfigError(
            f"{func}: start column '{start}' not in the data; build a (start, stop] table "
            f"with time_to_event(..., time_varying=[...])"
        )
    t0 = pd.to_numeric(data[start], errors="coerce").to_numpy(np.float64)
    bad = ~np.isfinite(t0) | (t0 >= data["duration"].to_numpy(np.float64))
    if bad.any():
        raise ConfigError(
            f"{func}: column '{start}' must be finite and below 'duration' on every row "
            f"({int(bad.sum())} row(s) are not, first at row {int(np.flatnonzero(bad)[0])})"
        )
    return t0


def cox(
    data: pd.DataFrame,
    covariates: str | Sequence[str],
    event: int = 1,
    ties: str = "efron",
    strata: str | Sequence[str] | None = None,
    conf_level: float = 0.95,
    *,
    concordance: bool = True,
    weights: str | None = None,
    robust: bool = False,
    cluster: str | None = None,
    start: str | None = None,
) -> ModelFit:
    """Cause-specific Cox proportional-hazards model (R ``coxph``).

    Parameters
    ----------
    data : pandas.DataFrame
        Duration table of :func:`~qualmodel.survival.durations.time_to_event` with the covariate
        columns (``time_to_event(..., covariates=[...])``), or its counting-process form
        (``time_varying=[...]``, with ``start="start"``).
    covariates : str or list of str
        Covariate columns (numeric, bool, or categorical → dummies against the first
        sorted level).
    event : int, default 1
        Event code modelled; every other code is censored (cause-specific hazard).
    ties : {"efron", "breslow"}, default "efron"
        Tie handling (R ``ties``). Continuous and tied times cost the same.
    strata : str or list of str, optional
        Columns defining strata with separate baseline hazards (R ``strata()``).
    conf_level : float, default 0.95
        Level of the Wald limits.
    concordance : bool, default True
        Harrell's concordance of the linear predictor and its standard error, pooled over
        strata, with the fit's weights, ``(start, stop]`` rows and cluster (R's
        ``fit$concordance``; :func:`qualmodel.survival.concordance.concordance`, O(n log n)).
        ``False`` skips it.
    weights : str, optional
        Column of positive case weights (R ``weights``). R ``coxph`` reports robust SEs
        by default when weights are not whole numbers; here pass ``robust=True`` for that.
    robust : bool, default False
        Report the robust sandwich SE (R ``robust = TRUE``); the model-based SE goes to
        ``table["se_naive"]``.
    cluster : str, optional
        Column whose rows are summed before the sandwich (R ``cluster()``); implies
        ``robust``. Use ``"lead_id"`` for counting-process tables.
    start : str, optional
        Column of entry times: rows are at risk on ``(start, duration]`` (R
        ``Surv(start, stop, event)``).

    Returns
    -------
    ModelFit
        ``table``: ``term, coef, se, lower, upper, hr, hr_lower, hr_upper, z, p_value``
        (R ``summary(coxph)``), plus ``se_naive`` when robust; ``summary``: ``n``,
        ``events``, ``log_likelihood`` (R ``fit$loglik[2]``), ``log_likelihood_null``
        (``fit$loglik[1]``), ``concordance`` and ``concordance_se`` (``None`` when not
        computed), ``iterations``, ``ties``, ``robust``,
        ``event``, ``strata``, ``conf_level``. ``cox_zph(fit, data)`` tests PH.

    Raises
    ------
    ConfigError
        Unknown, missing-valued, constant, collinear or unsupported covariates; missing
        ``event`` values; no events; a stratum with one lead; bad strata, weights, start or
        cluster columns; an unknown ``ties`` method; a singular information matrix.

    Warns
    -----
    ModelWarning
        No convergence in 20 iterations, or a coefficient that may be infinite (R's
        ``coxph`` warnings).
    """
    if ties not in TIES:
        raise ConfigError(f"cox: ties='{ties}' is not available; use ties='efron' or 'breslow'")
    zq = z_value(conf_level, "cox")
    inp = model_inputs(data, covariates, event, strata, weights, "cox")
    t0 = _entry(data, start, "cox")
    if cluster is not None and cluster not in data.columns:
        raise ConfigError(f"cox: cluster column '{cluster}' not in the data; add it")
    time = data["duration"].to_numpy(np.float64)
    names = list(inp.design.columns)
    pb = pl.prepare(
        time,
        inp.status,
        inp.design.to_numpy(np.float64),
        start=t0,
        weights=inp.weights,
        strata=inp.strata,
        ties=ties,
    )
    res, state = _fit(pb, names, "cox")
    se_naive = np.sqrt(np.diag(res.var))
    se = se_naive
    robust = robust or cluster is not None
    if robust:
        groups = None if cluster is None else data[cluster].to_numpy()[pb.order]
        se = np.sqrt(np.diag(pl.robust_variance(pb, state, res.var, groups)))
    table = wald(names, res.coef, se, zq, "hr")
    if robust:
        table["se_naive"] = se_naive
    conc = None
    if concordance:
        eta = np.empty_like(state.eta)
        eta[pb.order] = state.eta
        groups = None if cluster is None else data[cluster].to_numpy()
        conc = concordance_of(
            time, inp.status, eta, weights=inp.weights, strata=inp.strata, start=t0,
            cluster=groups, reverse=True,
        )  # fmt: skip
    summary = {
        "n": int(len(data)),
        "events": int(inp.status.sum()),
        "log_likelihood": res.loglik,
        "log_likelihood_null": res.loglik_null,
        "concordance": None if conc is None else conc.concordance,
        "concordance_se": None if conc is None else conc.std,
        "iterations": res.iterations,
        "ties": ties,
        "robust": robust,
        "event": int(event),
        "strata": inp.strata_cols,
        "conf_level": conf_level,
    }
    frame = inp.design.reset_index(drop=True)
    frame["__duration"] = time
    frame["__event"] = inp.status
    frame["__strata"] = inp.strata
    frame["__weight"] = 1.0 if inp.weights is None else inp.weights
    frame["__start"] = np.nan if t0 is None else t0
    return ModelFit(
        "cox",
        table,
        summary,
        inp.references,
        design=frame,
        terms=inp.terms,
        problem=pb if t0 is None else None,
    )


def _fit(pb: pl.CoxProblem, names: list[str], func: str) -> tuple:
    """Run the engine; translate singularity and R's convergence warnings."""
    try:
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            res, state = pl.fit_cox(pb)
    except np.linalg.LinAlgError:
        raise ConfigError(
            f"{func}: singular information matrix: a term among {preview(names)} is collinear "
            f"with others within strata or has no events; drop or merge it"
        ) from None
    if not res.converged:
        warnings.warn(
            f"{func}: ran out of iterations ({res.iterations}) and did not converge; a level "
            f"with no events or near-collinear covariates?",
            ModelWarning,
            stacklevel=3,
        )
    elif res.infinite:
        bad = preview(repr(names[i]) for i in res.infinite)
        warnings.warn(
            f"{func}: log-likelihood converged before {bad}; coefficient may be infinite "
            f"(a level or flag with no events?)",
            ModelWarning,
            stacklevel=3,
        )
    return res, state


# ----------------------------------------------------------------- PH assumption test
def _km_left(time: np.ndarray, status: np.ndarray) -> np.ndarray:
    """1 − left-continuous Kaplan–Meier S(t−) at each subject's own time (R cox.zph 'km')."""
    ut, inv = np.unique(time, return_inverse=True)
    d = np.bincount(inv, weights=status, minlength=len(ut))
    n_at = np.bincount(inv, minlength=len(ut))
    at_risk = np.cumsum(n_at[::-1])[::-1].astype(np.float64)
    surv = np.cumprod(1.0 - d / at_risk)
    left = np.concatenate([[1.0], surv[:-1]])
    return 1.0 - left[inv]


def _zph_score(pb: pl.CoxProblem, beta: np.ndarray, g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Score and information of the model (x, g(t)·x) at (β̂, 0), per event-time step."""
    st = pl.state(pb, beta)
    gk = np.zeros(pb.n_groups)
    gk[pb.grp] = g[pb.ev]
    gs = gk[pb.step_group]
    we = pb.w[pb.ev]
    u2 = (we * g[pb.ev]) @ pb.x[pb.ev] - (pb.step_mw * gs) @ st.xbar
    i11 = pl.information(pb, st)
    i12 = pl.information(pb, st, gs)
    i22 = pl.information(pb, st, gs**2)
    u = np.concatenate([st.score, u2])
    imat = np.block([[i11, i12], [i12.T, i22]])
    return u, imat


def cox_zph(fit: ModelFit, data: pd.DataFrame, transform: str = "km") -> pd.DataFrame:
    """Test of proportional hazards for a :func:`cox` fit (R ``cox.zph``, survival ≥ 3).

    For each covariate (all dummies of a categorical together, as R's ``terms = TRUE``) a
    score test of adding that covariate's ``x · g(t)`` to the model (information matrix
    of all β and that term's γ at (β̂, 0), the fit's ties method), and a global test of
    all of them: the test of R ``survival`` 3.x ``cox.zph(fit, transform = "km")``.
    (lifelines' ``proportional_hazard_test`` is the older Grambsch–Therneau
    approximation of survival 2.x; its statistics differ.) Sums run per event time with
    weighted cross products: O(n·p²) time, O(n·p) memory.

    Parameters
    ----------
    fit : ModelFit
        Result of :func:`cox` on ``data`` (right-censored, not ``start``).
    data : pandas.DataFrame
        The same table the model was fitted on.
    transform : {"km", "identity", "log", "rank"}, default "km"
        Time transform ``g``: ``"km"`` is 1 − the left-continuous Kaplan–Meier of the
        modelled event (R's default), ``"rank"`` the rank of the time among all rows.

    Returns
    -------
    pandas.DataFrame
        ``term, chisq, df, p_value``; one row per covariate plus ``"GLOBAL"``.

    Raises
    ------
    ConfigError
        ``fit`` is not a Cox fit, ``data`` does not match it (row count, or its
        ``duration`` column differs from the fitted one, e.g. reordered rows), a
        counting-process fit, or an unknown transform.
    """
    if not isinstance(fit, ModelFit) or fit.model != "cox" or fit.design is None:
        raise ConfigError("cox_zph: fit must be the result of qualmodel.survival.models.cox(...)")
    design = fit.design
    if len(design) != len(data):
        raise ConfigError(
            f"cox_zph: data has {len(data)} rows but the model was fitted on {len(design)}; "
            f"pass the table the model was fitted on"
        )
    if "duration" not in data.columns or not np.array_equal(
        pd.to_numeric(data["duration"], errors="coerce").to_numpy(np.float64),
        design["__duration"].to_numpy(np.float64),
    ):
        raise ConfigError(
            "cox_zph: data['duration'] differs from the fitted durations (other rows or "
            "another row order); pass the table the model was fitted on, in its original "
            "row order"
        )
    if design["__start"].notna().any():
        raise ConfigError("cox_zph: not available for (start, stop] fits; fit without start")
    names = list(fit.table["term"])
    time = design["__duration"].to_numpy(np.float64)
    status = design["__event"].to_numpy(np.int64)
    if transform == "km":
        g = _km_left(time, status)
    elif transform == "identity":
        g = time.copy()
    elif transform == "log":
        g = np.log(time)
    elif transform == "rank":
        from scipy.stats import rankdata  # only here: scipy.stats takes 0.5 s to import

        g = rankdata(time)
    else:
        raise ConfigError(
            f"cox_zph: transform '{transform}' is unknown; use km, identity, log or rank"
        )
    pb = fit.problem  # the fit's own sorted problem; rebuilt only when absent
    if pb is None:
        pb = pl.prepare(
            time,
            status,
            design[names].to_numpy(np.float64),
            weights=design["__weight"].to_numpy(np.float64),
            strata=design["__strata"].to_numpy(),
            ties=fit.summary.get("ties", "efron"),
        )
    u, imat = _zph_score(pb, fit.table["coef"].to_numpy(np.float64), g[pb.order])
    p = len(names)
    rows = []
    for col, tnames in fit.terms.items():
        idx = [names.index(t) for t in tnames]
        jj = list(range(p)) + [i + p for i in idx]
        sub = imat[np.ix_(jj, jj)]
        test = float(u[jj] @ np.linalg.solve(sub, u[jj]))
        rows.append((col, test, len(idx)))
    rows.append(("GLOBAL", float(u @ np.linalg.solve(imat, u)), p))
    out = pd.DataFrame(rows, columns=["term", "chisq", "df"])
    out["p_value"] = chi2_sf(out["chisq"], out["df"])
    return out
