"""HubSpot's limits kept on the client's side, one set per credential, shared by every
client (task) that uses it.

HubSpot counts searches per account, not per connection: the contacts task and the
sales-touches task of one run search with the same token at the same time, so each
pacing itself under the limit still adds up to twice the limit together. The burst limit of
other calls is the one the responses announce (``X-HubSpot-RateLimit-Max``).
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from leadflow.connectors.hubspot.connector import HubSpotConfig, open_session
from leadflow.connectors.hubspot.pace import SlidingWindow, limits_for, window_for_rate
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


def test_limits_are_shared_per_credential_base_url_and_pace():
    with HubSpotSandbox.unthrottled(hubspot_contacts(1), token=TOKEN) as box:
        one = limits_for(_config(box))
        assert limits_for(_config(box)) is one
        assert limits_for(_config(box, token="another-token")) is not one
        assert limits_for(_config(box, rate=4)) is not one


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        self.now += seconds


def _call(window: SlidingWindow, clock: _Clock, seconds: float = 0.0) -> None:
    with window.slot():
        clock.now += seconds  # the call's round trip


def test_a_window_counts_each_call_until_window_after_its_answer():
    clock = _Clock()
    window = SlidingWindow(3, 10.0, 0.2, clock=clock, sleep=clock.sleep)
    for _ in range(3):
        _call(window, clock, 0.5)  # answered at 100.5, 101.0, 101.5
    assert clock.slept == []
    clock.now += 2.0  # 103.5
    _call(window, clock)  # the first counts until 100.5 + 10.2: wait 7.2 s, not a window
    assert clock.slept == [7.2] and clock.now == 110.7
    _call(window, clock)  # the second until 111.2
    assert clock.slept == [7.2, 0.5] and clock.now == 111.2
    window.resize(4, 10.0)  # a response announced a larger limit: one more place now
    _call(window, clock)
    assert clock.slept == [7.2, 0.5]


def test_a_call_that_was_retried_counts_once_per_request():
    clock = _Clock()
    window = SlidingWindow(3, 10.0, 0.0, clock=clock, sleep=clock.sleep)
    with window.slot():  # the transport sent it twice (a truncated body, then the answer)
        window.answered()
        clock.now += 0.5
        window.answered()
    _call(window, clock)
    assert clock.slept == []
    _call(window, clock)  # the first call's two requests hold two of the three places
    assert clock.slept == [9.5]


def test_calls_in_flight_hold_their_places():
    window = SlidingWindow(2, 0.2)
    inside = threading.Barrier(2)
    order: list[str] = []

    def call(name: str, hold: bool) -> None:
        with window.slot():
            if hold:
                inside.wait()
            order.append(name)

    with ThreadPoolExecutor(3) as pool:
        first = [pool.submit(call, name, True) for name in ("a", "b")]  # both in flight
        for future in first:
            future.result()
        pool.submit(call, "c", False).result()  # waited for a place, then went
    assert order[-1] == "c" and sorted(order[:2]) == ["a", "b"]


def test_a_window_takes_the_limit_a_response_announces():
    window = window_for_rate(5, 0.05)
    assert (window.limit, window.window) == (5, 1.0)
    slow = window_for_rate(0.5, 0.0)
    assert (slow.limit, slow.window) == (1, 2.0)
    with HubSpotSandbox(hubspot_contacts(3), token=TOKEN, ten_second_limit=40) as box:
        client = open_session(_config(box))
        try:
            assert client.limits.burst.limit == 100  # the configured default, until told
            client.get("/crm/v3/objects/contacts", {"limit": 1})
        finally:
            client.close()
    assert (client.limits.burst.limit, client.limits.burst.window) == (40, 10.0)
