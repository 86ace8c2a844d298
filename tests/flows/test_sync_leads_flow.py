"""The sync flow, really run by Prefect, against the HubSpot sandbox, on both dialects."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import sqlalchemy as sa

from leadflow.flows.sync_leads import SyncFailed, sync_leads
from leadflow.models.warehouse.engine import create_engine
from leadflow.models.warehouse.tables import leads, quarantine, sync_runs, sync_state
from leadflow.sandbox.data import hubspot_contacts
from leadflow.sandbox.hubspot.app import HubSpotSandbox
from leadflow.sandbox.meta.app import MetaSandbox
from leadflow.sandbox.meta.data import meta_dataset

TOKEN = "flow-test-token-456"


def write_config(tmp_path: Path, warehouse_url: str, sources: dict[str, dict]) -> str:
    lines = [f"warehouse_url: {warehouse_url}", "timezone: America/New_York", "sources:"]
    for name, values in sources.items():
        lines.append(f"  {name}:")
        lines += [f"    {key}: {value}" for key, value in values.items()]
    path = tmp_path / "leadflow.yaml"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def hubspot_source(sandbox: HubSpotSandbox, portal: str, token: str = "${HS_TOKEN}") -> dict:
    return {
        "type": "hubspot",
        "base_url": sandbox.base_url,
        "access_token": token,
        "portal_id": f'"{portal}"',
        "backoff_seconds": 0.05,
        "search_requests_per_second": 100,
        # Contacts only here; reps and touches have their own tests.
        "sales_reps": "false",
        "sales_touches": "false",
        "streams": "{crm_status_changes: false}",
    }


def count(engine: sa.Engine, table: sa.Table) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


def read_artifact(key: str):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    async def latest():
        async with get_client() as client:
            found = await client.read_artifacts(
                artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key]))
            )
            return found

    return asyncio.run(latest())


def test_sync_loads_everything_then_a_second_run_changes_nothing(
    prefect_api, warehouse_url, tmp_path, monkeypatch
):
    monkeypatch.setenv("HS_TOKEN", TOKEN)
    contacts = hubspot_contacts(900)
    with HubSpotSandbox.unthrottled(contacts, token=TOKEN) as sandbox:
        config = write_config(tmp_path, warehouse_url, {"hubspot": hubspot_source(sandbox, "p1")})
        first = sync_leads(config_path=config)
        second = sync_leads(config_path=config)
    engine = create_engine(warehouse_url)
    [one], [two] = first, second
    assert one["status"] == "succeeded" and one["records"] == 900
    assert one["inserted"] + one["quarantined"] == 900
    assert one["inserted"] > 800 and one["updated"] == 0
    assert count(engine, leads) == one["inserted"]
    assert count(engine, quarantine) == one["quarantined"]
    assert two["inserted"] == 0 and two["updated"] == 0
    assert two["unchanged"] + two["quarantined"] == two["records"] > 0
    with engine.connect() as conn:
        state = conn.execute(sa.select(sync_state)).mappings().one()
        runs = conn.execute(sa.select(sync_runs)).mappings().all()
    assert state["watermark"] == one["watermark"] == two["watermark"]
    assert len(runs) == 2
    assert read_artifact("sync-leads-summary")
    engine.dispose()


def test_changed_contact_is_updated_on_the_next_run(prefect_api, tmp_path, monkeypatch):
    monkeypatch.setenv("HS_TOKEN", TOKEN)
    warehouse_url = f"sqlite:///{tmp_path / 'w.db'}"
    with HubSpotSandbox.unthrottled(hubspot_contacts(120), token=TOKEN) as sandbox:
        config = write_config(tmp_path, warehouse_url, {"hubspot": hubspot_source(sandbox, "p1")})
        sync_leads(config_path=config)
        target = sandbox.contacts[5]
        sandbox.upsert_contact({"hs_object_id": target["id"], "jobtitle": "Chief Lead Officer"})
        sandbox.upsert_contact({"email": "brand.new@example.com", "firstname": "Nova"})
        [row] = sync_leads(config_path=config)
    assert (row["inserted"], row["updated"]) == (1, 1)
    engine = create_engine(warehouse_url)
    with engine.connect() as conn:
        title = conn.execute(
            sa.select(leads.c.job_title).where(leads.c.source_lead_id == target["id"])
        ).scalar_one()
    assert title == "Chief Lead Officer"
    engine.dispose()


def test_one_failing_source_fails_the_run_after_the_others_loaded(
    prefect_api, tmp_path, monkeypatch
):
    monkeypatch.setenv("HS_TOKEN", TOKEN)
    warehouse_url = f"sqlite:///{tmp_path / 'w.db'}"
    with (
        HubSpotSandbox.unthrottled(hubspot_contacts(150), token=TOKEN) as good,
        HubSpotSandbox.unthrottled(hubspot_contacts(10), token="another-token") as bad,
    ):
        sources = {
            "hubspot": hubspot_source(good, "good"),
            "hubspot_eu": hubspot_source(bad, "bad"),
        }
        state = sync_leads(
            config_path=write_config(tmp_path, warehouse_url, sources), return_state=True
        )
    assert state.is_failed()
    with pytest.raises(SyncFailed, match=r"1 of 2 syncs failed: hubspot_eu/bad \(AuthError"):
        state.result()
    engine = create_engine(warehouse_url)
    with engine.connect() as conn:
        runs = {r["account_id"]: r for r in conn.execute(sa.select(sync_runs)).mappings()}
        accounts = set(conn.execute(sa.select(leads.c.account_id).distinct()).scalars())
    assert runs["good"]["status"] == "succeeded"
    assert runs["bad"]["status"] == "failed" and "re-authorize" in runs["bad"]["error"]
    assert accounts == {"good"}
    assert TOKEN not in runs["bad"]["error"]
    engine.dispose()


def test_a_daily_limit_stops_only_hubspot_and_keeps_what_it_committed(
    prefect_api, tmp_path, monkeypatch
):
    from leadflow.cli.demo import TOKENS

    for name, value in TOKENS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("HS_TOKEN", TOKEN)
    warehouse_url = f"sqlite:///{tmp_path / 'w.db'}"
    with (
        HubSpotSandbox.unthrottled(hubspot_contacts(450), token=TOKEN) as hubspot,
        MetaSandbox(meta_dataset(leads=60)) as meta,
    ):
        # The first search page answers; every request after it hits the daily limit.
        hubspot.faults.push_delay(0, times=1)
        hubspot.push_rate_limit("DAILY", times=50)
        meta_source = {
            "type": "meta",
            "base_url": meta.base_url,
            "access_token": "${LEADFLOW_DEMO_META_TOKEN}",
            "page_ids": "[" + ", ".join(f'"{page.id}"' for page in meta.dataset.pages) + "]",
            "ad_account_ids": "[]",
        }
        sources = {
            "hubspot": {**hubspot_source(hubspot, "p1"), "discover_properties": "false"},
            "meta": meta_source,
        }
        state = sync_leads(
            config_path=write_config(tmp_path, warehouse_url, sources), return_state=True
        )
    assert state.is_failed()
    with pytest.raises(SyncFailed, match=r"hubspot/p1 \(TerminalError: hubspot: daily API limit"):
        state.result()
    engine = create_engine(warehouse_url)
    with engine.connect() as conn:
        runs = {
            (r["source"], r["account_id"]): r for r in conn.execute(sa.select(sync_runs)).mappings()
        }
        counts = dict(
            conn.execute(sa.select(leads.c.source, sa.func.count()).group_by(leads.c.source)).all()
        )
    assert runs["hubspot", "p1"]["status"] == "failed" and runs["hubspot", "p1"]["pages"] == 1
    assert {r["status"] for (source, _), r in runs.items() if source == "meta"} == {"succeeded"}
    assert 0 < counts["hubspot"] <= 200  # the committed first page stays
    assert counts["meta"] == len(meta.dataset.leads)
    engine.dispose()


def test_sync_of_malformed_files_prints_and_publishes_no_email_or_phone(prefect_api, tmp_path):
    """``leadflow sync`` through the CLI entry: its stdout and stderr, the run's summary
    artifact and the Prefect logs of the run."""
    import asyncio
    from contextlib import redirect_stderr, redirect_stdout
    from io import StringIO

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterKey,
        LogFilter,
        LogFilterFlowRunId,
    )
    from prefect.client.schemas.sorting import ArtifactSort
    from prefect.logging.handlers import APILogHandler

    from leadflow.cli.main import main
    from tests.pipeline.test_import_privacy import MAPPING, ROWS, leaks, malformed_file

    path = malformed_file(tmp_path)
    headerless = tmp_path / "no_header.csv"
    headerless.write_text("ada@example.com,+14155550134,2026-11-20T10:00:00Z\n")
    mapping = "{" + ", ".join(f'"{k}": "{v}"' for k, v in MAPPING.items()) + "}"
    config = tmp_path / "c.yaml"
    config.write_text(
        f"warehouse_url: sqlite:///{tmp_path / 'w.db'}\ntimezone: Europe/Berlin\n"
        f"csv_imports:\n  - {{path: '{path}', source: crm, mapping: {mapping}}}\n"
        f"  - {{path: '{headerless}', source: other}}\n"
    )
    out_stream, err_stream = StringIO(), StringIO()
    with redirect_stdout(out_stream), redirect_stderr(err_stream):
        assert main(["--config", str(config), "sync"]) == 1  # the headerless file fails
    out, err = out_stream.getvalue(), err_stream.getvalue()
    APILogHandler().flush()  # the run's logs reach the API

    async def published() -> tuple[str, str]:
        async with get_client() as client:
            key = ArtifactFilter(key=ArtifactFilterKey(any_=["sync-leads-summary"]))
            [artifact, *_] = await client.read_artifacts(  # this run's: the latest
                artifact_filter=key, sort=ArtifactSort.CREATED_DESC
            )
            runs = LogFilter(flow_run_id=LogFilterFlowRunId(any_=[artifact.flow_run_id]))
            logs = await client.read_logs(log_filter=runs, limit=200)
        return str(artifact.data), "\n".join(entry.message for entry in logs)

    artifact, logs = asyncio.run(published())
    texts = {"stdout": out, "stderr": err, "artifact": artifact, "prefect logs": logs}
    # The failed file's reason: once, below the summary (the last line names the file only).
    assert "(created)" in out and "(created)" in artifact and "column mapping" in out
    assert "column mapping" not in err and "Traceback" not in out + err
    assert "'***@***', '+99999999999'" in logs  # the failed file's error, masked
    assert "suppressed" in out.splitlines()[0] and "suppressed" in artifact
    assert {where: leaks(text) for where, text in texts.items()} == {w: [] for w in texts}
    row = next(line.split() for line in out.splitlines() if line.startswith("crm "))
    assert row[4] == str(ROWS)  # records; inserted..duplicates follow and add up to it
    assert sum(int(cell) for cell in row[5:11]) == ROWS
