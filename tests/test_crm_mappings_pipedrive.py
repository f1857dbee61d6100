"""Built-in Pipedrive mapping: deals, the deal flow's stage moves and the stage names."""

from __future__ import annotations

import duckdb
import pandas as pd

from qualmodel.crm.importer import import_crm
from tests.test_crm_mappings_hubspot import import_error, same, to_duckdb, write

# Pipedrive API field names. Pipeline 1 has today's default stages, pipeline 2 the older ones.
STAGES = """\
id,name,pipeline_id,order_nr,active_flag,deal_probability
1,Qualified,1,1,true,100
2,Contact Made,1,2,true,100
3,Demo Scheduled,1,3,true,100
4,Proposal Made,1,4,true,100
5,Negotiations Started,1,5,true,100
6,Lead In,2,1,true,100
7,Contact Made,2,2,true,100
8,Needs Defined,2,3,true,100
9,Proposal Made,2,4,true,100
10,Negotiations Started,2,5,true,100
"""
DEALS = """\
id,title,add_time,update_time,status,won_time,lost_time,pipeline_id,stage_id,value,lost_reason
1,Acme deal,2024-04-01 09:00:00,2024-04-25 15:00:00,won,2024-04-25 15:00:00,,1,5,5000,
2,Globex deal,2024-04-02 10:00:00,2024-04-10 12:00:00,lost,,2024-04-10 12:00:00,1,2,1200,No budget
3,Initech deal,2024-04-03 11:00:00,2024-04-16 10:00:00,open,,,2,9,8000,
4,Umbrella deal,2024-04-05 08:00:00,2024-04-06 10:00:00,deleted,,,1,2,300,
5,Hooli deal,2024-04-08 14:00:00,2024-04-08 14:00:00,open,,,1,1,700,
"""
FLOW = """\
id,item_id,user_id,field_key,old_value,new_value,is_bulk_update_flag,log_time,change_source
101,1,11,stage_id,1,2,false,2024-04-03 10:00:00,app
102,1,11,value,4000,5000,false,2024-04-03 10:05:00,app
103,1,11,stage_id,2,3,false,2024-04-08 16:00:00,app
104,1,11,stage_id,3,4,false,2024-04-15 09:00:00,app
105,1,11,stage_id,4,5,false,2024-04-20 11:00:00,app
106,1,11,status,open,won,false,2024-04-25 15:00:00,app
107,2,12,stage_id,1,2,false,2024-04-04 09:30:00,app
108,2,12,status,open,lost,false,2024-04-10 12:00:00,app
109,3,11,stage_id,6,7,false,2024-04-05 10:00:00,api
110,3,11,stage_id,7,8,false,2024-04-09 13:00:00,api
111,3,11,stage_id,8,7,false,2024-04-11 13:00:00,api
112,3,11,stage_id,7,9,false,2024-04-16 10:00:00,api
113,4,12,stage_id,1,2,false,2024-04-06 10:00:00,app
"""
TABLES = {"deals": DEALS, "deal_flow": FLOW, "stages": STAGES}
T = pd.Timestamp
_TYPES = {
    "id": "INTEGER",
    "item_id": "INTEGER",
    "user_id": "INTEGER",
    "pipeline_id": "INTEGER",
    "order_nr": "INTEGER",
    "log_time": "TIMESTAMP",
    "active_flag": "BOOLEAN",
}


def check(leads: pd.DataFrame) -> None:
    """The hand-computed stage dates of the four kept deals (4 is deleted)."""
    d = leads.set_index("lead_id")
    assert list(d.index) == ["1", "2", "3", "5"]
    assert (d["sal_at"] == d["created_at"]).all()  # add_time
    # 1: first move into Demo Scheduled is the SQO; won at won_time.
    assert d.loc["1", "sqo_at"] == T("2024-04-08 16:00")
    assert d.loc["1", "won_at"] == T("2024-04-25 15:00") and pd.isna(d.loc["1", "lost_at"])
    # 2: lost from Contact Made: no SQO, lost at lost_time.
    assert pd.isna(d.loc["2", "sqo_at"]) and d.loc["2", "lost_at"] == T("2024-04-10 12:00")
    # 3: older pipeline: Needs Defined, back to Contact Made, on to Proposal Made: first entry.
    assert d.loc["3", "sqo_at"] == T("2024-04-09 13:00") and pd.isna(d.loc["3", "won_at"])
    # 5: no stage move yet.
    assert pd.isna(d.loc["5", "sqo_at"]) and d.loc["5", "sal_at"] == T("2024-04-08 14:00")
    assert (d["observed_until"] == T("2024-04-25 15:00")).all()


