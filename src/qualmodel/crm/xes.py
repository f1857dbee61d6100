"""Streaming reader of XES event logs (IEEE 1849), plain or gzip-compressed.

The file is fed in chunks to the standard library's expat parser (the parser under
:mod:`xml.etree.ElementTree`, without building elements: about four times faster than
``iterparse`` with element clearing), so memory grows with the number of *kept values*
(a few columns per event), not with the XML tree. Only the
attributes asked for are kept. Trace attributes are available as ``case:<key>`` (the
process-mining convention: the case id is ``case:concept:name``).

A malformed file raises one :class:`~qualmodel.core.errors.InputError` line with the XML line
and column of the problem.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any
from xml.parsers import expat

import numpy as np
import pandas as pd

from qualmodel.core.errors import InputError
from qualmodel.crm.mapping import XesOptions

__all__ = ["read_xes", "write_xes"]

_ATTRIBUTE_TAGS = frozenset({"string", "date", "int", "float", "boolean", "id"})


class _Counted:
    """A binary file that counts the (compressed) bytes read from it."""

    def __init__(self, fh: IO[bytes]) -> None:
        self.fh, self.n = fh, 0

    def read(self, size: int = -1) -> bytes:
        data = self.fh.read(size)
        self.n += len(data)
        return data


def _open(path: Path) -> tuple[IO[bytes], _Counted | None]:
    """Open ``path`` (gzip detected from the content) and its compressed-bytes counter."""
    if not path.is_file():
        raise InputError(f"{path}: no such XES file; check the path")
    fh = path.open("rb")
    if fh.read(2) != b"\x1f\x8b":
        fh.seek(0)
        return fh, None
    fh.seek(0)
    raw = _Counted(fh)
    return gzip.GzipFile(fileobj=raw, mode="rb"), raw  # type: ignore[arg-type]


_NESTING = _ATTRIBUTE_TAGS | {"list", "container", "values"}

# element kinds, by local name (a ``prefix:`` is ignored)
_OTHER, _ATTRIBUTE, _EVENT, _TRACE = 0, 1, 2, 3


class _Kinds(dict[str, int]):
    """Element kind of each tag name, computed on first sight (a handful of names per log)."""

    def __missing__(self, tag: str) -> int:
        local = tag.rsplit(":", 1)[1] if ":" in tag else tag
        kind = (
            _ATTRIBUTE
            if local in _NESTING
            else _EVENT
            if local == "event"
            else _TRACE
            if local == "trace"
            else _OTHER
        )
        self[tag] = kind
        return kind


def _lookup(attrs: list[str], name: str) -> str | None:
    """Value of attribute ``name`` in expat's ordered ``[name, value, ...]`` list."""
    for i in range(0, len(attrs), 2):
        if attrs[i] == name:
            return attrs[i + 1]
    return None


