"""Property: every command with an output option, pointed at each of its inputs (and their
folders), is refused with one error line and changes nothing — even with ``--force``."""

from __future__ import annotations

from pathlib import Path

import pytest
from bad_input_helpers import (
    CMP,
    FIT,
    IMP,
    QUAL,
    REP,
    SURV,
    assert_refused,
)

#: Every command with an output option: (label, arguments with ``{OUT}``, output option,
#: inputs (paths relative to the world)). ``--force`` is given wherever the command has it:
#: even forced, no output may destroy an input.
WRITERS = [
    (
        "simulate --out",
        ["simulate", "-s", "sub/scen.yaml", "-n", "50", "--out", "{OUT}", "--force"],
        "--out",
        ["sub/scen.yaml"],
    ),
    ("import --out", [*IMP, "--out", "{OUT}", "--force"], "--out", ["raw/deals.csv", "raw/m.yaml"]),
    (
        "import --out (--data-dir)",
        ["import", "-m", "raw/m.yaml", "--data-dir", "raw", "--out", "{OUT}", "--force"],
        "--out",
        ["raw/deals.csv"],  # the file found through --data-dir
    ),
    ("survival --out", [*SURV, "-o", "{OUT}", "--force"], "--out", ["J"]),
    ("qualify --out", [*QUAL, "-o", "{OUT}", "--force"], "--out", ["J", "crit.yaml"]),
    (
        "compare --out",
        [*CMP, "-c", "crit.yaml", "-o", "{OUT}", "--force"],
        "--out",
        ["J", "crit.yaml"],
    ),
    (
        "compare --pairwise",
        [*CMP, "-c", "crit.yaml", "-o", "c.csv", "--pairwise", "{OUT}", "--force"],
        "--pairwise",
        ["J", "crit.yaml"],
    ),
    ("funnel --csv", ["funnel", "J", "--csv", "{OUT}", "--force"], "--csv", ["J"]),
    ("fit-score --out", [*FIT, "-o", "{OUT}", "--force"], "--out", ["J"]),
    (
        "fit-score --coefficients",
        [*FIT, "-o", "f.yaml", "--coefficients", "{OUT}", "--force"],
        "--coefficients",
        ["J"],
    ),
    (
        "power --out",
        [
            "power",
            "-s",
            "sub/scen.yaml",
            "--baseline",
            "crit.yaml",
            "--candidate",
            "x",
            "-o",
            "{OUT}",
            "--force",
        ],
        "--out",
        ["sub/scen.yaml", "crit.yaml"],
    ),
    (
        "power --plot",
        [
            "power",
            "-s",
            "sub/scen.yaml",
            "--baseline",
            "crit.yaml",
            "--candidate",
            "x",
            "-o",
            "p.csv",
            "--plot",
            "{OUT}",
            "--force",
        ],
        "--plot",
        ["sub/scen.yaml", "crit.yaml"],
    ),
    ("report --out", [*REP, "--out", "{OUT}"], "--out", ["J"]),
    (
        "report --out (criteria_file)",
        [*REP, "-p", "criteria_file=crit.yaml", "--out", "{OUT}"],
        "--out",
        ["J", "crit.yaml"],
    ),
    (
        "report --out (scenario file)",
        ["report", "-s", "sub/scen.yaml", "--out", "{OUT}"],
        "--out",
        ["sub/scen.yaml"],
    ),
]


def _overlap_cases() -> list:
    folders = {"J", "raw", "sub", "."}
    cases = []
    for label, args, option, inputs in WRITERS:
        for rel in inputs:
            targets = [rel, str(Path(rel).parent)]
            if rel in folders:
                inside = "J/leads.parquet" if rel == "J" else f"{rel}/deals.csv"
                targets += [inside, f"{rel}/new.csv"]
            for target in dict.fromkeys(targets):
                ident = f"{label} -> {target}"
                cases.append(pytest.param(args, option, target, id=ident))
    return cases


@pytest.mark.parametrize(("args", "option", "target"), _overlap_cases())
def test_output_pointed_at_an_input_is_refused(args, option, target, world, capsys):
    line = assert_refused([a.replace("{OUT}", target) for a in args], world, capsys, [option])
    assert any(w in line for w in ("input", "overlap", "not a journeys folder", "is a folder"))
