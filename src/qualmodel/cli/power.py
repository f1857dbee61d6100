"""CLI command ``power``: simulated power of a criterion change, CSV + power-curve PNG."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from qualmodel.atomic import share_like_umask, write_csv_atomic
from qualmodel.cli.app import app
from qualmodel.errors import ConfigError
from qualmodel.safety import check_output, refuse_overlap


@app.command("power")
def power_cmd(
    scenario: Annotated[str, typer.Option("--scenario", "-s", help="Built-in scenario or YAML.")],
    baseline: Annotated[str, typer.Option("--baseline", help="Baseline criterion name/YAML.")],
    candidate: Annotated[str, typer.Option("--candidate", help="Candidate criterion name/YAML.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output CSV file.")],
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
    plot: Annotated[Path | None, typer.Option("--plot", help="Power-curve PNG.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace existing output files.")] = False,
) -> None:
    """Power per sample size and metric with Wilson Monte-Carlo 95% intervals."""
    from qualmodel.power import connect, power

    try:
        ns = [int(x) for x in n_leads.split(",") if x.strip()]
    except ValueError:
        raise ConfigError(
            f"--n-leads: expected comma-separated integers, got '{n_leads}'"
        ) from None
    metrics = [m.strip() for m in metric.split(",") if m.strip()]
    kw = dict(metric=metrics, n_leads=ns, n_replicates=n_replicates, alpha=alpha, seed=seed)
    from qualmodel.power import _validate

    _validate(metrics, ns, n_replicates, alpha)
    outputs = {"--out": out, "--plot": plot}
    inputs = {f"--{k}": Path(v) for k, v in (("scenario", scenario), ("baseline", baseline),
              ("candidate", candidate)) if Path(v).is_file()}  # fmt: skip
    refuse_overlap(outputs, inputs)
    for option, path in outputs.items():
        if path is not None:
            check_output(path, option, force=force, kind="file")
    client = connect(dask) if dask else None
    try:
        table = power(scenario, baseline, candidate, client=client, progress=True, **kw)
    finally:
        if client is not None:
            client.close()
    write_csv_atomic(table, out)
    typer.echo(f"{out}: {len(table)} rows")
    if plot is not None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6, 4))
        for m, g in table.groupby("metric"):
            ax.errorbar(
                g["n_leads"],
                g["power"],
                yerr=[g["power"] - g["power_lo"], g["power_hi"] - g["power"]],
                marker="o",
                label=m,
                capsize=3,
            )
        ax.axhline(0.8, ls=":", c="grey")
        ax.set(xlabel="leads per arm", ylabel="power", ylim=(0, 1.02))
        ax.legend()
        fd, tmp = tempfile.mkstemp(dir=plot.parent if str(plot.parent) else ".", suffix=".png")
        os.close(fd)
        try:
            fig.savefig(tmp, dpi=110, format="png")
            share_like_umask(tmp)
            os.replace(tmp, plot)
        finally:
            plt.close(fig)
            Path(tmp).unlink(missing_ok=True)
        typer.echo(f"{plot}: power curve")
