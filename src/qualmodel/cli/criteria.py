"""CLI commands: ``qualify`` and ``compare`` (qualification criteria)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from qualmodel.cli.app import app
from qualmodel.core.atomic import write_csv_atomic
from qualmodel.core.checks import MAX_BOOT, check_count, check_number, check_seed
from qualmodel.core.errors import ConfigError
from qualmodel.core.safety import check_output, refuse_overlap

FORCE_HELP = "Replace an existing output file."


def _write_csv_atomic(frame: pd.DataFrame, out: Path) -> None:
    """Write ``frame`` to ``out`` through a temporary file in the same folder."""
    write_csv_atomic(frame, out, date_format="%Y-%m-%dT%H:%M:%S.%f")


def _criteria_inputs(sources: list[str]) -> dict[str, Path]:
    """Criteria files named on the command line (built-in names are not files)."""
    parts = [p.strip() for src in sources for p in src.split(",") if p.strip()]
    return {f"--criteria {p}": Path(p) for p in parts if Path(p).exists()}


def _guard(
    outputs: dict[str, Path | None], journeys: Path, criteria: list[str], force: bool
) -> None:
    """Overlap guard and overwrite rule for the CSV outputs of qualify/compare."""
    refuse_overlap(outputs, {"--journeys": journeys, **_criteria_inputs(criteria)})
    for option, path in outputs.items():
        if path is not None:
            check_output(path, option, force=force, kind="file")


def _check_stamp(jr, column: str, option: str, journeys: Path) -> None:
    """``column`` must be a timestamp column of the leads table."""
    leads = jr.leads
    if column not in leads.columns or not pd.api.types.is_datetime64_any_dtype(leads[column].dtype):
        stamps = [c for c in leads.columns if pd.api.types.is_datetime64_any_dtype(leads[c])]
        what = "not a column" if column not in leads.columns else "not a date column"
        raise ConfigError(
            f"{option} '{column}': {what} of {journeys}/leads.parquet; use one of "
            f"{', '.join(stamps)}"
        )


def _plan_stamps(jr, start: str | None, outcome: str, journeys: Path) -> tuple[str, str]:
    """``--start`` / ``--outcome`` as columns: stems and labels resolved, the plan's start."""
    from qualmodel.journeys.outcomes import default_start, resolve_stage

    cols = []
    for value, option in ((start, "--start"), (outcome, "--outcome")):
        if value is None:
            col = default_start(jr.leads)
        elif value in jr.leads.columns:
            col = value
        else:
            try:
                col = resolve_stage(jr, value, option)
            except ConfigError as exc:
                raise ConfigError(f"{exc} (not a column of {journeys}/leads.parquet)") from None
        _check_stamp(jr, col, option, journeys)
        cols.append(col)
    return cols[0], cols[1]


def _load_all(sources: list[str], known: list[str] | None = None):
    from qualmodel.criteria.engine import load_criteria

    crits = []
    for src in sources:
        for part in (s for s in src.split(",") if s.strip()):
            crits.extend(load_criteria(part.strip(), known_events=known))
    names = [c.name for c in crits]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ConfigError(
            f"--criteria: criterion name(s) {', '.join(dup)} appear in more than one file; "
            f"rename them"
        )
    return crits


