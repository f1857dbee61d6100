"""HTML pages: nbconvert's lab page, written without its second pass over the page."""

from __future__ import annotations

import nbformat
import pytest
from bs4 import BeautifulSoup
from nbconvert import HTMLExporter

from qualmodel.report import htmlpage
from qualmodel.report.htmlpage import NO_ALT_TEXT, accessible, export_html

PNG = (  # a 1x1 PNG
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


def _notebook() -> nbformat.NotebookNode:
    """Code with markup in it, HTML and image outputs, markdown with an image."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["language_info"] = {"name": "python", "pygments_lexer": "ipython3"}
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Title\n\n![chart](data:image/png;base64," + PNG + ")"),
        nbformat.v4.new_code_cell(
            'x = "<script>alert(1)</script><img src=y>"',
            outputs=[nbformat.v4.new_output("stream", name="stdout", text="1\n")],
        ),
        nbformat.v4.new_code_cell(
            "show()",
            outputs=[
                nbformat.v4.new_output(
                    "display_data",
                    data={
                        "text/html": '<table><tr><td>1</td></tr></table><img src="a.png">'
                        '<img src="b.png" alt="kept"><div class="jp-OutputArea-output" '
                        'tabindex="-1">own</div>'
                    },
                ),
                nbformat.v4.new_output("display_data", data={"image/png": PNG}),
            ],
        ),
    ]
    return nb


def _nbconvert(nb: nbformat.NotebookNode, hide: bool, title: str) -> str:
    exporter = HTMLExporter(template_name="lab")
    exporter.exclude_input = exporter.exclude_input_prompt = hide
    exporter.exclude_output_prompt = hide
    plain = nbformat.reads(nbformat.writes(nb), as_version=4)
    plain.metadata.pop("widgets", None)
    return exporter.from_notebook_node(plain, resources={"metadata": {"name": title}})[0]


@pytest.mark.parametrize("hide", [False, True])
def test_page_is_nbconverts_page(hide):
    """Read as HTML, the page is the one nbconvert's HTMLExporter writes, attribute for
    attribute (nbconvert's output is its parser's serialisation, so ours is compared after
    the same parser)."""
    nb = _notebook()
    ours = htmlpage.page_exporter(hide).from_notebook_node(
        nb, resources={"metadata": {"name": "t"}}
    )
    assert str(BeautifulSoup(ours[0], features="html.parser")) == _nbconvert(nb, hide, "t")


def test_code_stays_escaped_and_attributes_are_added_once():
    page = htmlpage.page_exporter(False).from_notebook_node(_notebook())[0]
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;" in page
    soup = BeautifulSoup(page, features="html.parser")
    alts = [img.get("alt") for img in soup.find_all("img")]
    assert alts == ["chart", NO_ALT_TEXT, "kept", NO_ALT_TEXT], alts
    inputs = soup.select("div.jp-Cell-inputWrapper")
    assert inputs and all(div.get("tabindex") == "0" for div in inputs)
    outputs = {
        div.get_text(): div.get("tabindex") for div in soup.select("div.jp-OutputArea-output")
    }
    assert set(outputs.values()) == {"0"}  # as nbconvert: focusable, whatever it said


def test_accessible_on_tag_forms():
    assert accessible('<img src="a">') == f'<img src="a" alt="{NO_ALT_TEXT}">'
    assert accessible('<img src="a"/>') == f'<img src="a" alt="{NO_ALT_TEXT}"/>'
    assert accessible('<img alt="" src="a">') == '<img alt="" src="a">'
    assert accessible('<div class="x jp-OutputArea-output y">') == (
        '<div class="x jp-OutputArea-output y" tabindex="0">'
    )
    assert (
        accessible('<div class="jp-OutputArea-outputs">') == '<div class="jp-OutputArea-outputs">'
    )
    assert accessible('<div tabindex=-1 class="jp-Cell-inputWrapper">') == (
        '<div tabindex="0" class="jp-Cell-inputWrapper">'
    )
    assert accessible("&lt;img src=a&gt;") == "&lt;img src=a&gt;"
    # the closing whitespace and slash stay after the added alt, as nbconvert writes them
    assert accessible('<img src="a"  />') == f'<img src="a" alt="{NO_ALT_TEXT}"  />'
    assert accessible('<img src="a"/ >') == f'<img src="a"/ alt="{NO_ALT_TEXT}" >'
    assert accessible("<img\tsrc=1\n/>") == f'<img\tsrc=1 alt="{NO_ALT_TEXT}"\n/>'
    assert accessible("<img>") == f'<img alt="{NO_ALT_TEXT}">'


@pytest.mark.slow
def test_kept_exporter_writes_what_a_new_one_writes(tmp_path):
    """export_html keeps its exporters (one thread at a time each, per hide_code); a page must
    not depend on the pages exported before it (code shown or hidden, widget state, title)."""
    plain = _notebook()
    widgets = nbformat.reads(nbformat.writes(plain), as_version=4)
    widgets.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}

    for i, (nb, hide) in enumerate([(plain, True), (widgets, False), (plain, False),
                                    (widgets, True), (plain, True)]):  # fmt: skip
        page = export_html(nb, tmp_path / f"{i}.html", hide_code=hide, title=f"t{i}")
        text = page.read_text(encoding="utf-8")
        assert str(BeautifulSoup(text, features="html.parser")) == _nbconvert(nb, hide, f"t{i}")
        assert ('<span class="n">x</span>' in text) is not hide


def test_exporters_are_lent_one_thread_at_a_time_and_kept():
    import threading

    from qualmodel.report import htmlpage

    seen: list[int] = []
    inside = threading.Barrier(2)

    def lend(wait: bool) -> None:
        with htmlpage._kept_exporter(True) as exporter:
            seen.append(id(exporter))
            if wait:
                inside.wait(timeout=30)  # both threads hold one at the same time

    pair = [threading.Thread(target=lend, args=(True,)) for _ in range(2)]
    for t in pair:
        t.start()
    for t in pair:
        t.join()
    assert len(set(seen)) == 2  # never the same exporter in two threads at once
    later = threading.Thread(target=lend, args=(False,))
    later.start()
    later.join()
    assert seen[-1] in seen[:2]  # a later run's thread reuses a kept one
