"""The SAL → SQO explorer: one simulated population, one SQO definition, every number.

The primer's interactive explorer (widgets in :mod:`qualmodel.report.explorer_widgets`)
asks one question again and again: *if an SQO meant this, what would happen on these
leads?* This module answers it without any widget, so it can be tested and timed:

* :func:`load_population` simulates a scenario once per (scenario, nurture on/off, size,
  seed) and keeps it (at most :data:`MAX_POPULATIONS` in memory). Nurture on and off share
  the population (common random numbers of :func:`qualmodel.simulate`).
* :class:`Settings` is one position of the controls: the scenario, nurture, the SQO
  definition family (``points``: score threshold and decay half-life over the scenario's
  points table; ``bant``: any ``k`` of budget, authority, need, timeline ≤
  :data:`BANT_TIMELINE_DAYS` days; ``events``: every listed event required) and the
  horizon.
* :func:`explore` returns an :class:`Explored` result: the criterion row of
  :func:`qualmodel.compare_criteria` (no bootstrap), the qualification curve (1 − Kaplan–
  Meier of days from SAL to qualification), SQOs per calendar week, and the naive 1 − KM
  and Aalen–Johansen curves of SAL → qualification with disqualification competing —
  each also for the scenario's current definition (the first criterion of its built-in
  criteria file), the *reference*.
* :func:`summary_table` turns a result into a table, :func:`qualmodel.report.explorer_plot.draw`
  into one figure.

Every result is cached per population and criterion, so moving a slider back is free; a
new position costs one :func:`qualmodel.qualify` and one :func:`qualmodel.compare_criteria`
(see ``benchmarks/bench_explorer.py``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from qualmodel.core.checks import check_count, check_number, check_seed
from qualmodel.core.errors import ConfigError
from qualmodel.core.i18n import check_lang, t
from qualmodel.criteria.compare import compare_criteria, weighted_km
from qualmodel.criteria.engine import Criterion, qualify
from qualmodel.journeys.contract import Journeys
from qualmodel.simulation.engine import simulate
from qualmodel.simulation.scenario import load_scenario
from qualmodel.survival.durations import time_to_event
from qualmodel.survival.estimators import cumulative_incidence, naive_conversion

__all__ = [
    "BANT_TIMELINE_DAYS",
    "DEFAULT_N_LEADS",
    "FAMILIES",
    "MAX_POPULATIONS",
    "SUMMARY_ROWS",
    "Explored",
    "Population",
    "Settings",
    "criterion_for",
    "explore",
    "label",
    "load_population",
    "summary_table",
]

#: SQO definition families of the explorer.
FAMILIES: tuple[str, ...] = ("points", "bant", "events")
#: The BANT family's timeline fact: a timeline of at most this many days.
BANT_TIMELINE_DAYS = 90.0
#: Leads per simulated population (as in ``qualmodel report``).
DEFAULT_N_LEADS = 20_000
#: Populations kept in memory (oldest dropped first).
MAX_POPULATIONS = 8
#: Points of the derived points table (scenarios without a built-in score criterion):
#: buying signals, interest touchpoints (first three count), generic touchpoints (≤ 5).
DERIVED_POINTS = {"sqo": 30.0, "sal": 8.0, "generic": 1.0}
_DAY = np.timedelta64(1, "D")
_WEEK_FREQ = "W-MON"


@dataclass(frozen=True)
class Settings:
    """One position of the explorer's controls.

    Parameters
    ----------
    scenario : str
        Built-in scenario name or scenario YAML path.
    nurture : bool
        Nurture programme on (the scenario's enrolment share) or off.
    family : {"points", "bant", "events"}
        SQO definition family.
    threshold : float
        ``points``: score threshold (> 0).
    half_life_days : float
        ``points``: half-life of event points in days; 0 means no decay.
    bant_k : int
        ``bant``: facts required, 1 to 4.
    events : tuple of str
        ``events``: events that must all have happened; empty means the scenario's buying
        signals (touchpoints of kind ``sqo``).
    horizon_days : float
        Horizon of "share by day N" numbers (> 0).
    """

    scenario: str = "startup_saas"
    nurture: bool = True
    family: str = "points"
    threshold: float = 60.0
    half_life_days: float = 30.0
    bant_k: int = 3
    events: tuple[str, ...] = ()
    horizon_days: float = 90.0

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:
            raise ConfigError(
                f"explorer: family '{self.family}' is unknown; choose one of {', '.join(FAMILIES)}"
            )
        check_number("explorer: threshold", self.threshold, low=0, low_open=True)
        check_number("explorer: half_life_days", self.half_life_days, low=0)
        check_count("explorer: bant_k", self.bant_k, low=1, high=4)
        check_number("explorer: horizon_days", self.horizon_days, low=0, low_open=True)
        object.__setattr__(self, "events", tuple(self.events))

    def replace(self, **changes: Any) -> Settings:
        """Return a copy with ``changes`` applied (checked like the constructor)."""
        return dataclasses.replace(self, **changes)


@dataclass(eq=False)
class Population:
    """One simulated population and what every definition of the explorer needs from it.

    Attributes
    ----------
    scenario : str
    nurture : bool
    n_leads, seed : int
    journeys : Journeys
    points : dict
        Points table of the ``points`` family: ``events`` and ``attributes`` of the
        scenario's first built-in score criterion, or a table derived from the touchpoint
        kinds (:data:`DERIVED_POINTS`).
    signals, interest : tuple of str
        Buying signals (``sqo`` kind) and interest touchpoints (``sal`` kind).
    reference : Criterion or None
        The scenario's current definition (first built-in criterion), if any.
    """

    scenario: str
    nurture: bool
    n_leads: int
    seed: int
    journeys: Journeys
    points: dict[str, Any]
    signals: tuple[str, ...]
    interest: tuple[str, ...]
    reference: Criterion | None
    cache: dict[str, Any] = field(default_factory=dict, repr=False)


_POPULATIONS: dict[tuple[str, bool, int, int], Population] = {}


def _points_table(scenario: Any, builtin: list[Criterion]) -> dict[str, Any]:
    score = next((c.score for c in builtin if c.kind == "score"), None)
    if score is not None:
        return score.model_dump(include={"events", "attributes"}, exclude_none=True, by_alias=True)
    events: dict[str, Any] = {}
    for kind, pts in DERIVED_POINTS.items():
        cap = {"sal": {"max_count": 3}, "generic": {"max_points": 5 * pts}}.get(kind, {})
        events.update({ev: {"points": pts, **cap} for ev in scenario.events_of_kind(kind)})
    return {"events": events}


def load_population(
    scenario: str = "startup_saas",
    nurture: bool = True,
    n_leads: int = DEFAULT_N_LEADS,
    seed: int = 2026,
) -> Population:
    """Simulate (or return the kept) population of a scenario with nurture on or off.

    Parameters
    ----------
    scenario : str, default "startup_saas"
        Built-in scenario name or scenario YAML path.
    nurture : bool, default True
    n_leads : int, default 20,000
    seed : int, default 2026

    Returns
    -------
    Population
    """
    check_count("explorer: n_leads", n_leads, low=1)
    check_seed("explorer: seed", seed)
    key = (str(scenario), bool(nurture), n_leads, seed)
    if key in _POPULATIONS:
        return _POPULATIONS[key]
    from qualmodel.criteria.engine import list_criteria_files, scenario_criteria

    sc = load_scenario(scenario)
    journeys = simulate(sc, n_leads, seed=seed, nurture=bool(nurture))
    builtin = scenario_criteria(sc.name) if sc.name in list_criteria_files() else []
    pop = Population(
        scenario=str(scenario),
        nurture=bool(nurture),
        n_leads=n_leads,
        seed=seed,
        journeys=journeys,
        points=_points_table(sc, builtin),
        signals=tuple(sc.events_of_kind("sqo")),
        interest=tuple(sc.events_of_kind("sal")),
        reference=builtin[0] if builtin else None,
    )
    while len(_POPULATIONS) >= MAX_POPULATIONS:
        _POPULATIONS.pop(next(iter(_POPULATIONS)))
    _POPULATIONS[key] = pop
    return pop


def criterion_for(population: Population, settings: Settings) -> Criterion:
    """Return the SQO definition the settings describe, as a :class:`~qualmodel.Criterion`.

    Parameters
    ----------
    population : Population
        Supplies the points table and the default events.
    settings : Settings

    Returns
    -------
    Criterion
        Named ``points_<threshold>_hl<half-life>`` (``_nodecay`` for half-life 0),
        ``bant_<k>_of_4`` or ``events_<e1>+<e2>...``.
    """
    s = settings
    if s.family == "points":
        decay = {"decay": {"half_life_days": s.half_life_days}} if s.half_life_days > 0 else {}
        tail = f"hl{s.half_life_days:g}" if s.half_life_days > 0 else "nodecay"
        spec = {
            "name": f"points_{s.threshold:g}_{tail}",
            "score": {"threshold": s.threshold, **population.points, **decay},
        }
    elif s.family == "bant":
        spec = {
            "name": f"bant_{s.bant_k}_of_4",
            "bant": {"min_of": s.bant_k, "timeline_days": BANT_TIMELINE_DAYS},
        }
    else:
        events = list(s.events or population.signals)
        unknown = [e for e in events if e not in population.journeys.event_names]
        if not events or unknown:
            raise ConfigError(
                f"explorer: events {unknown or '(none)'} cannot define an SQO in "
                f"{population.scenario}; choose from {', '.join(population.journeys.event_names)}"
            )
        spec = {"name": "events_" + "+".join(events), "events": {"all": events}}
    return Criterion.model_validate(spec)


@dataclass(frozen=True)
class Explored:
    """Everything the explorer shows for one position of the controls.

    Attributes
    ----------
    settings : Settings
    criterion, reference : Criterion (reference None when the scenario has none)
    table : pandas.DataFrame
        :func:`qualmodel.compare_criteria` rows (``n_boot=0``): the definition first, then
        the reference; plus ``median_days_sqos``, the median days from SAL to qualification
        among the qualified SALs (a lead qualified before SAL counts 0).
    curves : pandas.DataFrame
        ``criterion, day, share``: 1 − Kaplan–Meier of days from SAL to qualification.
    weekly : pandas.DataFrame
        ``criterion, week, sqos``: qualified SALs per calendar week (weeks start Monday;
        a lead qualified before SAL counts at SAL).
    naive, cif : pandas.DataFrame
        :func:`~qualmodel.survival.estimators.naive_conversion` and
        :func:`~qualmodel.survival.estimators.cumulative_incidence` of SAL → qualification
        (event 1) with disqualification competing (event 2).
    qualified_at : pandas.Series
        The definition's qualification time per ``lead_id`` (``NaT``: never).
    """

    settings: Settings
    criterion: Criterion
    reference: Criterion | None
    table: pd.DataFrame
    curves: pd.DataFrame
    weekly: pd.DataFrame
    naive: pd.DataFrame
    cif: pd.DataFrame
    qualified_at: pd.Series

    def row(self, which: str = "definition") -> pd.Series:
        """Return the table row of the ``"definition"`` or the ``"reference"``."""
        return self.table.iloc[0 if which == "definition" else 1]

    def at_horizon(self, curve: str = "cif", event: int = 1) -> float:
        """Naive (``curve="naive"``) or competing-risk share of ``event`` by the horizon."""
        tbl = self.naive if curve == "naive" else self.cif
        c = tbl[(tbl["event"] == event) & (tbl["time"] <= self.settings.horizon_days)]
        return float(c["cif"].iloc[-1]) if len(c) else 0.0


def _curve(journeys: Journeys, qualified_at: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Days since SAL and 1 − KM of time to qualification (censored at observed_until)."""
    leads = journeys.leads
    pop = leads["sal_at"].notna().to_numpy()
    s0 = leads["sal_at"].to_numpy()[pop]
    until = leads["observed_until"].to_numpy()[pop]
    qa = qualified_at[pop]
    qual = ~np.isnat(qa)
    dur = (np.where(qual, np.maximum(qa, s0), until) - s0) / _DAY
    times, surv = weighted_km(dur, qual, np.ones((1, len(dur))))
    return np.r_[0.0, times], np.r_[0.0, 1.0 - surv[0]] if len(times) else np.zeros(1)


def _median_among_qualified(journeys: Journeys, qualified_at: np.ndarray) -> float:
    """Median days from SAL to qualification over the qualified SALs (NaN if none)."""
    sal = journeys.leads["sal_at"].to_numpy()
    ok = ~np.isnat(sal) & ~np.isnat(qualified_at)
    days = (np.maximum(qualified_at[ok], sal[ok]) - sal[ok]) / _DAY
    return float(np.median(days)) if len(days) else float("nan")


def _weekly(journeys: Journeys, qualified_at: np.ndarray) -> pd.Series:
    """Qualified SALs per calendar week, zero weeks included, from first SAL to the end."""
    leads = journeys.leads
    sal = leads["sal_at"].to_numpy()
    ok = ~np.isnat(sal) & ~np.isnat(qualified_at)
    when = pd.DatetimeIndex(np.maximum(qualified_at[ok], sal[ok]))
    weeks = pd.period_range(
        pd.Timestamp(np.nanmin(sal)).to_period(_WEEK_FREQ),
        pd.Timestamp(leads["observed_until"].max()).to_period(_WEEK_FREQ),
        freq=_WEEK_FREQ,
    )
    counts = pd.Series(when.to_period(_WEEK_FREQ)).value_counts()
    return counts.reindex(weeks, fill_value=0).rename_axis("week")


def _one(population: Population, crit: Criterion, horizon: float) -> dict[str, Any]:
    """Compute (once) a criterion's compare row, qualification, curves and weekly counts."""
    key = f"{horizon!r}|{crit.model_dump_json()}"
    if key in population.cache:
        return population.cache[key]
    j = population.journeys
    row = compare_criteria(j, [crit], horizon_days=horizon, n_boot=0)
    qv = qualify(j, crit)["qualified_at"].to_numpy()
    row["median_days_sqos"] = _median_among_qualified(j, qv)
    days, share = _curve(j, qv)
    weekly = _weekly(j, qv)
    target = pd.Series(qv, index=j.leads.index)
    dq = [c for c in ("disqualified_at",) if c in j.leads]  # as the comparison counts it
    tte = time_to_event(j, target=target, competing=dq, before_start="zero")
    out = {
        "row": row,
        "qualified_at": pd.Series(qv, index=pd.Index(j.leads["lead_id"], name="lead_id")),
        "curve": pd.DataFrame({"criterion": crit.name, "day": days, "share": share}),
        "weekly": pd.DataFrame(
            {"criterion": crit.name, "week": weekly.index.start_time, "sqos": weekly.to_numpy()}
        ),
        "naive": naive_conversion(tte),
        "cif": cumulative_incidence(tte),
    }
    population.cache[key] = out
    return out


def explore(population: Population, settings: Settings) -> Explored:
    """Compute everything the explorer shows for one position of the controls.

    Parameters
    ----------
    population : Population
        From :func:`load_population` for ``settings.scenario`` / ``settings.nurture``.
    settings : Settings

    Returns
    -------
    Explored
    """
    crit = criterion_for(population, settings)
    mine = _one(population, crit, settings.horizon_days)
    parts = [mine]
    ref = population.reference
    if ref is not None and ref.name != crit.name:
        parts.append(_one(population, ref, settings.horizon_days))
    else:
        ref = None
    return Explored(
        settings=settings,
        criterion=crit,
        reference=ref,
        table=pd.concat([p["row"] for p in parts], ignore_index=True),
        curves=pd.concat([p["curve"] for p in parts], ignore_index=True),
        weekly=pd.concat([p["weekly"] for p in parts], ignore_index=True),
        naive=mine["naive"],
        cif=mine["cif"],
        qualified_at=mine["qualified_at"],
    )


def label(explored: Explored, which: str = "definition", lang: str = "en") -> str:
    """Display name of the definition (from the settings) or of the reference."""
    if which == "reference":
        ref = explored.reference
        return t("explorer.reference", lang, name=ref.name if ref is not None else "")
    s = explored.settings
    if s.family == "points":
        key = "points" if s.half_life_days > 0 else "points_nodecay"
        return t(f"explorer.label.{key}", lang, threshold=s.threshold, half_life=s.half_life_days)
    if s.family == "bant":
        return t("explorer.label.bant", lang, k=s.bant_k, days=BANT_TIMELINE_DAYS)
    events = explored.criterion.events.all if explored.criterion.events else []
    return t("explorer.label.events", lang, events=" + ".join(events))


#: Rows of :func:`summary_table`: compare_criteria column and how it is shown.
SUMMARY_ROWS: tuple[tuple[str, str], ...] = (
    ("n_leads", "{:,.0f}"),
    ("n_qualified", "{:,.0f}"),
    ("qualified_rate", "{:.1%}"),
    ("share_by_horizon", "{:.1%}"),
    ("median_days", "{:.1f}"),
    ("median_days_sqos", "{:.1f}"),
    ("precision", "{:.1%}"),
    ("recall", "{:.1%}"),
    ("base_win_rate", "{:.1%}"),
    ("per_week", "{:.1f}"),
    ("lead_time_days", "{:+.1f}"),
)


def summary_table(explored: Explored, lang: str = "en") -> pd.DataFrame:
    """Key numbers of the definition (and the reference) as display strings.

    Parameters
    ----------
    explored : Explored
    lang : str, default "en"

    Returns
    -------
    pandas.DataFrame
        One row per :data:`SUMMARY_ROWS` metric (labelled in ``lang``), one column per
        definition; numbers formatted for ``lang`` ("–" when not estimable).
    """
    from qualmodel.core.i18n import localize_number_text

    check_lang(lang)
    day = explored.settings.horizon_days
    cols = {label(explored, "definition", lang): explored.row("definition")}
    if explored.reference is not None:
        cols[label(explored, "reference", lang)] = explored.row("reference")
    index = [t(f"explorer.metric.{key}", lang, day=day) for key, _ in SUMMARY_ROWS]
    data = {
        name: [
            "–" if pd.isna(row[key]) else localize_number_text(fmt.format(row[key]), lang)
            for key, fmt in SUMMARY_ROWS
        ]
        for name, row in cols.items()
    }
    return pd.DataFrame(data, index=pd.Index(index, name=t("explorer.metric.name", lang)))
