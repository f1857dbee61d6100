"""Scenario schema: the parameters of a simulated lead-qualification world.

A scenario is a YAML file validated by the pydantic models below. Unknown keys and wrong
types are errors (:class:`~qualmodel.core.errors.ConfigError`) naming the file and the key path.
Three scenarios ship with the package (``startup_saas``, ``consultancy``,
``digital_agency``); any other YAML file with the same shape can be loaded by path.

Every block that holds numbers carries a ``source`` note stating the public benchmark
range (or modelling choice) the numbers come from. The generative model that uses these
parameters is written out in ``docs/simulation.md``.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
from collections.abc import Mapping
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from qualmodel.core.errors import ConfigError

__all__ = [
    "BUILTIN_SCENARIOS",
    "COVARIATES",
    "GENERIC_EVENTS",
    "Scenario",
    "list_scenarios",
    "load_scenario",
    "scenario_hash",
]

#: Names of the scenarios shipped with the package.
BUILTIN_SCENARIOS: tuple[str, ...] = ("startup_saas", "consultancy", "digital_agency")
#: Event names produced by the simulator itself (not declared as touchpoints).
RESERVED_EVENTS: tuple[str, ...] = (
    "nurture_email",
    "bant_budget",
    "bant_authority",
    "bant_need",
    "bant_timeline",
)
#: Generic engagement events every scenario may declare as ``kind: generic`` touchpoints.
GENERIC_EVENTS: tuple[str, ...] = ("email_open", "website_visit", "nurture_email")
#: Lead covariates a log hazard ratio may refer to (besides non-reference segment names).
COVARIATES: tuple[str, ...] = ("intent", "nurtured", "budget", "authority", "need")

Probability = Annotated[float, Field(ge=0.0, le=1.0)]
OpenProbability = Annotated[float, Field(gt=0.0, lt=1.0)]
#: Upper bound of every duration in days (30 years): larger windows would allocate
#: unbounded daily grids (``window.days: 1e9`` asked for ~180 GiB).
MAX_DAYS = 10_950.0
#: Upper bound of spreads (``intent.sd``, log-normal ``sigma``, Weibull ``shape``).
MAX_SPREAD = 20.0
#: Bound of every log-scale effect (log odds, log rate ratio, log hazard ratio, means on
#: the intent scale): ``exp(50)`` is already ~5e21, far beyond any plausible effect.
MAX_LOG_EFFECT = 50.0
#: Upper bound of Poisson rates per 30 days.
MAX_RATE = 1_000.0
PositiveFloat = Annotated[float, Field(gt=0.0, le=MAX_DAYS, allow_inf_nan=False)]
Spread = Annotated[float, Field(gt=0.0, le=MAX_SPREAD, allow_inf_nan=False)]
LogEffect = Annotated[float, Field(ge=-MAX_LOG_EFFECT, le=MAX_LOG_EFFECT, allow_inf_nan=False)]
NonNegFloat = Annotated[float, Field(ge=0.0, le=MAX_RATE, allow_inf_nan=False)]
Source = Annotated[str, Field(min_length=3)]


class _Model(BaseModel):
    """Base model: unknown keys are errors, instances are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Window(_Model):
    """Observation window: leads arrive over ``arrival_days`` and are observed until the end."""

    start: date
    days: PositiveFloat
    arrival_days: PositiveFloat
    source: Source

    @model_validator(mode="after")
    def _arrival_within_window(self) -> Window:
        if self.arrival_days > self.days:
            raise ValueError("arrival_days must not exceed days (leads arrive inside the window)")
        return self


class Segment(_Model):
    """A firmographic segment: its share of leads and the mean of its latent intent."""

    name: Annotated[str, Field(min_length=1, pattern=r"^[A-Za-z][A-Za-z0-9_]*$")]
    share: OpenProbability
    intent_mean: LogEffect
    source: Source


class Intent(_Model):
    """Latent intent ``z ~ Normal(segment.intent_mean, sd)``."""

    sd: Spread
    source: Source


class BantAttribute(_Model):
    """A boolean BANT fact: marginal share and its dependence on intent and segment."""

    share: OpenProbability
    intent_log_odds: LogEffect
    segment_log_odds: dict[str, LogEffect] = Field(default_factory=dict)
    discovery_mean_days: PositiveFloat
    source: Source


