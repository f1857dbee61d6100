"""Intent touchpoints of a twin: fitted block, and the power answer against a known truth."""

from __future__ import annotations

import pytest

import qualmodel as qm
from qualmodel.experiment.mde import leads_needed
from qualmodel.experiment.power import criteria_pair, power
from qualmodel.experiment.twin_intent_fit import FOLLOW_UP_GROUPS


def _sqo_volume_leads(scenario, pair) -> float:
    table = power(
        scenario, pair[0], pair[1], metric="sqo_volume", n_leads=[4000], n_replicates=20, seed=3
    )
    return float(leads_needed(table)["leads_analytic"].iloc[0])


@pytest.mark.slow
def test_power_answer_within_25_percent_of_the_truth():
    """digital_agency (known truth): leads per arm for 80% power on SQO volume, twin vs truth."""
    name = "digital_agency"
    obs = qm.simulate(name, n_leads=20_000, seed=1)
    twin, _ = qm.fit_scenario(obs, seed=0, n_boot=0, n_check=1, segment="segment")
    assert twin.intent is not None and "rfp_submitted" in twin.intent.events
    assert twin.timeline is not None
    pair = criteria_pair(name)
    truth, fitted = _sqo_volume_leads(name, pair), _sqo_volume_leads(twin, pair)
    assert 0.75 <= fitted / truth <= 1.25, (truth, fitted)


def test_intent_block_shape_and_same_seed_same_journeys():
    obs = qm.simulate("startup_saas", n_leads=4000, seed=1)
    twin, _ = qm.fit_scenario(obs, seed=0, n_boot=0, n_check=1)
    it = twin.intent
    assert it is not None and "demo_completed" in it.events
    assert set(it.classes()) == {"target", "start", "other"}
    for block in it.classes().values():
        assert abs(sum(block.patterns.values()) - 1.0) < 1e-6
        assert all(len(k) == len(it.events) for k in block.patterns)
        assert set(block.first_days) == set(block.gap_days) == set(it.events)
    # the others (~3,400 leads) keep one pattern table per quarter of follow-up, and time
    # their background events in shares of it
    assert len(it.other.patterns_by_follow_up) == FOLLOW_UP_GROUPS
    assert "follow_up" in it.other.timing.values()
    # the target's leads keep their patterns per outcome (won, lost, still open)
    assert set(it.target.patterns_by_outcome) == {"won", "lost", "open"}
    # the demo is timed from the SQO it precedes; arrival-timed only for the others
    assert it.target.anchors["demo_completed"] == "sqo"
    assert set(it.other.anchors.values()) == {"created"}
    a = qm.simulate(twin, n_leads=2000, seed=7)
    b = qm.simulate(twin, n_leads=2000, seed=7)
    assert a.events.equals(b.events)
