"""Regression models for time to SQO: Cox, Fine–Gray, Weibull AFT and a mixture cure model.

Every function takes the duration table of :func:`qualmodel.survival.durations.time_to_event`
(``duration``, ``event`` and covariate columns) and returns a :class:`ModelFit`: a tidy
``table`` (one row per term) and a ``summary`` dict of fit statistics.

Competing risks enter either as **cause-specific hazards** (:func:`cox`: the code
``event`` is the event, every other code is censoring at its time) or as
**subdistribution hazards** (:func:`fine_gray`, R ``cmprsk::crr``), whose coefficients act
on the cumulative incidence of the cause.

Modules: :mod:`~.partial_likelihood` (the numpy Cox engine), :mod:`~.cox` (``cox``,
``cox_zph``), :mod:`~.finegray`, :mod:`~.aft`, :mod:`~.cure`, :mod:`~.common` (design
matrix, checks, :class:`ModelFit`).

Covariates
----------
* numeric columns enter as they are;
* bool columns (also pandas' nullable ``"boolean"`` without missing values) enter as 0/1;
* categorical columns are dummy-coded against a reference level (R's treatment
  contrasts), one term ``"<column>=<level>"`` per other level. The reference is the
  **first category** of a pandas ``Categorical`` (its declared order, like an R factor's
  levels; unused categories are dropped) and the **first level in sorted order** of a
  str / object column (what R's ``factor()`` does by default). The reference levels are
  returned in ``ModelFit.references``.

Missing values (also in ``event`` and strata columns), unknown columns, constant or
collinear terms, no or too few events and one-lead strata are
:class:`~qualmodel.core.errors.ConfigError` one-liners naming the column and the fix.

Checked against R (``tests/reference/``): ``coxph`` (Efron and Breslow, strata, weights,
robust, ``(start, stop]``) coefficients, SEs and log-likelihoods, ``cox.zph``, ``survreg``,
``cmprsk::crr`` and ``finegray`` + ``coxph``.
"""

from qualmodel.survival.models.aft import weibull_aft
from qualmodel.survival.models.common import ModelFit, ModelWarning, design_matrix
from qualmodel.survival.models.cox import cox, cox_zph
from qualmodel.survival.models.cure import cure_model
from qualmodel.survival.models.finegray import fine_gray, predict_cif

__all__ = [
    "ModelFit",
    "ModelWarning",
    "cox",
    "cox_zph",
    "cure_model",
    "design_matrix",
    "fine_gray",
    "predict_cif",
    "weibull_aft",
]
