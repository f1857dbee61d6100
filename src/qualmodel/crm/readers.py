"""CRM CSV reading: the string-typed table reader and the column helpers built on it.

Every problem with a CSV is one :class:`~qualmodel.core.errors.InputError` line naming the file,
the CSV line (the header is line 1, so the first data record is line 2; quoted values
spanning several lines are counted as in a text editor), the column and the fix.
"""

from __future__ import annotations

import csv
import hashlib
import re
import warnings
from collections.abc import Mapping as AbcMapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from qualmodel.core.errors import ConfigError, InputError, preview
from qualmodel.crm.mapping import AttributeSpec, CsvOptions, DateOptions, Mapping
from qualmodel.crm.sql import SqlTable, is_db_url, to_strings

_DEFAULT_TRUE = ("yes", "y", "true", "t", "1")
_DEFAULT_FALSE = ("no", "n", "false", "f", "0")
#: Largest magnitude a float64 holds without losing integer digits (2**53 - 1).
_MAX_EXACT_INT = 2**53 - 1


# ====================================================================== reading CSV
#: Bytes read at a time by :func:`check_field_sizes`.
_CHUNK = 1 << 24


def _long_field(fh, start: int, limit: int, delimiter: bytes) -> tuple[int, int]:
    """Find the first value longer than ``limit`` in the line starting at byte ``start``.

    Returns (0-based field index, its size), or those of the line's last value; reads in
    bounded blocks and respects quotes.
    """
    fh.seek(start)
    field = size = 0
    quoted = False
    while block := fh.read(1 << 20):
        arr = np.frombuffer(block, dtype=np.uint8)
        parity = (np.cumsum(arr == 0x22) + quoted) % 2  # inside quotes after each byte
        outside = parity == 0
        cut = np.flatnonzero(outside & ((arr == delimiter[0]) | (arr == 0x0A)))
        prev = -1
        for c in cut:
            if size + (c - prev - 1) > limit:
                return field, size + int(c - prev - 1)
            if arr[c] == 0x0A:
                return field, size + int(c - prev - 1)
            field, size, prev = field + 1, 0, c
        size += len(arr) - prev - 1
        if size > limit:
            return field, size
        quoted = bool(parity[-1])
    return field, size


def check_field_sizes(path: Path, opts: CsvOptions, header: list[str] | None = None) -> None:
    """Refuse a CSV whose lines exceed ``opts.max_field_bytes`` before it is parsed.

    The file is scanned in 16 MiB blocks (bounded memory). Only a line longer than the limit
    can hold a longer value; such a line is walked field by field, and a value over the
    limit is one line naming the file, line, column and the knob.

    Raises
    ------
    InputError
        A value longer than ``csv.max_field_bytes``.
    """
    limit = opts.max_field_bytes
    csv.field_size_limit(max(csv.field_size_limit(), limit + 1))  # lines(): same limit
    with path.open("rb") as fh:
        line, line_start, pos = 1, 0, 0
        while block := fh.read(_CHUNK):
            breaks = np.flatnonzero(np.frombuffer(block, dtype=np.uint8) == 0x0A) + pos
            ends = np.append(breaks, pos + len(block) if len(block) < _CHUNK else -1)
            starts = np.concatenate([[line_start], breaks + 1])[: len(ends)]
            long = np.flatnonzero((ends >= 0) & (ends - starts > limit))
            if long.size:
                _refuse_long(fh, path, opts, header, line + int(long[0]), int(starts[long[0]]))
            line += len(breaks)
            line_start = int(breaks[-1]) + 1 if len(breaks) else line_start
            pos += len(block)
            if pos - line_start > limit:  # a line still open is already too long
                _refuse_long(fh, path, opts, header, line, line_start)


