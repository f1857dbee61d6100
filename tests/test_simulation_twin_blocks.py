"""Strict schema of a twin's intent, BANT and timeline blocks: bad YAML, one line naming it."""

from __future__ import annotations

import copy

import pytest
import yaml

import qualmodel as qm
from qualmodel.core.errors import ConfigError
from qualmodel.simulation.twin_schema import twin_yaml


@pytest.fixture(scope="module")
def data():
    obs = qm.simulate("digital_agency", n_leads=6000, seed=2)
    twin, _ = qm.fit_scenario(obs, seed=0, n_boot=0, n_check=1, segment="segment", criteria=[])
    return yaml.safe_load(twin_yaml(twin))


def _load(data, tmp_path) -> str:
    path = tmp_path / "twin.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        qm.load_scenario(path)
    msg = str(err.value)
    assert "\n" not in msg and msg.startswith("twin.yaml: "), msg
    return msg


def _first_event(d) -> str:
    return d["intent"]["events"][0]


def _decreasing(d):
    ev = _first_event(d)
    d["intent"]["target"]["first_days"][ev] = [5.0, 1.0, 7.0]


def _short_pattern(d):
    d["intent"]["other"]["patterns"] = {"1": 1.0}


def _anchor(d):
    d["intent"]["other"]["anchors"][_first_event(d)] = "sqo"


def _missing_extra(d):
    del d["intent"]["target"]["extra"][_first_event(d)]


def _old_key(d):
    d["intent"]["target"]["offsets_days"] = {}


def _timing(d):
    d["intent"]["target"]["timing"][_first_event(d)] = "weeks"


def _pattern_sum(d):
    pats = d["intent"]["target"]["patterns"]
    pats[next(iter(pats))] += 0.5


def _groups(d):
    d["intent"]["other"]["patterns_by_follow_up"].pop()


def _timeline_negative(d):
    d["timeline"]["quantiles_days"][0] = -3.0


def _timeline_half_split(d):
    del d["timeline"]["by_class"]["target"]["known_without_event"]


def _timeline_no_event(d):
    del d["timeline"]["event"]


def _bant_class(d):
    d["bant"]["need"]["by_class"]["middle"] = dict(d["bant"]["need"]["by_class"]["target"])


def _bant_share(d):
    d["bant"]["budget_confirmed"]["by_class"]["other"]["true_share"] = 1.5


def _segment_order(d):
    mix = d["segment"]["by_class"]["target"]
    d["segment"]["by_class"]["target"] = dict(reversed(list(mix.items())))


def _outcome_name(d):
    tables = d["intent"]["target"]["patterns_by_outcome"]
    tables["closed"] = tables.pop(next(iter(tables)))


CASES = [
    (_decreasing, "intent.target.first_days", "must not decrease"),
    (_short_pattern, "intent", "one 0/1 per event"),
    (_anchor, "intent.other.anchors", "use one of created"),
    (_missing_extra, "intent: target.extra", "give one entry per event"),
    (_old_key, "intent.target.offsets_days", "unknown key; remove it"),
    (_timing, "intent.target.timing", "'days' or 'follow_up'"),
    (_pattern_sum, "intent.target.patterns", "must sum to 1"),
    (_groups, "intent.other", "one table per group"),
    (_timeline_negative, "timeline.quantiles_days", "≥ 0 days"),
    (_timeline_half_split, "timeline.by_class.target", "together"),
    (_timeline_no_event, "timeline", "needs 'event'"),
    (_bant_class, "bant.need.by_class.middle", "'target', 'start' or 'other'"),
    (_bant_share, "bant.budget_confirmed.by_class.other.true_share", "less than or equal to 1"),
    (_segment_order, "segment", "same order"),
    (_outcome_name, "intent.target.patterns_by_outcome.closed", "use one of"),
]


@pytest.mark.parametrize("edit, key, fix", CASES, ids=[c[0].__name__.strip("_") for c in CASES])
def test_bad_block_is_one_line_naming_key_and_fix(data, tmp_path, edit, key, fix):
    bad = copy.deepcopy(data)
    edit(bad)
    msg = _load(bad, tmp_path)
    assert key in msg and fix in msg, msg


def test_fitted_blocks_load_back(data, tmp_path):
    path = tmp_path / "twin.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    twin = qm.load_scenario(path)
    assert twin.intent.start is not None and twin.timeline.event == "bant_timeline"
    assert twin.bant["budget_confirmed"].event == "bant_budget"
    assert set(twin.segment.by_class) == {"target", "start", "other"}
