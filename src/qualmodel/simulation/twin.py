"""Simulate lead journeys from a fitted scenario (``kind: twin``).

The generative model (written out in ``docs/twin.md``):

1. arrival: a bin of ``arrivals`` with probability ``shares``, uniform inside it;
2. segment: drawn from ``segment.shares`` (per outcome class with ``by_class``, step 6);
3. stages in tree order: among the leads that reached stage ``P``, each stage ``C`` with
   ``after: P`` is chosen with probability ``C.share`` (at most one; none with
   probability ``1 − Σ share``) and reached ``delay.quantile(U)`` days after ``P``;
4. day resolution (data recorded as dates): arrival days are floored and delays rounded
   up to whole days, so the twin's cumulative incidence at day ``t`` equals the fitted
   curve at ``t``;
5. touchpoints: Poisson processes from arrival to the end of the window, with the rate of
   leads that reach the plan's target or the rate of the others; intent events per
   outcome class, timed from their anchor stage (:mod:`.twin_intent`);
6. segment, BANT columns and timeline per outcome class (:mod:`.twin_attrs`), a fact known
   with the share of the leads with (or without) the event recording it;
7. censoring: everything after ``window.days`` is unobserved (``NaT``).

Each component draws from its own generator derived from the seed and its name, so the
same seed gives identical journeys.
"""

from __future__ import annotations

import zlib
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from qualmodel.simulation.twin_attrs import bant_columns, segment_codes
from qualmodel.simulation.twin_intent import intent_touchpoints, lead_class
from qualmodel.simulation.twin_schema import TwinScenario

if TYPE_CHECKING:
    from qualmodel.journeys.contract import Journeys

__all__ = ["TERMINAL_STEMS", "lead_time_order", "simulate_twin", "stage_stamps"]

_DAY_NS = 86_400 * 1_000_000_000
#: Stages that end a journey: a lead keeps only the earliest one it reaches.
TERMINAL_STEMS: tuple[str, ...] = ("won", "lost", "disqualified")


def _rng(seed: int, component: str) -> np.random.Generator:
    """Independent generator for one named component (keyed as the main simulator's)."""
    key = zlib.crc32(f"twin.{component}".encode("ascii"))
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(key,)))


def _arrivals(sc: TwinScenario, n: int, seed: int) -> np.ndarray:
    rng = _rng(seed, "arrivals")
    edges = np.asarray(sc.arrivals.edges_days)
    shares = np.asarray(sc.arrivals.shares, dtype=np.float64)
    bins = rng.choice(shares.size, size=n, p=shares / shares.sum())
    t = edges[bins] + rng.random(n) * np.diff(edges)[bins]
    return np.floor(t) if sc.resolution == "day" else t


def cohort_of(sc: TwinScenario, created: np.ndarray) -> np.ndarray:
    """Arrival cohort (0-based) of each lead; all 0 without ``cohorts_days``."""
    if sc.cohorts_days is None:
        return np.zeros(created.size, dtype=np.int64)
    idx = np.searchsorted(np.asarray(sc.cohorts_days), created, side="right") - 1
    return np.clip(idx, 0, sc.n_cohorts - 1)


def _stage_times(sc: TwinScenario, n: int, seed: int, created: np.ndarray) -> dict[str, Any]:
    """Latent time (days since window start; inf when never reached) of every stage."""
    times: dict[str, np.ndarray] = {"created": created}
    cohort = cohort_of(sc, created)
    for parent in ["created", *sc.stage_order()]:
        kids = sc.children(parent)
        if not kids:
            continue
        rng = _rng(seed, f"stage.{parent}")
        table = np.array(
            [[sc.stages[k].cohort(c).share for k in kids] for c in range(sc.n_cohorts)]
        )
        cum = np.cumsum(table, axis=1)[cohort]
        pick = (rng.random(n)[:, None] >= cum).sum(axis=1)
        u = rng.random(n)
        base = times[parent]
        for i, kid in enumerate(kids):
            delay = np.empty(n)
            for c in range(sc.n_cohorts):
                mask = cohort == c
                delay[mask] = sc.stages[kid].cohort(c).delay.quantile(u[mask])
            if sc.resolution == "day":
                delay = np.ceil(delay - 1e-9)
            times[kid] = np.where((pick == i) & np.isfinite(base), base + delay, np.inf)
    # a lead ends once: keep only the earliest terminal outcome it reaches
    terminal = [s for s in times if s in TERMINAL_STEMS or s in _extra(sc)]
    if len(terminal) > 1:
        stack = np.vstack([times[s] for s in terminal])
        first = stack.min(axis=0)
        for s in terminal:
            times[s] = np.where(times[s] > first, np.inf, times[s])
    return times


def _fact_events(sc: TwinScenario) -> list[str]:
    """Events that record when a BANT fact became known (named by the twin's blocks)."""
    specs = [*sc.bant.values(), *([sc.timeline] if sc.timeline is not None else [])]
    return sorted({s.event for s in specs if s.event is not None})