class Timeline(_Model):
    """Buying timeline in days: log-normal with an intent effect on the log scale."""

    median_days: PositiveFloat
    sigma: Spread
    intent_log_effect: LogEffect
    discovery_mean_days: PositiveFloat
    source: Source


class Bant(_Model):
    """The four BANT attributes."""

    budget: BantAttribute
    authority: BantAttribute
    need: BantAttribute
    timeline: Timeline


class Stage(_Model):
    """A funnel step reached with a stated share (of the previous stage) after a delay."""

    share: OpenProbability
    intent_log_odds: LogEffect
    delay_mean_days: PositiveFloat
    source: Source


class Funnel(_Model):
    """Created → MQL → SAL."""

    mql: Stage
    sal: Stage


class Nurture(_Model):
    """Nurture program: who is enrolled, how often they are emailed, engagement lift."""

    enabled: bool
    share: Probability
    email_rate_per_30d: NonNegFloat
    source: Source


class Touchpoint(_Model):
    """One touchpoint type: a background Poisson rate plus, for SQO-type, a readiness burst."""

    kind: Literal["sal", "sqo", "generic"]
    rate_per_30d: NonNegFloat
    intent_log_rr: LogEffect = 0.0
    nurture_log_rr: LogEffect = 0.0
    segment_log_rr: dict[str, LogEffect] = Field(default_factory=dict)
    p_ready: Probability = 0.0
    ready_lead_mean_days: PositiveFloat = 7.0
    source: Source


class NeverConvert(_Model):
    """Cure fraction: share of SALs that never reach SQO, and what drives it."""

    share: OpenProbability
    no_budget_log_odds: LogEffect
    no_authority_log_odds: LogEffect
    no_need_log_odds: LogEffect
    intent_log_odds: LogEffect
    source: Source


class WeibullPH(_Model):
    """Weibull proportional-hazards time from SAL: ``h(t|x) = (k/λ)(t/λ)^(k-1) exp(xβ)``."""

    shape: Spread
    scale_days: PositiveFloat
    log_hr: dict[str, LogEffect] = Field(default_factory=dict)
    never_convert_log_hr: LogEffect = 0.0
    source: Source


class Close(_Model):
    """Won vs lost after SQO, and the time from SQO to close."""

    win_share: OpenProbability
    intent_log_odds: LogEffect
    segment_log_odds: dict[str, LogEffect] = Field(default_factory=dict)
    days_median: dict[str, PositiveFloat]
    days_sigma: Spread
    source: Source


class Sales(_Model):
    """The sales process from SAL: cure fraction, competing SQO vs disqualification, close."""

    never_convert: NeverConvert
    sqo: WeibullPH
    disqualification: WeibullPH
    close: Close


