"""CRM import: turn a CRM export (CSV tables) into :class:`~qualmodel.Journeys`.

A *mapping* (YAML, validated by :class:`Mapping`) says which CSV columns hold the lead id,
the creation time, each stage timestamp (directly, or through a status column plus a date
column), the observation cut-off, the attributes to copy and the events to emit. Two
mappings ship with the package (``maven_crm`` and ``x_education``); see ``docs/import.md``.

Every problem with the input is reported as one line naming the file, the CSV line (the
header is line 1, so the first data record is line 2; quoted values spanning several lines
are counted as in a text editor), the column and the fix:

* :class:`~qualmodel.errors.ConfigError` for a bad mapping (YAML syntax with line/column,
  unknown keys with the allowed ones, wrong types with the YAML key path);
* :class:`~qualmodel.errors.InputError` for bad CSV data (malformed rows, wrong encoding,
  missing columns, unparseable dates or numbers, unknown status values, unmatched lookup
  keys, duplicated ids, stage dates that break the journey contract).

Rows whose stage dates contradict the contract are handled by the mapping's
``on_invalid`` policy: ``error`` (default), ``drop`` (remove the lead, counted in
``meta["import"]["dropped"]``) or ``clip`` (move the offending timestamp to the nearest
allowed one, counted in ``meta["import"]["clipped"]``).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import re
import warnings
from collections.abc import Mapping as AbcMapping
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from qualmodel.atomic import write_csv_atomic, write_text_atomic  # noqa: F401 (re-export)
from qualmodel.errors import ConfigError, ContractError, InputError, preview
from qualmodel.journeys import BANT_COLUMNS, STAGE_COLUMNS, TRUTH_PREFIX, Journeys

__all__ = [
    "Mapping",
    "import_crm",
    "list_mappings",
    "load_mapping",
]

#: Built-in mapping names are the YAML files shipped in ``qualmodel/mappings``.
_MAPPING_PACKAGE = "qualmodel.mappings"
_DOCS = "docs/import.md"
_RESERVED = frozenset({"lead_id", "created_at", "observed_until", *STAGE_COLUMNS})
_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_DEFAULT_TRUE = ("yes", "y", "true", "t", "1")
_DEFAULT_FALSE = ("no", "n", "false", "f", "0")

# (earlier, later) stage pairs checked when both are set: the journey contract's rules plus
# sal_at <= won_at / lost_at (a deal cannot close before sales accepted it; without this,
# SAL-to-outcome durations could be negative when a CRM has no SQO stage).
_ORDER_RULES: tuple[tuple[str, str], ...] = (
    ("created_at", "mql_at"),
    ("created_at", "sal_at"),
    ("mql_at", "sal_at"),
    ("sal_at", "sqo_at"),
    ("created_at", "sqo_at"),
    ("sqo_at", "won_at"),
    ("sqo_at", "lost_at"),
    ("sal_at", "won_at"),
    ("sal_at", "lost_at"),
    ("created_at", "won_at"),
    ("created_at", "lost_at"),
    ("created_at", "disqualified_at"),
    ("sal_at", "disqualified_at"),
    ("created_at", "recycled_at"),
)


# ====================================================================== mapping schema
class _Strict(BaseModel):
    """Base model: unknown keys are errors that list the allowed keys."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _known_keys(cls, data: Any) -> Any:
        if isinstance(data, dict):
            allowed = list(cls.model_fields)
            unknown = [str(k) for k in data if k not in cls.model_fields]
            if any(isinstance(k, bool) for k in data):
                unknown.append("(YAML reads on/off/yes/no keys as true/false: quote them)")
            if unknown:
                raise ValueError(
                    f"unknown key(s) {', '.join(unknown)}; allowed keys: {', '.join(allowed)}"
                )
        return data


def _as_timestamp(value: Any) -> pd.Timestamp:
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError):
        raise ValueError(f"cannot read {value!r} as a date; write it as YYYY-MM-DD") from None
    if ts is pd.NaT:
        raise ValueError("empty date; write it as YYYY-MM-DD")
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    return ts


class TimeSource(_Strict):
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
        return None if v is None else _as_timestamp(v).to_pydatetime()

    @model_validator(mode="after")
    def _one(self) -> TimeSource:
        n = (self.column is not None) + (self.value is not None) + bool(self.latest)
        if n != 1:
            raise ValueError("give exactly one of column, value (a date) or max")
        return self


class CsvOptions(_Strict):
    """How the CSV files are read."""

    delimiter: str = Field(",", min_length=1, max_length=1)
    encoding: str = "utf-8"
    na_values: list[str] = Field(default_factory=lambda: [""])
    strip: bool = True


class DateOptions(_Strict):
    """How date strings are parsed: ``format`` (strftime codes, ``ISO8601`` or ``mixed``)."""

    format: str = "ISO8601"
    dayfirst: bool = False


class LeadIdSpec(_Strict):
    """The lead id column; digit-only ids are zero-padded so string order = numeric order."""

    column: str | None = None
    prefix: str = ""
    pad: int | Literal["auto"] | None = "auto"

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        return {"column": data} if isinstance(data, str) else data


