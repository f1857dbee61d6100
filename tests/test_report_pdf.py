"""PDF reports: Typst source from executed notebooks, pages, text and figure resolution."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from pypdf import PdfReader
from test_report import BODY, PARAMS, _write_nb

from qualmodel import report
from qualmodel.core.errors import ConfigError
from qualmodel.report.pdf import (
    CSS_PX_PER_IN,
    TEXT_WIDTH_IN,
    notebook_typst,
    table_to_typst,
    write_pdf,
)


def _pdf_text(path: Path) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(path).pages)


def _png_output() -> dict:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from IPython.display import Image

    captured: list = []
    fig, ax = plt.subplots(figsize=(6.4, 4.8))
    ax.plot([0, 1], [0, 1])
    import IPython.display

    original = IPython.display.display
    IPython.display.display = captured.append
    try:
        report.save_figure(fig, "line")
    finally:
        IPython.display.display = original
    image = captured[0]
    assert isinstance(image, Image)
    data, meta = image.data, {"width": image.width}
    return nbformat.v4.new_output(
        "display_data",
        data={"image/png": base64.b64encode(data).decode(), "text/plain": "<Image>"},
        metadata={"image/png": meta},
    )


def _notebook() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    frame = pd.DataFrame(
        {"share won": ["21.0% [17.3%, 25.3%]", "19.6% [17.1%, 22.4%]"], "per week": [8.2, 16.1]},
        index=pd.Index(["seed_demo", "score_60"], name="criterion"),
    )
    code = nbformat.v4.new_code_cell("...")
    code.outputs = [
        nbformat.v4.new_output("stream", name="stderr", text="power: 40%|####  | 48/120\n"),
        nbformat.v4.new_output(
            "display_data",
            data={
                "text/markdown": '## Key numbers\n\n* **59%** of SALs — `x` [a] #b $c "q"',
                "text/plain": "<Markdown>",
            },
        ),  # fmt: skip
        _png_output(),
        nbformat.v4.new_output(
            "display_data", data={"text/html": frame.to_html(), "text/plain": "frame"}
        ),
        nbformat.v4.new_output(
            "display_data",
            data={"application/vnd.qualmodel.metrics+json": {"a": 1}, "text/plain": "m"},
        ),
    ]
    nb.cells = [nbformat.v4.new_markdown_cell("<!-- a note -->\n# Lead report\n\nPlain *words*."),
                code]  # fmt: skip
    return nb


def test_markdown_text_reaches_the_pdf_verbatim(tmp_path):
    """Characters that are Typst markup (# * $ [ ] @ < > \\ ") come out as written."""
    tricky = 'Budget #1: 5 * 3 = $15 [draft] @home x < y > z back\\slash "quoted" _under_'
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(f"# Title\n\n{tricky}\n\n1. first\n2. second")]
    pages = write_pdf(nb, tmp_path / "t.pdf")
    text = _pdf_text(tmp_path / "t.pdf")
    assert pages == 1
    assert "Title" in text and "first" in text and "second" in text
    assert "Budget #1: 5 * 3 = $15 [draft] @home x < y > z back\\slash" in " ".join(text.split())


def test_table_keeps_header_index_name_and_cells():
    frame = pd.DataFrame({"a": [1, 2]}, index=pd.Index(["x", "y"], name="item"))
    typ = table_to_typst(frame.to_html())
    assert typ.startswith("#table(columns: 2")
    assert 'table.header([#strong[#"item"]], [#strong[#"a"]])' in typ
    assert '[#"x"], [#"1"]' in typ and '[#"y"], [#"2"]' in typ
    assert table_to_typst("<p>no table</p>") is None


def test_notebook_pdf_text_figure_and_what_stays_out(tmp_path):
    nb = _notebook()
    pages = write_pdf(nb, tmp_path / "r.pdf")
    text = " ".join(_pdf_text(tmp_path / "r.pdf").split())
    assert pages >= 1 and "1 / 1" in text
    for shown in ("Lead report", "Plain words", "Key numbers", "59% of SALs", "seed_demo",
                  "21.0% [17.3%, 25.3%]", "criterion", "share won"):  # fmt: skip
        assert shown in text, shown
    for hidden in ("%|", "a note", "<!--", "metrics", "{"):
        assert hidden not in text, hidden
    reader = PdfReader(tmp_path / "r.pdf")
    images = [img for page in reader.pages for img in page.images]
    assert len(images) == 1


def test_figures_are_at_least_150_dpi_in_the_pdf(tmp_path):
    """save_figure renders at twice its display size; the PDF places it at that size."""
    out = _png_output()
    png = base64.b64decode(out["data"]["image/png"])
    px = int.from_bytes(png[16:20], "big")
    css = out["metadata"]["image/png"]["width"]
    assert px == 2 * css or px == 2 * css + 1  # density 2
    typ = notebook_typst(_notebook(), tmp_path)
    inches = min(css / CSS_PX_PER_IN, TEXT_WIDTH_IN)
    assert f'image("figure-01.png", width: {inches:.2f}in)' in typ
    assert px / inches >= 150
    assert (tmp_path / "figure-01.png").read_bytes() == png


def test_bad_language_code_is_one_line(tmp_path):
    with pytest.raises(ConfigError, match="two-letter code"):
        notebook_typst(_notebook(), tmp_path, lang="deutsch")


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["both", "html", "pdf"])
def test_report_formats(tmp_path, fmt):
    """--format: both = HTML + PDF of the client-facing notebook; html; pdf = PDF only."""
    folder = tmp_path / "nbs"
    folder.mkdir()
    _write_nb(folder / "01-first.ipynb", PARAMS, BODY.format(stem="01"))
    _write_nb(folder / "10-client.ipynb", PARAMS, BODY.format(stem="10"),
              meta={"hide_code": True, "pdf": True})  # fmt: skip
    out = tmp_path / "out"
    summary = report.run_reports("startup_saas", jobs=2, out=out, notebooks_dir=folder,
                                 progress=False, fmt=fmt)  # fmt: skip
    target = out / "startup_saas"
    assert (target / "01-first.html").exists() and not (target / "01-first.pdf").exists()
    assert (target / "10-client.html").exists() == (fmt != "pdf")
    assert (target / "10-client.pdf").exists() == (fmt != "html")
    info = json.loads((target / "summary.json").read_text())["notebooks"]["10-client"]
    index = (out / "index.html").read_text(encoding="utf-8")
    if fmt != "html":
        assert info["pdf"] == "10-client.pdf" and info["pages"] == 1
        assert 'startup_saas/10-client.pdf"' in index
        reader = PdfReader(io.BytesIO((target / "10-client.pdf").read_bytes()))
        assert "10-client" in reader.pages[0].extract_text()
    else:
        assert info["pdf"] is None
    res = {r.job.template.name: r for r in summary.results}
    assert (res["10-client"].pdf is not None) == (fmt != "html")


def test_unknown_format_is_refused_before_any_kernel(tmp_path):
    with pytest.raises(ConfigError, match="--format 'docx'"):
        report.run_reports("startup_saas", out=tmp_path / "o", fmt="docx")
