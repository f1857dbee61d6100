"""Time to event: duration tables, nonparametric estimators, medians and regression models.

:mod:`~qualmodel.survival.durations` (``time_to_event``: censoring, competing outcomes),
:mod:`~qualmodel.survival.estimators` (Kaplan–Meier, Aalen–Johansen, log-rank, RMST, cohorts;
re-exported here), :mod:`~qualmodel.survival.common` (checks, risk sets, confidence limits),
:mod:`~qualmodel.survival.medians` (the reports' headline median) and
:mod:`~qualmodel.survival.models` (Cox, Fine–Gray, Weibull AFT, mixture cure).
"""

from qualmodel.survival.estimators import (
    cohort_conversion,
    confidence_limits,
    cumulative_incidence,
    kaplan_meier,
    logrank,
    median_survival,
    naive_conversion,
    rmst,
)

__all__ = [
    "cohort_conversion",
    "confidence_limits",
    "cumulative_incidence",
    "kaplan_meier",
    "logrank",
    "median_survival",
    "naive_conversion",
    "rmst",
]
