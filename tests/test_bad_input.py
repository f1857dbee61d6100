"""Hostile input: every case exits 2 with ONE ``error:`` line and leaves every file unchanged.

One parametrised case per class of issue 15 (outputs over inputs, corrupt input, notebook
parameters, YAML alias bombs, tracebacks, misplaced messages) and more; the world, the
file hashing and the checks live in ``bad_input_helpers.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from bad_input_helpers import (
    BOMB,
    CMP,
    FIT,
    IMP,
    MAPPING,
    ONE_CRITERION,
    QUAL,
    REP,
    SIM,
    SURV,
    _copy_journeys,
    _flip_bytes,
    _link,
    _remove,
    _scenario_edit,
    _truncate,
    _write,
    assert_refused,
    run_cli,
)

# (id, args, expected parts of the error line, set-up) — grouped by the classes
CASES = [
    # 1. outputs that are, contain or lie inside an input (or a foreign folder)
    (
        "simulate-out-crm-folder",
        [*SIM, "--out", "raw"],
        ["raw", "not a journeys folder", "choose another --out"],
        None,
    ),
    (
        "simulate-out-crm-folder-force",
        [*SIM, "--out", "raw", "--force"],
        ["raw", "even with --force"],
        None,
    ),
    (
        "simulate-out-contains-scenario",
        ["simulate", "-s", "sub/scen.yaml", "-n", "50", "--out", "sub", "--force"],
        ["contains the input file", "scen.yaml", "--scenario"],
        None,
    ),
    (
        "simulate-out-dot",
        [*SIM, "--out", "."],
        ["not a journeys folder", "choose another --out"],
        None,
    ),
    (
        "report-out-contains-journeys",
        [*REP, "--out", "{w}"],
        ["contains the input folder", "--journeys", "choose another --out"],
        None,
    ),
    ("report-out-is-journeys", [*REP, "--out", "J"], ["is the input folder", "J"], None),
    (
        "import-out-raw-export-force",
        [*IMP, "--out", "raw", "--force"],
        ["contains the input file", "deals.csv"],
        None,
    ),
    (
        "import-out-is-csv",
        [*IMP, "--out", "raw/deals.csv", "--force"],
        ["is the input file", "deals.csv"],
        None,
    ),
    (
        "survival-out-journeys-force",
        [*SURV, "-o", "J", "--force"],
        ["is the input folder", "--journeys"],
        None,
    ),
    ("survival-out-dot", [*SURV, "-o", "."], ["contains the input folder"], None),
    (
        "qualify-out-leads-parquet",
        [*QUAL, "-o", "J/leads.parquet"],
        ["lies inside the input folder", "leads.parquet"],
        None,
    ),
    (
        "qualify-out-criteria-force",
        [*QUAL, "-o", "crit.yaml", "--force"],
        ["is the input file", "crit.yaml"],
        None,
    ),
    (
        "funnel-csv-meta-json",
        ["funnel", "J", "--csv", "J/meta.json", "--force"],
        ["lies inside the input folder", "meta.json"],
        None,
    ),
    ("funnel-csv-journeys-folder", ["funnel", "J", "--csv", "J"], ["is the input folder"], None),
    (
        "fit-score-out-events",
        [*FIT, "-o", "J/events.parquet", "--force"],
        ["lies inside the input folder", "events.parquet"],
        None,
    ),
    (
        "fit-score-out-equals-coefficients",
        [*FIT, "-o", "f.yaml", "--coefficients", "f.yaml"],
        ["--out", "--coefficients", "overlap"],
        None,
    ),
    (
        "compare-out-equals-pairwise",
        [*CMP, "-c", "crit.yaml", "-o", "x.csv", "--pairwise", "x.csv"],
        ["--pairwise", "overlap"],
        None,
    ),
    (
        "compare-pairwise-is-criteria",
        [*CMP, "-o", "x.csv", "-c", "crit.yaml", "--pairwise", "crit.yaml", "--force"],
        ["--pairwise", "is the input file", "crit.yaml"],
        None,
    ),
    (
        "power-out-is-baseline",
        [
            "power",
            "-s",
            "startup_saas",
            "--baseline",
            "crit.yaml",
            "--candidate",
            "x",
            "-o",
            "crit.yaml",
            "--force",
        ],
        ["is the input file", "--baseline"],
        None,
    ),
    # existing outputs without --force
    (
        "qualify-existing-out",
        [*QUAL, "-o", "existing.txt"],
        ["existing.txt", "already exists", "--force"],
        None,
    ),
    (
        "simulate-existing-journeys",
        [*SIM, "--out", "J2"],
        ["J2", "already exists", "--force"],
        _copy_journeys("J2"),
    ),
    (
        "import-existing-journeys",
        [*IMP, "--out", "J2"],
        ["J2", "already exists", "--force"],
        _copy_journeys("J2"),
    ),
    (
        "survival-foreign-folder-force",
        [*SURV, "-o", "raw", "--force"],
        ["raw", "not a qualmodel survival folder", "even with --force"],
        None,
    ),
    (
        "report-foreign-folder",
        [*REP, "--out", "raw"],
        ["raw", "not a qualmodel report folder"],
        None,
    ),
    # 2. corrupt input accepted silently
    (
        "leads-parquet-flipped-bytes",
        ["validate", "J"],
        ["leads.parquet", "checksum", "re-create"],
        _flip_bytes("leads.parquet"),
    ),
    (
        "events-parquet-flipped-bytes",
        ["funnel", "J"],
        ["events.parquet", "checksum", "re-import"],
        _flip_bytes("events.parquet"),
    ),
    (
        "events-parquet-truncated",
        [*QUAL, "-o", "q.csv"],
        ["events.parquet", "checksum"],
        _truncate("events.parquet"),
    ),
    (
        "meta-json-bad-checksums",
        ["validate", "J"],
        ["meta.json", "checksums", "re-create"],
        _write("J/meta.json", '{"checksums": 3, "qualmodel_version": "0"}'),
    ),
    # 3. notebook parameters validated like the CLI, before any kernel starts
    (
        "param-horizon-negative",
        [*REP, "-p", "horizon_days=-90", "--out", "r"],
        ["--param horizon_days", "(0, 36500]"],
        None,
    ),
    (
        "param-horizon-nan",
        [*REP, "-p", "horizon_days=nan", "--out", "r"],
        ["--param horizon_days", "nan"],
        None,
    ),
    (
        "param-horizon-inf",
        [*REP, "-p", "horizon_days=inf", "--out", "r"],
        ["--param horizon_days"],
        None,
    ),
    (
        "param-n-leads-zero",
        ["report", "-s", "startup_saas", "-p", "n_leads=0", "--out", "r"],
        ["--param n_leads", "1 to 50,000,000"],
        None,
    ),
    (
        "param-seed-negative",
        ["report", "-s", "startup_saas", "-p", "seed=-1", "--out", "r"],
        ["--param seed", "from 0 to 2**63 - 1"],
        None,
    ),
    ("param-n-boot-negative", [*REP, "-p", "n_boot=-5", "--out", "r"], ["--param n_boot"], None),
    (
        "param-target-unknown",
        [*REP, "-p", "target=signed_at", "--out", "r"],
        ["--param target 'signed_at'", "no such stage", "won"],
        None,
    ),
    # 4. YAML alias bombs: one safe loader for every file
    (
        "criteria-alias-bomb",
        [*QUAL[:4], "bomb.yaml", "-o", "q.csv"],
        ["bomb.yaml", "line 2", "alias"],
        _write("bomb.yaml", BOMB),
    ),
    (
        "scenario-alias-bomb",
        ["simulate", "-s", "bomb.yaml", "--out", "s"],
        ["bomb.yaml", "alias"],
        _write("bomb.yaml", BOMB),
    ),
    (
        "scenario-alias-simple",
        ["simulate", "-s", "bad.yaml", "--out", "s"],
        ["bad.yaml", "alias '*sd'"],
        _scenario_edit("intent:\n  sd: 1.0", "intent:\n  sd: &sd 1.0\n  other: *sd"),
    ),
    # 5. tracebacks that must be one line
    (
        "scenario-impossible-date",
        ["simulate", "-s", "bad.yaml", "--out", "s"],
        ["bad.yaml", "line 10", "impossible date '2017-02-30'"],
        _scenario_edit('start: "2025-01-01"', "start: 2017-02-30"),
    ),
    (
        "scenario-sd-overflow",
        ["simulate", "-s", "bad.yaml", "--out", "s"],
        ["bad.yaml", "intent.sd", "less than or equal to 20"],
        _scenario_edit("sd: 1.0", "sd: 1e308"),
    ),
    (
        "scenario-sd-nan",
        ["simulate", "-s", "bad.yaml", "--out", "s"],
        ["bad.yaml", "intent.sd", "finite"],
        _scenario_edit("sd: 1.0", "sd: .nan"),
    ),
    (
        "scenario-window-days-huge",
        ["simulate", "-s", "bad.yaml", "--out", "s"],
        ["bad.yaml", "window.days", "less than or equal to 10950"],
        _scenario_edit("days: 365\n", "days: 1e9\n"),
    ),
    (
        "scenario-log-odds-huge",
        ["simulate", "-s", "bad.yaml", "--out", "s"],
        ["bad.yaml", "intent_log_odds", "less than or equal to 50"],
        _scenario_edit("intent_log_odds: 1.2", "intent_log_odds: 1e300"),
    ),
    (
        "scenario-n-leads-huge",
        ["simulate", "-s", "bad.yaml", "--out", "s"],
        ["bad.yaml", "n_leads", "50000000"],
        _scenario_edit("n_leads: 50000", "n_leads: 99999999999"),
    ),
    (
        "scenario-not-utf8",
        ["simulate", "-s", "bad.yaml", "--out", "s"],
        ["bad.yaml", "not UTF-8", "save it as UTF-8"],
        _write("bad.yaml", "name: caf\xe9\n".encode("latin-1")),
    ),
    (
        "criteria-not-utf8",
        [*QUAL[:4], "bad.yaml", "-o", "q.csv"],
        ["bad.yaml", "not UTF-8"],
        _write("bad.yaml", "criteria: caf\xe9\n".encode("latin-1")),
    ),
    (
        "meta-json-not-utf8",
        ["validate", "J"],
        ["meta.json", "not UTF-8"],
        _write("J/meta.json", b'{"source": "caf\xe9"}'),
    ),
    (
        "meta-json-not-object",
        ["validate", "J"],
        ["meta.json", "expected a JSON object"],
        _write("J/meta.json", "[1, 2]"),
    ),
    (
        "qualify-out-dot",
        [*QUAL, "-o", "."],
        ["contains the input folder", "choose another --out"],
        None,
    ),
    (
        "qualify-out-a-folder",
        [*QUAL, "-o", "raw"],
        ["raw", "is a folder", "give a file path"],
        None,
    ),
    (
        "funnel-csv-a-folder",
        ["funnel", "J", "--csv", "raw", "--force"],
        ["--csv", "is a folder"],
        None,
    ),
    (
        "simulate-out-existing-file",
        [*SIM, "--out", "existing.txt", "--force"],
        ["existing.txt", "is not a folder"],
        None,
    ),
    (
        "survival-out-existing-file",
        [*SURV, "-o", "existing.txt", "--force"],
        ["existing.txt", "is not a folder"],
        None,
    ),
    (
        "compare-outcome-not-date",
        [*CMP, "--outcome", "segment", "-o", "c.csv"],
        ["--outcome 'segment'", "not a date column", "won_at"],
        None,
    ),
    (
        "compare-outcome-unknown",
        [*CMP, "--outcome", "nope", "-o", "c.csv"],
        ["--outcome 'nope'", "no such stage"],
        None,
    ),
    (
        "compare-start-not-date",
        [*CMP, "--start", "lead_id", "-o", "c.csv"],
        ["--start 'lead_id'", "not a date column"],
        None,
    ),
    ("validate-a-file", ["validate", "existing.txt"], ["existing.txt", "is a file"], None),
    # more of our own: paths in disguise, other corrupt or missing pieces
    (
        "qualify-out-symlink-to-leads",
        [*QUAL, "-o", "q.csv", "--force"],
        ["lies inside the input folder", "leads.parquet"],
        _link("q.csv", "J/leads.parquet"),
    ),
    (
        "qualify-out-hardlink-to-criteria",
        [*QUAL, "-o", "h.yaml", "--force"],
        ["is the input file", "--criteria"],
        _link("h.yaml", "crit.yaml", hard=True),
    ),
    (
        "qualify-out-dotdot-path",
        [*QUAL, "-o", "J/../J/leads.parquet", "--force"],
        ["lies inside the input folder"],
        None,
    ),
    (
        "survival-out-inside-journeys",
        [*SURV, "-o", "J/surv"],
        ["lies inside the input folder"],
        None,
    ),
    (
        "power-plot-equals-out",
        [
            "power",
            "-s",
            "startup_saas",
            "--baseline",
            "crit.yaml",
            "--candidate",
            "x",
            "-o",
            "p.png",
            "--plot",
            "p.png",
        ],
        ["--out", "--plot", "overlap"],
        None,
    ),
    (
        "compare-pairwise-one-criterion",
        [*CMP[:4], "one.yaml", "--n-boot", "0", "-o", "c.csv", "--pairwise", "p.csv"],
        ["--pairwise needs at least two criteria"],
        _write("one.yaml", ONE_CRITERION),
    ),
    (
        "criteria-python-tag",
        [*QUAL[:4], "bad.yaml", "-o", "q.csv"],
        ["bad.yaml", "invalid YAML", "line 1"],
        _write("bad.yaml", "criteria: !!python/object/apply:os.system [echo]\n"),
    ),
    (
        "journeys-missing-events",
        ["validate", "J"],
        ["events.parquet", "missing"],
        _remove("J/events.parquet"),
    ),
    (
        "meta-json-invalid-json",
        ["validate", "J"],
        ["meta.json", "invalid JSON", "line 1"],
        _write("J/meta.json", "{nope"),
    ),
    (
        "param-criteria-file-missing",
        [*REP, "-p", "criteria_file=missing.yaml", "--out", "r"],
        ["--param criteria_file", "no such file"],
        None,
    ),
    (
        "report-out-existing-file",
        [*REP, "--out", "existing.txt"],
        ["existing.txt", "is not a folder"],
        None,
    ),
    (
        "import-out-existing-file",
        [*IMP, "--out", "existing.txt", "--force"],
        ["existing.txt", "is not a folder"],
        None,
    ),
    (
        "report-journeys-not-a-folder",
        ["report", "--journeys", "existing.txt", "--out", "r"],
        ["existing.txt", "is a file"],
        None,
    ),
]


@pytest.mark.parametrize(
    ("args", "expected", "setup"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_bad_input_is_one_line_and_changes_nothing(args, expected, setup, world, capsys):
    assert_refused(args, world, capsys, expected, setup)


# --------------------------------------------------------------------------- importer
LOOKUP_MAPPING = (
    MAPPING
    + """\
