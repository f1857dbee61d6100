"""History rules: first/last occurrence, re-opened and skipped stages, bad rows and cases."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from qualmodel.core.errors import ConfigError, InputError
from qualmodel.crm.history import build_history, event_name
from qualmodel.crm.history_mapping import HistorySpec
from qualmodel.crm.logs import read_log

STAGES = {
    "Created": "created",
    "MQL": "mql",
    "Accepted": "sal",
    "Qualified": "sqo",
    "Closed Won": "won",
    "Closed Lost": "lost",
    "Disqualified": "disqualified",
}


def _spec(**kw) -> HistorySpec:
    base = {
        "file": "h.csv",
        "case_id": "case",
        "activity": "activity",
        "timestamp": "ts",
        "stages": STAGES,
        "touchpoints": {"Email Opened": "email_open", "Demo": "demo"},
        "ignore": ["Note"],
    }
    return HistorySpec.model_validate(base | kw)


def _build(tmp_path: Path, rows: list[tuple], **kw):
    path = tmp_path / "h.csv"
    pd.DataFrame(rows, columns=["case", "activity", "ts"]).to_csv(path, index=False)
    spec = _spec(**kw)
    return build_history(read_log(path, spec, "history"), spec)


def _case(res, case: str) -> pd.Series:
    return res.cases.set_index("case").loc[case]


BASIC = [
    ("A", "Created", "2024-01-01 09:00"),
    ("A", "MQL", "2024-01-02"),
    ("A", "Email Opened", "2024-01-03"),
    ("A", "Accepted", "2024-01-05"),
    ("A", "Note", "2024-01-06"),
    ("A", "Qualified", "2024-01-10"),
    ("A", "Accepted", "2024-01-12"),  # re-opened: SAL again after SQO
    ("A", "Qualified", "2024-01-20"),
    ("A", "Closed Won", "2024-02-01"),
    ("B", "Created", "2024-01-03"),
    ("B", "Demo", "2024-01-04"),
]


def test_first_occurrence_default_and_counts(tmp_path):
    res = _build(tmp_path, BASIC)
    a = _case(res, "A")
    assert a["created_at"] == pd.Timestamp("2024-01-01 09:00")
    assert a["sal_at"] == pd.Timestamp("2024-01-05")
    assert a["sqo_at"] == pd.Timestamp("2024-01-10")
    assert a["won_at"] == pd.Timestamp("2024-02-01")
    assert pd.isna(_case(res, "B")["mql_at"])
    assert res.info["repeated"] == {"sal": 1, "sqo": 1}
    assert res.info["ignored"] == {"Note": 1}
    assert res.events["event"].tolist() == ["email_open", "demo"]
    assert res.events["case"].tolist() == ["A", "B"]


def test_last_occurrence_per_stage(tmp_path):
    res = _build(tmp_path, BASIC, occurrence={"sqo": "last"})
    a = _case(res, "A")
    assert a["sqo_at"] == pd.Timestamp("2024-01-20")
    assert a["sal_at"] == pd.Timestamp("2024-01-05")  # default stays first


def test_first_means_earliest_not_file_order(tmp_path):
    rows = [("A", "Accepted", "2024-03-01"), ("A", "Accepted", "2024-02-01")]
    res = _build(tmp_path, rows)
    assert _case(res, "A")["sal_at"] == pd.Timestamp("2024-02-01")
    assert _case(res, "A")["created_at"] == pd.Timestamp("2024-02-01")  # first row fallback


def test_skipped_stage_kept_empty_or_filled(tmp_path):
    rows = [("A", "Created", "2024-01-01"), ("A", "Qualified", "2024-01-09")]
    keep = _build(tmp_path, rows)
    assert pd.isna(_case(keep, "A")["sal_at"])
    assert keep.info["skipped"] == {"sal": 1, "mql": 1}
    fill = _build(tmp_path, rows, skipped_stages="fill")
    assert _case(fill, "A")["sal_at"] == pd.Timestamp("2024-01-09")
    assert _case(fill, "A")["mql_at"] == pd.Timestamp("2024-01-09")
    assert fill.info["filled"] == {"sal": 1, "mql": 1}


def test_won_and_lost_error_or_last(tmp_path):
    rows = [
        ("A", "Created", "2024-01-01"),
        ("A", "Closed Lost", "2024-01-05"),
        ("A", "Closed Won", "2024-02-01"),
    ]
    with pytest.raises(InputError) as err:
        _build(tmp_path, rows)
    msg = str(err.value)
    assert "h.csv: line 4, column 'ts': case 'A' is both won (line 4" in msg
    assert "won_and_lost: last" in msg and "\n" not in msg
    res = _build(tmp_path, rows, won_and_lost="last")
    a = _case(res, "A")
    assert a["won_at"] == pd.Timestamp("2024-02-01") and pd.isna(a["lost_at"])
    assert res.info["won_and_lost_kept_last"] == 1
    dropped = _build(tmp_path, [*rows, ("B", "Created", "2024-01-01")], on_invalid="drop")
    assert dropped.cases["case"].tolist() == ["B"]
    assert dropped.info["dropped_cases"] == {"both won and lost": 1}


def test_unknown_activities_listed_with_counts(tmp_path):
    rows = [
        *BASIC,
        ("A", "Call", "2024-01-04"),
        ("B", "Call", "2024-01-05"),
        ("B", "Fax", "2024-01-06"),
    ]
    with pytest.raises(InputError) as err:
        _build(tmp_path, rows)
    msg = str(err.value)
    assert "2 unknown activity name(s) (with row counts): 'Call' (2), 'Fax' (1)" in msg
    assert "line 13, column 'activity'" in msg and "other_activities: event" in msg
    res = _build(tmp_path, rows, other_activities="event")
    assert res.info["events"]["call"] == 2 and res.info["events"]["fax"] == 1
    res = _build(tmp_path, rows, other_activities="ignore")
    assert res.info["ignored"] == {"Note": 1, "Call": 2, "Fax": 1}


def test_out_of_order_stages(tmp_path):
    rows = [
        ("A", "Created", "2024-01-01"),
        ("A", "Qualified", "2024-01-03"),
        ("A", "Accepted", "2024-01-05"),
    ]
    with pytest.raises(InputError) as err:
        _build(tmp_path, rows)
    msg = str(err.value)
    assert msg.startswith(f"{tmp_path / 'h.csv'}: line 3, column 'ts': case 'A' reaches sqo_at")
    assert "before sal_at (line 4" in msg and "timestamps out of order" in msg
    res = _build(tmp_path, [*rows, ("B", "Created", "2024-01-01")], on_invalid="drop")
    assert res.cases["case"].tolist() == ["B"]
    assert res.info["dropped_cases"] == {"timestamps out of order": 1}


def test_stage_before_created_activity(tmp_path):
    rows = [("A", "MQL", "2024-01-01"), ("A", "Created", "2024-01-05")]
    with pytest.raises(InputError, match="line 2, column 'ts': case 'A' reaches mql_at"):
        _build(tmp_path, rows)


def test_touchpoint_before_created(tmp_path):
    rows = [("A", "Demo", "2024-01-01"), ("A", "Created", "2024-01-05")]
    with pytest.raises(InputError, match=r"line\(s\) 2, column .ts.: touchpoint before the lead"):
        _build(tmp_path, rows)
    res = _build(tmp_path, rows, on_invalid="drop")
    assert res.events.empty and res.info["cases"] == 1


def test_duplicates_error_or_drop(tmp_path):
    rows = [*BASIC, ("B", "Demo", "2024-01-04")]
    with pytest.raises(InputError) as err:
        _build(tmp_path, rows)
    assert "line(s) 13, column 'activity': duplicate event" in str(err.value)
    assert "duplicates: drop" in str(err.value)
    res = _build(tmp_path, rows, duplicates="drop")
    assert res.info["events"] == {"email_open": 1, "demo": 1}
    assert res.info["dropped_rows"] == {"duplicate event": 1}


def test_unparseable_and_empty_timestamps(tmp_path):
    rows = [*BASIC, ("B", "Demo", "yesterday"), ("B", "Demo", None)]
    with pytest.raises(InputError) as err:
        _build(tmp_path, rows)
    msg = str(err.value)
    assert "line(s) 14, column 'ts': empty timestamp" in msg  # empty checked first
    rows = [*BASIC, ("B", "Demo", "yesterday")]
    with pytest.raises(InputError) as err:
        _build(tmp_path, rows)
    msg = str(err.value)
    assert "line(s) 13, column 'ts': unparseable timestamp (e.g. 'yesterday')" in msg
    assert "dates.format" in msg
    res = _build(tmp_path, rows, on_invalid="drop")
    assert res.info["dropped_rows"] == {"unparseable timestamp": 1}


def test_unknown_lead_with_leads_table(tmp_path):
    path = tmp_path / "h.csv"
    pd.DataFrame(BASIC, columns=["case", "activity", "ts"]).to_csv(path, index=False)
    spec = _spec(
        stages={k: v for k, v in STAGES.items() if v != "created"}, ignore=["Note", "Created"]
    )
    log = read_log(path, spec, "history")
    created = np.array(["2024-01-01"], dtype="datetime64[ns]")
    with pytest.raises(InputError) as err:
        build_history(log, spec, lead_keys=pd.Index(["A"]), created=created, leads_file="leads.csv")
    msg = str(err.value)
    assert (
        "line(s) 11, 12, column 'case': history row for unknown lead(s) B (not in leads.csv)" in msg
    )
    res = build_history(
        log,
        spec.model_copy(update={"on_invalid": "drop"}),
        lead_keys=pd.Index(["A"]),
        created=created,
    )
    assert res.cases["case"].tolist() == ["A"] and res.info["events"] == {"email_open": 1}


def test_explicit_cutoff_drops_later_rows(tmp_path):
    path = tmp_path / "h.csv"
    pd.DataFrame(BASIC, columns=["case", "activity", "ts"]).to_csv(path, index=False)
    spec = _spec()
    res = build_history(read_log(path, spec, "history"), spec, cutoff=pd.Timestamp("2024-01-15"))
    a = _case(res, "A")
    assert pd.isna(a["won_at"]) and a["sqo_at"] == pd.Timestamp("2024-01-10")
    assert res.info["dropped_rows"] == {"after the data cut-off": 2}


def test_spec_validation():
    with pytest.raises(ValueError, match="listed under both stages and ignore"):
        _spec(ignore=["MQL"])
    with pytest.raises(ValueError, match="unknown stage"):
        _spec(occurrence={"sqo_at": "last"})
    with pytest.raises(ValueError, match="a target is one of"):
        _spec(stages={"MQL": "Qualified Lead"})
    # a snake_case name is an extra outcome (the mapping checks it is declared under outcomes:)
    assert _spec(stages={"MQL": "qualified"}).extra_stages() == ["qualified"]
    with pytest.raises(ValueError, match="snake_case"):
        _spec(touchpoints={"Demo": "Demo Done"})
    assert _spec(occurrence="last").take("sal") == "last"
    assert isinstance(ConfigError("x"), ValueError)


def test_event_name():
    assert event_name("Email Opened") == "email_opened"
    assert event_name("W_Completeren aanvraag") == "w_completeren_aanvraag"


def test_duplicate_found_among_other_rows_at_the_same_time(tmp_path):
    rows = [
        ("A", "Created", "2024-01-01"),
        ("A", "Demo", "2024-01-02"),
        ("A", "Email Opened", "2024-01-02"),
        ("A", "Demo", "2024-01-02"),
        ("A", "Email Opened", "2024-01-03"),
    ]
    res = _build(tmp_path, rows, duplicates="drop")
    assert res.info["dropped_rows"] == {"duplicate event": 1}
    assert res.events["event"].tolist() == ["demo", "email_open", "email_open"]
    with pytest.raises(InputError, match=r"line\(s\) 5, column 'activity': duplicate event"):
        _build(tmp_path, rows)
