"""CLI commands: ``scenarios``, ``simulate``, ``validate`` and ``funnel``."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from tqdm.auto import tqdm

from qualmodel.cli.app import app
from qualmodel.core.atomic import write_csv_atomic
from qualmodel.core.safety import check_output, refuse_overlap


def _fmt_rate(x: float) -> str:
    return "" if x != x else f"{100 * x:.1f}%"


def _fmt_days(x: float) -> str:
    return "" if x != x else f"{x:.1f}"


@app.command("scenarios")
def scenarios_cmd() -> None:
    """List the built-in scenarios with one-line descriptions."""
    from qualmodel.simulation.scenario import list_scenarios

    table = list_scenarios()
    width = max(len(n) for n in table["name"])
    for row in table.itertuples(index=False):
        typer.echo(f"{row.name:<{width}}  {row.description}")


@app.command("simulate")
def simulate_cmd(
    scenario: Annotated[
        str, typer.Option("--scenario", "-s", help="Built-in scenario name or YAML path.")
    ] = "startup_saas",
    n_leads: Annotated[
        int | None,
        typer.Option("--n-leads", "-n", help="Number of leads (default: the scenario's)."),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (non-negative).")] = 0,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Output folder (default data/simulated/<scenario>)."),
    ] = None,
    nurture: Annotated[
        bool | None,
        typer.Option(
            "--nurture/--no-nurture", help="Switch the nurture program (default: scenario's)."
        ),
    ] = None,
    progress: Annotated[
        bool | None,
        typer.Option("--progress/--no-progress", help="Progress bar (default: when large)."),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Replace an existing journeys folder at --out.")
    ] = False,
) -> None:
    """Simulate lead journeys from a scenario and write them to a folder."""
    from qualmodel.core.memory import release_free_memory
    from qualmodel.simulation.engine import N_STEPS, check_params, simulate_steps
    from qualmodel.simulation.scenario import load_scenario

    sc = load_scenario(scenario)
    n, seed = check_params(sc.n_leads if n_leads is None else n_leads, seed)
    if out is None:
        out = Path("data") / "simulated" / sc.name
    scenario_file = Path(scenario) if Path(scenario).is_file() else None
    refuse_overlap({"--out": out}, {"--scenario": scenario_file})
    check_output(out, "--out", force=force, kind="journeys")
    # simulation + writing take about a second from ~100,000 leads on a small machine
    show = n >= 100_000 if progress is None else progress
    t0 = time.perf_counter()
    with tqdm(
        total=N_STEPS + 1, desc=f"simulate {sc.name}", unit="step", disable=not show, leave=False
    ) as bar:

        def step(label: str) -> None:
            bar.set_postfix_str(f"{label} done", refresh=False)
            bar.update(1)

        journeys = simulate_steps(sc, n, seed, nurture, step)
        release_free_memory()  # the simulation's freed arrays, before the write's buffers
        journeys.write(out)
        step("write")
    typer.echo(
        f"wrote {out}: {journeys.n_leads:,} leads, {journeys.n_events:,} events "
        f"(scenario {sc.name}, seed {seed}, nurture "
        f"{'on' if journeys.meta['nurture'] else 'off'}) in {time.perf_counter() - t0:.1f} s"
    )


@app.command("validate")
def validate_cmd(
    folder: Annotated[Path, typer.Argument(help="Journeys folder (leads/events Parquet).")],
) -> None:
    """Read a journeys folder, check the data contract, print a one-line summary."""
    from qualmodel.journeys.contract import Journeys
    from qualmodel.journeys.store import checksums_present

    j = Journeys.read(folder)
    leads = j.leads
    span = f"{leads['created_at'].min():%Y-%m-%d} to {leads['observed_until'].max():%Y-%m-%d}"
    sums = (
        "checksums verified"
        if checksums_present(folder)
        else "no checksums (written before qualmodel stored them; write it again to add them)"
    )
    typer.echo(
        f"OK {folder}: {j.n_leads:,} leads, {j.n_events:,} events, "
        f"{len(j.event_names)} event types, {span}, source {j.meta.get('source', '?')}, {sums}"
    )


@app.command("funnel")
def funnel_cmd(
    folder: Annotated[Path, typer.Argument(help="Journeys folder.")],
    csv: Annotated[
        Path | None, typer.Option("--csv", help="Also write the table as CSV to this file.")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing --csv file.")] = False,
) -> None:
    """Print stage counts, censoring-naive conversion rates and median days in stage."""
    from qualmodel.journeys.contract import Journeys
    from qualmodel.journeys.funnel import funnel

    if csv is not None:
        refuse_overlap({"--csv": csv}, {"FOLDER": folder})
        check_output(csv, "--csv", force=force, kind="file")
    j = Journeys.read(folder)
    table = funnel(j)
    shown = table.assign(
        naive_rate_from_previous=table["naive_rate_from_previous"].map(_fmt_rate),
        naive_rate_from_created=table["naive_rate_from_created"].map(_fmt_rate),
        median_days_from_previous=table["median_days_from_previous"].map(_fmt_days),
        median_days_in_stage=table["median_days_in_stage"].map(_fmt_days),
        from_stage=table["from_stage"].fillna(""),
    ).rename(
        columns={
            "naive_rate_from_previous": "rate_from_prev*",
            "naive_rate_from_created": "rate_from_created*",
            "median_days_from_previous": "median_days_from_prev",
        }
    )
    typer.echo(f"funnel of {folder} ({j.meta.get('source', '?')}, {j.n_leads:,} leads)")
    typer.echo(shown.to_string(index=False))
    typer.echo(f"* {table.attrs['note']}")
    if csv is not None:
        write_csv_atomic(table, csv)
        typer.echo(f"wrote {csv}")
