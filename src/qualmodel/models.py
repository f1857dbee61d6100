"""Regression models for time to SQO: Cox, Weibull AFT and a mixture cure model.

Every function takes the duration table of :func:`qualmodel.durations.time_to_event`
(``duration``, ``event`` and covariate columns) and returns a :class:`ModelFit`: a tidy
``table`` (one row per term) and a ``summary`` dict of fit statistics.

Competing risks enter as **cause-specific hazards**: the code ``event`` (default 1, the
target) is the event, every other code (0 censored, 2.. competing outcomes such as
disqualification) is treated as censoring at its time. Fine–Gray subdistribution models
are not implemented.

Covariates
----------
* numeric columns enter as they are;
* bool columns (also pandas' nullable ``"boolean"`` without missing values) enter as 0/1;
* categorical columns are dummy-coded against a reference level (R's treatment
  contrasts), one term ``"<column>=<level>"`` per other level. The reference is the
  **first category** of a pandas ``Categorical`` (its declared order, like an R factor's
  levels; unused categories are dropped) and the **first level in sorted order** of a
  str / object column (what R's ``factor()`` does by default). To choose another
  reference, make the column a Categorical with that level first
  (``df[c].cat.reorder_categories([...])``). The reference levels are returned in
  ``ModelFit.references``.

Missing values (also in ``event`` and strata columns), unknown columns, constant terms
and too few events are :class:`~qualmodel.errors.ConfigError` one-liners naming the
column and the fix.

Checked against R (``tests/reference/cox_*``, ``aft_*``): ``coxph(..., ties = "efron")``
coefficients, SEs and log-likelihood, ``cox.zph(fit, transform = "km")`` (survival ≥ 3
score test, implemented here in :func:`cox_zph`), and ``survreg(..., dist = "weibull")``.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from qualmodel.errors import ConfigError, preview

__all__ = [
    "ModelFit",
    "ModelWarning",
    "cox",
    "cox_zph",
    "cure_model",
    "design_matrix",
    "weibull_aft",
]

#: Columns of the Cox table (also the leading columns of the AFT table's PH part).
COX_COLUMNS: tuple[str, ...] = (
    "term",
    "coef",
    "se",
    "lower",
    "upper",
    "hr",
    "hr_lower",
    "hr_upper",
    "z",
    "p_value",
)
_FIT_OPTIONS = {"precision": 1e-12, "r_precision": 1e-14, "max_steps": 200}
#: A cured fraction closer than this to 0 or 1 sits at the optimiser's bound.
_BOUNDARY = 1e-6


class ModelWarning(UserWarning):
    """A fit finished but is doubtful (e.g. the optimiser reported poor convergence)."""


@dataclass(frozen=True, eq=False)
class ModelFit:
    """Result of :func:`cox`, :func:`weibull_aft` or :func:`cure_model`.

    Attributes
    ----------
    model : str
        ``"cox"``, ``"weibull_aft"`` or ``"cure"``.
    table : pandas.DataFrame
        One row per term; columns depend on the model (see each function).
    summary : dict
        Fit statistics: ``n``, ``events``, ``log_likelihood`` and model-specific entries
        (``concordance`` for Cox, ``shape``/``scale`` for the Weibull models, ...).
    references : dict
        Reference level of every dummy-coded categorical covariate.
    design : pandas.DataFrame or None
        (Cox only) the design matrix with duration, status and strata key, used by
        :func:`cox_zph`.
    terms : dict
        Covariate column → its term names (several for a categorical).
    """

    model: str
    table: pd.DataFrame
    summary: dict[str, Any]
    references: dict[str, str] = field(default_factory=dict)
    design: pd.DataFrame | None = field(default=None, repr=False, compare=False)
    terms: dict[str, list[str]] = field(default_factory=dict, repr=False, compare=False)


# --------------------------------------------------------------------------- helpers
def _as_list(covariates: str | Sequence[str] | None) -> list[str]:
    if covariates is None:
        return []
    if isinstance(covariates, str):
        return [covariates]
    return list(covariates)


def _check_table(data: pd.DataFrame, func: str, event: int) -> None:
    if not isinstance(data, pd.DataFrame):
        raise ConfigError(f"{func}: data must be a pandas DataFrame from time_to_event")
    for col in ("duration", "event"):
        if col not in data.columns:
            raise ConfigError(
                f"{func}: column '{col}' is missing; build the table with "
                f"qualmodel.time_to_event(...)"
            )
    dur = pd.to_numeric(data["duration"], errors="coerce").to_numpy(np.float64)
    if not np.isfinite(dur).all() or (dur < 0).any():
        raise ConfigError(f"{func}: 'duration' must be finite and non-negative; fix those rows")
    n_missing = int(data["event"].isna().sum())
    if n_missing:
        raise ConfigError(
            f"{func}: 'event' has {n_missing} missing value(s); drop those rows first"
        )
    if isinstance(event, bool) or not isinstance(event, int | np.integer):
        raise ConfigError(f"{func}: event must be an integer event code, got {event!r}")


def design_matrix(
    data: pd.DataFrame, covariates: str | Sequence[str], func: str = "design_matrix"
) -> tuple[pd.DataFrame, dict[str, str], dict[str, list[str]]]:
    """Numeric design matrix of ``covariates`` (no intercept), with dummy coding.

    Parameters
    ----------
    data : pandas.DataFrame
        Table holding the covariate columns.
    covariates : str or list of str
        Column names.
    func : str
        Name used in error messages.

    Returns
    -------
    design : pandas.DataFrame
        float64 columns, one per term (``"<col>=<level>"`` for dummies), same row order.
    references : dict
        Reference (omitted) level of each categorical column.
    terms : dict
        Covariate column → its term names (several for a categorical).

    Raises
    ------
    ConfigError
        Unknown column, missing values, unsupported dtype, or a term that does not vary.
    """
    cols = _as_list(covariates)
    if not cols:
        raise ConfigError(f"{func}: give at least one covariate column")
    if len(set(cols)) != len(cols):
        raise ConfigError(f"{func}: covariates listed twice: {preview(cols)}; list each once")
    unknown = [c for c in cols if c not in data.columns]
    if unknown:
        raise ConfigError(
            f"{func}: covariate(s) {preview(repr(c) for c in unknown)} not in the data; add "
            f"them with time_to_event(..., covariates=[...]) "
            f"(available: {preview(list(data.columns), 12)})"
        )
    design: dict[str, np.ndarray] = {}
    references: dict[str, str] = {}
    terms: dict[str, list[str]] = {}
    for col in cols:
        values = data[col]
        if values.isna().any():
            raise ConfigError(
                f"{func}: covariate '{col}' has {int(values.isna().sum())} missing value(s); "
                f"drop or impute those rows first"
            )
        dtype = values.dtype
        if pd.api.types.is_bool_dtype(dtype) or (
            pd.api.types.is_numeric_dtype(dtype) and not isinstance(dtype, pd.CategoricalDtype)
        ):
            x = values.to_numpy(dtype=np.float64)
            if not np.isfinite(x).all():
                raise ConfigError(
                    f"{func}: covariate '{col}' has infinite values; fix or drop those rows"
                )
            design[col] = x
            terms[col] = [col]
        elif (
            isinstance(dtype, pd.CategoricalDtype)
            or pd.api.types.is_object_dtype(dtype)
            or pd.api.types.is_string_dtype(dtype)
        ):
            if isinstance(dtype, pd.CategoricalDtype):
                # declared category order (R factor levels); unused categories dropped
                cat = values.cat.remove_unused_categories()
                levels = [str(c) for c in cat.cat.categories]
                text = cat.astype(str)
            else:
                text = values.astype(str)
                levels = sorted(pd.unique(text))
            if len(levels) < 2:
                raise ConfigError(
                    f"{func}: covariate '{col}' does not vary (only '{levels[0]}'); drop it"
                )
            references[col] = levels[0]
            terms[col] = []
            for level in levels[1:]:
                name = f"{col}={level}"
                design[name] = (text == level).to_numpy(np.float64)
                terms[col].append(name)
        else:
            raise ConfigError(
                f"{func}: covariate '{col}' has dtype {dtype}, which is neither numeric, bool "
                f"nor categorical; convert it (e.g. .astype(float) or .astype(str))"
            )
    frame = pd.DataFrame(design, index=data.index)
    constant = [c for c in frame.columns if np.ptp(frame[c].to_numpy()) == 0]
    if constant:
        raise ConfigError(
            f"{func}: covariate term(s) {preview(repr(c) for c in constant)} do not vary in the "
            f"data; drop them"
        )
    return frame, references, terms


def _check_events(n_events: int, n_terms: int, func: str, event: int) -> None:
    need = max(5, n_terms + 1)
    if n_events < need:
        raise ConfigError(
            f"{func}: only {n_events} event(s) with code {event}; at least {need} are needed "
            f"for {n_terms} term(s); use fewer covariates or more data"
        )


def _fit_quietly(fit_fn: Any, func: str) -> list[str]:
    """Run ``fit_fn``; translate lifelines convergence problems into qualmodel messages."""
    from lifelines.exceptions import ConvergenceError, ConvergenceWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            fit_fn()
        except ConvergenceError as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else "no detail"
            raise ConfigError(
                f"{func}: the fit did not converge ({first}); check for a covariate level "
                f"with no events or near-collinear covariates and drop or merge it"
            ) from None
    notes = []
    for w in caught:
        if issubclass(w.category, ConvergenceWarning | RuntimeWarning):
            notes.append(" ".join(str(w.message).split())[:200])
    for note in notes:
        warnings.warn(f"{func}: {note}", ModelWarning, stacklevel=3)
    return notes


def _z(conf_level: float) -> float:
    if not 0 < conf_level < 1:
        raise ConfigError(f"conf_level must be in (0, 1), got {conf_level!r}")
    return float(stats.norm.ppf(1 - (1 - conf_level) / 2))


def _wald(
    terms: Sequence[str], coef: np.ndarray, se: np.ndarray, zq: float, exp_prefix: str
) -> pd.DataFrame:
    z = coef / se
    lower, upper = coef - zq * se, coef + zq * se
    with np.errstate(over="ignore"):  # a diverging coefficient gives an infinite limit
        return pd.DataFrame(
            {
                "term": list(terms),
                "coef": coef,
                "se": se,
                "lower": lower,
                "upper": upper,
                exp_prefix: np.exp(coef),
                f"{exp_prefix}_lower": np.exp(lower),
                f"{exp_prefix}_upper": np.exp(upper),
                "z": z,
                "p_value": 2 * stats.norm.sf(np.abs(z)),
            }
        )


# ------------------------------------------------------------------------------ Cox
def cox(
    data: pd.DataFrame,
    covariates: str | Sequence[str],
    event: int = 1,
    ties: str = "efron",
    strata: str | Sequence[str] | None = None,
    conf_level: float = 0.95,
    *,
    concordance: bool = True,
) -> ModelFit:
    """Cause-specific Cox proportional-hazards model (lifelines ``CoxPHFitter``).

    Parameters
    ----------
    data : pandas.DataFrame
        Duration table of :func:`~qualmodel.durations.time_to_event` with the covariate
        columns (``time_to_event(..., covariates=[...])``).
    covariates : str or list of str
        Covariate columns (numeric, bool, or categorical → dummies against the first
        sorted level).
    event : int, default 1
        Event code modelled; every other code is censored (cause-specific hazard).
    ties : {"efron"}, default "efron"
        Tie handling; only Efron's method (R ``coxph``'s default) is available. With
        continuous timestamps round durations first (``time_to_event(..., resolution=1)``):
        the cost grows with the number of distinct event times.
    strata : str or list of str, optional
        Columns defining strata with separate baseline hazards (R ``strata()``).
    conf_level : float, default 0.95
        Level of the Wald limits.
    concordance : bool, default True
        Compute Harrell's concordance (lifelines; equals R's ``concordance`` of the fit).
        It costs more than the fit itself on large tables (≈10 s at 1M rows); pass
        ``False`` to skip it (``summary["concordance"]`` is then ``None``).

    Returns
    -------
    ModelFit
        ``table``: ``term, coef, se, lower, upper, hr, hr_lower, hr_upper, z, p_value``
        (R ``summary(coxph)``: coef, se(coef), exp(coef) and its limits, z, Pr(>|z|));
        ``summary``: ``n``, ``events``, ``log_likelihood`` (partial, Efron; R
        ``fit$loglik[2]``), ``log_likelihood_null`` (``fit$loglik[1]``),
        ``concordance`` (Harrell's C from lifelines, R's ``concordance``), ``event``,
        ``strata``, ``conf_level``. ``cox_zph(fit, data)`` tests proportional hazards.

    Raises
    ------
    ConfigError
        Unknown, missing-valued, constant or unsupported covariates; missing ``event``
        values; a strata column with missing values or also listed as a covariate; too few
        events; an unknown ``ties`` method; a fit that does not converge.
    """
    from lifelines import CoxPHFitter

    _check_table(data, "cox", event)
    if ties != "efron":
        raise ConfigError(f"cox: ties='{ties}' is not available; use ties='efron'")
    zq = _z(conf_level)
    strata_cols = _as_list(strata)
    both = [c for c in strata_cols if c in _as_list(covariates)]
    if both:
        raise ConfigError(
            f"cox: column(s) {preview(repr(c) for c in both)} given both as covariate and as "
            f"stratum; list each in covariates or in strata, not both"
        )
    design, references, terms = design_matrix(data, covariates, "cox")
    missing = [c for c in strata_cols if c not in data.columns]
    if missing:
        raise ConfigError(f"cox: strata column(s) {preview(missing)} not in the data; add them")
    for col in strata_cols:
        n_na = int(data[col].isna().sum())
        if n_na:
            raise ConfigError(
                f"cox: strata column '{col}' has {n_na} missing value(s); drop those rows or "
                f"fill them with an explicit level first"
            )
    status = (data["event"].to_numpy() == event).astype(np.int64)
    _check_events(int(status.sum()), design.shape[1], "cox", event)
    frame = design.reset_index(drop=True)
    for col in strata_cols:
        frame[f"__strata_{col}"] = data[col].astype(str).to_numpy()
    frame["__duration"] = data["duration"].to_numpy(np.float64)
    frame["__event"] = status
    strata_names = [f"__strata_{c}" for c in strata_cols] or None
    fitter = CoxPHFitter(alpha=1 - conf_level, strata=strata_names)
    _fit_quietly(
        lambda: fitter.fit(
            frame, duration_col="__duration", event_col="__event", fit_options=_FIT_OPTIONS
        ),
        "cox",
    )
    params = fitter.params_.reindex(design.columns)
    se = fitter.standard_errors_.reindex(design.columns).to_numpy()
    table = _wald(list(design.columns), params.to_numpy(), se, zq, "hr")
    summary = {
        "n": int(len(frame)),
        "events": int(status.sum()),
        "log_likelihood": float(fitter.log_likelihood_),
        "log_likelihood_null": _null_loglik(fitter),
        "concordance": float(fitter.concordance_index_) if concordance else None,
        "event": int(event),
        "strata": strata_cols,
        "conf_level": conf_level,
    }
    return ModelFit(
        "cox",
        table,
        summary,
        references,
        design=frame.assign(__strata=_strata_key(data, strata_cols)),
        terms=terms,
    )


def _null_loglik(fitter: Any) -> float | None:
    """Partial log-likelihood at β = 0 (lifelines records it at its first Newton step)."""
    value = getattr(fitter, "_ll_null_", None)
    return None if value is None else float(value)


def _strata_key(data: pd.DataFrame, cols: list[str]) -> np.ndarray:
    if not cols:
        return np.zeros(len(data), dtype=np.int64)
    key = data[cols].astype(str).agg("\x1f".join, axis=1)
    return pd.factorize(key)[0].astype(np.int64)


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


def _zph_score(
    time: np.ndarray,
    status: np.ndarray,
    x: np.ndarray,
    eta: np.ndarray,
    g: np.ndarray,
    strata: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Score and information of the model with covariates (x, g(t)·x) at (β̂, 0), Efron ties."""
    p = x.shape[1]
    u = np.zeros(2 * p)
    imat = np.zeros((2 * p, 2 * p))
    for s in np.unique(strata):
        m = strata == s
        t, d, xs, e, gs = time[m], status[m], x[m], eta[m], g[m]
        w = np.exp(e - e.max())
        ut, inv = np.unique(t, return_inverse=True)
        k = len(ut)

        def tsum(v: np.ndarray, sel: np.ndarray | None = None, inv=inv, k=k) -> np.ndarray:
            out = np.zeros((k,) + v.shape[1:])
            if sel is None:
                np.add.at(out, inv, v)
            else:
                np.add.at(out, inv[sel], v[sel])
            return out

        wx = w[:, None] * xs
        wxx = wx[:, :, None] * xs[:, None, :]
        ev = d == 1
        # risk-set sums: subjects with time >= u (reverse cumulative sums over distinct times)
        s0 = np.cumsum(tsum(w)[::-1])[::-1]
        s1 = np.cumsum(tsum(wx)[::-1], axis=0)[::-1]
        s2 = np.cumsum(tsum(wxx)[::-1], axis=0)[::-1]
        # sums over the tied events at each time
        nd = np.bincount(inv[ev], minlength=k)
        d0, d1, d2 = tsum(w, ev), tsum(wx, ev), tsum(wxx, ev)
        xe = tsum(xs, ev)
        # g(t) at each event time (constant within a time)
        gt = np.zeros(k)
        gt[inv[ev]] = gs[ev]
        # expand each event time into its nd Efron steps l = 0..nd-1
        j = np.repeat(np.arange(k), nd)
        if j.size == 0:
            continue
        starts = np.cumsum(nd) - nd
        frac = (np.arange(j.size) - starts[j]) / nd[j]
        a0 = s0[j] - frac * d0[j]
        xbar = (s1[j] - frac[:, None] * d1[j]) / a0[:, None]
        v = (s2[j] - frac[:, None, None] * d2[j]) / a0[:, None, None] - (
            xbar[:, :, None] * xbar[:, None, :]
        )
        gj = gt[j]
        u[:p] += xe.sum(axis=0) - xbar.sum(axis=0)
        u[p:] += (gt[:, None] * xe).sum(axis=0) - (gj[:, None] * xbar).sum(axis=0)
        imat[:p, :p] += v.sum(axis=0)
        cross = (gj[:, None, None] * v).sum(axis=0)
        imat[:p, p:] += cross
        imat[p:, :p] += cross.T
        imat[p:, p:] += (gj[:, None, None] ** 2 * v).sum(axis=0)
    return u, imat


