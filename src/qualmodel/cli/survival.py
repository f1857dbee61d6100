"""CLI command ``qualmodel survival``: time-to-event tables and figures for a journeys folder.

``qualmodel survival --journeys DIR --start sal --target sqo --competing disqualified
[--competing ...] [--by segment] [--unit days] [--horizon H] [--tau T] [--ages 30,60,90]
--out DIR [--force]`` writes, atomically (a temporary folder renamed at the end):

* ``time_to_event.csv``, ``kaplan_meier.csv``, ``cumulative_incidence.csv``,
  ``naive_conversion.csv``, ``logrank.csv`` (one row per event code; empty without
  ``--by``), ``rmst.csv``, ``cohort_conversion.csv``;
* ``survival.png``, ``cumulative_incidence.png``, ``naive_vs_competing.png``,
  ``cohort_maturity.png``.

Stage names are shorthands for lead columns: ``sqo`` means ``sqo_at``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from qualmodel.atomic import make_temp_dir
from qualmodel.cli.app import app
from qualmodel.errors import ConfigError, InputError

#: Stage shorthands accepted by ``--start``, ``--target`` and ``--competing``.
STAGES: tuple[str, ...] = (
    "created",
    "mql",
    "sal",
    "sqo",
    "disqualified",
    "won",
    "lost",
    "recycled",
)
#: Competing stage used when ``--competing`` is omitted, per target.
DEFAULT_COMPETING: dict[str, tuple[str, ...]] = {
    "sqo": ("disqualified",),
    "won": ("lost",),
    "lost": ("won",),
}


def stage_column(name: str, option: str) -> str:
    """Map a stage shorthand (``sqo`` or ``sqo_at``) to its leads column.

    Parameters
    ----------
    name : str
        Stage name given on the command line.
    option : str
        The option it came from, for the error message.

    Returns
    -------
    str
        The column name, e.g. ``"sqo_at"``.

    Raises
    ------
    ConfigError
        For an unknown stage (the message lists the valid ones).
    """
    stem = name.strip().lower().removesuffix("_at")
    if stem not in STAGES:
        raise ConfigError(f"{option} '{name}': unknown stage; use one of {', '.join(STAGES)}")
    return f"{stem}_at"


def _parse_ages(text: str) -> list[float]:
    try:
        ages = [float(a) for a in text.split(",") if a.strip()]
    except ValueError:
        raise ConfigError(f"--ages '{text}': expected numbers separated by commas") from None
    if not ages:
        raise ConfigError("--ages: give at least one age, e.g. --ages 30,60,90")
    return ages


def _replace_folder(tmp: Path, out: Path, force: bool) -> None:
    """Move the finished ``tmp`` folder to ``out`` (replacing it when ``force``)."""
    if out.exists():
        if not force:
            shutil.rmtree(tmp, ignore_errors=True)
            raise InputError(f"{out}: already exists; choose another --out or pass --force")
        old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
        os.replace(out, old / out.name)
        os.replace(tmp, out)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, out)


@app.command("survival")
def survival_command(
    journeys: Annotated[Path, typer.Option("--journeys", "-j", help="Journeys folder.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder (tables + figures).")],
    start: Annotated[str, typer.Option(help="Stage where the clock starts.")] = "sal",
    target: Annotated[str, typer.Option(help="Stage of interest (event 1).")] = "sqo",
    competing: Annotated[
        list[str] | None,
        typer.Option(
            help="Competing stage (repeatable; events 2, 3, ...). Default: disqualified for "
            "sqo, lost for won; 'none' for no competing stage."
        ),
    ] = None,
    by: Annotated[str | None, typer.Option(help="Lead column that defines groups.")] = None,
    unit: Annotated[str, typer.Option(help="days, weeks or hours.")] = "days",
    horizon: Annotated[
        float | None, typer.Option(help="Administrative censoring after this many units.")
    ] = None,
    tau: Annotated[float, typer.Option(help="Restriction time of the RMST (units).")] = 90.0,
    ages: Annotated[str, typer.Option(help="Cohort ages (units), comma separated.")] = "30,60,90",
    force: Annotated[bool, typer.Option(help="Replace an existing --out folder.")] = False,
) -> None:
    """Durations, Kaplan–Meier, Aalen–Johansen, log-rank, RMST and cohort tables + figures."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from qualmodel import plotting
    from qualmodel import survival as sv
    from qualmodel.durations import time_to_event
    from qualmodel.journeys import Journeys

    start_col = stage_column(start, "--start")
    target_col = stage_column(target, "--target")
    stem = target_col.removesuffix("_at")
    names = DEFAULT_COMPETING.get(stem, ()) if competing is None else competing
    names = [] if [n.lower() for n in names] == ["none"] else names
    competing_cols = [stage_column(n, "--competing") for n in names]
    age_list = _parse_ages(ages)
    if out.exists() and not force:
        raise InputError(f"{out}: already exists; choose another --out or pass --force")
    data = Journeys.read(journeys)
    if by is not None and by not in data.leads.columns:
        raise ConfigError(
            f"--by '{by}': not a column of {journeys}/leads.parquet; "
            f"use one of {', '.join(c for c in data.leads.columns if not c.endswith('_at'))}"
        )
    table = time_to_event(
        data,
        start=start_col,
        target=target_col,
        competing=competing_cols,
        unit=unit,  # type: ignore[arg-type]
        horizon=horizon,
        covariates=[by] if by else None,
    )
    if table.empty:
        raise InputError(f"{journeys}: no lead has '{start_col}' set; nothing to analyse")
    codes = list(range(1, len(competing_cols) + 2))
    km = sv.kaplan_meier(table, by=by)
    cif = sv.cumulative_incidence(table, by=by, events=codes)
    naive = sv.naive_conversion(table, by=by)
    logrank_rows = []
    if by is not None and table[by].nunique() >= 2:
        for k in codes:
            res = sv.logrank(table, by=by, event=k)
            logrank_rows.append(res.assign(event=k))
    import pandas as pd

    logrank = (
        pd.concat(logrank_rows, ignore_index=True)
        if logrank_rows
        else pd.DataFrame(columns=["statistic", "df", "p_value", "n_groups", "n", "event"])
    )
    rmst = sv.rmst(table, tau=tau, by=by)
    cohorts = sv.cohort_conversion(table, ages=age_list)

    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = make_temp_dir(out.parent, f".{out.name}.tmp-")
    try:
        tables = {
            "time_to_event": table,
            "kaplan_meier": km,
            "cumulative_incidence": cif,
            "naive_conversion": naive,
            "logrank": logrank,
            "rmst": rmst,
            "cohort_conversion": cohorts,
        }
        for name, frame in tables.items():
            frame.to_csv(tmp / f"{name}.csv", index=False)
        start_label = start_col.removesuffix("_at").upper()
        labels = {1: stem}
        labels.update({i + 2: c.removesuffix("_at") for i, c in enumerate(competing_cols)})
        figures = {
            "survival": lambda ax: plotting.plot_survival(
                km,
                by=by,
                unit=unit,
                start_label=start_label,
                ax=ax,
                title=f"Time to {stem} (Kaplan–Meier)",
            ),
            "cumulative_incidence": lambda ax: plotting.plot_cumulative_incidence(
                cif,
                by=by,
                at_risk=by is None,
                event_labels=labels,
                unit=unit,
                start_label=start_label,
                ax=ax,
            ),
            "naive_vs_competing": lambda ax: plotting.plot_naive_vs_competing(
                sv.naive_conversion(table),
                sv.cumulative_incidence(table, events=codes),
                event_label=stem,
                unit=unit,
                start_label=start_label,
                ax=ax,
            ),
            "cohort_maturity": lambda ax: plotting.plot_cohort_maturity(cohorts, unit=unit, ax=ax),
        }
        for name, draw in figures.items():
            fig, ax = plt.subplots(figsize=(8, 5))
            draw(ax)
            fig.tight_layout()
            fig.savefig(tmp / f"{name}.png", dpi=110)
            plt.close(fig)
        _replace_folder(tmp, out, force)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    typer.echo(
        f"wrote {len(tables)} tables and {len(figures)} figures for {len(table):,} leads to {out}"
    )
