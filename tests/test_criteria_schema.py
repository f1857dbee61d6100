"""Criteria schema and loading (criteria_schema.py): YAML errors, sources, built-in files."""

from __future__ import annotations

import pytest

from qualmodel.core.errors import ConfigError
from qualmodel.criteria.schema import (
    criteria_event_names,
    list_criteria_files,
    load_criteria,
    scenario_criteria,
)


def test_yaml_unknown_key():
    text = "criteria:\n  - name: x\n    events: {all: [a], within: 3}\n"
    with pytest.raises(ConfigError) as e:
        load_criteria(text)
    msg = str(e.value)
    assert "criteria[0].events: unknown key 'within'" in msg
    assert "within_days" in msg  # allowed keys listed
    text = "- name: x\n  score: {threshold: 1, events: {a: {points: 1, max_cnt: 3}}}\n"
    with pytest.raises(ConfigError) as e:
        load_criteria(text)
    assert "criteria[0].score.events.a: unknown key 'max_cnt' (allowed: points, max_count, " in (
        str(e.value)
    )
    with pytest.raises(ConfigError, match=r"criteria\[0\]: unknown key 'scor' \(allowed: name"):
        load_criteria("- name: x\n  scor: {}\n")


def test_yaml_bad_type_and_value():
    with pytest.raises(ConfigError, match=r"criteria\[0\]\.score\.threshold: .*'lots'"):
        load_criteria("criteria:\n  - name: x\n    score: {threshold: lots, events: {a: 1}}\n")
    with pytest.raises(ConfigError, match=r"criteria\[0\]\.bant\.min_of: .*less than or equal"):
        load_criteria("criteria:\n  - name: x\n    bant: {min_of: 5}\n")
    with pytest.raises(ConfigError, match=r"criteria\[1\]: .*exactly one of score"):
        load_criteria(
            "criteria:\n  - name: x\n    bant: {min_of: 1}\n  - name: y\n"
            "    bant: {min_of: 1}\n    events: {all: [a]}\n"
        )
    with pytest.raises(ConfigError, match=r"score\.decay: give exactly one"):
        load_criteria(
            "criteria:\n  - name: x\n    score: {threshold: 1, events: {a: 1}, decay: {}}\n"
        )
    with pytest.raises(ConfigError, match=r"duplicate name 'x'"):
        load_criteria("- {name: x, bant: {min_of: 1}}\n- {name: x, bant: {min_of: 2}}\n")
    with pytest.raises(ConfigError, match=r"criteria\[0\]: missing required key 'name'"):
        load_criteria("- {bant: {min_of: 1}}\n")
    with pytest.raises(ConfigError, match="invalid YAML at line"):
        load_criteria("criteria: [\n  - {name: x\n")


def test_load_sources(tmp_path):
    with pytest.raises(ConfigError, match="no such criteria file"):
        load_criteria(str(tmp_path / "missing.yaml"))
    with pytest.raises(ConfigError, match="not a criteria file or built-in name"):
        load_criteria("nonsense")
    with pytest.raises(ConfigError, match="unknown scenario"):
        scenario_criteria("nope")


BRIEF_EVENTS = {
    "startup_saas": {
        "newsletter_signup",
        "ebook_download",
        "webinar_attended",
        "demo_completed",
        "pricing_call",
        "quote_requested",
    },
    "consultancy": {
        "conference_session",
        "linkedin_connected",
        "thought_leadership_engaged",
        "discovery_call",
        "challenges_shared",
        "tailored_solution_requested",
    },
    "digital_agency": {
        "newsletter_signup",
        "social_follow",
        "gated_content_viewed",
        "rfp_submitted",
        "discovery_workshop",
        "timeline_budget_stated",
    },
}


GENERIC = {
    "email_open",
    "website_visit",
    "nurture_email",
    "bant_budget",
    "bant_authority",
    "bant_need",
    "bant_timeline",
}


SEED_RULE = {
    "startup_saas": {"demo_completed", "pricing_call", "quote_requested"},
    "consultancy": {"discovery_call", "challenges_shared", "tailored_solution_requested"},
    "digital_agency": {"rfp_submitted", "discovery_workshop", "timeline_budget_stated"},
}


@pytest.mark.parametrize("scenario", sorted(BRIEF_EVENTS))
def test_builtin_criteria(scenario):
    assert scenario in list_criteria_files()
    crits = scenario_criteria(scenario)
    assert len(crits) >= 4
    kinds = {c.kind for c in crits}
    assert {"events", "score", "bant"} <= kinds and kinds & {"all_of", "any_of"}
    known = BRIEF_EVENTS[scenario] | GENERIC
    load_criteria(scenario, known_events=known)  # every event name is a catalogue name
    seed = crits[0]
    assert seed.kind == "events" and set(seed.events.all) == SEED_RULE[scenario]
    assert any(c.score is not None and c.score.decay is not None for c in crits)
    assert all(c.description for c in crits)
    assert set(criteria_event_names(seed)) == SEED_RULE[scenario]
