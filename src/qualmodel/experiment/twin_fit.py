"""Fit a scenario to imported journeys: the "funnel twin" (:func:`fit_scenario`).

What is fitted from what the data have (``docs/twin.md``):

* the window and the arrival profile (share of leads created in each week);
* the mix of one lead attribute (``segment=``);
* the stage tree: every stage present is reached from the latest earlier stage that
  (almost) every lead reaching it has passed; the stages reached from the same stage are
  competing outcomes, each fitted as a share and a delay distribution from the
  Aalen–Johansen curves (:mod:`qualmodel.experiment.twin_curves`);
* touchpoint rates per 30 days (leads that reach the target vs the others), BANT shares;
* the outcome names the data declare (``meta["outcomes"]``).

Then the fit is checked by simulation (:mod:`qualmodel.experiment.twin_check`) and its
uncertainty measured by seeded bootstrap refits (optionally on a Dask client).
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import pandas as pd

from qualmodel.core.checks import check_count, check_seed
from qualmodel.core.errors import ConfigError
from qualmodel.experiment.twin_attrs_fit import (
    MAX_SEGMENT_VALUES,
    fit_bant,
    fit_segment,
    fit_timeline,
    shares,
)
from qualmodel.experiment.twin_criteria import criteria_fit, resolve_criteria
from qualmodel.experiment.twin_curves import FAMILIES, fit_transitions, stage_days, stage_stems
from qualmodel.experiment.twin_intent_fit import fit_intent, plan_classes

__all__ = ["MIN_TARGET_EVENTS", "MAX_SEGMENT_VALUES", "fit_scenario", "journeys_hash"]

#: Fewest leads reaching the target a twin is fitted to.
MIN_TARGET_EVENTS = 50
#: Share of the leads reaching a stage that must have passed its ``after`` stage first.
PARENT_COVERAGE = 0.95
#: Most arrival cohorts.
MAX_COHORTS = 6
#: ``cohorts="auto"`` tries cohorts when a pooled funnel share is off by more than this.
COHORT_TRIGGER = 0.01
#: Stages that can lead to later stages, earliest first.
CHAIN: tuple[str, ...] = ("created", "mql", "sal", "sqo")


def journeys_hash(journeys: Any) -> str:
    """Short hash (12 hex digits) of the leads' ids and stage timestamps."""
    h = hashlib.sha256()
    leads = journeys.leads
    h.update("\n".join(leads["lead_id"].astype(str)).encode())
    for col in sorted(c for c in leads.columns if c.endswith("_at") or c == "observed_until"):
        h.update(col.encode())
        h.update(leads[col].to_numpy("datetime64[ns]").view(np.int64).tobytes())
    return h.hexdigest()[:12]


def stage_tree(days: dict[str, np.ndarray], stems: list[str]) -> dict[str, str]:
    """``{stage: after}``: the latest earlier chain stage passed by ≥ 95% of its leads."""
    tree = {}
    for stem in stems:
        before = CHAIN[: CHAIN.index(stem)] if stem in CHAIN else CHAIN
        reached = ~np.isnan(days[stem])
        parent = "created"
        for cand in before:
            if cand not in days or cand == stem:
                continue
            passed = ~np.isnan(days[cand]) & (days[cand] <= days[stem] + 1e-9)
            if passed[reached].mean() >= PARENT_COVERAGE:
                parent = cand
        tree[stem] = parent
    return tree


def _check_timing(journeys: Any) -> None:
    source = journeys.meta.get("source", "journeys")
    if journeys.meta.get("timing") == "none":
        raise ConfigError(
            f"{source}: timing is 'none' (the export has no real timestamps), so no delay or "
            f"arrival can be fitted; a twin needs dated stages — import an export with dates"
        )
    created, until = journeys.leads["created_at"], journeys.leads["observed_until"]
    if until.max() <= created.min().floor("D"):
        raise ConfigError(
            f"{source}: every lead is observed only on its creation day; a twin needs "
            f"follow-up time (observed_until after created_at)"
        )


def _check_input(journeys: Any, plan: dict[str, Any]) -> None:
    source = journeys.meta.get("source", "journeys")
    target = plan["target"]
    n_target = int(journeys.leads[target].notna().sum())
    if n_target < MIN_TARGET_EVENTS:
        raise ConfigError(
            f"{source}: only {n_target} lead(s) reached {target} (a twin needs at least "
            f"{MIN_TARGET_EVENTS}); use more data or choose another target"
        )


