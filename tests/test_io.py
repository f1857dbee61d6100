"""CRM import: the two real exports and every class of bad input (one-line messages)."""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd
import pytest

from qualmodel import Journeys
from qualmodel.atomic import write_csv_atomic, write_text_atomic
from qualmodel.errors import ConfigError, InputError, QualmodelError
from qualmodel.io import (
    Mapping,
    import_crm,
    list_mappings,
    load_mapping,
)

# ---------------------------------------------------------------- helpers
BASE_MAPPING = {
    "source": "tiny",
    "file": "deals.csv",
    "lead_id": {"column": "id", "prefix": "D"},
    "created_at": "created",
    "stages": {"sal_at": "engaged"},
    "status": {
        "column": "stage",
        "date": "closed",
        "values": {"Won": "won_at", "Lost": "lost_at", "Open": "open", "New": "drop"},
    },
    "observed_until": "2020-12-31",
    "attributes": {
        "segment": "region",
        "deal_value": {"column": "amount", "type": "float"},
        "budget_confirmed": {
            "column": "budget",
            "type": "bool",
            "map": {"Select": None},
        },
    },
}
GOOD_ROWS = [
    "id,created,engaged,stage,closed,region,amount,budget",
    "7,2020-01-01,2020-01-05,Won,2020-02-01,EU,100,yes",
    "12,2020-01-02,2020-01-03,Lost,2020-01-10,US,,no",
    "3,2020-01-03,2020-01-04,Open,,EU,50,Select",
    "4,2020-01-04,,New,,US,,",
]


def write_csv(tmp_path, lines, name="deals.csv"):
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def mapping(**changes):
    m = {k: (dict(v) if isinstance(v, dict) else v) for k, v in BASE_MAPPING.items()}
    m["observed_until"] = pd.Timestamp("2020-12-31").date()
    m.update(changes)
    return m


def one_line(exc: BaseException) -> str:
    text = str(exc)
    assert "\n" not in text
    return text


# ---------------------------------------------------------------- happy path (tiny)
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
    assert (j.leads["observed_until"] == pd.Timestamp("2021-06-30")).all()
    with pytest.raises(ConfigError, match="observed_until"):
        import_crm(write_csv(tmp_path, GOOD_ROWS), mapping(), observed_until="soon")


def test_observed_until_max_and_column(tmp_path):
    path = write_csv(tmp_path, GOOD_ROWS)
    j = import_crm(path, mapping(observed_until="max"))
    assert (j.leads["observed_until"] == pd.Timestamp("2020-02-01")).all()
    rows = [GOOD_ROWS[0] + ",cut"] + [r + ",2020-03-01" for r in GOOD_ROWS[1:]]
    j = import_crm(write_csv(tmp_path, rows), mapping(observed_until="cut"))
    assert (j.leads["observed_until"] == pd.Timestamp("2020-03-01")).all()


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


def test_load_mapping_builtins_and_passthrough():
    assert list_mappings() == ["maven_crm", "x_education"]
    m = load_mapping("maven_crm")
    assert isinstance(m, Mapping) and m.source == "maven_crm"
    assert load_mapping(m) is m
    assert load_mapping("x_education").timing == "none"


# ---------------------------------------------------------------- bad CSV input
def test_wrong_field_count_names_file_and_line(tmp_path):
    rows = [*GOOD_ROWS[:2], "12,2020-01-02,2020-01-03,Lost,2020-01-10,US,,no,EXTRA", GOOD_ROWS[3]]
    with pytest.raises(InputError) as info:
        import_crm(write_csv(tmp_path, rows), mapping())
    msg = one_line(info.value)
    assert "deals.csv" in msg and "line 3" in msg and "9 fields" in msg and "quote" in msg


def test_unclosed_quote_names_line(tmp_path):
    rows = [*GOOD_ROWS[:2], '12,2020-01-02,"2020-01-03,Lost,2020-01-10,US,,no', GOOD_ROWS[3]]
    with pytest.raises(InputError) as info:
        import_crm(write_csv(tmp_path, rows), mapping())
    msg = one_line(info.value)
    assert "deals.csv" in msg and "line 3" in msg and "quote" in msg


def test_bad_encoding_names_line_and_fix(tmp_path):
    path = tmp_path / "deals.csv"
    text = "\n".join(GOOD_ROWS[:3]) + "\n3,2020-01-03,2020-01-04,Open,,Z\xfcrich,50,no\n"
    path.write_bytes(text.encode("latin-1"))
    with pytest.raises(InputError) as info:
        import_crm(path, mapping())
    msg = one_line(info.value)
    assert "deals.csv" in msg and "line 4" in msg and "csv.encoding" in msg
    j = import_crm(path, mapping(csv={"encoding": "latin-1"}))
    assert "Zürich" in set(j.leads["segment"])


