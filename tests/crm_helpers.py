"""Shared helpers of the CRM import tests: a tiny deal export and its mapping."""

from __future__ import annotations

import textwrap

import pandas as pd

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


#: The tiny deal export the CLI tests import: two rows, one won and one open.
TINY_ROWS = [
    "id,created,engaged,stage,closed",
    "1,2020-01-01,2020-01-02,Won,2020-01-10",
    "2,2020-01-01,2020-01-03,Open,",
]
#: Its mapping YAML (``deals.csv`` next to the mapping).
TINY_MAPPING = """\
source: tiny
file: deals.csv
lead_id: id
created_at: created
stages: {sal_at: engaged}
status:
  column: stage
  date: closed
  values: {Won: won_at, Lost: lost_at, Open: open}
observed_until: 2020-12-31
"""


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


def write_yaml(tmp_path, text):
    path = tmp_path / "m.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path
