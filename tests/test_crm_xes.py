"""Streaming XES reader: plain and gzip, trace attributes, nesting, malformed files."""

from __future__ import annotations

import gzip
from importlib.resources import files

import pandas as pd
import pytest

from qualmodel.core.errors import ConfigError, InputError
from qualmodel.crm.mapping import XesOptions, load_mapping
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


# ---------------------------------------------------------------- limits (xes: block)
HEAD = b'<?xml version="1.0"?><log><trace><string key="concept:name" value="c1"/><event>'
EVENT = b'<event><string key="concept:name" value="A"/></event>'


def _members(path, parts):
    """Write ``(bytes, copies)`` parts as gzip members: a small file that expands a lot.

    Each block is compressed once and its member written ``copies`` times (a multi-member
    gzip file reads as one stream), so the file is streamed out, never held expanded.
    """
    with path.open("wb") as fh:
        for data, copies in parts:
            member = gzip.compress(data, compresslevel=9, mtime=0)
            for _ in range(copies):
                fh.write(member)
    return path


def _bomb(path, gib_sixteenths):
    """A gzip file whose one attribute value expands to ``gib_sixteenths`` x 64 MiB."""
    block = b"v" * (16 << 20)
    return _members(
        path,
        [
            (HEAD + b'<string key="concept:name" value="', 1),
            (block, 4 * gib_sixteenths),
            (b'"/></event></trace></log>', 1),
        ],
    )


def test_gzip_bomb_refused_at_the_element_limit(tmp_path):
    path = _bomb(tmp_path / "bomb.xes.gz", 1)  # 64 MiB in one value, ~260 KB on disk
    with pytest.raises(InputError) as err:
        read_xes(path, COLS)
    msg = str(err.value)
    assert msg.startswith(f"{path}: after byte ") and "\n" not in msg
    assert "longer than 1,048,576 bytes" in msg and "raise xes.max_element_bytes" in msg


def test_real_two_gib_bomb_refused(tmp_path):
    """The full-size case: a ~2 MB file expanding to one 2 GiB value (time and memory are
    measured by ``benchmarks/bench_xes.py``)."""
    path = _bomb(tmp_path / "bomb.xes.gz", 32)
    assert path.stat().st_size < 3 << 20
    with pytest.raises(InputError, match="xes.max_element_bytes"):
        read_xes(path, COLS)


def test_decompression_ratio_refused(tmp_path):
    events = EVENT * ((1 << 20) // len(EVENT))
    path = _members(tmp_path / "log.xes.gz", [(HEAD + b"</event>", 1), (events, 20)])
    with pytest.raises(InputError) as err:
        read_xes(path, COLS)
    msg = str(err.value)
    assert msg.startswith(f"{path}: gzip data expands ") and "\n" not in msg
    assert "over the limit of 200 (xes.max_decompression_ratio)" in msg
    tail = (b"</trace></log>", 1)
    path = _members(tmp_path / "ok.xes.gz", [(HEAD + b"</event>", 1), (events, 20), tail])
    frame = read_xes(path, COLS, XesOptions(max_decompression_ratio=100_000))
    assert len(frame) == 1 + 20 * len(events) // len(EVENT)


def test_long_kept_value_and_event_count_refused(tmp_path):
    path = tmp_path / "log.xes"
    path.write_text(LOG.replace("A_PARTLYSUBMITTED", "P" * 100))
    with pytest.raises(InputError) as err:
        read_xes(path, COLS, XesOptions(max_attribute_bytes=64))
    assert str(err.value) == (
        f"{path}: event #2 of trace 1, attribute 'concept:name': a value longer than 64 "
        f"characters (xes.max_attribute_bytes); the log is corrupt or holds long text — fix "
        f"it or raise xes.max_attribute_bytes in the mapping"
    )
    assert read_xes(path, COLS, XesOptions(max_attribute_bytes=100))["concept:name"][1] == "P" * 100
    with pytest.raises(InputError, match=r"more than 2 events \(xes.max_events\)"):
        read_xes(path, COLS, XesOptions(max_events=2))
    assert len(read_xes(path, COLS, XesOptions(max_events=3))) == 3


def test_element_limit_is_the_knob(tmp_path):
    path = tmp_path / "log.xes"
    path.write_bytes(HEAD + b'<string key="note" value="' + b"n" * (3 << 20) + b'"/>'
                     + b'<string key="concept:name" value="A"/></event></trace></log>')  # fmt: skip
    with pytest.raises(InputError, match="xes.max_element_bytes"):
        read_xes(path, COLS)
    frame = read_xes(path, COLS, XesOptions(max_element_bytes=4 << 20))
    assert frame["concept:name"].tolist() == ["A"]


LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE log [\n  <!ENTITY a "ha">\n'
    + "".join(
        f'  <!ENTITY {b} "{("&" + a + ";") * 10}">\n'
        for a, b in zip("abcdefgh", "bcdefghi", strict=True)
    )
    + ']>\n<log><trace><event><string key="concept:name" value="&i;"/></event></trace></log>\n'
)


@pytest.mark.parametrize(
    "text",
    [
        LAUGHS,
        '<?xml version="1.0"?><!DOCTYPE log SYSTEM "http://example.org/x.dtd"><log/>',
        '<?xml version="1.0"?><!DOCTYPE log [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        '<log><trace><event><string key="k" value="&x;"/></event></trace></log>',
    ],
    ids=["billion-laughs", "external-dtd", "external-entity"],
)
def test_doctype_and_entities_refused(tmp_path, text):
    path = tmp_path / "log.xes"
    path.write_text(text)
    with pytest.raises(InputError) as err:
        read_xes(path, COLS)
    msg = str(err.value)
    assert msg.startswith(f"{path}: near byte ") and "\n" not in msg
    assert "a DOCTYPE or entity declaration" in msg


def test_undeclared_entity_is_malformed(tmp_path):
    path = tmp_path / "log.xes"
    path.write_text(LOG.replace('value="112"', 'value="&lol;"'))
    with pytest.raises(InputError, match=r"malformed XES \(undefined entity\)"):
        read_xes(path, COLS)


@pytest.mark.parametrize(
    ("block", "key"),
    [
        ("{max_events: 0}", "xes.max_events"),
        ("{max_decompression_ratio: 1}", "xes.max_decompression_ratio"),
        ("{max_element_bytes: 10}", "xes.max_element_bytes"),
        ("{max_attribute_bytes: -1}", "xes.max_attribute_bytes"),
        ("{max_bytes: 5}", "key 'xes': unknown key(s) max_bytes"),
    ],
)
def test_xes_block_validated_in_one_line(tmp_path, block, key):
    path = tmp_path / "m.yaml"
    builtin = files("qualmodel.crm").joinpath("mappings/event_log.yaml").read_text()
    path.write_text(builtin + f"xes: {block}\n")
    with pytest.raises(ConfigError) as err:
        load_mapping(path)
    msg = str(err.value)
    assert "\n" not in msg and msg.startswith(str(path)) and key in msg
    path.write_text(builtin + "xes: {max_events: 5, max_decompression_ratio: 50}\n")
    assert load_mapping(path).xes == XesOptions(max_events=5, max_decompression_ratio=50)
