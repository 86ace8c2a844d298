"""What the Meta tests against the sandbox share: its configuration and one recorded run."""

from __future__ import annotations

from leadflow.connectors.meta.config import MetaConfig
from leadflow.connectors.meta.connector import accounts, open_session, pages
from leadflow.sandbox.meta.app import MetaSandbox

TOKEN = "sandbox-meta-token-0123"


def sandbox_config(sandbox: MetaSandbox, **overrides) -> MetaConfig:
    values = {
        "base_url": sandbox.base_url,
        "access_token": TOKEN,
        "page_ids": [page.id for page in sandbox.dataset.pages],
        "ad_account_ids": [f"act_{account.id}" for account in sandbox.dataset.ad_accounts],
        "backoff_seconds": 0.01,
        **overrides,
    }
    return MetaConfig(**values)


class Run:
    """One extraction of every Page: its pages, the waits it slept, its request count."""

    def __init__(
        self, sandbox: MetaSandbox, start_for=lambda _: None, waits=None, **overrides
    ) -> None:
        self.waits: list[float] = [] if waits is None else waits  # kept when the run fails
        self.client = open_session(sandbox_config(sandbox, **overrides))
        self.client.sleep = self.waits.append
        self.asked: list[str] = []

        def recording_start_for(partition: str):
            self.asked.append(partition)
            return start_for(partition)

        try:
            config = self.client.config
            self.pages = [p for page_id in accounts(config) for p in pages(self.client, page_id, recording_start_for)]  # fmt: skip
        finally:
            self.client.close()

    @property
    def records(self) -> list[dict]:
        return [record for page in self.pages for record in page.records]


def lead_requests(sandbox: MetaSandbox) -> list:
    return [r for r in sandbox.requests if r.path.endswith("/leads")]
