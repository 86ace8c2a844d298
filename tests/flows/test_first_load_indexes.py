"""A real sync defers leads' secondary indexes on its first load and builds them again
before the people layer; the next sync, on a full table, keeps them (both dialects)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from leadflow.flows import partitions
from leadflow.flows import sync_leads as sync_module
from leadflow.flows.sync_leads import sync_leads
from leadflow.models.warehouse.engine import create_engine
from leadflow.models.warehouse.indexes import deferred_lead_indexes, missing_lead_indexes
from leadflow.sandbox.data import hubspot_contacts
from leadflow.sandbox.hubspot.app import HubSpotSandbox
from tests.flows.test_sync_leads_flow import TOKEN, hubspot_source, write_config
from tests.models.warehouse.schema_check import schema_diff


def test_first_sync_loads_without_the_indexes_and_ends_with_them(
    prefect_api: None, warehouse_url: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HS_TOKEN", TOKEN)
    dropped: list[list[str]] = []
    missing_when_classifying: list[list[str]] = []
    engine = create_engine(warehouse_url)

    @contextmanager
    def spy(*args: Any, **kwargs: Any) -> Iterator[list[str]]:
        with deferred_lead_indexes(*args, **kwargs) as names:
            dropped.append(sorted(names))
            yield names

    real_classify = sync_module.classify_task

    def classify(*args: Any, **kwargs: Any) -> Any:
        with engine.connect() as conn:
            missing_when_classifying.append(missing_lead_indexes(conn))
        return real_classify(*args, **kwargs)

    monkeypatch.setattr(partitions, "deferred_lead_indexes", spy)
    monkeypatch.setattr(sync_module, "classify_task", classify)
    with HubSpotSandbox.unthrottled(hubspot_contacts(300), token=TOKEN) as sandbox:
        config = write_config(tmp_path, warehouse_url, {"hubspot": hubspot_source(sandbox, "p1")})
        [first] = sync_leads(config_path=config)
        [second] = sync_leads(config_path=config)
    assert first["inserted"] > 250 and second["inserted"] == 0
    assert dropped == [
        [
            "ix_leads_email_match_key",
            "ix_leads_phone",
            "ix_leads_source_campaign_id",
            "ix_leads_updated_at",
        ],
        [],  # the second run starts on a full table
    ]
    assert missing_when_classifying == [[], []]  # built before the people layer
    assert schema_diff(engine) == []
    engine.dispose()
