"""Per-stream switches and missing permissions, through the real sync flow.

A token without one stream's permission (HubSpot's owners scope, Meta's ads_read) loads every
lead: only that stream's partitions fail, each naming the stream, the permission and the
switch; every other partition succeeds and moves its state. With those streams switched off
(``sources.<name>.streams``), the run succeeds and no request reaches their endpoints.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from leadflow.connectors.base import LEADS
from leadflow.flows.partitions import submit_source
from leadflow.flows.sync_leads import SyncFailed, sync_leads
from leadflow.models.warehouse.engine import create_engine
from leadflow.models.warehouse.tables import leads, sales_reps, sales_touches, sync_runs, sync_state
from leadflow.sandbox.data import hubspot_contacts
from leadflow.sandbox.hubspot.app import HubSpotSandbox
from leadflow.sandbox.hubspot.scopes import OWNERS
from leadflow.sandbox.meta.app import MetaSandbox
from leadflow.sandbox.meta.data import meta_dataset
from leadflow.sandbox.meta.errors import LEADS_RETRIEVAL

HS_TOKEN = "switch-test-hubspot-token"
META_TOKEN = "switch-test-meta-token"


def write_config(tmp_path: Path, warehouse_url: str, hs: HubSpotSandbox, meta: MetaSandbox,
                 streams: dict[str, dict[str, bool]] | None = None) -> str:  # fmt: skip
    streams = streams or {}
    pages = ", ".join(f'"{page.id}"' for page in meta.dataset.pages)
    accounts = ", ".join(f'"{account.id}"' for account in meta.dataset.ad_accounts)
    text = f"""warehouse_url: {warehouse_url}
