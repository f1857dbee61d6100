"""The one headline median of the reports: days to the outcome among leads reaching it.

Three "median days to SQO" are easy to compute and all mislead when some leads are still
open and others are disqualified:

* the median over leads *observed* to convert is biased low: recent leads that will convert
  late are still open, so slow conversions are missing;
* the Kaplan–Meier median with disqualified leads censored describes a world in which
  nobody is disqualified (it counts disqualified leads as if they could still convert);
* the day by which half of *all* accepted leads converted is usually never reached.

The reports use instead the **median among the leads that reach the outcome within the
horizon**: the first day ``t`` at which the Aalen–Johansen cumulative incidence ``F(t)`` of
the outcome reaches half of ``F(h)``, its value at the horizon ``h``. ``F`` treats the
competing outcome (disqualified, lost) as competing and open leads as censored, so ``t`` is
the median of the time to the outcome given that it happens by day ``h`` — estimated
without bias under independent censoring. Its 95% interval is a percentile bootstrap over
leads. :func:`median_among_reached` computes it; the report layer words it the same way
everywhere (:func:`qualmodel.report.wording.median_definition` and
:func:`~qualmodel.report.wording.median_sentence`).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from qualmodel.core.checks import check_seed
from qualmodel.core.errors import ConfigError
from qualmodel.survival.common import check_conf_level

__all__ = ["median_among_reached"]


def _cif(duration: np.ndarray, event: np.ndarray, code: int) -> tuple[np.ndarray, np.ndarray]:
    """Aalen–Johansen cumulative incidence of ``code``: (distinct times, F at each time)."""
    times, inverse = np.unique(duration, return_inverse=True)
    n_end = np.bincount(inverse, minlength=len(times))
    d_all = np.bincount(inverse, weights=(event != 0).astype(float), minlength=len(times))
    d_k = np.bincount(inverse, weights=(event == code).astype(float), minlength=len(times))
    at_risk = len(duration) - np.concatenate(([0], np.cumsum(n_end)[:-1]))
    surv = np.cumprod(1.0 - d_all / at_risk)
    surv_prev = np.concatenate(([1.0], surv[:-1]))
    return times, np.cumsum(surv_prev * d_k / at_risk)


def _median_from(duration: np.ndarray, event: np.ndarray, horizon: float, code: int) -> float:
    """First time at which F(t) ≥ F(horizon) / 2; NaN when nobody reached ``code`` by then."""
    times, cif = _cif(duration, event, code)
    before = times <= horizon
    if not before.any() or cif[before][-1] <= 0:
        return math.nan
    half = cif[before][-1] / 2.0
    return float(times[np.argmax(cif >= half * (1.0 - 1e-12))])


def median_among_reached(
    tte: pd.DataFrame,
    horizon: float,
    *,
    event: int = 1,
    n_boot: int = 200,
    seed: int = 0,
    conf_level: float = 0.95,
) -> dict[str, float]:
    """Median time to ``event`` among the leads that reach it within ``horizon``.

    Parameters
    ----------
    tte : pandas.DataFrame
        Duration table of :func:`qualmodel.time_to_event` (``duration``, ``event``: 0
        censored, 1 the outcome, 2.. competing outcomes).
    horizon : float
        Horizon ``h`` in duration units (days), > 0.
    event : int, default 1
        Event code of the outcome.
    n_boot : int, default 200
        Bootstrap resamples of the leads for the interval; 0 for none.
    seed : int, default 0
        Seed of the bootstrap.
    conf_level : float, default 0.95
        Two-sided level of the percentile interval.

    Returns
    -------
    dict
        ``median`` (first ``t`` with F(t) ≥ F(h)/2, F the Aalen–Johansen cumulative
        incidence), ``lower``, ``upper`` (NaN without bootstrap), ``reached`` (F(h)), and
        ``horizon``. ``median`` is NaN when no lead reached the outcome by ``h``.

    Raises
    ------
    ConfigError
        Missing columns, a non-positive horizon or a negative ``n_boot``.
    """
    missing = [c for c in ("duration", "event") if c not in tte.columns]
    if missing:
        raise ConfigError(f"median_among_reached: column(s) {missing} missing; use time_to_event")
    if not horizon > 0:
        raise ConfigError(f"median_among_reached: horizon must be > 0, got {horizon}")
    if n_boot < 0:
        raise ConfigError(f"median_among_reached: n_boot must be ≥ 0, got {n_boot}")
    check_seed("median_among_reached: seed", seed)
    conf_level = check_conf_level(conf_level, "median_among_reached")
    duration = tte["duration"].to_numpy(dtype=float)
    codes = tte["event"].to_numpy(dtype=int)
    times, cif = _cif(duration, codes, event)
    reached = float(cif[times <= horizon][-1]) if (times <= horizon).any() else 0.0
    median = _median_from(duration, codes, horizon, event)
    lower = upper = math.nan
    if n_boot and not math.isnan(median):
        rng = np.random.default_rng(seed)
        draws = np.empty(n_boot)
        for b in range(n_boot):
            pick = rng.integers(0, len(duration), len(duration))
            draws[b] = _median_from(duration[pick], codes[pick], horizon, event)
        draws = draws[~np.isnan(draws)]
        alpha = (1.0 - conf_level) / 2.0
        if draws.size:
            lower, upper = (float(q) for q in np.quantile(draws, [alpha, 1.0 - alpha]))
    return {
        "median": median,
        "lower": lower,
        "upper": upper,
        "reached": reached,
        "horizon": float(horizon),
    }
