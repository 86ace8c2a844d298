"""A sandbox Salesforce org and sources configured for it (JWT bearer flow by default)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from leadflow.connectors.base import Page
from leadflow.connectors.salesforce.client import SalesforceClient, open_session
from leadflow.connectors.salesforce.config import SalesforceConfig
from leadflow.sandbox.salesforce.app import CLIENT_ID, SalesforceSandbox
from leadflow.sandbox.salesforce.keys import shared_key_pair

ORG = "00D5g0000000001EAA"


@pytest.fixture
def sandbox() -> Iterator[SalesforceSandbox]:
    with SalesforceSandbox(300) as org:
        yield org


def jwt_config(sandbox: SalesforceSandbox, **overrides: Any) -> SalesforceConfig:
    """A source for ``sandbox``: its token endpoint, the JWT flow, one retry, no Bulk."""
    values: dict[str, Any] = {
        "base_url": sandbox.url, "client_id": CLIENT_ID, "username": sandbox.username,
        "private_key": shared_key_pair().private_pem, "org_id": ORG, "page_size": 200,
        "bulk_threshold": 0, "max_attempts": 2, "backoff_seconds": 0,
    }  # fmt: skip
    return SalesforceConfig(**{**values, **overrides})


@pytest.fixture
def configure() -> Callable[..., SalesforceConfig]:
    return jwt_config


@pytest.fixture
def read() -> Callable[..., list[Page]]:
    """``read(client, pages, start)``: every page ``pages(client, ORG, start_for)`` yields,
    every partition starting at ``start``."""

    def pages_of(
        client: SalesforceClient, pages: Callable[..., Iterator[Page]], start: Any = None
    ) -> list[Page]:
        return list(pages(client, ORG, lambda partition: start))

    return pages_of


@pytest.fixture
def client_for() -> Iterator[Callable[[SalesforceConfig], SalesforceClient]]:
    opened: list[SalesforceClient] = []

    def make(config: SalesforceConfig) -> SalesforceClient:
        client = open_session(config)
        client.sleep = lambda seconds: None
        opened.append(client)
        return client

    yield make
    for client in opened:
        client.close()
