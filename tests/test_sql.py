"""SQL sources: a mapping's tables read from a DuckDB file give the same journeys as CSV."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest

from qualmodel.core.errors import ConfigError, InputError
from qualmodel.crm.importer import import_crm
from qualmodel.crm.mapping import load_mapping
from qualmodel.crm.sql import check_query, redact
from tests.conftest import run_cli

TABLES = ("sales_pipeline", "accounts", "products", "sales_teams")


def _maven_db(data: Path, path: Path, *, typed: bool = True) -> str:
    con = duckdb.connect(str(path))
    for t in TABLES:
        opts = "" if typed else ", all_varchar = true"
        con.execute(f"CREATE TABLE {t} AS SELECT * FROM read_csv('{data / t}.csv'{opts})")
    con.close()
    return f"duckdb:///{path}"


def _maven_sql_mapping() -> dict:
    mp = load_mapping("maven_crm").model_dump()
    mp["table"] = "sales_pipeline"
    for lk in mp["lookups"].values():
        lk["table"] = lk["file"].removesuffix(".csv")
    return mp


@pytest.fixture(scope="module")
def maven_csv(shared_data):
    return import_crm(shared_data / "maven_crm" / "sales_pipeline.csv", "maven_crm")


@pytest.mark.parametrize("typed", [True, False])
def test_duckdb_gives_the_csv_journeys(shared_data, tmp_path, maven_csv, typed):
    url = _maven_db(shared_data / "maven_crm", tmp_path / "m.duckdb", typed=typed)
    got = import_crm(url, _maven_sql_mapping())
    pd.testing.assert_frame_equal(got.leads, maven_csv.leads)
    pd.testing.assert_frame_equal(got.events, maven_csv.events)
    assert got.meta["files"]["main"] == {
        "url": url,
        "table": "sales_pipeline",
        "rows": maven_csv.meta["files"]["main"]["rows"],
    }
    # the mapping differs only by its table: keys (so its hash differs)
    skip = ("files", "source", "mapping")
    same = {k: v for k, v in got.meta.items() if k not in skip}
    assert same == {k: v for k, v in maven_csv.meta.items() if k not in skip}
    assert got.meta["mapping"]["name"] == maven_csv.meta["mapping"]["name"]


def test_query_source_and_cli(shared_data, tmp_path, capsys):
    url = _maven_db(shared_data / "maven_crm", tmp_path / "m.duckdb")
    mp = _maven_sql_mapping()
    mp.pop("table")
    mp["query"] = "SELECT * FROM sales_pipeline WHERE deal_stage <> 'Prospecting'"
    j = import_crm(url, mp)
    assert j.n_leads > 0
    yml = tmp_path / "m.yaml"
    import yaml

    yml.write_text(yaml.safe_dump(_maven_sql_mapping()))
    code, _ = run_cli(["import", "-m", str(yml), "--db", url, "--out", str(tmp_path / "j")], capsys)
    assert code == 0 and (tmp_path / "j").is_dir()


def test_redact_removes_the_password():
    assert redact("postgresql://u:secret@h:5432/db") == "postgresql://u:***@h:5432/db"
    assert redact("duckdb:///a.duckdb") == "duckdb:///a.duckdb"


@pytest.mark.parametrize(
    "query",
    [
        "DELETE FROM t",
        "SELECT 1; DROP TABLE t",
        "WITH x AS (SELECT 1) INSERT INTO t SELECT * FROM x",
        "COPY t TO 'x.csv'",
    ],
)
def test_writing_queries_are_refused(query):
    with pytest.raises(ConfigError, match="read-only|one SQL statement"):
        check_query(query, "query")


def _tiny_db(path: Path) -> str:
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE leads AS SELECT 'L1' AS id, DATE '2024-01-02' AS created")
    con.close()
    return f"duckdb:///{path}"


def test_bad_sources_are_one_line_and_write_nothing(tmp_path, capsys):
    url = _tiny_db(tmp_path / "t.duckdb")
    mp = {"source": "t", "table": "nope", "lead_id": "id", "created_at": "created"}
    with pytest.raises(InputError, match="nope") as exc:
        import_crm(url, mp)
    assert "\n" not in str(exc.value)
    with pytest.raises(InputError, match="no such DuckDB file"):
        import_crm(f"duckdb:///{tmp_path / 'missing.duckdb'}", mp | {"table": "leads"})
    with pytest.raises(ConfigError, match="read-only"):
        import_crm(url, mp | {"table": None, "query": "UPDATE leads SET id = 'x'"})
    yml = tmp_path / "m.yaml"
    yml.write_text("source: t\ntable: nope\nlead_id: id\ncreated_at: created\n")
    out = tmp_path / "out"
    code, _ = run_cli(["import", "-m", str(yml), "--db", url, "--out", str(out)], capsys)
    assert code == 2 and not out.exists()
    err = capsys.readouterr().err
    assert err.count("\n") <= 1


def test_database_is_opened_read_only(tmp_path):
    url = _tiny_db(tmp_path / "t.duckdb")
    mp = {"source": "t", "table": "leads", "lead_id": "id", "created_at": "created"}
    j = import_crm(url, mp)
    assert j.leads["lead_id"].tolist() == ["L1"]
    con = duckdb.connect(str(tmp_path / "t.duckdb"))  # not locked by the import
    con.close()


# ---------------------------------------------------------------------- PostgreSQL
def _to_postgres(pg_url: str, duck: Path, tables: tuple[str, ...]) -> None:
    import adbc_driver_postgresql.dbapi as pgdb

    con = duckdb.connect(str(duck), read_only=True)
    with pgdb.connect(pg_url) as pg, pg.cursor() as cur:
        for t in tables:
            cur.execute(f"DROP TABLE IF EXISTS {t}")
            cur.adbc_ingest(t, con.sql(f"SELECT * FROM {t}").arrow(), mode="create")
        pg.commit()
    con.close()


def test_postgres_gives_the_csv_journeys(shared_data, tmp_path, maven_csv, pg_url):
    duck = tmp_path / "m.duckdb"
    _maven_db(shared_data / "maven_crm", duck)
    _to_postgres(pg_url, duck, TABLES)
    got = import_crm(pg_url, _maven_sql_mapping())
    pd.testing.assert_frame_equal(got.leads, maven_csv.leads)
    pd.testing.assert_frame_equal(got.events, maven_csv.events)
    assert "qm-test-secret" not in str(got.meta)
    assert got.meta["files"]["main"]["url"].startswith("postgresql://qm:***@127.0.0.1:")


def test_postgres_bad_input_is_one_line_without_password(tmp_path, pg_url, capsys):
    duck = tmp_path / "t.duckdb"
    _tiny_db(duck)
    _to_postgres(pg_url, duck, ("leads",))
    mp = {"source": "t", "table": "leads", "lead_id": "id", "created_at": "created"}
    assert import_crm(pg_url, mp).leads["lead_id"].tolist() == ["L1"]
    wrong = pg_url.replace("qm-test-secret", "wrong-pw")
    port = int(pg_url.rsplit(":", 1)[1].split("/")[0])
    down = pg_url.replace(f":{port}/", f":{port + 1 if port < 65535 else port - 1}/")
    cases = [
        (wrong, mp, "cannot connect"),
        (down, mp, "cannot connect"),
        (pg_url, mp | {"table": "nope"}, "nope"),
        (pg_url, mp | {"table": None, "query": "SELECT id, 5 AS created FROM leads"}, "created"),
    ]
    for url, m, word in cases:
        with pytest.raises(InputError) as exc:
            import_crm(url, m)
        msg = str(exc.value)
        assert word in msg and "\n" not in msg
        assert "secret" not in msg and "wrong-pw" not in msg
    yml = tmp_path / "m.yaml"
    yml.write_text("source: t\ntable: nope\nlead_id: id\ncreated_at: created\n")
    out = tmp_path / "out"
    code, cap = run_cli(["import", "-m", str(yml), "--db", pg_url, "--out", str(out)], capsys)
    assert code == 2 and not out.exists() and "secret" not in cap.err


def test_postgres_runs_read_only(pg_url):
    from qualmodel.crm.sql import SqlTable, _fetch_postgres

    # a function with a side effect is refused by the read-only transaction, not only by the
    # statement check
    src = SqlTable(pg_url, query="SELECT nextval('qm_seq')")
    import adbc_driver_postgresql.dbapi as pgdb

    with pgdb.connect(pg_url) as pg, pg.cursor() as cur:
        cur.execute("CREATE SEQUENCE IF NOT EXISTS qm_seq")
        pg.commit()
    with pytest.raises(InputError, match="read-only"):
        _fetch_postgres(src)


# ---------------------------------------------------------------------- histories
def _sf_db(tmp_path: Path) -> tuple[str, dict]:
    from tests.test_crm_history_import import SF_HIST, SF_OPP

    (tmp_path / "Opportunity.csv").write_text(SF_OPP)
    (tmp_path / "OpportunityHistory.csv").write_text(SF_HIST)
    duck = tmp_path / "sf.duckdb"
    con = duckdb.connect(str(duck))
    for t in ("Opportunity", "OpportunityHistory"):
        con.execute(
            f"CREATE TABLE {t} AS SELECT * FROM read_csv('{tmp_path / t}.csv', all_varchar=true)"
        )
    con.close()
    mp = load_mapping("salesforce_opportunity_history").model_dump()
    mp["table"] = "Opportunity"
    mp["history"]["table"] = "OpportunityHistory"
    return f"duckdb:///{duck}", mp


def test_history_from_duckdb_and_postgres_matches_csv(tmp_path, pg_url):
    url, mp = _sf_db(tmp_path)
    want = import_crm(tmp_path / "Opportunity.csv", "salesforce_opportunity_history")
    got = import_crm(url, mp)
    pd.testing.assert_frame_equal(got.leads, want.leads)
    pd.testing.assert_frame_equal(got.events, want.events)
    assert got.meta["files"]["history"]["table"] == "OpportunityHistory"
    # only the source names differ ("of Opportunity" vs "of Opportunity.csv")
    drop = ("columns",)
    assert {k: v for k, v in got.meta["import"].items() if k not in drop} == {
        k: v for k, v in want.meta["import"].items() if k not in drop
    }
    _to_postgres(pg_url, tmp_path / "sf.duckdb", ("Opportunity", "OpportunityHistory"))
    mp["history"]["table"] = None
    mp["history"]["query"] = 'SELECT * FROM "OpportunityHistory"'
    mp["table"] = None
    mp["query"] = 'SELECT * FROM "Opportunity"'
    pg = import_crm(pg_url, mp)
    pd.testing.assert_frame_equal(pg.leads, want.leads)
    pd.testing.assert_frame_equal(pg.events, want.events)


# ---------------------------------------------------------------------- built-in mappings
HUBSPOT_CONTACTS = """\
Record ID,First Name,Create Date,Lifecycle Stage,Original Source,\
Became a Marketing Qualified Lead Date,Became a Sales Qualified Lead Date,\
Became an Opportunity Date,Became a Customer Date
101,Ana,2024-01-02 09:15,customer,Organic Search,2024-01-05 10:00,2024-01-08 11:30,\
2024-01-20 16:00,2024-02-15 12:00
102,Ben,2024-01-03 14:00,opportunity,Paid Social,2024-01-04 09:00,2024-01-10 10:00,\
2024-01-25 09:30,
103,Cy,2024-01-07 08:45,salesqualifiedlead,Direct Traffic,2024-01-09 13:00,2024-01-12 15:00,,
104,Dee,2024-01-09 17:20,lead,Referrals,,,,
"""


def test_builtin_hubspot_contacts_from_csv_and_duckdb(tmp_path):
    (tmp_path / "contacts.csv").write_text(HUBSPOT_CONTACTS)
    j = import_crm(tmp_path / "contacts.csv", "hubspot_contacts")
    leads = j.leads.set_index("lead_id")
    assert leads.loc["101", "won_at"] == pd.Timestamp("2024-02-15 12:00")
    assert leads.loc["102", "sqo_at"] == pd.Timestamp("2024-01-25 09:30")
    assert pd.isna(leads.loc["103", "sqo_at"]) and pd.isna(leads.loc["104", "sal_at"])
    con = duckdb.connect(str(tmp_path / "hs.duckdb"))
    con.execute(f"CREATE TABLE contacts AS SELECT * FROM read_csv('{tmp_path}/contacts.csv')")
    con.close()
    db = import_crm(f"duckdb:///{tmp_path / 'hs.duckdb'}", "hubspot_contacts")
    pd.testing.assert_frame_equal(db.leads, j.leads)
    pd.testing.assert_frame_equal(db.events, j.events)
