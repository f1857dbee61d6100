"""Fit lead-scoring points from outcomes and turn them into a ``score`` criterion.

The model is a logistic regression (statsmodels ``Logit``) of an outcome (for example
"reached ``won_at``", or an imported ``converted`` flag) on

* per-lead counts of event types inside a window ``[start, start + window_days]``, each
  count capped at ``max_count`` (the same cap the resulting criterion applies), and
* indicators of categorical / boolean lead attributes (one level of each categorical is
  the reference, the most frequent one; levels seen in fewer than ``min_level_count``
  leads are folded into it) and of BANT facts.

Coefficients become points on a scorecard scale: ``points = coef × points_per_logit``
(rounded to ``decimals``). A lead's score is then ``points_per_logit × (linear predictor −
intercept)``, so "predicted probability ≥ p*" is exactly "score ≥ threshold" with
``threshold = points_per_logit × (logit(p*) − intercept)``. The criterion has no decay and
counts events over the whole journey with the fitted caps, so it qualifies a lead at the
first event after which the model's evidence reaches ``p*``.

Counting events inside a fixed window after ``start`` keeps the features comparable
between leads; only leads observed for the whole window enter the fit (the others are
counted in :attr:`FittedScore.n_excluded`). Events after the outcome inside the window do
count — choose a window that ends before the outcome usually happens if that matters.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from qualmodel.core.checks import check_count, check_number
from qualmodel.core.errors import ConfigError
from qualmodel.criteria.schema import AttributePoints, Criterion, EventPoints, ScoreRule
from qualmodel.journeys.contract import TRUTH_PREFIX, Journeys
from qualmodel.survival.common import z_value

__all__ = ["FittedScore", "fit_score_criterion", "scoring_features"]

_DAY_NS = 86_400 * 10**9
#: Longest counting window (days) and largest cap per event type.
MAX_DAYS = 36_500
MAX_COUNT = 1_000_000
_BANT_COLUMN = {"budget": "budget_confirmed", "authority": "authority", "need": "need"}


@dataclass(frozen=True)
class FittedScore:
    """Result of :func:`fit_score_criterion`.

    Attributes
    ----------
    criterion : Criterion
        A ``score`` criterion with the fitted points and threshold.
    coefficients : pandas.DataFrame
        One row per term (``intercept`` first): ``term``, ``kind`` (``intercept``,
        ``event``, ``attribute``, ``bant``), ``coef``, ``se``, ``lower``, ``upper`` (Wald
        CI), ``p_value``, ``points``.
    threshold : float
        Score at which the predicted probability reaches ``target_probability``.
    target_probability : float
    base_rate : float
        Outcome share among the leads used in the fit.
    n : int
        Leads used in the fit.
    n_excluded : int
        Leads left out: no ``start``, unknown outcome, or observed for less than the window.
    """

    criterion: Criterion
    coefficients: pd.DataFrame
    threshold: float
    target_probability: float
    base_rate: float
    n: int
    n_excluded: int


def _outcome(leads: pd.DataFrame, outcome: str) -> pd.Series:
    if outcome not in leads.columns:
        raise ConfigError(
            f"fit_score_criterion: outcome column '{outcome}' not in leads; use a stage "
            f"column such as 'won_at' or a boolean column"
        )
    if outcome.startswith(TRUTH_PREFIX):
        raise ConfigError(
            f"fit_score_criterion: '{outcome}' is simulation truth; fit on an observable outcome"
        )
    col = leads[outcome]
    if pd.api.types.is_datetime64_dtype(col.dtype):
        return col.notna().astype("float64")
    if pd.api.types.is_bool_dtype(col.dtype) or str(col.dtype) == "boolean":
        return col.astype("float64")
    raise ConfigError(
        f"fit_score_criterion: outcome '{outcome}' has dtype {col.dtype}; use a stage "
        f"timestamp column or a boolean column"
    )


def scoring_features(
    journeys: Journeys,
    events: Sequence[str] | None = None,
    *,
    start: str = "created_at",
    window_days: float | None = None,
    max_count: int = 5,
) -> pd.DataFrame:
    """Per-lead capped counts of event types inside ``[start, start + window_days]``.

    Parameters
    ----------
    journeys : Journeys
    events : sequence of str, optional
        Event types to count; default every type in the journeys.
    start : str, default "created_at"
        Lead timestamp column where the window opens; leads without it get NaN counts.
    window_days : float, optional
        Window length; ``None`` counts up to ``observed_until``.
    max_count : int, default 5
        Counts are capped at this value.

    Returns
    -------
    pandas.DataFrame
        Indexed like ``journeys.leads`` with one float column per event type.
    """
    leads = journeys.leads
    if start not in leads.columns:
        raise ConfigError(f"scoring_features: start column '{start}' not in leads")
    check_count("scoring_features: max_count", max_count, high=MAX_COUNT)
    if window_days is not None:
        check_number("scoring_features: window_days", window_days, low=0, high=MAX_DAYS,
                     low_open=True)  # fmt: skip
    names = list(events) if events is not None else journeys.event_names
    unknown = sorted(set(names) - set(journeys.event_names))
    if unknown:
        raise ConfigError(
            f"scoring_features: unknown event(s) {', '.join(unknown)}; known: "
            f"{', '.join(journeys.event_names)}"
        )
    codes = journeys.event_lead_codes
    ts = journeys.events["ts"].to_numpy().view("int64")
    t0 = leads[start].to_numpy().view("int64")
    has_start = leads[start].notna().to_numpy()
    lo = t0[codes]
    inside = has_start[codes] & (ts >= lo)
    if window_days is not None:
        inside &= ts <= lo + int(round(window_days * _DAY_NS))
    ev_codes = journeys.events["event"].cat.codes.to_numpy()
    cats = [str(c) for c in journeys.events["event"].cat.categories]
    out = {}
    for name in names:
        sel = inside & (ev_codes == cats.index(name))
        counts = np.bincount(codes[sel], minlength=len(leads)).astype("float64")
        counts = np.minimum(counts, max_count)
        counts[~has_start] = np.nan
        out[name] = counts
    return pd.DataFrame(out, index=leads.index)


def _attribute_design(
    leads: pd.DataFrame, attributes: Sequence[str], min_level_count: int
) -> tuple[pd.DataFrame, list[tuple[str, AttributePoints | None, object]]]:
    cols: dict[str, np.ndarray] = {}
    specs: list[tuple[str, AttributePoints | None, object]] = []
    for col in attributes:
        if col not in leads.columns:
            raise ConfigError(f"fit_score_criterion: attribute column '{col}' not in leads")
        if col.startswith(TRUTH_PREFIX):
            raise ConfigError(
                f"fit_score_criterion: '{col}' is simulation truth; criteria cannot use it"
            )
        s = leads[col]
        if pd.api.types.is_bool_dtype(s.dtype) or str(s.dtype) == "boolean":
            term = f"{col}=True"
            cols[term] = s.astype("float64").to_numpy()
            specs.append((term, None, (col, True)))
        elif isinstance(s.dtype, pd.CategoricalDtype) or s.dtype == object:
            counts = s.astype(object).dropna().astype(str).value_counts()
            if len(counts) < 2:
                raise ConfigError(
                    f"fit_score_criterion: attribute '{col}' has fewer than two levels; drop it"
                )
            ref = counts.index[0]
            values = s.astype(object).where(s.notna(), None)
            # rare levels are folded into the reference (0 points) to keep the fit stable
            levels = [lv for lv in counts.index[1:] if counts[lv] >= min_level_count]
            for level in sorted(levels):
                term = f"{col}={level}"
                x = (values.astype(str) == level).astype("float64").to_numpy()
                x[s.isna().to_numpy()] = np.nan
                cols[term] = x
                specs.append((term, None, (col, level, ref)))
        else:
            raise ConfigError(
                f"fit_score_criterion: attribute '{col}' is numeric ({s.dtype}); bin it into "
                f"categories first (e.g. pandas.cut) so it can become points"
            )
    return pd.DataFrame(cols, index=leads.index), specs


def _bant_design(leads: pd.DataFrame, bant: Sequence[str]) -> pd.DataFrame:
    """Return one float column ``bant:<fact>`` per BANT fact (NaN where unknown)."""
    bant_df = pd.DataFrame(index=leads.index)
    for fact in bant:
        col = _BANT_COLUMN[fact]
        if col not in leads.columns:
            raise ConfigError(f"fit_score_criterion: BANT column '{col}' not in leads")
        bant_df[f"bant:{fact}"] = leads[col].astype("float64")
    return bant_df


def _fit_rows(
    leads: pd.DataFrame, X: pd.DataFrame, y: pd.Series, start: str, window_days: float | None
) -> tuple[pd.DataFrame, pd.Series]:
    """Keep complete leads observed for the full window; raise if the fit can't be supported."""
    keep = X.notna().all(axis=1) & y.notna()
    if window_days is not None:
        opened = leads[start].to_numpy().view("int64")
        until = leads["observed_until"].to_numpy().view("int64")
        keep &= until >= opened + int(round(window_days * _DAY_NS))
    X, yk = X.loc[keep], y.loc[keep]
    constant = [c for c in X.columns if X[c].nunique() < 2]
    if constant:
        raise ConfigError(
            f"fit_score_criterion: term(s) {', '.join(constant)} do not vary among the "
            f"fitted leads; drop them"
        )
    if len(yk) < 10 * (X.shape[1] + 1) or yk.nunique() < 2:
        raise ConfigError(
            f"fit_score_criterion: {len(yk)} usable leads with outcome rate "
            f"{yk.mean() if len(yk) else float('nan'):.3f} cannot support {X.shape[1]} terms; "
            f"use more leads, fewer terms, or another outcome"
        )
    return X, yk