def _window(journeys: Any, days: dict[str, np.ndarray], day_res: bool) -> dict[str, Any]:
    start = pd.Timestamp(journeys.leads["created_at"].min()).floor("D")
    span = float(np.nanmax(days["observed_until"]))
    top = float(np.nanmax(days["created"]))
    arrival = min(np.floor(top) + 1.0 if day_res else np.ceil(top + 1e-9), span)
    edges = np.unique(np.append(np.arange(0.0, arrival, 7.0), arrival))
    created = np.minimum(days["created"], np.nextafter(arrival, 0))
    counts = np.histogram(created, bins=edges)[0]
    note = "observed_until varies by lead; the twin ends every lead at the latest one"
    same = np.nanmin(days["observed_until"]) == span
    return {
        "window": {
            "start": start.date(),
            "days": round(span, 6),
            "arrival_days": round(float(arrival), 6),
            "source": "first created day to the latest observed_until"
            + ("" if same else f" ({note})"),
        },
        "arrivals": {
            "edges_days": [round(float(e), 6) for e in edges],
            "shares": shares(counts, int(counts.sum())),
            "source": f"weekly arrival counts of the {int(counts.sum()):,} leads",
        },
    }


def _day_resolution(days: dict[str, np.ndarray]) -> bool:
    vals = np.concatenate([v[~np.isnan(v)] for k, v in days.items() if k != "observed_until"])
    return bool(np.allclose(vals, np.round(vals), atol=1e-9))


def _stage_block(stem: str, spec: dict[str, Any], labels: dict[str, str]) -> dict[str, Any]:
    notes = spec["notes"]
    dist = ""
    if "sup_distance" in notes:
        dist = (
            f"; sup |fit - AJ| {notes['sup_distance']:.4f}, inside the 95% band on "
            f"{100 * notes['band_coverage']:.1f}% of days"
        )
    return {
        "after": spec["after"],
        "share": spec["share"],
        "delay": spec["delay"],
        "source": (
            f"Aalen-Johansen cumulative incidence of {labels.get(stem, stem)} from "
            f"{spec['after']} ({spec['n_events']:,} events among {spec['n_at_start']:,} "
            f"leads, censored at observed_until); family {notes['family']}{dist}"
        ),
    }


