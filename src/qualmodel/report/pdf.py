"""PDF of an executed report notebook, typeset with Typst (the ``typst`` PyPI package).

Why Typst: its Python wheel carries the compiler and its fonts, works offline and needs no
browser, LaTeX or system library; a report compiles in a few hundredths of a second.

What goes into the PDF is what the HTML shows a reader of a report whose code is hidden:
Markdown cells and Markdown outputs (headings, paragraphs, bold, italics, inline code,
links, lists), figures (PNG outputs at their own resolution, scaled to the text width) and
tables (HTML table outputs, e.g. DataFrames). Figures keep the size the HTML shows them at
(capped to the text width) and their own pixels: ``report.save_figure`` renders at twice
its display resolution, 220 dpi. Code, stream output (stderr, progress) and
the metrics record are left out. Text reaches Typst only as string literals, so no
character of the data can be read as Typst markup. Page: A4, 2 cm margins, page numbers
"n / total".
"""

from __future__ import annotations

import base64
import os
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from qualmodel.core.errors import ConfigError

__all__ = ["markdown_to_typst", "notebook_typst", "table_to_typst", "write_pdf"]

#: Width of the text on an A4 page with 2 cm margins, in inches: no figure is wider.
TEXT_WIDTH_IN = 17 / 2.54
#: CSS pixels per inch: a figure shown ``w`` pixels wide in HTML is ``w / 96`` in wide.
CSS_PX_PER_IN = 96.0
#: Page set-up of every PDF report (Typst).
PAGE_SETUP = (
    '#set page(paper: "a4", margin: 2cm, numbering: "1 / 1")\n'
    "#set text(size: 10pt, lang: {lang})\n"
    "#set par(justify: false)\n"
    "#set table(inset: 4pt, stroke: 0.4pt + luma(160))\n"
    "#show table: set text(size: 8pt)\n"
)


def _str(text: str) -> str:
    """Return a Typst string literal holding ``text`` exactly."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'


# ------------------------------------------------------------------------------- Markdown
def _inline(nodes: list[dict[str, Any]]) -> str:
    """Typst markup of inline Markdown nodes (mistune AST)."""
    out = []
    for node in nodes:
        kind = node["type"]
        if kind == "text":
            out.append("#" + _str(node["raw"]))
        elif kind == "strong":
            out.append(f"#strong[{_inline(node['children'])}]")
        elif kind == "emphasis":
            out.append(f"#emph[{_inline(node['children'])}]")
        elif kind == "codespan":
            out.append(f"#raw({_str(node['raw'])})")
        elif kind == "link":
            url = node.get("attrs", {}).get("url", "")
            out.append(f"#link({_str(url)})[{_inline(node['children'])}]")
        elif kind in ("softbreak", "linebreak"):
            out.append(" " if kind == "softbreak" else " \\\n")
        elif kind == "inline_html":
            continue  # tags such as <br>: the text around them carries the content
        elif "children" in node:
            out.append(_inline(node["children"]))
        elif "raw" in node:
            out.append("#" + _str(node["raw"]))
    return "".join(out)


def _block(node: dict[str, Any]) -> str:
    kind = node["type"]
    if kind == "heading":
        level = int(node.get("attrs", {}).get("level", 1))
        return f"#heading(level: {level})[{_inline(node['children'])}]"
    if kind in ("paragraph", "block_text"):
        return _inline(node["children"])
    if kind == "list":
        items = [
            "[" + "\n".join(_block(c) for c in item.get("children", [])) + "]"
            for item in node["children"]
        ]
        fn = "enum" if node.get("attrs", {}).get("ordered") else "list"
        return f"#{fn}({', '.join(items)})"
    if kind == "block_code":
        return f"#raw(block: true, {_str(node['raw'])})"
    if kind == "block_quote":
        return "#quote(block: true)[" + "\n\n".join(_block(c) for c in node["children"]) + "]"
    if kind == "thematic_break":
        return "#line(length: 100%, stroke: 0.4pt)"
    if kind == "block_html":
        text = re.sub(r"<[^>]+>", " ", node.get("raw", "")).strip()
        return "#" + _str(text) if text else ""
    return ""


def markdown_to_typst(text: str) -> str:
    """Typst markup of a Markdown text (CommonMark + tables as mistune parses them).

    Parameters
    ----------
    text : str
        Markdown.

    Returns
    -------
    str
        Typst markup; every piece of text is a string literal.
    """
    import mistune

    ast = mistune.create_markdown(renderer="ast")(text)
    return "\n\n".join(b for b in (_block(n) for n in ast) if b)


# ---------------------------------------------------------------------------------- tables
class _Tables(HTMLParser):
    """Rows of the first ``<table>`` of an HTML text: (cells, is_header_row)."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[tuple[list[str], bool]] = []
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._head = False
        self._in_head = False
        self._depth = 0
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in ("style", "script"):
            self._skip += 1
        elif tag == "table":
            self._depth += 1
        elif tag == "thead":
            self._in_head = True
        elif tag == "tr" and self._depth == 1:
            self._row, self._head = [], self._in_head
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script"):
            self._skip -= 1
        elif tag == "table":
            self._depth -= 1
        elif tag == "thead":
            self._in_head = False
        elif tag in ("td", "th") and self._row is not None and self._cell is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.rows.append((self._row, self._head))
            self._row = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None and not self._skip:
            self._cell.append(data)