def _logit_fit(X: pd.DataFrame, yk: pd.Series) -> Any:
    """Fit the logistic regression of ``yk`` on ``X`` (plus intercept); failures raise."""
    # statsmodels (and the scipy.stats it loads) takes about a second to import: only here
    from statsmodels.discrete.discrete_model import Logit

    design = X.astype("float64")
    design.insert(0, "const", 1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            res = Logit(yk.to_numpy(), design).fit(disp=0, maxiter=200)
        except Exception as exc:  # PerfectSeparation, convergence, singular matrix
            raise ConfigError(
                f"fit_score_criterion: the logistic fit failed ({type(exc).__name__}: "
                f"{str(exc).splitlines()[0] if str(exc) else ''}); drop terms that separate "
                f"the outcome perfectly or merge rare levels"
            ) from None
    if not res.mle_retvals.get("converged", True):
        raise ConfigError("fit_score_criterion: the logistic fit did not converge; drop terms")
    return res


def _points_terms(
    points: pd.Series,
    event_terms: Sequence[str],
    specs: list,
    bant_terms: Sequence[str],
    max_count: int,
) -> tuple[dict[str, EventPoints], list[AttributePoints]]:
    """Turn nonzero rounded points into score-rule event and attribute terms."""
    event_points = {
        term.split(":", 1)[1]: EventPoints(points=float(points[term]), max_count=max_count)
        for term in event_terms
        if points[term] != 0
    }
    attr_points: list[AttributePoints] = []
    for term, _, info in specs:
        if points[term] == 0:
            continue
        col, level = info[0], info[1]
        attr_points.append(AttributePoints(column=col, equals=level, points=float(points[term])))
    for term in bant_terms:
        if points[term] != 0:
            attr_points.append(
                AttributePoints(bant=term.split(":", 1)[1], points=float(points[term]))
            )
    if not event_points and not attr_points:
        raise ConfigError(
            "fit_score_criterion: every fitted term rounds to 0 points; raise "
            "points_per_logit or decimals"
        )
    return event_points, attr_points


def _coefficient_table(
    res: Any, kinds: dict[str, str], points: pd.Series, z: float
) -> pd.DataFrame:
    """One row per fitted term: coefficient, SE, Wald interval, p-value and points."""
    coef, se = res.params, res.bse
    return pd.DataFrame(
        {
            "term": ["intercept" if t == "const" else t for t in coef.index],
            "kind": [kinds[t] for t in coef.index],
            "coef": coef.to_numpy(),
            "se": se.to_numpy(),
            "lower": (coef - z * se).to_numpy(),
            "upper": (coef + z * se).to_numpy(),
            "p_value": res.pvalues.to_numpy(),
            "points": points.to_numpy(),
        }
    )


def fit_score_criterion(
    journeys: Journeys,
    outcome: str = "won_at",
    *,
    events: Sequence[str] | None = None,
    attributes: Sequence[str] = (),
    bant: Sequence[str] = (),
    start: str = "created_at",
    window_days: float | None = None,
    max_count: int = 5,
    min_level_count: int = 30,
    points_per_logit: float = 20.0,
    decimals: int = 0,
    target_probability: float | None = None,
    conf_level: float = 0.95,
    name: str = "fitted_score",
) -> FittedScore:
    """Fit points per event type and attribute by logistic regression on an outcome.

    Parameters
    ----------
    journeys : Journeys
    outcome : str, default "won_at"
        A stage timestamp column (outcome = reached it by ``observed_until``) or a boolean
        lead column (e.g. an imported ``converted`` flag). Never a ``true_*`` column.
    events : sequence of str, optional
        Event types to score; default every type in the journeys. Pass ``[]`` for an
        attributes-only model.
    attributes : sequence of str
        Categorical or boolean lead columns (e.g. ``segment``, ``source``).
    bant : sequence of str
        BANT facts among ``budget``, ``authority``, ``need`` scored as attributes.
    start : str, default "created_at"
        Where the counting window opens.
    window_days : float, optional
        Counting window; only leads observed for the full window are fitted. ``None``
        counts every event up to ``observed_until``.
    max_count : int, default 5
        Cap per event type, both in the features and in the criterion.
    min_level_count : int, default 30
        Categorical levels seen in fewer leads are folded into the reference level
        (0 points), which keeps the fit away from separation on rare levels.
    points_per_logit : float, default 20
        Points per unit of log-odds (scorecard scale).
    decimals : int, default 0
        Rounding of points (0 = whole points).
    target_probability : float, optional
        Predicted outcome probability at which a lead qualifies; default twice the base
        rate (lift 2), capped at 0.9.
    conf_level : float, default 0.95
        Level of the Wald intervals in ``coefficients``.
    name : str, default "fitted_score"
        Name of the returned criterion.

    Returns
    -------
    FittedScore

    Raises
    ------
    ConfigError
        Unknown columns or events, numeric attributes, too few leads, no outcome
        variation, or a fit that does not converge (e.g. perfect separation).
    """
    z = z_value(conf_level, "fit_score_criterion")
    leads = journeys.leads
    check_number("fit_score_criterion: points_per_logit", points_per_logit, low=0, low_open=True)
    if target_probability is not None:
        check_number("fit_score_criterion: target_probability", target_probability, low=0,
                     high=1, low_open=True, high_open=True)  # fmt: skip
    y = _outcome(leads, outcome)
    ev = scoring_features(
        journeys, events, start=start, window_days=window_days, max_count=max_count
    )
    ev.columns = [f"event:{c}" for c in ev.columns]
    attr_cols = list(attributes)
    bad_facts = sorted(set(bant) - set(_BANT_COLUMN))
    if bad_facts:
        raise ConfigError(
            f"fit_score_criterion: unknown BANT fact(s) {', '.join(bad_facts)}; use "
            f"budget, authority, need"
        )
    if min_level_count < 1:
        raise ConfigError("fit_score_criterion: min_level_count must be ≥ 1")
    attr, specs = _attribute_design(leads, attr_cols, min_level_count)
    bant_df = _bant_design(leads, bant)
    X = pd.concat([ev, attr, bant_df], axis=1)
    if X.shape[1] == 0:
        raise ConfigError("fit_score_criterion: nothing to score; give events and/or attributes")
    X, yk = _fit_rows(leads, X, y, start, window_days)
    res = _logit_fit(X, yk)
    coef = res.params
    points = (coef * points_per_logit).round(decimals)
    base_rate = float(yk.mean())
    p_star = min(0.9, 2 * base_rate) if target_probability is None else target_probability
    if not 0 < p_star < 1:
        raise ConfigError(
            f"fit_score_criterion: target_probability must be in (0, 1), got {p_star}"
        )
    intercept = float(coef["const"])
    threshold = round(points_per_logit * (math.log(p_star / (1 - p_star)) - intercept), decimals)

    event_points, attr_points = _points_terms(points, ev.columns, specs, bant_df.columns, max_count)
    crit = Criterion(
        name=name,
        description=(
            f"Fitted on {len(yk)} leads (outcome {outcome}, base rate {base_rate:.3f}); "
            f"qualifies when the predicted probability reaches {p_star:.3f}."
        ),
        score=ScoreRule(threshold=threshold, events=event_points, attributes=attr_points),
    )
    kinds = {"const": "intercept"}
    kinds.update({c: "event" for c in ev.columns})
    kinds.update({c: "attribute" for c in attr.columns})
    kinds.update({c: "bant" for c in bant_df.columns})
    table = _coefficient_table(res, kinds, points, z)
    return FittedScore(
        criterion=crit,
        coefficients=table,
        threshold=float(threshold),
        target_probability=float(p_star),
        base_rate=base_rate,
        n=int(len(yk)),
        n_excluded=int(len(leads) - len(yk)),
    )
