"""Scan the visible output of rendered notebooks for broken formatting.

Shared by the rendered-report tests: each finding names the notebook and the snippet.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import nbformat

BROKEN = {
    "nan": re.compile(r"\bnan\b", re.IGNORECASE),
    "negative zero": re.compile(r"(?<![\w.,\-])[-−]0(?:[.,]0+)?%?(?![\d.,]*\d)"),
    "exponent": re.compile(r"\de-0"),
    "progress bar": re.compile(r"%\|"),
    "absolute path": re.compile(r"(?<![\w.])/(?:work|tmp|home)/"),
    "count with .0": re.compile(r"(?<![\w.,])(?:\d{1,3}(?:,\d{3})+|\d{4,})\.0(?![\d%])"),
}
_TAG = re.compile(r"<(script|style)\b.*?</\1>|<[^>]+>", re.DOTALL | re.IGNORECASE)


def visible_text(markup: str) -> str:
    """Text of an HTML fragment without tags, scripts and styles."""
    return html.unescape(_TAG.sub(" ", markup))


def output_texts(notebook: Path):
    """Yield the text a reader sees in the outputs (and Markdown cells) of ``notebook``."""
    nb = nbformat.read(notebook, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            yield cell.source
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream":
                yield output.get("text", "")
            data = output.get("data", {})
            if "text/html" in data:
                yield visible_text(data["text/html"])
            elif "text/markdown" in data:
                yield data["text/markdown"]
            elif "text/plain" in data and not any(k.startswith("image/") for k in data):
                yield data["text/plain"]


def findings(texts, where: str) -> list[str]:
    """Every broken pattern in ``texts`` as ``"where: kind: …snippet…"``."""
    found = []
    for text in texts:
        for kind, pattern in BROKEN.items():
            for match in pattern.finditer(text):
                lo, hi = max(match.start() - 40, 0), match.end() + 40
                snippet = " ".join(text[lo:hi].split())
                found.append(f"{where}: {kind}: …{snippet}…")
    return found


def scan_reports(out: Path, skip: tuple[str, ...] = ()) -> list[str]:
    """Findings in every executed notebook under ``out`` and in ``out/index.html``."""
    found = []
    for notebook in sorted(out.glob("*/*.ipynb")):
        if notebook.stem in skip:
            continue
        where = f"{notebook.parent.name}/{notebook.stem}"
        found += findings(output_texts(notebook), where)
    index = out / "index.html"
    if index.is_file():
        found += findings([visible_text(index.read_text(encoding="utf-8"))], "index.html")
    return found
