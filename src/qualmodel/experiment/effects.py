"""Power of a stated effect on a fitted scenario (``power --effect``), for data without touchpoints.

A criterion pair needs touchpoint events to qualify leads; a fitted scenario of an export
without events (``docs/twin.md``) has none. Instead, the candidate arm is the twin with an
effect applied to its target stage (the twin's ``plan.target``):

* ``share:+10%`` (or ``share:-5%``) — the share of leads that ever reach the target
  (from its ``after`` stage, in every arrival cohort) is multiplied by 1.10; its delay
  distribution is unchanged; the lift comes from the leads that reached no outcome, and
  only where those are too few are the competing outcomes scaled down (proportionally);
* ``hr:0.8`` — a subdistribution hazard ratio on time to the target: its cumulative
  incidence ``F(t)`` becomes ``1 − (1 − F(t))^0.8`` (fewer and later arrivals below 1).

Design of one replicate at ``n`` leads per arm: arm A from the twin, arm B from the
twin with the effect (seeds ``SeedSequence(seed, spawn_key=(child,)).spawn(2)``); tests:
``target_share`` — two-proportion z-test of the share of leads that reached the target
while observed; ``time_to_target`` — log-rank test of time from ``plan.start`` to the
target (other outcomes censored). The output has the columns of
:func:`qualmodel.experiment.power.power`, so :func:`~qualmodel.experiment.mde.leads_needed`
reads it. :func:`bootstrap_leads` carries the fit's bootstrap spread into the answer.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from qualmodel.core.checks import check_count, check_number, check_seed
from qualmodel.core.errors import ConfigError
from qualmodel.experiment.mde import (
    DEFAULT_MDE_POWER,
    mde_hazard_ratio,
    mde_two_proportions,
    two_proportion_power,
)
from qualmodel.experiment.replicates import block_plan, logrank_columns, ztest_two_proportions

__all__ = [
    "EFFECT_METRICS",
    "Effect",
    "apply_effect",
    "bootstrap_leads",
    "effect_power",
    "parse_effect",
]

EFFECT_METRICS: tuple[str, ...] = ("target_share", "time_to_target")
_PATTERN = re.compile(r"^(share):([+-]?\d+(?:\.\d+)?)%$|^(hr):(\d+(?:\.\d+)?)$")


@dataclass(frozen=True)
class Effect:
    """An effect on the target stage: ``kind`` ``"share"`` (relative lift) or ``"hr"``."""

    kind: str
    value: float  # share: multiplier (1.10 for +10%); hr: the hazard ratio

    @property
    def label(self) -> str:
        """Text form, as given on the command line."""
        if self.kind == "share":
            return f"share:{100 * (self.value - 1):+g}%"
        return f"hr:{self.value:g}"


def parse_effect(text: str) -> Effect:
    """Parse ``share:+10%`` / ``share:-5%`` or ``hr:0.8``.

    Raises
    ------
    ConfigError
        Any other form, a lift of −100% or less, a hazard ratio ≤ 0 or of 1 (no effect).
    """
    m = _PATTERN.match(str(text).strip())
    if not m:
        raise ConfigError(
            f"--effect '{text}': expected share:+10% (relative lift of the target share) "
            f"or hr:0.8 (hazard ratio on time to the target)"
        )
    if m.group(1):
        lift = float(m.group(2))
        if lift <= -100 or lift == 0 or lift > 1000:
            raise ConfigError(f"--effect '{text}': a share lift is in (-100%, +1000%], not 0")
        return Effect("share", 1.0 + lift / 100.0)
    hr = float(m.group(4))
    if hr <= 0 or hr == 1 or hr > 100:
        raise ConfigError(f"--effect '{text}': a hazard ratio is in (0, 100] and not 1")
    return Effect("hr", hr)


def _hr_stage(stage: Any, hr: float) -> dict[str, Any]:
    """Share and an empirical delay of ``1 − (1 − share·G(t))^hr`` (per cohort entry)."""
    from qualmodel.simulation.delays import EmpiricalDelay

    p = float(stage.share)
    new_share = 1.0 - (1.0 - p) ** hr
    delay = stage.delay
    if delay.family == "point" or p <= 0:
        return {"share": new_share, "delay": delay.model_dump(mode="json")}
    knots = np.unique(np.concatenate(([0.0], delay.quantile(np.linspace(0.0, 0.999, 400)))))
    cdf = (1.0 - (1.0 - p * delay.cdf(knots)) ** hr) / new_share
    cdf = np.maximum.accumulate(np.clip(cdf, 0.0, 1.0))
    cdf[-1] = 1.0
    emp = EmpiricalDelay(
        family="empirical",
        knots_days=[float(k) for k in knots],
        cdf_at_knots=[float(c) for c in cdf],
    )
    return {"share": new_share, "delay": emp.model_dump(mode="json")}


def apply_effect(twin: Any, effect: Effect) -> Any:
    """Return the twin with ``effect`` applied to its target stage.

    Raises
    ------
    ConfigError
        Not a fitted scenario, or a share lift that would make the outcomes of the
        target's ``after`` stage sum to more than 1.
    """
    if getattr(twin, "kind", None) != "twin":
        raise ConfigError(
            "--effect needs a fitted scenario (qualmodel fit-scenario); for a built-in "
            "scenario compare two criteria with --baseline and --candidate"
        )
    target = twin.plan.target
    data = twin.model_dump(mode="json")
    spec = data["stages"][target]
    entries = [spec, *(spec.get("by_cohort") or [])]
    stage = twin.stages[target]
    sources = [stage, *(stage.by_cohort or [])]
    for entry, src in zip(entries, sources, strict=True):
        if effect.kind == "share":
            entry["share"] = float(src.share) * effect.value
        else:
            entry.update(_hr_stage(src, effect.value))
    _make_room(data, twin, target)
    data["name"] = f"{twin.name}_{effect.kind}"
    from pydantic import ValidationError

    try:
        return type(twin).model_validate(data)
    except ValidationError:
        raise ConfigError(
            f"--effect {effect.label}: the outcomes after {stage.after} would sum to more "
            f"than 1 with this lift; choose a smaller one"
        ) from None


def _make_room(data: dict, twin: Any, target: str) -> None:
    """Scale the target's competing outcomes down where the shares would exceed 1.

    Applied to the pooled entries and to every arrival cohort's entries.
    """
    stages = data["stages"]
    rivals = [k for k in twin.children(twin.stages[target].after) if k != target]
    groups = [(stages[target], [stages[k] for k in rivals])]
    if stages[target].get("by_cohort"):
        groups += [
            (stages[target]["by_cohort"][c], [stages[k]["by_cohort"][c] for k in rivals])
            for c in range(twin.n_cohorts)
        ]
    for entry, others in groups:
        if entry["share"] > 1.0:
            raise ConfigError(
                f"--effect: the share of {target} would be {entry['share']:.3f} > 1; choose "
                f"a smaller lift"
            )
        rest = sum(o["share"] for o in others)
        if entry["share"] + rest > 1.0:
            for o in others:
                o["share"] = o["share"] * (1.0 - entry["share"]) / rest * (1.0 - 1e-12)


def _arm_times(sc: Any, n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per lead: target reached, and started; per started lead: duration (days) and event.

    As ``time_to_event(simulate_twin(sc, n, seed), start, target, competing=())``: leads
    that reached the plan's start stage, timed to the target or censored at the window end
    (other outcomes do not stop the clock: no competing outcome in these tests). Returns
    ``(reached, started, duration, event)``: two masks over the ``n`` leads, then the
    duration and event of the started ones, in lead order.
    """
    from qualmodel.simulation.twin import NAT_NS, stage_stamps
    from qualmodel.survival.durations import UNITS

    day_ns = UNITS["days"]
    stamps = stage_stamps(sc, n, seed)
    target = stamps.get(sc.plan.target, np.full(n, NAT_NS))
    start = stamps[sc.plan.start]
    keep = start != NAT_NS
    hit = target[keep] != NAT_NS
    end = np.where(hit, target[keep], stamps["observed_until"][keep])
    whole, rest = np.divmod(np.maximum(end - start[keep], 0), day_ns)
    duration = whole.astype(np.float64) + rest.astype(np.float64) / day_ns
    return target != NAT_NS, keep, duration, hit.astype(np.int64)


