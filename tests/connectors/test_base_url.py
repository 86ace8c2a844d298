"""One ``base_url`` rule for every platform (connectors/urls.py): the API host; a version
path written into it is dropped, and where it names a version that version is
``api_version`` (refused when ``api_version`` says otherwise); trailing slashes go.
Plus the deprecated ``linkedin_version`` key, read as ``api_version`` for one release."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from pydantic import ValidationError

from leadflow.config.settings import ConfigError, parse_settings
from leadflow.connectors.base import SourceConfig
from leadflow.connectors.registry import REGISTRY
from leadflow.sandbox.server import Request, Response, SandboxServer, json_response

HOST = "https://api.example.com"
GATEWAY = "http://127.0.0.1:8080/gateway"


@dataclass(frozen=True)
class Platform:
    name: str
    required: dict[str, Any]
    version_path: str  # as the platform's docs print the API root after the host
    path_version: str | None  # the api_version that path names (None: it names none)
    default_version: str | None  # the api_version when none is given (None: no such key)
    call: Callable[[Any], Any]  # one request through the platform's own client
    requested: str  # the path that request must reach

    def config(self, **values: Any) -> SourceConfig:
        return REGISTRY[self.name].config_class(**self.required, **values)


PLATFORMS = [
    Platform(
        "hubspot", {"access_token": "hubspot-token-1", "portal_id": "1"}, "/crm/v3", None, None,
        lambda client: client.get("/crm/v3/owners"), "/crm/v3/owners",
    ),
    Platform(
        "meta", {"access_token": "meta-token-1"}, "/v21.0", "v21.0", "v26.0",
        lambda client: client.get("166956443808194/leadgen_forms", {}),
        "/v21.0/166956443808194/leadgen_forms",
    ),
    Platform(
        "google_ads", {"access_token": "google-token-1", "customer_ids": ["123-456-7890"]},
        "/v18", "v18", "v24",
        lambda client: client.search("1234567890", {"query": "SELECT customer.id FROM customer"}),
        "/v18/customers/1234567890/googleAds:search",
    ),
    Platform(
        "linkedin", {"access_token": "linkedin-token-1"}, "/rest", None, "202606",
        lambda client: client.form("42"), "/rest/leadForms/42",
    ),
    Platform(
        "mailchimp", {"api_key": "0123456789abcdef-us21"}, "/3.0", None, None,
        lambda client: client.get("/lists", {}, "the lists"), "/3.0/lists",
    ),
]  # fmt: skip
BY_NAME = {platform.name: platform for platform in PLATFORMS}


def version_of(config: SourceConfig) -> str | None:
    return getattr(config, "api_version", None)


# -- the rule, table-driven over every platform -------------------------------------------
CASES = [
    # (id, base_url as written (with {v} for the platform's version path), expected base_url,
    #  whether the path's version applies)
    ("host", HOST, HOST, False),
    ("host/", HOST + "/", HOST, False),
    ("host//", HOST + "//", HOST, False),
    ("host+version", HOST + "{v}", HOST, True),
    ("host+version/", HOST + "{v}/", HOST, True),
    ("gateway+version/", GATEWAY + "{v}/", GATEWAY, True),
    ("gateway/", GATEWAY + "/", GATEWAY, False),
]


@pytest.mark.parametrize("platform", PLATFORMS, ids=lambda p: p.name)
@pytest.mark.parametrize(
    ("written", "host", "versioned"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_base_url_is_the_host_and_a_version_path_sets_api_version(platform, written, host, versioned):  # fmt: skip
    config = platform.config(base_url=written.format(v=platform.version_path))
    assert config.base_url == host
    expected = (
        platform.path_version if versioned and platform.path_version else platform.default_version
    )
    assert version_of(config) == expected


VERSIONED = [platform for platform in PLATFORMS if platform.path_version]


@pytest.mark.parametrize("platform", VERSIONED, ids=lambda p: p.name)
def test_a_version_path_that_agrees_with_api_version_is_accepted(platform):
    base = HOST + platform.version_path + "/"
    config = platform.config(base_url=base, api_version=platform.path_version)
    assert (config.base_url, version_of(config)) == (HOST, platform.path_version)


@pytest.mark.parametrize("platform", VERSIONED, ids=lambda p: p.name)
def test_a_version_path_that_contradicts_api_version_is_refused(platform):
    base = HOST + platform.version_path
    with pytest.raises(ValidationError) as caught:
        platform.config(base_url=base, api_version=platform.default_version)
    (error,) = caught.value.errors()
    assert error["msg"] == (
        f"base_url ends in API version {platform.path_version} but api_version differs: "
        "give the version once, as api_version, and base_url as the host only"
    )


def test_a_meta_major_version_path_means_its_dot_zero():
    config = BY_NAME["meta"].config(base_url="https://graph.facebook.com/v21/")
    assert (config.base_url, config.api_version) == ("https://graph.facebook.com", "v21.0")


@pytest.mark.parametrize(
    ("platform", "written", "host"),
    [
        ("hubspot", "https://api.hubapi.com/crm/v4", "https://api.hubapi.com"),
        ("linkedin", "https://api.linkedin.com/rest/", "https://api.linkedin.com"),
        ("mailchimp", "https://us21.api.mailchimp.com/3.0/", "https://us21.api.mailchimp.com"),
    ],
)
def test_a_path_that_names_no_version_is_dropped_and_sets_nothing(platform, written, host):
    config = BY_NAME[platform].config(base_url=written)
    assert config.base_url == host
    assert version_of(config) == BY_NAME[platform].default_version


def test_only_the_last_version_path_is_dropped_and_only_whole_segments():
    meta = BY_NAME["meta"]
    assert meta.config(base_url=HOST + "/xv21.0").base_url == HOST + "/xv21.0"
    assert meta.config(base_url=HOST + "/v21.0/edge").base_url == HOST + "/v21.0/edge"
    linkedin = BY_NAME["linkedin"]
    assert linkedin.config(base_url=HOST + "/rest/rest").base_url == HOST + "/rest"
    assert linkedin.config(base_url=HOST + "/restful").base_url == HOST + "/restful"


@pytest.mark.parametrize("platform", PLATFORMS, ids=lambda p: p.name)
@pytest.mark.parametrize("tail", ["?x=1", "#top"])
def test_a_query_or_fragment_is_refused(platform, tail):
    with pytest.raises(ValidationError, match="without a query or a fragment"):
        platform.config(base_url=HOST + tail)


def test_mailchimp_without_base_url_still_uses_the_keys_data_center():
    config = BY_NAME["mailchimp"].config()
    assert config.base_url is None
    assert config.api_root() == "https://us21.api.mailchimp.com/3.0"
    written = BY_NAME["mailchimp"].config(base_url="http://127.0.0.1:9/3.0/")
    assert written.api_root() == "http://127.0.0.1:9/3.0"


# -- what reaches the wire ----------------------------------------------------------------
@pytest.fixture(scope="module")
def recorder() -> Iterator[SandboxServer]:
    """Answers every request with an empty JSON object and records it."""

    def app(request: Request) -> Response:
        return json_response(200, {"results": [], "lists": [], "data": []})

    with SandboxServer(app) as server:
        yield server


@pytest.mark.parametrize("platform", PLATFORMS, ids=lambda p: p.name)
@pytest.mark.parametrize("written", ["{root}", "{root}/", "{root}{v}", "{root}{v}/"])
def test_requests_reach_the_documented_path_however_base_url_is_written(
    recorder, platform, written
):
    recorder.clear_requests()
    base = written.format(root=recorder.base_url, v=platform.version_path)
    values = {"max_attempts": 1}
    if platform.path_version:
        values["api_version"] = platform.path_version
    client = REGISTRY[platform.name].open(platform.config(base_url=base, **values))
    try:
        platform.call(client)
    finally:
        client.close()
    assert [r.path for r in recorder.requests] == [platform.requested]


# -- through the configuration file ----------------------------------------------------------
def settings_with(source: str, body: str) -> Any:
    import yaml

    text = f"sources:\n  {source}:\n" + "".join(f"    {line}\n" for line in body.splitlines())
    return parse_settings(yaml.safe_load(text), origin="leadflow.yaml", env={})


def test_the_file_refuses_a_contradicting_version_in_one_line_naming_the_keys():
    with pytest.raises(ConfigError) as caught:
        settings_with(
            "meta",
            "access_token: meta-token-1\nbase_url: https://graph.facebook.com/v21.0/\n"
            "api_version: v26.0",
        )
    assert str(caught.value) == (
        "leadflow.yaml: invalid configuration: sources.meta: base_url ends in API version "
        "v21.0 but api_version differs: give the version once, as api_version, and base_url "
        "as the host only"
    )


def test_the_file_reads_the_version_from_base_url():
    settings = settings_with(
        "google_ads",
        "access_token: google-token-1\ncustomer_ids: ['1']\n"
        "base_url: https://googleads.googleapis.com/v18/",
    )
    source = settings.sources["google_ads"]
    assert (source.base_url, source.api_version) == ("https://googleads.googleapis.com", "v18")


# -- linkedin_version: the deprecated name of api_version -------------------------------------
def test_linkedin_version_is_read_as_api_version_with_a_warning(caplog):
    with caplog.at_level(logging.WARNING, logger="leadflow.connectors.base"):
        settings = settings_with(
            "linkedin", "access_token: linkedin-token-1\nlinkedin_version: '202509'"
        )
    assert settings.sources["linkedin"].api_version == "202509"
    assert [r.getMessage() for r in caplog.records] == [
        "linkedin: the setting linkedin_version is deprecated and will be refused in the next "
        "release: rename it to api_version"
    ]


def test_linkedin_version_and_api_version_together_are_refused():
    with pytest.raises(ConfigError) as caught:
        settings_with(
            "linkedin",
            "access_token: linkedin-token-1\nlinkedin_version: '202509'\napi_version: '202509'",
        )
    assert str(caught.value).endswith(
        "sources.linkedin: linkedin_version is the deprecated name of api_version: give only "
        "api_version"
    )


def test_api_version_is_the_one_name_on_every_versioned_platform():
    versioned = {
        name for name, connector in REGISTRY.items()
        if "api_version" in connector.config_class.model_fields
    }  # fmt: skip
    assert versioned == {"meta", "google_ads", "linkedin", "salesforce"}
    assert all(
        not name.endswith("_version") or name == "api_version"
        for connector in REGISTRY.values()
        for name in connector.config_class.model_fields
    )
