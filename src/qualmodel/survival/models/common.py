"""Shared pieces of the regression models: result type, design matrix, checks, Wald table."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from qualmodel.core.distributions import norm_sf
from qualmodel.core.errors import ConfigError, preview

__all__ = ["ModelFit", "ModelWarning", "design_matrix", "model_inputs"]

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
BOUNDARY = 1e-6


class ModelWarning(UserWarning):
    """A fit finished but is doubtful (e.g. the optimiser reported poor convergence)."""


@dataclass(frozen=True, eq=False)
class ModelFit:
    """Result of :func:`cox`, :func:`weibull_aft` or :func:`cure_model`.

    Attributes
    ----------
    model : str
        ``"cox"``, ``"fine_gray"``, ``"weibull_aft"`` or ``"cure"``.
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
    baseline : pandas.DataFrame or None
        (Fine–Gray only) ``stratum, time, hazard, cumhaz`` of the baseline
        subdistribution hazard, used by :func:`~qualmodel.survival.models.predict_cif`.
    problem : object or None
        (Cox without ``start`` only) the engine's sorted, prepared problem, reused by
        :func:`cox_zph` so the test does not sort the rows again (it holds a sorted copy of
        the design: about ``n × (p + 6)`` floats).
    """

    model: str
    table: pd.DataFrame
    summary: dict[str, Any]
    references: dict[str, str] = field(default_factory=dict)
    design: pd.DataFrame | None = field(default=None, repr=False, compare=False)
    terms: dict[str, list[str]] = field(default_factory=dict, repr=False, compare=False)
    baseline: pd.DataFrame | None = field(default=None, repr=False, compare=False)
    problem: Any = field(default=None, repr=False, compare=False)


# --------------------------------------------------------------------------- helpers
def as_list(covariates: str | Sequence[str] | None) -> list[str]:
    if covariates is None:
        return []
    if isinstance(covariates, str):
        return [covariates]
    return list(covariates)


def check_table(data: pd.DataFrame, func: str, event: int) -> None:
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
    cols = as_list(covariates)
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


def check_events(n_events: int, n_terms: int, func: str, event: int) -> None:
    need = max(5, n_terms + 1)
    if n_events < need:
        raise ConfigError(
            f"{func}: only {n_events} event(s) with code {event}; at least {need} are needed "
            f"for {n_terms} term(s); use fewer covariates or more data"
        )


def fit_quietly(fit_fn: Any, func: str) -> list[str]:
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


def wald(
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
                "p_value": 2 * norm_sf(np.abs(z)),
            }
        )


def check_collinear(design: pd.DataFrame, func: str) -> None:
    """Raise when a term is (numerically) a linear combination of the terms before it."""
    x = design.to_numpy(np.float64)
    x = x - x.mean(axis=0)
    gram = x.T @ x
    names = list(design.columns)
    kept: list[int] = []
    for j in range(len(names)):
        idx = [*kept, j]
        sub = gram[np.ix_(idx, idx)]
        if kept:
            a = gram[np.ix_(kept, kept)]
            b = gram[kept, j]
            resid = gram[j, j] - b @ np.linalg.solve(a, b)
        else:
            resid = sub[0, 0]
        if resid <= 1e-10 * max(gram[j, j], 1e-300):
            others = preview(repr(names[i]) for i in kept)
            raise ConfigError(
                f"{func}: covariate term '{names[j]}' is collinear with {others} (a linear "
                f"combination of them); drop it or merge the levels"
            )
        kept.append(j)


@dataclass
class ModelInputs:
    """Checked arrays of a proportional-hazards fit (see :func:`model_inputs`)."""

    design: pd.DataFrame
    references: dict[str, str]
    terms: dict[str, list[str]]
    status: np.ndarray
    strata_cols: list[str]
    strata: np.ndarray
    weights: np.ndarray | None


def model_inputs(
    data: pd.DataFrame,
    covariates: str | Sequence[str],
    event: int,
    strata: str | Sequence[str] | None,
    weights: str | None,
    func: str,
) -> ModelInputs:
    """Design matrix, event indicator, stratum codes and weights, with one-line errors.

    Raises
    ------
    ConfigError
        Bad covariates (unknown, missing, constant, collinear), no events, a strata column
        missing / with missing values / also a covariate / with a one-lead stratum, bad
        weights.
    """
    check_table(data, func, event)
    strata_cols = as_list(strata)
    both = [c for c in strata_cols if c in as_list(covariates)]
    if both:
        raise ConfigError(
            f"{func}: column(s) {preview(repr(c) for c in both)} given both as covariate and "
            f"as stratum; list each in covariates or in strata, not both"
        )
    design, references, terms = design_matrix(data, covariates, func)
    missing = [c for c in strata_cols if c not in data.columns]
    if missing:
        raise ConfigError(f"{func}: strata column(s) {preview(missing)} not in the data; add them")
    for col in strata_cols:
        n_na = int(data[col].isna().sum())
        if n_na:
            raise ConfigError(
                f"{func}: strata column '{col}' has {n_na} missing value(s); drop those rows "
                f"or fill them with an explicit level first"
            )
    status = (data["event"].to_numpy() == event).astype(np.int64)
    if status.sum() == 0:
        codes = preview(sorted(int(c) for c in pd.unique(data["event"])))
        raise ConfigError(
            f"{func}: no events with code {event} (event codes present: {codes}); every row "
            f"would be censored; choose another event code or more data"
        )
    check_events(int(status.sum()), design.shape[1], func, event)
    check_collinear(design, func)
    codes = _strata_key(data, strata_cols)
    if strata_cols:
        counts = np.bincount(codes)
        if (counts < 2).any():
            row = int(np.flatnonzero(counts[codes] < 2)[0])
            label = ", ".join(f"{c}={data[c].iloc[row]}" for c in strata_cols)
            raise ConfigError(
                f"{func}: stratum {label} has only one lead; merge it with another level or "
                f"drop that row"
            )
    w = None
    if weights is not None:
        if weights not in data.columns:
            raise ConfigError(f"{func}: weights column '{weights}' not in the data; add it")
        w = pd.to_numeric(data[weights], errors="coerce").to_numpy(np.float64)
        bad = ~np.isfinite(w) | (w <= 0)
        if bad.any():
            raise ConfigError(
                f"{func}: weights column '{weights}' has {int(bad.sum())} missing, infinite or "
                f"non-positive value(s) (first at row {int(np.flatnonzero(bad)[0])}); weights "
                f"must be > 0"
            )
    return ModelInputs(design, references, terms, status, strata_cols, codes, w)


def _strata_key(data: pd.DataFrame, cols: list[str]) -> np.ndarray:
    if not cols:
        return np.zeros(len(data), dtype=np.int64)
    key = data[cols].astype(str).agg("\x1f".join, axis=1)
    return pd.factorize(key)[0].astype(np.int64)