def _refuse_long(fh, path: Path, opts: CsvOptions, header, line: int, start: int) -> None:
    field, size = _long_field(fh, start, opts.max_field_bytes, opts.delimiter.encode())
    if size <= opts.max_field_bytes:
        return  # a long line of short values
    if header is None:
        fh.seek(0)
        first = fh.readline(opts.max_field_bytes).decode(opts.encoding, "replace")
        header = next(csv.reader([first.lstrip("\ufeff")], delimiter=opts.delimiter), [])
    column = header[field].strip() if field < len(header) and line > 1 else f"#{field + 1}"
    raise InputError(
        f"{path}: line {line}, column '{column}': a value longer than csv.max_field_bytes "
        f"({opts.max_field_bytes:,} bytes); the export is corrupt or holds long text — fix "
        f"it, drop the column, or raise csv.max_field_bytes in the mapping"
    )


class Table:
    """A CSV file, Parquet file or database table read as strings.

    Error messages name CSV lines (counted lazily) or Parquet / database rows (1-based).
    """

    def __init__(
        self, path: Path | SqlTable, opts: CsvOptions, role: str, fmt: str = "auto"
    ) -> None:
        self.path = path
        self.opts = opts
        self.role = role
        self._lines: np.ndarray | None = None
        #: Columns joined from lookup tables → where their values came from.
        self.sources: dict[str, LookupView] = {}
        #: True for rows that have no text lines: a database result or a Parquet file (a
        #: declared ``fmt`` of ``"parquet"`` / ``"csv"``, else the file name's ending).
        self.columnar = isinstance(path, SqlTable) or (
            fmt == "parquet" or (fmt == "auto" and path.suffix.lower() in {".parquet", ".pq"})
        )
        if isinstance(path, SqlTable):
            self.frame = path.read()
        elif self.columnar:
            self.frame = self._read_parquet()
        else:
            self.frame = self._read()

    @property
    def unit(self) -> str:
        """What :meth:`lines` counts: ``"row"`` (Parquet, database) or ``"line"`` (CSV)."""
        return "row" if self.columnar else "line"

    @property
    def name(self) -> str:
        """The file name (without folder), for short messages."""
        return self.path.name

    def _read(self) -> pd.DataFrame:
        path, o = self.path, self.opts
        if not path.exists():
            raise InputError(
                f"{path}: no such file ({self.role} table); check the path or pass it with "
                f"--csv / --table"
            )
        if path.is_dir():
            raise InputError(f"{path}: is a folder, expected the CSV file of the {self.role} table")
        self._check_raw()
        try:
            df = pd.read_csv(
                path,
                sep=o.delimiter,
                dtype=str,
                keep_default_na=False,
                na_values=o.na_values,
                encoding=o.encoding,
                skipinitialspace=False,
            )
        except pd.errors.EmptyDataError:
            raise InputError(
                f"{path}: file is empty (no header line); export the table again with a header row"
            ) from None
        except pd.errors.ParserError as exc:
            raise InputError(self._parser_message(exc)) from None
        except UnicodeDecodeError as exc:
            raise InputError(self._unicode_message(exc)) from None
        except LookupError:
            raise InputError(
                f"{path}: unknown encoding {o.encoding!r} in csv.encoding; use e.g. utf-8 "
                f"or latin-1"
            ) from None
        if df.empty:
            raise InputError(f"{path}: has a header but no data rows; export the data too")
        df.columns = [str(c).strip() for c in df.columns]
        if df.columns.duplicated().any():
            dup = df.columns[df.columns.duplicated()].tolist()
            raise InputError(
                f"{path}: line 1: duplicated column name(s) {preview(dup)}; rename them"
            )
        if o.strip:
            na = set(o.na_values)
            for c in df.columns:
                df[c] = per_unique(
                    df[c], lambda u, na=na: [None if (x := v.strip()) in na else x for v in u]
                )
        return df

    def _read_parquet(self) -> pd.DataFrame:
        """Read a Parquet table as strings (typed values printed as a CSV export would)."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        path = self.path
        if not path.is_file():
            raise InputError(
                f"{path}: no such file ({self.role} table); check the path or pass it with "
                f"--csv / --table"
            )
        try:
            arrow = pq.read_table(path)
        except (pa.ArrowException, OSError) as exc:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise InputError(
                f"{path}: not a readable Parquet file ({first}); re-export it, or give a CSV file"
            ) from None
        names = [str(c).strip() for c in arrow.column_names]
        dup = sorted({c for c in names if names.count(c) > 1})
        if dup:
            raise InputError(f"{path}: duplicated column name(s) {preview(dup)}; rename them")
        if arrow.num_rows == 0:
            raise InputError(f"{path}: has columns but no rows; export the data too")
        return to_strings(arrow)

    def _check_raw(self) -> None:
        """Refuse NUL bytes and duplicated header names before pandas reads the file.

        pandas silently cuts a value at a NUL byte (``1<NUL>2`` is read as ``1``) and
        renames a repeated header (``amount``, ``amount.1``); both would import wrong data.
        """
        enc = self.opts.encoding.lower().replace("_", "-")
        if enc.startswith(("utf-16", "utf-32", "utf16", "utf32")):
            return  # NUL bytes are part of these encodings
        check_field_sizes(self.path, self.opts)
        with self.path.open("rb") as fh:
            raw = fh.read()
        nul = raw.find(b"\x00")
        if nul >= 0:
            line_no = raw.count(b"\n", 0, nul) + 1
            start = raw.rfind(b"\n", 0, nul) + 1
            end = raw.find(b"\n", nul)
            text = raw[start : end if end >= 0 else len(raw)].decode(self.opts.encoding, "replace")
            column = "?"
            header = next(csv.reader([raw[: raw.find(b"\n")].decode(self.opts.encoding, "replace")],
                                     delimiter=self.opts.delimiter), [])  # fmt: skip
            fields = next(csv.reader([text], delimiter=self.opts.delimiter), [])
            for i, value in enumerate(fields):
                if "\x00" in value:
                    column = header[i].strip() if i < len(header) and line_no > 1 else f"#{i + 1}"
                    break
            n_nul = raw.count(b"\x00")
            raise InputError(
                f"{self.path}: line {line_no}, column '{column}': NUL byte (\\x00) inside a "
                f"value ({n_nul} in the file); the file is corrupt or binary — "
                f"re-export it (or set csv.encoding if it is UTF-16)"
            )
        first = raw.split(b"\n", 1)[0].decode(self.opts.encoding, "replace").lstrip("\ufeff")
        names = [c.strip() for c in next(csv.reader([first], delimiter=self.opts.delimiter), [])]
        dup = sorted({c for c in names if c and names.count(c) > 1})
        if dup:
            raise InputError(
                f"{self.path}: line 1: duplicated column name(s) {preview(dup)} in the header; "
                f"rename or drop the repeated column(s) so each name is used once"
            )

    def _parser_message(self, exc: Exception) -> str:
        text = str(exc).strip()
        m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", text)
        if m:
            return (
                f"{self.path}: line {m.group(2)} has {m.group(3)} fields but the header has "
                f"{m.group(1)}; quote values that contain '{self.opts.delimiter}' or fix "
                f"the delimiter (csv.delimiter)"
            )
        m = re.search(r"EOF inside string starting at row (\d+)", text)
        if m:
            return (
                f"{self.path}: line {int(m.group(1)) + 1}: a quoted value is never closed "
                f"(unbalanced '\"'); close or remove the quote"
            )
        return f"{self.path}: malformed CSV ({text.splitlines()[-1]}); fix the file"

    def _unicode_message(self, exc: UnicodeDecodeError) -> str:
        raw = self.path.read_bytes()
        try:
            raw.decode(self.opts.encoding)
            line = "?"
        except UnicodeDecodeError as full:
            line = str(raw.count(b"\n", 0, full.start) + 1)
        return (
            f"{self.path}: line {line}: bytes are not valid {self.opts.encoding} "
            f"({exc.reason}); set csv.encoding in the mapping (e.g. latin-1 or cp1252) or "
            f"re-export as UTF-8"
        )

    def lines(self, rows: np.ndarray) -> list[int]:
        """Return file line numbers (header = line 1) of 0-based data ``rows``."""
        if self.columnar:  # result or Parquet rows, 1-based
            return (np.asarray(rows, dtype=np.int64) + 1).tolist()
        if self._lines is None:
            starts: list[int] = []
            with self.path.open(encoding=self.opts.encoding, newline="") as fh:
                reader = csv.reader(fh, delimiter=self.opts.delimiter)
                prev = 0
                for record in reader:
                    start = prev + 1
                    prev = reader.line_num
                    if record and not (len(record) == 1 and not record[0].strip()):
                        starts.append(start)
            self._lines = np.asarray(starts[1:], dtype=np.int64)
        rows = np.asarray(rows, dtype=np.int64)
        if len(self._lines) == len(self.frame):
            return self._lines[rows].tolist()
        return (rows + 2).tolist()

    def where(self, rows: np.ndarray) -> str:
        """Return ``"line(s) 2, 5, ..."`` for positional ``rows`` (for error messages)."""
        unit = "row(s)" if self.columnar else "line(s)"
        return f"{unit} {preview(self.lines(rows))}"

    def require(self, columns: dict[str, str]) -> None:
        """Raise when a needed column is absent; ``columns`` maps column → mapping key."""
        missing = [c for c in columns if c not in self.frame.columns]
        if missing:
            keys = ", ".join(f"'{c}' (mapping key {columns[c]})" for c in missing)
            hint = ""
            if any(re.fullmatch(r"\d{4}-\d{2}-\d{2}.*", c) for c in missing):
                hint = " (a fixed date must be unquoted or written as {value: YYYY-MM-DD})"
            if len(self.frame.columns) == 1:
                other = [d for d in (";", "\t", "|", ",") if d in self.frame.columns[0]]
                if other:
                    hint += f" (the header looks {other[0]!r}-separated: set csv.delimiter)"
            raise InputError(
                f"{self.path}: missing column(s) {keys}{hint}; available columns: "
                f"{', '.join(self.frame.columns)}; fix the mapping or the export"
            )


class LookupView:
    """The rows of a lookup table as seen from the main table (for error messages).

    Columns joined from a lookup table are checked on the main table's rows; this view maps
    those rows back to the lookup file, so an error names the lookup file and its own line.
    """

    def __init__(self, table: Table, pos: np.ndarray) -> None:
        self.table = table
        self.pos = pos
        self.path = table.path

    @property
    def name(self) -> str:
        """The lookup file name."""
        return self.table.name

    @property
    def columnar(self) -> bool:
        """As :attr:`Table.columnar` of the lookup table."""
        return self.table.columnar

    @property
    def unit(self) -> str:
        """As :attr:`Table.unit` of the lookup table."""
        return self.table.unit

    def lines(self, rows: np.ndarray) -> list[int]:
        """Lookup-file line numbers of main-table ``rows`` (distinct, in order)."""
        pos = self.pos[np.asarray(rows, dtype=np.int64)]
        return self.table.lines(pd.unique(pos[pos >= 0]))

    def where(self, rows: np.ndarray) -> str:
        """``"line(s) ..."`` of the lookup file."""
        unit = "row(s)" if self.columnar else "line(s)"
        return f"{unit} {preview(self.lines(rows))}"


def parse_dates(
    table: Table | LookupView, column: str, values: pd.Series, opts: DateOptions
) -> pd.Series:
    """Parse date strings; raise naming the first bad value and its line."""
    fmt = None if opts.format in ("", "infer") else opts.format
    kw: dict[str, Any] = {"format": fmt, "dayfirst": opts.dayfirst, "errors": "coerce"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            out = pd.to_datetime(values, **kw)
            if not pd.api.types.is_datetime64_dtype(out.dtype):
                out = pd.to_datetime(values, utc=True, **kw).dt.tz_localize(None)
        except (ValueError, TypeError):
            out = pd.to_datetime(values, utc=True, **kw).dt.tz_localize(None)
    if isinstance(out.dtype, pd.DatetimeTZDtype):
        out = out.dt.tz_convert("UTC").dt.tz_localize(None)
    bad = out.isna().to_numpy() & values.notna().to_numpy()
    if bad.any():
        rows = np.flatnonzero(bad)
        first = values.iloc[rows[0]]
        raise InputError(
            f"{table.path}: {table.unit} {table.lines(rows[:1])[0]}, column '{column}': "
            f"cannot parse {first!r} as a date with format {opts.format!r}"
            f"{' (dayfirst)' if opts.dayfirst else ''} ({int(bad.sum())} bad value(s)); fix "
            f"the value(s) or set dates.format in the mapping"
        )
    return out.astype("datetime64[ns]")


def per_unique(values: pd.Series, fn: Any, dtype: str = "object") -> pd.Series:
    """Apply ``fn`` (list of distinct non-missing values → same-length sequence) per value.

    CRM columns repeat few distinct values, so working on the distinct values only is much
    faster than element-wise string operations; missing cells stay missing.
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    mapped = np.asarray(fn(pd.Series(uniques, dtype=object)), dtype=dtype)
    out = np.empty(len(values), dtype=dtype)
    if dtype == "object":
        out[:] = None
    else:
        out[:] = np.nan
    hit = codes >= 0
    out[hit] = mapped[codes[hit]]
    return pd.Series(out, index=values.index, name=values.name)


