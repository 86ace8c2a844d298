"""The Salesforce sandbox's OAuth 2.0 token endpoint (JWT bearer, refresh token) and sessions."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Iterator

import pytest

from leadflow.sandbox.salesforce.app import CLIENT_ID, CLIENT_SECRET, SalesforceSandbox
from leadflow.sandbox.salesforce.keys import generate_key_pair, jwt_assertion, shared_key_pair
from tests.sandbox.salesforce.sf_client import JWT_GRANT, Client, token_request

SESSION_EXPIRED = [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]


@pytest.fixture(scope="module")
def sf() -> Iterator[SalesforceSandbox]:
    with SalesforceSandbox.unthrottled(50) as sandbox:
        yield sandbox


def _jwt(sf: SalesforceSandbox, **overrides: object) -> str:
    claims = {
        "private_pem": shared_key_pair().private_pem,
        "client_id": CLIENT_ID,
        "username": sf.username,
        "audience": "https://login.salesforce.com",
    }
    claims.update(overrides)
    return jwt_assertion(**claims)  # type: ignore[arg-type]


def test_a_good_jwt_gets_a_session_for_this_instance(sf: SalesforceSandbox) -> None:
    answer = token_request(sf, grant_type=JWT_GRANT, assertion=_jwt(sf))
    body = answer.json()
    assert answer.status_code == 200
    assert set(body) == {
        "access_token",
        "signature",
        "scope",
        "instance_url",
        "id",
        "token_type",
        "issued_at",
    }
    assert body["instance_url"] == sf.url and body["token_type"] == "Bearer"
    assert body["id"].startswith("https://login.salesforce.com/id/00D")
    digest = hmac.new(
        CLIENT_SECRET.encode(), (body["id"] + body["issued_at"]).encode(), hashlib.sha256
    )
    assert body["signature"] == base64.b64encode(digest.digest()).decode()
    assert abs(int(body["issued_at"]) / 1000 - time.time()) < 60
    assert Client(sf, body["access_token"]).get("/limits").status_code == 200


@pytest.mark.parametrize(
    ("overrides", "error", "description"),
    [
        ({"private_pem": generate_key_pair().private_pem}, "invalid_grant", "invalid assertion"),
        ({"lifetime": -10}, "invalid_grant", "expired authorization code"),
        ({"audience": "https://evil.example.com"}, "invalid_grant", "audience is invalid"),
        ({"client_id": "3MVGunknown"}, "invalid_client_id", "client identifier invalid"),
        (
            {"username": "nobody@northwind.example.com"},
            "invalid_grant",
            "user hasn't approved this consumer",
        ),
    ],
    ids=["bad-signature", "expired", "wrong-aud", "unknown-client", "unknown-user"],
)
def test_a_bad_jwt_is_refused_with_an_oauth_error(
    sf: SalesforceSandbox, overrides: dict[str, object], error: str, description: str
) -> None:
    answer = token_request(sf, grant_type=JWT_GRANT, assertion=_jwt(sf, **overrides))
    assert answer.status_code == 400
    assert answer.json() == {"error": error, "error_description": description}


def test_garbage_assertions_and_unknown_grants_are_refused(sf: SalesforceSandbox) -> None:
    garbage = token_request(sf, grant_type=JWT_GRANT, assertion="not.a.jwt")
    assert garbage.json() == {"error": "invalid_grant", "error_description": "invalid assertion"}
    password = token_request(sf, grant_type="password", username="x", password="y")
    assert password.status_code == 400 and password.json()["error"] == "unsupported_grant_type"


def test_the_sandbox_url_is_an_accepted_audience(sf: SalesforceSandbox) -> None:
    answer = token_request(sf, grant_type=JWT_GRANT, assertion=_jwt(sf, audience=sf.url + "/"))
    assert answer.status_code == 200


def test_refresh_token_grant_with_and_without_secret(sf: SalesforceSandbox) -> None:
    refresh = sf.oauth.refresh_token
    plain = token_request(
        sf, grant_type="refresh_token", client_id=CLIENT_ID, refresh_token=refresh
    )
    secret = token_request(
        sf,
        grant_type="refresh_token",
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        refresh_token=refresh,
    )
    assert plain.status_code == secret.status_code == 200
    assert "refresh_token" not in plain.json() and plain.json()["instance_url"] == sf.url
    assert Client(sf, secret.json()["access_token"]).get("/limits").status_code == 200


@pytest.mark.parametrize(
    ("form", "error", "description"),
    [
        ({"refresh_token": "stale"}, "invalid_grant", "expired access/refresh token"),
        ({"client_secret": "wrong"}, "invalid_client", "invalid client credentials"),
        ({"client_id": "3MVGother"}, "invalid_client_id", "client identifier invalid"),
    ],
    ids=["bad-refresh-token", "bad-secret", "bad-client-id"],
)
def test_bad_refresh_grants(
    sf: SalesforceSandbox, form: dict[str, str], error: str, description: str
) -> None:
    fields = {
        "grant_type": "refresh_token",
        "client_id": CLIENT_ID,
        "refresh_token": sf.oauth.refresh_token,
        **form,
    }
    answer = token_request(sf, **fields)
    assert answer.status_code == 400
    assert answer.json() == {"error": error, "error_description": description}


def test_expired_sessions_get_the_documented_401_until_a_new_grant() -> None:
    with SalesforceSandbox.unthrottled(20) as sf:
        client = Client(sf)
        assert client.query("SELECT Id FROM Lead").status_code == 200
        sf.expire_sessions()
        expired = client.query("SELECT Id FROM Lead")
        assert expired.status_code == 401 and expired.json() == SESSION_EXPIRED
        fresh = token_request(sf, grant_type=JWT_GRANT, assertion=_jwt(sf)).json()["access_token"]
        assert Client(sf, fresh).query("SELECT Id FROM Lead").status_code == 200


def test_sessions_end_after_their_ttl_and_unknown_tokens_are_invalid() -> None:
    with SalesforceSandbox.unthrottled(5, session_ttl=0.2) as sf:
        client = Client(sf)
        assert client.get("/limits").status_code == 200
        time.sleep(0.25)
        assert client.get("/limits").json() == SESSION_EXPIRED
        assert Client(sf, "00Dforged!token").get("/limits").status_code == 401
        no_header = Client(sf)
        del no_header.http.headers["Authorization"]
        assert no_header.get("/limits").json() == SESSION_EXPIRED
