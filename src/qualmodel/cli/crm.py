"""CLI commands for CRM import: ``qualmodel import`` and ``qualmodel mappings``.

``qualmodel import --mapping NAME|FILE [--csv FILE] [--history FILE] [--touchpoints FILE]
[--table NAME=FILE ...] [--data-dir DIR] [--observed-until DATE] (--out DIR [--force] |
--dry-run)`` reads a CRM export through a mapping and writes a journeys folder (atomically:
a failed import leaves nothing behind); ``--dry-run`` prints what would be imported (counts
per stage, events, dropped rows and why) and writes nothing.

When ``--csv`` is omitted, the main table is the mapping's ``file`` inside ``--data-dir``;
without ``--data-dir`` the folders ``data/<source>`` and ``../shared/data/<source>``
(relative to the current folder) are tried in that order. The history and touchpoints
tables default to the mapping's file names next to the main table (or in those folders).

``qualmodel mappings --template history`` prints a commented starting mapping.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from qualmodel.cli.app import app
from qualmodel.core.errors import ConfigError, InputError
from qualmodel.core.safety import check_output, refuse_overlap


def default_data_dirs(source: str) -> list[Path]:
    """Folders searched for a mapping's files when neither ``--csv`` nor ``--data-dir`` is given.

    Parameters
    ----------
    source : str
        The mapping's ``source`` name.

    Returns
    -------
    list of pathlib.Path
        ``data/<source>`` then ``../shared/data/<source>``.
    """
    return [Path("data") / source, Path("..") / "shared" / "data" / source]


def _parse_tables(items: list[str]) -> dict[str, Path]:
    tables: dict[str, Path] = {}
    for item in items:
        name, sep, file = item.partition("=")
        if not sep or not name.strip() or not file.strip():
            raise ConfigError(f"--table {item!r}: expected NAME=FILE, e.g. --table accounts=a.csv")
        tables[name.strip()] = Path(file.strip())
    return tables


def _find_file(name: str, source: str, data_dir: Path | None, what: str, flag: str) -> Path:
    """Return ``data_dir/name`` or the first of the default folders that holds ``name``."""
    if data_dir is not None:
        return data_dir / name
    tried = [d / name for d in default_data_dirs(source)]
    found = [p for p in tried if p.is_file()]
    if not found:
        raise InputError(
            f"no {flag} given and {name} ({what}) not found in "
            f"{' or '.join(str(p.parent) for p in tried)}; pass {flag} FILE or --data-dir DIR"
        )
    return found[0]


def _import_tables(
    mp: Any,
    csv: Path | None,
    history: Path | None,
    touchpoints: Path | None,
    table: list[str] | None,
    data_dir: Path | None,
) -> dict[str, Path]:
    """Resolve every table of the mapping from the options (see the module docstring)."""
    tables: dict[str, Path] = {}
    folder = data_dir
    if mp.file:
        tables["main"] = csv or _find_file(mp.file, mp.source, data_dir, "main table", "--csv")
        folder = tables["main"].parent
    elif csv is not None:
        raise ConfigError(
            "--csv: this mapping has no leads table (no file: key); give the event log with "
            "--history FILE"
        )
    hist = getattr(mp, "history", None)
    if hist is not None:
        tables["history"] = history or (
            folder / hist.file
            if folder is not None
            else _find_file(hist.file, mp.source, None, "history", "--history")
        )
        folder = folder or tables["history"].parent
    elif history is not None:
        raise ConfigError("--history: this mapping has no history: block; see docs/import.md")
    tp = getattr(mp, "touchpoints", None)
    if tp is not None:
        assert folder is not None
        tables["touchpoints"] = touchpoints or folder / tp.file
    elif touchpoints is not None:
        raise ConfigError("--touchpoints: this mapping has no touchpoints: block")
    tables.update(_parse_tables(table or []))
    labels = hist.labels if hist is not None else None
    if labels is not None and labels.file and "labels" not in tables:
        tables["labels"] = tables["history"].parent / labels.file
    for name, lk in mp.lookups.items():
        assert folder is not None
        tables.setdefault(name, folder / lk.file)
    return tables


@app.command("import")
def import_command(
    mapping: Annotated[
        str,
        typer.Option(
            "--mapping", "-m", help="Built-in mapping (see 'qualmodel mappings') or YAML file."
        ),
    ],
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Journeys folder to write (not with --dry-run)."),
    ] = None,
    csv: Annotated[Path | None, typer.Option("--csv", help="Main CSV table of the export.")] = None,
    history: Annotated[
        Path | None,
        typer.Option("--history", help="Stage history / event log (CSV, Parquet, XES)."),
    ] = None,
    touchpoints: Annotated[
        Path | None, typer.Option("--touchpoints", help="Touchpoints table of the mapping.")
    ] = None,
    table: Annotated[
        list[str] | None,
        typer.Option(
            "--table", help="Lookup table as NAME=FILE (repeatable); default: next to --csv."
        ),
    ] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option("--data-dir", help="Folder with the mapping's files when --csv is omitted."),
    ] = None,
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            help="Read the mapping's table:/query: tables from this database "
            "(duckdb:///path.duckdb) instead of files.",
        ),
    ] = None,
    observed_until: Annotated[
        str | None,
        typer.Option(
            "--observed-until",
            help="Override the cut-off: YYYY-MM-DD (the end of that day) or YYYY-MM-DD HH:MM.",
        ),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Report counts per stage and dropped rows; write nothing."),
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Replace an existing --out folder.")
    ] = False,
) -> None:
    """Import a CRM export (CSV tables, stage history or event log) into a journeys folder."""
    from qualmodel.crm import import_crm, load_mapping
    from qualmodel.crm.summary import describe_import

    if out is None and not dry_run:
        raise ConfigError("--out: give the journeys folder to write, or --dry-run to only check")
    mp = load_mapping(mapping)
    if db is not None:
        _import_db(db, mp, mapping, out, observed_until, dry_run=dry_run, force=force)
        return
    tables = _import_tables(mp, csv, history, touchpoints, table, data_dir)
    if not dry_run:
        labels = {"main": "--csv", "history": "--history", "touchpoints": "--touchpoints"}
        # the files, not --data-dir: a new folder inside it is fine
        inputs: dict[str, Path | None] = {
            labels.get(k, f"--table {k}"): v for k, v in tables.items()
        }
        if Path(mapping).is_file():
            inputs["--mapping"] = Path(mapping)
        refuse_overlap({"--out": out}, inputs)
        check_output(out, "--out", force=force, kind="journeys")
    journeys = import_crm(tables, mp, observed_until=observed_until)
    if dry_run:
        typer.echo(describe_import(journeys))
        typer.echo("dry run: nothing written")
        return
    assert out is not None
    journeys.write(out, overwrite=True)
    info = journeys.meta["import"]
    dropped = ", ".join(f"{k} {v}" for k, v in info.get("dropped", {}).items()) or "none"
    first = next(iter(tables.values()))
    typer.echo(
        f"imported {journeys.n_leads} leads and {journeys.n_events} events from {first} "
        f"(mapping {mapping}; dropped: {dropped}; timing: {journeys.meta['timing']}) -> {out}"
    )


def _import_db(
    db: str, mp: Any, label: str, out: Path | None, observed_until: str | None, **flags: bool
) -> None:
    """Import every table of ``mp`` from the database ``db`` (``--db``); see import_command."""
    from qualmodel.crm import import_crm
    from qualmodel.crm.sql import is_db_url, redact
    from qualmodel.crm.summary import describe_import

    if not is_db_url(db):
        raise ConfigError(f"--db {redact(db)!r}: expected a URL such as duckdb:///path.duckdb")
    if not flags["dry_run"]:
        check_output(out, "--out", force=flags["force"], kind="journeys")
    journeys = import_crm(db, mp, observed_until=observed_until)
    if flags["dry_run"]:
        typer.echo(describe_import(journeys))
        typer.echo("dry run: nothing written")
        return
    assert out is not None
    journeys.write(out, overwrite=True)
    typer.echo(
        f"imported {journeys.n_leads} leads and {journeys.n_events} events from "
        f"{redact(db)} (mapping {label}) -> {out}"
    )


@app.command("mappings")
def mappings_command(
    template: Annotated[
        str | None,
        typer.Option(
            "--template",
            help="Print a commented starting mapping instead: 'history' (stage history / "
            "event log).",
        ),
    ] = None,
) -> None:
    """List the built-in CRM mappings, or print a mapping template to start from."""
    from qualmodel.crm import list_mappings, load_mapping

    if template is not None:
        from qualmodel.crm.templates import mapping_template

        typer.echo(mapping_template(template), nl=False)
        return
    for name in list_mappings():
        mp = load_mapping(name)
        first = mp.description.split(". ")[0].strip().rstrip(".")
        blocks = [mp, *mp.lookups.values(), mp.history, mp.history and mp.history.labels]
        blocks = [b for b in (*blocks, mp.touchpoints) if b is not None]
        files = ", ".join(b.file for b in blocks if b.file)
        db = ", ".join(b.table for b in blocks if b.table)
        typer.echo(f"{name}\t{files}\t--db tables: {db or '-'}\t{first}")
