"""Where the answer to "how long must we test?" comes from, for the power notebook.

Three sources, chosen from the notebook's parameters and the data (``docs/twin.md``):

* **criteria** — a built-in scenario, a scenario YAML with criteria, or journeys simulated
  from a built-in scenario: two criteria (baseline, candidate) are compared on simulated
  cohorts (:func:`qualmodel.experiment.power.power`);
* **effect** — a fitted scenario (``kind: twin``), or imported journeys, to which a twin is
  fitted on the fly (:func:`qualmodel.experiment.twin_fit.fit_scenario`): a stated effect
  on the target stage (``share:+10%``, ``hr:0.8``) is compared with the twin itself
  (:func:`qualmodel.experiment.effects.effect_power`); the answer is model-based and is
  shown with the fit distances;
* **none** — nothing to compare (no criteria for the scenario), or no twin can be fitted
  (e.g. journeys without timestamps): ``reason`` says why in one sentence.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from qualmodel.core.errors import QualmodelError

__all__ = ["PowerSource", "fit_table", "power_intro", "power_source", "run_power"]

#: Bootstrap refits of a twin fitted on the fly (the spread of the fitted shares).
TWIN_BOOT = 20


@dataclass(frozen=True)
class PowerSource:
    """What the power notebook compares.

    Attributes
    ----------
    kind : str
        ``"criteria"``, ``"effect"`` or ``"none"``.
    scenario : Any
        Scenario name / YAML path (criteria) or the fitted :class:`TwinScenario` (effect).
    pair : tuple, optional
        ``(baseline, candidate)`` criteria (kind ``criteria``).
    fit : dict, optional
        The fit report (``distances`` …) when the twin was fitted here to imported journeys.
    reason : str
        Why there is no answer (kind ``none``); empty otherwise.
    baseline, candidate : str
        How the two arms are named in sentences (criterion names, or the funnel as it is
        and the funnel with the effect).
    """

    kind: str
    scenario: Any = None
    pair: tuple[Any, Any] | None = None
    fit: dict[str, Any] | None = None
    reason: str = ""
    baseline: str = ""
    candidate: str = ""


def _simulated_from(meta: dict[str, Any], scenario: str) -> str | None:
    """Return the scenario the journeys were simulated from, if known here, else None.

    A built-in scenario by name, or ``scenario`` itself when its name is the journeys'
    source (a report run that simulated a scenario file); None for imported data.
    """
    from qualmodel.report.helpers import builtin_scenarios
    from qualmodel.simulation.engine import GENERATOR
    from qualmodel.simulation.scenario import load_scenario

    source = str(meta.get("source", ""))
    if meta.get("generator") != GENERATOR:
        return None
    if source in builtin_scenarios():
        return source
    return scenario if load_scenario(scenario).name == source else None


def _effect_source(twin: Any, effect: str, fit: dict[str, Any] | None) -> PowerSource:
    return PowerSource(
        "effect",
        scenario=twin,
        fit=fit,
        baseline="the funnel as fitted",
        candidate=f"the funnel with the effect {effect}",
    )


def power_source(
    scenario: str,
    journeys_dir: str | os.PathLike[str] | None = None,
    *,
    baseline: str | None = None,
    candidate: str | None = None,
    criteria_file: str | None = None,
    effect: str = "share:+10%",
    seed: int = 0,
) -> PowerSource:
    """Choose what the power notebook compares (see the module docstring).

    Parameters
    ----------
    scenario : str
        Built-in scenario name or scenario YAML path (a fitted scenario selects ``effect``).
    journeys_dir : path, optional
        Saved or imported journeys. Simulated from a built-in scenario (or from
        ``scenario``): that scenario; imported (or simulated from an unknown scenario
        file): a twin is fitted to them here (seed ``seed``).
    baseline, candidate, criteria_file : str, optional
        The criteria to compare (as :func:`~qualmodel.experiment.power.criteria_pair`).
    effect : str, default "share:+10%"
        The change to detect on a fitted scenario; checked here.
    seed : int, default 0
        Seed of the on-the-fly fit (its bootstrap and check simulations).

    Returns
    -------
    PowerSource
    """
    from qualmodel.experiment.effects import parse_effect
    from qualmodel.experiment.power import criteria_pair
    from qualmodel.simulation.scenario import load_scenario

    parse_effect(effect)
    if journeys_dir is not None:
        from qualmodel.experiment.twin_fit import fit_scenario
        from qualmodel.journeys.contract import Journeys

        journeys = Journeys.read(Path(journeys_dir).expanduser())
        simulated = _simulated_from(journeys.meta, scenario)
        if simulated is None:
            try:
                twin, fit = fit_scenario(journeys, seed=seed, n_boot=TWIN_BOOT)
            except QualmodelError as exc:
                return PowerSource("none", reason=f"no funnel twin can be fitted: {exc}")
            return _effect_source(twin, effect, fit)
        scenario = simulated
    sc = load_scenario(scenario)
    if getattr(sc, "kind", None) == "twin":
        return _effect_source(sc, effect, None)
    pair = criteria_pair(scenario, baseline, candidate, criteria_file)
    if not pair:
        return PowerSource(
            "none",
            reason=f"no criteria to compare for {sc.name}: set baseline and candidate or "
            "criteria_file",
        )
    return PowerSource(
        "criteria", scenario=scenario, pair=tuple(pair), baseline=f"`{pair[0].name}`",
        candidate=f"`{pair[1].name}`",
    )  # fmt: skip


def run_power(
    source: PowerSource,
    *,
    effect: str,
    metrics: list[str],
    sample_sizes: list[int],
    n_replicates: int,
    alpha: float,
    seed: int,
    client: Any = None,
    progress: bool = False,
) -> pd.DataFrame | None:
    """Return the power table of ``source`` (None for kind ``none``).

    ``metrics`` applies to criteria; an effect is tested on the metrics of
    :data:`~qualmodel.experiment.effects.EFFECT_METRICS`.
    """
    if source.kind == "criteria":
        from qualmodel.experiment.power import power

        base, cand = source.pair
        return power(
            source.scenario, base, cand, metric=metrics, n_leads=sample_sizes,
            n_replicates=n_replicates, alpha=alpha, seed=seed, client=client, progress=progress,
        )  # fmt: skip
    if source.kind == "effect":
        from qualmodel.experiment.effects import effect_power

        return effect_power(
            source.scenario, effect, n_leads=sample_sizes, n_replicates=n_replicates,
            alpha=alpha, seed=seed, client=client, progress=progress,
        )  # fmt: skip
    return None


def fit_table(source: PowerSource) -> pd.DataFrame | None:
    """Return the fit distances of the twin, a row per statistic (None without a twin).

    From the fit report of a twin fitted on the fly, else from the scenario file's
    ``source.distances``.

    Columns ``statistic`` and ``distance``; see ``docs/twin.md`` for their meaning
    (``funnel.<stage>``: share difference; ``cif.<stage>``: largest curve difference;
    ``band.<stage>``: share of days 1..120 inside the observed 95% band).
    """
    if source.kind != "effect":
        return None
    fitted = source.fit if source.fit is not None else source.scenario.source
    dist = fitted.get("distances", {})
    if not dist:
        return None
    return pd.DataFrame({"statistic": list(dist), "distance": [float(v) for v in dist.values()]})


def power_intro(source: PowerSource, n_replicates: int, alpha: float, effect: str) -> str:
    """Return the sentence (Markdown) that says what the power table compares.

    For an effect on a fitted scenario the answer is stated as model-based, naming the
    data the twin was fitted to.
    """
    if source.kind == "criteria":
        from qualmodel.simulation.scenario import load_scenario

        name = load_scenario(source.scenario).name
        return (
            f"**Baseline** {source.baseline} vs **candidate** {source.candidate} on "
            f"`{name}`: {n_replicates:,} replicates per sample size, alpha = {alpha}."
        )
    if source.kind == "effect":
        twin = source.scenario
        fitted = twin.source.get("journeys", twin.name)
        how = "fitted here to" if source.fit is not None else "fitted to"
        return (
            f"**A model-based answer.** The current funnel is a twin {how} `{fitted}` "
            f"(`{twin.name}`); the candidate is the same funnel with **{effect}** on "
            f"{_target_label(twin)}. "
            f"{n_replicates:,} replicates per sample size, alpha = {alpha}. The answer holds "
            "as far as the twin follows the data: see the fit distances below."
        )
    return f"**No power answer**: {source.reason}."


def _target_label(twin: Any) -> str:
    """Return the data's own name of the twin's target stage (e.g. ``approved``)."""
    from qualmodel.journeys.outcomes import DEFAULT_LABELS

    column = f"{twin.plan.target}_at"
    own = [label for label, col in twin.outcomes.items() if col == column]
    return own[0] if own else DEFAULT_LABELS.get(column, twin.plan.target)
