"""The HubSpot connector against the HubSpot sandbox, over real HTTP."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta

import pytest

from leadflow.connectors.base import LeadContext
from leadflow.connectors.errors import AuthError, TerminalError, TransientError
from leadflow.connectors.hubspot.connector import HubSpotConfig, open_session, pages, to_lead
from leadflow.models.records.leads import InvalidRecord
from leadflow.sandbox.data import hubspot_contacts
from leadflow.sandbox.hubspot.app import HubSpotSandbox
from leadflow.sandbox.hubspot.limits import rate_limit_body

TOKEN = "test-hubspot-token-123"
CONTEXT = LeadContext("hubspot", "portal-1", "US")


def config(sandbox: HubSpotSandbox, **overrides) -> HubSpotConfig:
    values = {
        "base_url": sandbox.base_url,
        "access_token": TOKEN,
        "portal_id": "portal-1",
        "backoff_seconds": 0.05,
        "search_requests_per_second": 200,
        **overrides,
    }
    return HubSpotConfig(**values)


def extract_ids(sandbox: HubSpotSandbox, since: datetime | None = None, **overrides) -> list[str]:
    client = open_session(config(sandbox, **overrides))
    try:
        return [
            record["id"]
            for page in pages(client, "portal-1", lambda _: since)
            for record in page.records
        ]
    finally:
        client.close()


def test_full_extract_returns_every_contact_once_in_cursor_order():
    contacts = hubspot_contacts(1234)
    with HubSpotSandbox.unthrottled(contacts, token=TOKEN) as sandbox:
        client = open_session(config(sandbox))
        seen = list(pages(client, "portal-1", lambda _: None))
    ids = [r["id"] for page in seen for r in page.records]
    assert sorted(ids) == sorted(c["id"] for c in contacts)
    assert len(ids) == len(set(ids))
    assert {page.partition for page in seen} == {"portal-1"}
    cursors = [page.cursor for page in seen]
    assert cursors == sorted(cursors)
    assert cursors[-1] == max(datetime.fromisoformat(c["updatedAt"]) for c in contacts)


def test_twelve_thousand_contacts_sharing_one_lastmodifieddate_all_load():
    # Regression for Airbyte #43317: paging by timestamp alone stalls at the 10,000 cap.
    moment = datetime(2026, 11, 20, 14, 50, 56, 123000, tzinfo=UTC)
    contacts = hubspot_contacts(12_000, same_modified=moment)
    with HubSpotSandbox.unthrottled(contacts, token=TOKEN) as sandbox:
        ids = extract_ids(sandbox)
        statuses = {r.status for r in sandbox.requests}
    assert set(ids) == {c["id"] for c in contacts}
    assert statuses == {200}


def test_cap_then_later_timestamps_continue_after_the_tie_window():
    moment = datetime(2026, 11, 20, tzinfo=UTC)
    tied = hubspot_contacts(10_100, same_modified=moment)
    with HubSpotSandbox.unthrottled(tied, token=TOKEN) as sandbox:
        later = [
            sandbox.upsert_contact({"email": f"late{i}@example.com"}, modified_at=moment + timedelta(minutes=i + 1))
            for i in range(5)
        ]  # fmt: skip
        ids = extract_ids(sandbox)
    assert set(ids) == {c["id"] for c in tied} | {c["id"] for c in later}


def test_incremental_extract_reads_only_from_since():
    contacts = hubspot_contacts(300)
    cut = sorted(datetime.fromisoformat(c["updatedAt"]) for c in contacts)[200]
    with HubSpotSandbox.unthrottled(contacts, token=TOKEN) as sandbox:
        ids = extract_ids(sandbox, since=cut)
    expected = {c["id"] for c in contacts if datetime.fromisoformat(c["updatedAt"]) >= cut}
    assert set(ids) == expected


def test_a_429_then_success_is_retried_transparently():
    contacts = hubspot_contacts(50)
    with HubSpotSandbox.unthrottled(contacts, token=TOKEN) as sandbox:
        sandbox.push_rate_limit("TEN_SECONDLY_ROLLING", times=2)
        ids = extract_ids(sandbox)
        statuses = [r.status for r in sandbox.requests]
    assert sorted(ids) == sorted(c["id"] for c in contacts)
    assert statuses[:3] == [429, 429, 200]


def test_5xx_burst_is_retried():
    with HubSpotSandbox.unthrottled(hubspot_contacts(20), token=TOKEN) as sandbox:
        sandbox.faults.push(status=503, times=3)
        assert len(extract_ids(sandbox)) == 20


def test_real_search_rate_limit_is_respected_by_pacing():
    with HubSpotSandbox(hubspot_contacts(1000), token=TOKEN) as sandbox:
        ids = extract_ids(sandbox, page_size=100, search_requests_per_second=4)
        statuses = [r.status for r in sandbox.requests]
    assert len(set(ids)) == 1000
    assert 429 not in statuses


def test_wrong_token_fails_at_once_asking_to_reauthorize():
    with HubSpotSandbox.unthrottled(hubspot_contacts(5), token="the-right-one") as sandbox:
        with pytest.raises(AuthError, match="re-authorize") as caught:
            extract_ids(sandbox)
        assert len(sandbox.requests) == 1
    assert TOKEN not in str(caught.value)


def test_expired_token_says_expired():
    with HubSpotSandbox.unthrottled(hubspot_contacts(5), token=TOKEN) as sandbox:
        sandbox.token_expired = True
        with pytest.raises(AuthError, match="token expired"):
            extract_ids(sandbox)


def test_daily_limit_stops_the_source_instead_of_retrying():
    with HubSpotSandbox.unthrottled(hubspot_contacts(5), token=TOKEN) as sandbox:
        sandbox.push_rate_limit("DAILY", times=20)
        started = time.monotonic()
        with pytest.raises(TerminalError, match="daily API limit"):
            extract_ids(sandbox, max_attempts=3)
    assert time.monotonic() - started < 30


def test_slow_response_past_the_timeout_is_transient():
    with HubSpotSandbox.unthrottled(hubspot_contacts(5), token=TOKEN) as sandbox:
        sandbox.faults.push_delay(2.0, times=5)
        with pytest.raises(TransientError, match="hubspot: network failure"):
            extract_ids(sandbox, timeout_seconds=0.3, max_attempts=2)


def test_html_error_page_with_200_is_not_taken_for_data():
    # Retried like a 503 (the next answer is the real one); a persistent one is an error.
    html = b"<html><body>Service Unavailable</body></html>"
    with HubSpotSandbox.unthrottled(hubspot_contacts(5), token=TOKEN) as sandbox:
        sandbox.faults.push(status=200, body=html, headers={"Content-Type": "text/html"})
        assert len(extract_ids(sandbox)) == 5
        sandbox.faults.push(200, html, {"Content-Type": "text/html"}, times=10, path="/search")
        sandbox.server.clear_requests()
        with pytest.raises(
            TransientError, match="POST /crm/v3/objects/contacts/search was not JSON"
        ):
            extract_ids(sandbox, max_attempts=3)
        assert len([r for r in sandbox.requests if r.path.endswith("/search")]) == 3


RECORD = {
    "id": "512",
    "properties": {
        "hs_object_id": "512",
        "email": "  Jane.Doe@Example.COM ",
        "firstname": "JANE",
        "lastname": "doe",
        "phone": "(415) 555-0134",
        "country": "United States",
        "lifecyclestage": "marketingqualifiedlead",
        "hubspot_owner_id": "77",
        "hs_analytics_source": "PAID_SOCIAL",
        "favourite_colour": "teal",
        "createdate": "2026-11-01T10:00:00.000Z",
        "lastmodifieddate": "2026-11-20T14:50:56.123Z",
    },
    "createdAt": "2026-11-01T10:00:00.000Z",
    "updatedAt": "2026-11-20T14:50:56.123Z",
    "archived": False,
}


def test_to_lead_maps_and_normalizes_a_contact():
    lead = to_lead(RECORD, CONTEXT)
    assert lead.natural_key == ("hubspot", "512")
    assert lead.email == "jane.doe@example.com"
    assert lead.phone == "+14155550134"
    assert (lead.first_name, lead.last_name) == ("Jane", "Doe")
    assert lead.updated_at == datetime(2026, 11, 20, 14, 50, 56, 123000, tzinfo=UTC)
    assert lead.source_stage == "marketingqualifiedlead"
    assert lead.custom_fields["favourite_colour"] == "teal"
    assert lead.custom_fields["hs_analytics_source"] == "PAID_SOCIAL"
    assert lead.raw == RECORD


@pytest.mark.parametrize(
    ("change", "field"),
    [
        pytest.param({"email": "not-an-email", "phone": None}, "email", id="no-contact-route"),
        pytest.param({"lastmodifieddate": "yesterday", "updatedAt": None}, "lastmodifieddate", id="bad-cursor"),
        pytest.param({"createdate": "2026-11-01T10:00:00", "createdAt": None}, "createdate", id="naive-time"),
    ],
)  # fmt: skip
def test_invalid_contacts_name_the_source_record_and_field(change, field):
    record = {**RECORD, "properties": {**RECORD["properties"], **change}}
    record.update({k: v for k, v in change.items() if k in ("updatedAt", "createdAt")})
    with pytest.raises(InvalidRecord) as caught:
        to_lead(record, CONTEXT)
    assert (caught.value.source, caught.value.record_key, caught.value.field_name) == (
        "hubspot",
        "512",
        field,
    )
    assert "hubspot record 512" in str(caught.value)


def test_bad_phone_with_good_email_keeps_the_lead_and_reports_the_phone():
    record = {**RECORD, "properties": {**RECORD["properties"], "phone": "n/a"}}
    lead = to_lead(record, CONTEXT)
    assert lead.phone is None
    assert "phone" in lead.custom_fields["_invalid"]


def test_to_lead_keeps_lead_status_and_owner_assignment_in_custom_fields():
    props = {
        "hs_lead_status": "ATTEMPTED_TO_CONTACT",
        "hubspot_owner_assigneddate": "2026-11-19T09:00:00Z",
    }
    lead = to_lead({**RECORD, "properties": {**RECORD["properties"], **props}}, CONTEXT)
    assert lead.source_stage == "marketingqualifiedlead"
    assert lead.custom_fields["hs_lead_status"] == "ATTEMPTED_TO_CONTACT"
    assert lead.custom_fields["hubspot_owner_assigneddate"] == "2026-11-19T09:00:00Z"


OAUTH = {"client_id": "app-1", "client_secret": "app-secret-1", "refresh_token": "refresh-1"}


@pytest.mark.parametrize(
    ("credentials", "message"),
    [
        pytest.param({}, "access_token\n  Field required", id="none"),
        pytest.param({"access_token": TOKEN, **OAUTH}, "not both", id="both"),
        pytest.param({"client_id": "app-1", "refresh_token": "r"}, "missing: client_secret", id="partial-oauth"),
    ],
)  # fmt: skip
def test_config_takes_exactly_one_auth_mode(credentials, message):
    with pytest.raises(ValueError, match=message):
        HubSpotConfig(base_url="http://x", portal_id="p", **credentials)


def test_config_accepts_a_private_app_token_or_oauth():
    assert not HubSpotConfig(base_url="http://x", portal_id="p", access_token=TOKEN).uses_oauth
    oauth = HubSpotConfig(base_url="http://x", portal_id="p", **OAUTH)
    assert oauth.uses_oauth
    assert {s.get_secret_value() for s in oauth.secrets()} == {"app-secret-1", "refresh-1"}
    assert oauth.touch_types == ("calls", "emails", "meetings") and oauth.sales_touches


# -- custom properties ----------------------------------------------------------------------
def test_custom_contact_properties_are_discovered_read_and_kept():
    contacts = hubspot_contacts(60)
    with HubSpotSandbox.unthrottled(contacts, token=TOKEN) as sandbox:
        client = open_session(config(sandbox))
        seen = list(pages(client, "portal-1", lambda _: None))
        searched = [r.json()["properties"] for r in sandbox.requests if r.path.endswith("/search")]
    assert seen[0].notes == (
        "hubspot: custom contact properties: company_size, preferred_demo_date",
    )
    assert all({"company_size", "preferred_demo_date"} <= set(names) for names in searched)
    sized = {c["id"]: c["properties"]["company_size"] for c in contacts if c["properties"].get("company_size")}  # fmt: skip
    leads = {r["id"]: to_lead(r, CONTEXT) for p in seen for r in p.records if r["id"] in sized}
    assert sized and {k: lead.custom_fields["company_size"] for k, lead in leads.items()} == sized


def test_a_property_list_the_token_may_not_read_is_a_note_not_a_failure():
    with HubSpotSandbox.unthrottled(hubspot_contacts(30), token=TOKEN) as sandbox:
        body = {"status": "error", "category": "MISSING_SCOPES", "message": "missing scopes"}
        sandbox.faults.push(status=403, body=body, path="/crm/v3/properties/")
        client = open_session(config(sandbox))
        seen = list(pages(client, "portal-1", lambda _: None))
    assert sum(len(p.records) for p in seen) == 30
    assert "custom contact properties not discovered" in seen[0].notes[0]


# -- OAuth ---------------------------------------------------------------------------------------
def oauth(sandbox: HubSpotSandbox, **overrides) -> HubSpotConfig:
    values = {
        "base_url": sandbox.base_url,
        "client_id": "sandbox-client-id",
        "client_secret": "sandbox-client-secret",
        "refresh_token": "sandbox-refresh-token",
        "portal_id": "portal-1",
        "page_size": 50,
        "backoff_seconds": 0.05,
        "search_requests_per_second": 200,
        **overrides,
    }
    return HubSpotConfig(**values)


def test_oauth_refreshes_the_access_token_before_it_expires():
    with HubSpotSandbox.unthrottled(hubspot_contacts(120)) as sandbox:
        client = open_session(oauth(sandbox, token_refresh_margin_seconds=300))
        now = [1000.0]
        client.session.auth.clock = lambda: now[0]
        walk = pages(client, "portal-1", lambda _: None)
        next(walk)
        first_token = client.session.auth.token()
        assert sandbox.oauth_refresh_count == 1
        now[0] += 1800 - 299  # within five minutes of the expiry: refresh before the call
        rest = list(walk)
        api = [r for r in sandbox.requests if r.path != "/oauth/v1/token"]
    assert sandbox.oauth_refresh_count == 2 and len(rest) == 2
    assert {r.status for r in api} == {200}  # refreshed before, not after, a 401
    assert client.session.auth.token() != first_token


def test_an_access_token_expired_mid_sync_is_refreshed_once_and_the_sync_completes(caplog):
    caplog.set_level(logging.DEBUG)
    contacts = hubspot_contacts(150)
    with HubSpotSandbox.unthrottled(contacts) as sandbox:
        client = open_session(oauth(sandbox))
        walk = pages(client, "portal-1", lambda _: None)
        ids = [r["id"] for r in next(walk).records]
        tokens = {client.session.auth.token()}
        sandbox.expire_oauth_tokens()
        ids += [r["id"] for page in walk for r in page.records]
        tokens.add(client.session.auth.token())
        statuses = [r.status for r in sandbox.requests]
    assert sorted(ids) == sorted(c["id"] for c in contacts)
    assert statuses.count(401) == 1 and sandbox.oauth_refresh_count == 2
    assert len(tokens) == 2 and not any(token in caplog.text for token in tokens)


def test_a_revoked_refresh_token_asks_to_reauthorize():
    with HubSpotSandbox.unthrottled(hubspot_contacts(150)) as sandbox:
        client = open_session(oauth(sandbox))
        walk = pages(client, "portal-1", lambda _: None)
        next(walk)
        sandbox.revoke_oauth()
        with pytest.raises(AuthError, match="re-authorize") as caught:
            list(walk)
        token_calls = [r.status for r in sandbox.requests if r.path == "/oauth/v1/token"]
    assert "BAD_REFRESH_TOKEN" in str(caught.value)
    assert "sandbox-refresh-token" not in str(caught.value)
    assert token_calls == [200, 400]  # one refresh attempt, no loop


def test_wrong_oauth_client_secret_fails_at_the_first_call():
    with HubSpotSandbox.unthrottled(hubspot_contacts(5)) as sandbox:
        client = open_session(oauth(sandbox, client_secret="not-the-secret"))
        with pytest.raises(AuthError, match="re-authorize"):
            list(pages(client, "portal-1", lambda _: None))
        assert [r.path for r in sandbox.requests] == ["/oauth/v1/token"]


def test_a_search_total_that_differs_from_what_was_read_is_reported():
    with HubSpotSandbox.unthrottled(hubspot_contacts(5), token=TOKEN) as sandbox:
        short = {"total": 7, "results": []}
        sandbox.faults.push(status=200, body=short, path="/crm/v3/objects/contacts/search")
        seen = list(pages(open_session(config(sandbox)), "portal-1", lambda _: None))
    assert seen[-1].notes[-1].startswith("hubspot: contacts search reported 7 results but 0")


def test_oauth_daily_limit_without_daily_headers_still_stops_the_source():
    # HubSpot leaves the X-HubSpot-RateLimit-Daily* headers out of OAuth responses: the
    # body's policyName is the only signal, and the transport reads it on the first 429
    # (urllib3's retries, blind to bodies, used to spend every try first).
    with HubSpotSandbox.unthrottled(hubspot_contacts(5)) as sandbox:
        body = rate_limit_body("DAILY")
        sandbox.faults.push(status=429, body=body, times=50, path="/search")
        with pytest.raises(TerminalError, match="daily API limit"):
            list(pages(open_session(oauth(sandbox, max_attempts=2)), "portal-1", lambda _: None))
        searches = [r for r in sandbox.requests if r.path.endswith("/search")]
    assert len(searches) == 1
