"""CLI command ``search``: find SQO definitions on the Pareto frontier under capacity."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from qualmodel.cli.app import app
from qualmodel.core.atomic import write_bytes_atomic, write_csv_atomic, write_text_atomic
from qualmodel.core.errors import ConfigError


@app.command("search")
def search_cmd(
    journeys: Annotated[Path, typer.Option("--journeys", "-j", help="Journeys folder.")],
    space: Annotated[
        str, typer.Option("--space", "-s", help="Search space YAML or built-in scenario name.")
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")],
    capacity_per_week: Annotated[
        float | None,
        typer.Option(help="Most SQOs per week sales can work (default: no limit)."),
    ] = None,
    objective: Annotated[
        str, typer.Option(help="What the winner maximises: f1, recall or precision.")
    ] = "f1",
    holdout_share: Annotated[
        float, typer.Option(help="Share of SALs (latest first) held out for evaluation.")
    ] = 0.3,
    mature_days: Annotated[
        float | None,
        typer.Option(help="Leave out SALs followed fewer days (default: --horizon-days)."),
    ] = None,
    min_qualified: Annotated[
        int, typer.Option(help="Fewest qualified fit leads of a frontier definition.")
    ] = 20,
    horizon_days: Annotated[float, typer.Option(help="Horizon of share_by_horizon.")] = 90,
    n_boot: Annotated[int, typer.Option(help="Bootstrap resamples of the held-out CIs.")] = 1000,
    seed: Annotated[int, typer.Option(help="Seed of the bootstrap resamples.")] = 0,
) -> None:
    """Search a space of SQO definitions; write frontier.csv, winner.yaml, frontier.png.

    Also writes frontier.yaml (every frontier point as a criterion) and holdout.csv (the
    winner, the seed definition and the built-ins on held-out leads, with 95% CIs).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from qualmodel.criteria.search import criteria_yaml, search_criteria
    from qualmodel.journeys.contract import Journeys
    from qualmodel.plotting.png import png_bytes
    from qualmodel.plotting.search import plot_frontier

    if out.exists() and not out.is_dir():
        raise ConfigError(f"{out}: is a file; give a folder for --out")
    jr = Journeys.read(journeys)
    res = search_criteria(
        jr,
        space,
        objective=objective,
        capacity_per_week=capacity_per_week,
        horizon_days=horizon_days,
        seed=seed,
        holdout_share=holdout_share,
        mature_days=mature_days,
        min_qualified=min_qualified,
        n_boot=n_boot,
    )
    note = f"Searched on {journeys} (split at {res.split_at:%Y-%m-%d}, objective {objective})"
    write_csv_atomic(res.frontier, out / "frontier.csv")
    write_csv_atomic(res.holdout, out / "holdout.csv")
    write_text_atomic(out / "winner.yaml", criteria_yaml([res.winner], description=note))
    write_text_atomic(
        out / "frontier.yaml", criteria_yaml(list(res.criteria.values()), description=note)
    )
    ax = plot_frontier(res)
    png = png_bytes(ax.figure, 120)
    plt.close(ax.figure)
    write_bytes_atomic(out / "frontier.png", png)
    row = res.holdout_row(res.winner.name)
    print(
        f"{out}: {res.settings['n_candidates']} candidates, {len(res.frontier)} on the "
        f"frontier; winner {res.winner.name}: held-out precision {row['precision']:.3f} "
        f"[{row['precision_lo']:.3f}, {row['precision_hi']:.3f}], recall {row['recall']:.3f} "
        f"[{row['recall_lo']:.3f}, {row['recall_hi']:.3f}]"
    )