def apply_map(values: pd.Series, mapping: dict[str, Any]) -> pd.Series:
    """Replace the values that are keys of ``mapping`` by their mapped value; keep others."""
    if not mapping:
        return values
    keys = {k: v for k, v in mapping.items()}
    hit = values.isin(list(keys))
    if not hit.any():
        return values
    out = values.astype(object).copy()
    out[hit] = values[hit].map(keys)
    return out


def resolve_tables(
    source: str | Path | AbcMapping[str, str | Path], mapping: Mapping
) -> dict[str, Path | SqlTable]:
    """Return ``{"main": path, <lookup name>: path}``; lookups default to the main folder.

    A database URL (``duckdb:///file.duckdb``) as ``source`` reads every table from the
    database through the mapping's ``table:`` / ``query:`` keys.
    """
    if is_db_url(source):
        url = str(source)
        out: dict[str, Path | SqlTable] = {"main": SqlTable(url, mapping.table, mapping.query)}
        for name, lk in mapping.lookups.items():
            out[name] = SqlTable(url, lk.table, lk.query, f"lookup '{name}'")
        return out
    if isinstance(source, AbcMapping):
        given = {str(k): Path(v) for k, v in source.items()}
        unknown = [k for k in given if k != "main" and k not in mapping.lookups]
        if unknown:
            raise ConfigError(
                f"unknown table name(s) {', '.join(unknown)}; this mapping has tables: main"
                f"{''.join(', ' + n for n in mapping.lookups)}"
            )
        if "main" not in given:
            raise ConfigError("tables: give the main table as 'main' (e.g. --csv FILE)")
    else:
        given = {"main": Path(source)}
    folder = given["main"].parent
    tables: dict[str, Path | SqlTable] = {"main": given["main"]}
    for name, lk in mapping.lookups.items():
        if name not in given and lk.file is None:
            raise ConfigError(
                f"lookups.{name}: no file: in the mapping; give it with --table {name}=FILE"
            )
        tables[name] = given.get(name, folder / str(lk.file))
    return tables


