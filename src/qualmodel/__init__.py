"""qualmodel: lead-qualification modeling (SAL → SQO) with simulation, criteria and survival.

Public names are imported lazily so that ``import qualmodel`` stays fast; every name in
``__all__`` resolves on first access.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    # contract and errors
    "Journeys": "qualmodel.journeys",
    "power": "qualmodel.power",
    "mde_at": "qualmodel.mde",
    "leads_needed": "qualmodel.mde",
    "QualmodelError": "qualmodel.errors",
    "ContractError": "qualmodel.errors",
    "ConfigError": "qualmodel.errors",
    "InputError": "qualmodel.errors",
    # scenarios and simulation (#2)
    "Scenario": "qualmodel.scenario",
    "load_scenario": "qualmodel.scenario",
    "list_scenarios": "qualmodel.scenario",
    "simulate": "qualmodel.simulate",
    "funnel": "qualmodel.funnel",
    "scenario_hash": "qualmodel.scenario",
    "events_per_lead": "qualmodel.funnel",
    "stage_durations": "qualmodel.funnel",
    # criteria (#3)
    "Criterion": "qualmodel.criteria",
    "load_criteria": "qualmodel.criteria",
    "scenario_criteria": "qualmodel.criteria",
    "qualify": "qualmodel.criteria",
    "score_trajectory": "qualmodel.criteria",
    "compare_criteria": "qualmodel.compare",
    "pairwise_tests": "qualmodel.compare",
    "recommend_criterion": "qualmodel.compare",
    "list_criteria_files": "qualmodel.criteria",
    "criteria_event_names": "qualmodel.criteria",
    "qualification_table": "qualmodel.compare",
    # criteria search (#12)
    "search_criteria": "qualmodel.search",
    "criteria_yaml": "qualmodel.search",
    "SearchSpace": "qualmodel.search_space",
    "load_search_space": "qualmodel.search_space",
    "list_search_spaces": "qualmodel.search_space",
    "search_space_for": "qualmodel.search_space",
    # reports (#5)
    "run_reports": "qualmodel.report",
    # durations and survival (#4)
    "time_to_event": "qualmodel.durations",
    "kaplan_meier": "qualmodel.survival",
    "cumulative_incidence": "qualmodel.survival",
    "naive_conversion": "qualmodel.survival",
    "logrank": "qualmodel.survival",
    "rmst": "qualmodel.survival",
    "median_survival": "qualmodel.survival",
    "median_among_reached": "qualmodel.medians",
    "cohort_conversion": "qualmodel.survival",
    # lead scoring fitted from outcomes
    "fit_score_criterion": "qualmodel.scoring",
    # regression models for time to SQO
    "cox": "qualmodel.models",
    "cox_zph": "qualmodel.models",
    "fine_gray": "qualmodel.models",
    "predict_cif": "qualmodel.models",
    "weibull_aft": "qualmodel.models",
    "cure_model": "qualmodel.models",
    # CRM import
    "import_crm": "qualmodel.crm",
    "load_mapping": "qualmodel.crm",
    "list_mappings": "qualmodel.crm",
    "Mapping": "qualmodel.crm",
}

__all__ = ["__version__", *sorted(_EXPORTS)]


def __getattr__(name: str) -> Any:
    """Import public names on first access (PEP 562)."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'qualmodel' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


#: Public functions named like the submodule defining them (``simulate``, ``funnel``).
_SHADOWED = frozenset(n for n, m in _EXPORTS.items() if m.rsplit(".", 1)[-1] == n)


class _Package(types.ModuleType):
    """The package module: keeps ``qualmodel.simulate`` the function, not the submodule.

    Importing a submodule (``from qualmodel.simulate import ...``) makes Python set the
    package attribute of that name to the submodule, which would shadow the public function
    of the same name; store the function instead.
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _SHADOWED and isinstance(value, types.ModuleType):
            value = getattr(value, name)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
