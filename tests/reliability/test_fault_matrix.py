"""Faults injected into every platform's sandbox over real HTTP, one sync per fault.

A truncated body and a mid-body disconnect land on a later page of the platform's lead stream
(``leadflow.sandbox.weather``: after the first page was read and committed), as in
``leadflow demo``. Whatever the fault, a sync either completes with exactly the leads of a
clean run or fails that source with a clear error; the warehouse never holds a duplicate or a lead the clean
run would not have loaded, and no watermark runs ahead of a clean run's. A later clean run
converges to exactly the clean run's leads, quarantine and watermarks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from leadflow.connectors.errors import ConnectorError
from leadflow.sandbox.weather import forecast, is_later_lead_page
from tests.reliability.platforms import (
    PLATFORMS,
    SECRETS,
    Platforms,
    aware,
    fresh_warehouse,
    snapshot,
    sync_platform,
)

Inject = Callable[[Any, str], None]
GOOGLE_PAGE_SIZE = 10_000  # the Google Ads sandbox's (and API's) page size
ON_A_LATER_PAGE = {"truncated-json": "transform", "mid-body-disconnect": "disconnect"}


def _skip(box: Any, requests: int = 2) -> None:
    """Let the first requests through, so the fault lands mid-sync after pages committed."""
    box.faults.push_delay(0, times=requests)


def burst(box: Any, platform: str) -> None:
    _skip(box)
    for status in (500, 502, 503):
        box.faults.push(status, {"message": f"injected {status}"})


def throttle(box: Any, platform: str) -> None:
    """Each platform's own throttling signal (see the connector modules)."""
    if platform == "hubspot":
        box.push_rate_limit("TEN_SECONDLY_ROLLING", times=2)
    elif platform == "meta":
        box.push_error(17, times=2)
    elif platform == "google_ads":
        box.push_quota_error(0.1, times=2)
    elif platform == "linkedin":
        box.push_throttle(times=2)
    else:
        box.push_error(429, times=2)


def slow(box: Any, platform: str) -> None:
    _skip(box)
    box.faults.push_delay(1.6)  # the tuned read timeout is 1 s


def reset(box: Any, platform: str) -> None:
    _skip(box)
    box.faults.push_reset(times=2)


def truncated(box: Any, platform: str) -> None:
    """A 200 whose body (and Content-Length) end early, on a later page of the leads."""
    forecast(box, platform, disconnect=False)


def disconnect(box: Any, platform: str) -> None:
    """The full Content-Length, half the body, then the connection closed: a later page."""
    forecast(box, platform, truncated=False)


def html_page(box: Any, platform: str) -> None:
    _skip(box)
    box.faults.push_html()


def expired_token(box: Any, platform: str) -> None:
    def expire() -> None:
        if platform == "mailchimp":
            box.api_key = "expired-key-us21"
        else:
            box.token_expired = True

    _skip(box, 3)
    box.faults.push_action(expire)


def restore(box: Any, platform: str) -> None:
    box.faults.clear()
    if platform == "google_ads":
        box.page_size = GOOGLE_PAGE_SIZE  # the weather makes its pages small
    if platform == "mailchimp":
        box.api_key = "sandbox-key-us21"
    else:
        box.token_expired = False


# name -> (injector, retried to success by design)
FAULTS: dict[str, tuple[Inject, bool]] = {
    "5xx-burst": (burst, True),
    "throttled": (throttle, True),
    "slow-past-timeout": (slow, False),
    "connection-reset": (reset, True),
    "truncated-json": (truncated, True),
    "mid-body-disconnect": (disconnect, True),
    "html-200": (html_page, True),
    "expired-token": (expired_token, False),
}


@pytest.mark.parametrize("fault", list(FAULTS))
@pytest.mark.parametrize("platform", PLATFORMS)
def test_fault_loses_nothing_doubles_nothing_and_a_clean_run_converges(
    platforms: Platforms, reference, tmp_path, platform: str, fault: str
):
    clean = reference(platform)
    box, source = platforms.box(platform), platforms.sources[platform]
    engine = fresh_warehouse(f"sqlite:///{tmp_path / 'w.db'}")
    inject, must_succeed = FAULTS[fault]
    seen = len(box.requests)
    inject(box, platform)
    try:
        outcome = sync_platform(source, engine, "faulted")
        left = len(box.faults)
    finally:
        restore(box, platform)
    assert left == 0, "the fault was never served: the test proved nothing"
    if fault in ON_A_LATER_PAGE:
        served = [r for r in box.requests[seen:] if r.fault == ON_A_LATER_PAGE[fault]]
        assert len(served) == 1 and is_later_lead_page(platform, served[0]), served
    print(f"{platform} {fault}: {'failed' if outcome.errors else 'completed'} {outcome.errors}")
    after = snapshot(engine, platform)

    for error in outcome.errors.values():
        text = str(error)
        assert isinstance(error, ConnectorError) and text.startswith(f"{platform}: "), text
        assert not any(secret in text for secret in SECRETS), text
    if must_succeed:
        assert not outcome.errors, f"{fault} should be retried: {outcome.errors}"
    if not outcome.errors:
        assert after.hashes == clean.hashes
    assert after.rows == len(after.hashes), "duplicate lead keys"
    assert after.hashes.items() <= clean.hashes.items(), "a lead the clean run would not load"
    for partition, mark in after.watermarks.items():
        limit = aware(clean.watermarks.get(partition))
        assert mark is None or (limit is not None and aware(mark) <= limit), partition

    rerun = sync_platform(source, engine, "rerun")
    assert not rerun.errors, rerun.errors
    final = snapshot(engine, platform)
    engine.dispose()
    assert final.hashes == clean.hashes
    assert final.rows == len(clean.hashes)
    assert final.quarantined == clean.quarantined
    assert final.watermarks == clean.watermarks