def file_digest(path: Path) -> str:
    """Return the SHA-256 hex digest of the file's bytes (provenance in ``meta``)."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _typed_bool(
    table: Table | LookupView, name: str, spec: AttributeSpec, s: pd.Series
) -> pd.Series:
    """Return ``s`` as a nullable boolean column (``map`` first, then yes/no spellings)."""
    known_map = spec.map
    lower = s.str.lower()
    mapped = pd.Series(pd.NA, index=s.index, dtype="boolean")
    handled = s.isna().to_numpy().copy()
    if known_map:
        hit = s.isin(list(known_map)).to_numpy()
        for key, val in known_map.items():
            sel = (s == key).to_numpy()
            if val is None:
                continue
            if not isinstance(val, bool):
                raise ConfigError(
                    f"attributes.{name}.map: value for {key!r} must be true, false or "
                    f"null for a bool attribute"
                )
            mapped[sel] = val
        handled |= hit
    if not spec.strict:
        t = lower.isin(_DEFAULT_TRUE).to_numpy() & ~handled
        f = lower.isin(_DEFAULT_FALSE).to_numpy() & ~handled
        mapped[t] = True
        mapped[f] = False
        handled |= t | f
    if not handled.all():
        rows = np.flatnonzero(~handled)
        raise InputError(
            f"{table.path}: {table.where(rows)}, column '{spec.column}': value(s) "
            f"{preview(pd.unique(s.iloc[rows]))} are not yes/no; add them to "
            f"attributes.{name}.map (true / false / null)"
        )
    return mapped


def _typed_number(
    table: Table | LookupView, name: str, spec: AttributeSpec, s: pd.Series
) -> pd.Series:
    """Return mapped column ``s`` as float64 or Int64; bad, huge or fractional ints raise."""
    col = spec.column
    num = per_unique(s, lambda u: pd.to_numeric(u, errors="coerce"), dtype="float64")
    bad = num.isna().to_numpy() & s.notna().to_numpy()
    if bad.any():
        rows = np.flatnonzero(bad)
        raise InputError(
            f"{table.path}: {table.unit} {table.lines(rows[:1])[0]}, column '{col}': "
            f"{s.iloc[rows[0]]!r} is not a number ({int(bad.sum())} bad value(s)); fix "
            f"it, add it to csv.na_values, or map it in attributes.{name}.map"
        )
    limit = _MAX_EXACT_INT if spec.type == "int" else np.finfo(np.float64).max
    huge = num.notna().to_numpy() & ~(num.abs() <= limit).to_numpy()
    if huge.any():
        rows = np.flatnonzero(huge)
        shown = f"{_MAX_EXACT_INT:,}" if spec.type == "int" else "1.8e308"
        raise InputError(
            f"{table.path}: {table.unit} {table.lines(rows[:1])[0]}, column '{col}': "
            f"{s.iloc[rows[0]]!r} is too large (beyond ±{shown}: digits would be lost "
            f"or it overflows); use type: str for ids or codes, or fix the value"
        )
    if spec.type == "int":
        frac = num.notna() & (num != np.round(num))
        if frac.any():
            rows = np.flatnonzero(frac.to_numpy())
            raise InputError(
                f"{table.path}: {table.unit} {table.lines(rows[:1])[0]}, column '{col}': "
                f"{s.iloc[rows[0]]!r} is not a whole number; use type: float"
            )
        return num.astype("Int64")
    return num.astype("float64")


def typed_attribute(
    table: Table | LookupView, name: str, spec: AttributeSpec, s: pd.Series, dates: DateOptions
) -> pd.Series:
    """Return column ``s`` as the attribute's ``type`` (bool, float, int, date, category, str).

    ``map`` is applied first; with ``strict`` unmapped values are errors; bool columns read
    yes/no spellings unless ``strict``. Bad values raise one line naming file, line, column.
    """
    col = spec.column
    known_map = spec.map
    if spec.type == "bool":
        return _typed_bool(table, name, spec, s)
    if spec.strict and known_map:
        bad = s.notna().to_numpy() & ~s.isin(list(known_map)).to_numpy()
        if bad.any():
            rows = np.flatnonzero(bad)
            raise InputError(
                f"{table.path}: {table.where(rows)}, column '{col}': value(s) "
                f"{preview(pd.unique(s.iloc[rows]))} are not in attributes.{name}.map "
                f"(strict: true); add them to the map"
            )
    s = apply_map(s, known_map)
    if spec.type in ("float", "int"):
        return _typed_number(table, name, spec, s)
    if spec.type == "date":
        return parse_dates(table, col, s, dates)
    out = s.astype(object).where(s.notna(), None)
    if spec.type == "category":
        return out.astype("category")
    return out
