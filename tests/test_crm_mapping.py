"""CRM mapping schema and loading: built-ins, YAML errors, key paths (one-line messages)."""

from __future__ import annotations

import pytest
from crm_helpers import mapping, one_line, write_yaml

from qualmodel.core.errors import ConfigError, QualmodelError
from qualmodel.crm import Mapping, list_mappings, load_mapping


def test_load_mapping_builtins_and_passthrough():
    assert list_mappings() == [
        "event_log",
        "hubspot_contact_property_history",
        "hubspot_contacts",
        "hubspot_contacts_api",
        "hubspot_deal_stage",
        "hubspot_deal_stages_dbt",
        "maven_crm",
        "pipedrive_deal_flow",
        "salesforce_lead_history",
        "salesforce_lead_history_warehouse",
        "salesforce_opportunity_history",
        "salesforce_opportunity_history_warehouse",
        "x_education",
    ]
    m = load_mapping("maven_crm")
    assert isinstance(m, Mapping) and m.source == "maven_crm"
    assert load_mapping(m) is m
    assert load_mapping("x_education").timing == "none"


def test_yaml_syntax_error_has_line_and_column(tmp_path):
    path = write_yaml(tmp_path, "source: x\nfile: a.csv\ncreated_at: [a, b\nstages: {}\n")
    with pytest.raises(ConfigError) as info:
        load_mapping(path)
    msg = one_line(info.value)
    assert "m.yaml: invalid YAML at line" in msg and "column" in msg


def test_unknown_key_lists_allowed(tmp_path):
    path = write_yaml(tmp_path, "source: x\nfile: a.csv\ncreated_at: c\nstagez: {}\n")
    with pytest.raises(ConfigError) as info:
        load_mapping(path)
    msg = one_line(info.value)
    assert "m.yaml" in msg and "stagez" in msg and "allowed keys: source" in msg


def test_nested_unknown_key_path(tmp_path):
    path = write_yaml(
        tmp_path,
        """
        source: x
        file: a.csv
        created_at: c
        lookups:
          accounts: {file: a.csv, on: account}
        """,
    )
    with pytest.raises(ConfigError) as info:
        load_mapping(path)
    msg = one_line(info.value)
    assert "key 'lookups.accounts'" in msg and "quote them" in msg  # YAML reads 'on' as True


def test_wrong_type_names_key_path(tmp_path):
    path = write_yaml(
        tmp_path,
        """
        source: x
        file: a.csv
        created_at: c
        attributes:
          deal_value: {column: v, type: money}
        """,
    )
    with pytest.raises(ConfigError) as info:
        load_mapping(path)
    msg = one_line(info.value)
    assert "key 'attributes.deal_value.type'" in msg and "docs/import.md" in msg


def test_missing_required_key(tmp_path):
    path = write_yaml(tmp_path, "source: x\nfile: a.csv\n")
    with pytest.raises(ConfigError, match="created_at: required"):
        load_mapping(path)


def test_bad_stage_name_and_reserved_attribute():
    with pytest.raises(ConfigError, match="status.*stage 'closed_at'"):
        load_mapping(mapping(status={"column": "s", "date": "d", "values": {"W": "closed_at"}}))
    with pytest.raises(ConfigError, match="reserved"):
        load_mapping(mapping(attributes={"sal_at": "x"}))
    with pytest.raises(ConfigError, match="true_"):
        load_mapping(mapping(attributes={"true_buyer": "x"}))
    with pytest.raises(ConfigError, match="needs type: bool"):
        load_mapping(mapping(attributes={"need": "x"}))


def test_unknown_mapping_name_and_not_a_dict(tmp_path):
    with pytest.raises(
        ConfigError,
        match="built-in mappings: event_log, hubspot_contact_property_history, hubspot_contacts, ",
    ):
        load_mapping("salesforce")
    with pytest.raises(ConfigError, match="expected a YAML mapping"):
        load_mapping(write_yaml(tmp_path, "- a\n- b\n"))


def test_every_error_is_a_qualmodel_error(tmp_path):
    with pytest.raises(QualmodelError):
        load_mapping(tmp_path / "missing.yaml")


def test_unquoted_yes_key_in_value_map_is_rejected(tmp_path):
    path = write_yaml(
        tmp_path,
        """
        source: x
        file: a.csv
        created_at: c
        attributes:
          need: {column: n, type: bool, map: {yes: true, "no": false}}
        """,
    )
    with pytest.raises(ConfigError) as info:
        load_mapping(path)
    msg = one_line(info.value)
    assert "attributes.need.map" in msg and "quote it" in msg


def test_documented_example_mappings_validate():
    import re
    from pathlib import Path

    import yaml

    text = (Path(__file__).resolve().parents[1] / "docs" / "import.md").read_text()
    blocks = re.findall(r"```yaml\n(.*?)```", text, re.S)
    assert len(blocks) >= 3
    for block in blocks:
        assert isinstance(load_mapping(yaml.safe_load(block)), Mapping)
