"""``portal_id`` is optional: without it the token's portal is read from account info
(``GET /account-info/v3/details``), once per configuration (per run), against the sandbox."""

from __future__ import annotations

import gc

import pytest

from leadflow.connectors.base import LeadContext
from leadflow.connectors.errors import AuthError, MissingScope, TerminalError
from leadflow.connectors.hubspot.client import ACCOUNT_INFO_PATH
from leadflow.connectors.hubspot.connector import (
    CONNECTOR,
    HubSpotConfig,
    open_session,
    pages,
    to_lead,
)
from leadflow.sandbox.data import hubspot_contacts
from leadflow.sandbox.hubspot.app import HubSpotSandbox

TOKEN = "test-hubspot-token-123"
PORTAL = 24681357


def config(sandbox: HubSpotSandbox, **overrides) -> HubSpotConfig:
    values = {
        "base_url": sandbox.base_url,
        "access_token": TOKEN,
        "backoff_seconds": 0.05,
        "search_requests_per_second": 200,
        **overrides,
    }
    return HubSpotConfig(**values)


def every_account(settings: HubSpotConfig) -> list[str]:
    """What a sync lists for the source: lead accounts, then each stream's."""
    found = list(CONNECTOR.accounts(settings))
    for stream in CONNECTOR.streams:
        found += stream.accounts(settings)
    return found


def account_info_calls(sandbox: HubSpotSandbox) -> int:
    return sum(r.path == ACCOUNT_INFO_PATH for r in sandbox.requests)


def test_without_portal_id_every_stream_is_the_tokens_portal_read_once():
    with HubSpotSandbox.unthrottled(hubspot_contacts(20), token=TOKEN, portal_id=PORTAL) as box:
        settings = config(box)
        assert settings.portal_id is None
        assert every_account(settings) == [str(PORTAL)] * 4
        assert every_account(settings) == [str(PORTAL)] * 4
        assert account_info_calls(box) == 1
        client = open_session(settings)
        try:
            records = [
                r for page in pages(client, str(PORTAL), lambda _: None) for r in page.records
            ]
        finally:
            client.close()
    lead = to_lead(records[0], LeadContext("hubspot", str(PORTAL), "US"))
    assert lead.account_id == str(PORTAL)


def test_a_new_run_reads_account_info_again():
    with HubSpotSandbox.unthrottled(hubspot_contacts(5), token=TOKEN, portal_id=PORTAL) as box:
        first = config(box)
        assert CONNECTOR.accounts(first) == [str(PORTAL)]
        del first  # the run ends: its settings go
        gc.collect()
        assert CONNECTOR.accounts(config(box)) == [str(PORTAL)]
        assert account_info_calls(box) == 2


@pytest.mark.parametrize("given", ["12345678", 12345678])
def test_a_configured_portal_id_is_used_without_asking(given):
    with HubSpotSandbox.unthrottled(hubspot_contacts(5), token=TOKEN, portal_id=PORTAL) as box:
        assert every_account(config(box, portal_id=given)) == ["12345678"] * 4
        assert box.requests == []


@pytest.mark.parametrize("blank", ["", "  "])
def test_an_empty_portal_id_means_not_set(blank):
    with HubSpotSandbox.unthrottled(hubspot_contacts(5), token=TOKEN, portal_id=PORTAL) as box:
        settings = config(box, portal_id=blank)
        assert settings.portal_id is None
        assert CONNECTOR.accounts(settings) == [str(PORTAL)]


def test_oauth_reads_the_portal_with_a_refreshed_access_token():
    with HubSpotSandbox.unthrottled(hubspot_contacts(5), token=TOKEN, portal_id=PORTAL) as box:
        settings = config(
            box,
            access_token=None,
            client_id="sandbox-client-id",
            client_secret="sandbox-client-secret",
            refresh_token="sandbox-refresh-token",
        )
        assert CONNECTOR.accounts(settings) == [str(PORTAL)]
        assert box.oauth_refresh_count == 1


def test_a_refused_token_is_the_connectors_usual_auth_error():
    with HubSpotSandbox.unthrottled(hubspot_contacts(5), token="the-right-one") as box:
        settings = config(box)
        with pytest.raises(AuthError) as listing:
            CONNECTOR.accounts(settings)
        client = open_session(settings)
        with pytest.raises(AuthError) as reading:
            list(pages(client, "p", lambda _: None))
        client.close()
    assert str(listing.value) == str(reading.value)
    assert "re-authorize the HubSpot app" in str(listing.value)
    assert TOKEN not in str(listing.value)


def test_a_forbidden_account_info_is_an_auth_error_naming_the_endpoint():
    with HubSpotSandbox.unthrottled(hubspot_contacts(5), token=TOKEN) as box:
        body = {"status": "error", "category": "MISSING_SCOPES", "message": "missing scopes"}
        box.faults.push(status=403, body=body, path=ACCOUNT_INFO_PATH)
        with pytest.raises(MissingScope, match=r"^hubspot: the credentials lack a scope "
                           r"\(HTTP 403 MISSING_SCOPES on GET /account-info/v3/details"):  # fmt: skip
            CONNECTOR.accounts(config(box))
        assert len(box.requests) == 1  # never retried


def test_an_answer_without_portal_id_says_to_set_it():
    with HubSpotSandbox.unthrottled(hubspot_contacts(5), token=TOKEN) as box:
        box.faults.push(status=200, body={"accountType": "STANDARD"}, path=ACCOUNT_INFO_PATH)
        with pytest.raises(TerminalError, match="set portal_id"):
            CONNECTOR.accounts(config(box))