class _Collector:
    """Expat callbacks that keep the wanted attributes of each event (and its trace).

    The callbacks run once per XML element (millions of times for a large log), so they
    do the least possible: a tag-kind look-up, a depth counter and, for a top-level
    attribute of an event or trace, a slot look-up and a list store. Expat passes the
    attributes as an ordered ``[name, value, ...]`` list (``ordered_attributes``,
    cheaper than a dict). Trace values are kept once per trace and spread over the
    trace's events at the end (:meth:`frame`).

    Parameters
    ----------
    wanted : list of str
        Requested keys, ``case:`` marking trace attributes.
    path : pathlib.Path
        The log (for messages).
    max_value : int
        Longest kept value, in characters (``xes.max_attribute_bytes``).
    """

    def __init__(self, wanted: list[str], path: Path, max_value: int) -> None:
        self.wanted, self.path, self.max_value = wanted, path, max_value
        self.event_keys = [k for k in wanted if not k.startswith("case:")]
        self.trace_keys = [k[5:] for k in wanted if k.startswith("case:")]
        self.columns: list[list[str | None]] = [[] for _ in self.event_keys]
        self.trace_no: list[int] = []  # per event: its 1-based trace number
        self.traces: list[list[str | None]] = []  # per trace: its wanted values

    def handlers(self) -> tuple[Any, Any, Any]:
        """Return the (start, end) element callbacks and a count of start tags seen.

        ``start`` also refuses nesting deeper than ``MAX_DEPTH`` (checked here rather than
        in a wrapper: one Python call per element, not two).
        """
        ev_slot = {k: i for i, k in enumerate(self.event_keys)}
        tr_slot = {k: i for i, k in enumerate(self.trace_keys)}
        n_tr, max_value = len(self.trace_keys), self.max_value
        pairs = list(zip(self.columns, range(len(self.columns)), strict=True))
        trace_no, traces, kinds = self.trace_no, self.traces, _Kinds()
        # level: 0 log, 1 trace, 2 event; depth: nesting inside attribute elements;
        # nest: nesting of all elements; seen: start tags so far
        level = depth = nest = seen = 0
        ev: list[str | None] = [None] * len(self.event_keys)
        tr: list[str | None] = []

        def start(tag: str, attrs: list[str]) -> None:
            nonlocal level, depth, tr, nest, seen
            nest += 1
            seen += 1
            if nest > MAX_DEPTH:
                self.too_deep()
            kind = kinds[tag]
            if kind == _ATTRIBUTE:
                depth += 1
                if depth == 1 and level:
                    key = attrs[1] if attrs and attrs[0] == "key" else _lookup(attrs, "key")
                    i = (ev_slot if level == 2 else tr_slot).get(key)  # type: ignore[arg-type]
                    if i is not None:
                        value = (
                            attrs[3]
                            if len(attrs) > 3 and attrs[2] == "value"
                            else _lookup(attrs, "value")
                        )
                        if value is not None and len(value) > max_value:
                            self.too_long(key, level)  # type: ignore[arg-type]
                        (ev if level == 2 else tr)[i] = value
            elif kind == _EVENT:
                if level == 1:
                    level = 2
            elif kind == _TRACE and level == 0:
                level = 1
                tr = [None] * n_tr
                traces.append(tr)

        def end(tag: str) -> None:
            nonlocal level, depth, nest
            nest -= 1
            kind = kinds[tag]
            if kind == _ATTRIBUTE:
                depth -= 1
            elif kind == _EVENT:
                if level == 2:
                    level = 1
                    for c, i in pairs:
                        c.append(ev[i])
                        ev[i] = None
                    trace_no.append(len(traces))
            elif kind == _TRACE and level == 1:
                level = 0

        return start, end, lambda: seen

    def too_deep(self) -> None:
        """Refuse elements nested deeper than ``MAX_DEPTH``."""
        raise InputError(
            f"{self.path}: event #{len(self.trace_no) + 1}, trace {len(self.traces)}: elements "
            f"nested deeper than {MAX_DEPTH} levels (an XES log needs about 5); the file is "
            f"corrupt or not an XES log — export the log again"
        )

    def too_long(self, key: str, level: int) -> None:
        """Refuse a kept attribute value over ``xes.max_attribute_bytes``."""
        where = f"event #{len(self.trace_no) + 1} of " if level == 2 else ""
        raise InputError(
            f"{self.path}: {where}trace {len(self.traces)}, attribute {key!r}: a value longer "
            f"than {self.max_value:,} characters (xes.max_attribute_bytes); the log is corrupt "
            f"or holds long text — fix it or raise xes.max_attribute_bytes in the mapping"
        )

    def frame(self) -> pd.DataFrame:
        """Return the kept values, one row per event (object columns; ``None`` if missing).

        Columns in the order asked for, then ``_trace`` and ``_event``.
        """
        trace_no = np.array(self.trace_no, dtype=np.int64)
        data = {
            k: pd.Series(c, dtype=object)
            for k, c in zip(self.event_keys, self.columns, strict=True)
        }
        for i, k in enumerate(self.trace_keys):
            per_trace = np.empty(len(self.traces), dtype=object)
            per_trace[:] = [t[i] for t in self.traces]
            data["case:" + k] = pd.Series(per_trace[trace_no - 1], dtype=object)
        out = pd.DataFrame({k: data[k] for k in self.wanted})
        out["_trace"] = pd.Series(trace_no, dtype="int64")
        out["_event"] = pd.RangeIndex(1, len(out) + 1)
        return out


