"""Qualification criteria as data: the pydantic schema, YAML loading and event-name checks.

A criteria file is YAML with a ``criteria`` list (optional ``scenario`` and ``description``);
each criterion has one of five kinds: ``score``, ``bant``, ``events``, ``all_of`` or
``any_of`` (see :mod:`qualmodel.criteria.engine` for their semantics and ``docs/criteria.md``).
Built-in files live in ``qualmodel/criteria/<scenario>.yaml``. A bad file raises
:class:`~qualmodel.core.errors.ConfigError` in one line naming the YAML key path and the fix.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from qualmodel.core.errors import ConfigError, preview
from qualmodel.journeys.contract import STAGE_COLUMNS, TRUTH_PREFIX

__all__ = [
    "BANT_FACTS",
    "FACT_COLUMN",
    "AttributePoints",
    "BantRule",
    "Criterion",
    "Decay",
    "EventPoints",
    "EventsRule",
    "ScoreRule",
    "check_events",
    "criteria_event_names",
    "list_criteria_files",
    "load_criteria",
    "scenario_criteria",
]

#: The four BANT facts, in the order reports list them.
BANT_FACTS: tuple[str, ...] = ("budget", "authority", "need", "timeline")
#: The leads column behind each BANT fact.
FACT_COLUMN = {
    "budget": "budget_confirmed",
    "authority": "authority",
    "need": "need",
    "timeline": "timeline_days",
}
_FORBIDDEN_COLUMNS = frozenset({*STAGE_COLUMNS, "observed_until", "lead_id"})
_KINDS = ("score", "bant", "events", "all_of", "any_of")

Fact = Literal["budget", "authority", "need", "timeline"]


# ---------------------------------------------------------------------------- schema
class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Decay(_Model):
    """Decay of positive event points: exactly one of ``half_life_days`` or ``per_days``."""

    half_life_days: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    per_days: float | None = Field(default=None, gt=0, allow_inf_nan=False)

    @model_validator(mode="after")
    def _one(self) -> Decay:
        if (self.half_life_days is None) == (self.per_days is None):
            raise ValueError("give exactly one of 'half_life_days' or 'per_days'")
        return self


class EventPoints(_Model):
    """Points of one event type with optional caps (a bare number means ``points``)."""

    points: float = Field(allow_inf_nan=False)
    max_count: int | None = Field(default=None, ge=1)
    max_points: float | None = Field(default=None, gt=0, allow_inf_nan=False)

    @model_validator(mode="after")
    def _cap(self) -> EventPoints:
        if self.max_points is not None and self.points <= 0:
            raise ValueError("'max_points' needs positive 'points'; use 'max_count' instead")
        return self


class AttributePoints(_Model):
    """Points for a lead attribute: a static ``column`` test or a ``bant`` fact.

    For ``column``: give ``equals``, ``in``, and/or ``min`` / ``max`` (inclusive); the
    points count from ``created_at``. For ``bant``: the fact (``timeline`` uses ``max`` as
    the day bound); the points count from when the fact is known.
    """

    column: str | None = None
    bant: Fact | None = None
    equals: str | float | bool | None = None
    in_: list[str | float | bool] | None = Field(default=None, alias="in")
    min: float | None = Field(default=None, allow_inf_nan=False)
    max: float | None = Field(default=None, allow_inf_nan=False)
    points: float = Field(allow_inf_nan=False)

    @model_validator(mode="after")
    def _target(self) -> AttributePoints:
        if (self.column is None) == (self.bant is None):
            raise ValueError("give exactly one of 'column' or 'bant'")
        if self.column is not None:
            if self.column.startswith(TRUTH_PREFIX):
                raise ValueError(
                    f"column '{self.column}' is simulation truth and cannot be used by "
                    f"criteria; use an observable column"
                )
            if self.column in _FORBIDDEN_COLUMNS:
                raise ValueError(
                    f"column '{self.column}' is a stage or id column, not an attribute"
                )
            if self.equals is None and self.in_ is None and self.min is None and self.max is None:
                raise ValueError("give a test: 'equals', 'in', 'min' and/or 'max'")
        elif self.equals is not None or self.in_ is not None or self.min is not None:
            raise ValueError("a 'bant' attribute takes only 'points' (and 'max' for timeline)")
        return self


class ScoreRule(_Model):
    """Points threshold over event and attribute points with optional decay."""

    threshold: float = Field(allow_inf_nan=False)
    events: dict[str, EventPoints] = Field(default_factory=dict)
    attributes: list[AttributePoints] = Field(default_factory=list)
    decay: Decay | None = None

    @field_validator("events", mode="before")
    @classmethod
    def _numbers(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {
                k: {"points": v} if isinstance(v, int | float) and not isinstance(v, bool) else v
                for k, v in value.items()
            }
        return value

    @model_validator(mode="after")
    def _some(self) -> ScoreRule:
        if not self.events and not self.attributes:
            raise ValueError("a score needs 'events' and/or 'attributes' points")
        return self


class BantRule(_Model):
    """BANT gate: ``require`` a subset of facts and/or ``min_of`` k of the four."""

    require: list[Fact] = Field(default_factory=list)
    min_of: int | None = Field(default=None, ge=1, le=4)
    timeline_days: float | None = Field(default=None, ge=0, allow_inf_nan=False)

    @model_validator(mode="after")
    def _some(self) -> BantRule:
        if not self.require and self.min_of is None:
            raise ValueError("give 'require' and/or 'min_of'")
        return self


class EventsRule(_Model):
    """Event rule: ``all`` and/or ``any`` of listed events, ``min_count``, ``within_days``.

    ``all``: every listed event occurred at least ``min_count`` times; ``any``: listed
    events occurred at least ``min_count`` times in total. With ``within_days: W`` the
    counted occurrences must all lie in one closed window ``[t - W days, t]``.
    """

    all: list[str] = Field(default_factory=list)
    any: list[str] = Field(default_factory=list)
    within_days: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    min_count: int = Field(default=1, ge=1)

    @model_validator(mode="after")
    def _some(self) -> EventsRule:
        if not self.all and not self.any:
            raise ValueError("give 'all' and/or 'any' (lists of event names)")
        return self


class Criterion(_Model):
    """A named qualification criterion: exactly one of the five kinds.

    Parameters
    ----------
    name, description : str
        Label and explanation (``name`` is required at the top level of a criteria file;
        parts of ``all_of`` / ``any_of`` may leave it empty).
    score, bant, events : rule, optional
    all_of, any_of : list of Criterion, optional
    """

    name: str = ""
    description: str = ""
    score: ScoreRule | None = None
    bant: BantRule | None = None
    events: EventsRule | None = None
    all_of: list[Criterion] | None = Field(default=None, min_length=1)
    any_of: list[Criterion] | None = Field(default=None, min_length=1)
    _source: str = PrivateAttr(default="")

    @model_validator(mode="after")
    def _one_kind(self) -> Criterion:
        given = [k for k in _KINDS if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                f"give exactly one of {', '.join(_KINDS)} (found "
                f"{', '.join(given) if given else 'none'})"
            )
        return self

    @property
    def kind(self) -> str:
        """Which of ``score``, ``bant``, ``events``, ``all_of``, ``any_of`` this is."""
        return next(k for k in _KINDS if getattr(self, k) is not None)

    @property
    def source(self) -> str:
        """Where the criterion came from (file and YAML path) for error messages."""
        return self._source or f"criterion '{self.name or self.kind}'"


class _CriteriaFile(_Model):
    scenario: str | None = None
    description: str = ""
    criteria: list[Criterion] = Field(min_length=1)


# ---------------------------------------------------------------------------- loading
def _loc(parts: Sequence[Any]) -> str:
    out = ""
    for p in parts:
        if isinstance(p, int):
            out += f"[{p}]"
        else:
            out += ("." if out else "") + str(p)
    return out or "(top level)"


def _allowed(loc: Sequence[Any]) -> list[str]:
    """Keys allowed at the mapping that contains ``loc[-1]`` (best effort)."""
    model: Any = _CriteriaFile
    skip_key = False
    for p in loc[:-1]:
        if isinstance(p, int):
            continue
        if skip_key:  # a user key of a mapping field such as score.events
            skip_key = False
            continue
        if model is None or not hasattr(model, "model_fields") or p not in model.model_fields:
            return []
        ann = model.model_fields[p].annotation
        skip_key = "dict[" in str(ann)
        model = None
        stack = [ann]
        while stack:
            a = stack.pop()
            if isinstance(a, type) and issubclass(a, BaseModel):
                model = a
                break
            stack.extend(getattr(a, "__args__", ()))
    if model is None:
        return []
    return [f.alias or n for n, f in model.model_fields.items()]


def _format_error(exc: ValidationError, where: str) -> ConfigError:
    err = exc.errors()[0]
    loc = list(err["loc"])
    path = _loc(loc)
    kind = err["type"]
    if kind == "extra_forbidden":
        allowed = _allowed(loc)
        hint = f" (allowed: {', '.join(allowed)})" if allowed else ""
        msg = f"unknown key '{loc[-1]}'{hint}; fix the spelling or remove it"
        path = _loc(loc[:-1])
    elif kind == "missing":
        msg = f"missing required key '{loc[-1]}'; add it"
        path = _loc(loc[:-1])
    else:
        text = err["msg"].removeprefix("Value error, ")
        got = err.get("input")
        shown = "" if isinstance(got, dict | list) else f" (got {got!r})"
        msg = f"{text}{shown}; fix the value"
    return ConfigError(f"{where}: {path}: {msg}")


def _builtin_dir() -> Path:
    return Path(str(resources.files("qualmodel.criteria"))) / "definitions"


def list_criteria_files() -> list[str]:
    """Names of the built-in criteria files (one per scenario).

    Returns
    -------
    list of str
        For example ``["consultancy", "digital_agency", "startup_saas"]``.
    """
    return sorted(p.stem for p in _builtin_dir().glob("*.yaml"))


def load_criteria(source: str | Path, known_events: Iterable[str] | None = None) -> list[Criterion]:
    """Load criteria from a YAML file, YAML text, or a built-in scenario name.

    The YAML is a mapping ``{criteria: [...]}`` (optionally with ``scenario`` and
    ``description``) or a bare list of criteria. Each criterion is a mapping with ``name``,
    ``description`` and exactly one of ``score``, ``bant``, ``events``, ``all_of``,
    ``any_of`` (see ``docs/criteria.md``).

    Parameters
    ----------
    source : str or path
        A path to a ``.yaml`` file, a built-in scenario name (``startup_saas`` …), or YAML
        text (anything containing a newline or a colon that is not an existing path).
    known_events : iterable of str, optional
        When given, every event name used by a criterion must be in it.

    Returns
    -------
    list of Criterion

    Raises
    ------
    ConfigError
        Naming the file and the YAML path, e.g. ``startup_saas.yaml: criteria[2].events.
        all[1]: unknown event 'demo_complete' (known: ...); fix the name``.
    """
    from qualmodel.core.safety import load_yaml

    text, where = _read_source(source)
    data = load_yaml(text, where, ConfigError)
    if isinstance(data, list):
        data = {"criteria": data}
    if not isinstance(data, dict):
        raise ConfigError(
            f"{where}: expected a mapping with a 'criteria' list, got {type(data).__name__}"
        )
    try:
        parsed = _CriteriaFile.model_validate(data)
    except ValidationError as exc:
        raise _format_error(exc, where) from None
    names: set[str] = set()
    for i, crit in enumerate(parsed.criteria):
        if not crit.name:
            raise ConfigError(f"{where}: criteria[{i}]: missing required key 'name'; add it")
        if crit.name in names:
            raise ConfigError(
                f"{where}: criteria[{i}].name: duplicate name '{crit.name}'; names must be unique"
            )
        names.add(crit.name)
        crit._source = f"{where}: criteria[{i}]"
    if known_events is not None:
        known = set(known_events)
        for crit in parsed.criteria:
            check_events(crit, known, crit.source)
    return list(parsed.criteria)


def _read_source(source: str | Path) -> tuple[str, str]:
    if isinstance(source, Path):
        return _read_file(source), source.name
    if "\n" not in source and source in list_criteria_files():
        path = _builtin_dir() / f"{source}.yaml"
        return path.read_text(encoding="utf-8"), path.name
    if "\n" not in source and (source.endswith((".yaml", ".yml")) or Path(source).exists()):
        return _read_file(Path(source)), Path(source).name
    if "\n" not in source and ":" not in source:
        raise ConfigError(
            f"{source}: not a criteria file or built-in name; use a .yaml path or one of "
            f"{', '.join(list_criteria_files())}"
        )
    return source, "<criteria yaml>"


def _read_file(path: Path) -> str:
    if not path.is_file():
        raise ConfigError(f"{path}: no such criteria file; check the path")
    from qualmodel.core.safety import read_text

    return read_text(path, "criteria file", ConfigError)


def scenario_criteria(name: str) -> list[Criterion]:
    """Return the built-in candidate criteria of a scenario.

    Parameters
    ----------
    name : str
        ``startup_saas``, ``consultancy`` or ``digital_agency``.

    Returns
    -------
    list of Criterion
    """
    if name not in list_criteria_files():
        raise ConfigError(
            f"scenario_criteria: unknown scenario '{name}'; choose one of "
            f"{', '.join(list_criteria_files())}"
        )
    return load_criteria(name)


def criteria_event_names(criterion: Criterion) -> list[str]:
    """All event names a criterion refers to (sorted, unique).

    Parameters
    ----------
    criterion : Criterion

    Returns
    -------
    list of str
    """
    out: set[str] = set()
    for _, _, name in _walk_events(criterion, ""):
        out.add(name)
    return sorted(out)


def _walk_events(crit: Criterion, path: str) -> Iterable[tuple[Criterion, str, str]]:
    if crit.events is not None:
        for key in ("all", "any"):
            for j, e in enumerate(getattr(crit.events, key)):
                yield crit, f"{path}.events.{key}[{j}]", e
    elif crit.score is not None:
        for e in crit.score.events:
            yield crit, f"{path}.score.events.{e}", e
    for key in ("all_of", "any_of"):
        parts = getattr(crit, key)
        for j, part in enumerate(parts or ()):
            yield from _walk_events(part, f"{path}.{key}[{j}]")


def check_events(crit: Criterion, known: set[str], where: str) -> None:
    """Raise :class:`ConfigError` naming the first event of ``crit`` not in ``known``."""
    for _, path, name in _walk_events(crit, ""):
        if name not in known:
            raise ConfigError(
                f"{where}{path}: unknown event '{name}' (known: "
                f"{preview(sorted(known), k=12)}); fix the name"
            )
