"""CRM journey building: stages, status, ids, order policies, events, lookups, real exports."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from crm_helpers import GOOD_ROWS, mapping, one_line, write_csv

from qualmodel import Journeys
from qualmodel.core.errors import ConfigError, InputError
from qualmodel.crm import Mapping, import_crm, list_mappings, load_mapping


def test_tiny_import_stages_attributes_and_meta(tmp_path):
    path = write_csv(tmp_path, GOOD_ROWS)
    j = import_crm(path, mapping())
    assert isinstance(j, Journeys)
    # lead ids zero-padded so string order = numeric order; 'New' row dropped
    assert j.leads["lead_id"].tolist() == ["D03", "D07", "D12"]
    won = j.leads.set_index("lead_id")
    assert won.loc["D07", "won_at"] == pd.Timestamp("2020-02-01")
    assert pd.isna(won.loc["D07", "lost_at"])
    assert won.loc["D12", "lost_at"] == pd.Timestamp("2020-01-10")
    assert pd.isna(won.loc["D03", "won_at"]) and pd.isna(won.loc["D03", "lost_at"])
    assert (j.leads["observed_until"] == pd.Timestamp("2020-12-31")).all()
    assert str(j.leads["budget_confirmed"].dtype) == "boolean"
    assert won.loc["D07", "budget_confirmed"] == True  # noqa: E712
    assert won.loc["D12", "budget_confirmed"] == False  # noqa: E712
    assert pd.isna(won.loc["D03", "budget_confirmed"])  # "Select" -> missing
    assert won["deal_value"].dtype == "float64" and np.isnan(won.loc["D12", "deal_value"])
    imp = j.meta["import"]
    assert imp["rows"] == 4 and imp["leads"] == 3
    assert imp["dropped"] == {"stage=New": 1}
    assert imp["status"]["stage"] == {"Won": 1, "Lost": 1, "Open": 1, "New": 1}
    assert j.meta["source"] == "tiny" and j.meta["timing"] == "real"
    assert len(j.meta["files"]["main"]["sha256"]) == 64


def test_roundtrip_write_read(tmp_path):
    j = import_crm(write_csv(tmp_path, GOOD_ROWS), mapping())
    back = Journeys.read(j.write(tmp_path / "out"))
    pd.testing.assert_frame_equal(back.leads, j.leads)
    assert back.meta["import"] == j.meta["import"]


def test_observed_until_parameter_overrides_mapping(tmp_path):
    j = import_crm(write_csv(tmp_path, GOOD_ROWS), mapping(), observed_until="2021-06-30")
    # a date without a time is the end of that day: events later that day stay in
    end_of_day = pd.Timestamp("2021-07-01") - pd.Timedelta(1, "ns")
    assert (j.leads["observed_until"] == end_of_day).all()
    j = import_crm(write_csv(tmp_path, GOOD_ROWS), mapping(), observed_until="2021-06-30 08:00")
    assert (j.leads["observed_until"] == pd.Timestamp("2021-06-30 08:00")).all()
    with pytest.raises(ConfigError, match="observed_until"):
        import_crm(write_csv(tmp_path, GOOD_ROWS), mapping(), observed_until="soon")


def test_observed_until_max_and_column(tmp_path):
    path = write_csv(tmp_path, GOOD_ROWS)
    j = import_crm(path, mapping(observed_until="max"))
    assert (j.leads["observed_until"] == pd.Timestamp("2020-02-01")).all()
    rows = [GOOD_ROWS[0] + ",cut"] + [r + ",2020-03-01" for r in GOOD_ROWS[1:]]
    j = import_crm(write_csv(tmp_path, rows), mapping(observed_until="cut"))
    assert (j.leads["observed_until"] == pd.Timestamp("2020-03-01")).all()


def test_observed_until_max_is_the_last_timestamp_in_the_file(tmp_path):
    """An unmapped date column (a last-activity stamp) and open deals' dates count too."""
    rows = [GOOD_ROWS[0] + ",last_touch,note"] + [
        r + f",{d},x"
        for r, d in zip(GOOD_ROWS[1:], ["2020-02-03", "", "2020-03-09", ""], strict=True)
    ]
    j = import_crm(write_csv(tmp_path, rows), mapping(observed_until="max"))
    assert (j.leads["observed_until"] == pd.Timestamp("2020-03-09")).all()
    assert j.meta["import"]["observed_until"] == (
        "latest timestamp in the data (2020-03-09 00:00:00, column 'last_touch' of deals.csv)"
    )


