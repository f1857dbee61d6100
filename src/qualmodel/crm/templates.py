"""Commented starting mappings printed by ``qualmodel mappings --template NAME``.

Each template is a valid mapping as printed (a test loads it), so a user can run
``qualmodel import --mapping my.yaml --dry-run`` right away and fix names from the report.
"""

from __future__ import annotations

from qualmodel.core.errors import ConfigError

__all__ = ["TEMPLATES", "mapping_template"]

_HISTORY = """\
# qualmodel mapping for a stage history / event log (docs/import.md, "Stage histories").
# 1. Put the column and activity names of YOUR export below.
# 2. Check it without writing anything:
#      qualmodel import --mapping my.yaml --history export.csv --dry-run
#    Unknown activity names are listed with their counts: add each one under
#    history.stages, history.touchpoints or history.ignore.
# 3. Import: qualmodel import --mapping my.yaml --history export.csv --out data/my_crm
source: my_crm                    # name stored in meta["source"]
description: Stage history of my CRM (one row per stage change or activity).

# Optional leads table (one row per lead: id, creation, attributes), joined to the history
# on the lead id. Uncomment to use it; without it every case id becomes a lead.
# file: leads.csv
# lead_id: Id                     # column of the leads table matching history.case_id
# created_at: CreatedDate
# attributes:
#   source: LeadSource
#   deal_value: {column: Amount, type: float}

observed_until: max               # data cut-off: max (latest timestamp in the files) or a
                                  # date such as 2024-06-30 (later rows are dropped)
csv:                              # how CSV files are read
  delimiter: ","
  encoding: utf-8
dates:
  format: ISO8601                 # or strftime codes, e.g. "%d/%m/%Y %H:%M"
  dayfirst: false

history:
  file: history.csv               # .csv, .parquet, .xes or .xes.gz (default file name)
  format: auto                    # auto (from the file name), csv, parquet or xes
  case_id: case_id                # column with the lead / case id (XES: case:concept:name)
  activity: activity              # column with the stage or activity (XES: concept:name)
  timestamp: timestamp            # column with the time (XES: time:timestamp)
  # value: amount                 # optional numeric column, copied to events.value
  # labels:                       # optional: the activity column holds stage ids; this
  #   file: stages.csv            # table (or table:/query: with --db) gives their labels,
  #   key: stage_id               # which the maps below then name
  #   label: label
  stages:                         # activity name in the file -> qualmodel stage
    Lead Created: created         # created_at (without it: the case's first row)
    Marketing Qualified: mql
    Sales Accepted: sal
    Opportunity: sqo
    Closed Won: won
    Closed Lost: lost
    Disqualified: disqualified
    Recycled: recycled
  occurrence: first               # first or last occurrence of a stage counts; per stage:
                                  # {default: first, recycled: last}
  touchpoints:                    # activity name -> event name used by criteria
    Email Opened: email_open
    Demo Completed: demo_completed
  ignore: []                      # activities to skip (counted in the dry run)
  other_activities: error         # any other activity: error (listed with counts),
                                  # event (snake_case name) or ignore
  skipped_stages: keep            # SQO without SAL: keep (sal_at empty) or fill
                                  # (sal_at = sqo_at)
  won_and_lost: error             # a case both won and lost: error, or last (keep the
                                  # later outcome, e.g. re-opened deals)
  duplicates: error               # same case, activity and time twice: error or drop
  on_invalid: error               # empty/unparseable time, unknown lead, stages out of
                                  # order: error, or drop (the row / the case)
"""

#: Template name -> YAML text.
TEMPLATES: dict[str, str] = {"history": _HISTORY}


def mapping_template(name: str) -> str:
    """Return the commented mapping template ``name``.

    Parameters
    ----------
    name : str
        ``history``.

    Returns
    -------
    str
        YAML text that loads as a valid mapping.

    Raises
    ------
    ConfigError
        Unknown template name (the known ones are listed).
    """
    if name not in TEMPLATES:
        raise ConfigError(
            f"--template {name!r}: unknown template; available: {', '.join(TEMPLATES)}"
        )
    return TEMPLATES[name]
