"""One retry layer, measured at each platform's sandbox: a persistent 5xx, the platform's own
throttle signal, or a truncated 200 costs exactly ``max_attempts`` requests, then fails with
the error that says what happened; a single truncated body is asked again and the read
completes; a repeated HubSpot cursor stops the read instead of paging forever."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from leadflow.connectors.base import SourceConfig
from leadflow.connectors.errors import RateLimited, TerminalError, TransientError
from leadflow.connectors.google_ads.connector import GoogleAdsConfig
from leadflow.connectors.hubspot.connector import HubSpotConfig
from leadflow.connectors.linkedin.config import LinkedInConfig
from leadflow.connectors.mailchimp.connector import MailchimpConfig
from leadflow.connectors.meta.config import MetaConfig
from leadflow.connectors.registry import REGISTRY
from leadflow.sandbox.data import hubspot_contacts
from leadflow.sandbox.google_ads.app import GoogleAdsSandbox
from leadflow.sandbox.google_ads.data import google_ads_dataset
from leadflow.sandbox.hubspot.app import HubSpotSandbox
from leadflow.sandbox.linkedin.app import LinkedInSandbox
from leadflow.sandbox.linkedin.data import linkedin_dataset
from leadflow.sandbox.mailchimp.app import MailchimpSandbox
from leadflow.sandbox.mailchimp.data import mailchimp_dataset
from leadflow.sandbox.meta.app import MetaSandbox
from leadflow.sandbox.meta.data import meta_dataset

TOKEN, KEY = "retry-budget-token-1", "retry-budget-key-us21"
FAST = {"backoff_seconds": 0.0, "timeout_seconds": 5.0}


@dataclass(frozen=True)
class Platform:
    """A sandbox, a source reading one account of it, the endpoint faults are aimed at
    (a path regex) and how the platform says "slow down" there."""

    sandbox: Callable[[], Any]
    config: Callable[[Any, int], SourceConfig]
    path: str
    throttle: Callable[[Any, str], None]


PLATFORMS: dict[str, Platform] = {
    "hubspot": Platform(
        lambda: HubSpotSandbox.unthrottled(hubspot_contacts(30), token=TOKEN),
        lambda box, n: HubSpotConfig(
            base_url=box.base_url, access_token=TOKEN, portal_id="p", max_attempts=n,
            discover_properties=False, search_requests_per_second=500, **FAST,
        ),
        r"/contacts/search$",
        lambda box, path: box.push_rate_limit("TEN_SECONDLY_ROLLING", times=100, path=path),
    ),
    "meta": Platform(
        lambda: MetaSandbox(meta_dataset(60), token=TOKEN),
        lambda box, n: MetaConfig(
            base_url=box.base_url, access_token=TOKEN, page_ids=[box.dataset.pages[0].id],
            max_attempts=n, **FAST,
        ),
        r"/leadgen_forms$",
        lambda box, path: box.push_error(17, times=100, path=path),  # HTTP 400, code 17
    ),
    "google_ads": Platform(
        lambda: GoogleAdsSandbox(google_ads_dataset(30), page_size=7),
        lambda box, n: GoogleAdsConfig(
            base_url=box.base_url, access_token="sandbox-google-token",
            developer_token="sandbox-dev-token",
            customer_ids=["1234567890"], max_attempts=n, **FAST,
        ),
        r"googleAds:search$",
        lambda box, path: box.push_quota_error(None, times=100),  # 429 RESOURCE_EXHAUSTED
    ),
    "linkedin": Platform(
        lambda: LinkedInSandbox(linkedin_dataset(30), token=TOKEN),
        lambda box, n: LinkedInConfig(
            base_url=box.base_url, access_token=TOKEN, sponsored_account_ids=["510000101"],
            max_attempts=n, **FAST,
        ),
        r"/leadFormResponses$",
        lambda box, path: box.push_throttle(times=100, path=path),  # a bare 429
    ),
    "mailchimp": Platform(
        lambda: MailchimpSandbox(mailchimp_dataset(60, anchor=datetime.now(UTC)), api_key=KEY),
        lambda box, n: MailchimpConfig(
            base_url=box.base_url, api_key=KEY, list_ids=[box.dataset.lists[0]["id"]],
            max_attempts=n, **FAST,
        ),
        r"/members$",
        lambda box, path: box.push_error(429, times=100, path=path),
    ),
}  # fmt: skip


def read_all(source: SourceConfig) -> list[dict[str, Any]]:
    connector = REGISTRY[source.type]
    client = connector.open(source)
    try:
        return [
            record
            for account in connector.accounts(source)
            for page in connector.pages(client, account, lambda _: None)
            for record in page.records
        ]
    finally:
        client.close()


@pytest.fixture(params=list(PLATFORMS))
def platform(request: pytest.FixtureRequest) -> Iterator[tuple[str, Platform, Any]]:
    spec = PLATFORMS[request.param]
    with spec.sandbox() as box:
        yield request.param, spec, box


def hits(box: Any, path: str) -> int:
    return len([r for r in box.requests if re.search(path, r.path)])


FAULTS: dict[str, Callable[[Platform, Any], None]] = {
    "5xx": lambda spec, box: box.faults.push(503, {"message": "busy"}, times=100, path=spec.path),
    "throttle": lambda spec, box: spec.throttle(box, spec.path),
    "truncated-200": lambda spec, box: box.faults.push_truncated(times=100, path=spec.path),
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_a_persistent_failure_costs_exactly_max_attempts_requests(platform, fault):
    name, spec, box = platform
    FAULTS[fault](spec, box)
    with pytest.raises(TransientError) as caught:
        read_all(spec.config(box, 4))
    requests = hits(box, spec.path)
    print(f"{name} persistent {fault}: {requests} requests, {type(caught.value).__name__}")
    assert requests == 4
    message = str(caught.value)
    assert message.startswith(f"{name}: ")
    assert isinstance(caught.value, RateLimited) is (fault == "throttle")
    if fault == "truncated-200":
        assert "was not JSON" in message and "?" not in message
        assert re.search(r"(GET|POST) /\S+", message)


def test_one_truncated_body_is_asked_again_and_the_read_completes(platform):
    name, spec, box = platform
    clean = read_all(spec.config(box, 3))
    box.faults.push_truncated(path=spec.path)
    assert read_all(spec.config(box, 3)) == clean
    assert len(box.faults) == 0, f"{name}: the truncated body was never served"


def test_a_hubspot_cursor_handed_back_again_is_refused():
    after: list[str] = []
    search = "/crm/v3/objects/contacts/search"

    def remember(body: dict) -> None:
        after.append(body["paging"]["next"]["after"])

    def repeat(body: dict) -> None:
        body["paging"]["next"]["after"] = after[0]

    with HubSpotSandbox.unthrottled(hubspot_contacts(60), token=TOKEN) as box:
        box.faults.push_drift(remember, path=search)
        box.faults.push_delay(0, path=search)
        box.faults.push_drift(repeat, path=search)
        source = PLATFORMS["hubspot"].config(box, 3).model_copy(update={"page_size": 10})
        with pytest.raises(TerminalError, match=f"^hubspot: POST {search}: the paging cursor did not advance"):  # fmt: skip
            read_all(source)
        sent = [(r.json() or {}).get("after") for r in box.requests if r.path == search]
    assert len(sent) == 3 and sent.count(after[0]) == 1