def test_observed_until_max_names_a_lookup_file_when_the_latest_stamp_is_there(tmp_path):
    rows = [GOOD_ROWS[0] + ",acct"] + [r + ",a" for r in GOOD_ROWS[1:]]
    path = write_csv(tmp_path, rows)
    (tmp_path / "accounts.csv").write_text("acct,renewal\na,2021-06-30\n", encoding="utf-8")
    m = mapping(observed_until="max")
    m["lookups"] = {
        "accounts": {"file": "accounts.csv", "key": "acct", "columns": {"renewal": "renewal"}}
    }
    m["attributes"] = {**m.get("attributes", {}), "renewal": {"column": "renewal", "type": "date"}}
    j = import_crm(path, m)
    assert (j.leads["observed_until"] == pd.Timestamp("2021-06-30")).all()
    assert "column 'renewal' of accounts.csv" in j.meta["import"]["observed_until"]


def test_date_format_and_dayfirst(tmp_path):
    rows = [
        "id,created,engaged,stage,closed,region,amount,budget",
        "1,03/02/2020,04/02/2020,Won,01/03/2020,EU,1,yes",
    ]
    j = import_crm(
        write_csv(tmp_path, rows), mapping(dates={"format": "%d/%m/%Y"}, observed_until="max")
    )
    assert j.leads.loc[0, "created_at"] == pd.Timestamp("2020-02-03")
    assert j.leads.loc[0, "won_at"] == pd.Timestamp("2020-03-01")


def test_events_from_date_column_and_categorical(tmp_path):
    rows = [GOOD_ROWS[0] + ",demo,last"] + [
        GOOD_ROWS[1] + ",2020-01-20,Email Opened",
        GOOD_ROWS[2] + ",,SMS Sent",
        GOOD_ROWS[3] + ",2020-01-05,",
    ]
    m = mapping(
        events=[
            {"name": "demo_completed", "at": "demo"},
            {"name_from": "last", "prefix": "last_", "at_stage": "created_at"},
        ]
    )
    j = import_crm(write_csv(tmp_path, rows), m)
    ev = j.events.assign(
        lead_id=j.events["lead_id"].astype(str), event=j.events["event"].astype(str)
    )
    got = set(map(tuple, ev[["lead_id", "event"]].to_numpy()))
    assert got == {
        ("D07", "demo_completed"),
        ("D03", "demo_completed"),
        ("D07", "last_email_opened"),
        ("D12", "last_sms_sent"),
    }
    timing = j.meta["import"]["events"]
    assert timing["demo_completed"]["timing"].startswith("real")
    assert timing["last_<last>"]["timing"].startswith("placeholder")


def test_generated_ids_when_no_id_column(tmp_path):
    m = mapping(lead_id={"prefix": "R"})
    j = import_crm(write_csv(tmp_path, GOOD_ROWS), m)
    assert j.leads["lead_id"].tolist() == ["R1", "R2", "R3"]


def test_unknown_stage_value_lists_known(tmp_path):
    rows = [*GOOD_ROWS, "5,2020-01-05,2020-01-06,Negotiation,,EU,1,no"]
    with pytest.raises(InputError) as info:
        import_crm(write_csv(tmp_path, rows), mapping())
    msg = one_line(info.value)
    assert "deals.csv: line(s) 6, column 'stage'" in msg and "Negotiation" in msg
    assert "known values: Won, Lost, Open, New" in msg and "status[0].values" in msg


