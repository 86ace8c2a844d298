"""The HubSpot connector against the HubSpot sandbox, over real HTTP."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from connectors.base import LeadContext
from connectors.errors import AuthError, TerminalError, TransientError
from connectors.hubspot import HubSpotConfig, open_session, pages, to_lead
from models.leads import InvalidRecord
from sandbox.data import hubspot_contacts
from sandbox.hubspot import HubSpotSandbox

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
    with HubSpotSandbox.unthrottled(hubspot_contacts(5), token=TOKEN) as sandbox:
        html = b"<html><body>Service Unavailable</body></html>"
        sandbox.faults.push(status=200, body=html, headers={"Content-Type": "text/html"})
        with pytest.raises(TransientError, match="was not JSON"):
            extract_ids(sandbox)


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
