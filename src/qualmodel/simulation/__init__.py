"""Scenarios and the simulator: journeys with a known ground truth.

:mod:`~qualmodel.simulation.scenario` (the scenario schema and ``load_scenario``; built-in
scenarios in ``scenarios/*.yaml``) and :mod:`~qualmodel.simulation.engine` (``simulate``).
"""
