"""CRM mapping schema: the pydantic models of a mapping YAML and how mappings are loaded.

A *mapping* (YAML, validated by :class:`Mapping`) says which CSV columns hold the lead id,
the creation time, each stage timestamp (directly, or through a status column plus a date
column), the observation cut-off, the attributes to copy and the events to emit. The
built-in mappings are the YAML files in ``qualmodel/mappings`` (``maven_crm`` and
``x_education``); see ``docs/import.md``.

A bad mapping raises :class:`~qualmodel.core.errors.ConfigError` in one line: YAML syntax with
line/column, unknown keys with the allowed ones, wrong types with the YAML key path.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Mapping as AbcMapping
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import pandas as pd
from pydantic import Field, ValidationError, field_validator, model_validator

from qualmodel.core.errors import ConfigError, InputError, preview
from qualmodel.core.safety import load_yaml, read_text
from qualmodel.crm.history_mapping import HistorySpec, TouchpointSpec, check_history_tables
from qualmodel.crm.schema_base import StrictModel, yaml_keys
from qualmodel.journeys.contract import BANT_COLUMNS, STAGE_COLUMNS, TRUTH_PREFIX

__all__ = [
    "AttributeSpec",
    "CsvOptions",
    "DateOptions",
    "EventSpec",
    "LeadIdSpec",
    "Lookup",
    "Mapping",
    "StatusSpec",
    "StatusValue",
    "TimeSource",
    "XesOptions",
    "list_mappings",
    "load_mapping",
]

#: Built-in mapping names are the YAML files shipped in ``qualmodel/mappings``.
_MAPPING_PACKAGE = "qualmodel.crm"
_DOCS = "docs/import.md"
_RESERVED = frozenset({"lead_id", "created_at", "observed_until", *STAGE_COLUMNS})
_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")


# ====================================================================== mapping schema
def as_timestamp(value: Any) -> pd.Timestamp:
    """Return ``value`` as a naive UTC timestamp; raise ``ValueError`` with the fix."""
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError):
        raise ValueError(f"cannot read {value!r} as a date; write it as YYYY-MM-DD") from None
    if ts is pd.NaT:
        raise ValueError("empty date; write it as YYYY-MM-DD")
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    return ts


_DATE_ONLY = re.compile(r"\d{4}-\d{2}-\d{2}")
#: Column name of an extra outcome declared under ``outcomes:`` (e.g. ``withdrawn_at``).
_OUTCOME_RE = re.compile(r"[a-z][a-z0-9_]*_at")


def cutoff_timestamp(value: Any) -> pd.Timestamp:
    """Return a data cut-off: a date without a time means the **end** of that day.

    Parameters
    ----------
    value : str, date or datetime-like
        ``"2017-12-31"`` or ``datetime.date(2017, 12, 31)`` → 2017-12-31 23:59:59.999999999
        (events later that day stay inside the window); a value with a time is kept as is.

    Returns
    -------
    pandas.Timestamp
        Naive UTC.

    Raises
    ------
    ValueError
        When the value is not a date.
    """
    date_only = (isinstance(value, dt.date) and not isinstance(value, dt.datetime)) or (
        isinstance(value, str) and _DATE_ONLY.fullmatch(value.strip()) is not None
    )
    ts = as_timestamp(value)
    if date_only:
        ts = ts.normalize() + pd.Timedelta(days=1) - pd.Timedelta(1, "ns")
    return ts


class TimeSource(StrictModel):
    """Where a lead timestamp comes from: a CSV ``column`` or a fixed ``value``.

    In YAML a plain string is shorthand for ``{column: ...}`` and an unquoted date
    (``2017-12-31``) for ``{value: ...}``; ``max`` means the latest timestamp in the data.
    """

    column: str | None = None
    value: dt.datetime | None = None
    latest: bool = False

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        if isinstance(data, dt.date):
            return {"value": data}
        if data == "max":
            return {"latest": True}
        if isinstance(data, str):
            return {"column": data}
        return data

    @field_validator("value", mode="before")
    @classmethod
    def _date(cls, v: Any) -> Any:
        return None if v is None else as_timestamp(v).to_pydatetime()

    @model_validator(mode="after")
    def _one(self) -> TimeSource:
        n = (self.column is not None) + (self.value is not None) + bool(self.latest)
        if n != 1:
            raise ValueError("give exactly one of column, value (a date) or max")
        return self


#: Default of ``csv.max_field_bytes``: the longest value a CSV file may hold (1 MiB).
MAX_FIELD_BYTES = 1 << 20


class CsvOptions(StrictModel):
    """How the CSV files are read.

    ``max_field_bytes`` is the longest value (and, without a line break, the longest line)
    a file may hold; a longer one is refused with its line and column before the file is
    parsed, so a corrupt export cannot exhaust memory (raise it for exports with long text
    fields).
    """

    delimiter: str = Field(",", min_length=1, max_length=1)
    encoding: str = "utf-8"
    na_values: list[str] = Field(default_factory=lambda: [""])
    strip: bool = True
    max_field_bytes: int = Field(MAX_FIELD_BYTES, ge=1024, le=1 << 30)


#: Defaults of the ``xes:`` block: limits of one XES event log, checked while it streams.
XES_MAX_ELEMENT_BYTES = 1 << 20
XES_MAX_ATTRIBUTE_BYTES = 256 << 10
XES_MAX_DECOMPRESSION_RATIO = 200.0
XES_MAX_EVENTS = 20_000_000


class XesOptions(StrictModel):
    """Limits of an XES event log (``history`` / ``touchpoints`` files in XES).

    Each is checked while the file streams, so a corrupt or hostile log (a small
    ``.xes.gz`` that expands to a huge value) is refused in bounded memory and time:
    ``max_element_bytes`` caps one XML element with its attribute values (the decompressed
    bytes read without a complete element), ``max_attribute_bytes`` one kept attribute
    value, ``max_decompression_ratio`` the decompressed / compressed bytes read so far of a
    gzip file (checked once 16 MiB are decompressed) and ``max_events`` the events read.
    """

    max_element_bytes: int = Field(XES_MAX_ELEMENT_BYTES, ge=1024, le=1 << 30)
    max_attribute_bytes: int = Field(XES_MAX_ATTRIBUTE_BYTES, ge=64, le=1 << 30)
    max_decompression_ratio: float = Field(XES_MAX_DECOMPRESSION_RATIO, ge=2, le=100_000)
    max_events: int = Field(XES_MAX_EVENTS, ge=1, le=10**10)


class DateOptions(StrictModel):
    """How date strings are parsed: ``format`` (strftime codes, ``ISO8601`` or ``mixed``)."""

    format: str = "ISO8601"
    dayfirst: bool = False


#: Widest zero-padding of digit-only lead ids (``lead_id.pad``).
MAX_PAD = 32


class LeadIdSpec(StrictModel):
    """The lead id column; digit-only ids are zero-padded so string order = numeric order."""

    column: str | None = None
    prefix: str = ""
    pad: Annotated[int, Field(ge=0, le=MAX_PAD)] | Literal["auto"] | None = "auto"

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        return {"column": data} if isinstance(data, str) else data


class Lookup(StrictModel):
    """A lookup table joined to the main table on a key column (many-to-one)."""

    file: str | None = None
    #: Database table name (with ``--db``); ``query`` is one read-only SELECT instead.
    table: str | None = None
    query: str | None = None
    key: str
    lookup_key: str | None = None
    columns: dict[str, str] = Field(default_factory=dict)
    normalise: dict[str, dict[str, Any]] = Field(default_factory=dict)
    on_unmatched: Literal["error", "keep"] = "error"

    @field_validator("columns", mode="before")
    @classmethod
    def _list(cls, v: Any) -> Any:
        return {str(c): str(c) for c in v} if isinstance(v, list) else v


class StatusValue(StrictModel):
    """What one status value means: set ``stage`` from ``date``, keep ``open``, or ``drop``."""

    action: Literal["stage", "open", "drop"] = "stage"
    stage: str | None = None
    date: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        if data is None:
            return {"action": "open"}
        if isinstance(data, str):
            if data in ("open", "drop"):
                return {"action": data}
            return {"action": "stage", "stage": data}
        return data

    @model_validator(mode="after")
    def _check(self) -> StatusValue:
        if self.action == "stage":
            if self.stage not in STAGE_COLUMNS and not (
                isinstance(self.stage, str) and _OUTCOME_RE.fullmatch(self.stage)
            ):
                raise ValueError(
                    f"stage {self.stage!r} is not one of {', '.join(STAGE_COLUMNS)} "
                    f"(or an outcome column declared under outcomes:, or open / drop)"
                )
        elif self.stage is not None or self.date is not None:
            raise ValueError(f"'{self.action}' takes no stage or date")
        return self


class StatusSpec(StrictModel):
    """A status column (e.g. ``deal_stage``) whose known values map to stages."""

    column: str
    date: str | None = None
    values: dict[str, StatusValue]

    @field_validator("values", mode="before")
    @classmethod
    def _keys(cls, v: Any) -> Any:
        return yaml_keys(v)

    @model_validator(mode="after")
    def _dates(self) -> StatusSpec:
        if not self.values:
            raise ValueError("values: list at least one known status value")
        for name, val in self.values.items():
            if val.action == "stage" and val.date is None and self.date is None:
                raise ValueError(
                    f"value {name!r} sets {val.stage} but no date column is given; add "
                    f"date: <column> to the status block or to the value"
                )
        return self


class AttributeSpec(StrictModel):
    """A lead attribute copied from a CSV column, with an optional value map and type."""

    column: str
    type: Literal["str", "category", "float", "int", "bool", "date"] = "str"
    map: dict[str, Any] = Field(default_factory=dict)
    strict: bool = False
    note: str = ""

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        return {"column": data} if isinstance(data, str) else data

    @field_validator("map", mode="before")
    @classmethod
    def _keys(cls, v: Any) -> Any:
        return yaml_keys(v)


class EventSpec(StrictModel):
    """Events from CSV columns.

    ``name`` gives a fixed event name; ``name_from`` takes the name from a categorical
    column (snake_cased, after ``map``; missing or mapped-to-null values emit nothing).
    The time comes from a CSV date column ``at`` (real timing) or from a lead timestamp
    ``at_stage`` such as ``created_at`` (placeholder timing, recorded in ``meta``).
    """

    name: str | None = None
    name_from: str | None = None
    prefix: str = ""
    map: dict[str, Any] = Field(default_factory=dict)
    at: str | None = None
    at_stage: str | None = None
    value: str | None = None

    @field_validator("map", mode="before")
    @classmethod
    def _keys(cls, v: Any) -> Any:
        return yaml_keys(v)

    @model_validator(mode="after")
    def _check(self) -> EventSpec:
        if (self.name is None) == (self.name_from is None):
            raise ValueError("give exactly one of name (fixed) or name_from (a column)")
        if (self.at is None) == (self.at_stage is None):
            raise ValueError("give exactly one of at (a date column) or at_stage")
        if self.at_stage is not None and self.at_stage not in (
            "created_at",
            "observed_until",
            *STAGE_COLUMNS,
        ):
            raise ValueError(
                f"at_stage {self.at_stage!r} must be created_at, observed_until or a stage "
                f"({', '.join(STAGE_COLUMNS)})"
            )
        return self


class Mapping(StrictModel):
    """A validated CRM mapping (see ``docs/import.md`` for every key).

    Build it with :func:`load_mapping`; ``Mapping.model_validate(dict)`` also works.
    """

    source: str
    description: str = ""
    #: How reports title these data ("Acme CRM, EMEA pipeline"); default the built-in
    #: title of ``source`` or ``source`` in words.
    title: str = ""
    file: str | None = None
    #: The main table in a database (with ``--db URL``): a table name or a SELECT query.
    table: str | None = None
    query: str | None = None
    csv: CsvOptions = Field(default_factory=CsvOptions)
    dates: DateOptions = Field(default_factory=DateOptions)
    xes: XesOptions = Field(default_factory=XesOptions)
    normalise: dict[str, dict[str, Any]] = Field(default_factory=dict)
    lookups: dict[str, Lookup] = Field(default_factory=dict)
    lead_id: LeadIdSpec = Field(default_factory=LeadIdSpec)
    created_at: TimeSource | None = None
    observed_until: TimeSource = Field(default_factory=lambda: TimeSource(latest=True))
    #: Stage column → date column, or a list of columns: the first one present is read.
    stages: dict[str, str | list[str]] = Field(default_factory=dict)
    status: list[StatusSpec] = Field(default_factory=list)
    attributes: dict[str, AttributeSpec] = Field(default_factory=dict)
    events: list[EventSpec] = Field(default_factory=list)
    on_invalid: Literal["error", "drop", "clip"] = "error"
    timing: Literal["real", "none"] = "real"
    history: HistorySpec | None = None
    touchpoints: TouchpointSpec | None = None
    outcomes: dict[str, str] = Field(default_factory=dict)

    @field_validator("outcomes")
    @classmethod
    def _outcome_names(cls, v: dict[str, str]) -> dict[str, str]:
        """Label → outcome column (``lost`` or ``lost_at``; new names become columns)."""
        out = {}
        for label, stem in v.items():
            col = stem if stem.endswith("_at") else f"{stem}_at"
            if not _OUTCOME_RE.fullmatch(col) or col in ("mql_at", "sal_at", "created_at"):
                raise ValueError(
                    f"outcomes: {label!r}: {stem!r} is not an outcome; use won, lost, "
                    f"disqualified or a new snake_case name such as withdrawn"
                )
            out[str(label)] = col
        if len(set(out.values())) < len(out):
            raise ValueError("outcomes: two labels name the same outcome; keep one per outcome")
        return out

    def extra_outcomes(self) -> list[str]:
        """Outcome columns declared under ``outcomes:`` beyond the standard stages."""
        return [c for c in self.outcomes.values() if c not in STAGE_COLUMNS]

    @field_validator("status", "events", mode="before")
    @classmethod
    def _one_or_list(cls, v: Any) -> Any:
        return [v] if isinstance(v, dict) else v

    @field_validator("normalise", mode="before")
    @classmethod
    def _norm_keys(cls, v: Any) -> Any:
        if isinstance(v, dict):
            return {str(c): yaml_keys(m) for c, m in v.items()}
        return v

    @field_validator("stages")
    @classmethod
    def _stage_names(cls, v: dict[str, str | list[str]]) -> dict[str, str | list[str]]:
        bad = [k for k in v if k not in STAGE_COLUMNS]
        if bad:
            raise ValueError(
                f"unknown stage(s) {', '.join(bad)}; stages are {', '.join(STAGE_COLUMNS)}"
            )
        empty = [k for k, c in v.items() if isinstance(c, list) and not c]
        if empty:
            raise ValueError(f"stages.{empty[0]}: an empty list; name at least one column")
        return {k: c[0] if isinstance(c, list) and len(c) == 1 else c for k, c in v.items()}

    def with_columns(self, have: list[str], table: str) -> Mapping:
        """Return the mapping with each ``stages`` column list resolved against ``have``.

        Parameters
        ----------
        have : list of str
            Columns of the main table (after the lookups are joined).
        table : str
            The table's name, for the message.

        Returns
        -------
        Mapping
            A copy whose ``stages`` values are single columns: of a list, the first column
            present in the table.

        Raises
        ------
        InputError
            No column of a list is present.
        """
        if not any(isinstance(c, list) for c in self.stages.values()):
            return self
        out: dict[str, str | list[str]] = {}
        for st, cols in self.stages.items():
            choice = [cols] if isinstance(cols, str) else cols
            found = [c for c in choice if c in have]
            if not found:
                raise InputError(
                    f"{table}: none of the columns {', '.join(repr(c) for c in choice)} "
                    f"(mapping key stages.{st}) is present; available columns: "
                    f"{preview(have, 12)}; fix the mapping or the export"
                )
            out[st] = found[0]
        return self.model_copy(update={"stages": out})

    @field_validator("attributes")
    @classmethod
    def _attr_names(cls, v: dict[str, AttributeSpec]) -> dict[str, AttributeSpec]:
        for name, spec in v.items():
            if not _NAME_RE.match(name):
                raise ValueError(
                    f"attribute name {name!r} must be snake_case (a-z, 0-9, _), e.g. "
                    f"{snake_case(name) or 'my_column'!r}"
                )
            if name in _RESERVED:
                raise ValueError(
                    f"attribute name {name!r} is a reserved lead column; set it under "
                    f"lead_id / created_at / observed_until / stages / status instead"
                )
            if name.startswith(TRUTH_PREFIX):
                raise ValueError(
                    f"attribute name {name!r}: the prefix {TRUTH_PREFIX!r} is reserved for "
                    f"simulation truth; rename it"
                )
            if name in BANT_COLUMNS[:3] and spec.type != "bool":
                raise ValueError(f"BANT attribute {name!r} needs type: bool (with a map)")
            if name == "timeline_days" and spec.type not in ("float", "int"):
                raise ValueError("attribute 'timeline_days' needs type: float")
        return v

    @model_validator(mode="after")
    def _cross(self) -> Mapping:
        stage_sets: dict[str, str] = {s: "stages" for s in self.stages}
        for i, block in enumerate(self.status):
            for value, val in block.values.items():
                if val.action == "stage" and val.stage not in (
                    *STAGE_COLUMNS,
                    *self.extra_outcomes(),
                ):
                    raise ValueError(
                        f"status[{i}].values.{value}: stage {val.stage!r} is neither a stage "
                        f"({', '.join(STAGE_COLUMNS)}) nor declared under outcomes:, e.g. "
                        f"outcomes: {{cancelled: {val.stage.removesuffix('_at')}}}"
                    )
                if (
                    val.action == "stage"
                    and val.stage in stage_sets
                    and (stage_sets[val.stage] == "stages")
                ):
                    raise ValueError(
                        f"status[{i}] sets {val.stage}, which stages: already maps to a "
                        f"column; keep only one"
                    )
        return self

    @model_validator(mode="after")
    def _tables(self) -> Mapping:
        check_history_tables(self)
        return self

    def resolved_hash(self) -> str:
        """Return a short hash of the resolved mapping (for provenance in ``meta``)."""
        text = json.dumps(self.model_dump(mode="json"), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:12]


def snake_case(text: str) -> str:
    """Return ``text`` as snake_case (``"Email Opened"`` → ``"email_opened"``)."""
    return re.sub(r"[^0-9a-z]+", "_", str(text).strip().lower()).strip("_")


# ====================================================================== loading mappings
def list_mappings() -> list[str]:
    """Return the names of the built-in mappings (sorted).

    Returns
    -------
    list of str
        For example ``["maven_crm", "x_education"]``.
    """
    folder = resources.files(_MAPPING_PACKAGE).joinpath("mappings")
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml"))


def _loc(loc: tuple[Any, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        elif str(item).startswith(("function-", "literal[", "union[")):
            continue
        else:
            parts.append(("." if parts else "") + str(item))
    return "".join(parts) or "(top level)"


def _validation_message(label: str, exc: ValidationError) -> str:
    errors = exc.errors(include_url=False)
    first = errors[0]
    msg = str(first["msg"]).removeprefix("Value error, ")
    if first["type"] == "missing":
        msg = "required key is missing"
    elif first["type"] == "extra_forbidden":
        msg = "unknown key"
    more = f" (+{len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
    return f"{label}: key '{_loc(first['loc'])}': {msg}{more}; fix the mapping (see {_DOCS})"


def load_mapping(path_or_name: str | Path | Mapping | AbcMapping[str, Any]) -> Mapping:
    """Load and validate a CRM mapping.

    Parameters
    ----------
    path_or_name : str, path-like, Mapping or dict
        A built-in name (see :func:`list_mappings`), a path to a YAML file, an already
        loaded :class:`Mapping` (returned as is) or a plain dict.

    Returns
    -------
    Mapping

    Raises
    ------
    ConfigError
        Unknown name or missing file, YAML syntax error (with line and column), or a
        schema problem (with the YAML key path).
    """
    if isinstance(path_or_name, Mapping):
        return path_or_name
    if isinstance(path_or_name, AbcMapping):
        try:
            return Mapping.model_validate(dict(path_or_name))
        except ValidationError as exc:
            raise ConfigError(_validation_message("mapping", exc)) from None
    text_name = str(path_or_name)
    builtin = list_mappings()
    if isinstance(path_or_name, str) and text_name in builtin:
        label = f"mapping '{text_name}'"
        text = (
            resources.files(_MAPPING_PACKAGE)
            .joinpath("mappings")
            .joinpath(f"{text_name}.yaml")
            .read_text("utf-8")
        )
    else:
        path = Path(path_or_name)
        label = str(path)
        if not path.is_file():
            hint = (
                f"; built-in mappings: {', '.join(builtin)}"
                if path.suffix not in (".yaml", ".yml")
                else ""
            )
            raise ConfigError(
                f"{path}: no such mapping file{hint}; give a built-in name or a path to a "
                f"mapping YAML"
            )
        text = read_text(path, "mapping file", ConfigError)
    raw = load_yaml(text, label, ConfigError)
    if not isinstance(raw, dict):
        raise ConfigError(
            f"{label}: expected a YAML mapping of keys (source, file, created_at, ...), got "
            f"{type(raw).__name__}; see {_DOCS}"
        )
    try:
        return Mapping.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_validation_message(label, exc)) from None
