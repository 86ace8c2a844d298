"""Every sandbox platform through the real flow: leads, spend, and an incremental rerun."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa

from leadflow.cli.demo import GOOGLE_DIRECT, TOKENS, demo_config, running_sandboxes
from leadflow.flows.sync_leads import sync_leads
from leadflow.models.warehouse.engine import create_engine
from leadflow.models.warehouse.tables import ad_spend_daily, leads


def lead_counts(engine: sa.Engine) -> dict[str, int]:
    with engine.connect() as conn:
        query = sa.select(leads.c.source, sa.func.count()).group_by(leads.c.source)
        return dict(conn.execute(query).all())


def meta_spend(engine: sa.Engine) -> dict[tuple[str, str], Decimal]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(
                ad_spend_daily.c.campaign_id, ad_spend_daily.c.day, ad_spend_daily.c.spend_micros
            ).where(ad_spend_daily.c.platform == "meta")
        ).all()
    totals: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for campaign, day, micros in rows:
        totals[campaign, day.isoformat()] += Decimal(micros).scaleb(-6)
    return dict(totals)


def test_every_platform_syncs_then_a_rerun_inserts_exactly_the_new_leads(
    prefect_api, warehouse_url, tmp_path, monkeypatch
):
    for name, value in TOKENS.items():
        monkeypatch.setenv(name, value)
    engine = create_engine(warehouse_url)
    with running_sandboxes(contacts=60) as boxes:
        config = tmp_path / "leadflow.yaml"
        config.write_text(demo_config(boxes, warehouse_url))
        first = sync_leads(config_path=str(config))
        google = boxes.google.dataset
        expected = {
            "hubspot": None,
            "meta": len(boxes.meta.dataset.leads),
            "google_ads": sum(len(google.submissions(c)) for c in google.client_ids()),
            "linkedin": len(boxes.linkedin.dataset.leads),
        }
        counts = lead_counts(engine)
        assert all(row["status"] == "succeeded" for row in first)
        for source, count in expected.items():
            if count is not None:
                assert counts[source] == count, source
        # Spend: every campaign-day Meta reported inside the synced window, to the cent.
        window_start = (datetime.now(UTC) - timedelta(days=90)).date().isoformat()
        truth = {
            key: value
            for key, value in boxes.meta.dataset.spend_by_campaign_day().items()
            if key[1] >= window_start and value
        }
        stored = {key: value for key, value in meta_spend(engine).items() if value}
        assert len(truth) > 100
        assert stored == truth

        now = datetime.now(UTC) - timedelta(hours=1)
        boxes.meta.add_lead(boxes.meta.dataset.forms[0].id, created_time=now)
        boxes.meta.add_lead(boxes.meta.dataset.forms[1].id, created_time=now, organic=True)
        boxes.google.add_submission(GOOGLE_DIRECT, submitted_at=now)
        boxes.google.add_submission("5550001234", submitted_at=now)
        boxes.linkedin.add_response(boxes.linkedin.dataset.forms[0]["id"], submitted_at=now)
        boxes.linkedin.add_response(boxes.linkedin.dataset.forms[1]["id"], submitted_at=now)
        second = sync_leads(config_path=str(config))
    lead_rows = [row for row in second if not row["account_id"].startswith("spend:")]
    assert sum(row["inserted"] for row in lead_rows) == 6
    assert sum(row["updated"] for row in lead_rows) == 0
    assert lead_counts(engine)["meta"] == expected["meta"] + 2
    engine.dispose()
