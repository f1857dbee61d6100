"""Built-in HubSpot mappings: ELT-synced deal stages (with the stage-label lookup), the dbt
package's deal stages, contact lifecycle-stage history and the contacts API properties."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest

from qualmodel.core.errors import ConfigError, InputError
from qualmodel.crm.importer import import_crm
from qualmodel.crm.mapping import load_mapping

# Fivetran HubSpot connector tables (column names as the connector documents them).
DEAL = """\
deal_id,is_deleted,property_dealname,property_createdate,property_pipeline,property_amount,property_dealstage
101,false,Acme renewal,2024-01-02T09:00:00Z,default,12000,closedwon
102,false,Globex pilot,2024-01-03T08:00:00Z,default,4000,closedlost
103,false,Initech rollout,2024-01-08T10:00:00Z,7654321,55000,7654325
104,false,Umbrella trial,2024-02-05T11:00:00Z,default,,appointmentscheduled
105,true,Hooli (deleted),2024-01-09T10:00:00Z,default,100,appointmentscheduled
"""
# The default sales pipeline (text ids) and a second pipeline made from it (numeric ids).
STAGES = """\
stage_id,pipeline_id,label,display_order,probability,is_closed,active
appointmentscheduled,default,Appointment Scheduled,0,0.2,false,true
qualifiedtobuy,default,Qualified To Buy,1,0.4,false,true
presentationscheduled,default,Presentation Scheduled,2,0.6,false,true
decisionmakerboughtin,default,Decision Maker Bought-In,3,0.8,false,true
contractsent,default,Contract Sent,4,0.9,false,true
closedwon,default,Closed Won,5,1.0,true,true
closedlost,default,Closed Lost,6,0.0,true,true
7654322,7654321,Appointment Scheduled,0,0.2,false,true
7654324,7654321,Contract Sent,1,0.9,false,true
7654325,7654321,Closed Won,2,1.0,true,true
7654326,7654321,Closed Lost,3,0.0,true,true
"""
_END = "9999-12-31T23:59:59Z"
DEAL_STAGE = f"""\
deal_id,value,date_entered,source,_fivetran_start,_fivetran_end,_fivetran_active
101,appointmentscheduled,2024-01-02T09:00:00Z,CRM_UI,2024-01-02T09:00:00Z,2024-01-05T09:59:59Z,false
101,qualifiedtobuy,2024-01-05T10:00:00Z,CRM_UI,2024-01-05T10:00:00Z,2024-01-10T10:59:59Z,false
101,presentationscheduled,2024-01-10T11:00:00Z,CRM_UI,2024-01-10T11:00:00Z,2024-01-20T11:59:59Z,false
101,contractsent,2024-01-20T12:00:00Z,CRM_UI,2024-01-20T12:00:00Z,2024-02-01T14:59:59Z,false
101,closedwon,2024-02-01T15:00:00Z,CRM_UI,2024-02-01T15:00:00Z,{_END},true
102,qualifiedtobuy,2024-01-04T09:30:00Z,CRM_UI,2024-01-04T09:30:00Z,2024-01-15T15:59:59Z,false
102,closedlost,2024-01-15T16:00:00Z,CRM_UI,2024-01-15T16:00:00Z,{_END},true
103,7654322,2024-01-08T10:00:00Z,CRM_UI,2024-01-08T10:00:00Z,2024-01-18T13:59:59Z,false
103,7654324,2024-01-18T14:00:00Z,CRM_UI,2024-01-18T14:00:00Z,2024-01-25T08:59:59Z,false
103,7654326,2024-01-25T09:00:00Z,CRM_UI,2024-01-25T09:00:00Z,2024-02-01T09:59:59Z,false
103,7654324,2024-02-01T10:00:00Z,CRM_UI,2024-02-01T10:00:00Z,2024-02-10T08:59:59Z,false
103,7654325,2024-02-10T09:00:00Z,CRM_UI,2024-02-10T09:00:00Z,{_END},true
104,appointmentscheduled,2024-02-05T11:00:00Z,CRM_UI,2024-02-05T11:00:00Z,{_END},true
105,appointmentscheduled,2024-01-09T10:00:00Z,CRM_UI,2024-01-09T10:00:00Z,{_END},true
"""
RAW = {"deal": DEAL, "deal_stage": DEAL_STAGE, "deal_pipeline_stage": STAGES}
T = pd.Timestamp


def check_deals(leads: pd.DataFrame) -> None:
    """The hand-computed stage dates of the four fixture deals."""
    d = leads.set_index("lead_id")
    assert list(d.index) == ["101", "102", "103", "104"]
    # 101: SAL at its first SAL stage, SQO at Presentation Scheduled, won.
    assert d.loc["101", "sal_at"] == T("2024-01-02 09:00")
    assert d.loc["101", "sqo_at"] == T("2024-01-10 11:00")
    assert d.loc["101", "won_at"] == T("2024-02-01 15:00") and pd.isna(d.loc["101", "lost_at"])
    # 102: lost straight from Qualified To Buy: SQO filled with the close (skipped_stages: fill).
    assert d.loc["102", "sal_at"] == T("2024-01-04 09:30")
    assert d.loc["102", "sqo_at"] == d.loc["102", "lost_at"] == T("2024-01-15 16:00")
    # 103: numeric ids of the second pipeline; lost, re-opened, finally won (won_and_lost: last).
    assert d.loc["103", "sal_at"] == T("2024-01-08 10:00")
    assert d.loc["103", "sqo_at"] == T("2024-01-18 14:00")  # first Contract Sent
    assert d.loc["103", "won_at"] == T("2024-02-10 09:00") and pd.isna(d.loc["103", "lost_at"])
    # 104: still open in Appointment Scheduled.
    assert d.loc["104", "sal_at"] == T("2024-02-05 11:00") and pd.isna(d.loc["104", "sqo_at"])
    assert d.loc["104", "created_at"] == T("2024-02-05 11:00")
    assert (d["observed_until"] == T("2024-02-10 09:00")).all()
    assert list(d["pipeline"].astype(str)) == ["default", "default", "7654321", "default"]


def write(tmp_path: Path, tables: dict[str, str]) -> dict[str, Path]:
    """Write the fixture tables as CSV files named after the tables."""
    out = {}
    for name, text in tables.items():
        out[name] = tmp_path / f"{name}.csv"
        out[name].write_text(text)
    return out


def to_duckdb(tmp_path: Path, files: dict[str, Path], typed: dict[str, str]) -> str:
    """Load the CSVs into a DuckDB file; ``typed`` gives column types as the sync has them."""
    duck = tmp_path / "crm.duckdb"
    con = duckdb.connect(str(duck))
    for name, path in files.items():
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM read_csv('{path}', all_varchar=true)")
        cols = [r[0] for r in con.execute(f"DESCRIBE {name}").fetchall()]
        for col, kind in typed.items():
            if col in cols:
                con.execute(f"ALTER TABLE {name} ALTER {col} TYPE {kind}")
    con.close()
    return f"duckdb:///{duck}"


_DEAL_TYPES = {
    "date_entered": "TIMESTAMPTZ",
    "_fivetran_start": "TIMESTAMPTZ",
    "_fivetran_end": "TIMESTAMPTZ",
    "probability": "DOUBLE",
    "is_closed": "BOOLEAN",
}


def import_error(source, mapping) -> str:
    """Return the one-line message of the InputError that importing ``source`` raises."""
    with pytest.raises(InputError) as info:
        import_crm(source, mapping)
    msg = str(info.value)
    assert "\n" not in msg
    return msg


def same(a, b) -> None:
    pd.testing.assert_frame_equal(a.leads, b.leads)
    pd.testing.assert_frame_equal(a.events, b.events)


def test_deal_stage_from_csv_parquet_duckdb(tmp_path):
    files = write(tmp_path, RAW)
    csv = import_crm(files["deal"], "hubspot_deal_stage")
    check_deals(csv.leads)
    assert csv.meta["files"]["labels"]["rows"] == 11
    assert csv.meta["import"]["dropped"] == {"is_deleted=true": 1}  # deal 105
    dropped = csv.meta["import"]["history"]["dropped_rows"]
    assert dropped == {"lead dropped by the leads table import": 1}
    # 101: two SAL and two SQO stages, 103: Contract Sent twice
    assert csv.meta["import"]["history"]["repeated"] == {"sal": 1, "sqo": 2}
    pq = {}
    for name in ("deal_stage", "deal_pipeline_stage"):
        pq[name] = files[name].with_suffix(".parquet")
        pd.read_csv(files[name], dtype=str, keep_default_na=False).to_parquet(pq[name])
    tables = {"main": files["deal"], "history": pq["deal_stage"]}
    same(import_crm(tables | {"labels": pq["deal_pipeline_stage"]}, "hubspot_deal_stage"), csv)
    db = import_crm(to_duckdb(tmp_path, files, _DEAL_TYPES), "hubspot_deal_stage")
    same(db, csv)
    assert db.meta["files"]["labels"]["table"] == "deal_pipeline_stage"


def test_deal_stage_from_postgres_matches_csv(tmp_path, pg_url):
    from tests.test_sql import _to_postgres

    files = write(tmp_path, RAW)
    want = import_crm(files["deal"], "hubspot_deal_stage")
    to_duckdb(tmp_path, files, _DEAL_TYPES)
    _to_postgres(pg_url, tmp_path / "crm.duckdb", tuple(RAW))
    got = import_crm(pg_url, "hubspot_deal_stage")
    same(got, want)
    assert "qm-test-secret" not in str(got.meta)


def test_stage_id_missing_from_labels_names_id_table_and_fix(tmp_path):
    files = write(tmp_path, RAW | {"deal_pipeline_stage": STAGES.replace("7654324,", "7654399,")})
    msg = import_error(files["deal"], "hubspot_deal_stage")
    assert "deal_stage.csv: line 10, column 'value'" in msg
    assert "stage id '7654324' is not in the labels table" in msg
    assert "deal_pipeline_stage.csv (column 'stage_id'" in msg and "add the stage" in msg


def test_missing_labels_column_names_the_key(tmp_path):
    files = write(tmp_path, RAW | {"deal_pipeline_stage": STAGES.replace(",label,", ",name,")})
    msg = import_error(files["deal"], "hubspot_deal_stage")
    assert "deal_pipeline_stage.csv: missing column(s) 'label'" in msg
    assert "(mapping key history.labels.label)" in msg and "fix history.labels" in msg


def test_missing_labels_table_in_database_names_it(tmp_path):
    files = write(tmp_path, {k: v for k, v in RAW.items() if k != "deal_pipeline_stage"})
    db = to_duckdb(tmp_path, files, _DEAL_TYPES)
    msg = import_error(db, "hubspot_deal_stage")
    assert "(deal_pipeline_stage)" in msg and "check the table name" in msg


def test_custom_stage_label_is_an_unknown_activity(tmp_path):
    renamed = STAGES.replace("7654324,7654321,Contract Sent", "7654324,7654321,Security Review")
    files = write(tmp_path, RAW | {"deal_pipeline_stage": renamed})
    msg = import_error(files["deal"], "hubspot_deal_stage")
    assert "'Security Review' (2)" in msg and "add each under history.stages" in msg


def test_labels_block_is_validated():
    mp = load_mapping("hubspot_deal_stage").model_dump()
    for bad, word in (
        ({"key": "stage_id", "label": "label"}, "give file:"),
        ({"file": "s.csv", "key": "id", "label": "id"}, "same column"),
        ({"file": "s.csv", "key": "id", "label": "x", "lable": "y"}, "unknown key"),
        ({"file": "s.csv", "label": "x"}, "history.labels.key"),
    ):
        mp["history"]["labels"] = bad
        with pytest.raises(ConfigError) as info:
            load_mapping(mp)
        assert word in str(info.value)
    mp["history"]["labels"] = {"file": "s.csv", "key": "id", "label": "x"}
    mp["lookups"] = {"labels": {"file": "l.csv", "key": "k"}}
    with pytest.raises(ConfigError, match="the name 'labels' is taken"):
        load_mapping(mp)


def test_cli_finds_labels_next_to_the_history_or_from_table_option(tmp_path, capsys):
    from tests.conftest import run_cli

    files = write(tmp_path, RAW)
    code, out = run_cli(
        ["import", "-m", "hubspot_deal_stage", "--csv", str(files["deal"]), "--dry-run"], capsys
    )
    assert code == 0, out.err
    assert "leads: 4 (from main, history, labels)" in out.out
    other = tmp_path / "elsewhere.csv"
    other.write_text(STAGES.replace("7654326,", "7654327,"))
    args = ["import", "-m", "hubspot_deal_stage", "--csv", str(files["deal"]), "--dry-run"]
    code, out = run_cli([*args, "--table", f"labels={other}"], capsys)
    assert code == 2 and "stage id '7654326' is not in the labels table" in out.err
    assert str(other) in out.err and len(out.err.strip().splitlines()) == 1


def dbt_tables(tmp_path: Path) -> dict[str, Path]:
    """The dbt hubspot package's models built from the raw fixture, as the package joins them.

    ``hubspot__deal_stages``: one row per ``deal_stage`` row, ``date_stage_entered`` =
    ``_fivetran_start``, labels joined from the pipeline stages, ``is_deal_deleted`` from the
    deal (105 is deleted).
    """
    read = {k: pd.read_csv(pd.io.common.StringIO(v), dtype=str) for k, v in RAW.items()}
    pipelines = {"default": "Sales Pipeline", "7654321": "Enterprise"}
    st = read["deal_pipeline_stage"].rename(
        columns={"stage_id": "pipeline_stage_id", "label": "pipeline_stage_label"}
    )
    ds = read["deal_stage"].rename(columns={"value": "pipeline_stage_id"})
    ds = ds.merge(st, on="pipeline_stage_id", how="left")
    stages = pd.DataFrame(
        {
            "deal_stage_id": ds["deal_id"]
            + "-"
            + (ds.groupby("deal_id").cumcount() + 1).astype(str),
            "deal_id": ds["deal_id"],
            "date_stage_entered": ds["_fivetran_start"],
            "date_stage_exited": ds["_fivetran_end"],
            "is_stage_active": ds["_fivetran_active"],
            "pipeline_stage_id": ds["pipeline_stage_id"],
            "pipeline_stage_label": ds["pipeline_stage_label"],
            "pipeline_id": ds["pipeline_id"],
            "pipeline_label": ds["pipeline_id"].map(pipelines),
            "is_pipeline_stage_closed": ds["is_closed"],
            "is_deal_deleted": ds["deal_id"].map(
                dict(zip(read["deal"]["deal_id"], read["deal"]["is_deleted"], strict=True))
            ),
        }
    )
    deal = read["deal"]
    deals = pd.DataFrame(
        {
            "deal_id": deal["deal_id"],
            "deal_name": deal["property_dealname"],
            "created_at": deal["property_createdate"],
            "amount": deal["property_amount"],
            "pipeline_label": deal["property_pipeline"].map(pipelines),
            "is_deal_deleted": deal["is_deleted"],
        }
    )
    out = {"hubspot__deals": tmp_path / "hubspot__deals.csv"}
    out["hubspot__deal_stages"] = tmp_path / "hubspot__deal_stages.csv"
    deals.to_csv(out["hubspot__deals"], index=False)
    stages.to_csv(out["hubspot__deal_stages"], index=False)
    return out


def test_dbt_deal_stages_give_the_same_stage_dates(tmp_path):
    files = dbt_tables(tmp_path)
    got = import_crm(files["hubspot__deals"], "hubspot_deal_stages_dbt")
    leads = got.leads.copy()
    assert list(leads["pipeline"].astype(str)) == ["Sales Pipeline"] * 2 + ["Enterprise"] + [
        "Sales Pipeline"
    ]
    leads["pipeline"] = leads["pipeline"].map(
        {"Sales Pipeline": "default", "Enterprise": "7654321"}
    )
    check_deals(leads)
    assert got.meta["import"]["dropped"] == {"is_deal_deleted=true": 1}
    assert got.meta["files"]["history"]["rows"] == 13  # 14 rows, the deleted deal's filtered
    db = import_crm(
        to_duckdb(tmp_path, files, {"is_deal_deleted": "BOOLEAN"}), "hubspot_deal_stages_dbt"
    )
    same(db, got)


# Fivetran HubSpot contact tables; lifecycle stages are the property's internal ids.
CONTACT = """\
id,_fivetran_deleted,property_email,property_createdate,property_lifecyclestage,property_hs_analytics_source
201,false,ana@example.com,2024-03-01T10:00:00Z,evangelist,ORGANIC_SEARCH
202,false,ben@example.com,2024-03-03T08:00:00Z,lead,PAID_SEARCH
203,false,cleo@example.com,2024-03-04T09:00:00Z,opportunity,REFERRALS
204,false,dev@example.com,2024-03-05T12:00:00Z,subscriber,DIRECT_TRAFFIC
205,true,eve@example.com,2024-03-06T12:00:00Z,lead,DIRECT_TRAFFIC
"""
CONTACT_HISTORY = """\
contact_id,name,source,source_id,timestamp,value
201,lifecyclestage,FORM,,2024-03-01T10:00:00Z,subscriber
201,hs_lead_status,CRM_UI,ann@corp,2024-03-01T10:05:00Z,NEW
201,lifecyclestage,AUTOMATION_PLATFORM,wf-1,2024-03-02T11:00:00Z,lead
201,lifecyclestage,AUTOMATION_PLATFORM,wf-2,2024-03-05T09:00:00Z,marketingqualifiedlead
201,lifecyclestage,CRM_UI,ann@corp,2024-03-07T14:00:00Z,salesqualifiedlead
201,hs_lead_status,CRM_UI,ann@corp,2024-03-07T14:00:00Z,CONNECTED
201,lifecyclestage,DEALS,,2024-03-12T10:30:00Z,opportunity
201,lifecyclestage,DEALS,,2024-04-02T16:00:00Z,customer
201,lifecyclestage,CRM_UI,ann@corp,2024-04-10T08:00:00Z,evangelist
202,lifecyclestage,FORM,,2024-03-03T08:00:00Z,lead
202,lifecyclestage,AUTOMATION_PLATFORM,wf-2,2024-03-04T12:00:00Z,marketingqualifiedlead
202,lifecyclestage,CRM_UI,bob@corp,2024-03-20T09:00:00Z,
202,lifecyclestage,CRM_UI,bob@corp,2024-03-20T09:00:01Z,lead
203,lifecyclestage,IMPORT,,2024-03-04T09:00:00Z,lead
203,lifecyclestage,CRM_UI,ann@corp,2024-03-06T10:00:00Z,salesqualifiedlead
203,lifecyclestage,DEALS,,2024-03-09T11:00:00Z,opportunity
204,lifecyclestage,FORM,,2024-03-05T12:00:00Z,subscriber
205,lifecyclestage,FORM,,2024-03-06T12:00:00Z,lead
"""
CONTACTS = {"contact": CONTACT, "contact_property_history": CONTACT_HISTORY}


def check_contacts(leads: pd.DataFrame) -> None:
    """The hand-computed lifecycle-stage dates of the four kept fixture contacts."""
    c = leads.set_index("lead_id")
    assert list(c.index) == ["201", "202", "203", "204"]  # 205 is deleted
    assert c.loc["201", "mql_at"] == T("2024-03-05 09:00")
    assert c.loc["201", "sal_at"] == T("2024-03-07 14:00")
    assert c.loc["201", "sqo_at"] == T("2024-03-12 10:30")
    assert c.loc["201", "won_at"] == T("2024-04-02 16:00")  # evangelist later: ignored
    # 202: MQL, then the stage cleared and set back to lead: MQL kept, nothing later.
    assert c.loc["202", "mql_at"] == T("2024-03-04 12:00") and pd.isna(c.loc["202", "sal_at"])
    # 203: straight from lead to SQL: no MQL (skipped_stages: keep), SAL and SQO.
    assert pd.isna(c.loc["203", "mql_at"]) and c.loc["203", "sal_at"] == T("2024-03-06 10:00")
    assert c.loc["203", "sqo_at"] == T("2024-03-09 11:00") and pd.isna(c.loc["203", "won_at"])
    assert c.loc["204"][["mql_at", "sal_at", "sqo_at", "won_at"]].isna().all()
    assert list(c["lifecycle_stage"].astype(str)) == [
        "evangelist",
        "lead",
        "opportunity",
        "subscriber",
    ]


_CONTACT_TYPES = {
    "id": "BIGINT",
    "contact_id": "BIGINT",
    "_fivetran_deleted": "BOOLEAN",
    "property_createdate": "TIMESTAMPTZ",
    "timestamp": "TIMESTAMPTZ",
}


def test_contact_property_history_from_csv_and_duckdb(tmp_path):
    files = write(tmp_path, CONTACTS)
    csv = import_crm(files["contact"], "hubspot_contact_property_history")
    check_contacts(csv.leads)
    info = csv.meta["import"]["history"]
    # counted before the deleted contact's row (a lead) is dropped with its contact
    assert info["ignored"] == {"subscriber": 2, "lead": 5, "evangelist": 1}
    assert info["skipped"] == {"mql": 1}
    assert csv.meta["files"]["history"]["rows"] == 15  # 16 lifecyclestage rows, one cleared
    db = import_crm(to_duckdb(tmp_path, files, _CONTACT_TYPES), "hubspot_contact_property_history")
    same(db, csv)


def test_custom_lifecycle_stage_id_is_named_and_can_be_mapped(tmp_path):
    custom = CONTACT_HISTORY.replace(
        "203,lifecyclestage,CRM_UI,ann@corp,2024-03-06T10:00:00Z,salesqualifiedlead",
        "203,lifecyclestage,CRM_UI,ann@corp,2024-03-06T10:00:00Z,1049631520",
    )
    files = write(tmp_path, CONTACTS | {"contact_property_history": custom})
    msg = import_error(files["contact"], "hubspot_contact_property_history")
    assert "line 16, column 'value'" in msg
    assert "'1049631520' (1)" in msg and "add each under history.stages" in msg
    mp = load_mapping("hubspot_contact_property_history").model_dump()
    mp["history"]["stages"]["1049631520"] = "sal"  # the documented fix: map the custom id
    check_contacts(import_crm(files["contact"], mp).leads)


# The contacts object with API property names (one column per property).
API = """\
hs_object_id,createdate,lifecyclestage,hs_analytics_source,hs_lifecyclestage_marketingqualifiedlead_date,hs_lifecyclestage_salesqualifiedlead_date,hs_lifecyclestage_opportunity_date,hs_lifecyclestage_customer_date
301,2024-05-01T09:00:00.000Z,customer,ORGANIC_SEARCH,2024-05-02T10:00:00.000Z,2024-05-06T11:00:00.000Z,2024-05-10T12:00:00.000Z,2024-06-01T13:00:00.000Z
302,2024-05-03T09:00:00.000Z,salesqualifiedlead,PAID_SOCIAL,2024-05-03T09:30:00.000Z,2024-05-20T15:00:00.000Z,,
303,2024-05-04T09:00:00.000Z,lead,DIRECT_TRAFFIC,,,,
"""
_V2 = {
    "hs_lifecyclestage_marketingqualifiedlead_date": "hs_v2_date_entered_marketingqualifiedlead",
    "hs_lifecyclestage_salesqualifiedlead_date": "hs_v2_date_entered_salesqualifiedlead",
    "hs_lifecyclestage_opportunity_date": "hs_v2_date_entered_opportunity",
    "hs_lifecyclestage_customer_date": "hs_v2_date_entered_customer",
}


def check_api(leads: pd.DataFrame) -> None:
    c = leads.set_index("lead_id")
    assert c.loc["301", "mql_at"] == T("2024-05-02 10:00")
    assert c.loc["301", "sal_at"] == T("2024-05-06 11:00")
    assert c.loc["301", "sqo_at"] == T("2024-05-10 12:00")
    assert c.loc["301", "won_at"] == T("2024-06-01 13:00")
    assert c.loc["302", "sal_at"] == T("2024-05-20 15:00") and pd.isna(c.loc["302", "sqo_at"])
    assert c.loc["303"][["mql_at", "sal_at", "sqo_at", "won_at"]].isna().all()
    assert (c["observed_until"] == T("2024-06-01 13:00")).all()


def test_contacts_api_reads_first_present_date_column(tmp_path):
    path = tmp_path / "contacts.csv"
    path.write_text(API)
    v1 = import_crm(path, "hubspot_contacts_api")
    check_api(v1.leads)
    head, rest = API.split("\n", 1)
    v2_head = head
    for old, new in _V2.items():
        v2_head = v2_head.replace(old, new)
    path.write_text(f"{v2_head}\n{rest}")  # only the stage-calculated v2 columns
    same(import_crm(path, "hubspot_contacts_api"), v1)
    extra = ",".join(_V2.values())
    rows = [r + ",2020-01-01T00:00:00Z" * 4 for r in rest.strip().splitlines()]
    path.write_text(f"{head},{extra}\n" + "\n".join(rows) + "\n")  # both: the first is read
    both = import_crm(path, "hubspot_contacts_api")
    check_api(both.leads.assign(observed_until=v1.leads["observed_until"]))


def test_contacts_api_without_any_stage_column_names_the_choices(tmp_path):
    path = tmp_path / "contacts.csv"
    path.write_text(API.replace("hs_lifecyclestage_opportunity_date", "opportunity_date"))
    msg = import_error(path, "hubspot_contacts_api")
    assert "contacts.csv: none of the columns" in msg
    assert "'hs_lifecyclestage_opportunity_date', 'hs_v2_date_entered_opportunity'" in msg
    assert "(mapping key stages.sqo_at)" in msg and "fix the mapping" in msg


def test_stage_column_list_is_validated():
    mp = load_mapping("hubspot_contacts_api").model_dump()
    mp["stages"]["sqo_at"] = []
    with pytest.raises(ConfigError, match="stages.sqo_at: an empty list"):
        load_mapping(mp)
    mp["stages"]["sqo_at"] = ["hs_v2_date_entered_1049631520"]
    assert load_mapping(mp).stages["sqo_at"] == "hs_v2_date_entered_1049631520"


def test_labels_with_a_history_only_mapping_and_bad_label_rows(tmp_path):
    files = write(tmp_path, RAW)
    hist = load_mapping("hubspot_deal_stage").history.model_dump()
    mp = {"source": "deals_only", "history": hist}
    got = import_crm({"history": files["deal_stage"]}, mp)  # labels found next to the history
    d = got.leads.set_index("lead_id")
    assert d.loc["103", "sqo_at"] == T("2024-01-18 14:00")  # as with the deal table
    assert d.loc["103", "created_at"] == T("2024-01-08 10:00")  # its first stage entry
    for text, word in (
        (STAGES.replace("Closed Lost,6", ",6"), "row 7, column 'label': empty value"),
        (STAGES.replace("closedwon,", ",", 1), "row 6, column 'stage_id': empty value"),
    ):
        files["deal_pipeline_stage"].write_text(text)
        assert word in import_error({"history": files["deal_stage"]}, mp)
    files["deal_pipeline_stage"].unlink()
    assert "deal_pipeline_stage.csv: no such file" in import_error(
        {"history": files["deal_stage"]}, mp
    )


def test_cli_reads_the_labels_table_from_the_database(tmp_path, capsys):
    from tests.conftest import run_cli

    db = to_duckdb(tmp_path, write(tmp_path, RAW), _DEAL_TYPES)
    args = ["import", "-m", "hubspot_deal_stage", "--db", db, "-o", str(tmp_path / "out")]
    code, out = run_cli(args, capsys)
    assert code == 0, out.err
    assert "imported 4 leads" in out.out