def test_empty_file_and_header_only(tmp_path):
    empty = tmp_path / "deals.csv"
    empty.write_text("")
    with pytest.raises(InputError, match=r"deals\.csv: file is empty"):
        import_crm(empty, mapping())
    header = write_csv(tmp_path, GOOD_ROWS[:1])
    with pytest.raises(InputError, match="no data rows"):
        import_crm(header, mapping())


def test_nonexistent_file(tmp_path):
    with pytest.raises(InputError) as info:
        import_crm(tmp_path / "nope.csv", mapping())
    assert "nope.csv: no such file" in one_line(info.value)


def test_missing_column_lists_available(tmp_path):
    rows = [r.rsplit(",", 1)[0] for r in GOOD_ROWS]  # drop 'budget'
    with pytest.raises(InputError) as info:
        import_crm(write_csv(tmp_path, rows), mapping())
    msg = one_line(info.value)
    assert "deals.csv" in msg and "'budget'" in msg and "attributes.budget_confirmed" in msg
    assert "available columns: id, created, engaged" in msg


def test_unparseable_date_names_line_column_value(tmp_path):
    rows = list(GOOD_ROWS)
    rows[2] = "12,2020-01-02,2020-01-03,Lost,2020-13-45,US,,no"
    with pytest.raises(InputError) as info:
        import_crm(write_csv(tmp_path, rows), mapping())
    msg = one_line(info.value)
    assert "deals.csv: line 3, column 'closed'" in msg
    assert "'2020-13-45'" in msg and "dates.format" in msg


def test_line_numbers_count_multiline_quoted_values(tmp_path):
    rows = [
        GOOD_ROWS[0],
        '7,2020-01-01,2020-01-05,Won,2020-02-01,"E\nU",100,yes',
        "12,2020-01-02,2020-01-03,Lost,not-a-date,US,,no",
    ]
    with pytest.raises(InputError, match=r"line 4, column 'closed'"):
        import_crm(write_csv(tmp_path, rows), mapping())


def test_bad_number_names_line(tmp_path):
    rows = list(GOOD_ROWS)
    rows[1] = "7,2020-01-01,2020-01-05,Won,2020-02-01,EU,1O0,yes"
    with pytest.raises(InputError) as info:
        import_crm(write_csv(tmp_path, rows), mapping())
    msg = one_line(info.value)
    assert "line 2, column 'amount'" in msg and "'1O0' is not a number" in msg


def test_bool_value_not_in_map(tmp_path):
    rows = list(GOOD_ROWS)
    rows[1] = "7,2020-01-01,2020-01-05,Won,2020-02-01,EU,1,maybe"
    with pytest.raises(InputError) as info:
        import_crm(write_csv(tmp_path, rows), mapping())
    msg = one_line(info.value)
    assert "line(s) 2" in msg and "'budget'" in msg and "maybe" in msg
    assert "attributes.budget_confirmed.map" in msg


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


# ---------------------------------------------------------------- bad mappings
def write_yaml(tmp_path, text):
    path = tmp_path / "m.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_yaml_syntax_error_has_line_and_column(tmp_path):
    path = write_yaml(tmp_path, "source: x\nfile: a.csv\ncreated_at: [a, b\nstages: {}\n")
    with pytest.raises(ConfigError) as info:
        load_mapping(path)
    msg = one_line(info.value)
    assert "m.yaml: YAML syntax error at line" in msg and "column" in msg


def test_unknown_key_lists_allowed(tmp_path):
    path = write_yaml(tmp_path, "source: x\nfile: a.csv\ncreated_at: c\nstagez: {}\n")
    with pytest.raises(ConfigError) as info:
        load_mapping(path)
    msg = one_line(info.value)
    assert "m.yaml" in msg and "stagez" in msg and "allowed keys: source" in msg


def test_nested_unknown_key_path(tmp_path):
    path = write_yaml(
        tmp_path,
        """
        source: x
        file: a.csv
        created_at: c
        lookups:
          accounts: {file: a.csv, on: account}
        """,
    )
    with pytest.raises(ConfigError) as info:
        load_mapping(path)
    msg = one_line(info.value)
    assert "key 'lookups.accounts'" in msg and "quote them" in msg  # YAML reads 'on' as True


def test_wrong_type_names_key_path(tmp_path):
    path = write_yaml(
        tmp_path,
        """
        source: x
        file: a.csv
        created_at: c
        attributes:
          deal_value: {column: v, type: money}
        """,
    )
    with pytest.raises(ConfigError) as info:
        load_mapping(path)
    msg = one_line(info.value)
    assert "key 'attributes.deal_value.type'" in msg and "docs/import.md" in msg