def _replicates(twin: Any, candidate: Any, n: int, seed: int, children: list[int]) -> pd.DataFrame:
    """One row per replicate ``child`` at ``n`` leads per arm, the tests run all at once.

    The replicates of a task are one simulation per arm, as for criteria
    (``docs/scaling.md``): lead ``i`` of an arm belongs to replicate ``children[i // n]``;
    the twin draws every lead independently, so they are independent replicates. The seeds
    are those of the task's first replicate (``SeedSequence(seed, spawn_key=(first,))``)
    and the tasks depend on ``n_leads`` and ``n_replicates`` only, so the table is the same
    in-process and on Dask. The tests are those of criteria power: z-tests of the target
    share as arrays and the block's log-rank tests in one pass
    (:func:`~qualmodel.experiment.replicates.logrank_columns`).
    """
    size = len(children)
    seeds = np.random.SeedSequence(seed, spawn_key=(children[0],)).spawn(2)
    cohort = np.arange(n * size, dtype=np.int64) // n
    reached, tte = [], []
    for sc, ss in ((twin, seeds[0]), (candidate, seeds[1])):
        hit, keep, duration, event = _arm_times(
            sc, n * size, int(ss.generate_state(1, np.uint64)[0] >> np.uint64(1))
        )
        reached.append(np.bincount(cohort[hit], minlength=size))
        tte.append((duration, event, cohort[keep]))
    every = np.full(size, n)
    return pd.DataFrame({
        "n_leads": every, "child": children, "reached_a": reached[0], "reached_b": reached[1],
        "p_target_share": ztest_two_proportions(reached[0], every, reached[1], every),
        **logrank_columns(tte[0], tte[1], size, "time_to_target"),
    })  # fmt: skip


