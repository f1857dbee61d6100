"""The client report's sentences in the report language: key numbers and method.

The client report (notebook ``10``) stays thin: it computes the numbers and hands them to
these functions, which word them from the message catalogues (``client.*``,
``outcomes.*``, ``medians.*`` in ``qualmodel/locales/<lang>.yaml``). English reproduces
the report's original wording; stage names the data declares (``meta["outcomes"]``) stay
as the data names them, the standard stages get the catalogue's names.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from qualmodel.core.i18n import fmt_shares, t
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
    "provenance_table",
    "report_title",
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

    def ci(row: Any) -> dict[str, str]:
        share, lo, hi = fmt_shares(*(float(row[k]) for k in ("share", "lower", "upper")),
                                   lang=lang)  # fmt: skip
        return {"share": share, "lo": lo, "hi": hi}

    outcomes = t("client.reached", lang, firsts=first, verb=names["verb"], h=horizon, **ci(reached))
    for (_, row), verb in zip(others.iterrows(), names["competing_verbs"], strict=True):
        outcomes += t("client.competing", lang, verb=verb, **ci(row))
    outcomes += t("client.open", lang, share=fmt_shares(float(still_open["share"]), lang=lang)[0],
                  h=horizon)  # fmt: skip
    key = "client.n_start_all" if n_start == n_leads else "client.n_start"
    lines = [t(key, lang, n=n_start, firsts=first, n_leads=n_leads), outcomes]
    if len(never):  # why it is not estimated is said in the Method section
        censored = t("client.censored", lang) if len(others) else ""
        lines.append(t(
            "client.never", lang, firsts=first, goal=names["goal"], verb=names["verb"],
            censored=censored, **ci(never.iloc[0]),
        ))  # fmt: skip
    lines.append(median_sentence(typical, names["verb_past"], names["first"], lang))
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
    now = fmt_shares(float(base["precision"]), float(base["recall"]), lang=lang)
    current = t("client.current", lang, name=base["criterion"], precision=now[0], recall=now[1])
    precision = fmt_shares(*(float(best[k]) for k in ("precision", "precision_lo",
                                                      "precision_hi")), lang=lang)  # fmt: skip
    numbers = dict(name=best["criterion"], precision=precision[0], lo=precision[1],
                   hi=precision[2], recall=fmt_shares(float(best["recall"]), lang=lang)[0],
                   per_week=best["per_week"], now=base["per_week"])  # fmt: skip
    if searched:  # the footnote (¹) names the best compared definition
        return [current, f"**{searched}¹**", t("client.alternative", lang, **numbers)]
    return [current, t("client.recommended", lang, **numbers)]


def key_numbers(lines: list[str], lang: str = "en") -> str:
    """Build the "Key numbers" section: heading and one bullet per line (Markdown).

    A line that starts with "¹" is the footnote of the recommendation: it follows the list
    as its own paragraph.
    """
    notes = [line for line in lines if line.startswith("¹")]
    bullets = "\n".join(f"* {line}" for line in lines if not line.startswith("¹"))
    text = t("client.key_numbers", lang) + "\n\n" + bullets
    return text + "".join(f"\n\n{note}" for note in notes)


def method_text(
    plan: Mapping[str, Any],
    horizon: float,
    compared: bool,
    lang: str = "en",
    *,
    cure: Any = None,
    trial: bool = False,
) -> str:
    """Build the "Method" section of the client report (Markdown): every rule and caveat.

    Parameters
    ----------
    plan : mapping
        From :func:`qualmodel.journeys.outcomes.plan_outcomes`.
    horizon : float
        Horizon in days.
    compared : bool
        Whether candidate SQO definitions were compared.
    lang : str, default "en"
    cure : CureSupport, optional
        The headline's cure-model rule (``split.attrs["cure"]``); when it does not support
        the "never" share, the reason follows the rule in words.
    trial : bool, default False
        Whether the summary sized a trial (its method is stated).

    Returns
    -------
    str
    """
    names = plan_names(plan, lang)
    missing = ""
    if cure is not None and not cure.supported:
        reason = cure_reason(cure, lang, names["event_labels"])
        missing = " " + t("client.never_missing", lang, reason=reason)
    definition = median_definition(
        names["goal"], names["rival"], horizon, names["first"], lang, verb=names["verb"]
    )
    parts = [
        t("client.method_cr", lang, rival=names["rival"])
        if names["rival"]
        else t("client.method_cr_alone", lang),
        t("client.method_median", lang, definition=definition),
        t("client.method_cure", lang, goal=names["goal"]) + missing,
        t("client.method_criteria" if compared else "client.method_no_criteria", lang),
    ]
    if trial:
        parts.append(t("client.method_trial", lang))
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

    units = {"qualified_rate": "share", "precision": "share", "recall": "share",
             "per_week": "per_week"}  # fmt: skip
    out = ci_table(table, units, index="criterion", lang=lang)
    out = out.rename(columns={c: t(f"client.columns.{c}", lang) for c in units})
    return out.rename_axis(t("client.columns.criterion", lang))


def _builtin_title(source: str, lang: str) -> str | None:
    from qualmodel.core.i18n import catalogue

    title = catalogue(lang).get(f"titles.{source}")
    return str(title) if isinstance(title, str) else None


def report_title(
    meta: Mapping[str, Any], title: str | None = None, scenario: Any = None, lang: str = "en"
) -> str:
    """Return the human title of the data a report is about.

    In order: ``title`` when given (the notebook's ``title`` parameter), the data's own
    ``meta["title"]`` (a mapping's ``title:``), the catalogue's title of a built-in
    scenario or mapping (``titles.<source>``; a fitted scenario is "Funnel twin of …"),
    else the source name in words (``my_crm`` → "My crm").

    Parameters
    ----------
    meta : mapping
        The journeys' ``meta``.
    title : str, optional
        Explicit title.
    scenario : TwinScenario or path, optional
        The scenario simulated (a fitted scenario names the data it was fitted to).
    lang : str, default "en"

    Returns
    -------
    str
    """
    if title:
        return str(title)
    if meta.get("title"):
        return str(meta["title"])
    source = str(meta.get("source", "") or "journeys")
    found = _builtin_title(source, lang)
    if found:
        return found
    if meta.get("kind") == "twin":
        fitted = str(getattr(scenario, "source", {}).get("journeys", "")) if scenario else ""
        inner = _builtin_title(fitted, lang) or _in_words(fitted or source)
        return t("titles.twin", lang, source=inner)
    return _in_words(source)


def _in_words(name: str) -> str:
    words = " ".join(name.replace("_", " ").replace("-", " ").split())
    return words[:1].upper() + words[1:] if words else name


#: Packages whose versions the client report's provenance names.
PROVENANCE_PACKAGES: tuple[str, ...] = ("qualmodel", "pandas", "lifelines", "statsmodels")


def _data_rows(meta: Mapping[str, Any], lang: str) -> list[tuple[str, str]]:
    from qualmodel.report.helpers import plain_value

    rows = []
    if meta.get("generator"):
        rows.append((t("client.prov.source", lang),
                     t("client.prov.simulated", lang, source=meta.get("source", ""),
                       seed=str(meta.get("seed", "")))))  # fmt: skip
        if meta.get("config_hash"):
            rows.append((t("client.prov.fingerprint", lang), plain_value(meta["config_hash"])))
        return rows
    mapping = meta.get("mapping") or {}
    rows.append((t("client.prov.source", lang),
                 t("client.prov.imported", lang, mapping=mapping.get("name", "")))
                )  # fmt: skip
    for name, rec in (meta.get("files") or {}).items():
        rec = rec if isinstance(rec, Mapping) else {}
        if "url" in rec:  # a database table or query (password already removed)
            what = rec.get("table") or t("client.prov.query", lang)
            rows.append((t("client.prov.database", lang, name=name), f"{rec['url']} ({what})"))
            continue
        shown = Path(str(rec.get("path", name))).name
        digest = plain_value(str(rec.get("sha256", "")))
        rows.append((t("client.prov.file", lang, name=name), f"{shown} ({digest})"))
    return rows


def _parameter(value: Any, lang: str) -> str:
    """Show a run parameter as typed: seeds as plain digits, 90.0 as 90, files by name."""
    from qualmodel.core.i18n import fmt_number
    from qualmodel.report.helpers import plain_value

    if isinstance(value, bool) or not isinstance(value, int | float):
        return plain_value(
            Path(value).name if isinstance(value, str) and "/" in value else value, lang
        )
    if isinstance(value, int) or float(value).is_integer():
        return str(int(value))
    return fmt_number(value, lang, ",g")


def provenance_table(journeys: Any, lang: str = "en", **parameters: Any) -> pd.DataFrame:
    """Tabulate the client report's provenance: a compact table, never raw records.

    Rows: where the data come from (simulated scenario and seed, or the mapping and each
    input file with its shortened SHA-256), their size, the run's parameters that change
    numbers, and the software versions in one line.

    Parameters
    ----------
    journeys : Journeys
        The data of the report.
    lang : str, default "en"
    **parameters
        Run parameters to list (``None`` values are left out).

    Returns
    -------
    pandas.DataFrame
        One column (``value`` in ``lang``), indexed by the item.
    """
    import platform
    from importlib.metadata import PackageNotFoundError, version

    from qualmodel.core.i18n import fmt_number

    meta = journeys.meta
    rows = _data_rows(meta, lang)
    rows.append((t("client.prov.size", lang),
                 t("client.prov.counts", lang, leads=fmt_number(journeys.n_leads, lang, ","),
                   events=fmt_number(journeys.n_events, lang, ","))))  # fmt: skip
    shown = {k: v for k, v in parameters.items() if v is not None}
    if shown:
        text = "; ".join(f"{k} {_parameter(v, lang)}" for k, v in shown.items())
        rows.append((t("client.prov.parameters", lang), text))
    software = []
    for dist in PROVENANCE_PACKAGES:
        try:
            software.append(f"{dist} {version(dist)}")
        except PackageNotFoundError:
            software.append(f"{dist} {t('provenance.not_installed', lang)}")
    software.append(f"Python {platform.python_version()}")
    rows.append((t("client.prov.software", lang), ", ".join(software)))
    item, value = t("provenance.item", lang), t("provenance.value", lang)
    return pd.DataFrame(rows, columns=[item, value]).set_index(item)