class Lookup(_Strict):
    """A lookup table joined to the main table on a key column (many-to-one)."""

    file: str
    key: str
    lookup_key: str | None = None
    columns: dict[str, str] = Field(default_factory=dict)
    normalise: dict[str, dict[str, Any]] = Field(default_factory=dict)
    on_unmatched: Literal["error", "keep"] = "error"

    @field_validator("columns", mode="before")
    @classmethod
    def _list(cls, v: Any) -> Any:
        return {str(c): str(c) for c in v} if isinstance(v, list) else v


class StatusValue(_Strict):
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
            if self.stage not in STAGE_COLUMNS:
                raise ValueError(
                    f"stage {self.stage!r} is not one of {', '.join(STAGE_COLUMNS)} "
                    f"(or use open / drop)"
                )
        elif self.stage is not None or self.date is not None:
            raise ValueError(f"'{self.action}' takes no stage or date")
        return self


class StatusSpec(_Strict):
    """A status column (e.g. ``deal_stage``) whose known values map to stages."""

    column: str
    date: str | None = None
    values: dict[str, StatusValue]

    @field_validator("values", mode="before")
    @classmethod
    def _keys(cls, v: Any) -> Any:
        if isinstance(v, dict):
            return {_yaml_key(k): x for k, x in v.items()}
        return v

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


class AttributeSpec(_Strict):
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
        if isinstance(v, dict):
            return {_yaml_key(k): x for k, x in v.items()}
        return v


class EventSpec(_Strict):
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
        if isinstance(v, dict):
            return {_yaml_key(k): x for k, x in v.items()}
        return v

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


