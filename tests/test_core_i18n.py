"""Report languages: catalogues, number/date formats, figures, and the German primer."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from qualmodel.core.errors import ConfigError
from qualmodel.core.i18n import (
    LANGUAGES,
    catalogue,
    check_lang,
    display_value,
    fmt_date,
    fmt_number,
    fmt_percent,
    localize_figure,
    localize_table,
    t,
)
from qualmodel.report.templates import METRICS_MIMETYPE

ROOT = Path(__file__).resolve().parents[1]
NBSP = "\u00a0"
# English words that do not occur in German prose (German loanwords such as Lead, Leads,
# Score, Parameter, naive, Budget and words that are also German — was, rate, still, per,
# relative — are deliberately absent; data column names such as 'nurtured' are identifiers).
ENGLISH = set(
    """the and of with by for from which that this these those were are is be been not
    within after before than more less into over under our we you they their its it at on
    to or if when while days day weeks week share reached won lost open criterion
    criteria qualified accepted sales data yes no true false none since events
    stage item value description converted lower upper ripe ripening never became become
    against without difference points curve claims gap bias programme groups group""".split()
)


def _messages(lang: str) -> set[str]:
    return {k for k in catalogue(lang) if not k.startswith(("values.", "figure"))}


def test_catalogues_have_the_same_messages():
    assert LANGUAGES[0] == "en" and "de" in LANGUAGES
    assert _messages("en") == _messages("de")
    for key in _messages("en"):
        fields_en = set(re.findall(r"\{(\w+)", catalogue("en")[key]))
        fields_de = set(re.findall(r"\{(\w+)", catalogue("de")[key]))
        # German may use percentage points (*_pp) where English formats a share as %
        assert {f.removesuffix("_pp") for f in fields_de} <= fields_en | fields_de, key


def test_number_and_date_formats():
    assert fmt_number(1234.5, "de") == "1.234,5"
    assert fmt_number(1234.5, "en") == "1,234.5"
    assert fmt_number(1234567, "de", ",") == "1.234.567"
    assert fmt_percent(0.125, "de") == f"12,5{NBSP}%"
    assert fmt_percent(0.125, "en") == "12.5%"
    assert fmt_date(pd.Timestamp("2026-12-31 13:45"), "de") == "31.12.2026"
    assert fmt_date("2026-12-31", "en") == "2026-12-31"
    assert display_value(True, "de") == "ja" and display_value("2025-01-01", "de") == "01.01.2025"
    assert display_value(True, "en") == "True"
    text = t("data.describe", "de", source="x", n_leads=20000, n_events=1234567, n_start=2930,
             labels="SALs", groups="segment")  # fmt: skip
    assert text == (
        "**Daten:** x — 20.000 Leads, 1.234.567 Ereignisse, 2.930 SALs; Lead-Gruppen: segment."
    )


def test_messages_errors_are_one_line():
    with pytest.raises(ConfigError, match="lang 'fr' is not available; choose one of en, de"):
        check_lang("fr")
    with pytest.raises(ConfigError, match="no message 'nope'"):
        t("nope", "de")
    with pytest.raises(ConfigError, match="needs the value 'source'"):
        t("data.describe", "de")


def test_localize_table_german_only():
    table = pd.DataFrame({"stage": ["won", None], "n": [1234, 5], "converted": [0.25, 1.5]})
    assert localize_table(table, "en") is table
    de = localize_table(table, "de", values={"stage": "stage"})
    assert list(de.columns) == ["Phase", "Anzahl", "konvertiert"]
    assert de.iloc[:, 0].tolist() == ["gewonnen", "–"]
    assert de.iloc[:, 1].tolist() == ["1.234", "5"]
    assert de.iloc[:, 2].tolist() == ["0,25", "1,5"]


def test_localize_figure_texts_and_ticks():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.plot([0, 50, 100], [0.0, 0.25, 0.5], label="disqualified")
    ax.set_xlabel("days since SAL")
    ax.set_ylabel("cumulative incidence (Aalen–Johansen)")
    ax.legend()
    localize_figure(fig, "de")
    fig.canvas.draw()
    assert ax.get_xlabel() == "Tage seit SAL"
    assert ax.get_ylabel() == "kumulative Inzidenz (Aalen–Johansen)"
    assert [x.get_text() for x in ax.get_legend().get_texts()] == ["disqualifiziert"]
    yticks = [x.get_text() for x in ax.get_yticklabels() if x.get_text()]
    assert "0,25" in yticks or "0,2" in yticks, yticks
    assert not any("." in y for y in yticks), yticks
    plt.close(fig)


# ----------------------------------------------------------------- rendered notebook
class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.out: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        self._skip += tag in ("style", "script")

    def handle_endtag(self, tag):
        self._skip -= tag in ("style", "script")

    def handle_data(self, data):
        if not self._skip and data.strip():
            self.out.append(data.strip())


def visible_strings(nb: dict, with_markdown_cells: bool = True) -> list[str]:
    """Texts a reader sees: markdown cells and rich outputs (not code, not metrics)."""
    out: list[str] = []
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown" and with_markdown_cells:
            out.append(re.sub(r"<!--.*?-->", "", "".join(cell["source"]), flags=re.S))
        for o in cell.get("outputs", []):
            data = o.get("data", {})
            if METRICS_MIMETYPE in data:  # removed from reports by the runner
                continue
            if "text/markdown" in data:
                out.append("".join(data["text/markdown"]))
            elif "text/html" in data:
                parser = _Text()
                parser.feed("".join(data["text/html"]))
                out.extend(parser.out)
            elif "text/plain" in data and "image/png" not in data:
                out.append("".join(data["text/plain"]))
            if o.get("output_type") == "stream" and o.get("name") == "stdout":
                out.append("".join(o["text"]))
    return [s for s in out if s.strip()]


def english_words(strings: list[str]) -> list[str]:
    """English words in ``strings``, ignoring code spans and identifiers (a_b, a.b)."""
    found = []
    for s in strings:
        s = re.sub(r"`[^`]*`", " ", s)
        for token in s.split():
            if re.search(r"[_/]|\w\.\w", token):
                continue
            found += [w for w in re.findall(r"[A-Za-z]+", token) if w.lower() in ENGLISH]
    return found


def english_numbers(strings: list[str]) -> list[str]:
    """Numbers written the English way: decimal point, % without space, ISO dates."""
    bad = []
    for s in strings:
        bad += re.findall(r"(?<![\w.])\d+\.(?:\d{1,2}|\d{4,})(?![\w.])", s)
        bad += re.findall(r"\d%", s)
        bad += re.findall(r"\b\d{4}-\d{2}-\d{2}\b", s)
        bad += re.findall(r"(?<![\w.,])\d{1,3},\d{3}\.\d", s)
    return bad


def test_detectors_catch_english():
    assert english_words(["The SALs were won within 5 days"]) == [
        "The",
        "were",
        "won",
        "within",
        "days",
    ]
    assert english_words(["`seed_demo` qualmodel.simulation.engine Lead-Score"]) == []
    assert english_numbers(["12.5%", "1,234.5", "2026-12-31", "0.25"]) != []
    assert english_numbers([f"12,5{NBSP}%", "1.234,5", "31.12.2026", "3.11.7", "4.000"]) == []


def test_report_lang_option_errors(tmp_path, capsys):
    from qualmodel.cli import main

    with pytest.raises(SystemExit) as info:
        main(["report", "--scenario", "startup_saas", "--lang", "fr", "--out", str(tmp_path)])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "lang 'fr' is not available; choose one of en, de" in err


def _qualmodel(argv: list[str]) -> None:
    """Run ``qualmodel`` in this process (whose warm kernels render the notebook)."""
    from qualmodel.cli import main

    try:
        main(argv)
    except SystemExit as exc:
        assert exc.code in (0, None), f"qualmodel {' '.join(argv)} exited {exc.code}"


@pytest.mark.slow
def test_german_primer_has_no_english(tmp_path):
    """``qualmodel report --lang de`` renders the primer in German (visible strings listed)."""
    out = tmp_path / "reports"
    _qualmodel(["report", "--scenario", "startup_saas", "--notebook", "00", "--lang", "de",
                "--param", "n_leads=1500", "--jobs", "1", "--no-progress",
                "--out", str(out)])  # fmt: skip
    (path,) = (out / "startup_saas").glob("00-*.ipynb")
    nb = json.loads(path.read_text(encoding="utf-8"))
    strings = visible_strings(nb)
    text = "\n".join(strings)
    assert "vertriebsakzeptierten Lead (SAL)" in text
    assert "vertriebsqualifizierte Opportunity (SQO)" in text
    assert english_words(strings) == []
    assert english_numbers(strings) == []
    assert re.search(rf"\d,\d+{NBSP}%", text)  # German percentages are there
    assert re.search(r"\b\d{2}\.\d{2}\.\d{4}\b", text)  # and German dates


def _render_de(tmp_path, source: list[str], *extra: str) -> dict:
    out = tmp_path / "reports"
    _qualmodel(["report", *source, "--notebook", "10", "--lang", "de", *extra, "--jobs", "1",
                "--no-progress", "--out", str(out)])  # fmt: skip
    (path,) = out.glob("*/10-*.ipynb")
    return json.loads(path.read_text(encoding="utf-8"))


def _assert_german(strings: list[str]) -> str:
    # metadata records shown in the provenance ("key value; key value", e.g. the import's
    # "columns (won_at close_date; ...)" or the data's own status labels "Won", "Lost")
    # are identifiers of the data, not report text
    record = re.compile(r"^[a-z_]+ \S.*; [a-z_]+ ")
    prose = [s for s in strings if not s.startswith("{") and not record.match(s)]
    text = "\n".join(prose)
    assert english_words(prose) == []
    assert english_numbers(prose) == []
    assert re.search(rf"\d+{NBSP}%", text)  # German percentages
    return text


@pytest.mark.slow
def test_german_client_report_has_no_english(tmp_path):
    """``qualmodel report --lang de`` renders the client report in German (visible strings)."""
    nb = _render_de(
        tmp_path, ["--scenario", "startup_saas"],
        "--param", "n_leads=1500", "--param", "n_boot=20",
    )  # fmt: skip
    strings = visible_strings(nb)
    text = _assert_german(strings)
    assert re.search(r"\b\d{1,3}\.\d{3}\b", text)  # thousands separator: 1.500 Leads
    assert strings[0] == "# Bericht zur Lead-Qualifizierung — B2B-SaaS-Startup"  # human title
    assert "## Zusammenfassung" in text and "## Kennzahlen" in text and "## Methode" in text
    assert "startup_saas" not in text.split("## Herkunft")[0]  # no slug before the appendix
    assert "zu SQOs werden" in text and "lautet die empfohlene SQO-Definition" in text
    assert "Unter den verglichenen Definitionen passt" in text  # one recommendation
    assert "konkurrierende Ergebnisse (disqualifiziert) liegen vor" in text  # cure rule
    assert re.search(r"\d,\d{1,2}\s?(?:\u00a0%)? \[\d", text)  # table: 10,4 % [6,1 %; ...]


@pytest.mark.slow
def test_german_client_report_on_imported_journeys(tmp_path):
    """``--journeys DIR --lang de`` works now that 10 declares ``lang``; data names stay."""
    from shapes import make_shape

    folder = make_shape("three_competing", n=300, seed=7).write(tmp_path / "loans")
    nb = _render_de(tmp_path, ["--journeys", str(folder)])
    strings = visible_strings(nb)
    text = _assert_german(strings)
    assert "als „approved“ enden" in text  # the data's own vocabulary
    assert "die als „declined“ enden" in text and "die als „expired“ enden" in text
    assert "Es wurden keine Kandidaten für die Qualifizierungsdefinition verglichen" in text


def test_figure_texts_with_numbers_and_stage_names():
    from qualmodel.core.i18n import _translate

    assert _translate("461  (30.7% of mql, 14.1% of created)", "de") == (
        f"461  (30,7{NBSP}% von MQL, 14,1{NBSP}% von angelegt)"
    )
    assert _translate("won", "de") == "gewonnen" and _translate("stage", "de") == "Phase"
    assert _translate("days since MQL", "de") == "Tage seit MQL"
    assert _translate("gewonnen", "de") == "gewonnen"  # translating twice changes nothing
    assert _translate("won", "en") == "won"
    assert _translate("Qualität der Kandidatendefinitionen (95-%-Intervalle)", "de") == (
        "Qualität der Kandidatendefinitionen (95-%-Intervalle)"  # no phrase inside words
    )
    assert _translate("base win rate 11.8%", "de") == f"Basis-Gewinnquote 11,8{NBSP}%"


@pytest.mark.parametrize(
    ("value", "spec", "lang", "expected"),
    [
        (-0.0004, ".0%", "en", "0%"),
        (-0.0004, ".1%", "de", "0,0\u00a0%"),
        (-0.01, ",.1f", "en", "0.0"),
        (-0.0, ",.0f", "de", "0"),
        (-0.02, ".0%", "en", "-2%"),  # a real negative keeps its sign
        (-10.0, ",.0f", "en", "-10"),
    ],
)
def test_no_negative_zero(value, spec, lang, expected):
    from qualmodel.core.i18n import fmt_number

    assert fmt_number(value, lang, spec) == expected


def test_catalogue_messages_show_no_negative_zero():
    from qualmodel.core.i18n import fmt_shares, t

    for lang in ("en", "de"):
        shown = t("client.open", lang, share=fmt_shares(-0.0004, lang=lang)[0], h=90)
        assert "-0" not in shown and "0" in shown


def test_durations_under_two_days_read_in_hours():
    from qualmodel.core.i18n import duration_unit, fmt_duration
    from qualmodel.report.metrics import format_metric
    from qualmodel.report.wording import median_sentence

    assert duration_unit(1.99) == "hours" and duration_unit(2.0) == "days"
    assert fmt_duration(0.25) == "6.0" and fmt_duration(14.83, "de") == "14,8"
    assert fmt_duration(3.0, unit="hours") == "72.0"
    short = {"horizon": 90, "median": 0.22, "lower": 0.1, "upper": 0.4}
    text = median_sentence(short, "were won", "SAL", "en")
    assert "**5.3 hours** (95% CI 2.4–9.6 hours)" in text and "within **0" not in text
    de = median_sentence(short, "gewonnen wurden", "SAL", "de")
    assert "**5,3 Stunden** (95-%-KI 2,4–9,6 Stunden)" in de
    long = {"horizon": 90, "median": 14.83, "lower": 14.6, "upper": 15.04}
    assert "**14.8 days** (95% CI 14.6–15.0 days)" in median_sentence(long, "were won")
    assert "**14,8 Tagen** (95-%-KI 14,6–15,0 Tage)" in median_sentence(
        long, "gewonnen wurden", "SAL", "de"
    )
    rec = {"value": 0.22, "lower": 0.1, "upper": 0.4, "unit": "days"}
    assert format_metric(rec) == "5.3 h [2.4 h, 9.6 h]"
    assert format_metric({**rec, "value": 14.83, "lower": 12, "upper": 16}) == (
        "14.8 d [12.0 d, 16.0 d]"
    )


@pytest.mark.parametrize(
    ("values", "lang", "expected"),
    [
        ((0.59, 0.57, 0.61), "en", ["59%", "57%", "61%"]),
        ((0.981, 0.977, 0.985), "en", ["98.1%", "97.7%", "98.5%"]),  # 98% [98–98] is useless
        ((0.9812, 0.9809, 0.9815), "de", [f"98,12{NBSP}%", f"98,09{NBSP}%", f"98,15{NBSP}%"]),
        ((0.5, 0.5, 0.5), "en", ["50%", "50%", "50%"]),  # equal values may print equal
        ((-0.0001,), "en", ["0%"]),  # no negative zero
    ],
)
def test_shares_print_distinguishable_from_their_interval(values, lang, expected):
    from qualmodel.core.i18n import fmt_shares

    assert fmt_shares(*values, lang=lang) == expected
