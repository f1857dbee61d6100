"""Exercises "predict, then move the slider" of the primer, with computed answers.

Each exercise names a starting position of the explorer's controls and a move (a slider
or a switch), asks the student to predict what the move does, and answers with the numbers
:func:`qualmodel.report.explorer.explore` computes on the same population — the words of
the answer ("rises", "falls") are chosen from those numbers too, never written in advance.

Exercises (key → concept of the primer):

``definitions``
    SAL vs SQO is a definition: raise the points threshold from :data:`LOOSE_THRESHOLD`
    to :data:`STRICT_THRESHOLD` — SQOs per week, precision and recall of wins.
``contexts``
    The same BANT rule (any :data:`CONTEXT_BANT_K` of 4) in the three built-in contexts.
``nurture``
    Nurture programme on → off under the points rule.
``outcomes``
    Not every SAL becomes an SQO: under the points rule, and with the threshold at the
    slider's lowest value (:data:`LOOSEST_THRESHOLD`) — SQO, disqualified and still open by
    the horizon, and what the naive curve claims.
``ripe``
    Ripe fruit as curves: the strict threshold against the loose one — median days from SAL
    to SQO among SQOs, share by the horizon, and lead time against true readiness.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from qualmodel.core.errors import ConfigError
from qualmodel.core.i18n import check_lang, t
from qualmodel.report.explorer import Settings, explore, label, load_population

__all__ = [
    "CONTEXT_BANT_K",
    "EXERCISES",
    "LOOSEST_THRESHOLD",
    "LOOSE_THRESHOLD",
    "STRICT_THRESHOLD",
    "Exercise",
    "direction",
    "make_exercise",
]

#: Keys of the exercises, in the order of the primer.
EXERCISES: tuple[str, ...] = ("definitions", "contexts", "nurture", "outcomes", "ripe")
#: Points thresholds compared by ``definitions`` and ``ripe``.
LOOSE_THRESHOLD = 40.0
STRICT_THRESHOLD = 80.0
#: The lowest threshold of the explorer's slider, used by ``outcomes``.
LOOSEST_THRESHOLD = 5.0
#: BANT facts required in the ``contexts`` exercise.
CONTEXT_BANT_K = 3
_CONTEXTS = ("startup_saas", "consultancy", "digital_agency")


@dataclass(frozen=True)
class Exercise:
    """One exercise, ready to show.

    Attributes
    ----------
    key : str
    start, moved : Settings
        Where the set-up button puts the controls, and the move the question asks about.
    question, answer : str
        Markdown in the requested language; the answer is built from ``values``.
    values : dict
        The numbers of the answer (computed on the population).
    """

    key: str
    start: Settings
    moved: Settings
    question: str
    answer: str
    values: dict[str, Any]


def direction(before: float, after: float, lang: str = "en") -> str:
    """Say "rises", "falls" or "unchanged" (in ``lang``) for a change ``before`` → ``after``."""
    if pd.isna(before) or pd.isna(after):
        return t("explorer.words.unknown", lang)
    tol = 1e-9 * max(1.0, abs(before), abs(after))
    key = "up" if after > before + tol else "down" if after < before - tol else "same"
    return t(f"explorer.words.{key}", lang)


def _pair(start: Settings, moved: Settings, n_leads: int, seed: int, lang: str) -> dict[str, Any]:
    """Metrics of ``start`` (suffix ``_a``) and ``moved`` (``_b``), with directions."""
    runs = [
        explore(load_population(s.scenario, s.nurture, n_leads, seed), s) for s in (start, moved)
    ]
    values: dict[str, Any] = {"day": start.horizon_days}
    keys = ("per_week", "precision", "recall", "share_by_horizon", "median_days_sqos")
    for key in (*keys, "lead_time_days", "qualified_rate"):
        a, b = (float(r.row()[key]) for r in runs)
        values.update({f"{key}_a": a, f"{key}_b": b, f"{key}_dir": direction(a, b, lang)})
    values.update(label_a=label(runs[0], lang=lang), label_b=label(runs[1], lang=lang))
    return values


def _definitions(base: Settings, n_leads: int, seed: int, lang: str) -> tuple[Any, ...]:
    start = base.replace(family="points", threshold=LOOSE_THRESHOLD)
    moved = start.replace(threshold=STRICT_THRESHOLD)
    values = _pair(start, moved, n_leads, seed, lang)
    values.update(a=start.threshold, b=moved.threshold, half_life=start.half_life_days)
    return start, moved, values


def _ripe(base: Settings, n_leads: int, seed: int, lang: str) -> tuple[Any, ...]:
    return _definitions(base, n_leads, seed, lang)


def _nurture(base: Settings, n_leads: int, seed: int, lang: str) -> tuple[Any, ...]:
    start = base.replace(family="points", nurture=True)
    moved = start.replace(nurture=False)
    values = _pair(start, moved, n_leads, seed, lang)
    values.update(threshold=start.threshold, half_life=start.half_life_days)
    return start, moved, values


def _outcomes(base: Settings, n_leads: int, seed: int, lang: str) -> tuple[Any, ...]:
    start = base.replace(family="points")
    moved = start.replace(threshold=LOOSEST_THRESHOLD)
    values: dict[str, Any] = {"day": start.horizon_days, "b": moved.threshold}
    for tag, s in (("a", start), ("b", moved)):
        run = explore(load_population(s.scenario, s.nurture, n_leads, seed), s)
        sqo, dq, naive = run.at_horizon("cif", 1), run.at_horizon("cif", 2), run.at_horizon("naive")
        values.update({
            f"sqo_{tag}": sqo,
            f"dq_{tag}": dq,
            f"open_{tag}": 1.0 - sqo - dq,
            f"naive_{tag}": naive,
            f"gap_pp_{tag}": 100 * (naive - sqo),
            f"label_{tag}": label(run, lang=lang),
        })  # fmt: skip
    return start, moved, values


def _contexts(base: Settings, n_leads: int, seed: int, lang: str) -> tuple[Any, ...]:
    start = base.replace(family="bant", bant_k=CONTEXT_BANT_K)
    rows = {}
    for name in _CONTEXTS:
        s = start.replace(scenario=name)
        rows[name] = explore(load_population(name, s.nurture, n_leads, seed), s).row()
    table = pd.DataFrame(rows).T
    lines = [
        t("explorer.exercises.contexts.line", lang, scenario=name, rate=r["qualified_rate"],
          precision=r["precision"], per_week=r["per_week"])
        for name, r in table.iterrows()
    ]  # fmt: skip
    values = {
        "k": CONTEXT_BANT_K,
        "lines": "\n".join(lines),
        "most_rate": str(table["qualified_rate"].astype(float).idxmax()),
        "most_precision": str(table["precision"].astype(float).idxmax()),
        "table": table,
    }
    return start, start.replace(scenario=_other(start.scenario)), values


def _other(scenario: str) -> str:
    return next(s for s in _CONTEXTS if s != scenario)


_BUILDERS: dict[str, Callable[..., tuple[Any, ...]]] = {
    "definitions": _definitions,
    "contexts": _contexts,
    "nurture": _nurture,
    "outcomes": _outcomes,
    "ripe": _ripe,
}


def make_exercise(
    key: str,
    base: Settings | None = None,
    n_leads: int = 20_000,
    seed: int = 2026,
    lang: str = "en",
) -> Exercise:
    """Build an exercise with its answer computed on the population.

    Parameters
    ----------
    key : str
        One of :data:`EXERCISES`.
    base : Settings, optional
        Scenario, nurture, half-life and horizon to start from (default
        :class:`~qualmodel.report.explorer.Settings`'s defaults).
    n_leads, seed : int
        Population (as :func:`~qualmodel.report.explorer.load_population`).
    lang : str, default "en"

    Returns
    -------
    Exercise
    """
    check_lang(lang)
    if key not in _BUILDERS:
        raise ConfigError(f"exercise '{key}' is unknown; choose one of {', '.join(EXERCISES)}")
    base = base or Settings()
    start, moved, values = _BUILDERS[key](base, n_leads, seed, lang)
    text = {k: v for k, v in values.items() if not isinstance(v, pd.DataFrame)}
    return Exercise(
        key=key,
        start=start,
        moved=moved,
        question=t(f"explorer.exercises.{key}.question", lang, **text),
        answer=t(f"explorer.exercises.{key}.answer", lang, **text),
        values=values,
    )
