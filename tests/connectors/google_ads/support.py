"""What the Google Ads tests against the sandbox share: customers, configuration, reads."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from leadflow.connectors.base import Page
from leadflow.connectors.google_ads.connector import GoogleAdsConfig, open_session, pages
from leadflow.sandbox.google_ads.app import GoogleAdsSandbox
from leadflow.sandbox.google_ads.data import MANAGER_ID

TOKEN, DEV_TOKEN = "sandbox-google-token", "sandbox-dev-token"
LA, KOLKATA = "1234567890", "5550001234"
LOGIN = {LA: None, KOLKATA: MANAGER_ID}
ROW = "leadFormSubmissionData"
BOTH_SIDES = pytest.mark.parametrize("customer", [LA, KOLKATA], ids=["utc-8", "utc+5:30"])


def config(sandbox: GoogleAdsSandbox, customer: str = LA, **overrides: Any) -> GoogleAdsConfig:
    values: dict[str, Any] = {
        "base_url": sandbox.base_url,
        "access_token": TOKEN,
        "developer_token": DEV_TOKEN,
        "login_customer_id": LOGIN[customer],
        "customer_ids": [customer],
        "backoff_seconds": 0.01,
        **overrides,
    }
    return GoogleAdsConfig(**values)


def read(
    sandbox: GoogleAdsSandbox,
    customer: str = LA,
    since: datetime | None = None,
    sleep: Any = None,
    **overrides: Any,
) -> list[Page]:
    client = open_session(config(sandbox, customer, **overrides), sleep=sleep or no_sleep)
    try:
        return list(pages(client, customer, lambda _: since))
    finally:
        client.close()


def no_sleep(seconds: float) -> None:
    raise AssertionError(f"unexpected sleep of {seconds} s")


def ids(found: list[Page]) -> list[str]:
    return [r[ROW]["id"] for page in found for r in page.records]


def searches(sandbox: GoogleAdsSandbox, resource: str = "FROM lead_form_submission_data") -> list:
    return [r for r in sandbox.requests if resource in (r.json() or {}).get("query", "")]


def records_of(found: list[Page]) -> Iterator[dict[str, Any]]:
    return (record for page in found for record in page.records)