#: Deepest element nesting read (XES logs nest about 5 levels; lists and containers a few more).
MAX_DEPTH = 100
#: Decompressed bytes read before ``xes.max_decompression_ratio`` is checked (16 MiB).
RATIO_FROM_BYTES = 16 << 20
_CHUNK = 1 << 20


def _no_dtd(path: Path, parser: Any) -> None:
    """Refuse DTDs and entities: XES logs declare none.

    Any ``<!DOCTYPE``, entity declaration or external entity is refused before it can
    expand (billion-laughs files, external files); parameter entities are never parsed.
    """

    def refuse(*_: Any) -> None:
        raise InputError(
            f"{path}: near byte {parser.CurrentByteIndex:,} of the XML: a DOCTYPE or entity "
            f"declaration; XES logs have none and entities are not expanded — export the log "
            f"again without it"
        )

    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = parser.EntityDeclHandler = refuse
    parser.UnparsedEntityDeclHandler = parser.ExternalEntityRefHandler = refuse


def _check_limits(
    path: Path, limits: XesOptions, fed: int, mark: int, raw: _Counted | None, events: int
) -> None:
    """Refuse the log once a limit of ``xes:`` is passed (called after every chunk).

    ``mark`` is the end of the last chunk in which a start tag was seen, so at least
    ``fed - mark`` bytes have gone by without a complete element.
    """
    if fed - mark > limits.max_element_bytes:
        raise InputError(
            f"{path}: after byte {mark:,} of the XML: an element longer than "
            f"{limits.max_element_bytes:,} bytes (xes.max_element_bytes); the log is corrupt "
            f"or holds huge values — fix it or raise xes.max_element_bytes in the mapping"
        )
    if raw is not None and fed > RATIO_FROM_BYTES:
        ratio = fed / max(raw.n, 1)
        if ratio > limits.max_decompression_ratio:
            raise InputError(
                f"{path}: gzip data expands {ratio:,.0f}-fold ({fed:,} bytes from {raw.n:,}), "
                f"over the limit of {limits.max_decompression_ratio:,g} "
                f"(xes.max_decompression_ratio); the file is a decompression bomb or corrupt "
                f"— check it or raise xes.max_decompression_ratio in the mapping"
            )
    if events > limits.max_events:
        raise InputError(
            f"{path}: more than {limits.max_events:,} events (xes.max_events); raise "
            f"xes.max_events in the mapping for a log this large"
        )


def _feed(path: Path, parser: Any, limits: XesOptions, col: _Collector, seen: Any) -> None:
    """Stream the (decompressed) file into ``parser`` in 1 MiB chunks, checking the limits."""
    fh, raw = _open(path)
    fed = mark = count = 0
    try:
        while chunk := fh.read(_CHUNK):
            parser.Parse(chunk, False)
            fed += len(chunk)
            if seen() != count:
                count, mark = seen(), fed
            _check_limits(path, limits, fed, mark, raw, len(col.trace_no))
        parser.Parse(b"", True)
        _check_limits(path, limits, fed, fed, None, len(col.trace_no))
    except expat.ExpatError as exc:
        raise InputError(
            f"{path}: line {exc.lineno}, column {exc.offset + 1}: malformed XES "
            f"({expat.ErrorString(exc.code)}); fix the XML there or export the log again"
        ) from None
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise InputError(
            f"{path}: damaged gzip data ({exc}); export or download the .xes.gz file again"
        ) from None
    finally:
        fh.close()
        if raw is not None:
            raw.fh.close()