@app.command("qualify")
def qualify_cmd(
    journeys: Annotated[Path, typer.Option("--journeys", "-j", help="Journeys folder.")],
    criteria: Annotated[
        str, typer.Option("--criteria", "-c", help="Criteria YAML file or built-in scenario name.")
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output CSV file.")],
    name: Annotated[
        str | None, typer.Option("--name", help="Only this criterion (default: all in the file).")
    ] = None,
    strict: Annotated[
        bool,
        typer.Option("--strict/--lenient", help="Unknown event names are errors (default)."),
    ] = True,
    force: Annotated[bool, typer.Option("--force", help=FORCE_HELP)] = False,
) -> None:
    """First time each lead meets each criterion: CSV lead_id, criterion, qualified_at, score."""
    from qualmodel.criteria.engine import qualify
    from qualmodel.journeys.contract import Journeys

    _guard({"--out": out}, journeys, [criteria], force)
    jr = Journeys.read(journeys)
    crits = _load_all([criteria])
    if name is not None:
        crits = [c for c in crits if c.name == name]
        if not crits:
            names = ", ".join(c.name for c in _load_all([criteria]))
            raise ConfigError(f"--name: no criterion '{name}' in {criteria}; choose one of {names}")
    frames = []
    for c in crits:
        r = qualify(jr, c, strict=strict)
        r.insert(1, "criterion", c.name)
        frames.append(r)
    table = pd.concat(frames, ignore_index=True)
    _write_csv_atomic(table, out)
    n = int(table["qualified_at"].notna().sum())
    typer.echo(f"{out}: {len(crits)} criteria × {jr.n_leads} leads, {n} qualifications")


@app.command("compare")
def compare_cmd(
    journeys: Annotated[Path, typer.Option("--journeys", "-j", help="Journeys folder.")],
    criteria: Annotated[
        list[str],
        typer.Option(
            "--criteria",
            "-c",
            help="Criteria YAML file(s) or built-in scenario name(s); repeat or comma-separate.",
        ),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output CSV file (one row/criterion).")],
    horizon_days: Annotated[
        float, typer.Option("--horizon-days", help="Horizon of share_by_horizon (days).")
    ] = 90.0,
    n_boot: Annotated[int, typer.Option("--n-boot", help="Bootstrap resamples (0: none).")] = 1000,
    seed: Annotated[int, typer.Option("--seed", help="Bootstrap seed.")] = 0,
    start: Annotated[
        str | None,
        typer.Option(
            "--start",
            help="Start stage (stem, column or the data's label). Default: the plan's start "
            "(sal if present, else the earliest stage).",
        ),
    ] = None,
    outcome: Annotated[
        str, typer.Option("--outcome", help="Outcome stage (stem, column or label).")
    ] = "won_at",
    pairwise: Annotated[
        Path | None,
        typer.Option("--pairwise", help="Also write McNemar / log-rank tests to this CSV."),
    ] = None,
    strict: Annotated[
        bool,
        typer.Option("--strict/--lenient", help="Unknown event names are errors (default)."),
    ] = True,
    force: Annotated[bool, typer.Option("--force", help="Replace existing output files.")] = False,
) -> None:
    """Compare criteria on the same leads: rates, timing, precision/recall, workload, CIs."""
    from qualmodel.criteria.compare import compare_criteria, pairwise_tests
    from qualmodel.journeys.contract import Journeys

    check_count("--n-boot", n_boot, low=0, high=MAX_BOOT)
    check_number("--horizon-days", horizon_days, low=0, low_open=True)
    check_seed("--seed", seed)
    _guard({"--out": out, "--pairwise": pairwise}, journeys, criteria, force)
    jr = Journeys.read(journeys)
    start, outcome = _plan_stamps(jr, start, outcome, journeys)
    crits = _load_all(criteria)
    if pairwise is not None and len(crits) < 2:
        raise ConfigError("--pairwise needs at least two criteria")
    table = compare_criteria(
        jr,
        crits,
        horizon_days=horizon_days,
        n_boot=n_boot,
        seed=seed,
        start=start,
        outcome=outcome,
        strict=strict,
    )
    pairs = None if pairwise is None else pairwise_tests(jr, crits, start=start, strict=strict)
    _write_csv_atomic(table, out)
    typer.echo(f"{out}: {len(crits)} criteria compared on {int(table['n_leads'].iloc[0])} leads")
    if pairwise is not None:
        _write_csv_atomic(pairs, pairwise)
        typer.echo(f"{pairwise}: {len(crits) * (len(crits) - 1) // 2} pairs")