attributes:
  amount: {column: amount, type: int}
  size: {column: size, type: float}
lookups:
  regions: {file: regions.csv, key: region, columns: {size: size}}
"""
)
GOOD_ROWS = [
    "id,created,engaged,stage,closed,amount,region",
    "1,2020-01-01,2020-01-02,Won,2020-01-10,10,north",
    "2,2020-01-01,2020-01-03,Open,,5,south",
]
REGIONS = "region,size\nnorth,1.5\nsouth,2\n"


def _crm(rows: list[str] | bytes, mapping: str = LOOKUP_MAPPING, regions: str = REGIONS):
    def setup(w: Path) -> None:
        data = rows if isinstance(rows, bytes) else ("\n".join(rows) + "\n").encode()
        (w / "crm").mkdir()
        (w / "crm" / "deals.csv").write_bytes(data)
        (w / "crm" / "m.yaml").write_text(mapping, encoding="utf-8")
        (w / "crm" / "regions.csv").write_text(regions, encoding="utf-8")

    return setup


CRM = ["import", "-m", "crm/m.yaml", "--csv", "crm/deals.csv", "--out", "imported"]
NUL_ROWS = ("\n".join(GOOD_ROWS).replace(",10,", ",1\x002,") + "\n").encode()
IMPORTER_CASES = [
    ("good-crm-imports", None, None, _crm(GOOD_ROWS)),  # control: the fixture itself is fine
    (
        "nul-byte-in-number",
        CRM,
        ["deals.csv", "line 2", "column 'amount'", "NUL byte", "re-export"],
        _crm(NUL_ROWS),
    ),
    (
        "nul-byte-in-lookup",
        CRM,
        ["regions.csv", "line 3", "column 'size'", "NUL byte"],
        _crm(GOOD_ROWS, regions="region,size\nnorth,1.5\nsouth,2\x00\n"),
    ),
    (
        "duplicated-header",
        CRM,
        ["deals.csv", "line 1", "duplicated column name(s) amount", "rename"],
        _crm([GOOD_ROWS[0] + ",amount", *(r + ",7" for r in GOOD_ROWS[1:])]),
    ),
    (
        "duplicated-header-lookup",
        CRM,
        ["regions.csv", "duplicated column name(s) size"],
        _crm(GOOD_ROWS, regions="region,size,size\nnorth,1,2\n"),
    ),
    (
        "integer-23-digits",
        CRM,
        ["deals.csv", "line 3", "column 'amount'", "too large", "type: str"],
        _crm([*GOOD_ROWS[:2], GOOD_ROWS[2].replace(",5,", ",12345678901234567890123,")]),
    ),
    (
        "float-overflow",
        CRM,
        ["regions.csv", "line 2", "column 'size'", "'1e999' is not a number"],
        _crm(GOOD_ROWS, regions="region,size\nnorth,1e999\nsouth,2\n"),
    ),
    (
        "lookup-bad-number",
        CRM,
        ["regions.csv", "line 3", "column 'size'", "'big' is not a number"],
        _crm(GOOD_ROWS, regions="region,size\nnorth,1.5\nsouth,big\n"),
    ),
    (
        "mapping-impossible-date",
        CRM,
        ["m.yaml", "line 10", "impossible date '2017-02-30'", "quote it"],
        _crm(GOOD_ROWS, LOOKUP_MAPPING.replace("2020-12-31", "2017-02-30")),
    ),
    ("mapping-alias-bomb", CRM, ["m.yaml", "alias", "write the value out"], _crm(GOOD_ROWS, BOMB)),
    (
        "mapping-not-utf8",
        CRM,
        ["m.yaml", "not UTF-8"],
        lambda w: (
            _crm(GOOD_ROWS)(w),
            (w / "crm" / "m.yaml").write_bytes("source: caf\xe9\n".encode("latin-1")),
        ),
    ),
    (
        "import-out-is-lookup",
        [*CRM[:-1], "crm/regions.csv", "--force"],
        ["is the input file", "regions.csv", "--table regions"],
        _crm(GOOD_ROWS),
    ),
]


@pytest.mark.parametrize(
    ("args", "expected", "setup"),
    [c[1:] for c in IMPORTER_CASES],
    ids=[c[0] for c in IMPORTER_CASES],
)
def test_bad_crm_export_is_one_line_and_changes_nothing(args, expected, setup, world, capsys):
    if args is None:  # the control case: the same files import fine
        setup(world)
        code, _, err = run_cli(CRM, capsys)
        assert code == 0, err
        assert (world / "imported" / "leads.parquet").is_file()
        return
    assert_refused(args, world, capsys, expected, setup)


READ_ONLY = [
    ("simulate", [*SIM, "--out", "new"]),
    ("import", [*IMP, "--out", "new"]),
    ("survival", [*SURV, "-o", "new"]),
    ("qualify", [*QUAL, "-o", "q.csv"]),
    ("compare", [*CMP, "-o", "c.csv"]),
    ("funnel", ["funnel", "J", "--csv", "f.csv"]),
    ("fit-score", [*FIT, "-o", "f.yaml"]),
    ("report", [*REP, "--out", "r"]),
]


@pytest.mark.parametrize("args", [c[1] for c in READ_ONLY], ids=[c[0] for c in READ_ONLY])
def test_read_only_file_system_is_one_line(args, world, capsys, monkeypatch):
    line = assert_refused(args, world, capsys, ["read-only file system"], None, monkeypatch)
    assert "choose a writable location" in line