def test_missing_required_key(tmp_path):
    path = write_yaml(tmp_path, "source: x\nfile: a.csv\n")
    with pytest.raises(ConfigError, match="key 'created_at': required key is missing"):
        load_mapping(path)


def test_bad_stage_name_and_reserved_attribute():
    with pytest.raises(ConfigError, match="status.*stage 'closed_at'"):
        load_mapping(mapping(status={"column": "s", "date": "d", "values": {"W": "closed_at"}}))
    with pytest.raises(ConfigError, match="reserved"):
        load_mapping(mapping(attributes={"sal_at": "x"}))
    with pytest.raises(ConfigError, match="true_"):
        load_mapping(mapping(attributes={"true_buyer": "x"}))
    with pytest.raises(ConfigError, match="needs type: bool"):
        load_mapping(mapping(attributes={"need": "x"}))


def test_unknown_mapping_name_and_not_a_dict(tmp_path):
    with pytest.raises(ConfigError, match="built-in mappings: maven_crm, x_education"):
        load_mapping("salesforce")
    with pytest.raises(ConfigError, match="expected a YAML mapping"):
        load_mapping(write_yaml(tmp_path, "- a\n- b\n"))


def test_every_error_is_a_qualmodel_error(tmp_path):
    with pytest.raises(QualmodelError):
        load_mapping(tmp_path / "missing.yaml")


# ---------------------------------------------------------------- real data
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
    durations = pytest.importorskip("qualmodel.durations")
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


def test_unquoted_yes_key_in_value_map_is_rejected(tmp_path):
    path = write_yaml(
        tmp_path,
        """
        source: x
        file: a.csv
        created_at: c
        attributes:
          need: {column: n, type: bool, map: {yes: true, "no": false}}
        """,
    )
    with pytest.raises(ConfigError) as info:
        load_mapping(path)
    msg = one_line(info.value)
    assert "attributes.need.map" in msg and "quote it" in msg


def test_documented_example_mappings_validate():
    import re
    from pathlib import Path

    import yaml

    text = (Path(__file__).resolve().parents[1] / "docs" / "import.md").read_text()
    blocks = re.findall(r"```yaml\n(.*?)```", text, re.S)
    assert len(blocks) >= 3
    for block in blocks:
        assert isinstance(load_mapping(yaml.safe_load(block)), Mapping)


def test_public_exports():
    import qualmodel

    assert qualmodel.import_crm is import_crm and qualmodel.load_mapping is load_mapping
    assert qualmodel.list_mappings is list_mappings and qualmodel.Mapping is Mapping


def test_timezone_offsets_become_utc_and_blank_lines_keep_line_numbers(tmp_path):
    rows = [
        GOOD_ROWS[0],
        "7,2020-01-01T23:30:00-02:00,2020-01-05T10:00:00Z,Won,2020-02-01,EU,100,yes",
        "",
        "12,2020-01-02,2020-01-03,Lost,bad,US,,no",
    ]
    with pytest.raises(InputError, match=r"line 4, column 'closed'"):
        import_crm(write_csv(tmp_path, rows), mapping())
    rows[3] = GOOD_ROWS[2]
    j = import_crm(write_csv(tmp_path, rows), mapping())
    assert j.leads.set_index("lead_id").loc["D07", "created_at"] == pd.Timestamp("2020-01-02 01:30")


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


def test_wrong_delimiter_hint(tmp_path):
    rows = [r.replace(",", ";") for r in GOOD_ROWS]
    with pytest.raises(InputError) as info:
        import_crm(write_csv(tmp_path, rows), mapping())
    msg = one_line(info.value)
    assert "missing column(s)" in msg and "set csv.delimiter" in msg
    j = import_crm(write_csv(tmp_path, rows), mapping(csv={"delimiter": ";"}))
    assert j.n_leads == 3


def test_write_text_atomic_keeps_old_file_on_error(tmp_path):
    target = tmp_path / "out.csv"
    write_text_atomic(target, "a,b\n1,2\n")
    assert target.read_bytes() == b"a,b\n1,2\n"
    with pytest.raises(UnicodeEncodeError):
        write_text_atomic(target, "a\n\ud800\n")  # not encodable: fails mid-write
    assert target.read_bytes() == b"a,b\n1,2\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]  # no temp left
    with pytest.raises(ConfigError, match="is a folder"):
        write_text_atomic(tmp_path, "x")


def test_write_csv_atomic_round_trip(tmp_path):
    frame = pd.DataFrame({"x": [1, 2], "t": pd.to_datetime(["2024-01-01", "2024-01-02"])})
    path = write_csv_atomic(frame, tmp_path / "sub" / "t.csv", date_format="%Y-%m-%d")
    assert path.read_text() == "x,t\n1,2024-01-01\n2,2024-01-02\n"