def test_status_stage_without_date(tmp_path):
    rows = list(GOOD_ROWS)
    rows[1] = "7,2020-01-01,2020-01-05,Won,,EU,100,yes"
    with pytest.raises(InputError, match=r"line\(s\) 2: status 'Won' needs a date"):
        import_crm(write_csv(tmp_path, rows), mapping())


def test_duplicate_ids(tmp_path):
    rows = [*GOOD_ROWS, "007,2020-01-05,2020-01-06,Open,,EU,1,no"]
    with pytest.raises(InputError) as info:
        import_crm(write_csv(tmp_path, rows), mapping())
    msg = one_line(info.value)
    assert "line(s) 2, 6" in msg and "duplicated lead id" in msg


CLOSE_BEFORE_ENGAGE = [
    *GOOD_ROWS[:2],
    "12,2020-01-02,2020-01-20,Lost,2020-01-10,US,,no",
    *GOOD_ROWS[3:],
]


def test_close_before_engage_error_policy(tmp_path):
    with pytest.raises(InputError) as info:
        import_crm(write_csv(tmp_path, CLOSE_BEFORE_ENGAGE), mapping())
    msg = one_line(info.value)
    assert "deals.csv: line(s) 3" in msg
    assert "lost_at ('closed') is before sal_at ('engaged')" in msg
    assert "on_invalid: drop" in msg


def test_close_before_engage_drop_policy(tmp_path):
    j = import_crm(write_csv(tmp_path, CLOSE_BEFORE_ENGAGE), mapping(on_invalid="drop"))
    assert j.leads["lead_id"].tolist() == ["D03", "D07"]
    assert j.meta["import"]["dropped"] == {"stage=New": 1, "lost_at<sal_at": 1}


def test_close_before_engage_clip_policy(tmp_path):
    j = import_crm(write_csv(tmp_path, CLOSE_BEFORE_ENGAGE), mapping(on_invalid="clip"))
    row = j.leads.set_index("lead_id").loc["D12"]
    assert row["lost_at"] == row["sal_at"] == pd.Timestamp("2020-01-20")
    assert j.meta["import"]["clipped"] == {"lost_at<sal_at": 1}


def test_stage_after_observed_until(tmp_path):
    m = mapping(observed_until=pd.Timestamp("2020-01-31").date())
    with pytest.raises(InputError, match=r"line\(s\) 2: won_at \('closed'\) is after"):
        import_crm(write_csv(tmp_path, GOOD_ROWS), m)


def test_event_before_creation_names_rows(tmp_path):
    rows = [GOOD_ROWS[0] + ",demo"] + [
        GOOD_ROWS[1] + ",2019-12-01",
        GOOD_ROWS[2] + ",",
        GOOD_ROWS[3] + ",2020-01-05",
    ]
    m = mapping(events=[{"name": "demo_completed", "at": "demo"}])
    with pytest.raises(InputError) as info:
        import_crm(write_csv(tmp_path, rows), m)
    msg = one_line(info.value)
    assert "line(s) 2" in msg and "event 'demo_completed' (column 'demo') is before" in msg
    j = import_crm(write_csv(tmp_path, rows), {**m, "on_invalid": "drop"})
    assert j.n_leads == 3 and j.n_events == 1  # the event is dropped, the lead kept
    assert j.meta["import"]["dropped"]["event:demo_completed:before_created"] == 1


def test_lookup_join_and_unmatched(tmp_path):
    main = write_csv(tmp_path, GOOD_ROWS)
    write_csv(tmp_path, ["region,zone", "EU,Europe", "US ,America"], name="regions.csv")
    m = mapping(
        lookups={"regions": {"file": "regions.csv", "key": "region", "columns": {"zone": "zone"}}}
    )
    m["attributes"] = {**m["attributes"], "zone": "zone"}
    j = import_crm(main, m)
    assert j.leads.set_index("lead_id")["zone"].to_dict() == {
        "D03": "Europe",
        "D07": "Europe",
        "D12": "America",
    }
    write_csv(tmp_path, ["region,zone", "EU,Europe"], name="regions.csv")
    with pytest.raises(InputError) as info:
        import_crm(main, m)
    msg = one_line(info.value)
    assert "column 'region'" in msg and "not found in regions.csv" in msg and "US" in msg
    assert "normalise" in msg
    m["normalise"] = {"region": {"US": "EU"}}
    assert import_crm(main, m).meta["import"]["lookups"]["regions"]["unmatched_rows"] == 0


