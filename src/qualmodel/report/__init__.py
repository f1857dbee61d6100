"""Run the notebook templates with papermill and publish HTML reports.

The templates are ``notebooks/NN-name.ipynb``; each has one cell tagged ``parameters``
holding typed, commented literals. :func:`run_reports` executes them per scenario (or per
saved journeys folder), exports HTML with nbconvert and writes::

    <out>/<target>/<NN-name>.ipynb      executed notebook (metrics in its metadata)
    <out>/<target>/<NN-name>.html       HTML export (code hidden where the template asks)
    <out>/<target>/figures/*.png        figures saved by the notebooks
    <out>/<target>/summary.json         key metrics recorded by the notebooks
    <out>/cross-scenario/...            the cross-scenario notebook, same layout
    <out>/index.html                    cross-scenario table of key metrics + links

A run is all-or-nothing: everything is written into a staging folder inside ``<out>`` and
swapped in only when every notebook succeeded. When a notebook fails, the previous reports
are left untouched, the staging folder is kept as ``<out>/_failed/`` and a
:class:`ReportError` names the notebook and the failing cell.

Notebook side helpers (called from inside the templates): :func:`journeys_for`,
:func:`save_figure`, :func:`record_metrics`, :func:`metric` and :func:`provenance`.

Template metadata (``metadata.qualmodel`` in the ``.ipynb``) may set ``kind`` (``"scenario"``:
one run per scenario or journeys folder; ``"cross"``: one run for all scenarios; default
``"cross"`` for numbers ≥ 20) and ``hide_code`` (export without code, default false).

The package is split by task: :mod:`~qualmodel.report.templates` (discovery and
parameter checking), :mod:`~qualmodel.report.helpers` (what notebooks call),
:mod:`~qualmodel.report.plan` (targets and jobs), :mod:`~qualmodel.report.runner`
(papermill, kernels, staging, swap-in) and :mod:`~qualmodel.report.publish`
(summary.json, index.html).

Names are resolved on first use (as in the ``qualmodel`` package): a notebook or a command
imports only the modules it calls, and a warm kernel's reset imports
:mod:`~qualmodel.report.kernels` alone.
"""

from __future__ import annotations

from qualmodel.core.lazy import lazy_names

_EXPORTS: dict[str, str] = {
    "label_missing": "qualmodel.journeys.outcomes",
    "reference_group": "qualmodel.journeys.outcomes",
    "criteria_lines": "qualmodel.report.client",
    "definitions_table": "qualmodel.report.client",
    "key_numbers": "qualmodel.report.client",
    "method_text": "qualmodel.report.client",
    "outcome_lines": "qualmodel.report.client",
    "plan_names": "qualmodel.report.client",
    "progress_text": "qualmodel.report.client",
    "provenance_table": "qualmodel.report.client",
    "report_title": "qualmodel.report.client",
    "at_horizon": "qualmodel.report.helpers",
    "criteria_for": "qualmodel.report.helpers",
    "describe_data": "qualmodel.report.helpers",
    "group_columns": "qualmodel.report.helpers",
    "journeys_for": "qualmodel.report.helpers",
    "median_metric": "qualmodel.report.helpers",
    "model_covariates": "qualmodel.report.helpers",
    "outcome_plan": "qualmodel.report.helpers",
    "provenance": "qualmodel.report.helpers",
    "save_figure": "qualmodel.report.helpers",
    "skip_rest": "qualmodel.report.helpers",
    "export_html": "qualmodel.report.htmlpage",
    "execute_notebook": "qualmodel.report.kernels",
    "ci_table": "qualmodel.report.metrics",
    "format_metric": "qualmodel.report.metrics",
    "metric": "qualmodel.report.metrics",
    "metrics_payload": "qualmodel.report.metrics",
    "record_metrics": "qualmodel.report.metrics",
    "PATH_PARAMETERS": "qualmodel.report.plan",
    "resolve_scenarios": "qualmodel.report.plan",
    "scenario_folder": "qualmodel.report.plan",
    "write_index": "qualmodel.report.publish",
    "RunSummary": "qualmodel.report.runner",
    "clean_outputs": "qualmodel.report.runner",
    "run_reports": "qualmodel.report.runner",
    "executive_summary": "qualmodel.report.summary",
    "recommendation": "qualmodel.report.summary",
    "summary_sentences": "qualmodel.report.summary",
    "fmt_p": "qualmodel.report.tables",
    "p_clause": "qualmodel.report.tables",
    "show_table": "qualmodel.report.tables",
    "CROSS_TARGET": "qualmodel.report.templates",
    "FAILED_DIR": "qualmodel.report.templates",
    "IGNORED_STDERR": "qualmodel.report.templates",
    "METRICS_MIMETYPE": "qualmodel.report.templates",
    "REPORT_DEFAULTS": "qualmodel.report.templates",
    "RUNNER_PARAMETERS": "qualmodel.report.templates",
    "ReportError": "qualmodel.report.templates",
    "Template": "qualmodel.report.templates",
    "check_parameters": "qualmodel.report.templates",
    "coerce_parameter": "qualmodel.report.templates",
    "discover_templates": "qualmodel.report.templates",
    "find_notebooks_dir": "qualmodel.report.templates",
    "inspect_parameters": "qualmodel.report.templates",
    "parse_param_assignments": "qualmodel.report.templates",
    "select_templates": "qualmodel.report.templates",
    "PowerSource": "qualmodel.report.trial",
    "fit_table": "qualmodel.report.trial",
    "power_intro": "qualmodel.report.trial",
    "power_source": "qualmodel.report.trial",
    "run_power": "qualmodel.report.trial",
    "cure_reason": "qualmodel.report.wording",
    "median_definition": "qualmodel.report.wording",
    "median_sentence": "qualmodel.report.wording",
    "search_description": "qualmodel.report.wording",
    "search_summary": "qualmodel.report.wording",
    "headline": "qualmodel.survival.headline",
    "median_among_reached": "qualmodel.survival.medians",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_names(__name__, _EXPORTS, submodules=True)