class Scenario(_Model):
    """A complete simulated world; see ``docs/simulation.md`` for the generative model.

    Build one with :func:`load_scenario`; derive variants with :meth:`with_overrides`.
    """

    name: Annotated[str, Field(min_length=1)]
    description: Annotated[str, Field(min_length=1)]
    n_leads: Annotated[int, Field(ge=1, le=50_000_000)]
    window: Window
    segments: Annotated[list[Segment], Field(min_length=1)]
    intent: Intent
    bant: Bant
    funnel: Funnel
    nurture: Nurture
    touchpoints: dict[str, Touchpoint]
    sales: Sales

    @model_validator(mode="after")
    def _consistent(self) -> Scenario:
        names = [s.name for s in self.segments]
        if len(set(names)) != len(names):
            raise ValueError(f"segments: duplicated segment name(s) in {names}")
        total = sum(s.share for s in self.segments)
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"segments: shares must sum to 1, got {total:.6g}")
        seg = set(names)
        ref = names[0]

        def _check_keys(where: str, keys: Mapping[str, float], allowed: set[str]) -> None:
            bad = sorted(set(keys) - allowed)
            if bad:
                raise ValueError(
                    f"{where}: unknown key(s) {', '.join(bad)}; allowed: "
                    f"{', '.join(sorted(allowed)) or '(none)'}"
                )

        for attr in ("budget", "authority", "need"):
            a = getattr(self.bant, attr)
            _check_keys(f"bant.{attr}.segment_log_odds", a.segment_log_odds, seg - {ref})
        for ev, tp in self.touchpoints.items():
            if ev in RESERVED_EVENTS:
                raise ValueError(
                    f"touchpoints.{ev}: '{ev}' is produced by the simulator itself; remove it"
                )
            _check_keys(f"touchpoints.{ev}.segment_log_rr", tp.segment_log_rr, seg - {ref})
            if tp.kind != "sqo" and tp.p_ready > 0:
                raise ValueError(f"touchpoints.{ev}.p_ready: only kind 'sqo' events have p_ready")
        kinds = {tp.kind for tp in self.touchpoints.values()}
        for need in ("sal", "sqo"):
            if need not in kinds:
                raise ValueError(f"touchpoints: declare at least one kind '{need}' event")
        allowed = (seg - {ref}) | set(COVARIATES)
        _check_keys("sales.sqo.log_hr", self.sales.sqo.log_hr, allowed)
        _check_keys("sales.disqualification.log_hr", self.sales.disqualification.log_hr, allowed)
        if self.sales.sqo.never_convert_log_hr != 0.0:
            raise ValueError(
                "sales.sqo.never_convert_log_hr: never-converting leads have no SQO hazard; "
                "remove the key"
            )
        _check_keys("sales.close.segment_log_odds", self.sales.close.segment_log_odds, seg - {ref})
        missing = sorted(seg - set(self.sales.close.days_median))
        if missing:
            raise ValueError(f"sales.close.days_median: add segment(s) {', '.join(missing)}")
        _check_keys("sales.close.days_median", self.sales.close.days_median, seg)
        return self

    # ------------------------------------------------------------------ helpers
    @property
    def segment_names(self) -> list[str]:
        """Segment names in declaration order (the first is the reference level)."""
        return [s.name for s in self.segments]

    def events_of_kind(self, kind: str) -> list[str]:
        """Touchpoint names of one kind (``"sal"``, ``"sqo"`` or ``"generic"``)."""
        return [ev for ev, tp in self.touchpoints.items() if tp.kind == kind]

    def with_overrides(self, updates: Mapping[str, Any]) -> Scenario:
        """Return a validated copy with some fields replaced.

        Parameters
        ----------
        updates : mapping
            Dotted key paths to new values, e.g. ``{"nurture.enabled": False,
            "window.days": 180, "sales.sqo.log_hr.nurtured": 0.5}``.

        Returns
        -------
        Scenario

        Raises
        ------
        ConfigError
            When a path does not exist or the new value is invalid.
        """
        data = self.model_dump(mode="json")
        for dotted, value in updates.items():
            parts = str(dotted).split(".")
            node: Any = data
            for i, part in enumerate(parts[:-1]):
                node = _step(node, part, ".".join(parts[: i + 1]))
            last = parts[-1]
            if isinstance(node, list):
                node = _step(node, last, dotted)  # validate index
                raise ConfigError(f"overrides: {dotted}: cannot replace a list item wholesale")
            if not isinstance(node, dict):
                raise ConfigError(f"overrides: {dotted}: parent is not a mapping; check the path")
            # new keys inside free-form dicts (log_hr, segment_log_*) are allowed;
            # unknown model keys are caught by validation below
            node[last] = copy.deepcopy(value)
        return _validate(data, "overrides")


def _step(node: Any, part: str, path: str) -> Any:
    if isinstance(node, dict):
        if part not in node:
            raise ConfigError(f"overrides: {path}: no such key; check the path")
        return node[part]
    if isinstance(node, list):
        for item in node:  # lists of named items (segments) are addressed by name
            if isinstance(item, dict) and item.get("name") == part:
                return item
        if part.isdigit() and int(part) < len(node):
            return node[int(part)]
        raise ConfigError(f"overrides: {path}: no such item; check the path")
    raise ConfigError(f"overrides: {path}: no such key; check the path")


