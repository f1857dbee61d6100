"""CLI command ``fit-scenario``: fit a scenario (a "funnel twin") to a journeys folder."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from qualmodel.cli.app import app
from qualmodel.core.atomic import temp_paths
from qualmodel.core.checks import check_number
from qualmodel.core.errors import ConfigError
from qualmodel.core.safety import check_output, refuse_overlap


def _cohorts(value: str) -> int | str:
    if value == "auto":
        return "auto"
    try:
        return int(value)
    except ValueError:
        raise ConfigError(f"--cohorts: expected auto or a whole number, got '{value}'") from None


def _echo_report(twin, report) -> None:
    typer.echo(
        f"fitted {twin.name}: {len(twin.stages)} stage(s), plan {twin.plan.start} -> "
        f"{twin.plan.target}, {twin.n_cohorts} arrival cohort(s), resolution {twin.resolution}"
    )
    for stem, st in twin.stages.items():
        fam = st.delay.family if st.by_cohort is None else "per cohort"
        boot = report["bootstrap"].get("stages", {}).get(stem)
        spread = f" (bootstrap 95%: {boot['lo']:.3f}-{boot['hi']:.3f})" if boot else ""
        typer.echo(f"  {stem:<14} after {st.after:<8} share {st.share:.3f}{spread}, delay {fam}")
    typer.echo("fit distances (twin mean of the check simulations vs the data):")
    for key, value in report["distances"].items():
        if not key.startswith("criterion."):
            typer.echo(f"  {key:<22} {value:.4f}")
    _echo_criteria(report)


def _echo_criteria(report) -> None:
    table = report.get("criteria")
    if table is None or table.empty:
        return
    typer.echo("criteria (share qualified; median days from the plan's start to qualification):")
    for name, g in table.groupby("criterion", sort=False):
        s = g.set_index("statistic")
        sh, md = s.loc["share"], s.loc["median_days"]
        typer.echo(
            f"  {name:<34} share {sh.observed:.4f} data, {sh.twin:.4f} twin (distance "
            f"{sh.distance:.4f}); median {md.observed:.1f} d data, {md.twin:.1f} d twin "
            f"(distance {md.distance:.1f} d)"
        )
    for name, why in report.get("criteria_skipped", {}).items():
        typer.echo(f"  {name}: not compared ({why})")


@app.command("fit-scenario")
def fit_scenario_cmd(
    journeys: Annotated[Path, typer.Option("--journeys", "-j", help="Journeys folder.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Twin scenario YAML to write.")],
    segment: Annotated[
        str | None, typer.Option("--segment", help="Lead attribute whose mix the twin keeps.")
    ] = None,
    start: Annotated[str | None, typer.Option("--start", help="Clock start stage.")] = None,
    target: Annotated[str | None, typer.Option("--target", help="Target stage.")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed (bootstrap, check sims).")] = 0,
    n_boot: Annotated[int, typer.Option("--n-boot", help="Bootstrap refits (0-1000).")] = 20,
    cohorts: Annotated[
        str, typer.Option("--cohorts", help="Arrival cohorts: auto or 1-6.")
    ] = "auto",
    plot: Annotated[Path | None, typer.Option("--plot", help="Fit diagnostics PNG.")] = None,
    dask: Annotated[
        str | None, typer.Option("--dask", help="local:N or tcp://host:port (bootstrap).")
    ] = None,
    dask_timeout: Annotated[
        float, typer.Option("--dask-timeout", help="Seconds to wait for a tcp:// scheduler.")
    ] = 5.0,
    criteria: Annotated[
        str | None,
        typer.Option(
            "--criteria", help="Criteria YAML or built-in scenario name to compare (or none)."
        ),
    ] = None,
    pair: Annotated[
        str | None, typer.Option("--pair", help="Only these criteria: BASELINE,CANDIDATE.")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace existing output files.")] = False,
) -> None:
    """Fit a scenario to imported journeys; print the fit distances; write the YAML."""
    from qualmodel.experiment.power import connect
    from qualmodel.experiment.twin_fit import fit_scenario
    from qualmodel.journeys.contract import Journeys

    check_number("--dask-timeout", dask_timeout, low=0, high=600, low_open=True)
    outputs = {"--out": out, "--plot": plot}
    refuse_overlap(outputs, {"--journeys": journeys})
    if out.suffix.lower() not in (".yaml", ".yml"):
        raise ConfigError(f"--out {out}: a scenario file ends in .yaml; e.g. --out twin.yaml")
    for option, path in outputs.items():
        if path is not None:
            folder = path.parent if str(path.parent) else Path(".")
            if not folder.is_dir():
                raise ConfigError(f"{option} {path}: folder {folder} does not exist; create it")
            check_output(path, option, force=force, kind="file")
    data = Journeys.read(journeys)
    kw = dict(start=start, target=target, segment=segment, seed=seed, n_boot=n_boot)
    kw.update(_criteria_options(criteria, pair))
    client = connect(dask, dask_timeout) if dask else None
    try:
        twin, report = fit_scenario(data, cohorts=_cohorts(cohorts), client=client, **kw)
    finally:
        if client is not None:
            client.close()
    _echo_report(twin, report)
    _write(twin, report, out, plot)


def _criteria_options(criteria: str | None, pair: str | None) -> dict:
    """``--criteria`` / ``--pair`` as fit_scenario arguments (``none`` skips the comparison)."""
    names = None
    if pair is not None:
        names = [p.strip() for p in pair.split(",") if p.strip()]
        if len(names) != 2:
            raise ConfigError(f"--pair {pair}: give two criterion names, e.g. --pair seed,score")
    if criteria is not None and criteria.lower() == "none":
        return {"criteria": []}
    return {"criteria": criteria, "criteria_names": names}


def _write_table(table, out: Path, plot: Path | None) -> None:
    """Write the power CSV and its power-curve PNG together: both appear, or neither."""
    with temp_paths(*([out] if plot is None else [out, plot])) as tmps:
        table.to_csv(tmps[0], index=False)
        if plot is not None:
            _save_figure(tmps[1], "power", table)
    typer.echo(f"{out}: {len(table)} rows" + ("" if plot is None else f"; {plot}: power curve"))


def _save_figure(path: Path, kind: str, data) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from qualmodel.plotting import plot_power_curve, plot_twin_fit
    from qualmodel.plotting.png import png_bytes

    fig = plot_twin_fit(data) if kind == "twin" else plot_power_curve(data).figure
    try:
        path.write_bytes(png_bytes(fig, 110, tight=False))
    finally:
        plt.close(fig)


def _write(twin, report, out: Path, plot: Path | None) -> None:
    """Write the YAML and the figure together: both appear, or neither."""
    from qualmodel.simulation.twin_schema import twin_yaml

    with temp_paths(*([out] if plot is None else [out, plot])) as tmps:
        tmps[0].write_text(twin_yaml(twin), encoding="utf-8")
        if plot is not None:
            _save_figure(tmps[1], "twin", report)
    typer.echo(f"wrote {out}" + ("" if plot is None else f" and {plot}"))


def effect_power_cmd(
    scenario: str,
    effect: str,
    out: Path,
    plot: Path | None,
    force: bool,
    dask: str | None,
    dask_timeout: float,
    kw: dict,
) -> None:
    """``power --effect``: simulated power of a stated effect on a fitted scenario."""
    from qualmodel.experiment.effects import bootstrap_leads, effect_power, parse_effect
    from qualmodel.experiment.mde import leads_needed
    from qualmodel.experiment.power import connect
    from qualmodel.simulation.scenario import load_scenario

    parse_effect(effect)
    if not kw["n_leads"]:
        raise ConfigError("--n-leads: expected comma-separated whole numbers, e.g. 1000,2000")
    check_number("--dask-timeout", dask_timeout, low=0, high=600, low_open=True)
    inputs = {"--scenario": Path(scenario)} if Path(scenario).is_file() else {}
    refuse_overlap({"--out": out, "--plot": plot}, inputs)
    for option, path in (("--out", out), ("--plot", plot)):
        if path is not None:
            check_output(path, option, force=force, kind="file")
    twin = load_scenario(scenario)
    client = connect(dask, dask_timeout) if dask else None
    try:
        table = effect_power(twin, effect, client=client, **kw)
    finally:
        if client is not None:
            client.close()
    _write_table(table, out, plot)
    for r in leads_needed(table).itertuples(index=False):
        sim = "none" if r.leads_simulated != r.leads_simulated else f"{r.leads_simulated:,.0f}"
        typer.echo(
            f"{r.metric}: {effect} -> {r.leads_analytic:,.0f} leads per arm for 80% power "
            f"(normal approximation at the simulated effect; smallest simulated n with 80%: "
            f"{sim}) - model-based, from the twin {twin.name}"
        )
    spread = bootstrap_leads(table, twin)
    if spread:
        typer.echo(
            f"target_share: bootstrap 95% range of leads per arm over {spread['n_boot']} refits "
            f"of the twin: {spread['lo']:,.0f}-{spread['hi']:,.0f}"
        )
