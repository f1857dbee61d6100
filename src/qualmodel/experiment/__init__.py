"""How long to test a change: simulated power and minimum detectable effects.

:mod:`~qualmodel.experiment.power` (two-arm replicates of a criterion change, in-process or
on Dask) and :mod:`~qualmodel.experiment.mde` (minimum detectable effect, leads needed).
"""
