"""The client report's sentences (qualmodel.report.client): English wording kept, German."""

from __future__ import annotations

import numpy as np
import pandas as pd
from shapes import make_shape

from qualmodel.journeys.outcomes import plan_outcomes
from qualmodel.report.client import (
    criteria_lines,
    definitions_table,
    key_numbers,
    method_text,
    outcome_lines,
    plan_names,
)
from qualmodel.survival.headline import CureSupport

NBSP = "\u00a0"
PLAN = {
    "start": "sal_at", "target": "sqo_at", "competing": ["disqualified_at"],
    "start_name": "SAL", "name": "SQO", "competing_names": ["disqualified"],
}  # fmt: skip
TYPICAL = {"median": 21.0, "lower": 19.6, "upper": 23.2, "reached": 800, "horizon": 90.0}


def _split(never: bool) -> pd.DataFrame:
    rows = [
        ("target", "SQO", "sqo", 0.2634, 0.2501, 0.2776),
        ("competing", "disqualified", "dq", 0.3049, 0.2901, 0.3187),
        ("open", "still open", "open", 0.4317, np.nan, np.nan),
    ]
    if never:
        rows.append(("never", "expected never to reach SQO", "never_sqo", 0.2851, 0.2672, 0.3))
    out = pd.DataFrame(rows, columns=["kind", "outcome", "key", "share", "lower", "upper"])
    out.attrs["cure"] = CureSupport(False, why="competing", details={"codes": [2]})
    return out


def test_english_lines_keep_the_report_wording():
    fun = pd.DataFrame({"n": [3000, 800, 200]}, index=pd.Index(["sal", "sqo", "won"]))
    lines = outcome_lines(
        _split(False), PLAN, TYPICAL, 90.0, n_start=3000, n_leads=20000, funnel_table=fun
    )
    assert lines == [
        "**3,000 SALs** out of 20,000 leads.",
        "**26% of SALs become SQOs within 90 days** (95% CI 25%–28%); **30%** are "
        "disqualified (95% CI 29%–32%); **43%** are still open (no outcome by day 90).",
        "Of the SALs that became SQOs within 90 days, half did so within **21.0 days** "
        "(95% CI 19.6–23.2 days).",
        "25% of SQOs so far were won.",
    ]
    never = outcome_lines(_split(True), PLAN, TYPICAL, 90.0, n_start=3000, n_leads=20000)[2]
    assert never == (
        "**29% of SALs are expected never to reach SQO** (95% CI 27%–30%; mixture cure "
        "model, competing outcomes censored)."
    )
    assert key_numbers(["a", "b"]) == "## Key numbers\n\n* a\n* b"
    assert key_numbers(["a", "¹ note"]) == "## Key numbers\n\n* a\n\n¹ note"  # a footnote
    # why "never" is not estimated is a caveat: it is said in the Method appendix
    text = method_text(PLAN, 90.0, compared=False, cure=_split(False).attrs["cure"])
    assert "In these data it is not reported: competing outcome(s) disqualified present" in text


def test_german_lines_use_german_words_and_numbers():
    lines = outcome_lines(_split(True), PLAN, TYPICAL, 90.0, n_start=3000, n_leads=20000,
                          lang="de")  # fmt: skip
    assert lines[0] == "**3.000 SALs** von 20.000 Leads."
    assert lines[1] == (
        f"**Anteil der SALs, die innerhalb von 90 Tagen zu SQOs werden: 26{NBSP}%** (95-%-KI "
        f"25{NBSP}%–28{NBSP}%); die disqualifiziert werden: **30{NBSP}%** (95-%-KI "
        f"29{NBSP}%–32{NBSP}%); noch offen (kein Ergebnis bis Tag 90): **43{NBSP}%**."
    )
    assert lines[2].startswith("**Anteil der SALs, die voraussichtlich nie zu SQOs werden:")
    assert lines[3] == (
        "Von den SALs, die innerhalb von 90 Tagen zu SQOs wurden, schaffte es die Hälfte "
        "innerhalb von **21,0 Tagen** (95-%-KI 19,6–23,2 Tage)."
    )
    missing = method_text(PLAN, 90.0, compared=False, lang="de", cure=_split(False).attrs["cure"])
    assert "nicht ausgewiesen: konkurrierende Ergebnisse (disqualifiziert)" in missing


def test_data_vocabulary_stays_as_the_data_names_it():
    j = make_shape("three_competing", seed=7)
    plan = plan_outcomes(j)
    en, de = plan_names(plan, "en"), plan_names(plan, "de")
    assert en["event_labels"] == plan["event_labels"]
    assert en["verb_past"] == "were approved" and en["rival"] == plan["competing_name"]
    assert de["goal"] == "approved" and de["verb"] == "als „approved“ enden"
    assert de["rival"] == "declined oder cancelled oder expired"
    std = plan_names(plan_outcomes(make_shape("no_sqo", seed=1)), "de")
    assert (std["goal"], std["verb"], std["rival"]) == ("gewonnen", "gewonnen werden", "verloren")