def _chunks(ns: list[int], n_replicates: int) -> list[tuple[int, list[int]]]:
    """Replicates in tasks of about :data:`BLOCK_LEADS` leads per arm: ``(n, children)``."""
    out = []
    for n, k, _, first, size in block_plan(ns, n_replicates):
        start = k * n_replicates + first
        out.append((n, list(range(start, start + size))))
    return out


def effect_power(
    twin: Any,
    effect: Effect | str,
    n_leads: list[int] = (1000, 2000, 5000),
    n_replicates: int = 200,
    alpha: float = 0.05,
    seed: int = 0,
    client: Any = None,
    mde_power: float = DEFAULT_MDE_POWER,
    progress: bool = False,
) -> pd.DataFrame:
    """Power of detecting ``effect`` on a fitted scenario, per sample size and metric.

    Parameters
    ----------
    twin : TwinScenario or str
        A fitted scenario (object or YAML path).
    effect : Effect or str
        ``share:+10%`` or ``hr:0.8`` (:func:`parse_effect`).
    n_leads : list of int
        Leads per arm.
    n_replicates : int, default 200
        Replicates per sample size (10–100,000).
    alpha : float, default 0.05
    seed : int, default 0
    client : dask.distributed.Client, optional
        Run the replicates there (same table as in-process).
    mde_power : float, default 0.8
        Power that defines the ``mde`` column.
    progress : bool, default False
        Show a progress bar (as :func:`~qualmodel.experiment.power.power`).

    Returns
    -------
    pandas.DataFrame
        The columns of :func:`qualmodel.experiment.power.power`, metrics
        :data:`EFFECT_METRICS`; ``attrs["effect"]`` is the effect's text.
    """
    from qualmodel.experiment.power import progress_bar
    from qualmodel.simulation.scenario import load_scenario

    eff = parse_effect(effect) if isinstance(effect, str) else effect
    sc = load_scenario(twin)
    candidate = apply_effect(sc, eff)
    # touchpoints play no part in these tests: simulate the stages only
    sc, candidate = (x.model_copy(update={"touchpoints": {}}) for x in (sc, candidate))
    check_count("power: n_replicates", n_replicates, low=10, high=100_000)
    check_number("power: alpha", alpha, low=0, high=1, low_open=True, high_open=True)
    check_seed("power: seed", seed)
    ns = [check_count("power: n_leads", int(n), low=1, high=10_000_000) for n in n_leads]
    chunks = _chunks(ns, n_replicates)
    parts = []
    with progress_bar(len(ns) * n_replicates, progress) as bar:
        if client is None:
            for n, children in chunks:
                parts.append(_replicates(sc, candidate, n, seed, children))
                bar.update(len(children))
        else:
            futures = client.map(
                _replicates, [sc] * len(chunks), [candidate] * len(chunks),
                [n for n, _ in chunks], [seed] * len(chunks), [c for _, c in chunks], pure=False,
            )  # fmt: skip
            parts = client.gather(futures)
            bar.update(len(ns) * n_replicates)
    reps = pd.concat(parts, ignore_index=True)
    per_week = sc.n_leads * 7.0 / sc.window.arrival_days
    out = [
        _row(m, n, g, alpha, per_week, mde_power)
        for m in EFFECT_METRICS
        for n, g in reps.groupby("n_leads")
    ]
    table = pd.DataFrame(out)
    table.attrs["effect"] = eff.label
    return table


