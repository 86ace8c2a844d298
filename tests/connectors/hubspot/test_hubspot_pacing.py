"""One search pace per HubSpot credential, shared by every client (task) that uses it.

HubSpot counts searches per account, not per connection: the contacts task and the
sales-touches task of one run search with the same token at the same time, so each
pacing itself under the limit still adds up to twice the limit together.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from leadflow.connectors.hubspot.client import search_pacer
from leadflow.connectors.hubspot.connector import HubSpotConfig, open_session
from leadflow.sandbox.data import hubspot_contacts
from leadflow.sandbox.hubspot.app import HubSpotSandbox

TOKEN = "test-hubspot-pacing-token"
SEARCHES_PER_CLIENT = 16


def _config(sandbox: HubSpotSandbox, token: str = TOKEN, rate: float = 20) -> HubSpotConfig:
    return HubSpotConfig(
        base_url=sandbox.base_url,
        access_token=token,
        portal_id="portal-1",
        backoff_seconds=0.05,
        search_requests_per_second=rate,
    )


def _search_many(config: HubSpotConfig) -> None:
    client = open_session(config)
    try:
        for _ in range(SEARCHES_PER_CLIENT):
            client.search({"limit": 1, "properties": ["email"]})
    finally:
        client.close()


def test_two_clients_of_one_token_share_one_pace_and_stay_under_the_search_limit():
    # The sandbox allows 25 searches per second; each client paces itself at 20 per
    # second, so two clients with their own pacers would send 40 per second.
    with HubSpotSandbox(hubspot_contacts(5), token=TOKEN, search_rate_per_second=25) as box:
        config = _config(box)
        with ThreadPoolExecutor(2) as pool:
            for future in [pool.submit(_search_many, config) for _ in range(2)]:
                future.result()
        statuses = [r.status for r in box.requests if r.path.endswith("/search")]
    assert statuses.count(200) == 2 * SEARCHES_PER_CLIENT
    assert 429 not in statuses


def test_pacers_are_shared_per_credential_base_url_and_pace():
    with HubSpotSandbox.unthrottled(hubspot_contacts(1), token=TOKEN) as box:
        one = search_pacer(_config(box))
        assert search_pacer(_config(box)) is one
        assert search_pacer(_config(box, token="another-token")) is not one
        assert search_pacer(_config(box, rate=4)) is not one
