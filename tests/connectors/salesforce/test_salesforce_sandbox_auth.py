"""Salesforce OAuth against the sandbox org: JWT bearer and refresh token flows, a session
that expires mid-sync, a session refused even after a new token."""

from __future__ import annotations

from urllib.parse import parse_qs

import jwt
import pytest

from leadflow.connectors.errors import AuthError
from leadflow.connectors.salesforce.connector import CONNECTOR, pages
from leadflow.sandbox.salesforce.app import CLIENT_SECRET
from leadflow.sandbox.salesforce.keys import shared_key_pair
from leadflow.sandbox.server import Response

QUERY = r"/services/data/v62\.0/query"
INVALID_SESSION = [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]


def token_requests(sandbox) -> list[dict[str, str]]:
    return [
        {k: v[-1] for k, v in parse_qs(r.body.decode()).items()}
        for r in sandbox.requests
        if r.path == "/services/oauth2/token"
    ]


def live_leads(sandbox) -> set[str]:
    return {row["Id"] for row in sandbox.store.rows("Lead")}


def test_the_jwt_flow_signs_an_assertion_the_org_verifies_and_reads_every_live_lead(
    sandbox, configure, client_for, read
):
    config = configure(sandbox, org_id=None)
    assert CONNECTOR.accounts(config) == [sandbox.oauth.org_id]
    client = client_for(config)
    got = read(client, pages)
    assert {r["Id"] for page in got for r in page.records} == live_leads(sandbox)
    (form, *_) = token_requests(sandbox)
    assert form["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
    claims = jwt.decode(
        form["assertion"], shared_key_pair().public_pem, algorithms=["RS256"], audience=sandbox.url
    )
    assert (claims["iss"], claims["sub"]) == (config.client_id, sandbox.username)
    assert client.auth.instance_url == sandbox.url


def test_the_refresh_token_flow_reads_leads_with_the_app_secret(
    sandbox, configure, client_for, read
):
    config = configure(
        sandbox, username=None, private_key=None, client_secret=CLIENT_SECRET,
        refresh_token=sandbox.oauth.refresh_token,
    )  # fmt: skip
    got = read(client_for(config), pages)
    assert sum(len(page.records) for page in got) == len(live_leads(sandbox))
    (form,) = token_requests(sandbox)
    assert form["grant_type"] == "refresh_token"
    assert form["client_secret"] == CLIENT_SECRET


def test_a_refused_refresh_token_asks_to_reauthorize_without_the_token(
    sandbox, configure, client_for, read
):
    config = configure(
        sandbox, username=None, private_key=None, refresh_token="5Aep861.revoked.refresh.token"
    )
    with pytest.raises(AuthError) as caught:
        read(client_for(config), pages)
    message = str(caught.value)
    assert "invalid_grant" in message and "re-authorize" in message
    assert "5Aep861.revoked.refresh.token" not in message
    assert len(token_requests(sandbox)) == 1  # a refused grant is not tried again


def test_a_jwt_for_a_user_the_app_does_not_know_is_refused(sandbox, configure, client_for, read):
    config = configure(sandbox, username="nobody@example.com")
    with pytest.raises(AuthError, match="re-authorize"):
        read(client_for(config), pages)


def test_a_session_that_expires_mid_sync_is_renewed_once_and_the_sync_goes_on(
    sandbox, configure, client_for
):
    client = client_for(configure(sandbox))
    walk = pages(client, "org", lambda partition: None)
    first = next(walk)
    sandbox.expire_sessions()
    rest = list(walk)
    ids = [r["Id"] for page in [first, *rest] for r in page.records]
    assert len(ids) == len(set(ids)) and set(ids) == live_leads(sandbox)
    assert client.auth.refreshes == 2  # the first token, and one after the 401
    assert [r.status for r in sandbox.requests if r.status == 401] == [401]


def test_a_session_refused_even_with_a_new_token_ends_the_source_asking_to_reauthorize(
    sandbox, configure, client_for, read
):
    client = client_for(configure(sandbox))
    client.auth.token()  # the session works...
    sandbox.faults.push(401, INVALID_SESSION, times=2, path=QUERY)  # ...then never again
    with pytest.raises(AuthError) as caught:
        read(client, pages)
    assert "INVALID_SESSION_ID" in str(caught.value) and "re-authorize" in str(caught.value)
    assert client.auth.refreshes == 2  # one new token, not a loop of them
    token = client.auth.token()["access_token"]
    assert token not in str(caught.value)
    assert len([r for r in sandbox.requests if r.fault]) == 2


def test_a_token_naming_a_plain_http_instance_elsewhere_is_refused(
    sandbox, configure, client_for, read
):
    def elsewhere(response: Response) -> Response:
        body = {**response.body, "instance_url": "http://198.51.100.7:8080"}  # type: ignore[dict-item]
        return Response(response.status, body, response.headers)

    sandbox.faults.push_transform(elsewhere, path="/services/oauth2/token")
    with pytest.raises(AuthError, match="no token is sent there"):
        read(client_for(configure(sandbox)), pages)
    assert not [r for r in sandbox.requests if r.path.startswith("/services/data/")]
