"""Credentials go only to a source's configured base URL: every sandbox refuses wrong
credentials, and no connector follows a redirect to another host carrying them (in the
Authorization header, a developer-token header or the query string)."""

from __future__ import annotations

from typing import Any

import pytest

from leadflow.connectors.errors import AuthError, ConnectorError
from leadflow.connectors.registry import REGISTRY
from leadflow.sandbox.server import Request, Response, SandboxServer, json_response
from tests.reliability.platforms import PLATFORMS, SECRETS, Platforms

WRONG = {
    "hubspot": {"access_token": "wrong-token-123"},
    "meta": {"access_token": "wrong-token-123"},
    "google_ads": {"access_token": "wrong-token-123"},
    "linkedin": {"access_token": "wrong-token-123"},
    "mailchimp": {"api_key": "wrong-key-us21"},
}


def read_everything(source: Any) -> None:
    connector = REGISTRY[source.type]
    client = connector.open(source)
    for account in connector.accounts(source):
        for _page in connector.pages(client, account, lambda partition: None):
            pass


@pytest.mark.parametrize("platform", PLATFORMS)
def test_the_sandbox_refuses_wrong_credentials(platforms: Platforms, platform):
    from pydantic import SecretStr

    wrong = {k: SecretStr(v) for k, v in WRONG[platform].items()}
    source = platforms.sources[platform].model_copy(update=wrong)
    with pytest.raises(AuthError, match=f"^{platform}: "):
        read_everything(source)


@pytest.fixture(scope="module")
def trap():
    """Another host (localhost, not 127.0.0.1): records what a redirect would send it."""

    def app(request: Request) -> Response:
        return json_response(200, {"results": [], "data": [], "elements": [], "lists": []})

    with SandboxServer(app, host="localhost") as server:
        yield server


@pytest.mark.parametrize("platform", PLATFORMS)
def test_no_credentials_follow_a_redirect_to_another_host(platforms: Platforms, trap, platform):
    box, source = platforms.box(platform), platforms.sources[platform]
    target = trap.base_url.replace("127.0.0.1", "localhost") + "/stolen"
    trap.clear_requests()
    box.faults.push(302, b"", {"Location": target}, times=3)
    try:
        with pytest.raises(ConnectorError, match=f"^{platform}: .*redirect"):
            read_everything(source)
    finally:
        box.faults.clear()
    leaked = [
        (record.path, record.query, record.headers)
        for record in trap.requests
        if any(secret in repr((record.query, record.headers)) for secret in SECRETS)
        or any(name.lower() == "authorization" for name in record.headers)
    ]
    assert trap.requests == [] or leaked == []
    assert trap.requests == [], "a redirect to another host was followed"
