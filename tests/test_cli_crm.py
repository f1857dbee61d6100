"""``qualmodel import`` / ``qualmodel mappings``: success, one-line errors, nothing left behind."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest
from crm_helpers import TINY_MAPPING as MAPPING
from crm_helpers import TINY_ROWS as ROWS

from qualmodel import Journeys
from qualmodel.cli import main
from qualmodel.crm.mapping import list_mappings


@pytest.fixture
def tiny(tmp_path):
    (tmp_path / "deals.csv").write_text("\n".join(ROWS) + "\n")
    (tmp_path / "m.yaml").write_text(MAPPING)
    return tmp_path


def run(args, capsys):
    with pytest.raises(SystemExit) as info:
        main(args)
        raise SystemExit(0)
    out = capsys.readouterr()
    return info.value.code, out.out, out.err


def assert_one_line_error(code, err):
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert "Traceback" not in err


def test_import_tiny(tiny, capsys):
    out = tiny / "out"
    code, stdout, err = run(
        [
            "import",
            "--mapping",
            str(tiny / "m.yaml"),
            "--csv",
            str(tiny / "deals.csv"),
            "--out",
            str(out),
        ],
        capsys,
    )
    assert code == 0, err
    assert "imported 2 leads" in stdout
    j = Journeys.read(out)
    assert j.leads["lead_id"].tolist() == ["1", "2"]
    assert j.leads["won_at"].notna().tolist() == [True, False]


def test_existing_out_needs_force(tiny, capsys):
    out = tiny / "out"
    out.mkdir()
    (out / "keep.txt").write_text("x")
    args = ["import", "-m", str(tiny / "m.yaml"), "--csv", str(tiny / "deals.csv"), "-o", str(out)]
    for force in ([], ["--force"]):  # a folder qualmodel did not write: never replaced
        code, _, err = run([*args, *force], capsys)
        assert_one_line_error(code, err)
        assert "not a journeys folder written by qualmodel" in err
        assert (out / "keep.txt").read_text() == "x"
    args[-1] = str(tiny / "out2")
    code, _, err = run(args, capsys)
    assert code == 0, err
    code, _, err = run(args, capsys)
    assert_one_line_error(code, err)
    assert "--force" in err
    code, _, err = run([*args, "--force"], capsys)
    assert code == 0, err
    assert (tiny / "out2" / "leads.parquet").exists()


@pytest.mark.parametrize(
    ("rows", "yaml_text", "expected"),
    [
        (ROWS + ["3,2020-01-01,2020-01-02,Stalled,"], MAPPING, "unknown status value(s) Stalled"),
        (ROWS + ["3,2020-01-01,2020-01-02,Won,2020-31-12"], MAPPING, "line 4, column 'closed'"),
        (ROWS + ["3,2020-01-01,2020-01-02,Won,2019-01-01"], MAPPING, "is before"),
        (ROWS + ["3,2020-01-01,2020-01-02,Won,2020-01-05,x"], MAPPING, "line 4 has 6 fields"),
        (ROWS, MAPPING.replace("lead_id: id", "lead_id: opp_id"), "available columns: id"),
        (ROWS, MAPPING.replace("stages:", "stagez:"), "allowed keys"),
        (ROWS, MAPPING.replace("status:", "status: ["), "invalid YAML at line"),
    ],
    ids=[
        "unknown-stage",
        "bad-date",
        "close-before-engage",
        "field-count",
        "missing-column",
        "unknown-key",
        "yaml-syntax",
    ],
)
def test_bad_input_exit_2_one_line_no_output(tiny, capsys, rows, yaml_text, expected):
    (tiny / "deals.csv").write_text("\n".join(rows) + "\n")
    (tiny / "m.yaml").write_text(yaml_text)
    out = tiny / "out"
    code, _, err = run(
        ["import", "-m", str(tiny / "m.yaml"), "--csv", str(tiny / "deals.csv"), "-o", str(out)],
        capsys,
    )
    assert_one_line_error(code, err)
    assert expected in err
    assert not out.exists()
    assert [p.name for p in tiny.iterdir() if p.name.startswith(".out")] == []


def test_missing_csv_and_bad_table_option(tiny, capsys):
    code, _, err = run(
        [
            "import",
            "-m",
            str(tiny / "m.yaml"),
            "--csv",
            str(tiny / "nope.csv"),
            "-o",
            str(tiny / "o"),
        ],
        capsys,
    )
    assert_one_line_error(code, err)
    assert "nope.csv: no such file" in err
    code, _, err = run(
        [
            "import",
            "-m",
            "maven_crm",
            "--csv",
            str(tiny / "deals.csv"),
            "--table",
            "oops",
            "-o",
            str(tiny / "o"),
        ],
        capsys,
    )
    assert_one_line_error(code, err)
    assert "NAME=FILE" in err
    code, _, err = run(
        ["import", "-m", "maven_crm", "--data-dir", str(tiny / "none"), "-o", str(tiny / "o")],
        capsys,
    )
    assert_one_line_error(code, err)
    assert "sales_pipeline.csv: no such file" in err
    assert not (tiny / "o").exists()


def test_mappings_lists_builtins(capsys):
    code, stdout, _ = run(["mappings"], capsys)
    assert code == 0
    rows = [line.split("\t") for line in stdout.strip().splitlines()]
    names = [r[0] for r in rows]
    assert dict(zip(names, (r[2] for r in rows), strict=True))["hubspot_contacts"] == (
        "--db tables: contacts"
    )
    tables = dict(zip(names, (r[2] for r in rows), strict=True))
    assert tables["salesforce_lead_history_warehouse"] == "--db tables: lead, lead_history"
    assert tables["salesforce_opportunity_history"] == (
        "--db tables: Opportunity, OpportunityHistory"
    )
    assert tables["hubspot_deal_stage"] == "--db tables: deal, deal_stage, deal_pipeline_stage"
    assert tables["hubspot_deal_stages_dbt"] == (
        "--db tables: hubspot__deals, hubspot__deal_stages"
    )
    assert tables["hubspot_contact_property_history"] == (
        "--db tables: contact, contact_property_history"
    )
    assert tables["hubspot_contacts_api"] == "--db tables: contacts"
    assert tables["pipedrive_deal_flow"] == "--db tables: deals, deal_flow, stages"
    files = dict(zip(names, (r[1] for r in rows), strict=True))
    assert files["pipedrive_deal_flow"] == "deals.csv, deal_flow.csv, stages.csv"
    assert files["maven_crm"] == "sales_pipeline.csv, accounts.csv, products.csv, sales_teams.csv"
    assert names == list_mappings()  # every built-in, in the library's order


@pytest.mark.realdata
def test_import_maven_builtin_data_dir(shared_data, tmp_path, capsys):
    out = tmp_path / "maven"
    code, stdout, err = run(
        ["import", "-m", "maven_crm", "--data-dir", str(shared_data / "maven_crm"), "-o", str(out)],
        capsys,
    )
    assert code == 0, err
    assert "imported 8300 leads" in stdout and "deal_stage=Prospecting 500" in stdout
    j = Journeys.read(out)
    assert j.n_leads == 8300 and j.meta["import"]["dropped"] == {"deal_stage=Prospecting": 500}


@pytest.mark.realdata
def test_subprocess_x_education_and_error(shared_data, tmp_path):
    exe = [sys.executable, "-m", "qualmodel"]
    out = tmp_path / "x"
    proc = subprocess.run(
        [
            *exe,
            "import",
            "-m",
            "x_education",
            "--csv",
            str(shared_data / "x_education" / "Leads.csv"),
            "-o",
            str(out),
            "--observed-until",
            "2020-01-01",
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    j = Journeys.read(out)
    assert j.n_leads == 9240 and j.meta["timing"] == "none"
    # a date-only cut-off is the end of that day
    assert (j.leads["observed_until"] == pd.Timestamp("2020-01-02") - pd.Timedelta(1, "ns")).all()
    bad = tmp_path / "bad.csv"
    bad.write_text('Prospect ID,Lead Number\n"a,1\n')
    proc = subprocess.run(
        [*exe, "import", "-m", "x_education", "--csv", str(bad), "-o", str(tmp_path / "y")],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and proc.stderr.count("\n") == 1
    assert "bad.csv: line 2" in proc.stderr and "quote" in proc.stderr
    assert not (tmp_path / "y").exists()
