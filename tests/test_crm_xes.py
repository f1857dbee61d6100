"""Streaming XES reader: plain and gzip, trace attributes, nesting, malformed files."""

from __future__ import annotations

import gzip

import pandas as pd
import pytest

from qualmodel.core.errors import InputError
from qualmodel.crm.xes import read_xes, write_xes

LOG = """<?xml version="1.0" encoding="UTF-8"?>
<log xes.version="1.0" xmlns="http://www.xes-standard.org/">
  <string key="concept:name" value="log name is not a case"/>
  <global scope="event"><string key="concept:name" value="default"/></global>
  <trace>
    <string key="concept:name" value="173688"/>
    <float key="AMOUNT_REQ" value="20000"/>
    <event>
      <string key="org:resource" value="112"/>
      <string key="concept:name" value="A_SUBMITTED"/>
      <date key="time:timestamp" value="2011-10-01T00:38:44.546+02:00"/>
      <string key="note" value="outer"><string key="concept:name" value="nested meta"/></string>
    </event>
    <event>
      <string key="concept:name" value="A_PARTLYSUBMITTED"/>
      <date key="time:timestamp" value="2011-10-01T00:38:44.880+02:00"/>
    </event>
  </trace>
  <trace>
    <event>
      <string key="concept:name" value="A_SUBMITTED"/>
      <date key="time:timestamp" value="2011-10-01T08:08:58.256+02:00"/>
    </event>
    <string key="concept:name" value="173691"/>
  </trace>
</log>
"""

COLS = ["case:concept:name", "concept:name", "time:timestamp", "case:AMOUNT_REQ", "org:resource"]


@pytest.mark.parametrize("gz", [False, True])
def test_read_plain_and_gzip(tmp_path, gz):
    path = tmp_path / ("log.xes.gz" if gz else "log.xes")
    data = LOG.encode()
    path.write_bytes(gzip.compress(data) if gz else data)
    f = read_xes(path, COLS)
    assert f["case:concept:name"].tolist() == ["173688", "173688", "173691"]
    assert f["concept:name"].tolist() == ["A_SUBMITTED", "A_PARTLYSUBMITTED", "A_SUBMITTED"]
    assert f["time:timestamp"].iloc[0] == "2011-10-01T00:38:44.546+02:00"
    assert f["case:AMOUNT_REQ"].tolist() == ["20000", "20000", None]
    assert f["org:resource"].tolist() == ["112", None, None]
    assert f["_trace"].tolist() == [1, 1, 2] and f["_event"].tolist() == [1, 2, 3]


def test_gzip_detected_from_content_not_name(tmp_path):
    path = tmp_path / "log.xes"
    path.write_bytes(gzip.compress(LOG.encode()))
    assert len(read_xes(path, COLS)) == 3


def test_malformed_xml_names_line_and_column(tmp_path):
    path = tmp_path / "bad.xes"
    path.write_text(
        LOG.replace(
            '<date key="time:timestamp" value="2011-10-01T08:08:58.256+02:00"/>',
            '<date key="time:timestamp" value="x">',
        )
    )
    with pytest.raises(InputError) as err:
        read_xes(path, COLS)
    msg = str(err.value)
    assert msg.startswith(f"{path}: line 23, column ")
    assert "malformed XES (mismatched tag)" in msg and "\n" not in msg


def test_truncated_gzip(tmp_path):
    path = tmp_path / "log.xes.gz"
    path.write_bytes(gzip.compress(LOG.encode())[:-30])
    with pytest.raises(InputError, match="damaged gzip data"):
        read_xes(path, COLS)


def test_truncated_xml(tmp_path):
    path = tmp_path / "log.xes"
    path.write_text(LOG[:400])
    with pytest.raises(InputError, match="malformed XES"):
        read_xes(path, COLS)


def test_not_an_xes_file(tmp_path):
    path = tmp_path / "log.xes"
    path.write_text("<?xml version='1.0'?><root><item/></root>")
    with pytest.raises(InputError, match="no <trace> element found"):
        read_xes(path, COLS)
    with pytest.raises(InputError, match="no such XES file"):
        read_xes(tmp_path / "missing.xes", COLS)


def test_write_then_read_round_trip(tmp_path):
    frame = pd.DataFrame(
        {
            "case": ["a", "a", "b"],
            "activity": ['x <&> "y"', "z", "x"],
            "ts": pd.to_datetime(
                ["2024-01-01 10:00:00.123456", "2024-01-02", "2024-01-03"], format="ISO8601"
            ),
            "value": [1.5, float("nan"), 2.0],
        }
    )
    for name in ("out.xes", "out.xes.gz"):
        path = write_xes(frame, tmp_path / name, case="case", activity="activity", ts="ts")
        f = read_xes(path, ["case:concept:name", "concept:name", "time:timestamp", "value"])
        assert f["case:concept:name"].tolist() == ["a", "a", "b"]
        assert f["concept:name"].tolist() == frame["activity"].tolist()
        assert f["value"].tolist() == ["1.5", None, "2.0"]
        ts = pd.to_datetime(f["time:timestamp"], utc=True).dt.tz_localize(None)
        assert (ts.to_numpy() == frame["ts"].to_numpy()).all()
    assert not list(tmp_path.glob(".*tmp"))


def test_prefixed_tags_attribute_order_and_nesting(tmp_path):
    """Namespace prefixes are ignored, ``value`` may come before ``key``, and only an
    event's or trace's own attributes count (not ones nested in another attribute)."""
    path = tmp_path / "log.xes"
    path.write_text(
        "<?xml version='1.0'?><x:log xmlns:x='http://www.xes-standard.org/'>"
        "<x:trace><list key='concept:name'><string key='concept:name' value='nested'/></list>"
        "<x:string value='c1' key='concept:name' other='o'/>"
        "<x:event><x:string value='a' key='concept:name'/><string key='org:resource'/>"
        "<container key='c'><date key='time:timestamp' value='nested'/></container>"
        "<date key='time:timestamp' value='2024-01-01'/></x:event>"
        "<event><string key='concept:name' value='b'/></event></x:trace></x:log>"
    )
    f = read_xes(path, COLS)
    assert f["case:concept:name"].tolist() == ["c1", "c1"]
    assert f["concept:name"].tolist() == ["a", "b"]
    assert f["time:timestamp"].tolist() == ["2024-01-01", None]
    assert f["org:resource"].tolist() == [None, None]
    assert f["case:AMOUNT_REQ"].tolist() == [None, None]
    assert list(f.columns) == [*COLS, "_trace", "_event"]
