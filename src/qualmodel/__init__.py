"""qualmodel: lead-qualification modeling (SAL → SQO) with simulation, criteria and survival.

Public names are imported lazily so that ``import qualmodel`` stays fast; every name in
``__all__`` resolves on first access. The rooms follow the path of the data::

    simulation/ ─┐
    crm/ ────────┴─> journeys/ ─> criteria/ ─> survival/ ─> experiment/ ─> report/
                                                     plotting/, cli/, core/ serve them all
"""

from __future__ import annotations

from qualmodel.core.lazy import lazy_names

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    # core: errors
    "QualmodelError": "qualmodel.core.errors",
    "ContractError": "qualmodel.core.errors",
    "ConfigError": "qualmodel.core.errors",
    "InputError": "qualmodel.core.errors",
    # journeys: the contract and the funnel
    "Journeys": "qualmodel.journeys.contract",
    "funnel": "qualmodel.journeys.funnel",
    "events_per_lead": "qualmodel.journeys.funnel",
    "stage_durations": "qualmodel.journeys.funnel",
    # simulation
    "Scenario": "qualmodel.simulation.scenario",
    "load_scenario": "qualmodel.simulation.scenario",
    "list_scenarios": "qualmodel.simulation.scenario",
    "simulate": "qualmodel.simulation.engine",
    "scenario_hash": "qualmodel.simulation.scenario",
    "fit_scenario": "qualmodel.experiment.twin_fit",
    # crm: import
    "import_crm": "qualmodel.crm",
    "load_mapping": "qualmodel.crm",
    "list_mappings": "qualmodel.crm",
    "Mapping": "qualmodel.crm",
    # survival: time to event and models
    "time_to_event": "qualmodel.survival.durations",
    "kaplan_meier": "qualmodel.survival.estimators",
    "cumulative_incidence": "qualmodel.survival.estimators",
    "naive_conversion": "qualmodel.survival.estimators",
    "logrank": "qualmodel.survival.estimators",
    "rmst": "qualmodel.survival.estimators",
    "median_survival": "qualmodel.survival.estimators",
    "median_among_reached": "qualmodel.survival.medians",
    "cohort_conversion": "qualmodel.survival.estimators",
    "cox": "qualmodel.survival.models",
    "cox_zph": "qualmodel.survival.models",
    "fine_gray": "qualmodel.survival.models",
    "predict_cif": "qualmodel.survival.models",
    "weibull_aft": "qualmodel.survival.models",
    "cure_model": "qualmodel.survival.models",
    "concordance": "qualmodel.survival.concordance",
    "Concordance": "qualmodel.survival.concordance",
    # criteria: qualify, compare, search, scoring
    "Criterion": "qualmodel.criteria.engine",
    "load_criteria": "qualmodel.criteria.engine",
    "scenario_criteria": "qualmodel.criteria.engine",
    "qualify": "qualmodel.criteria.engine",
    "score_trajectory": "qualmodel.criteria.engine",
    "compare_criteria": "qualmodel.criteria.compare",
    "pairwise_tests": "qualmodel.criteria.compare",
    "recommend_criterion": "qualmodel.criteria.compare",
    "list_criteria_files": "qualmodel.criteria.engine",
    "criteria_event_names": "qualmodel.criteria.engine",
    "qualification_table": "qualmodel.criteria.compare",
    "search_criteria": "qualmodel.criteria.search",
    "criteria_yaml": "qualmodel.criteria.search",
    "SearchSpace": "qualmodel.criteria.space",
    "load_search_space": "qualmodel.criteria.space",
    "list_search_spaces": "qualmodel.criteria.space",
    "search_space_for": "qualmodel.criteria.space",
    "fit_score_criterion": "qualmodel.criteria.scoring",
    # experiment: power and MDE
    "power": "qualmodel.experiment.power",
    "mde_at": "qualmodel.experiment.mde",
    "leads_needed": "qualmodel.experiment.mde",
    # report
    "run_reports": "qualmodel.report",
}

__all__ = ["__version__", *sorted(_EXPORTS)]


__getattr__, __dir__ = lazy_names(__name__, _EXPORTS)
