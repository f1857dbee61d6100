"""Read a long table (stage history, event log, touchpoints) from CSV, Parquet or XES.

Every format ends as a :class:`LogTable`: the columns ``case``, ``activity``, ``ts`` and
optionally ``value``, plus a way to name rows in error messages (CSV line numbers, Parquet
row numbers, XES event and trace numbers). Timestamps are parsed here; values that cannot be
parsed are flagged (``bad_ts``), not raised, so that the caller applies the mapping's
``on_invalid`` policy.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from qualmodel.core.errors import InputError, preview
from qualmodel.crm.history_mapping import LogColumns, file_format
from qualmodel.crm.mapping import CsvOptions, DateOptions, XesOptions
from qualmodel.crm.readers import Table, check_field_sizes
from qualmodel.crm.sql import SqlTable
from qualmodel.crm.xes import read_xes

__all__ = ["LogTable", "read_log"]


@dataclass
class LogTable:
    """A long table read from one file.

    Attributes
    ----------
    path : pathlib.Path
        The file read.
    role : str
        ``history`` or ``touchpoints`` (the mapping key).
    frame : pandas.DataFrame
        ``case`` and ``activity`` (categoricals of str; missing when empty), ``ts``
        (``datetime64[ns]``,
        NaT when empty or unparseable), ``value`` (float64) when the mapping names one.
    bad_ts : numpy.ndarray
        True where a timestamp was given but could not be parsed.
    raw_ts : pandas.Series
        The timestamp values as read (for messages).
    columns : dict
        ``{"case": ..., "activity": ..., "ts": ..., "value": ...}``: the file's column names.
    where : callable
        ``where(rows)`` names 0-based rows as the file counts them (``line(s) 2, 9``).
    """

    path: Path
    role: str
    frame: pd.DataFrame
    bad_ts: np.ndarray
    raw_ts: pd.Series
    columns: dict[str, str]
    where: Callable[[np.ndarray], str]

    def first(self, rows: np.ndarray) -> str:
        """Name only the first of ``rows`` (``line 7``) for one-value messages."""
        return self.where(np.asarray(rows)[:1]).replace("(s)", "")


def _wanted(spec: LogColumns) -> dict[str, str]:
    cols = {"case": spec.case_id, "activity": spec.activity, "ts": spec.timestamp}
    if spec.value:
        cols["value"] = spec.value
    for key in ("keep_rows", "drop_rows"):
        for col in getattr(spec, key):
            cols[f"{key}.{col}"] = col
    return cols


def _row_mask(raw: pd.DataFrame, spec: LogColumns, cols: dict[str, str]) -> np.ndarray:
    """Return True for the rows kept by ``keep_rows`` / ``drop_rows``."""
    keep = np.ones(len(raw), dtype=bool)
    for key, want in (("keep_rows", True), ("drop_rows", False)):
        for col, values in getattr(spec, key).items():
            text = raw[cols[f"{key}.{col}"]].astype("string").fillna("").str.strip().str.lower()
            keep &= text.isin(values).to_numpy(dtype=bool) == want
    return keep


def _require(path: Path, have: list[str], cols: dict[str, str], role: str) -> None:
    missing = [
        f"'{c}' (mapping key {role}.{k if k != 'ts' else 'timestamp'})"
        for k, c in cols.items()
        if c not in have
    ]
    if missing:
        raise InputError(
            f"{path}: missing column(s) {', '.join(missing)}; available columns: "
            f"{preview(have, 12)}; fix {role} in the mapping or the export"
        )


class _LogCsv(Table):
    """A long CSV read fast: only the mapped columns, ids and activities as categoricals.

    Anything unusual (malformed rows, wrong encoding, empty file) falls back to the full
    :class:`~qualmodel.crm.readers.Table` reader, which raises its one-line errors; line
    numbers for messages come from the same class.
    """

    def __init__(self, path: Path, opts: CsvOptions, role: str, cols: dict[str, str]) -> None:
        self._cols = cols
        super().__init__(path, opts, role)

    def _read(self) -> pd.DataFrame:
        wanted = set(self._cols.values())
        text = {self._cols["case"], self._cols["activity"]}
        o = self.path, self.opts
        if self.path.is_file():
            check_field_sizes(self.path, self.opts)
        try:
            df = pd.read_csv(
                o[0],
                sep=o[1].delimiter,
                usecols=lambda c: str(c).strip() in wanted,
                dtype={c: ("category" if c in text else str) for c in wanted},
                keep_default_na=False,
                na_values=o[1].na_values,
                encoding=o[1].encoding,
            )
        except (ValueError, UnicodeDecodeError, LookupError, OSError):
            return super()._read()  # ParserError and EmptyDataError are ValueErrors
        df.columns = [str(c).strip() for c in df.columns]
        if df.columns.duplicated().any() or df.empty:
            return super()._read()
        return df


def _read_csv(path: Path, cols: dict[str, str], opts: CsvOptions, role: str) -> tuple[Any, Any]:
    table = _LogCsv(path, opts, role, cols)
    have = list(table.frame.columns)
    if not set(cols.values()) <= set(have):  # name every column of the file in the message
        header = pd.read_csv(path, sep=opts.delimiter, encoding=opts.encoding, nrows=0)
        have = [str(c).strip() for c in header.columns]
    _require(path, have, cols, role)
    return table.frame, table.where


def _read_parquet(path: Path, cols: dict[str, str], role: str) -> tuple[Any, Any]:
    if not path.is_file():
        raise InputError(f"{path}: no such file ({role} table); check the path")
    try:
        import pyarrow.parquet as pq

        schema = pq.ParquetFile(path).schema_arrow
        _require(path, schema.names, cols, role)
        text = [
            c
            for k, c in cols.items()
            if k in ("case", "activity") and str(schema.field(c).type) in ("string", "large_string")
        ]
        frame = pq.read_table(
            path, columns=list(dict.fromkeys(cols.values())), read_dictionary=text
        ).to_pandas()
    except InputError:
        raise
    except Exception as exc:  # pyarrow raises several types for damaged files
        raise InputError(
            f"{path}: cannot read as Parquet ({type(exc).__name__}: "
            f"{str(exc).splitlines()[0] if str(exc) else ''}); export the table again"
        ) from None
    return frame, lambda rows: f"row(s) {preview(np.asarray(rows) + 1)}"


def _read_sql(src: SqlTable, cols: dict[str, str], role: str) -> tuple[Any, Any]:
    """Read a history / touchpoints table from a database, typed (as Parquet is)."""
    arrow = src.arrow()
    _require(src, arrow.column_names, cols, role)  # type: ignore[arg-type]
    frame = arrow.select(list(dict.fromkeys(cols.values()))).to_pandas()
    return frame, lambda rows: f"row(s) {preview(np.asarray(rows) + 1)}"


def _read_xes(path: Path, cols: dict[str, str], role: str, limits: XesOptions) -> tuple[Any, Any]:
    frame = read_xes(path, cols.values(), limits)
    ev = frame["_event"].to_numpy()
    tr = frame["_trace"].to_numpy()

    def where(rows: np.ndarray) -> str:
        rows = np.asarray(rows)
        items = [f"#{ev[r]} (trace {tr[r]})" for r in rows[:5]]
        more = f" (+{len(rows) - 5} more)" if len(rows) > 5 else ""
        return f"event(s) {', '.join(items)}{more}"

    empty = [c for c in cols.values() if frame[c].isna().all()]
    if empty:
        raise InputError(
            f"{path}: no event carries attribute(s) {', '.join(repr(c) for c in empty)}; "
            f"set {role}.case_id / activity / timestamp to the XES keys of this log (a "
            f"trace attribute is written case:<key>)"
        )
    return frame, where


def _filtered(raw: Any, where: Callable, keep: np.ndarray) -> tuple[Any, Callable]:
    """Keep the rows marked in ``keep``; ``where`` still names rows as the file counts them."""
    rows = np.flatnonzero(keep)
    return raw.iloc[rows].reset_index(drop=True), lambda r: where(rows[np.asarray(r)])


def _as_text(s: pd.Series) -> pd.Categorical:
    """Return ``s`` as a categorical of stripped strings (missing when empty).

    Ids and activity names repeat, so the text work is done once per distinct value and
    the rules downstream work on the integer codes.
    """
    if isinstance(s.dtype, pd.CategoricalDtype):
        codes, uniques = s.cat.codes.to_numpy(), s.cat.categories.to_numpy()
    else:
        codes, uniques = pd.factorize(s, use_na_sentinel=True)
    clean = [(str(u).strip() or None) for u in uniques]
    new_codes, cats = pd.factorize(pd.Series(clean, dtype=object), use_na_sentinel=True)
    lookup = np.append(new_codes, -1).astype(np.int32)
    return pd.Categorical.from_codes(lookup[codes], categories=pd.Index(cats, dtype=object))


#: ISO 8601 date-time with a ``±HH:MM`` offset, the form of XES ``time:timestamp`` values.
_ISO_OFFSET = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?[+-]\d\d:\d\d"


def _iso_with_offsets(text: pd.Series) -> pd.Series | None:
    """Parse ISO 8601 strings that all end in a ``±HH:MM`` offset; ``None`` otherwise.

    Mixed offsets (summer and winter time) send ``pandas.to_datetime`` to its slow
    per-value path, twice; here the local part goes through the fast ISO parser and the
    few distinct offsets are subtracted once each. The result equals the general path's.
    """
    present = text.notna().to_numpy()
    vals = text[present]
    if not len(vals) or pd.api.types.infer_dtype(vals, skipna=True) != "string":
        return None
    if not vals.str.fullmatch(_ISO_OFFSET, na=False).all():
        return None
    local = pd.to_datetime(vals.str[:-6], format="ISO8601", errors="coerce")
    codes, offsets = pd.factorize(vals.str[-6:])
    seconds = np.array(
        [(1 - 2 * (o[0] == "-")) * (int(o[1:3]) * 3600 + int(o[4:6]) * 60) for o in offsets]
    )
    out = np.full(len(text), np.datetime64("NaT"), dtype="datetime64[ns]")
    out[present] = local.to_numpy().astype("datetime64[ns]") - seconds[codes].astype(
        "timedelta64[s]"
    )
    return pd.Series(out, index=text.index)


def parse_timestamps(values: pd.Series, opts: DateOptions | None) -> pd.Series:
    """Parse timestamps to tz-naive UTC ``datetime64[ns]``; unparseable values become NaT.

    Parameters
    ----------
    values : pandas.Series
        Strings (CSV/XES) or datetimes (Parquet, possibly tz-aware).
    opts : DateOptions or None
        The mapping's ``dates`` options (format, dayfirst); ``None`` means ISO 8601.

    Returns
    -------
    pandas.Series
        ``datetime64[ns]``, offsets converted to UTC.
    """
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return values.dt.tz_convert("UTC").dt.tz_localize(None).astype("datetime64[ns]")
    if pd.api.types.is_datetime64_dtype(values.dtype):
        return values.astype("datetime64[ns]")
    fmt = "ISO8601" if opts is None else opts.format
    if fmt == "ISO8601" and (fast := _iso_with_offsets(values.astype(object))) is not None:
        return fast
    kw: dict[str, Any] = {
        "format": None if fmt in ("", "infer") else fmt,
        "dayfirst": bool(opts and opts.dayfirst),
        "errors": "coerce",
    }
    text = values.astype(object)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            out = pd.to_datetime(text, **kw)
            if not pd.api.types.is_datetime64_dtype(out.dtype):
                raise ValueError
        except (ValueError, TypeError):
            out = pd.to_datetime(text, utc=True, **kw)
    if isinstance(out.dtype, pd.DatetimeTZDtype):
        out = out.dt.tz_convert("UTC").dt.tz_localize(None)
    out = out.astype("datetime64[ns]")
    retry = np.isnat(out.to_numpy())
    if retry.any():
        retry &= text.notna().to_numpy()
    if retry.any():  # values with spaces around them (the fast CSV path does not strip)
        stripped = text[retry].astype(str).str.strip()
        if (stripped != text[retry]).any():
            again = parse_timestamps(stripped, opts)
            out[retry] = again.to_numpy()
    return out


def read_log(
    path: str | Path | SqlTable,
    spec: LogColumns,
    role: str,
    csv: CsvOptions | None = None,
    dates: DateOptions | None = None,
    xes: XesOptions | None = None,
) -> LogTable:
    """Read a history / touchpoints table named by a mapping block.

    Parameters
    ----------
    path : str or pathlib.Path
        The file (its format from ``spec.format`` or its name, see
        :func:`~qualmodel.crm.history_mapping.file_format`).
    spec : HistorySpec or TouchpointSpec
        Column names of case id, activity, timestamp and optional value.
    role : str
        Mapping key of the block (``history`` / ``touchpoints``), used in messages.
    csv, dates, xes : CsvOptions, DateOptions, XesOptions, optional
        The mapping's CSV, date and XES options (XES and Parquet use ISO 8601 dates; the
        ``xes`` limits are checked while an XES file streams).

    Returns
    -------
    LogTable

    Raises
    ------
    InputError
        Missing file or column, malformed file, non-numeric values.
    """
    cols = _wanted(spec)
    if isinstance(path, SqlTable):
        fmt = "sql"
        raw, where = _read_sql(path, cols, role)
    else:
        path = Path(path)
        fmt = file_format(str(path), spec.format)
    if fmt == "sql":
        pass
    elif fmt == "csv":
        raw, where = _read_csv(path, cols, csv or CsvOptions(), role)
    elif fmt == "parquet":
        raw, where = _read_parquet(path, cols, role)
    else:
        raw, where = _read_xes(path, cols, role, xes or XesOptions())
    if len(raw) == 0:
        raise InputError(f"{path}: the {role} table has no rows; export the data too")
    if spec.keep_rows or spec.drop_rows:
        raw, where = _filtered(raw, where, _row_mask(raw, spec, cols))
    frame = pd.DataFrame(
        {"case": _as_text(raw[cols["case"]]), "activity": _as_text(raw[cols["activity"]])}
    )
    raw_ts = raw[cols["ts"]]
    ts = parse_timestamps(raw_ts, dates if fmt == "csv" else None)
    frame["ts"] = ts.to_numpy()
    bad_ts = np.isnat(frame["ts"].to_numpy())
    if bad_ts.any():
        bad_ts &= raw_ts.notna().to_numpy()
    if "value" in cols:
        v = raw[cols["value"]]
        num = pd.to_numeric(v, errors="coerce").astype("float64")
        bad = num.isna().to_numpy() & v.notna().to_numpy()
        if bad.any():
            rows = np.flatnonzero(bad)
            raise InputError(
                f"{path}: {where(rows[:1])}, column '{cols['value']}': {v.iloc[rows[0]]!r} is "
                f"not a number ({int(bad.sum())} bad value(s)); fix it or remove {role}.value "
                f"from the mapping"
            )
        frame["value"] = num.to_numpy()
    return LogTable(path, role, frame, bad_ts, raw_ts, cols, where)