def _extra(sc: TwinScenario) -> set[str]:
    return {c.removesuffix("_at") for c in sc.outcomes.values()} - {"won", "lost"}


def _touchpoints(
    sc: TwinScenario,
    n: int,
    seed: int,
    times: dict[str, np.ndarray],
    cls: np.ndarray,
    code_of: dict[str, int],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Touchpoints: lead rows, seconds, kinds (Poisson; intent events timed to stages).

    Sorted by lead, then time. A kind is the event's code in ``code_of`` (its position
    in :func:`_event_names`).
    """
    created = times["created"]
    reached = cls == 0
    rng = _rng(seed, "touchpoints")
    span = float(sc.window.days) - created
    codes, secs, kinds = [], [], []
    intent = set(sc.intent.events) if sc.intent else set()
    for ev in sorted(sc.touchpoints):
        if ev in intent:
            continue
        tp = sc.touchpoints[ev]
        rate = np.where(reached, tp.rate_per_30d_target, tp.rate_per_30d_other) / 30.0
        count = rng.poisson(rate * span)
        rows = np.repeat(np.arange(n), count)
        t = created[rows] + rng.random(rows.size) * span[rows]
        codes.append(rows)
        secs.append(np.floor(t * 86_400).astype(np.int64))
        kinds.append(np.full(rows.size, code_of[ev], dtype=np.int16))
    if sc.intent:
        out = _target_outcome(sc, times, n)
        r, d, k = intent_touchpoints(sc.intent, times, cls, float(sc.window.days), rng, out)
        lut = np.array([code_of[ev] for ev in sc.intent.events], dtype=np.int16)
        codes.append(r)
        secs.append(np.floor(d * 86_400).astype(np.int64))
        kinds.append(lut[k])
    if not codes:
        return np.array([], np.int64), np.array([], np.int64), np.array([], np.int16)
    code, sec, kind = np.concatenate(codes), np.concatenate(secs), np.concatenate(kinds)
    order = lead_time_order(code, sec)
    return code[order], sec[order], kind[order]


def lead_time_order(code: np.ndarray, sec: np.ndarray) -> np.ndarray:
    """Return the stable order by lead, then time (``numpy.lexsort((sec, code))``, faster).

    Both keys are packed into one int64 (lead × span of the seconds + second), whose stable
    sort is the same permutation as the lexicographic one (ties keep their order); six
    times faster than ``lexsort`` on 4 million events.
    """
    if code.size == 0:
        return np.zeros(0, dtype=np.int64)
    low = int(sec.min())
    span = int(sec.max()) - low + 1
    if int(code.max()) >= np.iinfo(np.int64).max // span:  # the packed key would overflow
        return np.lexsort((sec, code))
    return np.argsort(code.astype(np.int64) * span + (sec - low), kind="stable")


def _event_names(sc: TwinScenario) -> list[str]:
    """Every event name the twin can draw, sorted (touchpoints and intent events)."""
    return sorted({*sc.touchpoints, *(sc.intent.events if sc.intent else ())})


def _events_table(
    ids: pd.Index, code: np.ndarray, ts_ns: np.ndarray, kind: np.ndarray, names: list[str]
) -> pd.DataFrame:
    """Events in contract form, as :meth:`Journeys.build` would leave them.

    ``lead_id`` is a categorical over the lead ids, ``event`` one over the names that occur
    (sorted); rows arrive sorted by lead and time.
    """
    used = np.flatnonzero(np.bincount(kind, minlength=len(names)))
    remap = np.full(len(names), -1, dtype=np.int64)
    remap[used] = np.arange(used.size)
    return pd.DataFrame(
        {
            "lead_id": pd.Categorical.from_codes(
                code.astype(np.int32), dtype=pd.CategoricalDtype(ids), validate=False
            ),
            "ts": ts_ns.view("datetime64[ns]"),
            "event": pd.Categorical.from_codes(
                remap[kind], categories=[names[i] for i in used], validate=False
            ),
        }
    )


def _target_outcome(sc: TwinScenario, times: dict[str, np.ndarray], n: int) -> np.ndarray:
    """Per lead: the stage after the plan's target it reached first in the window, or open."""
    out = np.full(n, "open", dtype=object)
    best = np.full(n, np.inf)
    for kid in sc.children(sc.plan.target):
        t = times[kid]
        first = (t <= float(sc.window.days)) & (t < best)
        out[first], best[first] = kid, t[first]
    return out


def _classes(sc: TwinScenario, times: dict[str, np.ndarray], n: int) -> np.ndarray:
    """Outcome class of every lead (:func:`~.twin_intent.lead_class`)."""
    target = times.get(sc.plan.target, np.full(n, np.inf))
    start = None if sc.plan.start == "created" else times.get(sc.plan.start, np.full(n, np.inf))
    return lead_class(target, start, float(sc.window.days))


#: Missing timestamp (NaT) as int64 nanoseconds.
NAT_NS = np.iinfo(np.int64).min


