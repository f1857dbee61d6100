"""CLI commands for CRM import: ``qualmodel import`` and ``qualmodel mappings``.

``qualmodel import --mapping NAME|FILE [--csv FILE] [--table NAME=FILE ...]
[--data-dir DIR] [--observed-until DATE] --out DIR [--force]`` reads a CRM export through a
mapping and writes a journeys folder (atomically: a failed import leaves nothing behind).

When ``--csv`` is omitted, the main table is the mapping's ``file`` inside ``--data-dir``;
without ``--data-dir`` the folders ``data/<source>`` and ``../shared/data/<source>``
(relative to the current folder) are tried in that order.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from qualmodel.cli.app import app
from qualmodel.errors import ConfigError, InputError


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


@app.command("import")
def import_command(
    mapping: Annotated[
        str,
        typer.Option(
            "--mapping", "-m", help="Built-in mapping (see 'qualmodel mappings') or YAML file."
        ),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Journeys folder to write.")],
    csv: Annotated[Path | None, typer.Option("--csv", help="Main CSV table of the export.")] = None,
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
    observed_until: Annotated[
        str | None, typer.Option("--observed-until", help="Override the cut-off (YYYY-MM-DD).")
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Replace an existing --out folder.")
    ] = False,
) -> None:
    """Import a CRM export (CSV) into a journeys folder through a mapping."""
    from qualmodel.crm import import_crm, load_mapping

    mp = load_mapping(mapping)
    if csv is None:
        if data_dir is not None:
            main_csv = data_dir / mp.file
        else:
            tried = [d / mp.file for d in default_data_dirs(mp.source)]
            found = [p for p in tried if p.is_file()]
            if not found:
                raise InputError(
                    f"no --csv given and {mp.file} not found in "
                    f"{' or '.join(str(p.parent) for p in tried)}; pass --csv FILE or "
                    f"--data-dir DIR"
                )
            main_csv = found[0]
        data_folder = main_csv.parent
    else:
        main_csv = csv
        data_folder = csv.parent
    tables = {"main": main_csv, **_parse_tables(table or [])}
    for name, lk in mp.lookups.items():
        tables.setdefault(name, data_folder / lk.file)
    if out.exists() and not force:
        raise InputError(f"{out}: already exists; pass --force to replace it or choose another")
    journeys = import_crm(tables, mp, observed_until=observed_until)
    journeys.write(out, overwrite=True)
    info = journeys.meta["import"]
    dropped = ", ".join(f"{k} {v}" for k, v in info["dropped"].items()) or "none"
    typer.echo(
        f"imported {journeys.n_leads} leads and {journeys.n_events} events from {main_csv} "
        f"(mapping {mapping}; dropped: {dropped}; timing: {journeys.meta['timing']}) -> {out}"
    )


@app.command("mappings")
def mappings_command() -> None:
    """List the built-in CRM mappings."""
    from qualmodel.crm import list_mappings, load_mapping

    for name in list_mappings():
        mp = load_mapping(name)
        first = mp.description.split(". ")[0].strip().rstrip(".")
        typer.echo(f"{name}\t{mp.file}\t{first}")
