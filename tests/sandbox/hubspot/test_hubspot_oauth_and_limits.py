"""The HubSpot sandbox's OAuth (refresh grants, expiry, revocation) and its rate limits."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import requests

from leadflow.sandbox.data import hubspot_contacts
from leadflow.sandbox.hubspot.app import HubSpotSandbox
from tests.sandbox.hubspot.sales_client import TOKEN, Client, refresh

DAILY = ("X-HubSpot-RateLimit-Daily", "X-HubSpot-RateLimit-Daily-Remaining")


@pytest.fixture(scope="module")
def hs() -> Iterator[HubSpotSandbox]:
    with HubSpotSandbox.unthrottled(hubspot_contacts(400)) as sandbox:
        yield sandbox


# -- OAuth -----------------------------------------------------------------------------------------
def test_refresh_grant_expiry_and_refresh_again() -> None:
    with HubSpotSandbox.unthrottled(hubspot_contacts(20)) as hs:
        grant = refresh(hs)
        body = grant.json()
        assert grant.status_code == 200
        assert set(body) == {"token_type", "refresh_token", "access_token", "expires_in"}
        assert (body["token_type"], body["expires_in"], body["refresh_token"]) == (
            "bearer",
            1800,
            "sandbox-refresh-token",
        )
        oauth = Client(hs, body["access_token"])
        ok = oauth.get("/crm/v3/objects/contacts")
        assert ok.status_code == 200 and not any(h in ok.headers for h in DAILY)
        assert "X-HubSpot-RateLimit-Remaining" in ok.headers
        hs.expire_oauth_tokens()  # mid-sync
        expired = oauth.post("/crm/v3/objects/contacts/search", {})
        error = expired.json()
        assert expired.status_code == 401 and error["category"] == "EXPIRED_AUTHENTICATION"
        assert error["message"].startswith("The OAuth token used to make this call expired")
        assert expired.headers["X-HubSpot-Auth-Failure"] == "401 Unauthorized"
        fresh = Client(hs, refresh(hs).json()["access_token"])
        assert fresh.post("/crm/v3/objects/contacts/search", {}).status_code == 200
        assert hs.oauth_refresh_count == 2
        assert Client(hs).get("/crm/v3/owners").status_code == 200  # private-app token still works
        assert "X-HubSpot-RateLimit-Daily" in Client(hs).get("/crm/v3/owners").headers


def test_tokens_expire_after_the_configured_ttl() -> None:
    with HubSpotSandbox.unthrottled(hubspot_contacts(5), oauth_token_ttl=0.3) as hs:
        assert refresh(hs).json()["expires_in"] == 0  # whole seconds, as HubSpot reports them
        oauth = Client(hs, hs.issue_oauth_token())
        assert oauth.get("/crm/v3/owners").status_code == 200
        time.sleep(0.35)
        late = oauth.get("/crm/v3/owners")
        assert late.status_code == 401 and late.json()["category"] == "EXPIRED_AUTHENTICATION"
        assert hs.oauth_refresh_count == 1


@pytest.mark.parametrize(
    ("form", "status"),
    [
        ({"refresh_token": "not-the-refresh-token"}, "BAD_REFRESH_TOKEN"),
        ({"refresh_token": ""}, "BAD_REFRESH_TOKEN"),
        ({"client_id": "someone-else"}, "BAD_CLIENT_ID"),
        ({"client_secret": "wrong"}, "BAD_CLIENT_SECRET"),
        ({"grant_type": "password"}, "BAD_GRANT_TYPE"),
    ],
)
def test_token_endpoint_errors(form: dict[str, str], status: str) -> None:
    with HubSpotSandbox.unthrottled(hubspot_contacts(5)) as hs:
        response = refresh(hs, **form)
        body = response.json()
        assert response.status_code == 400 and body["status"] == status
        assert {"message", "correlationId", "error", "error_description"} <= set(body)
        assert hs.oauth_refresh_count == 0


def test_revoked_app_and_unknown_tokens() -> None:
    with HubSpotSandbox.unthrottled(hubspot_contacts(5)) as hs:
        token = refresh(hs).json()["access_token"]
        hs.revoke_oauth()
        bad = refresh(hs)
        assert bad.status_code == 400 and bad.json()["status"] == "BAD_REFRESH_TOKEN"
        assert bad.json()["message"] == "missing or unknown refresh token"
        denied = Client(hs, token).get("/crm/v3/owners")
        assert denied.status_code == 401 and denied.json()["category"] == "INVALID_AUTHENTICATION"


# -- limits ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/crm/v3/owners"),
        ("GET", "/crm/v3/properties/contacts"),
        ("POST", "/crm/v3/objects/meetings/search"),
        ("POST", "/crm/v4/associations/contacts/calls/batch/read"),
        ("POST", "/oauth/v1/token"),
    ],
)
def test_daily_429_can_be_forced_anywhere(hs: HubSpotSandbox, method: str, path: str) -> None:
    hs.push_rate_limit("DAILY")
    response = requests.request(
        method,
        hs.base_url + path,
        headers={"Authorization": f"Bearer {TOKEN}"},
        json={},
        timeout=10,
    )
    assert response.status_code == 429 and response.json()["policyName"] == "DAILY"
    assert response.headers["X-HubSpot-RateLimit-Daily-Remaining"] == "0"


def test_engagement_searches_share_the_search_rate_limit() -> None:
    with HubSpotSandbox(hubspot_contacts(30), search_rate_per_second=2) as hs:
        c = Client(hs)
        codes = [
            c.post(f"/crm/v3/objects/{t}/search", {}).status_code
            for t in ("contacts", "calls", "emails")
        ]
        assert codes == [200, 200, 429]
        assert c.get("/crm/v3/owners").status_code == 200  # not a search