def table_to_typst(html: str) -> str | None:
    """Typst table of the first HTML ``<table>`` (header rows repeated on every page).

    A DataFrame's index-name row (empty but for its first cell) is merged into the header.
    Returns None when the HTML holds no table.
    """
    parser = _Tables()
    parser.feed(html)
    rows = [r for r in parser.rows if r[0]]
    if not rows:
        return None
    width = max(len(cells) for cells, _ in rows)
    head = [cells for cells, is_head in rows if is_head]
    body = [cells for cells, is_head in rows if not is_head]
    if len(head) == 2 and not any(head[1][1:]) and head[0] and not head[0][0]:
        head = [[head[1][0], *head[0][1:]]]  # index name joins the column names

    def cells(row: list[str]) -> str:
        padded = row + [""] * (width - len(row))
        return ", ".join(f"[#{_str(c)}]" for c in padded)

    parts = [f"columns: {width}", "align: (left, " + ", ".join(["right"] * (width - 1)) + ")"]
    if width == 1:
        parts[1] = "align: left"
    if head:
        names = head[-1] + [""] * (width - len(head[-1]))
        parts.append("table.header(" + ", ".join(f"[#strong[#{_str(c)}]]" for c in names) + ")")
    parts.extend(cells(r) for r in body)
    return "#table(" + ", ".join(parts) + ")"


# -------------------------------------------------------------------------------- notebook
def _output_typst(output: dict[str, Any], images: Path, count: list[int]) -> str:
    if output.get("output_type") not in ("display_data", "execute_result"):
        return ""  # streams (warnings, progress) and errors stay out of a client's PDF
    data = output.get("data", {})
    if "image/png" in data:
        count[0] += 1
        name = f"figure-{count[0]:02d}.png"
        (images / name).write_bytes(base64.b64decode(data["image/png"]))
        css = output.get("metadata", {}).get("image/png", {}).get("width")
        inches = TEXT_WIDTH_IN if not css else min(float(css) / CSS_PX_PER_IN, TEXT_WIDTH_IN)
        return f'#figure(image("{name}", width: {inches:.2f}in))'
    if "text/markdown" in data:
        return markdown_to_typst(str(data["text/markdown"]))
    if "text/html" in data:
        return table_to_typst(str(data["text/html"])) or ""
    return ""


def notebook_typst(nb: Any, images: Path, *, lang: str = "en") -> str:
    """Typst source of an executed notebook (figures written into ``images``).

    Parameters
    ----------
    nb : nbformat.NotebookNode
        An executed notebook.
    images : Path
        Existing folder for the PNG figures the source refers to (by file name).
    lang : str, default "en"
        Language of the text (hyphenation, quotes).

    Returns
    -------
    str
    """
    if not re.fullmatch(r"[a-z]{2}", lang):
        raise ConfigError(f"pdf: lang must be a two-letter code such as en or de, got {lang!r}")
    blocks = [PAGE_SETUP.replace("{lang}", _str(lang))]
    count = [0]
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            source = re.sub(r"<!--.*?-->", "", cell.source, flags=re.S)
            blocks.append(markdown_to_typst(source))
        elif cell.cell_type == "code":
            blocks.extend(_output_typst(o, images, count) for o in cell.get("outputs", []))
    return "\n\n".join(b for b in blocks if b.strip()) + "\n"


def write_pdf(nb: Any, out: str | os.PathLike[str], *, lang: str = "en") -> int:
    """Typeset ``nb`` into the PDF file ``out`` (written atomically); return its page count.

    Parameters
    ----------
    nb : nbformat.NotebookNode
        An executed notebook (e.g. ``10-client-report.ipynb`` after papermill).
    out : path
        The PDF to write.
    lang : str, default "en"

    Returns
    -------
    int
        Pages of the PDF.
    """
    import tempfile

    import typst
    from pypdf import PdfReader

    from qualmodel.core.atomic import write_bytes_atomic

    with tempfile.TemporaryDirectory(prefix="qualmodel-pdf-") as tmp:
        folder = Path(tmp)
        (folder / "report.typ").write_text(notebook_typst(nb, folder, lang=lang), "utf-8")
        pdf = typst.compile(str(folder / "report.typ"), root=str(folder))
    write_bytes_atomic(Path(out), pdf)
    import io

    return len(PdfReader(io.BytesIO(pdf)).pages)