def read_xes(
    path: str | Path, columns: Iterable[str], limits: XesOptions | None = None
) -> pd.DataFrame:
    """Read the events of an XES log into a table of strings, one row per event.

    The file is fed to the expat parser in 1 MiB chunks and only the wanted attribute
    values are kept, so memory grows with the kept values, not with the XML.

    Parameters
    ----------
    path : str or pathlib.Path
        ``.xes`` or ``.xes.gz`` file (gzip is detected from the content, not the name).
    columns : iterable of str
        Attribute keys to keep: event attributes (``concept:name``, ``time:timestamp``,
        ``org:resource``, ...) and trace attributes prefixed with ``case:``
        (``case:concept:name`` is the case id).
    limits : XesOptions, optional
        The mapping's ``xes:`` block (defaults when omitted): longest element, longest
        kept value, gzip expansion ratio and event count, each checked while streaming.

    Returns
    -------
    pandas.DataFrame
        One column per requested key (object dtype; missing values are ``None``), in file
        order, plus ``_trace`` (1-based trace number) and ``_event`` (1-based event number
        in the file) for error messages.

    Raises
    ------
    InputError
        Missing file, damaged gzip, malformed XML (with line and column), a limit of
        ``limits`` passed, elements nested deeper than ``MAX_DEPTH``, a DOCTYPE or entity
        declaration, or a file without any ``<trace>``.
    """
    path = Path(path)
    limits = limits or XesOptions()
    col = _Collector(list(dict.fromkeys(columns)), path, limits.max_attribute_bytes)
    parser = expat.ParserCreate()
    parser.ordered_attributes = True
    _no_dtd(path, parser)
    parser.StartElementHandler, parser.EndElementHandler, seen = col.handlers()
    _feed(path, parser, limits, col, seen)
    if not col.traces:
        raise InputError(
            f"{path}: no <trace> element found; an XES log needs one trace per case (is this "
            f"an XES file?)"
        )
    return col.frame()


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
        Destination; ``.gz`` at the end compresses with gzip. Written atomically, in
        chunks (memory does not grow with the log).
    case, activity, ts : str
        Columns holding the case id, activity name and timestamp (``datetime64``, written
        as ISO 8601 UTC). Every other non-missing value is written as a ``<string>`` or
        ``<float>`` event attribute named after its column.

    Returns
    -------
    pathlib.Path
        The destination path.
    """
    from qualmodel.core.atomic import open_atomic

    extra = [c for c in frame.columns if c not in (case, activity, ts)]
    numeric = {c: pd.api.types.is_numeric_dtype(frame[c].dtype) for c in extra}
    chunk = 50_000
    with open_atomic(path) as raw:
        out = gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) if str(path).endswith(".gz") else raw
        out.write(
            b'<?xml version="1.0" encoding="UTF-8"?>\n'
            b'<log xes.version="1.0" xmlns="http://www.xes-standard.org/">\n'
        )
        prev = None
        for lo in range(0, len(frame), chunk):
            part = frame.iloc[lo : lo + chunk]
            cases = part[case].astype(str).to_numpy()
            acts = part[activity].astype(str).to_numpy()
            stamps = pd.to_datetime(part[ts]).dt.strftime("%Y-%m-%dT%H:%M:%S.%f+00:00").to_numpy()
            vals = {c: part[c].to_numpy() for c in extra}
            lines: list[str] = []
            for i in range(len(part)):
                if cases[i] != prev:
                    if prev is not None:
                        lines.append("  </trace>\n")
                    lines.append(
                        f'  <trace>\n    <string key="concept:name" '
                        f'value="{_xml_attr(cases[i])}"/>\n'
                    )
                    prev = cases[i]
                lines.append(
                    f'    <event>\n      <string key="concept:name" '
                    f'value="{_xml_attr(acts[i])}"/>\n'
                    f'      <date key="time:timestamp" value="{stamps[i]}"/>\n'
                )
                for c in extra:
                    v = vals[c][i]
                    if v is None or (isinstance(v, float) and v != v):
                        continue
                    tag = "float" if numeric[c] else "string"
                    lines.append(
                        f'      <{tag} key="{_xml_attr(c)}" value="{_xml_attr(str(v))}"/>\n'
                    )
                lines.append("    </event>\n")
            out.write("".join(lines).encode("utf-8"))
        if prev is not None:
            out.write(b"  </trace>\n")
        out.write(b"</log>\n")
        if out is not raw:
            out.close()
    return Path(path)
