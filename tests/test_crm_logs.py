"""Long-table readers: CSV fast path and its fallbacks, Parquet, formats, bad columns."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from qualmodel.core.errors import InputError
from qualmodel.crm.history_mapping import HistorySpec, file_format
from qualmodel.crm.logs import parse_timestamps, read_log
from qualmodel.crm.mapping import CsvOptions, DateOptions

SPEC = HistorySpec.model_validate(
    {
        "file": "h.csv",
        "case_id": "case",
        "activity": "activity",
        "timestamp": "ts",
        "value": "amount",
        "stages": {"Won": "won"},
    }
)


def test_csv_strips_and_keeps_only_mapped_columns(tmp_path):
    path = tmp_path / "h.csv"
    path.write_text(
        " case ,activity,ts,amount,other\n A , Won ,  2024-01-02 ,5,x\nB,,2024-01-03,,y\n"
    )
    log = read_log(path, SPEC, "history")
    assert list(log.frame.columns) == ["case", "activity", "ts", "value"]
    assert log.frame["case"].tolist() == ["A", "B"]
    assert log.frame["activity"].tolist()[0] == "Won" and pd.isna(log.frame["activity"].iloc[1])
    assert log.frame["ts"].tolist() == [pd.Timestamp("2024-01-02"), pd.Timestamp("2024-01-03")]
    assert log.frame["value"].iloc[0] == 5.0 and np.isnan(log.frame["value"].iloc[1])
    assert log.where(np.array([1])) == "line(s) 3"


def test_csv_options_and_date_format(tmp_path):
    path = tmp_path / "h.csv"
    path.write_text("case;activity;ts;amount\nA;Won;02/01/2024 10:30;1\n", encoding="latin-1")
    log = read_log(
        path,
        SPEC,
        "history",
        CsvOptions(delimiter=";", encoding="latin-1"),
        DateOptions(format="%d/%m/%Y %H:%M"),
    )
    assert log.frame["ts"].iloc[0] == pd.Timestamp("2024-01-02 10:30")


def test_malformed_csv_falls_back_to_the_table_errors(tmp_path):
    path = tmp_path / "h.csv"
    path.write_text('case,activity,ts,amount\nA,Won,2024-01-02,1\nB,"Won,2024-01-03,1\n')
    with pytest.raises(InputError, match="a quoted value is never closed"):
        read_log(path, SPEC, "history")


def test_missing_column_names_the_mapping_key(tmp_path):
    path = tmp_path / "h.csv"
    path.write_text("case,activity,when\nA,Won,2024-01-02\n")
    with pytest.raises(InputError) as err:
        read_log(path, SPEC, "history")
    msg = str(err.value)
    assert "missing column(s) 'ts' (mapping key history.timestamp), 'amount'" in msg
    assert "available columns: case, activity, when" in msg


def test_non_numeric_value(tmp_path):
    path = tmp_path / "h.csv"
    path.write_text("case,activity,ts,amount\nA,Won,2024-01-02,1O0\n")
    with pytest.raises(InputError, match=r"line\(s\) 2, column 'amount': '1O0' is not a number"):
        read_log(path, SPEC, "history")


def test_parquet_typed_columns_and_utc(tmp_path):
    path = tmp_path / "h.parquet"
    pd.DataFrame(
        {
            "case": [7, 8],
            "activity": ["Won", "Lost"],
            "ts": pd.to_datetime(["2024-01-02 10:00", "2024-01-03 00:00"]).tz_localize(
                "Europe/Amsterdam"
            ),
            "amount": [1.5, None],
        }
    ).to_parquet(path)
    log = read_log(path, SPEC, "history")
    assert log.frame["case"].tolist() == ["7", "8"]
    assert log.frame["ts"].iloc[0] == pd.Timestamp("2024-01-02 09:00")
    assert log.where(np.array([0, 1])) == "row(s) 1, 2"


def test_damaged_parquet(tmp_path):
    path = tmp_path / "h.parquet"
    path.write_bytes(b"PAR1 not really")
    with pytest.raises(InputError, match="cannot read as Parquet"):
        read_log(path, SPEC, "history")


def test_file_format():
    assert file_format("a/log.XES.gz") == "xes"
    assert file_format("log.pq") == "parquet"
    assert file_format("log.txt") == "csv"
    assert file_format("log.txt", "xes") == "xes"


def test_parse_timestamps_offsets_to_utc():
    out = parse_timestamps(pd.Series(["2011-10-01T00:38:44.546+02:00", None, "bad"]), None)
    assert out.iloc[0] == pd.Timestamp("2011-09-30 22:38:44.546")
    assert pd.isna(out.iloc[1]) and pd.isna(out.iloc[2])


def test_offset_fast_path_equals_the_general_parser(monkeypatch):
    """ISO strings with mixed ±HH:MM offsets (XES summer/winter time) take a fast path that
    gives the same instants as ``pandas.to_datetime``; other shapes fall back to it."""
    from qualmodel.crm import logs

    values = pd.Series(
        [
            "2011-10-01T00:38:44.546+02:00",
            None,
            "2011-12-01T00:38:44+01:00",
            "2011-10-01T00:38:44-05:30",
            "2011-02-30T00:00:00+01:00",  # no such day: NaT on both paths
            "2011-10-01T00:38:44.123456789+00:00",
        ],
        dtype=object,
    )
    fast = logs._iso_with_offsets(values)
    assert fast is not None
    monkeypatch.setattr(logs, "_iso_with_offsets", lambda _: None)
    pd.testing.assert_series_equal(fast, parse_timestamps(values, None))
    assert fast.iloc[0] == pd.Timestamp("2011-09-30 22:38:44.546")
    assert fast.iloc[3] == pd.Timestamp("2011-10-01 06:08:44")
    monkeypatch.undo()
    for other in (
        ["2011-10-01 00:38:44"],
        ["2011-10-01T00:38:44Z"],
        [" 2011-10-01T00:38:44+02:00"],
    ):
        assert logs._iso_with_offsets(pd.Series(other, dtype=object)) is None
    assert logs._iso_with_offsets(pd.Series([1, 2], dtype=object)) is None
