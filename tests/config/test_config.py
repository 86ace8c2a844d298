from __future__ import annotations

from pathlib import Path

import pytest

from leadflow.config.settings import ConfigError, interpolate, load_settings
from leadflow.sandbox.salesforce.keys import shared_key_pair

SECRET = "pat-na1-0123456789abcdef"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "leadflow.yaml"
    path.write_text(text)
    return path


def test_defaults_when_no_file_is_chosen(monkeypatch):
    monkeypatch.delenv("LEADFLOW_CONFIG", raising=False)
    settings = load_settings(None, env={})
    assert settings.warehouse_url == "sqlite:///leadflow.db"
    assert settings.sources == {}


def test_example_file_loads_with_its_secret_from_the_environment():
    example = Path(__file__).parents[2] / "leadflow.example.yaml"
    env = {
        "HUBSPOT_ACCESS_TOKEN": SECRET,
        "META_ACCESS_TOKEN": "meta-token-abcdef",
        "GOOGLE_ADS_ACCESS_TOKEN": "google-token-abcdef",
        "LINKEDIN_ACCESS_TOKEN": "linkedin-token-abcdef",
        "MAILCHIMP_API_KEY": "0123456789abcdef-us21",
        "SALESFORCE_CLIENT_ID": "3MVG9example.consumer.key",
        "SALESFORCE_PRIVATE_KEY": shared_key_pair().private_pem,
    }
    settings = load_settings(example, env=env)
    assert set(settings.sources) == {
        "hubspot", "meta", "google_ads", "linkedin", "salesforce", "mailchimp",
    }  # fmt: skip
    assert settings.csv_imports[1].mapping == "crm_export" in settings.csv_mappings
    assert settings.sources["google_ads"].customer_ids == ["1234567890"]
    hubspot = settings.sources["hubspot"]
    assert hubspot.type == "hubspot"
    assert hubspot.access_token.get_secret_value() == SECRET
    assert SECRET not in repr(settings)


def test_env_var_chooses_the_file(tmp_path, monkeypatch):
    path = write(tmp_path, "timezone: Europe/Berlin\n")
    monkeypatch.setenv("LEADFLOW_CONFIG", str(path))
    assert load_settings().timezone == "Europe/Berlin"


def test_interpolation_with_default_and_missing_variable():
    tree = {"a": "${X:-fallback}", "b": ["${Y}"], "c": 3}
    assert interpolate(tree, {"Y": "why"}) == {"a": "fallback", "b": ["why"], "c": 3}
    with pytest.raises(ConfigError, match=r"b\[0\]: environment variable Y is not set"):
        interpolate(tree, {})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "timezone: Mars/Olympus\n", "timezone: Value error, not an IANA", id="bad-zone"
        ),
        pytest.param("colour: blue\n", "top level: unknown key at line 1", id="unknown-key"),
        pytest.param(
            "sources:\n  hubspot:\n    portal_id: '1'\n",
            "sources.hubspot.access_token: Field required",
            id="missing-token",
        ),
        pytest.param(
            "sources:\n  crm:\n    type: marketo\n",
            "sources.crm.type: unknown source type",
            id="unknown-type",
        ),
        pytest.param("sources: [\n", "not valid YAML at line", id="bad-yaml"),
        pytest.param("default_region: USA\n", "default_region: Value error", id="bad-region"),
    ],
)
def test_errors_name_the_file_and_the_key(tmp_path, text, expected):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_settings(path, env={})
    assert str(path) in str(caught.value)
    assert expected in str(caught.value)


