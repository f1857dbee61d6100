"""CLI command ``fit-score``: fit lead-scoring points from outcomes into a criteria YAML."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from qualmodel.cli.app import app
from qualmodel.core.atomic import write_text_atomic
from qualmodel.core.safety import check_output, refuse_overlap


@app.command("fit-score")
def fit_score_cmd(
    journeys: Annotated[Path, typer.Option("--journeys", "-j", help="Journeys folder.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Criteria YAML to write.")],
    outcome: Annotated[
        str, typer.Option(help="Stage column (e.g. won_at) or boolean column to predict.")
    ] = "won_at",
    event: Annotated[
        list[str] | None,
        typer.Option("--event", help="Event type to score (repeatable; default: all)."),
    ] = None,
    no_events: Annotated[bool, typer.Option("--no-events", help="Attributes-only model.")] = False,
    attribute: Annotated[
        list[str] | None,
        typer.Option("--attribute", help="Categorical/boolean lead column (repeatable)."),
    ] = None,
    bant: Annotated[
        list[str] | None, typer.Option("--bant", help="budget, authority or need (repeatable).")
    ] = None,
    start: Annotated[str, typer.Option(help="Column where the counting window opens.")] = (
        "created_at"
    ),
    window_days: Annotated[
        float | None, typer.Option(help="Counting window in days (default: whole journey).")
    ] = None,
    max_count: Annotated[int, typer.Option(help="Cap per event type.")] = 5,
    points_per_logit: Annotated[float, typer.Option(help="Points per unit log-odds.")] = 20.0,
    target_probability: Annotated[
        float | None, typer.Option(help="Qualify at this predicted probability (default 2× base).")
    ] = None,
    name: Annotated[str, typer.Option(help="Name of the fitted criterion.")] = "fitted_score",
    coefficients: Annotated[
        Path | None, typer.Option(help="Also write the coefficient table as CSV here.")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace existing output files.")] = False,
) -> None:
    """Fit points per event and attribute by logistic regression; write a criteria YAML."""
    from qualmodel.criteria.scoring import fit_score_criterion
    from qualmodel.criteria.search import criteria_yaml
    from qualmodel.journeys.contract import Journeys

    outputs = {"--out": out, "--coefficients": coefficients}
    refuse_overlap(outputs, {"--journeys": journeys})
    for option, path in outputs.items():
        if path is not None:
            check_output(path, option, force=force, kind="file")
    j = Journeys.read(journeys)
    fit = fit_score_criterion(
        j,
        outcome,
        events=[] if no_events else (event or None),
        attributes=attribute or (),
        bant=bant or (),
        start=start,
        window_days=window_days,
        max_count=max_count,
        points_per_logit=points_per_logit,
        target_probability=target_probability,
        name=name,
    )
    text = criteria_yaml([fit.criterion], description=f"Fitted on {journeys}")
    write_text_atomic(out, text)
    if coefficients is not None:
        write_text_atomic(coefficients, fit.coefficients.to_csv(index=False))
    print(
        f"{out}: criterion '{name}' from {fit.n} leads (excluded {fit.n_excluded}), "
        f"base rate {fit.base_rate:.3f}, threshold {fit.threshold:g} points "
        f"(p ≥ {fit.target_probability:.3f})"
    )
