"""HTML pages of executed notebooks: nbconvert's lab template, at a report's pace.

nbconvert's ``HTMLExporter`` ends every export by parsing the whole page again
(BeautifulSoup, embedded figures and style sheets included) to add screen-reader text to
images and keyboard focus to cells, and it passes the syntax-highlighted code of every
cell through an HTML sanitizer. :class:`PageExporter` writes the same page: the two
attributes are added where the lab template writes the tags, and code highlighted by
Pygments (which escapes the code) is not sanitized again. Every other output is treated as
nbconvert treats it. An executed report notebook exports in about half the time.
"""

from __future__ import annotations

import copy
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from qualmodel.core.atomic import write_text_atomic

__all__ = ["NO_ALT_TEXT", "export_html", "page_exporter"]

#: Screen-reader text of an image that has none (nbconvert's wording).
NO_ALT_TEXT = "No description has been provided for this image"

_IMG = re.compile(r"<img\b([^>]*)>")  # greedy: an image's data URI is scanned once
_FOCUS = re.compile(
    r'<div\b([^>]*\bclass="(?:[^"]*\s)?(?:jp-Cell-inputWrapper|jp-OutputArea-output)\b[^"]*"'
    r"[^>]*?)(\s*/?)>"
)
_HAS_ALT = re.compile(r"\balt\s*=", re.I)
_TABINDEX = re.compile(r"""\btabindex\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'>]+)""", re.I)
#: Idle exporters per ``hide_code``: a thread takes one (or makes one) and puts it back, so
#: the templates are compiled once per process, not once per report run and thread.
_IDLE: dict[bool, list[Any]] = {True: [], False: []}
_IDLE_LOCK = threading.Lock()
_CLASS: list[type] = []


class _Highlighted(str):
    """Code as Pygments wrote it: escaped, so it needs no sanitizing."""

    __slots__ = ()


def accessible(page: str) -> str:
    """Add ``alt`` to images without it and ``tabindex="0"`` to cells' input and outputs.

    What nbconvert's ``HTMLExporter`` adds after rendering, at the place the tags are
    written: an image's own ``alt`` is kept, a cell's ``tabindex`` becomes ``0``.
    """

    def alt(m: re.Match[str]) -> str:
        attrs, tail = _split_tail(m.group(1))
        if _HAS_ALT.search(attrs):
            return m.group(0)
        return f'<img{attrs} alt="{NO_ALT_TEXT}"{tail}>'

    def focus(m: re.Match[str]) -> str:
        attrs, n = _TABINDEX.subn('tabindex="0"', m.group(1), count=1)
        added = "" if n else ' tabindex="0"'
        return f"<div{attrs}{added}{m.group(2)}>"

    return _FOCUS.sub(focus, _IMG.sub(alt, page))


def _split_tail(attrs: str) -> tuple[str, str]:
    """Split the attribute text of a tag from its closing whitespace and slash."""
    if attrs.endswith("/"):
        head = attrs[:-1]
        core = head.rstrip()
        return core, head[len(core) :] + "/"
    core = attrs.rstrip()
    return core, attrs[len(core) :]


def _exporter_class() -> type:
    """Build (once) and return the :class:`PageExporter` class; nbconvert imports slowly."""
    if _CLASS:
        return _CLASS[0]
    from nbconvert import HTMLExporter
    from nbconvert.exporters.templateexporter import TemplateExporter
    from nbconvert.filters.highlight import Highlight2HTML
    from nbconvert.filters.strings import clean_html
    from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter

    def sanitize(element: Any) -> str:
        return element if isinstance(element, _Highlighted) else clean_html(element)

    class PageExporter(HTMLExporter):
        """``HTMLExporter`` (lab template) without the second pass over the whole page."""

        def from_notebook_node(
            self, nb: Any, resources: dict[str, Any] | None = None, **kw: Any
        ) -> tuple[str, dict[str, Any]]:
            langinfo = nb.metadata.get("language_info", {})
            lexer = langinfo.get("pygments_lexer", langinfo.get("name", None))
            highlight = Highlight2HTML(pygments_lexer=lexer, parent=self)
            resources = self._init_resources(resources)
            widgets = WidgetsDataTypeFilter(
                notebook_metadata=self._nb_metadata, parent=self, resources=resources
            )
            self.register_filter("highlight_code", lambda *a, **k: _Highlighted(highlight(*a, **k)))
            self.register_filter("filter_data_type", widgets)
            self.register_filter("clean_html", sanitize)
            page, resources = TemplateExporter.from_notebook_node(self, nb, resources, **kw)
            return accessible(page), resources

    _CLASS.append(PageExporter)
    return PageExporter


def page_exporter(hide_code: bool) -> Any:
    """Return a new :class:`PageExporter` for ``hide_code`` (lab template).

    Parameters
    ----------
    hide_code : bool
        Exclude code input and prompts (client-facing report).
    """
    exporter = _exporter_class()(template_name="lab")
    exporter.exclude_input = hide_code
    exporter.exclude_input_prompt = hide_code
    exporter.exclude_output_prompt = hide_code
    return exporter


@contextmanager
def _kept_exporter(hide_code: bool) -> Iterator[Any]:
    """Lend an idle exporter for ``hide_code`` to this thread (made when none is idle)."""
    with _IDLE_LOCK:
        idle = _IDLE[hide_code]
        exporter = idle.pop() if idle else None
    if exporter is None:
        exporter = page_exporter(hide_code)
    try:
        yield exporter
    finally:
        with _IDLE_LOCK:
            _IDLE[hide_code].append(exporter)


def export_html(nb: Any, path: Path, *, hide_code: bool, title: str) -> Path:
    """Write ``nb`` as HTML (lab template; images stay embedded), atomically.

    The page is static and self-contained: widget state recorded during execution is left
    out, so interactive widgets show their static rendering (e.g. the explorer's figure at
    its default settings) instead of scripts fetched from the network.

    Parameters
    ----------
    nb : nbformat.NotebookNode
    path : Path
    hide_code : bool
        Exclude code input and prompts (client-facing report).
    title : str
        HTML page title.

    Returns
    -------
    Path
    """
    if "widgets" in nb.get("metadata", {}):
        nb = copy.deepcopy(nb)
        del nb.metadata["widgets"]
    with _kept_exporter(hide_code) as exporter:
        body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": title}})
    write_text_atomic(path, body)
    return path
