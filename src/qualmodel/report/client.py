"""The client report's sentences in the report language: key numbers and method.

The client report (notebook ``10``) stays thin: it computes the numbers and hands them to
these functions, which word them from the message catalogues (``client.*``,
``outcomes.*``, ``medians.*`` in ``qualmodel/locales/<lang>.yaml``). English reproduces
the report's original wording; stage names the data declares (``meta["outcomes"]``) stay
as the data names them, the standard stages get the catalogue's names.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from qualmodel.core.i18n import t
from qualmodel.journeys.outcomes import outcome_label, outcome_verb, stage_plural
from qualmodel.report.wording import cure_reason, median_definition, median_sentence

__all__ = [
    "criteria_lines",
    "definitions_table",
    "key_numbers",
    "method_text",
    "outcome_lines",
    "plan_names",
    "progress_text",
]


def plan_names(plan: Mapping[str, Any], lang: str = "en") -> dict[str, Any]:
    """Names and verbs of a plan's stages in ``lang``.

    Parameters
    ----------
    plan : mapping
        From :func:`qualmodel.journeys.outcomes.plan_outcomes`.
    lang : str, default "en"

    Returns
    -------
    dict
        ``first`` (start stage), ``firsts`` (its plural: "SALs", "created leads"), ``goal``
        (target), ``rival`` (competing outcomes joined by "or"; empty when none compete),
        ``competing_names``, ``verb`` / ``verb_past`` (target), ``competing_verbs`` and
        ``event_labels`` (code → name, 0 = still open).
    """
    comp = list(plan["competing"])
    names = [outcome_label(c, n, lang) for c, n in zip(comp, plan["competing_names"], strict=True)]
    goal = outcome_label(plan["target"], plan["name"], lang)
    first = outcome_label(plan["start"], plan["start_name"], lang)
    return {
        "first": first,
        "firsts": stage_plural(first, lang),
        "goal": goal,
        "competing_names": names,
        "rival": t("outcomes.or", lang).join(names),
        "verb": outcome_verb(plan["target"], plan["name"], lang),
        "verb_past": outcome_verb(plan["target"], plan["name"], lang, past=True),
        "competing_verbs": [
            outcome_verb(c, n, lang) for c, n in zip(comp, plan["competing_names"], strict=True)
        ],
        "event_labels": {0: t("outcomes.still_open", lang), 1: goal}
        | {i + 2: n for i, n in enumerate(names)},
    }


def outcome_lines(
    split: pd.DataFrame,
    plan: Mapping[str, Any],
    typical: Mapping[str, Any],
    horizon: float,
    *,
    n_start: int,
    n_leads: int,
    funnel_table: pd.DataFrame | None = None,
    lang: str = "en",
) -> list[str]:
    """Key-number lines on the start cohort's outcomes (Markdown, one per bullet).

    Parameters
    ----------
    split : pandas.DataFrame
        :func:`qualmodel.survival.headline.headline` of the cohort (its ``attrs["cure"]`` words a
        missing "never" line).
    plan : mapping
        The plan the split was computed with.
    typical : mapping
        :func:`qualmodel.survival.medians.median_among_reached` result.
    horizon : float
        Horizon in days.
    n_start : int
        Leads in the start cohort (rows of the duration table).
    n_leads : int
        All leads of the data.
    funnel_table : pandas.DataFrame, optional
        :func:`qualmodel.journeys.funnel.funnel` indexed by stage: adds the share of SQOs won.
    lang : str, default "en"

    Returns
    -------
    list of str
        Cohort size; reached / each competing outcome / still open; never (or why not);
        the median; the share of SQOs won (when the data have SQOs and wins).
    """
    names = plan_names(plan, lang)
    first = names["firsts"]
    reached = split[split["kind"] == "target"].iloc[0]
    others = split[split["kind"] == "competing"]
    still_open = split[split["kind"] == "open"].iloc[0]
    never = split[split["kind"] == "never"]

    def ci(row: Any) -> dict[str, float]:
        return {"share": row["share"], "lo": row["lower"], "hi": row["upper"]}

    outcomes = t("client.reached", lang, firsts=first, verb=names["verb"], h=horizon, **ci(reached))
    for (_, row), verb in zip(others.iterrows(), names["competing_verbs"], strict=True):
        outcomes += t("client.competing", lang, verb=verb, **ci(row))
    outcomes += t("client.open", lang, share=still_open["share"], h=horizon)
    if len(never):
        censored = t("client.censored", lang) if len(others) else ""
        never_line = t(
            "client.never", lang, firsts=first, goal=names["goal"], verb=names["verb"],
            censored=censored, **ci(never.iloc[0]),
        )  # fmt: skip
    else:
        reason = cure_reason(split.attrs["cure"], lang, names["event_labels"])
        never_line = t(
            "client.never_missing", lang, firsts=first, goal=names["goal"], verb=names["verb"],
            reason=reason,
        )  # fmt: skip
    lines = [
        t("client.n_start", lang, n=n_start, firsts=first, n_leads=n_leads),
        outcomes,
        never_line,
        median_sentence(typical, names["verb_past"], names["first"], lang),
    ]
    fun = funnel_table
    if fun is not None and {"sqo", "won"} <= set(fun.index) and fun.loc["sqo", "n"]:
        won = str(fun.loc["won", "label"]) if "label" in fun else "won"
        sqo = str(fun.loc["sqo", "label"]) if "label" in fun else "SQO"
        lines.append(
            t(
                "client.won_of_sqo", lang, share=fun.loc["won", "n"] / fun.loc["sqo", "n"],
                sqos=stage_plural(outcome_label("sqo_at", sqo, lang), lang),
                verb=outcome_verb("won_at", won, lang, past=True),
            )
        )  # fmt: skip
    return lines


def criteria_lines(
    choice: pd.DataFrame | None, lang: str = "en", searched: str | None = None
) -> list[str]:
    """Word the current SQO definition and the one recommendation.

    One definition is recommended: the search's held-out winner when a search ran
    (``searched``: its :func:`~qualmodel.report.wording.search_summary`), otherwise the best
    of the compared definitions. With a search, the best compared definition follows as
    a footnote ("among the compared definitions …"), never as a second recommendation.

    Parameters
    ----------
    choice : pandas.DataFrame, optional
        :func:`qualmodel.recommend_criterion` output (rows ``recommended``, ``baseline``);
        None when no definitions were compared.
    lang : str, default "en"
    searched : str, optional
        The search's sentence (it names the recommended definition).

    Returns
    -------
    list of str
        Current definition, the recommendation (bold), and the footnote if any.
    """
    if choice is None:
        return [f"**{searched}**"] if searched else []
    best, base = choice.loc["recommended"], choice.loc["baseline"]
    current = t("client.current", lang, name=base["criterion"], precision=base["precision"],
                recall=base["recall"])  # fmt: skip
    numbers = dict(name=best["criterion"], precision=best["precision"], lo=best["precision_lo"],
                   hi=best["precision_hi"], recall=best["recall"], per_week=best["per_week"],
                   now=base["per_week"])  # fmt: skip
    if searched:
        return [current, f"**{searched}**", t("client.alternative", lang, **numbers)]
    return [current, t("client.recommended", lang, **numbers)]


def key_numbers(source: str, lines: list[str], lang: str = "en") -> str:
    """Build the "Key numbers" section: heading and one bullet per line (Markdown)."""
    return (
        t("client.key_numbers", lang, source=source)
        + "\n\n"
        + "\n".join(f"* {line}" for line in lines)
    )


def method_text(plan: Mapping[str, Any], horizon: float, compared: bool, lang: str = "en") -> str:
    """Build the "Method" section of the client report (Markdown).

    Parameters
    ----------
    plan : mapping
        From :func:`qualmodel.journeys.outcomes.plan_outcomes`.
    horizon : float
        Horizon in days.
    compared : bool
        Whether candidate SQO definitions were compared.
    lang : str, default "en"

    Returns
    -------
    str
    """
    names = plan_names(plan, lang)
    definition = median_definition(
        names["goal"], names["rival"], horizon, names["first"], lang, verb=names["verb"]
    )
    parts = [
        t("client.method_cr", lang, rival=names["rival"])
        if names["rival"]
        else t("client.method_cr_alone", lang),
        t("client.method_median", lang, definition=definition),
        t("client.method_cure", lang, goal=names["goal"]),
        t("client.method_criteria" if compared else "client.method_no_criteria", lang),
    ]
    return t("client.method_title", lang) + "\n\n" + " ".join(parts)


def progress_text(plan: Mapping[str, Any], lang: str = "en") -> str:
    """Build the "How leads progress" section: what the funnel and the curves show (Markdown).

    Parameters
    ----------
    plan : mapping
        From :func:`qualmodel.journeys.outcomes.plan_outcomes`.
    lang : str, default "en"

    Returns
    -------
    str
        Names the start stage, the target and each competing outcome as the data call them.
    """
    names = plan_names(plan, lang)
    others = names["competing_names"]
    return t(
        "client.progress", lang, first=names["first"], firsts=names["firsts"],
        goal=names["goal"],
        others=t("client.others", lang, names=names["rival"]) if others else "",
    )  # fmt: skip


def definitions_table(table: pd.DataFrame, lang: str = "en") -> pd.DataFrame:
    """Tabulate the compared SQO definitions with 95% intervals, columns named in ``lang``.

    Parameters
    ----------
    table : pandas.DataFrame
        :func:`qualmodel.compare_criteria` output.
    lang : str, default "en"

    Returns
    -------
    pandas.DataFrame
        Indexed by criterion; share qualified, share won (precision), won deals caught
        (recall) and qualified leads per week, as "estimate [lower, upper]" strings.
    """
    from qualmodel.report.metrics import ci_table

    units = {"qualified_rate": "share", "precision": "share", "recall": "share", "per_week": ""}
    out = ci_table(table, units, index="criterion", lang=lang)
    out = out.rename(columns={c: t(f"client.columns.{c}", lang) for c in units})
    return out.rename_axis(t("client.columns.criterion", lang))
