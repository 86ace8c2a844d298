"""The SLA checks inside the nightly flow, really run by Prefect, on both dialects."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from leadflow.flows.check_sla import SlaBreached, check_sla, sla_report
from leadflow.flows.sync_leads import sync_leads
from leadflow.models.warehouse.engine import create_engine
from leadflow.models.warehouse.tables import leads, sla_evaluations, sla_results
from leadflow.sandbox.data import hubspot_contacts
from leadflow.sandbox.hubspot.app import HubSpotSandbox
from tests.flows.test_sync_leads_flow import count, read_artifact

TOKEN = "sla-flow-token-789"
EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")


def write_config(tmp_path: Path, warehouse_url: str, box: HubSpotSandbox, sla: dict) -> str:
    config = {
        "warehouse_url": warehouse_url,
        "timezone": "America/New_York",
        "sources": {
            "hubspot": {
                "base_url": box.base_url, "access_token": "${HS_TOKEN}", "portal_id": "p1",
                "backoff_seconds": 0.05, "search_requests_per_second": 100,
            }
        },
        "sla": {"data_docs_dir": str(tmp_path / "docs"), **sla},
    }  # fmt: skip
    path = tmp_path / "leadflow.yaml"
    path.write_text(json.dumps(config))  # JSON is YAML
    return str(path)


def test_a_critical_breach_fails_the_run_with_data_loaded(
    prefect_api, warehouse_url, tmp_path, monkeypatch
):
    monkeypatch.setenv("HS_TOKEN", TOKEN)
    with HubSpotSandbox.unthrottled(hubspot_contacts(300), token=TOKEN) as box:
        critical = {"rules": {"first_touch": {"severity": "critical"}}}
        config = write_config(tmp_path, warehouse_url, box, critical)
        state = sync_leads(config_path=config, return_state=True)
    assert state.is_failed()
    assert isinstance(state.result(raise_on_failure=False), SlaBreached)
    assert "first_touch" in state.message
    engine = create_engine(warehouse_url)
    assert count(engine, leads) > 250  # the data stayed loaded
    with engine.connect() as conn:
        e = sla_evaluations
        breached = conn.execute(
            sa.select(sa.func.count()).where(e.c.rule == "first_touch", e.c.status == "breached")
        ).scalar_one()
        results = conn.execute(sa.select(sa.func.count()).select_from(sla_results)).scalar_one()
    engine.dispose()
    assert breached > 0 and results > 0
    (table,) = read_artifact("sla-compliance")[:1]
    rows = json.loads(table.data)
    assert any(r["rule"] == "first_touch" and r["status"] == "failed" for r in rows)
    (markdown,) = read_artifact("sla-breaches")[:1]
    assert "first_touch" in markdown.data and not EMAIL.search(markdown.data)
    assert (tmp_path / "docs" / "index.html").is_file()
    (summary,) = read_artifact("leadflow-report")[:1]  # the report's numbers, no PII
    assert "leadflow report" in summary.data and not EMAIL.search(summary.data)


def test_warning_rules_report_without_failing(prefect_api, warehouse_url, tmp_path, monkeypatch):
    monkeypatch.setenv("HS_TOKEN", TOKEN)
    warning = {"rules": {"first_touch": {"severity": "warning"}}}
    with HubSpotSandbox.unthrottled(hubspot_contacts(200), token=TOKEN) as box:
        config = write_config(tmp_path, warehouse_url, box, warning)
        rows = sync_leads(config_path=config)
    assert rows and all(row["status"] == "succeeded" for row in rows)
    summary = check_sla(config_path=config, rules=["first_touch"])
    assert summary["breached"] > 0 and "first_touch" in summary["failed_rules"]


def test_unknown_rule_names_are_refused(prefect_api, tmp_path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(f"warehouse_url: sqlite:///{tmp_path / 'w.db'}\n")
    with pytest.raises(ValueError, match="unknown SLA rules"):
        check_sla(config_path=str(config), rules=["fastest_touch"])


def test_the_weekly_report_flow_writes_the_html_even_on_a_breach(
    prefect_api, tmp_path, monkeypatch
):
    monkeypatch.setenv("HS_TOKEN", TOKEN)
    warehouse_url = f"sqlite:///{tmp_path / 'w.db'}"
    critical = {"rules": {"first_touch": {"severity": "critical"}}}
    with HubSpotSandbox.unthrottled(hubspot_contacts(150), token=TOKEN) as box:
        config = write_config(tmp_path, warehouse_url, box, critical)
        sync_leads(config_path=config, return_state=True)
    out = tmp_path / "out" / "report.html"
    state = sla_report(config_path=config, report_path=str(out), return_state=True)
    assert state.is_failed() and "first_touch" in state.message
    assert out.is_file() and "vegaEmbed" in out.read_text()