sources:
  hubspot:
    base_url: {hs.base_url}
    access_token: ${{HS_TOKEN}}
    portal_id: "p1"
    backoff_seconds: 0.05
    search_requests_per_second: 100
    touch_types: [calls]
{_streams(streams.get("hubspot"))}
  meta:
    base_url: {meta.base_url}
    access_token: ${{META_TOKEN}}
    page_ids: [{pages}]
    ad_account_ids: [{accounts}]
    backoff_seconds: 0.05
{_streams(streams.get("meta"))}
"""
    path = tmp_path / "leadflow.yaml"
    path.write_text(text)
    return str(path)


def _streams(switches: dict[str, bool] | None) -> str:
    if not switches:
        return ""
    return "    streams:\n" + "".join(
        f"      {name}: {str(on).lower()}\n" for name, on in switches.items()
    )


def rows(engine: sa.Engine, table: sa.Table) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(row) for row in conn.execute(sa.select(table)).mappings()]


@pytest.fixture
def sandboxes(monkeypatch):
    monkeypatch.setenv("HS_TOKEN", HS_TOKEN)
    monkeypatch.setenv("META_TOKEN", META_TOKEN)
    dataset = meta_dataset(120)
    with (
        HubSpotSandbox.unthrottled(hubspot_contacts(80), token=HS_TOKEN) as hs,
        MetaSandbox(dataset, token=META_TOKEN, permissions=frozenset({LEADS_RETRIEVAL})) as meta,
    ):
        hs.revoke_scope(OWNERS)
        yield hs, meta


def test_a_missing_permission_fails_only_its_stream_and_names_stream_scope_and_switch(
    prefect_api, tmp_path, sandboxes
):
    hs, meta = sandboxes
    warehouse_url = f"sqlite:///{tmp_path / 'w.db'}"
    state = sync_leads(config_path=write_config(tmp_path, warehouse_url, hs, meta),
                       return_state=True)  # fmt: skip
    assert state.is_failed()
    with pytest.raises(SyncFailed) as caught:
        state.result()
    spend_accounts = len(meta.dataset.ad_accounts)
    assert f"{1 + spend_accounts} of " in str(caught.value)
    engine = create_engine(warehouse_url)
    runs = rows(engine, sync_runs)
    failed = {(r["source"], r["account_id"]): r["error"] for r in runs if r["status"] == "failed"}
    succeeded = {(r["source"], r["account_id"]) for r in runs if r["status"] == "succeeded"}
    assert set(failed) == {("hubspot", "sales_reps:p1")} | {
        ("meta", f"spend:{account.id}") for account in meta.dataset.ad_accounts
    }
    reps = failed["hubspot", "sales_reps:p1"]
    assert "stream sales_reps" in reps and "crm.objects.owners.read" in reps
    assert "sources.hubspot.streams.sales_reps: false" in reps
    spend = failed["meta", f"spend:{meta.dataset.ad_accounts[0].id}"]
    assert "stream spend" in spend and "ads_read" in spend
    assert "sources.meta.streams.spend: false" in spend
    assert not any(token in error for error in failed.values() for token in (HS_TOKEN, META_TOKEN))
    # Every lead loaded; the other partitions succeeded and moved their state.
    assert ("hubspot", "p1") in succeeded and ("hubspot", "sales_touches:p1") in succeeded
    assert {("meta", page.id) for page in meta.dataset.pages} <= succeeded
    loaded = rows(engine, leads)
    assert sum(1 for lead in loaded if lead["source"] == "meta") == len(meta.dataset.leads)
    assert sum(1 for lead in loaded if lead["source"] == "hubspot") > 0
    keys = {(s["source"], s["account_id"]) for s in rows(engine, sync_state)
            if s["watermark"] is not None}  # fmt: skip
    assert ("hubspot", "p1") in keys and ("hubspot", "sales_touches:calls") in keys
    assert not any(key.startswith(("sales_reps:", "spend:")) for _, key in keys)
    assert rows(engine, sales_touches) and not rows(engine, sales_reps)
    engine.dispose()


def test_switched_off_streams_succeed_and_are_never_asked_for(prefect_api, tmp_path, sandboxes):
    hs, meta = sandboxes
    warehouse_url = f"sqlite:///{tmp_path / 'w.db'}"
    switches = {"hubspot": {"sales_reps": False}, "meta": {"spend": False}}
    config = write_config(tmp_path, warehouse_url, hs, meta, switches)
    result = sync_leads(config_path=config)
    assert result and all(row["status"] == "succeeded" for row in result)
    accounts = {(row["source"], row["account_id"]) for row in result}
    assert ("hubspot", "sales_touches:p1") in accounts and ("hubspot", "p1") in accounts
    assert not any(account.startswith(("sales_reps:", "spend:")) for _, account in accounts)
    assert not [r for r in hs.requests if r.path.startswith("/crm/v3/owners")]
    assert not [r for r in meta.requests if "/act_" in r.path]
    assert [r for r in meta.requests if r.path.endswith("/leads")]


class _Recorder:
    """A task runner that records what is submitted instead of running it."""

    def __init__(self) -> None:
        self.submitted: list[str] = []

    def submit(self, task: Any, params: dict[str, Any]) -> str:
        self.submitted.append(f"{task.name}:{params.get('stream', '')}:{params['account']}")
        return self.submitted[-1]


@pytest.mark.parametrize(
    ("streams", "parts", "wanted"),
    [
        pytest.param({}, None, {"sync-leads::p1", "sync-stream:sales_reps:p1",
                                "sync-stream:sales_touches:p1",
                                "sync-stream:crm_status_changes:p1"}, id="all-on"),
        pytest.param({"sales_touches": False}, None,
                     {"sync-leads::p1", "sync-stream:sales_reps:p1",
                      "sync-stream:crm_status_changes:p1"}, id="one-off"),
        pytest.param({LEADS: False}, None,
                     {"sync-stream:sales_reps:p1", "sync-stream:sales_touches:p1",
                      "sync-stream:crm_status_changes:p1"}, id="leads-off"),
        pytest.param({"sales_touches": False}, ("leads", "sales_touches"), {"sync-leads::p1"},
                     id="both-narrow"),
    ],
)  # fmt: skip
def test_submit_source_skips_switched_off_streams(streams, parts, wanted):
    from leadflow.config.settings import Settings
    from leadflow.connectors.hubspot.config import HubSpotConfig

    source = HubSpotConfig(access_token="t0ken-abcdef", portal_id="p1", streams=streams)
    settings = Settings(sources={"hubspot": source})
    runner = _Recorder()
    futures = submit_source("hubspot", source, settings, "run", runner, parts)  # type: ignore[arg-type]
    assert set(runner.submitted) == wanted and len(futures) == len(wanted)


def test_leads_may_be_switched_off_while_another_stream_stays_on(tmp_path):
    from leadflow.config.settings import load_settings

    path = tmp_path / "leadflow.yaml"
    path.write_text("sources:\n  meta:\n    access_token: t0ken-abcdef\n    page_ids: ['1']\n"
                    "    ad_account_ids: ['2']\n    streams:\n      leads: false\n")  # fmt: skip
    source = load_settings(path).sources["meta"]
    assert not source.stream_on("leads") and source.stream_on("spend")
    assert hash(source) == hash(load_settings(path).sources["meta"])  # still hashable
