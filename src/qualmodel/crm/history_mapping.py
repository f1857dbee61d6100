"""Mapping schema of stage-history / event-log sources (the ``history:`` block of a mapping).

A *history* table is long: one row per stage change or activity, with a case (lead) id, an
activity name and a timestamp — Salesforce ``OpportunityHistory``, HubSpot lifecycle-stage
history, Pipedrive deal flow, process-mining event logs (CSV, Parquet or XES). The block
says which columns hold what and what every activity name means: a qualmodel stage
(:data:`HISTORY_STAGES`), a touchpoint event, or nothing (``ignore``).

These classes are kept apart from the wide-table mapping classes on purpose: the
``history`` and ``touchpoints`` keys of :class:`~qualmodel.crm.mapping.Mapping` are the only
link between the two.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from qualmodel.crm.schema_base import StrictModel, yaml_key

__all__ = [
    "HISTORY_STAGES",
    "HistorySpec",
    "LogColumns",
    "StageLabels",
    "TouchpointSpec",
    "check_history_tables",
    "file_format",
]

#: Targets an activity may map to: ``created`` sets ``created_at``; the others set the
#: stage column ``<stage>_at``. An extra outcome declared under the mapping's ``outcomes:``
#: (``withdrawn``) is a target too; it sets ``withdrawn_at``.
HISTORY_STAGES: tuple[str, ...] = (
    "created",
    "mql",
    "sal",
    "sqo",
    "won",
    "lost",
    "disqualified",
    "recycled",
)
_EVENT_RE = re.compile(r"^[a-z][a-z0-9_]*$")


def file_format(path: str, declared: str = "auto") -> Literal["csv", "parquet", "xes"]:
    """Return the reader for ``path``: the declared format, or the one its name ends with.

    Parameters
    ----------
    path : str
        File name (``.csv``/``.tsv``/``.txt`` → csv, ``.parquet``/``.pq`` → parquet,
        ``.xes``/``.xes.gz`` → xes).
    declared : {"auto", "csv", "parquet", "xes"}
        The mapping's ``format`` key; anything but ``auto`` wins.

    Returns
    -------
    str
        ``"csv"``, ``"parquet"`` or ``"xes"`` (``csv`` for unknown endings).
    """
    if declared != "auto":
        return declared  # type: ignore[return-value]
    name = str(path).lower()
    if name.endswith((".xes", ".xes.gz")):
        return "xes"
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    return "csv"


class LogColumns(StrictModel):
    """Columns shared by every long table: case id, activity, timestamp, optional value."""

    file: str | None = None
    #: With ``--db``: the table name, or one read-only SELECT (``query``).
    table: str | None = None
    query: str | None = None
    format: Literal["auto", "csv", "parquet", "xes"] = "auto"
    case_id: str = "case:concept:name"
    activity: str = "concept:name"
    timestamp: str = "time:timestamp"
    value: str | None = None
    #: Row filters, ``{column: [values]}``: keep only rows whose value is listed
    #: (``keep_rows``), drop rows whose value is listed (``drop_rows``). Values compare as
    #: trimmed, case-insensitive text (``true`` matches a boolean true; ``""`` an empty cell).
    keep_rows: dict[str, list[str]] = Field(default_factory=dict)
    drop_rows: dict[str, list[str]] = Field(default_factory=dict)

    @field_validator("keep_rows", "drop_rows", mode="before")
    @classmethod
    def _row_values(cls, v: Any) -> Any:
        if not isinstance(v, dict):
            return v
        return {
            str(k): [_filter_text(x) for x in (x if isinstance(x, list) else [x])]
            for k, x in v.items()
        }


def _filter_text(x: Any) -> str:
    """Return a filter value as the text rows are compared with (``True`` → ``true``)."""
    return "" if x is None else str(x).strip().lower()


class TouchpointSpec(LogColumns):
    """A separate table of touchpoints: every row becomes one event of its lead.

    ``events`` renames activity names (others are snake_cased, e.g. ``"Email Opened"`` →
    ``email_opened``).
    """

    events: dict[str, str] = Field(default_factory=dict)

    @field_validator("events", mode="before")
    @classmethod
    def _keys(cls, v: Any) -> Any:
        return {yaml_key(k): x for k, x in v.items()} if isinstance(v, dict) else v

    @field_validator("events")
    @classmethod
    def _names(cls, v: dict[str, str]) -> dict[str, str]:
        return _check_event_names(v)


def _check_event_names(v: dict[str, str]) -> dict[str, str]:
    bad = [f"{k!r}: {e!r}" for k, e in v.items() if not _EVENT_RE.match(str(e))]
    if bad:
        raise ValueError(
            f"event name(s) must be snake_case (a-z, 0-9, _): {', '.join(bad[:5])}; rename them"
        )
    return v


class StageLabels(StrictModel):
    """A lookup table that turns the history's activity ids into labels (``history.labels``).

    CRMs store pipeline stages as ids (HubSpot ``appointmentscheduled`` or ``1234567``,
    Pipedrive ``3``); the pipeline's stage table gives each id its label, and the history's
    ``stages``, ``touchpoints`` and ``ignore`` then name labels. Every id in the kept rows
    must be in the table.
    """

    file: str | None = None
    #: With ``--db``: the table name, or one read-only SELECT (``query``).
    table: str | None = None
    query: str | None = None
    format: Literal["auto", "csv", "parquet"] = "auto"
    #: Column holding the id (as in the history's activity column).
    key: str
    #: Column holding the label the ``stages`` map names.
    label: str

    @model_validator(mode="after")
    def _source(self) -> StageLabels:
        if self.file is None and self.table is None and self.query is None:
            raise ValueError(
                "labels: give file: (CSV/Parquet), or table: / query: for --db, naming the "
                "table of stage ids and labels"
            )
        if self.key == self.label:
            raise ValueError("labels: key and label name the same column; name the label column")
        return self


class HistorySpec(LogColumns):
    """A stage-history / event-log table: activities become stages or touchpoint events.

    Rules (see ``docs/import.md``, section *Stage histories and event logs*):

    * an activity listed under ``stages`` sets that stage at its **first** occurrence
      (earliest timestamp) in the case, or its last one when ``occurrence`` says so; later
      (or earlier) repeats — re-opened stages — are counted in ``meta`` and not kept;
    * activities under ``touchpoints`` become events named as given; activities under
      ``ignore`` are skipped; any other activity follows ``other_activities``;
    * ``skipped_stages: fill`` gives a stage missing before a reached later funnel stage
      (SQO without SAL) the later stage's timestamp; ``keep`` (default) leaves it empty;
    * ``won_and_lost: last`` keeps only the later outcome of a case that has both.
    """

    stages: dict[str, str]
    #: Optional id → label lookup applied to the activity column before the maps below.
    labels: StageLabels | None = None
    occurrence: dict[str, Literal["first", "last"]] = Field(default_factory=dict)
    touchpoints: dict[str, str] = Field(default_factory=dict)
    ignore: list[str] = Field(default_factory=list)
    other_activities: Literal["error", "event", "ignore"] = "error"
    skipped_stages: Literal["keep", "fill"] = "keep"
    won_and_lost: Literal["error", "last"] = "error"
    duplicates: Literal["error", "drop"] = "error"
    on_invalid: Literal["error", "drop"] = "error"

    @field_validator("stages", "touchpoints", mode="before")
    @classmethod
    def _keys(cls, v: Any) -> Any:
        return {yaml_key(k): x for k, x in v.items()} if isinstance(v, dict) else v

    @field_validator("ignore", mode="before")
    @classmethod
    def _ignore_keys(cls, v: Any) -> Any:
        if isinstance(v, str):
            v = [v]
        return [yaml_key(k) for k in v] if isinstance(v, list) else v

    @field_validator("occurrence", mode="before")
    @classmethod
    def _occurrence(cls, v: Any) -> Any:
        if isinstance(v, str):
            return {"default": v}
        return v

    @field_validator("occurrence")
    @classmethod
    def _occurrence_keys(cls, v: dict[str, str]) -> dict[str, str]:
        bad = [k for k in v if k != "default" and k not in HISTORY_STAGES]
        if bad:
            raise ValueError(
                f"unknown stage(s) {', '.join(bad)} in occurrence; use default or one of "
                f"{', '.join(HISTORY_STAGES)}"
            )
        return v

    @field_validator("stages")
    @classmethod
    def _stage_targets(cls, v: dict[str, str]) -> dict[str, str]:
        bad = [f"{k!r}: {s!r}" for k, s in v.items() if not _EVENT_RE.match(str(s))]
        if bad:
            raise ValueError(
                f"stages: {', '.join(bad[:5])}: a target is one of {', '.join(HISTORY_STAGES)} "
                f"or an extra outcome declared under outcomes: (snake_case, e.g. withdrawn)"
            )
        return {k: str(s).removesuffix("_at") for k, s in v.items()}

    def stage_names(self) -> list[str]:
        """Stage targets in code order: :data:`HISTORY_STAGES`, then the extra outcomes used."""
        extra = [s for s in self.stages.values() if s not in HISTORY_STAGES]
        return [*HISTORY_STAGES, *dict.fromkeys(extra)]

    def extra_stages(self) -> list[str]:
        """Targets of ``stages`` beyond :data:`HISTORY_STAGES` (extra outcomes)."""
        return self.stage_names()[len(HISTORY_STAGES) :]

    @field_validator("touchpoints")
    @classmethod
    def _touchpoint_names(cls, v: dict[str, str]) -> dict[str, str]:
        return _check_event_names(v)

    @model_validator(mode="after")
    def _disjoint(self) -> HistorySpec:
        if not self.stages:
            raise ValueError("stages: map at least one activity name to a stage")
        seen: dict[str, str] = {}
        for key, names in (
            ("stages", self.stages),
            ("touchpoints", self.touchpoints),
            ("ignore", self.ignore),
        ):
            for name in names:
                if name in seen:
                    raise ValueError(
                        f"activity {name!r} is listed under both {seen[name]} and {key}; keep one"
                    )
                seen[name] = key
        return self

    def take(self, stage: str) -> Literal["first", "last"]:
        """Return which occurrence of ``stage`` is kept (``first`` or ``last``)."""
        return self.occurrence.get(stage, self.occurrence.get("default", "first"))  # type: ignore[return-value]


def _check_extra_outcomes(hist: HistorySpec, mp: Any) -> None:
    """Every target beyond the standard stages must be declared under ``outcomes:``."""
    declared = {c.removesuffix("_at") for c in mp.outcomes.values()}
    for activity, stage in hist.stages.items():
        if stage not in HISTORY_STAGES and stage not in declared:
            raise ValueError(
                f"history.stages: {activity}: {stage!r} is neither a stage "
                f"({', '.join(HISTORY_STAGES)}) nor declared under outcomes:; add e.g. "
                f"outcomes: {{{stage}: {stage}}} (label: column)"
            )


def check_history_tables(mp: Any) -> None:
    """Check how a mapping's tables fit together (a ``Mapping`` validator).

    A mapping needs a leads table (``file`` + ``created_at``), a ``history`` block, or
    both; ``touchpoints`` needs ``history``; with a leads table, creation comes from it
    (no ``created`` activity) and a stage is set by the leads table or the history, not both.

    Parameters
    ----------
    mp : Mapping
        The mapping being validated.

    Raises
    ------
    ValueError
        The problem, naming the keys (pydantic turns it into the mapping error line).
    """
    hist = mp.history
    if hist is not None:
        _check_extra_outcomes(hist, mp)
        if hist.labels is not None and "labels" in mp.lookups:
            raise ValueError(
                "lookups.labels: the name 'labels' is taken by history.labels (the table of "
                "stage labels); rename the lookup"
            )
    if hist is None:
        if mp.file is None and mp.table is None and mp.query is None:
            raise ValueError(
                "give file: (the main table) or a history: block (table: or query: with --db)"
            )
        if mp.created_at is None:
            raise ValueError("created_at: required (a column, or a fixed date)")
        if mp.touchpoints is not None:
            raise ValueError("touchpoints: needs a history: block (the stage history)")
        return
    if mp.file is None and mp.table is None and mp.query is None:
        if mp.created_at is not None or mp.lookups or mp.attributes or mp.status or mp.stages:
            raise ValueError(
                "created_at, lookups, attributes, status and stages need a leads table: add "
                "file: <leads table> or remove them (a history alone gives only stages and "
                "touchpoints)"
            )
        if mp.observed_until.column:
            raise ValueError("observed_until: a column needs a leads table; use max or a date")
        return
    if mp.created_at is None:
        raise ValueError("created_at: required with a leads table (file:)")
    if "created" in hist.stages.values():
        raise ValueError(
            "history.stages: 'created' is taken from the leads table's created_at; move that "
            "activity to history.ignore"
        )
    wide = {s[:-3] for s in mp.stages} | {
        str(v.stage)[:-3] for b in mp.status for v in b.values.values() if v.action == "stage"
    }
    both = sorted(wide & set(hist.stages.values()))
    if both:
        raise ValueError(
            f"stage(s) {', '.join(both)} set both by the leads table (stages/status) and by "
            f"history.stages; keep one source per stage"
        )
