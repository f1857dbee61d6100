"""CLI command ``power``: simulated power of a criterion change, CSV + power-curve PNG."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from qualmodel.cli.app import app
from qualmodel.core.atomic import temp_paths
from qualmodel.core.checks import check_number, check_seed
from qualmodel.core.errors import ConfigError
from qualmodel.core.safety import check_output, refuse_overlap


def _check_plot_folder(plot: Path) -> None:
    """Refuse a ``--plot`` whose folder is missing (checked before any replicate runs)."""
    folder = plot.parent if str(plot.parent) else Path(".")
    if not folder.is_dir():
        raise ConfigError(f"--plot {plot}: folder {folder} does not exist; create it first")


def _write_outputs(table, out: Path, plot: Path | None) -> None:
    """Write the CSV and the power-curve PNG together: both appear, or neither."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from qualmodel.plotting import plot_power_curve
    from qualmodel.plotting.png import png_bytes

    with temp_paths(*([out] if plot is None else [out, plot])) as tmps:
        table.to_csv(tmps[0], index=False)
        if plot is not None:
            ax = plot_power_curve(table)
            try:
                tmps[1].write_bytes(png_bytes(ax.figure, 110, tight=False))
            finally:
                plt.close(ax.figure)
    typer.echo(f"{out}: {len(table)} rows")
    if plot is not None:
        typer.echo(f"{plot}: power curve")


@app.command("power")
def power_cmd(
    scenario: Annotated[str, typer.Option("--scenario", "-s", help="Built-in scenario or YAML.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output CSV file.")],
    baseline: Annotated[
        str | None, typer.Option("--baseline", help="Baseline criterion name/YAML.")
    ] = None,
    candidate: Annotated[
        str | None, typer.Option("--candidate", help="Candidate criterion name/YAML.")
    ] = None,
    effect: Annotated[
        str | None,
        typer.Option("--effect", help="share:+10% or hr:0.8 on a fitted scenario (no criteria)."),
    ] = None,
    n_leads: Annotated[str, typer.Option("--n-leads", help="Comma-separated leads per arm.")] = (
        "500,1000,2000"
    ),
    metric: Annotated[str, typer.Option("--metric", help="Comma-separated metrics.")] = (
        "precision,recall,time_to_qualification,sqo_volume"
    ),
    n_replicates: Annotated[int, typer.Option("--replicates", help="Replicates (≥ 10).")] = 500,
    alpha: Annotated[float, typer.Option("--alpha", help="Test level in (0, 1).")] = 0.05,
    seed: Annotated[int, typer.Option("--seed", help="Root seed.")] = 0,
    dask: Annotated[
        str | None, typer.Option("--dask", help="local:N or tcp://host:port (default in-process).")
    ] = None,
    dask_timeout: Annotated[
        float,
        typer.Option("--dask-timeout", help="Seconds to wait for a tcp:// scheduler (0–600]."),
    ] = 5.0,
    chunk_size: Annotated[
        int | None,
        typer.Option("--chunk-size", help="Replicates per Dask task (default: automatic)."),
    ] = None,
    mde_power: Annotated[
        float, typer.Option("--mde-power", help="Power that defines the mde column.")
    ] = 0.8,
    plot: Annotated[Path | None, typer.Option("--plot", help="Power-curve PNG.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace existing output files.")] = False,
    progress: Annotated[
        bool | None,
        typer.Option(
            "--progress/--no-progress", help="Progress bar on stderr (default: when a terminal)."
        ),
    ] = None,
) -> None:
    """Power per sample size and metric with Wilson Monte-Carlo 95% intervals and the MDE."""
    from qualmodel.experiment.power import connect, power, validate_arguments

    if effect is not None:  # a stated effect on a fitted scenario (docs/twin.md)
        from qualmodel.cli.twin import effect_power_cmd

        ns = [int(x) for x in n_leads.split(",") if x.strip().isdigit()]
        kw = dict(n_leads=ns, n_replicates=n_replicates, alpha=alpha, seed=seed)
        return effect_power_cmd(scenario, effect, out, plot, force, dask, dask_timeout, kw)
    if baseline is None or candidate is None:
        raise ConfigError(
            "power: give --baseline and --candidate (or --effect on a fitted scenario)"
        )
    try:
        ns = [int(x) for x in n_leads.split(",") if x.strip()]
    except ValueError:
        raise ConfigError(
            f"--n-leads: expected comma-separated integers, got '{n_leads}'"
        ) from None
    metrics = [m.strip() for m in metric.split(",") if m.strip()]
    validate_arguments(metrics, ns, n_replicates, alpha)
    check_seed("--seed", seed)
    check_number("--dask-timeout", dask_timeout, low=0, high=600, low_open=True)
    if chunk_size is not None and chunk_size < 1:
        raise ConfigError(f"--chunk-size: must be ≥ 1, got {chunk_size}")
    outputs = {"--out": out, "--plot": plot}
    inputs = {f"--{k}": Path(v) for k, v in (("scenario", scenario), ("baseline", baseline),
              ("candidate", candidate)) if v and Path(v).is_file()}  # fmt: skip
    refuse_overlap(outputs, inputs)
    if plot is not None:
        _check_plot_folder(plot)
    for option, path in outputs.items():
        if path is not None:
            check_output(path, option, force=force, kind="file")
    show = sys.stderr.isatty() if progress is None else progress
    kw = dict(metric=metrics, n_leads=ns, n_replicates=n_replicates, alpha=alpha, seed=seed)
    kw.update(chunk_size=chunk_size, mde_power=mde_power, progress=show)
    client = connect(dask, dask_timeout) if dask else None
    try:
        table = power(scenario, baseline, candidate, client=client, **kw)
    finally:
        if client is not None:
            client.close()
    _write_outputs(table, out, plot)
