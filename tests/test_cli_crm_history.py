"""``qualmodel import`` with stage histories: dry run, template, bad input (exit 2, one line,
nothing written)."""

from __future__ import annotations

import gzip

import pytest

from qualmodel import Journeys
from qualmodel.cli import main
from qualmodel.crm import load_mapping

MAPPING = """\
source: tiny_history
history:
  file: h.csv
  case_id: case
  activity: activity
  timestamp: ts
  stages: {Created: created, MQL: mql, Accepted: sal, Qualified: sqo, Won: won, Lost: lost}
  touchpoints: {Email Opened: email_open}
"""
GOOD = [
    "case,activity,ts",
    "A,Created,2024-01-01 09:00",
    "A,MQL,2024-01-02",
    "A,Email Opened,2024-01-03",
    "A,Accepted,2024-01-05",
    "A,Qualified,2024-01-10",
    "A,Won,2024-02-01",
    "B,Created,2024-01-03",
    "B,Email Opened,2024-01-04",
    "B,MQL,2024-01-06",
]


def run(args, capsys):
    with pytest.raises(SystemExit) as info:
        main(args)
        raise SystemExit(0)
    out = capsys.readouterr()
    return info.value.code, out.out, out.err


def _write(tmp_path, rows, mapping=MAPPING, name="h.csv"):
    (tmp_path / name).write_text("\n".join(rows) + "\n")
    (tmp_path / "m.yaml").write_text(mapping)
    return tmp_path / name


def _import(tmp_path, capsys, *extra):
    out = tmp_path / "out"
    args = ["import", "--mapping", str(tmp_path / "m.yaml"), "--out", str(out), *extra]
    code, stdout, err = run(args, capsys)
    return code, stdout, err, out


def test_import_history_only(tmp_path, capsys):
    hist = _write(tmp_path, GOOD)
    code, stdout, err, out = _import(tmp_path, capsys, "--history", str(hist))
    assert code == 0, err
    j = Journeys.read(out)
    assert j.leads["lead_id"].tolist() == ["A", "B"]
    assert str(j.leads.loc[0, "won_at"]) == "2024-02-01 00:00:00"
    assert j.leads["observed_until"].unique().tolist() == [j.leads["won_at"].max()]
    assert j.events["event"].tolist() == ["email_open", "email_open"]
    assert "imported 2 leads and 2 events" in stdout


def test_dry_run_reports_and_writes_nothing(tmp_path, capsys):
    rows = [*GOOD, "B,Email Opened,2024-01-04", "C,MQL,not a date", "C,Created,2024-01-01"]
    mapping = MAPPING + "  duplicates: drop\n  on_invalid: drop\n  ignore: [Note]\n"
    hist = _write(tmp_path, [*rows, "C,Note,2024-01-02"], mapping)
    code, stdout, err, out = _import(tmp_path, capsys, "--history", str(hist), "--dry-run")
    assert code == 0, err
    assert not out.exists()
    assert "leads: 3" in stdout
    assert "stages reached: mql 2, sal 1, sqo 1, won 1, lost 0" in stdout
    assert "dropped rows: duplicate event 1, unparseable timestamp 1" in stdout
    assert "ignored activities (rows): Note 1" in stdout
    assert "skipped stages (left empty): mql 1" not in stdout
    assert stdout.strip().endswith("dry run: nothing written")


def test_dry_run_needs_no_out(tmp_path, capsys):
    hist = _write(tmp_path, GOOD)
    args = ["import", "--mapping", str(tmp_path / "m.yaml"), "--history", str(hist), "--dry-run"]
    code, stdout, _ = run(args, capsys)
    assert code == 0 and "stages reached" in stdout
    code, _, err = run(args[:-1], capsys)
    assert code == 2 and "--out: give the journeys folder" in err


def test_template_is_a_valid_starting_mapping(tmp_path, capsys):
    code, stdout, err = run(["mappings", "--template", "history"], capsys)
    assert code == 0, err
    assert stdout.startswith("# qualmodel mapping for a stage history")
    (tmp_path / "my.yaml").write_text(stdout)
    mp = load_mapping(tmp_path / "my.yaml")
    assert mp.history is not None and mp.history.stages["Sales Accepted"] == "sal"
    # the template imports a log written with its own names
    rows = [
        "case_id,activity,timestamp",
        "1,Lead Created,2024-01-01",
        "1,Email Opened,2024-01-02",
        "1,Sales Accepted,2024-01-03",
        "1,Closed Won,2024-01-09",
    ]
    (tmp_path / "history.csv").write_text("\n".join(rows) + "\n")
    code, _, err = run(
        [
            "import",
            "-m",
            str(tmp_path / "my.yaml"),
            "--history",
            str(tmp_path / "history.csv"),
            "--out",
            str(tmp_path / "j"),
        ],
        capsys,
    )
    assert code == 0, err
    assert Journeys.read(tmp_path / "j").leads["sal_at"].notna().all()
    code, _, err = run(["mappings", "--template", "wide"], capsys)
    assert code == 2 and "unknown template; available: history" in err


