"""CRM CSV reading: malformed files, encodings, dates, numbers and line numbers in errors."""

from __future__ import annotations

import pandas as pd
import pytest
from crm_helpers import GOOD_ROWS, mapping, one_line, write_csv

from qualmodel.core.errors import InputError
from qualmodel.crm import import_crm


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


def test_wrong_delimiter_hint(tmp_path):
    rows = [r.replace(",", ";") for r in GOOD_ROWS]
    with pytest.raises(InputError) as info:
        import_crm(write_csv(tmp_path, rows), mapping())
    msg = one_line(info.value)
    assert "missing column(s)" in msg and "set csv.delimiter" in msg
    j = import_crm(write_csv(tmp_path, rows), mapping(csv={"delimiter": ";"}))
    assert j.n_leads == 3


def _as_parquet(csv_path, parquet_path):
    """Write a CSV as a typed Parquet file (dates, integers, floats, booleans inferred)."""
    import duckdb

    duckdb.sql(f"COPY (SELECT * FROM read_csv('{csv_path}')) TO '{parquet_path}' (FORMAT parquet)")
    return parquet_path


def test_parquet_main_table_gives_the_csv_journeys(tmp_path):
    csv = write_csv(tmp_path, GOOD_ROWS)
    want = import_crm(csv, mapping())
    got = import_crm(_as_parquet(csv, tmp_path / "deals.parquet"), mapping())
    pd.testing.assert_frame_equal(got.leads, want.leads)
    pd.testing.assert_frame_equal(got.events, want.events)
    assert got.meta["files"]["main"]["rows"] == want.meta["files"]["main"]["rows"] == 4


def test_maven_from_parquet_tables_gives_the_csv_journeys(shared_data, tmp_path):
    folder = shared_data / "maven_crm"
    want = import_crm(folder / "sales_pipeline.csv", "maven_crm")
    tables = {
        name: _as_parquet(folder / f"{file}.csv", tmp_path / f"{file}.parquet")
        for name, file in (("main", "sales_pipeline"), ("accounts", "accounts"),
                           ("products", "products"), ("sales_teams", "sales_teams"))
    }  # fmt: skip
    got = import_crm(tables, "maven_crm")
    pd.testing.assert_frame_equal(got.leads, want.leads)
    pd.testing.assert_frame_equal(got.events, want.events)


def test_parquet_errors_name_the_row_and_a_corrupt_file_is_one_line(tmp_path):
    rows = list(GOOD_ROWS)
    rows[3] = "3,2020-01-03,2020-01-04,Open,someday,EU,50,Select"
    path = _as_parquet(write_csv(tmp_path, rows), tmp_path / "deals.parquet")
    with pytest.raises(InputError) as info:
        import_crm(path, mapping())
    assert "deals.parquet: row 3, column 'closed'" in one_line(info.value)
    bad = tmp_path / "broken.parquet"
    bad.write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(InputError) as info:
        import_crm(bad, mapping())
    msg = one_line(info.value)
    assert "broken.parquet: not a readable Parquet file" in msg and "re-export" in msg