# ---------------------------------------------------------------------- loading
def _format_error(label: str, exc: ValidationError) -> str:
    errors = exc.errors()
    err = errors[0]
    loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
    kind = err["type"]
    if kind == "extra_forbidden":
        msg = f"{label}: {loc}: unknown key; remove it or fix its spelling"
    elif kind == "missing":
        msg = f"{label}: {loc}: required key is missing; add it"
    else:
        text = str(err["msg"])
        if text.startswith("Value error, "):
            text = text[len("Value error, ") :]
        msg = f"{label}: {loc}: {text}; fix the value"
    if len(errors) > 1:
        msg += f" (+{len(errors) - 1} more error(s))"
    return msg


def _validate(data: Any, label: str) -> Scenario:
    if isinstance(data, dict) and data.get("kind") == "twin":
        return _validate_twin(data, label)
    if not isinstance(data, dict):
        raise ConfigError(
            f"{label}: expected a mapping of scenario keys at the top level, got "
            f"{type(data).__name__}; see the built-in scenarios for the shape"
        )
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format_error(label, exc)) from None


def _validate_twin(data: dict, label: str) -> Any:
    """Validate a fitted scenario (``kind: twin``, :mod:`qualmodel.simulation.twin_schema`)."""
    from qualmodel.simulation.twin_schema import TwinScenario

    try:
        return TwinScenario.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format_error(label, exc)) from None


def _parse_yaml(text: str, label: str) -> Any:
    from qualmodel.core.safety import load_yaml

    return load_yaml(text, label, ConfigError)


def _builtin_text(name: str) -> str:
    return (resources.files("qualmodel.simulation") / "scenarios" / f"{name}.yaml").read_text(
        encoding="utf-8"
    )


def load_scenario(name_or_path: str | os.PathLike[str] | Scenario) -> Scenario:
    """Load a built-in scenario by name or a scenario YAML file by path.

    Parameters
    ----------
    name_or_path : str, path-like or Scenario
        ``"startup_saas"``, ``"consultancy"``, ``"digital_agency"``, or the path of a YAML
        file with the same shape, or a fitted scenario (``kind: twin``, see
        ``docs/twin.md``; returned as a ``TwinScenario``). A scenario object is returned
        unchanged.

    Returns
    -------
    Scenario

    Raises
    ------
    ConfigError
        Unknown name, unreadable file, YAML syntax error (with line and column), unknown
        key or wrong type (with the key path).
    """
    if isinstance(name_or_path, Scenario) or getattr(name_or_path, "kind", None) == "twin":
        return name_or_path
    text_name = os.fspath(name_or_path)
    if text_name in BUILTIN_SCENARIOS:
        return _validate(_parse_yaml(_builtin_text(text_name), f"{text_name}.yaml"), text_name)
    path = Path(text_name)
    if path.suffix.lower() in (".yaml", ".yml") or path.exists() or os.sep in text_name:
        if not path.is_file():
            raise ConfigError(
                f"{path}: scenario file not found; give an existing YAML path or one of "
                f"{', '.join(BUILTIN_SCENARIOS)}"
            )
        from qualmodel.core.safety import read_text

        text = read_text(path, "scenario file", ConfigError)
        return _validate(_parse_yaml(text, path.name), path.name)
    raise ConfigError(
        f"unknown scenario '{text_name}'; choose one of {', '.join(BUILTIN_SCENARIOS)} "
        f"or give the path of a scenario YAML file"
    )


def list_scenarios() -> pd.DataFrame:
    """Return the built-in scenarios with their one-line descriptions.

    Returns
    -------
    pandas.DataFrame
        Columns ``name``, ``description``, ``n_leads``.
    """
    rows = []
    for name in BUILTIN_SCENARIOS:
        sc = load_scenario(name)
        rows.append(
            {
                "name": name,
                "description": " ".join(sc.description.split()),
                "n_leads": sc.n_leads,
            }
        )
    return pd.DataFrame(rows, columns=["name", "description", "n_leads"])


def scenario_hash(scenario: Scenario) -> str:
    """Short, stable hash (12 hex digits) of the resolved scenario configuration.

    Parameters
    ----------
    scenario : Scenario

    Returns
    -------
    str
        First 12 hex digits of the SHA-256 of the canonical JSON of the scenario.
    """
    payload = json.dumps(scenario.model_dump(mode="json"), sort_keys=True, ensure_ascii=True)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:12]