def _bad(tmp_path, capsys, rows, mapping=MAPPING, extra=()):
    hist = _write(tmp_path, rows, mapping)
    code, stdout, err, out = _import(tmp_path, capsys, "--history", str(hist), *extra)
    assert code == 2, stdout
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name not in ("h.csv", "m.yaml", "l.csv")]
    return lines[0]


def test_bad_unknown_activities_listed_with_counts(tmp_path, capsys):
    msg = _bad(
        tmp_path, capsys, [*GOOD, "A,Call,2024-01-04", "B,Call,2024-01-05", "B,Fax,2024-01-07"]
    )
    assert "h.csv: line 11, column 'activity': 2 unknown activity name(s)" in msg
    assert "'Call' (2), 'Fax' (1)" in msg and "history.ignore" in msg


def test_bad_timestamps_out_of_order(tmp_path, capsys):
    rows = [*GOOD[:4], "A,Accepted,2024-01-12", "A,Qualified,2024-01-10"]
    msg = _bad(tmp_path, capsys, rows)
    assert (
        "h.csv: line 6, column 'ts': case 'A' reaches sqo_at (2024-01-10 00:00:00) before sal_at"
        in msg
    )
    assert "timestamps out of order" in msg and "on_invalid: drop" in msg


def test_bad_won_and_lost(tmp_path, capsys):
    msg = _bad(tmp_path, capsys, [*GOOD, "A,Lost,2024-03-01"])
    assert "h.csv: line 11, column 'ts': case 'A' is both won (line 7, 2024-02-01" in msg
    assert "won_and_lost: last" in msg


def test_bad_duplicate_events(tmp_path, capsys):
    msg = _bad(tmp_path, capsys, [*GOOD, "B,Email Opened,2024-01-04"])
    assert "h.csv: line(s) 11, column 'activity': duplicate event" in msg
    assert "history.duplicates: drop" in msg


def test_bad_unparseable_timestamps(tmp_path, capsys):
    msg = _bad(tmp_path, capsys, [*GOOD, "B,Email Opened,31/02/2024"])
    assert "h.csv: line(s) 11, column 'ts': unparseable timestamp (e.g. '31/02/2024')" in msg
    assert "dates.format" in msg


def test_bad_history_row_for_unknown_lead(tmp_path, capsys):
    (tmp_path / "l.csv").write_text("id,created\nA,2024-01-01\n")
    mapping = MAPPING.replace(
        "source: tiny_history\n", "source: t\nfile: l.csv\nlead_id: id\ncreated_at: created\n"
    )
    mapping = mapping.replace("Created: created, ", "").replace(
        "  touchpoints", "  ignore: [Created]\n  touchpoints"
    )
    msg = _bad(tmp_path, capsys, GOOD, mapping, extra=("--csv", str(tmp_path / "l.csv")))
    assert (
        "h.csv: line(s) 8, 9, 10, column 'case': history row for unknown lead(s) B (not in l.csv)"
        in msg
    )
    assert "history.on_invalid: drop" in msg


def test_bad_malformed_xes(tmp_path, capsys):
    (tmp_path / "m.yaml").write_text(
        "source: x\nhistory:\n  file: log.xes.gz\n  stages: {A_SUBMITTED: created}\n"
    )
    text = (
        '<log><trace><string key="concept:name" value="1"/><event>\n'
        '<string key="concept:name" value="A_SUBMITTED">\n</event></trace></log>'
    )
    (tmp_path / "log.xes.gz").write_bytes(gzip.compress(text.encode()))
    out = tmp_path / "out"
    code, stdout, err = run(
        [
            "import",
            "-m",
            str(tmp_path / "m.yaml"),
            "--history",
            str(tmp_path / "log.xes.gz"),
            "--out",
            str(out),
        ],
        capsys,
    )
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "log.xes.gz: line 3, column 3: malformed XES (mismatched tag)" in err
    assert not out.exists()


def test_history_option_refused_without_history_block(tmp_path, capsys):
    (tmp_path / "m.yaml").write_text("source: s\nfile: a.csv\ncreated_at: c\n")
    code, _, err = run(
        [
            "import",
            "-m",
            str(tmp_path / "m.yaml"),
            "--csv",
            "a.csv",
            "--history",
            "h.csv",
            "--dry-run",
        ],
        capsys,
    )
    assert code == 2 and "no history: block" in err
