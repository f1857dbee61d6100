"""SQL sources: read a mapping's table from a database URL in one columnar pass.

``duckdb:///path.duckdb`` (the embedded default) is opened read-only and fetched with DuckDB's
own Arrow export; the result is turned into the same string-typed frame the CSV reader makes,
so a table gives the same ``Journeys`` whether it comes from a CSV file or a database. Only a
plain table name or one ``SELECT``/``WITH`` statement is accepted; the password never appears
in ``meta`` or messages (:func:`redact`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from qualmodel.core.errors import ConfigError, InputError

__all__ = ["SCHEMES", "SqlTable", "is_db_url", "redact"]

#: URL schemes read as databases.
SCHEMES = ("duckdb", "postgresql", "postgres")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)?")
_WRITES = re.compile(
    r"\b(insert|update|delete|merge|create|drop|alter|truncate|copy|attach|detach|install|load|"
    r"pragma|set|call|export|import|grant|revoke|vacuum|checkpoint)\b",
    re.IGNORECASE,
)


def is_db_url(source: object) -> bool:
    """Return True when ``source`` is a string URL with a database scheme."""
    return isinstance(source, str) and source.split(":", 1)[0].lower() in SCHEMES


def redact(url: str) -> str:
    """Return ``url`` with any password replaced by ``***`` (for meta and messages)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


def check_query(query: str, where: str) -> str:
    """Return ``query`` when it is one read-only ``SELECT``/``WITH`` statement.

    Raises
    ------
    ConfigError
        Several statements, or a statement that could write.
    """
    text = query.strip().rstrip(";").strip()
    if ";" in text:
        raise ConfigError(f"{where}: give one SQL statement (found ';'); split the query")
    if not re.match(r"(select|with)\b", text, re.IGNORECASE) or _WRITES.search(text):
        raise ConfigError(
            f"{where}: only a read-only SELECT/WITH query is allowed; remove the statement "
            f"that writes or configures the database"
        )
    return text


@dataclass(frozen=True)
class SqlTable:
    """One mapping table read from a database: ``url`` plus a ``table`` name or a ``query``."""

    url: str
    table: str | None = None
    query: str | None = None
    role: str = "main"

    @property
    def name(self) -> str:
        """Short label: the table name or ``query``."""
        return self.table or "query"

    def __str__(self) -> str:
        return f"{redact(self.url)} ({self.name})"

    def statement(self) -> str:
        """Return the SELECT statement this table stands for."""
        if self.table is not None:
            if not _NAME.fullmatch(self.table):
                raise ConfigError(
                    f"table: {self.table!r} ({self.role}) is not a table name; use query: for SQL"
                )
            return f"SELECT * FROM {self.table}"
        if self.query is None:
            raise ConfigError(
                f"{redact(self.url)}: the {self.role} table has no table: or query: in the "
                f"mapping; add one to read it from the database"
            )
        return check_query(self.query, f"query ({self.role})")

    def arrow(self) -> pa.Table:
        """Return the rows as an Arrow table (typed as the database returns them)."""
        pg = self.url.split(":", 1)[0].lower() != "duckdb"
        arrow = _fetch_postgres(self) if pg else _fetch_duckdb(self)
        if arrow.num_rows == 0:
            raise InputError(f"{self}: no rows; check the table or query")
        return arrow

    def read(self) -> pd.DataFrame:
        """Return the rows as a string-typed frame (NULL → NaN), as the CSV reader does."""
        return to_strings(self.arrow())

    def meta(self) -> dict[str, str]:
        """Return the provenance record for ``meta['files']`` (password removed)."""
        out = {"url": redact(self.url)}
        out["table" if self.table else "query"] = self.table or self.query or ""
        return out


def _duckdb_path(url: str) -> Path:
    path = url.split(":", 1)[1]
    path = path[3:] if path.startswith("///") else path.lstrip("/")
    return Path(path)


def _fetch_duckdb(src: SqlTable) -> pa.Table:
    import duckdb

    path = _duckdb_path(src.url)
    if not path.is_file():
        raise InputError(
            f"{redact(src.url)}: no such DuckDB file {path}; check --db (duckdb:///path.duckdb)"
        )
    sql = src.statement()
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:
        raise InputError(f"{redact(src.url)}: cannot open ({_first(exc)}); check --db") from None
    try:
        rel = con.sql(sql)
        got = rel.to_arrow_table() if hasattr(rel, "to_arrow_table") else rel.arrow()
        return got if isinstance(got, pa.Table) else got.read_all()
    except duckdb.Error as exc:
        raise InputError(
            f"{src}: {_first(exc)}; check the table name or query in the mapping"
        ) from None
    finally:
        con.close()


def _fetch_postgres(src: SqlTable) -> pa.Table:
    """Run the statement in a read-only transaction through ADBC (Arrow end to end)."""
    import adbc_driver_postgresql.dbapi as pgdb

    sql = src.statement()
    url = "postgresql:" + src.url.split(":", 1)[1]
    try:
        con = pgdb.connect(url)
    except pgdb.Error as exc:
        raise InputError(
            f"{redact(src.url)}: cannot connect ({_first(exc, src.url)}); check the host, port, "
            f"user and password in --db"
        ) from None
    try:
        with con.cursor() as cur:
            cur.execute("SET TRANSACTION READ ONLY")
            cur.execute(sql)
            return cur.fetch_arrow_table()
    except pgdb.Error as exc:
        raise InputError(
            f"{src}: {_first(exc, src.url)}; check the table name or query in the mapping"
        ) from None
    finally:
        con.rollback()
        con.close()


def _first(exc: Exception, url: str = "") -> str:
    """Return the first line of ``exc``'s message, with the URL's password removed."""
    text = str(exc).strip()
    password = urlsplit(url).password if url else None
    if password:
        text = text.replace(password, "***")
    return text.splitlines()[0] if text else type(exc).__name__


def _as_text(col: pa.ChunkedArray) -> pa.ChunkedArray:
    t = col.type
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return col
    if pa.types.is_timestamp(t) and t.tz is None:
        return pc.strftime(col, format="%Y-%m-%d %H:%M:%S")
    if pa.types.is_date(t):
        return pc.strftime(col, format="%Y-%m-%d")
    if pa.types.is_floating(t):  # 12.0 → "12", as a CSV writer would print it
        ints = pc.equal(col, pc.floor(col))
        as_int = pc.cast(pc.floor(col), pa.int64(), safe=False).cast(pa.string())
        return pc.if_else(ints, as_int, col.cast(pa.string()))
    return col.cast(pa.string())


def to_strings(arrow: pa.Table) -> pd.DataFrame:
    """Return ``arrow`` as a frame of Python strings (NULL → NaN), column names stripped."""
    cols = {}
    for name, col in zip(arrow.column_names, arrow.columns, strict=True):
        try:
            cols[str(name).strip()] = _as_text(col).to_pandas().astype(object)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            cols[str(name).strip()] = col.to_pandas().map(lambda v: v if v is None else str(v))
    frame = pd.DataFrame(cols, dtype=object)
    return frame.where(frame.notna(), float("nan"))