def test_validation_errors_never_print_a_secret(tmp_path):
    # page_size is wrong, so validation fails while the token is present.
    text = (
        "sources:\n  hubspot:\n    access_token: ${TOKEN}\n    portal_id: '1'\n"
        "    page_size: 5000\n    base_url: 12\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_settings(write(tmp_path, text), env={"TOKEN": SECRET})
    assert "sources.hubspot.page_size" in str(caught.value)
    assert SECRET not in str(caught.value)


def test_a_secret_given_where_a_number_belongs_is_not_echoed(tmp_path):
    text = "sources:\n  hubspot:\n    access_token: x\n    portal_id: '1'\n    page_size: ${T}\n"
    with pytest.raises(ConfigError) as caught:
        load_settings(write(tmp_path, text), env={"T": SECRET})
    assert SECRET not in str(caught.value)


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot read the configuration file"):
        load_settings(tmp_path / "nope.yaml", env={})


def test_csv_import_naming_an_unknown_mapping_is_a_config_error(tmp_path):
    text = "csv_imports:\n  - path: x.csv\n    source: crm\n    mapping: nope\n"
    with pytest.raises(ConfigError, match="no csv_mappings entry named 'nope'"):
        load_settings(write(tmp_path, text), env={})


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("2026-01-01", "2026-01-01T00:00:00+01:00", id="date-in-business-zone"),
        pytest.param("'2026-01-01'", "2026-01-01T00:00:00+01:00", id="quoted-date"),
        pytest.param("2026-01-01T00:00:00Z", "2026-01-01T00:00:00+00:00", id="aware"),
        pytest.param("'2026-01-01T08:00:00-05:00'", "2026-01-01T08:00:00-05:00", id="offset"),
    ],
)
def test_start_date_is_a_date_or_an_aware_date_time(tmp_path, value, expected):
    text = (
        "timezone: Europe/Berlin\nsources:\n  hubspot:\n    access_token: x\n"
        f"    portal_id: '1'\n    base_url: https://api.hubapi.com\n    start_date: {value}\n"
    )
    settings = load_settings(write(tmp_path, text), env={})
    assert settings.sources["hubspot"].start_date.isoformat() == expected


def test_a_valid_rules_file_and_team_zone_load(tmp_path):
    rules = Path(__file__).parents[2] / "models" / "people" / "default_rules.yaml"
    text = f"classification_rules: {rules}\nsla:\n  teams:\n    AE:\n      timezone: Asia/Tokyo\n"
    settings = load_settings(write(tmp_path, text), env={})
    assert settings.classification_rules == str(rules)


# Commands that call no platform load with resolve_sources=False ---------------------------------

SOURCES = (
    "sources:\n"
    "  hubspot:\n    portal_id: '1'\n    access_token: ${HS_TOKEN}\n"
    "  hubspot_eu:\n    type: hubspot\n    portal_id: '2'\n    access_token: ${EU_TOKEN:-eu}\n"
)


@pytest.mark.parametrize(
    ("text", "env", "sources", "refused"),
    [
        pytest.param(SOURCES, {}, {"hubspot_eu"}, None, id="unset-token-left-out"),
        pytest.param(SOURCES, {"HS_TOKEN": SECRET}, {"hubspot", "hubspot_eu"}, None, id="all-set"),
        pytest.param(
            "warehouse_url: ${WAREHOUSE}\n" + SOURCES, {}, None,
            "warehouse_url: environment variable WAREHOUSE is not set", id="not-a-source",
        ),
        pytest.param(
            SOURCES.replace("${HS_TOKEN}", "${HS_TOKEN"), {}, None,
            "sources.hubspot.access_token: malformed", id="malformed-in-a-left-out-source",
        ),
        pytest.param(
            SOURCES + "    page_size: lots\n", {"HS_TOKEN": SECRET}, None,
            "sources.hubspot_eu.page_size", id="resolved-source-still-validated",
        ),
    ],
)  # fmt: skip
def test_sources_with_unset_variables_are_left_out_only_when_asked(
    tmp_path, text, env, sources, refused
):
    path = write(tmp_path, text)
    if refused is not None:
        with pytest.raises(ConfigError, match=refused):
            load_settings(path, env=env, resolve_sources=False)
        return
    assert set(load_settings(path, env=env, resolve_sources=False).sources) == sources
    if "HS_TOKEN" not in env:  # the default: every source resolved, or refused
        with pytest.raises(
            ConfigError, match=r"hubspot\.access_token: environment variable HS_TOKEN"
        ):
            load_settings(path, env=env)


def test_on_missing_hears_of_each_unset_variable_and_leaves_it_as_written():
    heard: list[tuple[str, str]] = []
    tree = {"a": "x-${A}-${B:-b}", "c": ["${C}"]}
    found = interpolate(tree, {}, on_missing=lambda key, name: heard.append((key, name)))
    assert found == {"a": "x-${A}-b", "c": ["${C}"]}
    assert heard == [("a", "A"), ("c[0]", "C")]