def _stamp_ns(days: np.ndarray, start_ns: int, end_days: float) -> np.ndarray:
    """Timestamps (int64 ns) of latent days; ``NAT_NS`` where unreached or unobserved."""
    ok = np.isfinite(days) & (days <= end_days)
    sec = np.floor(np.where(ok, days, 0.0) * 86_400 + 1e-6).astype(np.int64)  # whole seconds
    ns = start_ns + sec * 1_000_000_000  # integer arithmetic: exact timestamps
    return np.where(ok, ns, NAT_NS)


def stage_stamps(scenario: TwinScenario, n_leads: int, seed: int) -> dict[str, np.ndarray]:
    """Stage timestamps of :func:`simulate_twin` as int64 nanoseconds, without the tables.

    For callers that need only the stage times of many simulations (the power replicates
    of ``power --effect``): the same draws as :func:`simulate_twin` with the same seed.

    Returns
    -------
    dict
        ``created`` and every stage stem → int64 ns (``NAT_NS`` where the stage is not
        reached by the window end); ``observed_until`` → the window end (one value per lead).
    """
    sc, n = scenario, int(n_leads)
    start_ns = int(pd.Timestamp(sc.window.start).value)
    end_days = float(sc.window.days)
    created = _arrivals(sc, n, seed)
    times = _stage_times(sc, n, seed, created)
    out = {stem: _stamp_ns(times[stem], start_ns, end_days) for stem in sc.stage_order()}
    out["created"] = _stamp_ns(created, start_ns, end_days)
    out["observed_until"] = np.full(n, start_ns + int(round(end_days * _DAY_NS)), np.int64)
    return out


def simulate_twin(scenario: TwinScenario, n_leads: int, seed: int) -> Journeys:
    """Simulate ``n_leads`` journeys from a fitted scenario.

    Parameters
    ----------
    scenario : TwinScenario
    n_leads, seed : int
        Already checked values.

    Returns
    -------
    Journeys
        Columns ``lead_id``, ``created_at``, ``observed_until``, ``segment`` (and the
        segment's own column name when it differs), one ``<stage>_at`` column per stage,
        BANT columns where fitted; touchpoint events where fitted. ``meta`` names the
        twin, its hash, the seed and the outcome names of the data it was fitted to.
    """
    from qualmodel import __version__
    from qualmodel.journeys.contract import Journeys
    from qualmodel.simulation.scenario import scenario_hash

    sc, n = scenario, int(n_leads)
    start_ns = int(pd.Timestamp(sc.window.start).value)
    end_days = float(sc.window.days)
    created = _arrivals(sc, n, seed)
    times = _stage_times(sc, n, seed, created)

    def stamp(days: np.ndarray) -> np.ndarray:
        return _stamp_ns(days, start_ns, end_days).view("datetime64[ns]")

    width = max(7, len(str(n - 1)))
    ids = np.array([f"L{i:0{width}d}" for i in range(n)], dtype=object)
    leads: dict[str, Any] = {
        "lead_id": ids,
        "created_at": stamp(created),
        "observed_until": np.full(n, start_ns + int(round(end_days * _DAY_NS))).view(
            "datetime64[ns]"
        ),
    }
    cls = _classes(sc, times, n)
    if sc.segment is not None:
        codes = segment_codes(sc, cls, _rng(seed, "segment"))
        seg = pd.Categorical.from_codes(codes, list(sc.segment.shares))
        leads["segment"] = seg
        if sc.segment.column != "segment":
            leads[sc.segment.column] = seg
    for stem in sc.stage_order():
        leads[f"{stem}_at"] = stamp(times[stem])
    names = _event_names(sc)
    code_of = {name: i for i, name in enumerate(names)}
    code, sec, kind = _touchpoints(sc, n, seed, times, cls, code_of)
    present = {  # a fact event the twin never draws is absent for every lead
        ev: np.bincount(code[kind == code_of.get(ev, -1)], minlength=n) > 0
        for ev in _fact_events(sc)
    }
    leads.update(bant_columns(sc, n, lambda name: _rng(seed, name), cls, present))
    events = _events_table(
        pd.Index(ids, dtype=object),
        code,
        start_ns + sec * 1_000_000_000,
        kind,
        names,
    )
    meta = {
        "source": sc.name,
        "generator": "qualmodel.simulate",
        "kind": "twin",
        "seed": int(seed),
        "config_hash": scenario_hash(sc),
        "time_unit": "days",
        "timing": "real",
        "qualmodel_version": __version__,
        "n_leads": n,
        "nurture": False,
        "window_start": sc.window.start.isoformat(),
        "window_days": sc.window.days,
    }
    if sc.outcomes:
        meta["outcomes"] = dict(sc.outcomes)
    # built in contract form (ids in order, events sorted by lead and time): the full
    # validation of Journeys.build accepts these tables unchanged (tests/test_simulation_twin.py)
    return Journeys.trusted(pd.DataFrame(leads), events, meta)
