"""CLI command ``qualmodel survival``: time-to-event tables and figures for a journeys folder.

``qualmodel survival --journeys DIR --start sal --target sqo --competing disqualified
[--competing ...] [--by segment] [--unit days] [--horizon H] [--tau T] [--ages 30,60,90]
--out DIR [--force]`` writes, atomically (a temporary folder renamed at the end):

* ``time_to_event.csv``, ``kaplan_meier.csv``, ``cumulative_incidence.csv``,
  ``naive_conversion.csv``, ``logrank.csv`` (one row per event code; empty without
  ``--by``), ``rmst.csv``, ``cohort_conversion.csv``;
* ``survival.png``, ``cumulative_incidence.png``, ``naive_vs_competing.png``,
  ``cohort_maturity.png``.

Stage names are shorthands for lead columns (``sqo`` means ``sqo_at``) or the data's own
outcome labels (``meta["outcomes"]``, e.g. ``declined``). Without ``--competing`` the
competing outcomes are the terminal stages present in the data that end some journey
before the target (a one-line message names them); ``--competing none`` analyses the
target alone.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from qualmodel.cli.app import app
from qualmodel.core.atomic import make_temp_dir, replace_folder
from qualmodel.core.errors import ConfigError, InputError
from qualmodel.core.safety import (
    check_output,
    clean_stale,
    refuse_overlap,
    temp_prefix,
    write_marker,
)

if TYPE_CHECKING:
    import pandas as pd


def _parse_ages(text: str) -> list[float]:
    try:
        ages = [float(a) for a in text.split(",") if a.strip()]
    except ValueError:
        raise ConfigError(f"--ages '{text}': expected numbers separated by commas") from None
    if not ages:
        raise ConfigError("--ages: give at least one age, e.g. --ages 30,60,90")
    return ages


#: Files a survival output folder held before the marker file existed (still replaced).
LEGACY_OUTPUTS = frozenset(
    [
        *(f"{n}.csv" for n in ("time_to_event", "kaplan_meier", "cumulative_incidence",
                               "naive_conversion", "logrank", "rmst", "cohort_conversion")),
        *(f"{n}.png" for n in ("survival", "cumulative_incidence", "naive_vs_competing",
                               "cohort_maturity")),
    ]
)  # fmt: skip


def _replace_folder(tmp: Path, out: Path, force: bool) -> None:
    """Move the finished ``tmp`` folder to ``out`` (replacing it when ``force``)."""
    if out.exists():
        check_output(out, "--out", force=force, kind="survival", legacy=LEGACY_OUTPUTS)
    replace_folder(tmp, out)


def cli_plan(data, start: str | None, target: str | None, competing: list[str] | None) -> dict:
    """Plan start, target and competing outcomes from CLI options; echo defaulted ones.

    Parameters
    ----------
    data : Journeys
    start, target : str or None
        ``--start`` / ``--target`` values (stem, column or the data's label); None for
        the defaults (SAL if present, else the earliest stage; SQO if present, else won).
    competing : list of str or None
        ``--competing`` values; None picks the defaults of
        :func:`qualmodel.journeys.outcomes.plan_outcomes` (and says so on stdout); ``["none"]``
        for none.

    Returns
    -------
    dict
        The plan (see :func:`qualmodel.journeys.outcomes.plan_outcomes`).

    Raises
    ------
    ConfigError
        A stage not in the data, named after the option it came from.
    """
    from qualmodel.journeys.outcomes import plan_outcomes, resolve_stage

    start_col = None if start is None else resolve_stage(data, start, "--start")
    target_col = None if target is None else resolve_stage(data, target, "--target")
    names = competing
    if names is not None and [n.lower() for n in names] == ["none"]:
        names = []
    for name in names or []:
        try:
            resolve_stage(data, name, "--competing")
        except ConfigError as exc:
            raise ConfigError(f"{exc}; or pass --competing none") from None
    plan = plan_outcomes(data, start=start_col, target=target_col, competing=names, groups=[])
    if competing is None:
        chosen = ", ".join(plan["competing_names"]) or "none in these data"
        typer.echo(
            f"competing outcomes: {chosen} (the terminal stages in the data that end some "
            f"journey first; choose with --competing, or --competing none)"
        )
    elif plan["censored"]:
        typer.echo(
            f"note: {', '.join(plan['censored_names'])} also end(s) journeys from "
            f"{plan['start_name']} before {plan['name']} but is not competing: those leads "
            f"count as still open (censored)"
        )
    return plan


@app.command("survival")
def survival_command(
    journeys: Annotated[Path, typer.Option("--journeys", "-j", help="Journeys folder.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder (tables + figures).")],
    start: Annotated[
        str | None,
        typer.Option(help="Stage where the clock starts. Default: sal if present, else earliest."),
    ] = None,
    target: Annotated[
        str | None,
        typer.Option(help="Stage of interest (event 1). Default: sqo if present, else won."),
    ] = None,
    competing: Annotated[
        list[str] | None,
        typer.Option(
            help="Competing stage (repeatable; events 2, 3, ...). Default: the terminal "
            "outcomes present that end some journey first; 'none' for no competing stage."
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

    from qualmodel.journeys.contract import Journeys

    age_list = _parse_ages(ages)
    refuse_overlap({"--out": out}, {"--journeys": journeys})
    check_output(out, "--out", force=force, kind="survival", legacy=LEGACY_OUTPUTS)
    data = Journeys.read(journeys)
    plan = cli_plan(data, start, target, competing)
    table = _duration_table(data, journeys, plan, by, unit, horizon)
    codes = list(range(1, len(plan["competing"]) + 2))
    tables = _survival_tables(table, by, codes, tau, age_list)

    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    clean_stale(out.parent, (f".{out.name}.tmp-", f".{out.name}.old-"))
    tmp = make_temp_dir(out.parent, temp_prefix(out.name, "tmp"))
    try:
        write_marker(tmp, "survival")
        for name, frame in tables.items():
            frame.to_csv(tmp / f"{name}.csv", index=False)
        n_figures = _write_figures(tmp, tables, plan, by, unit, codes)
        _replace_folder(tmp, out, force)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    typer.echo(
        f"wrote {len(tables)} tables and {n_figures} figures for {len(table):,} leads to {out}"
    )


def _duration_table(
    data, journeys: Path, plan: dict, by: str | None, unit: str, horizon: float | None
) -> pd.DataFrame:
    """Time-to-event table of the plan (with the ``--by`` column, missing labelled)."""
    from qualmodel.survival.durations import time_to_event

    start_col, target_col, competing_cols = plan["start"], plan["target"], plan["competing"]
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
    if by is not None:
        from qualmodel.journeys.outcomes import label_missing

        table = label_missing(table, by)
    return table


def _survival_tables(
    table: pd.DataFrame, by: str | None, codes: list[int], tau: float, ages: list[float]
) -> dict[str, pd.DataFrame]:
    """Every output table by file stem, in writing order."""
    import pandas as pd

    from qualmodel.journeys.outcomes import reference_group
    from qualmodel.survival import estimators as sv

    km = sv.kaplan_meier(table, by=by)
    cif = sv.cumulative_incidence(table, by=by, events=codes)
    naive = sv.naive_conversion(table, by=by)
    logrank_rows = []
    if by is not None and table[by].nunique() >= 2:
        for k in codes:
            res = sv.logrank(table, by=by, event=k)
            logrank_rows.append(res.assign(event=k))
    logrank = (
        pd.concat(logrank_rows, ignore_index=True)
        if logrank_rows
        else pd.DataFrame(columns=["statistic", "df", "p_value", "n_groups", "n", "event"])
    )
    rmst = sv.rmst(
        table, tau=tau, by=by, reference=None if by is None else reference_group(table[by])
    )
    cohorts = sv.cohort_conversion(table, ages=ages)
    return {
        "time_to_event": table,
        "kaplan_meier": km,
        "cumulative_incidence": cif,
        "naive_conversion": naive,
        "logrank": logrank,
        "rmst": rmst,
        "cohort_conversion": cohorts,
    }


def _write_figures(
    tmp: Path,
    tables: dict[str, pd.DataFrame],
    plan: dict,
    by: str | None,
    unit: str,
    codes: list[int],
) -> int:
    """Draw the four figures into ``tmp`` as PNG files; return how many."""
    import matplotlib.pyplot as plt

    from qualmodel import plotting
    from qualmodel.plotting.png import png_bytes
    from qualmodel.survival import estimators as sv

    table, km, cif = tables["time_to_event"], tables["kaplan_meier"], tables["cumulative_incidence"]
    cohorts = tables["cohort_conversion"]
    stem = plan["name"]
    start_label = plan["start_name"]
    labels = {k: v for k, v in plan["event_labels"].items() if k}
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
        (tmp / f"{name}.png").write_bytes(png_bytes(fig, 110, tight=False))
        plt.close(fig)
    return len(figures)