class Mapping(_Strict):
    """A validated CRM mapping (see ``docs/import.md`` for every key).

    Build it with :func:`load_mapping`; ``Mapping.model_validate(dict)`` also works.
    """

    source: str
    description: str = ""
    file: str
    csv: CsvOptions = Field(default_factory=CsvOptions)
    dates: DateOptions = Field(default_factory=DateOptions)
    normalise: dict[str, dict[str, Any]] = Field(default_factory=dict)
    lookups: dict[str, Lookup] = Field(default_factory=dict)
    lead_id: LeadIdSpec = Field(default_factory=LeadIdSpec)
    created_at: TimeSource
    observed_until: TimeSource = Field(default_factory=lambda: TimeSource(latest=True))
    stages: dict[str, str] = Field(default_factory=dict)
    status: list[StatusSpec] = Field(default_factory=list)
    attributes: dict[str, AttributeSpec] = Field(default_factory=dict)
    events: list[EventSpec] = Field(default_factory=list)
    on_invalid: Literal["error", "drop", "clip"] = "error"
    timing: Literal["real", "none"] = "real"

    @field_validator("status", "events", mode="before")
    @classmethod
    def _one_or_list(cls, v: Any) -> Any:
        return [v] if isinstance(v, dict) else v

    @field_validator("normalise", mode="before")
    @classmethod
    def _norm_keys(cls, v: Any) -> Any:
        if isinstance(v, dict):
            return {
                str(c): ({_yaml_key(k): x for k, x in m.items()} if isinstance(m, dict) else m)
                for c, m in v.items()
            }
        return v

    @field_validator("stages")
    @classmethod
    def _stage_names(cls, v: dict[str, str]) -> dict[str, str]:
        bad = [k for k in v if k not in STAGE_COLUMNS]
        if bad:
            raise ValueError(
                f"unknown stage(s) {', '.join(bad)}; stages are {', '.join(STAGE_COLUMNS)}"
            )
        return v

    @field_validator("attributes")
    @classmethod
    def _attr_names(cls, v: dict[str, AttributeSpec]) -> dict[str, AttributeSpec]:
        for name, spec in v.items():
            if not _NAME_RE.match(name):
                raise ValueError(
                    f"attribute name {name!r} must be snake_case (a-z, 0-9, _), e.g. "
                    f"{_snake(name) or 'my_column'!r}"
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
            for val in block.values.values():
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

    def resolved_hash(self) -> str:
        """Return a short hash of the resolved mapping (for provenance in ``meta``)."""
        text = json.dumps(self.model_dump(mode="json"), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:12]


def _yaml_key(k: Any) -> str:
    """Return a YAML map key as the CSV text it matches (``null`` → ``""``, ``1`` → ``"1"``).

    Unquoted ``yes``/``no``/``on``/``off`` keys are read by YAML as booleans; the original
    spelling is lost, so they are rejected with a hint to quote them.
    """
    if k is None:
        return ""
    if isinstance(k, bool):
        raise ValueError(
            f"YAML read an unquoted key (yes/no/on/off/true/false) as {k}; quote it, "
            f'e.g. "yes": ...'
        )
    return str(k)


def _snake(text: str) -> str:
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
    folder = resources.files(_MAPPING_PACKAGE)
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
        text = resources.files(_MAPPING_PACKAGE).joinpath(f"{text_name}.yaml").read_text("utf-8")
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
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise ConfigError(f"{path}: not UTF-8 text ({exc.reason}); save it as UTF-8") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(
            f"{label}: YAML syntax error{where} ({exc.problem or exc.context}); fix the "
            f"indentation/quoting there"
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{label}: YAML error ({exc}); fix the file") from None
    if not isinstance(raw, dict):
        raise ConfigError(
            f"{label}: expected a YAML mapping of keys (source, file, created_at, ...), got "
            f"{type(raw).__name__}; see {_DOCS}"
        )
    try:
        return Mapping.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_validation_message(label, exc)) from None


# ====================================================================== reading CSV
class _Table:
    """A CSV read as strings, with lazy line numbers for error messages."""

    def __init__(self, path: Path, opts: CsvOptions, role: str) -> None:
        self.path = path
        self.opts = opts
        self.role = role
        self._lines: np.ndarray | None = None
        self.frame = self._read()

    @property
    def name(self) -> str:
        return self.path.name

    def _read(self) -> pd.DataFrame:
        path, o = self.path, self.opts
        if not path.exists():
            raise InputError(
                f"{path}: no such file ({self.role} table); check the path or pass it with "
                f"--csv / --table"
            )
        if path.is_dir():
            raise InputError(f"{path}: is a folder, expected the CSV file of the {self.role} table")
        try:
            df = pd.read_csv(
                path,
                sep=o.delimiter,
                dtype=str,
                keep_default_na=False,
                na_values=o.na_values,
                encoding=o.encoding,
                skipinitialspace=False,
            )
        except pd.errors.EmptyDataError:
            raise InputError(
                f"{path}: file is empty (no header line); export the table again with a header row"
            ) from None
        except pd.errors.ParserError as exc:
            raise InputError(self._parser_message(exc)) from None
        except UnicodeDecodeError as exc:
            raise InputError(self._unicode_message(exc)) from None
        except LookupError:
            raise InputError(
                f"{path}: unknown encoding {o.encoding!r} in csv.encoding; use e.g. utf-8 "
                f"or latin-1"
            ) from None
        if df.empty:
            raise InputError(f"{path}: has a header but no data rows; export the data too")
        df.columns = [str(c).strip() for c in df.columns]
        if df.columns.duplicated().any():
            dup = df.columns[df.columns.duplicated()].tolist()
            raise InputError(f"{path}: duplicated column name(s) {preview(dup)}; rename them")
        if o.strip:
            na = set(o.na_values)
            for c in df.columns:
                df[c] = _per_unique(
                    df[c], lambda u, na=na: [None if (x := v.strip()) in na else x for v in u]
                )
        return df

    def _parser_message(self, exc: Exception) -> str:
        text = str(exc).strip()
        m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", text)
        if m:
            return (
                f"{self.path}: line {m.group(2)} has {m.group(3)} fields but the header has "
                f"{m.group(1)}; quote values that contain '{self.opts.delimiter}' or fix "
                f"the delimiter (csv.delimiter)"
            )
        m = re.search(r"EOF inside string starting at row (\d+)", text)
        if m:
            return (
                f"{self.path}: line {int(m.group(1)) + 1}: a quoted value is never closed "
                f"(unbalanced '\"'); close or remove the quote"
            )
        return f"{self.path}: malformed CSV ({text.splitlines()[-1]}); fix the file"

    def _unicode_message(self, exc: UnicodeDecodeError) -> str:
        raw = self.path.read_bytes()
        try:
            raw.decode(self.opts.encoding)
            line = "?"
        except UnicodeDecodeError as full:
            line = str(raw.count(b"\n", 0, full.start) + 1)
        return (
            f"{self.path}: line {line}: bytes are not valid {self.opts.encoding} "
            f"({exc.reason}); set csv.encoding in the mapping (e.g. latin-1 or cp1252) or "
            f"re-export as UTF-8"
        )

    def lines(self, rows: np.ndarray) -> list[int]:
        """Return file line numbers (header = line 1) of 0-based data ``rows``."""
        if self._lines is None:
            starts: list[int] = []
            with self.path.open(encoding=self.opts.encoding, newline="") as fh:
                reader = csv.reader(fh, delimiter=self.opts.delimiter)
                prev = 0
                for record in reader:
                    start = prev + 1
                    prev = reader.line_num
                    if record and not (len(record) == 1 and not record[0].strip()):
                        starts.append(start)
            self._lines = np.asarray(starts[1:], dtype=np.int64)
        rows = np.asarray(rows, dtype=np.int64)
        if len(self._lines) == len(self.frame):
            return self._lines[rows].tolist()
        return (rows + 2).tolist()

    def where(self, rows: np.ndarray) -> str:
        return f"line(s) {preview(self.lines(rows))}"

    def require(self, columns: dict[str, str]) -> None:
        """Raise when a needed column is absent; ``columns`` maps column → mapping key."""
        missing = [c for c in columns if c not in self.frame.columns]
        if missing:
            keys = ", ".join(f"'{c}' (mapping key {columns[c]})" for c in missing)
            hint = ""
            if any(re.fullmatch(r"\d{4}-\d{2}-\d{2}.*", c) for c in missing):
                hint = " (a fixed date must be unquoted or written as {value: YYYY-MM-DD})"
            if len(self.frame.columns) == 1:
                other = [d for d in (";", "\t", "|", ",") if d in self.frame.columns[0]]
                if other:
                    hint += f" (the header looks {other[0]!r}-separated: set csv.delimiter)"
            raise InputError(
                f"{self.path}: missing column(s) {keys}{hint}; available columns: "
                f"{', '.join(self.frame.columns)}; fix the mapping or the export"
            )


def _parse_dates(table: _Table, column: str, values: pd.Series, opts: DateOptions) -> pd.Series:
    """Parse date strings; raise naming the first bad value and its line."""
    fmt = None if opts.format in ("", "infer") else opts.format
    kw: dict[str, Any] = {"format": fmt, "dayfirst": opts.dayfirst, "errors": "coerce"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            out = pd.to_datetime(values, **kw)
            if not pd.api.types.is_datetime64_dtype(out.dtype):
                out = pd.to_datetime(values, utc=True, **kw).dt.tz_localize(None)
        except (ValueError, TypeError):
            out = pd.to_datetime(values, utc=True, **kw).dt.tz_localize(None)
    if isinstance(out.dtype, pd.DatetimeTZDtype):
        out = out.dt.tz_convert("UTC").dt.tz_localize(None)
    bad = out.isna().to_numpy() & values.notna().to_numpy()
    if bad.any():
        rows = np.flatnonzero(bad)
        first = values.iloc[rows[0]]
        raise InputError(
            f"{table.path}: line {table.lines(rows[:1])[0]}, column '{column}': cannot parse "
            f"{first!r} as a date with format {opts.format!r}"
            f"{' (dayfirst)' if opts.dayfirst else ''} ({int(bad.sum())} bad value(s)); fix "
            f"the value(s) or set dates.format in the mapping"
        )
    return out.astype("datetime64[ns]")


def _per_unique(values: pd.Series, fn: Any, dtype: str = "object") -> pd.Series:
    """Apply ``fn`` (list of distinct non-missing values → same-length sequence) per value.

    CRM columns repeat few distinct values, so working on the distinct values only is much
    faster than element-wise string operations; missing cells stay missing.
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    mapped = np.asarray(fn(pd.Series(uniques, dtype=object)), dtype=dtype)
    out = np.empty(len(values), dtype=dtype)
    if dtype == "object":
        out[:] = None
    else:
        out[:] = np.nan
    hit = codes >= 0
    out[hit] = mapped[codes[hit]]
    return pd.Series(out, index=values.index, name=values.name)


def _apply_map(values: pd.Series, mapping: dict[str, Any]) -> pd.Series:
    if not mapping:
        return values
    keys = {k: v for k, v in mapping.items()}
    hit = values.isin(list(keys))
    if not hit.any():
        return values
    out = values.astype(object).copy()
    out[hit] = values[hit].map(keys)
    return out


# ====================================================================== import
def _resolve_tables(
    source: str | Path | AbcMapping[str, str | Path], mapping: Mapping
) -> dict[str, Path]:
    if isinstance(source, AbcMapping):
        given = {str(k): Path(v) for k, v in source.items()}
        unknown = [k for k in given if k != "main" and k not in mapping.lookups]
        if unknown:
            raise ConfigError(
                f"unknown table name(s) {', '.join(unknown)}; this mapping has tables: main"
                f"{''.join(', ' + n for n in mapping.lookups)}"
            )
        if "main" not in given:
            raise ConfigError("tables: give the main table as 'main' (e.g. --csv FILE)")
    else:
        given = {"main": Path(source)}
    folder = given["main"].parent
    tables = {"main": given["main"]}
    for name, lk in mapping.lookups.items():
        tables[name] = given.get(name, folder / lk.file)
    return tables


def _file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _lead_ids(table: _Table, spec: LeadIdSpec) -> pd.Series:
    """Return the lead ids (prefix + zero-padded digits) or raise on empty/duplicated ids."""
    frame = table.frame
    n = len(frame)
    if spec.column is None:
        width = len(str(n)) if spec.pad == "auto" or spec.pad is None else spec.pad
        raw = pd.Series(np.arange(1, n + 1).astype(str), index=frame.index)
        ids = raw.str.zfill(width)
        prefix = spec.prefix or "L"
    else:
        raw = frame[spec.column]
        empty = raw.isna().to_numpy()
        if empty.any():
            raise InputError(
                f"{table.path}: {table.where(np.flatnonzero(empty))}, column "
                f"'{spec.column}': empty lead id; fill it or drop the row(s)"
            )
        digits = raw.str.fullmatch(r"\d+").all()
        if digits and spec.pad is not None:
            longest = int(raw.str.lstrip("0").str.len().max())
            width = max(longest, 1 if spec.pad == "auto" else int(spec.pad))
            ids = raw.str.lstrip("0").replace("", "0").str.zfill(width)
        else:
            ids = raw
        prefix = spec.prefix
    ids = (prefix + ids).astype(object)
    dup = ids.duplicated(keep=False).to_numpy()
    if dup.any():
        rows = np.flatnonzero(dup)
        col = spec.column or "(row number)"
        raise InputError(
            f"{table.path}: {table.where(rows)}, column '{col}': duplicated lead id(s) "
            f"{preview(pd.unique(raw.iloc[rows]))}; deduplicate the export (one row per lead)"
        )
    return ids


def _join_lookups(
    main: _Table, mapping: Mapping, tables: dict[str, Path], info: dict[str, Any]
) -> pd.DataFrame:
    frame = main.frame
    for name, lk in mapping.lookups.items():
        main.require({lk.key: f"lookups.{name}.key"})
        tab = _Table(tables[name], mapping.csv, f"lookup '{name}'")
        key = lk.lookup_key or lk.key
        wanted = lk.columns or {c: c for c in tab.frame.columns if c != key}
        tab.require(
            {key: f"lookups.{name}.lookup_key"} | {c: f"lookups.{name}.columns" for c in wanted}
        )
        lf = tab.frame
        for col, m in lk.normalise.items():
            tab.require({col: f"lookups.{name}.normalise"})
            lf[col] = _apply_map(lf[col], m)
        dup = lf[key].duplicated(keep=False).to_numpy() & lf[key].notna().to_numpy()
        if dup.any():
            rows = np.flatnonzero(dup)
            raise InputError(
                f"{tab.path}: {tab.where(rows)}, column '{key}': duplicated key(s) "
                f"{preview(pd.unique(lf[key].iloc[rows]))}; a lookup table needs one row "
                f"per key"
            )
        clash = [d for d in wanted.values() if d in frame.columns]
        if clash:
            raise ConfigError(
                f"lookups.{name}.columns: {preview(clash)} already exist in {main.name}; "
                f"rename them ({{source_column: new_name}})"
            )
        right = lf.dropna(subset=[key]).set_index(key)
        pos = right.index.get_indexer(frame[lk.key])
        keys = frame[lk.key]
        unmatched = (pos < 0) & keys.notna().to_numpy()
        n_un = int(unmatched.sum())
        info["lookups"][name] = {"rows": len(lf), "unmatched_rows": n_un}
        if n_un:
            vals = pd.unique(keys[unmatched])
            info["lookups"][name]["unmatched_values"] = [str(v) for v in vals[:20]]
            if lk.on_unmatched == "error":
                rows = np.flatnonzero(unmatched)
                raise InputError(
                    f"{main.path}: {main.where(rows)}, column '{lk.key}': {n_un} value(s) not "
                    f"found in {tab.name} column '{key}': {preview(vals)}; add a "
                    f"normalise: {{{lk.key}: {{{vals[0]}: <value in {tab.name}>}}}} entry to the "
                    f"mapping, or set lookups.{name}.on_unmatched: keep"
                )
        for src, dest in wanted.items():
            col = right[src].to_numpy(dtype=object)
            vals = np.where(pos >= 0, col[np.maximum(pos, 0)] if len(col) else None, None)
            frame[dest] = pd.Series(vals, index=frame.index, dtype=object)
    return frame


def _typed_attribute(
    table: _Table, name: str, spec: AttributeSpec, s: pd.Series, dates: DateOptions
) -> pd.Series:
    col = spec.column
    known_map = spec.map
    if spec.type == "bool":
        lower = s.str.lower()
        mapped = pd.Series(pd.NA, index=s.index, dtype="boolean")
        handled = s.isna().to_numpy().copy()
        if known_map:
            hit = s.isin(list(known_map)).to_numpy()
            for key, val in known_map.items():
                sel = (s == key).to_numpy()
                if val is None:
                    continue
                if not isinstance(val, bool):
                    raise ConfigError(
                        f"attributes.{name}.map: value for {key!r} must be true, false or "
                        f"null for a bool attribute"
                    )
                mapped[sel] = val
            handled |= hit
        if not spec.strict:
            t = lower.isin(_DEFAULT_TRUE).to_numpy() & ~handled
            f = lower.isin(_DEFAULT_FALSE).to_numpy() & ~handled
            mapped[t] = True
            mapped[f] = False
            handled |= t | f
        if not handled.all():
            rows = np.flatnonzero(~handled)
            raise InputError(
                f"{table.path}: {table.where(rows)}, column '{col}': value(s) "
                f"{preview(pd.unique(s.iloc[rows]))} are not yes/no; add them to "
                f"attributes.{name}.map (true / false / null)"
            )
        return mapped
    if spec.strict and known_map:
        bad = s.notna().to_numpy() & ~s.isin(list(known_map)).to_numpy()
        if bad.any():
            rows = np.flatnonzero(bad)
            raise InputError(
                f"{table.path}: {table.where(rows)}, column '{col}': value(s) "
                f"{preview(pd.unique(s.iloc[rows]))} are not in attributes.{name}.map "
                f"(strict: true); add them to the map"
            )
    s = _apply_map(s, known_map)
    if spec.type in ("float", "int"):
        num = _per_unique(s, lambda u: pd.to_numeric(u, errors="coerce"), dtype="float64")
        bad = num.isna().to_numpy() & s.notna().to_numpy()
        if bad.any():
            rows = np.flatnonzero(bad)
            raise InputError(
                f"{table.path}: line {table.lines(rows[:1])[0]}, column '{col}': "
                f"{s.iloc[rows[0]]!r} is not a number ({int(bad.sum())} bad value(s)); fix "
                f"it, add it to csv.na_values, or map it in attributes.{name}.map"
            )
        if spec.type == "int":
            frac = num.notna() & (num != np.round(num))
            if frac.any():
                rows = np.flatnonzero(frac.to_numpy())
                raise InputError(
                    f"{table.path}: line {table.lines(rows[:1])[0]}, column '{col}': "
                    f"{s.iloc[rows[0]]!r} is not a whole number; use type: float"
                )
            return num.astype("Int64")
        return num.astype("float64")
    if spec.type == "date":
        return _parse_dates(table, col, s, dates)
    out = s.astype(object).where(s.notna(), None)
    if spec.type == "category":
        return out.astype("category")
    return out


def import_crm(
    source: str | Path | AbcMapping[str, str | Path],
    mapping: str | Path | Mapping | AbcMapping[str, Any],
    *,
    observed_until: str | dt.date | pd.Timestamp | None = None,
) -> Journeys:
    """Import a CRM export into :class:`~qualmodel.Journeys` through a mapping.

    Parameters
    ----------
    source : path-like or dict of path-like
        The main CSV file, or a dict ``{"main": path, "<lookup name>": path, ...}``.
        Lookup tables not given are looked up next to the main file under the file names
        in the mapping.
    mapping : str, path-like, Mapping or dict
        A built-in mapping name (``"maven_crm"``, ``"x_education"``), a YAML path, or a
        loaded :class:`Mapping`.
    observed_until : date-like, optional
        Override the mapping's observation cut-off with one fixed date for every lead.

    Returns
    -------
    Journeys
        Leads sorted by ``lead_id``; ``meta`` holds ``source``, ``mapping`` (name and
        hash), ``files`` (path, sha256, rows), ``timing`` (``"real"`` or ``"none"``),
        ``time_unit`` and ``import`` (``rows``, ``leads``, ``dropped``, ``clipped``,
        ``lookups``, ``status`` counts, event ``timing`` per event spec).

    Raises
    ------
    ConfigError
        Bad mapping or parameter.
    InputError
        Bad CSV data (one line: file, line, column and the fix).
    """
    mp = load_mapping(mapping)
    label = str(mapping) if isinstance(mapping, str | Path) else mp.source
    tables = _resolve_tables(source, mp)
    main = _Table(tables["main"], mp.csv, "main")
    info: dict[str, Any] = {
        "rows": len(main.frame),
        "dropped": {},
        "clipped": {},
        "lookups": {},
        "status": {},
        "events": {},
    }
    frame = main.frame
    for col, m in mp.normalise.items():
        main.require({col: "normalise"})
        frame[col] = _apply_map(frame[col], m)
    frame = _join_lookups(main, mp, tables, info)

    needed: dict[str, str] = {}
    if mp.lead_id.column:
        needed[mp.lead_id.column] = "lead_id"
    for key, ts in (("created_at", mp.created_at), ("observed_until", mp.observed_until)):
        if ts.column:
            needed[ts.column] = key
    for st, col in mp.stages.items():
        needed[col] = f"stages.{st}"
    for i, block in enumerate(mp.status):
        needed[block.column] = f"status[{i}].column"
        if block.date:
            needed[block.date] = f"status[{i}].date"
        for v, val in block.values.items():
            if val.date:
                needed[val.date] = f"status[{i}].values.{v}.date"
    for name, spec in mp.attributes.items():
        needed[spec.column] = f"attributes.{name}"
    for i, ev in enumerate(mp.events):
        for k in ("name_from", "at", "value"):
            if getattr(ev, k):
                needed[getattr(ev, k)] = f"events[{i}].{k}"
    main.require(needed)

    n = len(frame)
    ids = _lead_ids(main, mp.lead_id)
    date_cache: dict[str, pd.Series] = {}

    def dates(col: str) -> pd.Series:
        if col not in date_cache:
            date_cache[col] = _parse_dates(main, col, frame[col], mp.dates)
        return date_cache[col]

    leads = pd.DataFrame({"lead_id": ids.to_numpy()})
    origin: dict[str, str] = {}
    keep = np.ones(n, dtype=bool)
    if mp.created_at.column:
        leads["created_at"] = dates(mp.created_at.column).to_numpy()
        origin["created_at"] = mp.created_at.column
    elif mp.created_at.value is not None:
        leads["created_at"] = pd.Timestamp(mp.created_at.value)
        origin["created_at"] = f"fixed {pd.Timestamp(mp.created_at.value).date()}"
    else:
        raise ConfigError("created_at: max is only allowed for observed_until")
    for st, col in mp.stages.items():
        leads[st] = dates(col).to_numpy()
        origin[st] = col

    # status blocks
    for i, block in enumerate(mp.status):
        raw = frame[block.column]
        key = raw.fillna("")
        known = list(block.values)
        unknown = ~key.isin(known).to_numpy()
        if unknown.any():
            rows = np.flatnonzero(unknown)
            vals = [v if v else "(empty)" for v in pd.unique(key.iloc[rows])]
            raise InputError(
                f"{main.path}: {main.where(rows)}, column '{block.column}': unknown status "
                f"value(s) {preview(vals)}; known values: {', '.join(known)}; add them under "
                f"status[{i}].values in the mapping (a stage, open or drop)"
            )
        counts = key.value_counts()
        info["status"][block.column] = {k: int(counts.get(k, 0)) for k in known}
        for value, act in block.values.items():
            sel = (key == value).to_numpy()
            if not sel.any():
                continue
            if act.action == "drop":
                info["dropped"][f"{block.column}={value}"] = int((sel & keep).sum())
                keep &= ~sel
            elif act.action == "stage":
                col = act.date or block.date
                assert col is not None and act.stage is not None
                when = dates(col).to_numpy()
                if act.stage not in leads:
                    leads[act.stage] = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
                empty = sel & keep & np.isnat(when)
                if empty.any():
                    rows = np.flatnonzero(empty)
                    _invalid(
                        main,
                        mp,
                        rows,
                        keep,
                        info,
                        f"status '{value}' needs a date in column '{col}' but it is empty",
                        key=f"missing:{col}",
                        clip=None,
                    )
                cur = leads[act.stage].to_numpy().copy()
                cur[sel] = when[sel]
                leads[act.stage] = cur
                origin[act.stage] = col

    created = leads["created_at"].to_numpy()
    missing_created = keep & np.isnat(created)
    if missing_created.any():
        _invalid(
            main,
            mp,
            np.flatnonzero(missing_created),
            keep,
            info,
            f"created_at (column '{origin.get('created_at')}') is empty",
            key="missing:created_at",
            clip=None,
        )

    # observation cut-off
    if observed_until is not None:
        try:
            cut = _as_timestamp(observed_until)
        except ValueError as exc:
            raise ConfigError(f"observed_until: {exc}") from None
        leads["observed_until"] = cut
        origin["observed_until"] = f"fixed {cut.date()} (parameter)"
    elif mp.observed_until.column:
        leads["observed_until"] = dates(mp.observed_until.column).to_numpy()
        origin["observed_until"] = mp.observed_until.column
        miss = keep & np.isnat(leads["observed_until"].to_numpy())
        if miss.any():
            _invalid(
                main,
                mp,
                np.flatnonzero(miss),
                keep,
                info,
                f"observed_until (column '{mp.observed_until.column}') is empty",
                key="missing:observed_until",
                clip=None,
            )
    elif mp.observed_until.value is not None:
        leads["observed_until"] = pd.Timestamp(mp.observed_until.value)
        origin["observed_until"] = f"fixed {pd.Timestamp(mp.observed_until.value).date()}"
    else:
        stamps = [leads[c][keep].max() for c in ("created_at", *STAGE_COLUMNS) if c in leads]
        stamps += [dates(ev.at)[keep].max() for ev in mp.events if ev.at]
        latest = pd.Series(stamps, dtype="datetime64[ns]").max()
        leads["observed_until"] = latest
        origin["observed_until"] = f"latest timestamp in the data ({pd.Timestamp(latest).date()})"

    _check_order(main, mp, leads, keep, info, origin)

    # attributes
    for name, spec in mp.attributes.items():
        typed = _typed_attribute(main, name, spec, frame[spec.column], mp.dates)
        leads[name] = typed.set_axis(leads.index)

    events = _build_events(main, mp, frame, leads, keep, info, dates)

    info["leads"] = int(keep.sum())
    if not keep.any():
        raise InputError(
            f"{main.path}: no lead left after import (dropped: "
            f"{', '.join(f'{k} {v}' for k, v in info['dropped'].items())}); check the mapping"
        )
    leads = leads.loc[keep].reset_index(drop=True)
    info["observed_until"] = origin.get("observed_until")
    notes = {name: spec.note for name, spec in mp.attributes.items() if spec.note}
    if notes:
        info["attribute_notes"] = notes
    info["columns"] = origin
    if not info["clipped"]:
        del info["clipped"]
    files = {
        name: {"path": str(p), "sha256": _file_digest(p)}
        for name, p in tables.items()
        if p.exists()
    }
    files["main"]["rows"] = info["rows"]
    meta = {
        "source": mp.source,
        "kind": "crm_import",
        "mapping": {"name": label, "hash": mp.resolved_hash()},
        "files": files,
        "timing": mp.timing,
        "time_unit": "days",
        "import": info,
    }
    try:
        return Journeys.build(leads, events, meta)
    except ContractError as exc:
        raise InputError(f"{main.path} (mapping {label}): {exc}") from None


def _invalid(
    table: _Table,
    mp: Mapping,
    rows: np.ndarray,
    keep: np.ndarray,
    info: dict[str, Any],
    problem: str,
    *,
    key: str,
    clip: Any,
) -> np.ndarray | None:
    """Apply ``on_invalid`` to ``rows``; return the rows to clip (``clip`` policy)."""
    policy = mp.on_invalid
    if policy == "clip" and clip is not None:
        info["clipped"][key] = info["clipped"].get(key, 0) + len(rows)
        return rows
    if policy == "error":
        raise InputError(
            f"{table.path}: {table.where(rows)}: {problem} ({len(rows)} row(s)); fix the "
            f"data, or set on_invalid: drop (or clip) in the mapping"
        )
    info["dropped"][key] = info["dropped"].get(key, 0) + len(rows)
    keep[rows] = False
    return None


def _check_order(
    table: _Table,
    mp: Mapping,
    leads: pd.DataFrame,
    keep: np.ndarray,
    info: dict[str, Any],
    origin: dict[str, str],
) -> None:
    present = set(leads.columns)

    def label(c: str) -> str:
        src = origin.get(c)
        return f"{c} ({src!r})" if src else c

    for early, late in _ORDER_RULES:
        if early not in present or late not in present:
            continue
        a = leads[early].to_numpy()
        b = leads[late].to_numpy()
        bad = keep & ~np.isnat(a) & ~np.isnat(b) & (b < a)
        if bad.any():
            rows = np.flatnonzero(bad)
            clip = _invalid(
                table,
                mp,
                rows,
                keep,
                info,
                f"{label(late)} is before {label(early)}",
                key=f"{late}<{early}",
                clip=True,
            )
            if clip is not None:
                b = b.copy()
                b[clip] = a[clip]
                leads[late] = b
    end = leads["observed_until"].to_numpy()
    for col in ("created_at", *[c for c in STAGE_COLUMNS if c in present]):
        v = leads[col].to_numpy()
        bad = keep & ~np.isnat(v) & (v > end)
        if bad.any():
            rows = np.flatnonzero(bad)
            clip = _invalid(
                table,
                mp,
                rows,
                keep,
                info,
                f"{label(col)} is after observed_until ({origin.get('observed_until')})",
                key=f"{col}>observed_until",
                clip=None if col == "created_at" else True,
            )
            if clip is not None:
                v = v.copy()
                v[clip] = end[clip]
                leads[col] = v
    if "won_at" in present and "lost_at" in present:
        both = keep & leads["won_at"].notna().to_numpy() & leads["lost_at"].notna().to_numpy()
        if both.any():
            _invalid(
                table,
                mp,
                np.flatnonzero(both),
                keep,
                info,
                "the lead is both won and lost",
                key="won_and_lost",
                clip=None,
            )


def _build_events(
    table: _Table,
    mp: Mapping,
    frame: pd.DataFrame,
    leads: pd.DataFrame,
    keep: np.ndarray,
    info: dict[str, Any],
    dates: Any,
) -> pd.DataFrame:
    parts: list[pd.DataFrame] = []
    ids = leads["lead_id"].to_numpy()
    for i, ev in enumerate(mp.events):
        if ev.name is not None:
            names = pd.Series(ev.name, index=frame.index, dtype=object)
            label = ev.name
        else:
            assert ev.name_from is not None
            raw = _apply_map(frame[ev.name_from], ev.map)
            lookup = {v: ev.prefix + _snake(v) for v in pd.unique(raw.dropna())}
            names = raw.map(lookup).astype(object)
            names = names.where(names.notna(), None)
            names = names.where(names != ev.prefix, None)
            label = f"{ev.prefix}<{ev.name_from}>"
        if ev.at is not None:
            ts = dates(ev.at).to_numpy()
            timing = f"real (column '{ev.at}')"
        else:
            assert ev.at_stage is not None
            ts = leads[ev.at_stage].to_numpy() if ev.at_stage in leads else None
            if ts is None:
                raise ConfigError(f"events[{i}].at_stage: {ev.at_stage} is not set by this mapping")
            timing = f"placeholder (the lead's {ev.at_stage})"
        has = names.notna().to_numpy() & ~np.isnat(ts)
        if ev.at is not None:
            created = leads["created_at"].to_numpy()
            until = leads["observed_until"].to_numpy()
            early = keep & has & (ts < created)
            late = keep & has & (ts > until)
            for bad, what, bound, tag in (
                (early, "before the lead's created_at", created, "before_created"),
                (late, "after observed_until", until, "after_end"),
            ):
                if not bad.any():
                    continue
                rows = np.flatnonzero(bad)
                problem = f"event {label!r} (column '{ev.at}') is {what}"
                key = f"event:{label}:{tag}"
                if mp.on_invalid == "error":
                    _invalid(table, mp, rows, keep, info, problem, key=key, clip=None)
                elif mp.on_invalid == "drop":  # drop the event only, keep the lead
                    info["dropped"][key] = info["dropped"].get(key, 0) + len(rows)
                    has &= ~bad
                else:
                    info["clipped"][key] = info["clipped"].get(key, 0) + len(rows)
                    ts = ts.copy()
                    ts[rows] = bound[rows]
        has &= keep
        info["events"][label] = {"count": int(has.sum()), "timing": timing}
        part = pd.DataFrame(
            {
                "lead_id": ids[has],
                "ts": ts[has],
                "event": names.to_numpy()[has],
            }
        )
        if ev.value is not None:
            vals = pd.to_numeric(frame[ev.value], errors="coerce")
            part["value"] = vals.to_numpy()[has]
        parts.append(part)
    if not parts:
        return pd.DataFrame(
            {
                "lead_id": pd.Series([], dtype=object),
                "ts": pd.Series([], dtype="datetime64[ns]"),
                "event": pd.Series([], dtype="category"),
            }
        )
    out = pd.concat(parts, ignore_index=True)
    if "value" not in out:
        out["value"] = np.nan
    return out
