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
        typer.echo(f"  {key:<22} {value:.4f}")


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
    client = connect(dask, dask_timeout) if dask else None
    try:
        twin, report = fit_scenario(data, cohorts=_cohorts(cohorts), client=client, **kw)
    finally:
        if client is not None:
            client.close()
    _echo_report(twin, report)
    _write(twin, report, out, plot)


def _write(twin, report, out: Path, plot: Path | None) -> None:
    """Write the YAML and the figure together: both appear, or neither."""
    from qualmodel.simulation.twin_schema import twin_yaml

    with temp_paths(*([out] if plot is None else [out, plot])) as tmps:
        tmps[0].write_text(twin_yaml(twin), encoding="utf-8")
        if plot is not None:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt

            from qualmodel.plotting.twin import plot_twin_fit

            fig = plot_twin_fit(report)
            try:
                fig.savefig(tmps[1], dpi=110, format="png")
            finally:
                plt.close(fig)
    typer.echo(f"wrote {out}" + ("" if plot is None else f" and {plot}"))
