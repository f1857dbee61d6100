"""Round trip: simulate -> export as a long stage history -> import -> identical journeys."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml

import qualmodel as qm
from qualmodel.core.errors import ConfigError
from qualmodel.crm import export_history, import_crm, load_mapping, write_history
from qualmodel.journeys.contract import STAGE_COLUMNS


@pytest.fixture(scope="module")
def simulated():
    return qm.simulate("startup_saas", n_leads=600, seed=3)


def _assert_same(imported: qm.Journeys, original: qm.Journeys, attributes: bool) -> None:
    stage_cols = [c for c in STAGE_COLUMNS if c in original.leads]
    cols = ["lead_id", "created_at", "observed_until", *stage_cols]
    pd.testing.assert_frame_equal(imported.leads[cols], original.leads[cols])
    # every event: lead, timestamp, name and value, in the contract's order
    pd.testing.assert_frame_equal(
        imported.events.reset_index(drop=True),
        original.events.reset_index(drop=True),
        check_categorical=False,
    )
    if attributes:
        attrs = ["segment", "budget_confirmed", "authority", "need", "timeline_days"]
        pd.testing.assert_frame_equal(
            imported.leads[attrs], original.leads[attrs], check_categorical=False
        )
        assert imported.leads["nurtured"].astype(bool).equals(original.leads["nurtured"])


@pytest.mark.parametrize("fmt", ["csv", "parquet", "xes"])
@pytest.mark.parametrize("leads_table", [True, False])
def test_round_trip_identical_journeys(tmp_path, simulated, fmt, leads_table):
    paths = write_history(simulated, tmp_path, format=fmt, leads_table=leads_table)
    source = (
        {"main": paths["leads"], "history": paths["history"]} if leads_table else paths["history"]
    )
    imported = import_crm(source, paths["mapping"])
    _assert_same(imported, simulated, attributes=leads_table)
    hist = imported.meta["import"]["history"]
    assert hist["rows"] == len(export_history(simulated)["history"])
    assert hist["dropped_rows"] == {} and hist["dropped_cases"] == {}


def test_round_trip_has_real_content(simulated):
    # the comparison above is only meaningful if every kind of stage and event occurs
    leads = simulated.leads
    for col in ("mql_at", "sal_at", "sqo_at", "won_at", "lost_at", "disqualified_at"):
        assert leads[col].notna().sum() > 5, col
    assert simulated.events["value"].notna().any()


def test_export_tables(simulated):
    tables = export_history(simulated)
    hist, leads = tables["history"], tables["leads"]
    assert list(hist.columns) == ["lead_id", "activity", "ts", "value"]
    assert not any(c.startswith("true_") for c in leads.columns)
    n_stages = sum(
        int(simulated.leads[c].notna().sum()) for c in STAGE_COLUMNS if c in simulated.leads
    )
    assert len(hist) == simulated.n_leads + n_stages + simulated.n_events
    assert hist["lead_id"].is_monotonic_increasing
    per_lead = hist.groupby("lead_id", sort=False)["ts"].apply(lambda s: s.is_monotonic_increasing)
    assert per_lead.all()


def test_written_mapping_is_valid_yaml(tmp_path, simulated):
    paths = write_history(simulated, tmp_path, format="csv", leads_table=False)
    raw = yaml.safe_load(paths["mapping"].read_text())
    assert raw["history"]["stages"]["created"] == "created"
    assert load_mapping(paths["mapping"]).history is not None


def test_event_named_like_a_stage_is_refused(journeys_factory):
    j = journeys_factory(
        [{"lead_id": "a", "created_at": "2024-01-01", "observed_until": "2024-02-01"}],
        [("a", "2024-01-02", "created")],
    )
    with pytest.raises(ConfigError, match="equal stage activity names"):
        export_history(j)


@pytest.mark.parametrize("leads_table", [True, False])
def test_round_trip_keeps_outcome_names_and_extra_outcomes(tmp_path, leads_table):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from shapes import make_shape

    j = make_shape("three_competing", n=120, seed=5)
    paths = write_history(j, tmp_path, leads_table=leads_table)
    text = paths["mapping"].read_text()
    assert "outcomes:" in text and "withdrawn: withdrawn" in text
    source = {"main": paths["leads"], "history": paths["history"]} if leads_table else None
    back = import_crm(source or paths["history"], str(paths["mapping"]))
    assert back.meta["outcomes"] == j.meta["outcomes"] | {
        k: f"{v}_at" for k, v in j.meta["outcomes"].items()
    }
    cols = ["lead_id", "won_at", "lost_at", "withdrawn_at", "expired_at"]
    pd.testing.assert_frame_equal(back.leads[cols], j.leads[cols])
    assert "withdrawn_at" not in export_history(j)["leads"]  # a stage, not an attribute
