"""The client report as a consultant sends it: HTML and PDF, English and German.

Rendered once per language for the three built-in scenarios, the shared Maven CRM export
(through its built-in mapping) and a generated loan-application event log; the PDF text
(extracted with pypdf) and the HTML's visible text are scanned for what a client must
never see, the executive summary is held to its rules, and the PDF's headline numbers are
those of ``summary.json``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from report_scan import visible_text
from shapes import loan_log

from qualmodel import report
from qualmodel.core.i18n import fmt_duration, fmt_number

pytestmark = pytest.mark.slow

SCENARIOS = ("startup_saas", "consultancy", "digital_agency")
LANGS = ("en", "de")
#: What a client must never read: raw values, code, progress bars, internal reasoning.
FORBIDDEN = ("-0", "nan", "None", "{", "Traceback", "%|", "need 1.5")
TITLES = {"en": "Lead qualification report — ", "de": "Bericht zur Lead-Qualifizierung — "}
HEADINGS = {
    "en": ("## Summary", "Summary", "Key numbers", "We recommend"),
    "de": ("## Zusammenfassung", "Zusammenfassung", "Kennzahlen", "Wir empfehlen"),
}


def _render(root: Path, shared_data: Path, lang: str) -> dict[str, Path]:
    """Render the client report of every data set in ``lang``: data name -> its folder."""
    from qualmodel.crm import import_crm

    maven = import_crm(shared_data / "maven_crm" / "sales_pipeline.csv", "maven_crm")
    maven_dir = maven.write(root / "maven")
    loan_log().to_csv(root / "log.csv", index=False)
    loans_dir = import_crm(root / "log.csv", "event_log").write(root / "loans")
    common = {"n_boot": "20", "lang": lang}
    report.run_reports(
        list(SCENARIOS), notebooks=["10-client-report"], jobs=2, progress=False,
        params={**common, "n_leads": "3000"}, out=root / "sim",
    )  # fmt: skip
    folders = {name: root / "sim" / name for name in SCENARIOS}
    for data, folder in (("maven", maven_dir), ("loans", loans_dir)):
        report.run_reports(
            None, journeys=folder, notebooks=["10-client-report"], jobs=1, progress=False,
            params=common, out=root / "reports" / data,
        )  # fmt: skip
        folders[data] = root / "reports" / data / folder.name
    return folders


def _html_text(path: Path) -> str:
    return " ".join(visible_text(path.read_text(encoding="utf-8")).split())


def _pdf_text(path: Path) -> tuple[str, int]:
    from pypdf import PdfReader

    pages = PdfReader(path).pages
    return " ".join(" ".join(p.extract_text() for p in pages).split()), len(pages)


def _summary(text: str, lang: str) -> str:
    _, start, end, _ = HEADINGS[lang]
    return text.split(start, 1)[1].split(end, 1)[0].strip()


def _sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+(?=[A-ZÄÖÜ„“`*])", text) if s]


#: The data's source names (``meta["source"]``), which a title must not be.
SLUGS = {"maven": "maven_crm", "loans": "event_log"}


def _reads_cleanly(folder: Path, lang: str, data: str) -> None:
    pdf_text, pages = _pdf_text(folder / "10-client-report.pdf")
    assert 2 <= pages <= 6
    html = (folder / "10-client-report.html").read_text(encoding="utf-8")
    tab = re.search(r"<title>(.*?)</title>", html, flags=re.S).group(1)
    assert tab.startswith(TITLES[lang]) and "_" not in tab, tab  # the browser tab too
    for label, text in (("pdf", pdf_text), ("html", _html_text(folder / "10-client-report.html"))):
        for bad in FORBIDDEN:
            hit = re.search(r"\bnan\b" if bad == "nan" else re.escape(bad), text)
            assert hit is None, (
                f"{data}/{lang}/{label}: {bad!r} in …{text[hit.start() - 60 : hit.end() + 60]}…"
            )
        title = text.split("Data:" if lang == "en" else "Daten:", 1)[0]
        # a source name with "_" is a slug; "consultancy" may be a word of its title
        assert "_" not in title, f"{data}/{lang}/{label}: slug in the title {title!r}"
        assert SLUGS.get(data, data) not in title or "_" not in SLUGS.get(data, data)


def _summary_rules(folder: Path, lang: str, data: str) -> None:
    text, _ = _pdf_text(folder / "10-client-report.pdf")
    summary = _summary(text, lang)
    sentences = _sentences(summary)
    assert 2 <= len(sentences) <= 5, sentences
    recommends = summary.count(HEADINGS[lang][3])
    compared = data in SCENARIOS  # imported data have no candidate definitions to compare
    assert recommends == (1 if compared else 0), summary


def _headline_numbers(folder: Path, lang: str, data: str) -> None:
    text, _ = _pdf_text(folder / "10-client-report.pdf")
    metrics = json.loads((folder / "summary.json").read_text())["metrics"]
    (n_key,) = [k for k in metrics if k.startswith("n_")]
    assert fmt_number(metrics[n_key]["value"], lang, ",") in _summary(text, lang)
    (median_key,) = [k for k in metrics if k.startswith("median_days_to_")]
    median = metrics[median_key]["value"]
    if median is not None:
        assert fmt_duration(median, lang) in text


@pytest.mark.parametrize("lang", LANGS)
def test_client_report_as_sent(tmp_path, shared_data, lang):
    """One language per test (one xdist worker each): every data set, HTML and PDF.

    Reads cleanly (nothing of ``FORBIDDEN``, a human title, also in the browser tab); the
    executive summary has 2–5 sentences and exactly one recommendation where definitions
    were compared; the PDF's headline numbers are those of ``summary.json``.
    """
    folders = _render(tmp_path, shared_data, lang)
    for data, folder in folders.items():
        _reads_cleanly(folder, lang, data)
        _summary_rules(folder, lang, data)
        _headline_numbers(folder, lang, data)