def fit_scenario(
    journeys: Any,
    *,
    start: str | None = None,
    target: str | None = None,
    segment: str | None = None,
    seed: int = 0,
    n_boot: int = 20,
    n_check: int = 5,
    cohorts: int | str = "auto",
    families: tuple[str, ...] = FAMILIES,
    name: str | None = None,
    client: Any = None,
    criteria: Any = None,
    criteria_names: list[str] | None = None,
) -> tuple[Any, dict[str, Any]]:
    """Fit a scenario (a "funnel twin") to journeys; see ``docs/twin.md``.

    Parameters
    ----------
    journeys : Journeys
        Imported (or simulated) journeys with real timestamps.
    start, target : str, optional
        The analysis the twin is for (stem, column or label); defaults as
        :func:`~qualmodel.journeys.outcomes.plan_outcomes`. The target needs at least
        :data:`MIN_TARGET_EVENTS` leads.
    segment : str, optional
        Lead attribute whose mix the twin reproduces (2 to :data:`MAX_SEGMENT_VALUES`
        values; missing values become ``"(missing)"``).
    seed : int, default 0
        Seed of the bootstrap refits and of the check simulations.
    n_boot : int, default 20
        Bootstrap refits measuring the spread of the fitted shares (0 to skip, ≤ 1,000).
    n_check : int, default 5
        Simulations of the twin at the observed size averaged for the fit distances (1–50).
    cohorts : int or "auto", default "auto"
        Arrival cohorts (equal-count groups of arrival days) with their own shares and
        delays, for data whose outcomes drift over the window. ``1``: one pooled fit;
        ``"auto"``: pooled unless a funnel share of the pooled twin is off by more than
        :data:`COHORT_TRIGGER`, then ``min(6, target events // 300)`` cohorts when that
        brings the funnel closer.
    families : tuple of str, default ("weibull", "lognormal", "empirical")
        Delay families tried per outcome (:data:`~qualmodel.experiment.twin_curves.FAMILIES`).
    name : str, optional
        Name of the twin; default ``<source>_twin``.
    client : dask.distributed.Client, optional
        Run the bootstrap refits on this client (same result as in-process).
    criteria : list of Criterion, str or None
        Criteria whose qualification share and median time to qualification are compared,
        data vs twin (:mod:`qualmodel.experiment.twin_criteria`): criterion objects, a
        criteria YAML file or a built-in scenario name; None: the built-in criteria of
        the scenario the journeys were simulated from, if any; ``[]``: none.
    criteria_names : list of str, optional
        Keep only these criteria (e.g. the pair a power analysis compares).

    Returns
    -------
    scenario : TwinScenario
        Loads back identically from its YAML (:func:`~qualmodel.simulation.twin_io.twin_yaml`).
    report : dict
        ``distances`` (one per statistic), ``funnel`` and ``curves`` (DataFrames: observed
        vs twin), ``bootstrap`` (spread of the shares), ``cohorts``; ``criteria``
        (DataFrame: criterion, statistic, observed, twin, distance) and
        ``criteria_skipped`` when criteria were compared.

    Raises
    ------
    ConfigError
        ``timing: none``, fewer than 50 target events, an unknown stage or attribute, a
        segment with one value or too many values, unknown family, bad counts.
    """
    from qualmodel.experiment.twin_check import bootstrap
    from qualmodel.journeys.outcomes import plan_outcomes

    _check_options(seed, n_boot, n_check, cohorts, families)
    _check_timing(journeys)
    plan = plan_outcomes(journeys, start, target, competing=[])
    _check_input(journeys, plan)
    crits = resolve_criteria(criteria, journeys, criteria_names)  # refused before any fit
    start_ns = int(pd.Timestamp(journeys.leads["created_at"].min()).floor("D").value)
    days = stage_days(journeys, start_ns)
    tree = stage_tree(days, stage_stems(journeys))
    base = _base_data(journeys, days, plan, tree, (segment, name, seed))
    stages, curves = fit_transitions(days, tree, tuple(families))
    fixed = {s: stages[s]["notes"]["family"] for s in stages}
    boot = bootstrap(days, tree, fixed, n_boot, seed, client)
    base["source"]["bootstrap"] = boot
    n_target = int(journeys.leads[plan["target"]].notna().sum())
    k_auto = min(MAX_COHORTS, n_target // 300)
    twin, report = _assemble(base, journeys, stages, curves, None, n_check, seed)
    worst = max(v for k, v in report["distances"].items() if k.startswith("funnel."))
    want = k_auto if cohorts == "auto" and worst > COHORT_TRIGGER else cohorts
    if isinstance(want, int) and want >= 2:
        edges = _cohort_edges(days["created"], int(want), base["window"]["arrival_days"])
        by = _fit_cohorts(days, tree, families, edges)
        alt = _assemble(base, journeys, stages, curves, (edges, by), n_check, seed)
        alt_worst = max(v for k, v in alt[1]["distances"].items() if k.startswith("funnel."))
        if cohorts != "auto" or alt_worst < worst:
            twin, report = alt
    report["bootstrap"] = boot
    report["cohorts"] = twin.n_cohorts
    if crits:
        twin = _criteria_step(twin, report, journeys, crits, (n_check, seed))
    return twin, report


def _criteria_step(twin: Any, report: dict, journeys: Any, crits: list, check: tuple) -> Any:
    """Add the criterion diagnostics to the report and the twin's recorded distances."""
    found = criteria_fit(twin, journeys, crits, *check)
    report["criteria"] = found["table"]
    report["criteria_skipped"] = found["skipped"]
    report["distances"] = {**report["distances"], **found["distances"]}
    source = {**twin.source, "distances": {**twin.source["distances"], **found["distances"]}}
    if found["skipped"]:
        source["criteria_skipped"] = dict(found["skipped"])
    return twin.model_copy(update={"source": source})


def _check_options(seed: Any, n_boot: Any, n_check: Any, cohorts: Any, families: Any) -> None:
    check_seed("fit_scenario: seed", seed)
    check_count("fit_scenario: n_boot", n_boot, low=0, high=1_000)
    check_count("fit_scenario: n_check", n_check, low=1, high=50)
    if cohorts != "auto":
        check_count("fit_scenario: cohorts", cohorts, low=1, high=MAX_COHORTS)
    bad = [f for f in families if f not in FAMILIES] or ([] if families else ["(none)"])
    if bad:
        raise ConfigError(f"fit_scenario: unknown family {bad[0]}; use {', '.join(FAMILIES)}")


def _base_data(journeys: Any, days: dict, plan: dict, tree: dict, options: tuple) -> dict[str, Any]:
    """Every block of the twin except the stages (``options``: segment, name, seed)."""
    segment, name, seed = options
    source = journeys.meta.get("source", "journeys")
    n = journeys.n_leads
    day_res = _day_resolution(days)
    cls = plan_classes(days, plan)
    return {
        "kind": "twin",
        "name": name or f"{source}_twin",
        "description": f"Funnel twin of {source} ({n:,} leads), fitted by qualmodel "
        f"fit-scenario; see docs/twin.md",
        "n_leads": n,
        **_window(journeys, days, day_res),
        "resolution": "day" if day_res else "second",
        "segment": fit_segment(journeys, segment, cls),
        "outcomes": {k: v.removesuffix("_at") for k, v in _declared(journeys).items()},
        "touchpoints": _touchpoints(journeys, days, plan["target"]),
        "bant": fit_bant(journeys, cls),
        "timeline": fit_timeline(journeys, cls),
        "intent": fit_intent(journeys, days, plan, tree),
        "plan": {
            "start": plan["start"].removesuffix("_at"),
            "target": plan["target"].removesuffix("_at"),
        },
        "source": {"journeys": source, "journeys_hash": journeys_hash(journeys), "seed": seed},
    }


def _cohort_edges(created: np.ndarray, k: int, arrival: float) -> list[float]:
    q = np.floor(np.quantile(created, np.arange(1, k) / k))
    inner = [float(x) for x in np.unique(q) if 0.0 < x < arrival]
    return [0.0, *inner, float(arrival)]


def _fit_cohorts(days: dict, tree: dict, families: tuple, edges: list[float]) -> list[dict]:
    idx = np.clip(np.searchsorted(edges, days["created"], side="right") - 1, 0, len(edges) - 2)
    out = []
    for c in range(len(edges) - 1):
        mask = idx == c
        stages, _ = fit_transitions({k: v[mask] for k, v in days.items()}, tree, families)
        out.append(stages)
    return out


def _assemble(
    base: dict, journeys: Any, stages: dict, curves: dict, cohorts: Any, n_check: int, seed: int
) -> tuple[Any, dict[str, Any]]:
    """Build the twin (pooled, or with ``(edges, per-cohort stages)``) and check it."""
    from qualmodel.experiment.twin_check import check_fit
    from qualmodel.journeys.outcomes import stage_labels
    from qualmodel.simulation.twin_schema import TwinScenario

    labels = {c.removesuffix("_at"): v for c, v in stage_labels(journeys).items()}
    data = {**base, "source": dict(base["source"])}
    data["stages"] = {s: _stage_block(s, stages[s], labels) for s in stages}
    if cohorts is not None:
        edges, by = cohorts
        data["cohorts_days"] = edges
        for s in stages:
            data["stages"][s]["by_cohort"] = [
                {"share": b[s]["share"], "delay": b[s]["delay"]} for b in by
            ]
    twin = _validated(TwinScenario, data)
    report = check_fit(twin, journeys, curves, n_check, seed)
    data["source"]["distances"] = report["distances"]
    data["source"]["families"] = {s: stages[s]["notes"].get("tried", {}) for s in stages}
    data["source"]["cohorts"] = (
        "one pooled fit for every arrival day"
        if cohorts is None
        else f"{len(cohorts[0]) - 1} arrival cohorts with their own shares and delays "
        f"(the pooled fit is kept in share/delay for reference)"
    )
    return _validated(TwinScenario, data), report


def _validated(model: Any, data: dict[str, Any]) -> Any:
    """Validate the fitted numbers; a value outside the schema is a one-line error."""
    from pydantic import ValidationError

    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise ConfigError(
            f"fit_scenario: the fitted value at {where} is outside what a scenario can hold "
            f"({err['msg']}); check the journeys' timestamps (e.g. delays over 30 years)"
        ) from None


def _declared(journeys: Any) -> dict[str, str]:
    from qualmodel.journeys.contract import outcome_labels

    return {label: col for col, label in outcome_labels(journeys.meta).items()}


def _touchpoints(journeys: Any, days: dict[str, np.ndarray], target: str) -> dict[str, Any]:
    events = journeys.events
    if events.empty:
        return {}
    reached = ~np.isnan(days[target.removesuffix("_at")])
    exposure = np.maximum(days["observed_until"] - days["created"], 0.0)
    codes = events["lead_id"].cat.codes.to_numpy()
    out = {}
    expo_t, expo_o = float(exposure[reached].sum()), float(exposure[~reached].sum())
    for ev in sorted(journeys.event_names):
        hit = codes[(events["event"] == ev).to_numpy()]
        n_t = int(reached[hit].sum())
        rate_t = 30.0 * n_t / expo_t if expo_t > 0 else 0.0
        rate_o = 30.0 * (hit.size - n_t) / expo_o if expo_o > 0 else 0.0
        out[str(ev)] = {
            "rate_per_30d_target": round(min(rate_t, 1000.0), 6),
            "rate_per_30d_other": round(min(rate_o, 1000.0), 6),
            "source": f"{hit.size:,} '{ev}' events over the leads' follow-up, split by "
            f"whether the lead reached {target}",
        }
    return out
