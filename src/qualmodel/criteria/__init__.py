"""SQO definitions as data: qualify leads, compare definitions, search and fit them.

:mod:`~qualmodel.criteria.schema` (the five criterion kinds; built-in definitions in
``definitions/*.yaml``), :mod:`~qualmodel.criteria.engine` (``qualify``, score trajectories),
:mod:`~qualmodel.criteria.compare` (volume, speed, precision, recall, workload with CIs),
:mod:`~qualmodel.criteria.space` and :mod:`~qualmodel.criteria.search` (declared search
spaces in ``spaces/*.yaml``, the Pareto search) and :mod:`~qualmodel.criteria.scoring`
(points fitted from outcomes).
"""
