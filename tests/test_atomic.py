"""Atomic writers: the old file survives a failed write, no temp file is left behind."""

from __future__ import annotations

import pandas as pd
import pytest

from qualmodel.atomic import write_csv_atomic, write_text_atomic
from qualmodel.errors import ConfigError


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
