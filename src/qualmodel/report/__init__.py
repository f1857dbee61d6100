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
"""

from __future__ import annotations

from qualmodel.journeys.outcomes import label_missing, reference_group
from qualmodel.report.client import (
    criteria_lines,
    definitions_table,
    key_numbers,
    method_text,
    outcome_lines,
    plan_names,
    progress_text,
    provenance_table,
    report_title,
)
from qualmodel.report.helpers import (
    at_horizon,
    criteria_for,
    describe_data,
    group_columns,
    journeys_for,
    median_metric,
    model_covariates,
    outcome_plan,
    provenance,
    save_figure,
    skip_rest,
)
from qualmodel.report.htmlpage import export_html
from qualmodel.report.kernels import execute_notebook
from qualmodel.report.metrics import (
    ci_table,
    format_metric,
    metric,
    metrics_payload,
    record_metrics,
)
from qualmodel.report.plan import PATH_PARAMETERS, resolve_scenarios, scenario_folder
from qualmodel.report.publish import write_index
from qualmodel.report.runner import (
    RunSummary,
    clean_outputs,
    run_reports,
)
from qualmodel.report.summary import executive_summary, recommendation, summary_sentences
from qualmodel.report.tables import fmt_p, p_clause, show_table
from qualmodel.report.templates import (
    CROSS_TARGET,
    FAILED_DIR,
    IGNORED_STDERR,
    METRICS_MIMETYPE,
    REPORT_DEFAULTS,
    RUNNER_PARAMETERS,
    ReportError,
    Template,
    check_parameters,
    coerce_parameter,
    discover_templates,
    find_notebooks_dir,
    inspect_parameters,
    parse_param_assignments,
    select_templates,
)
from qualmodel.report.trial import PowerSource, fit_table, power_intro, power_source, run_power
from qualmodel.report.wording import (
    cure_reason,
    median_definition,
    median_sentence,
    search_description,
    search_summary,
)
from qualmodel.survival.headline import headline
from qualmodel.survival.medians import median_among_reached

__all__ = [
    "fmt_p",
    "p_clause",
    "show_table",
    "definitions_table",
    "plan_names",
    "progress_text",
    "outcome_lines",
    "method_text",
    "key_numbers",
    "criteria_lines",
    "CROSS_TARGET",
    "FAILED_DIR",
    "IGNORED_STDERR",
    "METRICS_MIMETYPE",
    "PATH_PARAMETERS",
    "REPORT_DEFAULTS",
    "RUNNER_PARAMETERS",
    "ReportError",
    "RunSummary",
    "Template",
    "at_horizon",
    "check_parameters",
    "ci_table",
    "clean_outputs",
    "coerce_parameter",
    "criteria_for",
    "describe_data",
    "discover_templates",
    "execute_notebook",
    "export_html",
    "find_notebooks_dir",
    "format_metric",
    "group_columns",
    "cure_reason",
    "headline",
    "search_description",
    "search_summary",
    "executive_summary",
    "recommendation",
    "provenance_table",
    "report_title",
    "summary_sentences",
    "inspect_parameters",
    "journeys_for",
    "median_among_reached",
    "median_definition",
    "median_metric",
    "model_covariates",
    "median_sentence",
    "label_missing",
    "reference_group",
    "metric",
    "metrics_payload",
    "outcome_plan",
    "parse_param_assignments",
    "provenance",
    "record_metrics",
    "resolve_scenarios",
    "run_reports",
    "save_figure",
    "scenario_folder",
    "select_templates",
    "skip_rest",
    "write_index",
    "PowerSource",
    "fit_table",
    "power_intro",
    "power_source",
    "run_power",
]