def cox_zph(fit: ModelFit, data: pd.DataFrame, transform: str = "km") -> pd.DataFrame:
    """Test of proportional hazards for a :func:`cox` fit (R ``cox.zph``, survival ≥ 3).

    For each covariate (all dummies of a categorical together, as R's ``terms = TRUE``) a
    score test of adding that covariate's ``x · g(t)`` to the model (information matrix
    of all β and that term's γ at (β̂, 0), Efron ties), and a global test of all of them:
    the test of R ``survival`` 3.x ``cox.zph(fit, transform = "km")``. (lifelines'
    ``proportional_hazard_test`` is the older Grambsch–Therneau approximation of
    survival 2.x; its statistics differ.)

    Parameters
    ----------
    fit : ModelFit
        Result of :func:`cox` on ``data``.
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
        ``duration`` column differs from the fitted one, e.g. reordered rows), or unknown
        transform.
    """
    if not isinstance(fit, ModelFit) or fit.model != "cox" or fit.design is None:
        raise ConfigError("cox_zph: fit must be the result of qualmodel.models.cox(...)")
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
    names = list(fit.table["term"])
    x = design[names].to_numpy(np.float64)
    beta = fit.table["coef"].to_numpy(np.float64)
    time = design["__duration"].to_numpy(np.float64)
    status = design["__event"].to_numpy(np.int64)
    strata = design["__strata"].to_numpy()
    if transform == "km":
        g = _km_left(time, status)
    elif transform == "identity":
        g = time.copy()
    elif transform == "log":
        g = np.log(time)
    elif transform == "rank":
        g = stats.rankdata(time)
    else:
        raise ConfigError(
            f"cox_zph: transform '{transform}' is unknown; use km, identity, log or rank"
        )
    eta = x @ beta
    u, imat = _zph_score(time, status, x, eta, g, strata)
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
    out["p_value"] = stats.chi2.sf(out["chisq"], out["df"])
    return out