def test_deal_flow_from_csv_parquet_duckdb(tmp_path):
    files = write(tmp_path, TABLES)
    csv = import_crm(files["deals"], "pipedrive_deal_flow")
    check(csv.leads)
    info = csv.meta["import"]
    assert info["dropped"] == {"status=deleted": 1}
    assert info["history"]["repeated"] == {"sqo": 3}  # deal 1: two more, deal 3: one more
    assert info["history"]["ignored"] == {"Contact Made": 5}
    assert info["history"]["dropped_rows"] == {"lead dropped by the leads table import": 1}
    # Parquet as a sync writes it: integer ids, the stage ids of the log as integers too.
    pq = {n: files[n].with_suffix(".parquet") for n in ("deal_flow", "stages")}
    flow = pd.read_csv(files["deal_flow"], dtype={"new_value": str, "old_value": str})
    flow.to_parquet(pq["deal_flow"])
    pd.read_csv(files["stages"]).astype({"id": "float64"}).to_parquet(pq["stages"])
    got = import_crm(
        {"main": files["deals"], "history": pq["deal_flow"], "labels": pq["stages"]},
        "pipedrive_deal_flow",
    )
    same(got, csv)
    same(import_crm(to_duckdb(tmp_path, files, _TYPES), "pipedrive_deal_flow"), csv)


def test_integer_stage_ids_in_the_log_match_the_stage_table(tmp_path):
    files = write(tmp_path, TABLES)
    want = import_crm(files["deals"], "pipedrive_deal_flow")
    flow = pd.read_csv(files["deal_flow"])
    flow = flow[flow["field_key"] == "stage_id"].astype({"new_value": "int64"})
    flow.to_parquet(tmp_path / "ints.parquet")
    got = import_crm(
        {"main": files["deals"], "history": tmp_path / "ints.parquet"}, "pipedrive_deal_flow"
    )
    same(got, want)


def test_deal_flow_from_postgres_matches_csv(tmp_path, pg_url):
    from tests.test_sql import _to_postgres

    files = write(tmp_path, TABLES)
    want = import_crm(files["deals"], "pipedrive_deal_flow")
    to_duckdb(tmp_path, files, _TYPES)
    _to_postgres(pg_url, tmp_path / "crm.duckdb", tuple(TABLES))
    same(import_crm(pg_url, "pipedrive_deal_flow"), want)


def test_stage_missing_from_stages_table_names_id_and_table(tmp_path):
    files = write(
        tmp_path, TABLES | {"stages": STAGES.replace("8,Needs Defined", "11,Needs Defined")}
    )
    msg = import_error(files["deals"], "pipedrive_deal_flow")
    assert "deal_flow.csv: line 11, column 'new_value'" in msg
    assert "stage id '8' is not in the labels table" in msg and "stages.csv (column 'id'" in msg


def test_duplicate_stage_id_with_two_names_is_refused(tmp_path):
    files = write(tmp_path, TABLES | {"stages": STAGES + "3,Demo Booked,1,3,true,100\n"})
    msg = import_error(files["deals"], "pipedrive_deal_flow")
    assert "stages.csv: column 'id': id '3' has two labels" in msg
    assert "Demo Booked, Demo Scheduled" in msg


def test_missing_labels_table_in_database(tmp_path):
    files = write(tmp_path, {k: v for k, v in TABLES.items() if k != "stages"})
    db = to_duckdb(tmp_path, files, _TYPES)
    assert "(stages)" in import_error(db, "pipedrive_deal_flow")
    con = duckdb.connect(db.removeprefix("duckdb:///"))
    con.execute("CREATE TABLE stages (id INTEGER, title VARCHAR)")
    con.execute("INSERT INTO stages VALUES (1, 'Qualified')")
    con.close()
    msg = import_error(db, "pipedrive_deal_flow")
    assert "(stages): missing column(s) 'name' (mapping key history.labels.label)" in msg
