"""Streaming reader of XES event logs (IEEE 1849), plain or gzip-compressed.

The file is parsed with :func:`xml.etree.ElementTree.iterparse` and every ``<event>`` and
``<trace>`` element is cleared as soon as it has been read, so memory grows with the
number of *kept values* (a few columns per event), not with the XML tree. Only the
attributes asked for are kept. Trace attributes are available as ``case:<key>`` (the
process-mining convention: the case id is ``case:concept:name``).

A malformed file raises one :class:`~qualmodel.errors.InputError` line with the XML line
and column of the problem.
"""

from __future__ import annotations

import gzip
import xml.etree.ElementTree as ET
import zlib
from collections.abc import Iterable
from pathlib import Path
from typing import IO

import pandas as pd

from qualmodel.errors import InputError

__all__ = ["read_xes", "write_xes"]

_ATTRIBUTE_TAGS = frozenset({"string", "date", "int", "float", "boolean", "id"})


def _local(tag: str) -> str:
    """Return an XML tag without its ``{namespace}``."""
    return tag.rsplit("}", 1)[-1]


def _open(path: Path) -> IO[bytes]:
    if not path.is_file():
        raise InputError(f"{path}: no such XES file; check the path")
    with path.open("rb") as fh:
        magic = fh.read(2)
    if magic == b"\x1f\x8b":
        return gzip.open(path, "rb")
    return path.open("rb")


def read_xes(path: str | Path, columns: Iterable[str]) -> pd.DataFrame:
    """Read the events of an XES log into a table of strings, one row per event.

    Parameters
    ----------
    path : str or pathlib.Path
        ``.xes`` or ``.xes.gz`` file (gzip is detected from the content, not the name).
    columns : iterable of str
        Attribute keys to keep: event attributes (``concept:name``, ``time:timestamp``,
        ``org:resource``, ...) and trace attributes prefixed with ``case:``
        (``case:concept:name`` is the case id).

    Returns
    -------
    pandas.DataFrame
        One column per requested key (object dtype; missing values are ``None``), in file
        order, plus ``_trace`` (1-based trace number) and ``_event`` (1-based event number
        in the file) for error messages.

    Raises
    ------
    InputError
        Missing file, truncated gzip, malformed XML (with line and column), or a file
        without any ``<trace>``.
    """
    path = Path(path)
    wanted = list(dict.fromkeys(columns))
    event_keys = {k for k in wanted if not k.startswith("case:")}
    trace_keys = {k[5:] for k in wanted if k.startswith("case:")}
    data: dict[str, list[str | None]] = {k: [] for k in wanted}
    trace_no: list[int] = []
    intern: dict[str, str] = {}
    n_traces = 0
    depth = 0
    trace_start = 0
    trace_attrs: dict[str, str] = {}
    root: ET.Element | None = None
    try:
        with _open(path) as fh:
            for kind, elem in ET.iterparse(fh, events=("start", "end")):
                tag = _local(elem.tag)
                if kind == "start":
                    if root is None:
                        root = elem
                    if tag in ("trace", "event"):
                        depth += 1
                        if tag == "trace":
                            n_traces += 1
                            trace_start = len(trace_no)
                            trace_attrs = {}
                    continue
                if tag == "event":
                    depth -= 1
                    found: dict[str, str] = {}
                    for child in elem:
                        key = child.get("key")
                        if key in event_keys and _local(child.tag) in _ATTRIBUTE_TAGS:
                            value = child.get("value")
                            found[key] = intern.setdefault(value, value) if value else value
                    for k in event_keys:
                        data[k].append(found.get(k))
                    trace_no.append(n_traces)
                    elem.clear()
                elif tag in _ATTRIBUTE_TAGS and depth == 1:
                    key = elem.get("key")
                    if key in trace_keys:
                        trace_attrs[key] = elem.get("value")
                elif tag == "trace":
                    depth -= 1
                    count = len(trace_no) - trace_start
                    for k in trace_keys:
                        data["case:" + k].extend([trace_attrs.get(k)] * count)
                    assert root is not None
                    root.clear()  # drop the finished trace from the tree
    except ET.ParseError as exc:
        line, col = exc.position
        reason = str(exc).split(":")[0]
        raise InputError(
            f"{path}: line {line}, column {col + 1}: malformed XES ({reason}); fix the XML "
            f"there or export the log again"
        ) from None
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise InputError(
            f"{path}: damaged gzip data ({exc}); export or download the .xes.gz file again"
        ) from None
    if n_traces == 0:
        raise InputError(
            f"{path}: no <trace> element found; an XES log needs one trace per case (is this "
            f"an XES file?)"
        )
    out = pd.DataFrame({k: pd.Series(v, dtype=object) for k, v in data.items()})
    out["_trace"] = pd.Series(trace_no, dtype="int64")
    out["_event"] = pd.RangeIndex(1, len(out) + 1)
    return out


def _xml_attr(text: str) -> str:
    return (
        text.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("\n", "&#10;")
    )


def write_xes(frame: pd.DataFrame, path: str | Path, *, case: str, activity: str, ts: str) -> Path:
    """Write a long table as an XES log (one trace per case, events in table order).

    Parameters
    ----------
    frame : pandas.DataFrame
        Rows grouped by case (consecutive rows of one case form one trace).
    path : str or pathlib.Path
        Destination; ``.gz`` at the end compresses with gzip. Written atomically.
    case, activity, ts : str
        Columns holding the case id, activity name and timestamp (``datetime64``, written
        as ISO 8601 UTC). Every other non-missing value is written as a ``<string>`` or
        ``<float>`` event attribute named after its column.

    Returns
    -------
    pathlib.Path
        The destination path.
    """
    from qualmodel.atomic import write_bytes_atomic

    cases = frame[case].astype(str).to_numpy()
    acts = frame[activity].astype(str).to_numpy()
    stamps = pd.to_datetime(frame[ts]).dt.strftime("%Y-%m-%dT%H:%M:%S.%f+00:00").to_numpy()
    extra = [c for c in frame.columns if c not in (case, activity, ts)]
    extra_vals = {c: frame[c].to_numpy() for c in extra}
    numeric = {c: pd.api.types.is_numeric_dtype(frame[c].dtype) for c in extra}
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>\n',
        '<log xes.version="1.0" xmlns="http://www.xes-standard.org/">\n',
    ]
    prev = None
    for i in range(len(frame)):
        if cases[i] != prev:
            if prev is not None:
                parts.append("  </trace>\n")
            parts.append(
                f'  <trace>\n    <string key="concept:name" value="{_xml_attr(cases[i])}"/>\n'
            )
            prev = cases[i]
        parts.append(
            f'    <event>\n      <string key="concept:name" value="{_xml_attr(acts[i])}"/>\n'
            f'      <date key="time:timestamp" value="{stamps[i]}"/>\n'
        )
        for c in extra:
            v = extra_vals[c][i]
            if v is None or (isinstance(v, float) and v != v):
                continue
            tag = "float" if numeric[c] else "string"
            parts.append(f'      <{tag} key="{_xml_attr(c)}" value="{_xml_attr(str(v))}"/>\n')
        parts.append("    </event>\n")
    if prev is not None:
        parts.append("  </trace>\n")
    parts.append("</log>\n")
    data = "".join(parts).encode("utf-8")
    if str(path).endswith(".gz"):
        data = gzip.compress(data, mtime=0)
    return write_bytes_atomic(path, data)