# ----------------------------------------------------------------------- Weibull AFT
def weibull_aft(
    data: pd.DataFrame,
    covariates: str | Sequence[str],
    event: int = 1,
    conf_level: float = 0.95,
) -> ModelFit:
    """Weibull accelerated-failure-time model (lifelines ``WeibullAFTFitter``).

    ``S(t | x) = exp(−(t / λ(x))^k)`` with ``log λ(x) = β₀ + x·β`` — R
    ``survreg(Surv(duration, event == code) ~ x, dist = "weibull")`` with
    ``k = 1 / scale``. The same model is proportional hazards with log hazard ratios
    ``β_PH = −k · β`` (standard errors by the delta method, using the covariance of
    ``β`` and ``log k``), reported next to the AFT coefficients so they can be compared
    with :func:`cox`.

    Parameters
    ----------
    data : pandas.DataFrame
        Duration table with the covariate columns; durations must be > 0 for rows that
        are events (a Weibull density is 0 or infinite at 0).
    covariates : str or list of str
        As in :func:`cox`.
    event : int, default 1
        Event code modelled; every other code is censored (cause-specific).
    conf_level : float, default 0.95
        Level of the Wald limits.

    Returns
    -------
    ModelFit
        ``table`` with one row per covariate term: AFT scale ``coef, se, lower, upper,
        time_ratio, time_ratio_lower, time_ratio_upper, z, p_value`` (``time_ratio =
        exp(coef)``: > 1 means slower), then the implied PH scale ``ph_coef, ph_se,
        ph_lower, ph_upper, hr, hr_lower, hr_upper``. ``summary``: ``n``, ``events``,
        ``log_likelihood`` (R ``fit$loglik[2]``), ``AIC``, ``intercept`` (log baseline
        scale) with ``intercept_se``, ``shape`` (k) with ``shape_se``/``shape_lower``/
        ``shape_upper``, ``log_shape_se``, ``scale`` (baseline λ = exp(intercept), time
        units) with limits, ``survreg_log_scale`` (= −log k, R's ``Log(scale)``).

    Raises
    ------
    ConfigError
        Bad covariates, missing ``event`` values, too few events, zero durations among
        events, collinear covariates (singular information matrix), no convergence.

    Warns
    -----
    ModelWarning
        The Newton polish did not converge (step not below tolerance or −H not positive
        definite), e.g. a categorical level with no events.
    """
    from lifelines import WeibullAFTFitter

    _check_table(data, "weibull_aft", event)
    zq = _z(conf_level)
    design, references, terms = design_matrix(data, covariates, "weibull_aft")
    status = (data["event"].to_numpy() == event).astype(np.int64)
    _check_events(int(status.sum()), design.shape[1] + 1, "weibull_aft", event)
    dur = data["duration"].to_numpy(np.float64)
    zero = (dur <= 0) & (status == 1)
    if zero.any():
        raise ConfigError(
            f"weibull_aft: {int(zero.sum())} event(s) at duration 0; a Weibull model needs "
            f"positive times: add a small offset (e.g. duration + 0.5 for day-rounded data) "
            f"or drop them"
        )
    frame = design.reset_index(drop=True)
    frame["__duration"] = np.where(dur <= 0, 1e-9, dur)
    frame["__event"] = status
    fitter = WeibullAFTFitter(alpha=1 - conf_level)
    _fit_quietly(
        lambda: fitter.fit(frame, duration_col="__duration", event_col="__event"),
        "weibull_aft",
    )
    names = list(design.columns)
    start = np.concatenate(
        [
            [float(fitter.params_[("lambda_", "Intercept")])],
            fitter.params_.loc[[("lambda_", n) for n in names]].to_numpy(),
            [float(fitter.params_[("rho_", "Intercept")])],
        ]
    )
    dmat = np.column_stack([np.ones(len(frame)), design.to_numpy(np.float64)])
    try:
        theta, cov_all, loglik, converged = _weibull_newton(
            dmat, frame["__duration"].to_numpy(np.float64), status.astype(np.float64), start
        )
    except np.linalg.LinAlgError:
        raise ConfigError(
            f"weibull_aft: singular information matrix: collinear covariates (a term that is "
            f"a linear combination of others among {preview(names)}) or a level with no "
            f"events; drop or merge that term"
        ) from None
    if not converged:
        warnings.warn(
            "weibull_aft: did not converge (Newton steps not below tolerance or the "
            "information matrix not positive definite); estimates and SEs are unreliable; "
            "a level with no events or collinear covariates?",
            ModelWarning,
            stacklevel=2,
        )
    p = len(names)
    coef = theta[1 : p + 1]
    var = cov_all[1 : p + 1, 1 : p + 1]
    se = np.sqrt(np.diag(var))
    table = _wald(names, coef, se, zq, "time_ratio")
    log_k = float(theta[-1])
    k = float(np.exp(log_k))
    var_logk = float(cov_all[-1, -1])
    cov_b_logk = cov_all[1 : p + 1, -1]
    # beta_PH = -k * beta; d/d beta = -k, d/d log k = -k * beta
    ph = -k * coef
    ph_var = k**2 * (np.diag(var) + coef**2 * var_logk + 2 * coef * cov_b_logk)
    ph_se = np.sqrt(ph_var)
    table["ph_coef"] = ph
    table["ph_se"] = ph_se
    table["ph_lower"] = ph - zq * ph_se
    table["ph_upper"] = ph + zq * ph_se
    with np.errstate(over="ignore"):  # a diverging coefficient gives an infinite limit
        table["hr"] = np.exp(ph)
        table["hr_lower"] = np.exp(ph - zq * ph_se)
        table["hr_upper"] = np.exp(ph + zq * ph_se)
    b0 = float(theta[0])
    b0_se = float(np.sqrt(cov_all[0, 0]))
    summary = {
        "n": int(len(frame)),
        "events": int(status.sum()),
        "log_likelihood": loglik,
        "AIC": 2 * len(theta) - 2 * loglik,
        "intercept": b0,
        "intercept_se": b0_se,
        "shape": k,
        "log_shape_se": float(np.sqrt(var_logk)),
        "shape_se": k * float(np.sqrt(var_logk)),
        "shape_lower": float(np.exp(log_k - zq * np.sqrt(var_logk))),
        "shape_upper": float(np.exp(log_k + zq * np.sqrt(var_logk))),
        "scale": float(np.exp(b0)),
        "scale_lower": float(np.exp(b0 - zq * b0_se)),
        "scale_upper": float(np.exp(b0 + zq * b0_se)),
        "survreg_log_scale": -log_k,
        "event": int(event),
        "conf_level": conf_level,
    }
    return ModelFit("weibull_aft", table, summary, references, terms=terms)


