"""Built-in Salesforce history mappings: Data Loader exports and their warehouse forms."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest

from qualmodel.core.errors import InputError
from qualmodel.crm.importer import import_crm
from qualmodel.crm.mapping import load_mapping
from tests.test_crm_history_import import SF_HIST, SF_OPP

LEAD = """\
Id,CreatedDate,Status,IsConverted,ConvertedDate,LeadSource
00Q5g00000BBB1,2024-03-01T08:00:00.000+0000,Closed - Converted,true,2024-03-15,Web
00Q5g00000BBB2,2024-03-02T08:00:00.000+0000,Working - Contacted,false,,Partner
00Q5g00000BBB3,2024-03-03T08:00:00.000+0000,Closed - Not Converted,false,,Web
00Q5g00000BBB4,2024-03-04T08:00:00.000+0000,Open - Not Contacted,false,,Trade Show
"""
LEAD_HIST = """\
Id,LeadId,Field,OldValue,NewValue,CreatedDate,IsDeleted
0175g1,00Q5g00000BBB1,created,,,2024-03-01T08:00:00Z,false
0175g2,00Q5g00000BBB1,Status,Open - Not Contacted,Working - Contacted,2024-03-05T10:00:00Z,false
0175g3,00Q5g00000BBB1,Rating,Warm,Hot,2024-03-06T10:00:00Z,false
0175g4,00Q5g00000BBB1,Status,Working - Contacted,Closed - Converted,2024-03-15T12:00:00Z,false
0175g5,00Q5g00000BBB2,created,,,2024-03-02T08:00:00Z,false
0175g6,00Q5g00000BBB2,Status,Open - Not Contacted,Working - Contacted,2024-03-04T09:00:00Z,false
0175g7,00Q5g00000BBB3,Status,Open - Not Contacted,Working - Contacted,2024-03-05T09:00:00Z,false
0175g8,00Q5g00000BBB3,Owner,Ann,Bob,2024-03-07T09:00:00Z,false
0175g9,00Q5g00000BBB3,Status,Working - Contacted,Closed - Not Converted,2024-03-20T09:00:00Z,false
"""
SNAKE = {
    "Id": "id",
    "CreatedDate": "created_date",
    "LeadSource": "lead_source",
    "Type": "type",
    "Amount": "amount",
    "OpportunityId": "opportunity_id",
    "StageName": "stage_name",
    "CloseDate": "close_date",
    "Probability": "probability",
    "IsDeleted": "is_deleted",
    "Status": "status",
    "IsConverted": "is_converted",
    "ConvertedDate": "converted_date",
    "LeadId": "lead_id",
    "Field": "field",
    "OldValue": "old_value",
    "NewValue": "new_value",
}
OPP = {"Opportunity": SF_OPP, "OpportunityHistory": SF_HIST}
LEADS = {"Lead": LEAD, "LeadHistory": LEAD_HIST}
WAREHOUSE = {"Opportunity": "opportunity", "OpportunityHistory": "opportunity_history"} | {
    "Lead": "lead",
    "LeadHistory": "lead_history",
}


def _write(tmp_path: Path, tables: dict[str, str], snake: bool = False) -> dict[str, Path]:
    """Write the fixture tables as CSV (snake_case names and headers for the warehouse form)."""
    out = {}
    for name, text in tables.items():
        head, rest = text.split("\n", 1)
        if snake:
            name = WAREHOUSE[name]
            head = ",".join(SNAKE[c] for c in head.split(","))
        path = tmp_path / f"{name}.csv"
        path.write_text(f"{head}\n{rest}")
        out[name] = path
    return out


def _duckdb(tmp_path: Path, files: dict[str, Path]) -> str:
    """Load the CSVs into a DuckDB file, booleans typed as the sync does."""
    duck = tmp_path / "crm.duckdb"
    con = duckdb.connect(str(duck))
    for name, path in files.items():
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM read_csv('{path}', all_varchar=true)")
        for col in ("IsDeleted", "is_deleted", "IsConverted", "is_converted"):
            if col in [r[0] for r in con.execute(f"DESCRIBE {name}").fetchall()]:
                con.execute(f"ALTER TABLE {name} ALTER {col} TYPE BOOLEAN")
    con.close()
    return f"duckdb:///{duck}"


def _check_opportunities(leads: pd.DataFrame) -> None:
    leads = leads.set_index("lead_id")
    a1, a2, a3 = (leads.loc[f"0065g00000AAA{i}"] for i in (1, 2, 3))
    assert a1["won_at"] == pd.Timestamp("2024-02-20 09:00") and pd.isna(a1["lost_at"])
    assert a2["sal_at"] == pd.Timestamp("2024-01-03 10:00") and pd.isna(a2["lost_at"])
    assert a3["sqo_at"] == a3["won_at"] == pd.Timestamp("2024-01-09 11:00")
    assert int(leads["sal_at"].notna().sum()) == 3 and int(leads["won_at"].notna().sum()) == 2


def _check_leads(leads: pd.DataFrame) -> None:
    leads = leads.set_index("lead_id")
    b1, b2, b3, b4 = (leads.loc[f"00Q5g00000BBB{i}"] for i in (1, 2, 3, 4))
    assert b1["sal_at"] == pd.Timestamp("2024-03-05 10:00")
    assert b1["sqo_at"] == pd.Timestamp("2024-03-15")  # Lead.ConvertedDate
    assert b2["sal_at"] == pd.Timestamp("2024-03-04 09:00") and pd.isna(b2["sqo_at"])
    assert b3["disqualified_at"] == pd.Timestamp("2024-03-20 09:00") and pd.isna(b3["sqo_at"])
    assert pd.isna(b4["sal_at"]) and b4["created_at"] == pd.Timestamp("2024-03-04 08:00")
    assert list(leads["sal_at"].notna()) == [True, True, True, False]


CASES = [
    ("salesforce_opportunity_history", OPP, False, _check_opportunities),
    ("salesforce_opportunity_history_warehouse", OPP, True, _check_opportunities),
    ("salesforce_lead_history", LEADS, False, _check_leads),
    ("salesforce_lead_history_warehouse", LEADS, True, _check_leads),
]


@pytest.mark.parametrize(("name", "tables", "snake", "check"), CASES)
def test_builtin_gives_the_fixture_journeys_from_csv_parquet_duckdb(
    tmp_path, name, tables, snake, check
):
    files = _write(tmp_path, tables, snake)
    main, hist = files.values()
    csv = import_crm(main, name)
    check(csv.leads)
    pq_hist = hist.with_suffix(".parquet")  # a leads table is read from CSV only
    pd.read_csv(hist, dtype=str, keep_default_na=False).to_parquet(pq_hist)
    pq = import_crm({"main": main, "history": pq_hist}, name)
    db = import_crm(_duckdb(tmp_path, files), name)
    for got in (pq, db):
        pd.testing.assert_frame_equal(got.leads, csv.leads)
        pd.testing.assert_frame_equal(got.events, csv.events)


def test_lead_history_from_postgres_matches_csv(tmp_path, pg_url):
    from tests.test_sql import _to_postgres

    files = _write(tmp_path, LEADS, snake=True)
    want = import_crm(files["lead"], "salesforce_lead_history_warehouse")
    _duckdb(tmp_path, files)
    _to_postgres(pg_url, tmp_path / "crm.duckdb", ("lead", "lead_history"))
    got = import_crm(pg_url, "salesforce_lead_history_warehouse")
    pd.testing.assert_frame_equal(got.leads, want.leads)
    pd.testing.assert_frame_equal(got.events, want.events)


def test_missing_filter_column_names_table_and_key(tmp_path):
    files = _write(tmp_path, OPP)
    hist = files["OpportunityHistory"]
    hist.write_text("\n".join(",".join(r.split(",")[:6]) for r in SF_HIST.splitlines()) + "\n")
    with pytest.raises(InputError) as info:
        import_crm(files["Opportunity"], "salesforce_opportunity_history")
    msg = str(info.value)
    assert "\n" not in msg and "OpportunityHistory.csv: missing column(s) 'IsDeleted'" in msg
    assert "history.drop_rows.IsDeleted" in msg and "fix history in the mapping" in msg


def test_unknown_lead_status_names_value_and_fix(tmp_path):
    files = _write(
        tmp_path, {"Lead": LEAD, "LeadHistory": LEAD_HIST.replace("Closed - Not", "Nurture - Not")}
    )
    with pytest.raises(InputError) as info:
        import_crm(files["Lead"], "salesforce_lead_history")
    msg = str(info.value)
    assert "\n" not in msg and "Nurture - Not Converted" in msg and "LeadHistory.csv" in msg


def test_row_filters_compare_trimmed_case_insensitive_text():
    mp = load_mapping("salesforce_lead_history").model_dump()
    mp["history"]["keep_rows"] = {"Field": ["STATUS", None, True]}
    hist = load_mapping(mp).history
    assert hist.keep_rows == {"Field": ["status", "", "true"]}
