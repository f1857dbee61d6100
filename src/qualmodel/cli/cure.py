"""CLI command ``qualmodel cure``: who is expected never to convert (mixture cure model).

``qualmodel cure --journeys DIR [--start STAGE] [--target STAGE] [--competing STAGE ...]
[--unit days] [--resolution R --rounding floor|ceil] [--zero-time 0.5] [--ignore-rule]
[--out FILE.csv]`` fits :func:`qualmodel.survival.models.cure_model` to the time from the start
stage to the target (competing outcomes censored) when the stated rule of
:func:`qualmodel.survival.headline.cure_support` holds, prints the cured fraction with its interval
and, with ``--out``, writes the parameter table atomically.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Annotated

import typer

from qualmodel.cli.app import app
from qualmodel.core.checks import check_number

#: Exit code when the data do not support a cure model (the reason is printed, no --out).
NO_ESTIMATE = 3


@app.command("cure")
def cure_command(
    journeys: Annotated[Path, typer.Option("--journeys", "-j", help="Journeys folder.")],
    start: Annotated[
        str | None, typer.Option(help="Stage where the clock starts (default: SAL, else earliest).")
    ] = None,
    target: Annotated[
        str | None, typer.Option(help="Outcome (default: SQO if present, else won).")
    ] = None,
    competing: Annotated[
        list[str] | None,
        typer.Option(help="Competing stage, censored in the fit (repeatable); 'none' for none."),
    ] = None,
    unit: Annotated[str, typer.Option(help="days, weeks or hours.")] = "days",
    resolution: Annotated[
        float | None, typer.Option(help="Round durations to multiples of this (default exact).")
    ] = None,
    rounding: Annotated[str, typer.Option(help="floor or ceil (with --resolution).")] = "floor",
    zero_time: Annotated[
        float, typer.Option(help="Duration given to events at duration 0 (units).")
    ] = 0.5,
    ignore_rule: Annotated[
        bool, typer.Option(help="Report the fit even when the support rule fails.")
    ] = False,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="CSV of the parameter table.")
    ] = None,
) -> None:
    """Share expected never to reach the target, with its CI (mixture cure model).

    When the data do not support a cure model, the reason is printed, nothing is written
    and the exit code is 3 (--ignore-rule fits anyway).
    """
    from qualmodel.cli.survival import cli_plan
    from qualmodel.core.atomic import write_csv_atomic
    from qualmodel.journeys.contract import Journeys
    from qualmodel.report.wording import cure_reason
    from qualmodel.survival.durations import time_to_event
    from qualmodel.survival.headline import cure_support
    from qualmodel.survival.models import ModelWarning, cure_model

    check_number("--zero-time", zero_time, low=0, low_open=True)
    data = Journeys.read(journeys)
    plan = cli_plan(data, start, target, competing)
    table = time_to_event(
        data,
        start=plan["start"],
        target=plan["target"],
        competing=plan["competing"],
        unit=unit,  # type: ignore[arg-type]
        resolution=resolution,
        rounding=rounding,  # type: ignore[arg-type]
    )
    support = cure_support(table)
    reason = cure_reason(support, labels=plan["event_labels"])
    n_start = f"{len(table):,} {plan['start_name']}s"
    if not support.supported and not ignore_rule:
        typer.echo(
            f"no cure-model estimate for {n_start} → {plan['name']}: {reason} "
            f"(--ignore-rule fits anyway)"
        )
        raise typer.Exit(NO_ESTIMATE)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ModelWarning)
        fit = cure_model(table, zero_time=zero_time)
    s = fit.summary
    if out is not None:
        write_csv_atomic(fit.table, out)
    if not (s["cured_fraction_lower"] == s["cured_fraction_lower"]):
        limits = "no interval (boundary)"
    else:
        limits = f"95% CI {s['cured_fraction_lower']:.1%}–{s['cured_fraction_upper']:.1%}"
    rule = "rule holds" if support.supported else f"rule fails: {reason}"
    typer.echo(
        f"expected never to reach {plan['name']}: {s['cured_fraction']:.1%} ({limits}) of "
        f"{n_start}, {s['events']:,} reached it; {rule}"
        + (f"; table written to {out}" if out is not None else "")
    )
