"""Time to event: duration tables, nonparametric estimators, medians and regression models.

:mod:`~qualmodel.survival.durations` (``time_to_event``: censoring, competing outcomes),
:mod:`~qualmodel.survival.estimators` (Kaplan–Meier, Aalen–Johansen, log-rank, RMST, cohorts;
re-exported here), :mod:`~qualmodel.survival.common` (checks, risk sets, confidence limits),
:mod:`~qualmodel.survival.medians` (the reports' headline median) and
:mod:`~qualmodel.survival.models` (Cox, Fine–Gray, Weibull AFT, mixture cure).
"""

from qualmodel.survival import estimators
from qualmodel.survival.estimators import *  # noqa: F403  (the estimators are the room's API)

__all__ = list(estimators.__all__)
