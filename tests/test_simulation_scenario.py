from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest
import yaml

from qualmodel import ConfigError, Scenario, list_scenarios, load_scenario
from qualmodel.simulation.scenario import BUILTIN_SCENARIOS, scenario_hash

EVENTS = {
    "startup_saas": (
        {"newsletter_signup", "ebook_download", "webinar_attended"},
        {"demo_completed", "pricing_call", "quote_requested"},
    ),
    "consultancy": (
        {"conference_session", "linkedin_connected", "thought_leadership_engaged"},
        {"discovery_call", "challenges_shared", "tailored_solution_requested"},
    ),
    "digital_agency": (
        {"newsletter_signup", "social_follow", "gated_content_viewed"},
        {"rfp_submitted", "discovery_workshop", "timeline_budget_stated"},
    ),
}


def _raw(name: str) -> dict:
    text = (resources.files("qualmodel.simulation") / "scenarios" / f"{name}.yaml").read_text(
        "utf-8"
    )
    return yaml.safe_load(text)


def _write(tmp_path: Path, data: dict, name: str = "startup.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


@pytest.mark.parametrize("name", BUILTIN_SCENARIOS)
def test_builtin_scenarios_load_with_the_named_touchpoints(name):
    sc = load_scenario(name)
    assert isinstance(sc, Scenario)
    assert sc.name == name
    sal_type, sqo_type = EVENTS[name]
    assert set(sc.events_of_kind("sal")) == sal_type
    assert set(sc.events_of_kind("sqo")) == sqo_type
    assert set(sc.events_of_kind("generic")) <= {"email_open", "website_visit"}
    assert abs(sum(s.share for s in sc.segments) - 1) < 1e-9


@pytest.mark.parametrize("name", BUILTIN_SCENARIOS)
def test_every_numeric_block_carries_a_source_note(name):
    missing = []

    def walk(node, path):
        if isinstance(node, dict):
            numbers = [
                k
                for k, v in node.items()
                if isinstance(v, int | float) and not isinstance(v, bool) and k != "n_leads"
            ]
            if (
                numbers
                and path
                and not path.endswith(("log_hr", "log_odds", "log_rr"))
                and ("days_median" not in path)
            ):
                if not isinstance(node.get("source"), str) or len(node["source"]) < 10:
                    missing.append(path)
            for k, v in node.items():
                walk(v, f"{path}.{k}" if path else str(k))
        elif isinstance(node, list):
            for item in node:
                walk(item, f"{path}[{item.get('name', '?') if isinstance(item, dict) else '?'}]")

    walk(_raw(name), "")
    assert missing == []


@pytest.mark.parametrize("name", BUILTIN_SCENARIOS)
def test_benchmark_ranges_are_respected(name):
    sc = load_scenario(name)
    assert 0.40 <= sc.funnel.sal.share <= 0.60  # MQL→SAL 40–60 %
    win = {"startup_saas": (0.17, 0.30), "consultancy": (0.40, 0.50), "digital_agency": (0.2, 0.3)}
    lo, hi = win[name]
    assert lo <= sc.sales.close.win_share <= hi
    assert 0.30 <= sc.sales.never_convert.share <= 0.50  # SAL→SQL 50–70 % eventually


def test_list_scenarios_has_one_line_descriptions():
    table = list_scenarios()
    assert list(table["name"]) == list(BUILTIN_SCENARIOS)
    assert list(table.columns[:2]) == ["name", "description"]
    assert all("\n" not in d and len(d) > 20 for d in table["description"])


def test_load_by_path_equals_builtin(tmp_path):
    path = _write(tmp_path, _raw("consultancy"), "copy.yaml")
    assert load_scenario(path) == load_scenario("consultancy")
    assert load_scenario(str(path)) == load_scenario("consultancy")
    sc = load_scenario("consultancy")
    assert load_scenario(sc) is sc


def test_unknown_key_names_file_and_key_path(tmp_path):
    data = _raw("startup_saas")
    data["touchpoints"]["demo_completed"]["base_rate"] = 0.2
    with pytest.raises(ConfigError) as err:
        load_scenario(_write(tmp_path, data))
    assert str(err.value) == (
        "startup.yaml: touchpoints.demo_completed.base_rate: unknown key; remove it or fix "
        "its spelling"
    )


def test_wrong_type_names_file_and_key_path(tmp_path):
    data = _raw("startup_saas")
    data["touchpoints"]["demo_completed"]["rate_per_30d"] = "often"
    with pytest.raises(ConfigError) as err:
        load_scenario(_write(tmp_path, data))
    msg = str(err.value)
    assert msg.startswith(
        "startup.yaml: touchpoints.demo_completed.rate_per_30d: Input should be a valid number"
    )
    assert msg.endswith("fix the value")
    assert "\n" not in msg


def test_out_of_range_and_missing_keys(tmp_path):
    data = _raw("startup_saas")
    data["funnel"]["sal"]["share"] = 1.5
    with pytest.raises(ConfigError, match=r"funnel\.sal\.share: Input should be less than 1"):
        load_scenario(_write(tmp_path, data))
    data = _raw("startup_saas")
    del data["sales"]["sqo"]["shape"]
    with pytest.raises(ConfigError, match=r"sales\.sqo\.shape: required key is missing; add it"):
        load_scenario(_write(tmp_path, data))


def test_segment_items_are_addressed_by_position(tmp_path):
    data = _raw("startup_saas")
    data["segments"][1]["weight"] = 3
    with pytest.raises(ConfigError, match=r"startup\.yaml: segments\.1\.weight: unknown key"):
        load_scenario(_write(tmp_path, data))


def test_semantic_checks(tmp_path):
    data = _raw("startup_saas")
    data["segments"][0]["share"] = 0.5
    with pytest.raises(ConfigError, match="shares must sum to 1, got 0.9"):
        load_scenario(_write(tmp_path, data))
    data = _raw("startup_saas")
    data["sales"]["sqo"]["log_hr"]["colour"] = 0.3
    with pytest.raises(ConfigError, match=r"sales\.sqo\.log_hr: unknown key\(s\) colour; allowed"):
        load_scenario(_write(tmp_path, data))
    data = _raw("startup_saas")
    data["sales"]["sqo"]["log_hr"]["smb"] = 0.3  # the reference segment has no coefficient
    with pytest.raises(ConfigError, match="unknown key"):
        load_scenario(_write(tmp_path, data))
    data = _raw("startup_saas")
    data["touchpoints"]["nurture_email"] = {"kind": "generic", "rate_per_30d": 1, "source": "xyz"}
    with pytest.raises(ConfigError, match="produced by the simulator itself"):
        load_scenario(_write(tmp_path, data))


def test_bad_yaml_syntax_reports_line_and_column(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("name: x\nwindow:\n  start: [2025-01-01\n  days: 3\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_scenario(path)
    msg = str(err.value)
    assert msg.startswith("broken.yaml: invalid YAML at line 4 column ")
    assert msg.endswith("fix the syntax")


def test_top_level_not_a_mapping(tmp_path):
    path = tmp_path / "list.yaml"
    path.write_text("- 1\n- 2\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="list.yaml: expected a mapping"):
        load_scenario(path)


def test_unknown_scenario_name_and_missing_file(tmp_path):
    with pytest.raises(ConfigError) as err:
        load_scenario("startup")
    assert str(err.value) == (
        "unknown scenario 'startup'; choose one of startup_saas, consultancy, digital_agency "
        "or give the path of a scenario YAML file"
    )
    with pytest.raises(ConfigError, match=r"nope\.yaml: scenario file not found"):
        load_scenario(tmp_path / "nope.yaml")


def test_with_overrides_validates_and_changes_hash():
    sc = load_scenario("startup_saas")
    off = sc.with_overrides(
        {"nurture.enabled": False, "window.days": 200, "window.arrival_days": 150}
    )
    assert off.nurture.enabled is False and off.window.days == 200
    assert sc.nurture.enabled is True  # original untouched
    assert scenario_hash(off) != scenario_hash(sc)
    assert scenario_hash(sc) == scenario_hash(load_scenario("startup_saas"))
    assert len(scenario_hash(sc)) == 12
    seg = sc.with_overrides({"segments.enterprise.intent_mean": 1.0})
    assert seg.segments[2].intent_mean == 1.0
    hr = sc.with_overrides({"sales.sqo.log_hr.nurtured": 0.6})
    assert hr.sales.sqo.log_hr["nurtured"] == 0.6


def test_with_overrides_errors():
    sc = load_scenario("startup_saas")
    with pytest.raises(ConfigError, match=r"overrides: nurture\.colour: unknown key"):
        sc.with_overrides({"nurture.colour": 1})
    with pytest.raises(ConfigError, match=r"overrides: nothing: no such key"):
        sc.with_overrides({"nothing.here": 1})
    with pytest.raises(ConfigError, match=r"overrides: window\.days: Input should be greater"):
        sc.with_overrides({"window.days": -3})
    with pytest.raises(ConfigError, match=r"arrival_days must not exceed days"):
        sc.with_overrides({"window.days": 100})