@pytest.fixture(scope="module")
def maven(request):
    shared = request.getfixturevalue("shared_data")
    return import_crm(shared / "maven_crm" / "sales_pipeline.csv", "maven_crm")


@pytest.mark.realdata
def test_maven_counts(maven):
    leads = maven.leads
    assert maven.n_leads == 8300  # 8,800 minus 500 Prospecting
    assert maven.meta["import"]["dropped"] == {"deal_stage=Prospecting": 500}
    assert int(leads["won_at"].notna().sum()) == 4238
    assert int(leads["lost_at"].notna().sum()) == 2473
    open_ = leads["won_at"].isna() & leads["lost_at"].isna()
    assert int(open_.sum()) == 1589
    assert leads["sal_at"].notna().all() and "sqo_at" not in leads
    assert (leads["observed_until"] == pd.Timestamp("2017-12-31")).all()
    assert maven.meta["files"]["main"]["sha256"].startswith("02f44c2c")


@pytest.mark.realdata
def test_maven_medians_match_published(maven):
    leads = maven.leads
    won = (leads["won_at"] - leads["sal_at"]).dt.days.dropna()
    lost = (leads["lost_at"] - leads["sal_at"]).dt.days.dropna()
    assert won.median() == 57  # data README: Won median 57 days
    assert lost.median() == 14  # data README: Lost median 14 days


@pytest.mark.realdata
def test_maven_lookups_complete(maven, shared_data):
    leads = maven.leads
    products = set(pd.read_csv(shared_data / "maven_crm" / "products.csv")["product"])
    assert set(leads["product"].astype(str)) <= products
    assert "GTXPro" not in set(leads["product"].astype(str))
    raw = pd.read_csv(shared_data / "maven_crm" / "sales_pipeline.csv")
    assert int((raw["product"] == "GTXPro").sum()) == 1480  # data README
    engaged = raw["deal_stage"] != "Prospecting"
    expected = int((raw.loc[engaged, "product"].isin(["GTXPro", "GTX Pro"])).sum())
    assert int((leads["product"] == "GTX Pro").sum()) == expected
    assert leads["product_series"].notna().all() and leads["regional_office"].notna().all()
    assert maven.meta["import"]["lookups"]["products"]["unmatched_rows"] == 0
    assert int(raw["account"].isna().sum()) == 1425  # data README (open deals, all stages)
    assert int(leads["account"].isna().sum()) == int(raw.loc[engaged, "account"].isna().sum())
    assert leads.loc[leads["account"].notna(), "sector"].notna().all()
    assert "technolgy" not in set(leads["sector"].dropna().astype(str))
    assert set(leads["segment"]) == {"Central", "East", "West"}
    closed = leads["won_at"].notna() | leads["lost_at"].notna()
    assert leads.loc[closed, "deal_value"].notna().all()


@pytest.mark.realdata
def test_maven_works_with_time_to_event(maven):
    durations = pytest.importorskip("qualmodel.survival.durations")
    tte = durations.time_to_event(maven, start="sal_at", target="won_at", competing=("lost_at",))
    counts = tte["event"].value_counts().to_dict()
    assert counts == {1: 4238, 2: 2473, 0: 1589}
    medians = tte.groupby("event")["duration"].median().to_dict()
    assert medians[1] == 57 and medians[2] == 14  # data README (engage -> close days)


