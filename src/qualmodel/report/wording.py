"""Every sentence the reports say about the numbers, in the report language.

The statistics modules return numbers; this module words them through the message
catalogues of :mod:`qualmodel.core.i18n`: why the cure model is or is not reported
(:func:`cure_reason`), the headline median (:func:`median_definition`,
:func:`median_sentence`) and the criteria search's recommendation
(:func:`search_description`, :func:`search_summary`).
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from qualmodel.core.i18n import duration_unit, fmt_duration, fmt_shares, t, value_label
from qualmodel.criteria.search import SearchResult
from qualmodel.survival.headline import CureSupport

__all__ = [
    "cure_reason",
    "median_definition",
    "median_sentence",
    "search_description",
    "search_summary",
]


def cure_reason(
    support: CureSupport, lang: str = "en", labels: dict[int, str] | None = None
) -> str:
    """Word why the cure model is (not) reported, in ``lang`` (catalogue key ``cure.<why>``).

    Parameters
    ----------
    support : CureSupport
        Output of :func:`~qualmodel.survival.headline.cure_support`.
    lang : str, default "en"
        Report language.
    labels : dict, optional
        Event code → outcome name in ``lang`` (``plan["event_labels"]``) for the competing
        outcomes; default ``event 2``, ``event 3``, ...

    Returns
    -------
    str
        One sentence.
    """
    details = dict(support.details)
    if "codes" in details:
        names = labels or {}
        details["outcomes"] = ", ".join(names.get(c, f"event {c}") for c in details["codes"])
    return t(f"cure.{support.why}", lang, **details)


def median_definition(
    goal: str = "SQO",
    competing: str = "disqualified",
    horizon: float = 90,
    start: str = "SAL",
    lang: str = "en",
    verb: str | None = None,
) -> str:
    """One sentence defining the headline median, for the index page and the reports.

    Parameters
    ----------
    goal, competing, start : str
        Names of the outcome, the competing outcome(s) and the start stage (in ``lang``);
        an empty ``competing`` says that the data record no competing outcome.
    horizon : float
        The horizon in days.
    lang : str, default "en"
        Report language (catalogue key ``medians.definition``).
    verb : str, optional
        Verb-final clause fragment for reaching the goal in ``lang`` (German:
        ``"zu SQOs werden"``, see :func:`~qualmodel.journeys.outcomes.outcome_verb`); default
        "reach <goal>" in the language's words.

    Returns
    -------
    str
    """
    from qualmodel.journeys.outcomes import stage_plural

    if verb is None:
        verb = f"{goal} erreichen" if lang == "de" else f"reach {goal}"
    rival = (
        t("medians.competing", lang, names=competing)
        if competing and competing != t("outcomes.none", lang)
        else t("medians.no_competing", lang)
    )
    return t(
        "medians.definition", lang, start=start, starts=stage_plural(start, lang), goal=goal,
        h=horizon, competing=rival, verb=verb,
    )  # fmt: skip


def median_sentence(
    result: dict[str, Any], goal_past: str = "became SQOs", start: str = "SAL", lang: str = "en"
) -> str:
    """Word the headline median for the client report (one Markdown sentence).

    Parameters
    ----------
    result : dict
        Output of :func:`~qualmodel.survival.medians.median_among_reached`.
    goal_past : str, default "became SQOs"
        The outcome as a past-tense predicate ("were won"; in German verb-final, "zu SQOs
        wurden": ``plan["verb_past"]`` or :func:`~qualmodel.journeys.outcomes.outcome_verb`).
    start : str, default "SAL"
        Name of the start stage.
    lang : str, default "en"
        Report language (catalogue keys ``medians.*``).

    Returns
    -------
    str
        E.g. "Of the SALs that became SQOs within 90 days, half did so within **21.4 days**
        (95% CI 20.1–23.0 days)." (one decimal, as the index page shows it); a plain
        statement when nobody did.
    """
    from qualmodel.journeys.outcomes import stage_plural

    h = result["horizon"]
    starts = stage_plural(start, lang)
    if math.isnan(result["median"]):
        return t("medians.none", lang, starts=starts, past=goal_past, h=h)
    unit = duration_unit(result["median"])
    ci = ""
    if not math.isnan(result["lower"]):
        lo, hi = (fmt_duration(result[k], lang, unit) for k in ("lower", "upper"))
        ci = t("medians.ci", lang, lo=lo, hi=hi, unit=t(f"units.{unit}", lang))
    return t(
        "medians.sentence",
        lang,
        starts=starts,
        past=goal_past,
        h=h,
        median=fmt_duration(result["median"], lang, unit),
        unit=t(f"units.{unit}_in", lang),
        ci=ci,
    )


def search_description(result: SearchResult, name: str | None = None, lang: str = "en") -> str:
    """Describe a searched candidate (default: the winner) in plain words in ``lang``.

    Parameters
    ----------
    result : SearchResult
        Output of :func:`~qualmodel.criteria.search.search_criteria`.
    name : str, optional
        Candidate name; default the winner.
    lang : str, default "en"
        Report language (catalogue keys ``search.*``).

    Returns
    -------
    str
    """
    name = result.winner.name if name is None else name
    row = result.candidates.loc[result.candidates["name"] == name].iloc[0]
    parts = []
    if pd.notna(row["threshold"]):
        hl = row["half_life_days"]
        decay = t("search.no_decay", lang) if pd.isna(hl) else t("search.half_life", lang, days=hl)
        parts.append(t("search.part_score", lang, threshold=row["threshold"], decay=decay))
    if row["bant"]:
        facts = ", ".join(value_label("bant_fact", f, lang) for f in row["bant"].split("+"))
        parts.append(t("search.part_bant", lang, facts=facts))
    if row["events"]:
        parts.append(t("search.part_events", lang, events=", ".join(row["events"].split("+"))))
    return t("search.joiner", lang).join(parts)


def search_summary(result: SearchResult, lang: str = "en") -> str:
    """Word the search's recommendation in one sentence with held-out 95% intervals.

    Parameters
    ----------
    result : SearchResult
        Output of :func:`~qualmodel.criteria.search.search_criteria`.
    lang : str, default "en"
        Report language (catalogue key ``search.sentence``).

    Returns
    -------
    str
    """
    row = result.holdout_row(result.winner.name)
    cap = result.settings.get("capacity_per_week")
    precision = fmt_shares(*(float(row[k]) for k in ("precision", "precision_lo", "precision_hi")),
                           lang=lang)  # fmt: skip
    recall = fmt_shares(*(float(row[k]) for k in ("recall", "recall_lo", "recall_hi")), lang=lang)
    text = t(
        "search.sentence",
        lang,
        n=result.settings["n_candidates"],
        description=search_description(result, lang=lang),
        name=result.winner.name,
        precision=precision[0],
        precision_lo=precision[1],
        precision_hi=precision[2],
        recall=recall[0],
        recall_lo=recall[1],
        recall_hi=recall[2],
        per_week=float(result.frontier.loc[result.frontier["winner"], "per_week"].iloc[0]),
        capacity=t("search.capacity", lang, cap=cap) if cap is not None else "",
    )
    return text
