"""The client report's executive summary: at most five plain sentences.

A sales director reads it in a minute: where the leads stand, how fast they move, the one
recommended SQO definition with its trade-off against the current one, and how long a
trial must run to confirm it. Every number comes from the report's own tables; the
sentences are the catalogue's (``summary.*`` in ``qualmodel/locales/<lang>.yaml``).

The recommendation is the one of the key numbers: the search's held-out winner when a
search ran, otherwise :func:`~qualmodel.criteria.compare.recommend_criterion`'s choice.
The trial length is the leads per arm at which the two-proportion z-test detects the
difference in won deals caught (recall, the quantity the recommendation rule ranks by)
with 80% power at the 5% level (:func:`~qualmodel.experiment.mde.leads_for_proportions`,
the analytic answer of the power notebook), turned into weeks of the data's own flow of
start-stage leads split between two arms.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from qualmodel.core.i18n import fmt_duration, fmt_number, fmt_shares, t

__all__ = [
    "TRIAL_ALPHA",
    "TRIAL_MAX_WEEKS",
    "TRIAL_POWER",
    "executive_summary",
    "recommendation",
    "summary_sentences",
    "trial_length",
]

#: Two-sided level of the trial's test.
TRIAL_ALPHA = 0.05
#: Power the trial is sized for.
TRIAL_POWER = 0.8
#: Longer trials are not proposed: the summary says the difference is too small to test.
TRIAL_MAX_WEEKS = 104.0


def _description(criteria: Sequence[Any], name: str) -> str:
    for crit in criteria:
        if getattr(crit, "name", None) == name and getattr(crit, "description", None):
            return " ".join(str(crit.description).split()).rstrip(".")
    return ""


def recommendation(
    choice: pd.DataFrame | None,
    found: Any = None,
    criteria: Sequence[Any] = (),
    lang: str = "en",
) -> dict[str, Any] | None:
    """Return the one recommended SQO definition and the current one, as plain numbers.

    Parameters
    ----------
    choice : pandas.DataFrame, optional
        :func:`qualmodel.recommend_criterion` output (rows ``recommended``, ``baseline``).
    found : SearchResult, optional
        :func:`qualmodel.search_criteria` output; its held-out winner is the recommendation.
    criteria : sequence of Criterion, default ()
        The compared definitions (their ``description`` words a compared recommendation).
    lang : str, default "en"

    Returns
    -------
    dict or None
        ``name, description, per_week, precision, recall, kept`` (True when the current
        definition stays) and ``base`` (the current definition's row of the comparison);
        None when no definitions were compared.
    """
    if choice is None:
        return None
    base = choice.loc["baseline"]
    if found is not None:
        from qualmodel.report.wording import search_description

        name = found.winner.name
        held = found.holdout_row(name)
        frontier = found.frontier
        return {
            "name": name,
            "description": search_description(found, lang=lang),
            "per_week": float(frontier.loc[frontier["winner"], "per_week"].iloc[0]),
            "precision": float(held["precision"]),
            "recall": float(held["recall"]),
            "kept": False,
            "base": base,
        }
    best = choice.loc["recommended"]
    return {
        "name": str(best["criterion"]),
        "description": _description(criteria, str(best["criterion"])),
        "per_week": float(best["per_week"]),
        "precision": float(best["precision"]),
        "recall": float(best["recall"]),
        "kept": not bool(best["changed"]),
        "base": base,
    }


def trial_length(
    rec: Mapping[str, Any], alpha: float = TRIAL_ALPHA, target: float = TRIAL_POWER
) -> dict[str, float]:
    """Leads per arm and weeks a trial needs to confirm the gain in won deals caught.

    Parameters
    ----------
    rec : mapping
        :func:`recommendation` output.
    alpha, target : float
        Two-sided level and power.

    Returns
    -------
    dict
        ``n`` (start-stage leads per arm, rounded up) and ``weeks`` (of the data's flow of
        start-stage leads, both arms together); NaN when the recall does not differ or the
        data hold no won lead.
    """
    from qualmodel.experiment.mde import leads_for_proportions

    base = rec["base"]
    n_leads, n_won, n_qual = (float(base[k]) for k in ("n_leads", "n_won", "n_qualified"))
    win_rate = n_won / n_leads if n_leads else float("nan")
    n = leads_for_proportions(float(base["recall"]), rec["recall"], win_rate, win_rate,
                              alpha, target)  # fmt: skip
    starts_per_week = float(base["per_week"]) * n_leads / n_qual if n_qual else float("nan")
    if not math.isfinite(n) or not starts_per_week > 0:
        return {"n": float("nan"), "weeks": float("nan")}
    n = float(math.ceil(n))
    return {"n": n, "weeks": 2 * n / starts_per_week}


def _standing(
    split: pd.DataFrame, names: Mapping[str, Any], n_start: int, h: float, lang: str
) -> str:
    reached = split[split["kind"] == "target"].iloc[0]
    others = split[split["kind"] == "competing"]
    still_open = split[split["kind"] == "open"].iloc[0]
    shares = fmt_shares(float(reached["share"]), *others["share"].astype(float),
                        float(still_open["share"]), lang=lang)  # fmt: skip
    rest = "".join(
        t("summary.competing", lang, share=share, verb=verb)
        for share, verb in zip(shares[1:-1], names["competing_verbs"], strict=True)
    )
    return t("summary.standing", lang, n=n_start, firsts=names["firsts"], share=shares[0],
             verb=names["verb"], h=h, others=rest, open=shares[-1])  # fmt: skip


def _speed(typical: Mapping[str, Any], names: Mapping[str, Any], lang: str) -> str:
    from qualmodel.core.i18n import duration_unit
    from qualmodel.journeys.outcomes import stage_plural

    starts = stage_plural(names["first"], lang)
    if math.isnan(typical["median"]):
        return t("summary.speed_none", lang, starts=starts, past=names["verb_past"],
                 h=typical["horizon"])  # fmt: skip
    unit = duration_unit(typical["median"])
    return t("summary.speed", lang, starts=starts, past=names["verb_past"],
             median=fmt_duration(typical["median"], lang, unit),
             unit=t(f"units.{unit}_in", lang))  # fmt: skip


def _recommend(rec: Mapping[str, Any], firsts: str, lang: str) -> list[str]:
    base = rec["base"]
    if rec["kept"]:
        return [t("summary.keep", lang, name=rec["name"])]
    precision = fmt_shares(rec["precision"], float(base["precision"]), lang=lang)
    recall = fmt_shares(rec["recall"], float(base["recall"]), lang=lang)
    described = (
        t("summary.described", lang, description=rec["description"], name=rec["name"])
        if rec["description"]
        else f"`{rec['name']}`"
    )
    sentence = t(
        "summary.recommend", lang, described=described,
        per_week=fmt_number(rec["per_week"], lang, ",.1f"),
        now=fmt_number(float(base["per_week"]), lang, ",.1f"),
        precision=precision[0], now_precision=precision[1],
        recall=recall[0], now_recall=recall[1],
    )  # fmt: skip
    trial = trial_length(rec)
    if math.isfinite(trial["weeks"]) and trial["weeks"] <= TRIAL_MAX_WEEKS:
        weeks = max(1, math.ceil(trial["weeks"]))
        how_long = t("summary.trial", lang, weeks=weeks, n=int(trial["n"]), power=TRIAL_POWER,
                     alpha=TRIAL_ALPHA, firsts=firsts)  # fmt: skip
    else:
        how_long = t("summary.no_trial", lang, weeks=TRIAL_MAX_WEEKS)
    return [sentence, how_long]


def summary_sentences(
    split: pd.DataFrame,
    plan: Mapping[str, Any],
    typical: Mapping[str, Any],
    horizon: float,
    *,
    n_start: int,
    rec: Mapping[str, Any] | None = None,
    lang: str = "en",
) -> list[str]:
    """Word the executive summary's sentences (at most five).

    Parameters
    ----------
    split : pandas.DataFrame
        :func:`qualmodel.survival.headline.headline` of the start cohort.
    plan : mapping
        The plan the split was computed with.
    typical : mapping
        :func:`qualmodel.survival.medians.median_among_reached` result.
    horizon : float
        Horizon in days.
    n_start : int
        Leads in the start cohort.
    rec : mapping, optional
        :func:`recommendation` output; None when no definitions were compared.
    lang : str, default "en"

    Returns
    -------
    list of str
        Where leads stand; how fast they move; the recommendation and the trial length
        (or that the current definition stays).
    """
    from qualmodel.report.client import plan_names

    names = plan_names(plan, lang)
    out = [_standing(split, names, n_start, horizon, lang), _speed(typical, names, lang)]
    if rec is not None:
        out += _recommend(rec, names["firsts"], lang)
    return out


def executive_summary(sentences: Sequence[str], lang: str = "en") -> str:
    """Build the "Summary" section (Markdown): a heading and one paragraph."""
    return t("summary.title", lang) + "\n\n" + " ".join(sentences)