def _row(m: str, n: int, g: pd.DataFrame, alpha: float, per_week: float, target: float) -> dict:
    """One row of the power table (the conventions of :func:`~qualmodel.experiment.power.power`).

    ``mde`` is the size of the smallest change detected with ``target`` power in the
    direction of the simulated effect (``mde_direction``): a difference of shares is never
    negative, a hazard ratio is the ratio itself; a blank ``mde`` has its reason in
    ``mde_note``.
    """
    from qualmodel.experiment.power import power_row

    row = power_row(m, int(n), g, alpha, per_week)
    if m == "target_share":
        pa, pb = g["reached_a"].sum() / (n * len(g)), g["reached_b"].sum() / (n * len(g))
        up = bool(pb >= pa)
        mde = abs(mde_two_proportions(pa, n, n, alpha, target, 1 if up else -1))
        note = "" if np.isfinite(mde) else (
            f"not detectable at this size: even a share of {'1' if up else '0'} from "
            f"{pa:.3g} has under {target:.0%} power with {n:,} leads per arm"
        )  # fmt: skip
        row.update(
            baseline_value=float(pa), candidate_value=float(pb), n_baseline=float(n),
            n_candidate=float(n), effect=float(pb - pa), effect_scale="difference",
        )  # fmt: skip
    else:
        lhr = float(g["loghr_time_to_target"].mean())
        ev = float((g["events_a"] + g["events_b"]).mean())
        up = lhr >= 0
        mde = mde_hazard_ratio(ev, alpha, target, 1 if up else -1)
        note = "" if np.isfinite(mde) else "no target events in the replicates"
        row.update(baseline_value=float(g["events_a"].sum() / (n * len(g))),
                   candidate_value=float(g["events_b"].sum() / (n * len(g))),
                   n_baseline=float(g["events_a"].mean()), n_candidate=float(g["events_b"].mean()),
                   effect=math.exp(lhr), effect_scale="hazard_ratio")  # fmt: skip
    row.update(mde=float(mde), mde_direction="increase" if up else "decrease", mde_note=note)
    return row


def bootstrap_leads(table: pd.DataFrame, twin: Any, target: float = DEFAULT_MDE_POWER) -> dict:
    """Leads per arm for ``target`` power on the share metric, over the fit's bootstrap.

    Each bootstrap refit's target share ``s_b`` rescales the simulated baseline share
    (``p_b = p · s_b / s``, the candidate by the same lift); the normal-approximation
    leads per arm of each refit give the spread of the answer.

    Returns
    -------
    dict
        ``leads`` (at the fitted share), ``lo`` / ``hi`` (2.5% / 97.5% over refits),
        ``n_boot``; empty when the twin carries no bootstrap or the table no share row.
    """
    from scipy import optimize

    boot = twin.source.get("bootstrap", {}).get("stages", {}).get(twin.plan.target)
    rows = table[table["metric"] == "target_share"]
    if not boot or rows.empty:
        return {}
    r = rows.iloc[-1]
    pa, pb, alpha = float(r["baseline_value"]), float(r["candidate_value"]), float(r["alpha"])
    if pa <= 0 or pa == pb:
        return {}
    lift = pb / pa
    share = float(twin.stages[twin.plan.target].share)

    def needed(p: float) -> float:
        q = min(p * lift, 1.0 - 1e-9)

        def gap(x: float) -> float:
            return two_proportion_power(p, q, x, x, alpha) - target

        return float(optimize.brentq(gap, 2.0, 1e9)) if gap(1e9) > 0 else float("nan")

    draws = [needed(pa * d / share) for d in boot["draws"]] if share > 0 else []
    return {
        "leads": math.ceil(needed(pa)),
        "lo": float(np.nanpercentile(draws, 2.5)) if draws else float("nan"),
        "hi": float(np.nanpercentile(draws, 97.5)) if draws else float("nan"),
        "n_boot": len(draws),
    }