def test_criteria_lines_method_and_table():
    table = pd.DataFrame({
        "criterion": ["seed", "best"], "qualified_rate": [0.4, 0.3],
        "qualified_rate_lo": [0.38, 0.28], "qualified_rate_hi": [0.42, 0.32],
        "precision": [0.25, 0.3512], "precision_lo": [0.2, 0.31], "precision_hi": [0.3, 0.39],
        "recall": [0.5, 0.61], "recall_lo": [0.45, 0.55], "recall_hi": [0.55, 0.66],
        "per_week": [12.25, 9.5], "per_week_lo": [11.0, 8.75], "per_week_hi": [13.5, 10.25],
    })  # fmt: skip
    choice = table.set_axis(["baseline", "recommended"])
    assert criteria_lines(choice) == [
        "Current SQO definition (`seed`): 25% of the leads it qualifies are won; it catches "
        "50% of all won deals.",
        "**Recommended definition: `best`** — share won 35% (95% CI 31%–39%), catches 61% of "
        "won deals, 9.5 qualified leads per week (now 12.2).",
    ]
    assert "9,5 qualifizierte Leads pro Woche (derzeit 12,2)" in criteria_lines(choice, "de")[1]
    # with a search: its winner is the one recommendation, the compared best a footnote
    searched = "Searching 10 definitions …, the recommended SQO definition is `x` …"
    lines = criteria_lines(choice, searched=searched)
    assert lines[1] == f"**{searched}¹**"  # the footnote mark inside the bold text
    assert lines[2].startswith("¹ Among the compared definitions, `best` fits these data best")
    assert sum("recommended" in line.lower() for line in lines) == 1  # the search's line
    assert "Recommended definition" not in " ".join(lines)
    assert criteria_lines(None, searched=searched) == [f"**{searched}**"]
    assert criteria_lines(None) == []
    de = criteria_lines(choice, "de", searched="Suche …")
    assert de[2].startswith("¹ Unter den verglichenen Definitionen passt `best`")
    en = definitions_table(table)
    assert list(en.columns) == ["share of SALs qualified", "share won", "won deals caught",
                                "per week"]  # fmt: skip
    assert en.loc["best", "share won"] == "35.1% [31.0%, 39.0%]"
    de = definitions_table(table, "de")
    assert de.index.name == "Kriterium" and de.columns[1] == "Anteil gewonnen"
    assert de.loc["best", "Anteil gewonnen"] == f"35,1{NBSP}% [31,0{NBSP}%; 39,0{NBSP}%]"
    assert de.loc["best", "pro Woche"] == "9,5 [8,8; 10,2]"  # rates: one decimal
    text = method_text(PLAN, 90.0, compared=True)
    assert text.startswith("## Method\n\nConversion over time is estimated")
    assert "a lead that is disqualified cannot convert later" in text
    assert "no competing outcome observed" in text
    de_text = method_text(PLAN, 90.0, compared=False, lang="de")
    assert de_text.startswith("## Methode") and "Ergebnis disqualifiziert" in de_text
    assert "die innerhalb von 90 Tagen zu SQOs werden" in de_text


def test_report_title_is_human():
    from qualmodel.report.client import report_title

    assert report_title({"source": "startup_saas"}) == "B2B SaaS startup"
    assert report_title({"source": "startup_saas"}, lang="de") == "B2B-SaaS-Startup"
    assert report_title({"source": "maven_crm", "title": "Acme, EMEA"}) == "Acme, EMEA"
    assert report_title({"source": "maven_crm"}, title="Q3 review") == "Q3 review"
    assert report_title({"source": "my_crm-export"}) == "My crm export"  # words, not a slug

    class Twin:
        source = {"journeys": "maven_crm"}

    twin = report_title({"source": "maven_twin", "kind": "twin"}, scenario=Twin())
    assert twin == "Funnel twin of Maven CRM sales opportunities"


def test_mapping_title_reaches_meta_and_the_report(shared_data):
    from qualmodel.crm import import_crm
    from qualmodel.crm.mapping import load_mapping
    from qualmodel.report.client import report_title

    mapping = load_mapping("maven_crm").model_copy(update={"title": "Acme hardware pipeline"})
    j = import_crm(shared_data / "maven_crm" / "sales_pipeline.csv", mapping)
    assert j.meta["title"] == "Acme hardware pipeline"
    assert report_title(j.meta) == "Acme hardware pipeline"


def test_every_builtin_mapping_and_scenario_has_a_title():
    from qualmodel.core.i18n import catalogue
    from qualmodel.crm.mapping import list_mappings, load_mapping
    from qualmodel.report.helpers import builtin_scenarios

    sources = {load_mapping(name).source for name in list_mappings()} | set(builtin_scenarios())
    for lang in ("en", "de"):
        titles = catalogue(lang)
        assert [s for s in sorted(sources) if f"titles.{s}" not in titles] == [], lang
    # titles are plain words, never slugs
    assert all("_" not in str(v) for k, v in catalogue("en").items() if k.startswith("titles."))


def test_provenance_names_files_and_databases_never_paths_or_passwords():
    from types import SimpleNamespace

    from qualmodel.report.client import provenance_table

    meta = {
        "source": "crm", "mapping": {"name": "salesforce_lead_history"},
        "files": {
            "main": {"path": "/data/exports/Lead.csv", "sha256": "ab" * 32, "rows": 9},
            "history": {"url": "postgresql://ana@db:5432/crm", "table": "lead_history"},
        },
    }  # fmt: skip
    j = SimpleNamespace(meta=meta, n_leads=1200, n_events=34567)
    table = provenance_table(j, seed=7, horizon_days=90.0, criteria_file=None)
    rows = dict(zip(table.index, table.iloc[:, 0], strict=True))
    assert rows["data"] == "imported with the mapping salesforce_lead_history"
    assert rows["file main"] == "Lead.csv (abababababab…)"
    assert rows["database history"] == "postgresql://ana@db:5432/crm (lead_history)"
    assert rows["size"] == "1,200 leads, 34,567 events"
    assert rows["run parameters"] == "seed 7; horizon_days 90"  # None left out, 90.0 as 90
    assert "/data/exports" not in " ".join(rows.values())