def _weibull_newton(
    dmat: np.ndarray,
    t: np.ndarray,
    d: np.ndarray,
    theta: np.ndarray,
    max_iter: int = 50,
    tol: float = 1e-11,
) -> tuple[np.ndarray, np.ndarray, float, bool]:
    """Polish a Weibull AFT fit by Newton–Raphson with the analytic Hessian.

    lifelines stops its quasi-Newton search at a loose gradient tolerance; a few exact
    Newton steps bring the estimates to R ``survreg`` precision.

    Parameters
    ----------
    dmat : numpy.ndarray
        Design matrix with the intercept column first.
    t, d : numpy.ndarray
        Positive times and 0/1 event indicators.
    theta : numpy.ndarray
        Starting values ``(β₀, β, log k)``; ``z = k (log t − D·β)``, log-likelihood
        ``Σ d (log k − log t + z) − exp(z)``.
    max_iter : int, default 50
        Maximum number of Newton steps (each with up to 30 step halvings).
    tol : float, default 1e-11
        Convergence tolerance on the largest absolute step.

    Returns
    -------
    theta : numpy.ndarray
        Estimates.
    cov : numpy.ndarray
        Inverse of the observed information ``−H``.
    loglik : float
        Log-likelihood at ``theta``.
    converged : bool
        The last step was below ``tol`` (without exhausting the step halvings) and ``−H``
        is positive definite.

    Raises
    ------
    numpy.linalg.LinAlgError
        The Hessian is singular (collinear covariates).
    """
    logt = np.log(t)

    def parts(th: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        rho = np.exp(th[-1])
        z = rho * (logt - dmat @ th[:-1])
        with np.errstate(over="ignore"):
            w = np.exp(z)
        ll = float(np.sum(d * (th[-1] - logt + z) - w))
        r = d - w
        grad = np.concatenate([-rho * (dmat.T @ r), [np.sum(d + r * z)]])
        hb = -(rho**2) * (dmat.T * w) @ dmat
        hba = -rho * (dmat.T @ (r - w * z))
        haa = float(np.sum(z * r - w * z**2))
        hess = np.block([[hb, hba[:, None]], [hba[None, :], np.array([[haa]])]])
        return ll, grad, hess

    ll, grad, hess = parts(theta)
    small_step = False
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(max_iter):
            step = np.linalg.solve(hess, grad)
            if not np.isfinite(step).all():
                break
            new = theta - step
            ll_new, g_new, h_new = parts(new)
            halvings = 0
            while not np.isfinite(ll_new) or ll_new < ll - 1e-9:
                step = step / 2
                new = theta - step
                ll_new, g_new, h_new = parts(new)
                halvings += 1
                if halvings > 30:
                    break
            if not np.isfinite(ll_new):
                break
            theta, ll, grad, hess = new, ll_new, g_new, h_new
            if np.max(np.abs(step)) < tol:
                small_step = halvings <= 30
                break
    cov = np.linalg.inv(-hess)
    try:
        np.linalg.cholesky(-hess)
        positive = True
    except np.linalg.LinAlgError:
        positive = False
    return theta, cov, ll, bool(small_step and positive and np.isfinite(cov).all())


# ---------------------------------------------------------------------- cure model
def cure_model(
    data: pd.DataFrame,
    covariates: str | Sequence[str] | None = None,
    event: int = 1,
    conf_level: float = 0.95,
    zero_time: float | None = 0.5,
) -> ModelFit:
    """Mixture cure model with a Weibull latency (lifelines ``MixtureCureFitter``).

    ``S(t) = π + (1 − π) · exp(−(t / λ)^k)``: a share ``π`` of leads never has the event
    ("cured"); the others (the susceptible) have Weibull times with scale ``λ`` and shape
    ``k``. Univariate: covariates on the cure share or the latency are not implemented —
    fit subgroups separately to compare them.

    Competing events (codes other than ``event``) are censored, so ``π`` is the share that
    would **never** reach the event if the competing outcome did not remove anyone, which
    is only right when the competing outcome (disqualification) is independent of being
    cured. When sales disqualifies never-converting leads faster (the usual case, and the
    simulator's ``disqualification.never_convert_log_hr > 0``), censoring is informative:
    cured leads leave the risk set early, the remaining risk set looks more susceptible
    and ``π`` is **underestimated**. ``π`` also needs follow-up well past the bulk of the
    susceptible times (a visible plateau of the Kaplan–Meier curve).

    Parameters
    ----------
    data : pandas.DataFrame
        Duration table (durations of events must be > 0).
    covariates : None
        Reserved; must be ``None``.
    event : int, default 1
        Event code modelled; other codes are censored.
    conf_level : float, default 0.95
        Level of the limits; the cured fraction's limits are Wald limits on the logit
        scale (they stay inside (0, 1); NaN when the estimate is at the boundary), shape
        and scale on the log scale.
    zero_time : float or None, default 0.5
        Duration given to events at duration 0 (the Weibull likelihood is undefined
        there). The default, half a unit, places an event on the start day of day-rounded
        data (``resolution=1``) at mid-day — the midpoint of the interval it is known to
        lie in. It must be positive and at most the smallest positive event duration
        (otherwise pass a smaller value, e.g. for exact timestamps). ``None``: zero event
        durations raise a :class:`ConfigError`. ``summary["zero_events"]`` counts them.

    Returns
    -------
    ModelFit
        ``table`` with rows ``cured_fraction``, ``scale``, ``shape`` and columns
        ``term, estimate, se, lower, upper``; ``summary``: ``n``, ``events``,
        ``log_likelihood``, ``AIC``, ``cured_fraction`` and its limits, ``km_plateau``
        (Kaplan–Meier survival at the last event time, for comparison), ``max_event_time``,
        ``max_time``.

    Raises
    ------
    ConfigError
        Covariates given, missing ``event`` values, too few events, zero event durations
        with ``zero_time=None`` (or a ``zero_time`` above the smallest positive event
        duration), no convergence.

    Warns
    -----
    ModelWarning
        The cured fraction sits at the optimiser's bound (within 1e-6 of 0 or 1): no
        plateau or follow-up too short; its limits are then NaN.
    """
    from lifelines import MixtureCureFitter, WeibullFitter

    _check_table(data, "cure_model", event)
    if covariates is not None and len(_as_list(covariates)) > 0:
        raise ConfigError(
            "cure_model: covariates are not supported (univariate mixture cure model); "
            "fit each subgroup separately, e.g. data[data.segment == 'smb']"
        )
    zq = _z(conf_level)
    dur = data["duration"].to_numpy(np.float64)
    status = (data["event"].to_numpy() == event).astype(np.int64)
    _check_events(int(status.sum()), 3, "cure_model", event)
    zero = (dur <= 0) & (status == 1)
    t = _zero_durations(dur, status, zero, zero_time)
    fitter = MixtureCureFitter(WeibullFitter(), alpha=1 - conf_level)
    # start near the Kaplan-Meier plateau and a moment-based Weibull scale
    km_plateau = float(np.exp(-_km_cumhaz_end(t, status)))
    init = np.array(
        [min(max(km_plateau * 0.9, 0.02), 0.98), float(np.median(t[status == 1])) * 1.3, 1.0]
    )
    with np.errstate(over="ignore", under="ignore"):  # exp overflow in trial steps
        _fit_quietly(lambda: fitter.fit(t, status, initial_point=init), "cure_model")
    pi = float(fitter.cured_fraction_)
    cov = fitter.variance_matrix_
    var_pi = float(cov.loc["cured_fraction_", "cured_fraction_"])
    se_pi = float(np.sqrt(var_pi)) if var_pi >= 0 else float("nan")
    if not _BOUNDARY < pi < 1 - _BOUNDARY:
        warnings.warn(
            f"cure_model: cured fraction at the boundary ({pi:.3g}): no plateau or follow-up "
            f"too short; its interval is NaN (the Kaplan-Meier curve should level off above "
            f"0 well before the last time)",
            ModelWarning,
            stacklevel=2,
        )
        lo_pi = hi_pi = float("nan")
    else:
        logit = np.log(pi / (1 - pi))
        se_logit = se_pi / (pi * (1 - pi))
        lo_pi = float(1 / (1 + np.exp(-(logit - zq * se_logit))))
        hi_pi = float(1 / (1 + np.exp(-(logit + zq * se_logit))))
    rows = [("cured_fraction", pi, se_pi, lo_pi, hi_pi)]
    for term, key in (("scale", "lambda_"), ("shape", "rho_")):
        est = float(fitter.params_[key])
        se = float(np.sqrt(cov.loc[key, key]))
        s_log = se / est
        rows.append(
            (term, est, se, float(est * np.exp(-zq * s_log)), float(est * np.exp(zq * s_log)))
        )
    table = pd.DataFrame(rows, columns=["term", "estimate", "se", "lower", "upper"])
    summary = {
        "n": int(len(t)),
        "events": int(status.sum()),
        "log_likelihood": float(fitter.log_likelihood_),
        "AIC": float(fitter.AIC_),
        "cured_fraction": pi,
        "cured_fraction_lower": lo_pi,
        "cured_fraction_upper": hi_pi,
        "km_plateau": km_plateau,
        "max_event_time": float(t[status == 1].max()),
        "max_time": float(t.max()),
        "event": int(event),
        "conf_level": conf_level,
        "zero_events": int(zero.sum()),
        "zero_time": zero_time,
    }
    return ModelFit("cure", table, summary)


def _zero_durations(
    dur: np.ndarray, status: np.ndarray, zero: np.ndarray, zero_time: float | None
) -> np.ndarray:
    """Durations with zero-duration events at ``zero_time`` (censored zeros at ~0)."""
    if zero.any():
        if zero_time is None:
            raise ConfigError(
                f"cure_model: {int(zero.sum())} event(s) at duration 0; pass zero_time "
                f"(default 0.5, mid-day for day-rounded data) or drop them"
            )
        positive = dur[(status == 1) & (dur > 0)]
        smallest = float(positive.min()) if positive.size else float("inf")
        if not (np.isfinite(zero_time) and 0 < zero_time <= smallest):
            raise ConfigError(
                f"cure_model: zero_time={zero_time!r} must be positive and at most the "
                f"smallest positive event duration ({smallest:g}); pass a smaller zero_time"
            )
    t = np.where(zero, zero_time if zero_time is not None else 0.0, dur)
    return np.where(t <= 0, 1e-9, t)


def _km_cumhaz_end(t: np.ndarray, status: np.ndarray) -> float:
    """−log of the Kaplan–Meier survival at the last time (product-limit, exact ties)."""
    ut, inv = np.unique(t, return_inverse=True)
    d = np.bincount(inv, weights=status, minlength=len(ut))
    n_at = np.cumsum(np.bincount(inv, minlength=len(ut))[::-1])[::-1]
    q = 1.0 - d / n_at
    if (q <= 0).any():
        return float("inf")
    return float(-np.log(q).sum())