@pytest.mark.realdata
def test_x_education(shared_data):
    j = import_crm(shared_data / "x_education" / "Leads.csv", "x_education")
    leads = j.leads
    assert j.n_leads == 9240
    assert int(leads["converted"].sum()) == 3561
    assert str(leads["converted"].dtype) == "boolean" and leads["converted"].notna().all()
    assert j.meta["timing"] == "none"
    assert leads["created_at"].nunique() == 1 and not any(
        c in leads for c in ("sal_at", "sqo_at", "won_at", "lost_at")
    )
    # "Select" means not answered -> missing
    for col in ("specialization", "city", "lead_profile", "heard_about"):
        assert "Select" not in set(leads[col].dropna().astype(str))
    assert int(leads["city"].isna().sum()) == 1420 + 2249
    assert leads["lead_id"].str.fullmatch(r"X\d{6}").all()
    assert (
        leads["total_visits"].dtype == "float64" and int(leads["total_visits"].isna().sum()) == 137
    )
    assert "google" not in set(leads["source"].dropna().astype(str))
    assert int((leads["source"] == "Google").sum()) == 2868 + 5
    assert j.n_events == 9240 - 103  # one last-activity event per lead that has one
    assert "last_activity_email_opened" in j.event_names
    assert "post-outcome" in j.meta["import"]["attribute_notes"]["tags"]


def test_public_exports():
    import qualmodel

    assert qualmodel.import_crm is import_crm and qualmodel.load_mapping is load_mapping
    assert qualmodel.list_mappings is list_mappings and qualmodel.Mapping is Mapping


def test_unmatched_keep_and_unknown_table_name(tmp_path):
    main = write_csv(tmp_path, GOOD_ROWS)
    write_csv(tmp_path, ["region,zone", "EU,Europe"], name="regions.csv")
    lk = {"file": "regions.csv", "key": "region", "columns": ["zone"], "on_unmatched": "keep"}
    j = import_crm(main, mapping(lookups={"regions": lk}))
    info = j.meta["import"]["lookups"]["regions"]
    assert info["unmatched_rows"] == 2 and info["unmatched_values"] == ["US"]
    with pytest.raises(ConfigError, match="unknown table name"):
        import_crm(
            {"main": main, "regionz": tmp_path / "regions.csv"}, mapping(lookups={"regions": lk})
        )
    other = write_csv(tmp_path, ["region,zone", "EU,E", "US,A"], name="other.csv")
    j = import_crm({"main": main, "regions": other}, mapping(lookups={"regions": lk}))
    assert j.meta["import"]["lookups"]["regions"]["unmatched_rows"] == 0


def test_mapping_outcomes_name_and_separate_competing_outcomes(tmp_path):
    """outcomes: {declined: lost, cancelled: withdrawn} — a new outcome column, labels in meta."""
    from qualmodel.journeys.outcomes import plan_outcomes

    rows = GOOD_ROWS[:4] + ["5,2020-01-05,2020-01-06,Cancelled,2020-01-20,EU,5,yes"]
    status = {
        "column": "stage",
        "date": "closed",
        "values": {
            "Won": "won_at",
            "Lost": "lost_at",
            "Cancelled": "withdrawn_at",
            "Open": "open",
            "New": "drop",
        },
    }
    m = mapping(status=status, outcomes={"approved": "won", "declined": "lost",
                                        "cancelled": "withdrawn"})  # fmt: skip
    j = import_crm(write_csv(tmp_path, rows), m)
    assert j.meta["outcomes"] == {
        "approved": "won_at", "declined": "lost_at", "cancelled": "withdrawn_at"
    }  # fmt: skip
    assert j.leads.set_index("lead_id").loc["D05", "withdrawn_at"] == pd.Timestamp("2020-01-20")
    plan = plan_outcomes(j)
    assert (plan["name"], plan["competing_names"]) == ("approved", ["declined", "cancelled"])
    # a declared outcome no row reaches is still a (empty) column
    j = import_crm(write_csv(tmp_path, GOOD_ROWS), mapping(outcomes={"expired": "expired"}))
    assert j.leads["expired_at"].isna().all()
    with pytest.raises(ConfigError, match="nor declared under outcomes:"):
        import_crm(write_csv(tmp_path, rows), mapping(status=status))
    with pytest.raises(ConfigError, match="is not an outcome"):
        import_crm(write_csv(tmp_path, rows), mapping(outcomes={"x": "sal"}))
