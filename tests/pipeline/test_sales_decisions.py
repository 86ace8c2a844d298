"""Sales decisions as facts, through the warehouse: CRM status history loaded into
crm_status_changes becomes dated sales_decisions rows and the accept/reject SLA is measured
against the recorded change, not the lead's last update."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from leadflow.models.loading.activity import load_stream
from leadflow.models.loading.leads import load_batch
from leadflow.models.people.rules import default_rules
from leadflow.models.records.activity import StatusChange
from leadflow.models.records.contact import normalize_email
from leadflow.models.records.leads import Lead
from leadflow.models.sla.config import SlaSettings
from leadflow.models.sla.run import evaluate_warehouse
from leadflow.models.warehouse.tables import sales_decisions, sla_evaluations
from leadflow.pipeline.people import resolve_and_classify

NY = ZoneInfo("America/New_York")
T0 = datetime(2026, 11, 24, 10, 0, tzinfo=NY)  # Tuesday 10:00 New York
H = timedelta(hours=1)
SLA = SlaSettings(calendar={"country": "US"})


def _lead(source: str, lead_id: str, **kw: Any) -> Lead:
    address, key = normalize_email("ada@example.com")
    values: dict[str, Any] = {
        "source": source,
        "source_lead_id": lead_id,
        "account_id": f"{source}_acct",
        "created_at": T0,
        "updated_at": T0 + 30 * H,  # the lead's last update: long after the decision
        "email": address,
        "email_match_key": key,
        "raw": {"id": lead_id},
    }
    return Lead(**(values | kw))


def _load(
    engine: Engine, found: list[Lead], changes: list[StatusChange], now: datetime = T0
) -> None:
    with engine.begin() as conn:
        for item in found:
            load_batch(
                conn, source=item.source, account_id=item.account_id, leads=[item], rejected=[],
                watermark=None, cursor=None, now=now,
            )  # fmt: skip
        load_stream(
            conn, stream="crm_status_changes", source="salesforce", account_id="salesforce_acct",
            rows=changes, rejected=(), watermark=None, state_key="crm_status_changes", now=now,
        )  # fmt: skip


def _change(n: int, new: str, at: datetime, old: str) -> StatusChange:
    return StatusChange("salesforce", f"017{n}", "00Q1", "Status", at, at, new, old, "005REP")


def _decisions(engine: Engine) -> list[tuple[Any, ...]]:
    d = sales_decisions
    query = sa.select(d.c.decision, d.c.decided_at, d.c.rep_id, d.c.basis, d.c.raw_status)
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(query.order_by(d.c.decided_at))]


def test_an_acceptance_three_business_hours_after_qualifying_is_met_at_three_hours(
    migrated_engine: Engine,
) -> None:
    demo = _lead("meta", "m1", form_id="f1", custom_fields={"form_name": "Request a demo"})
    crm = _lead("salesforce", "00Q1", owner_id="005OWNER",
                custom_fields={"Status": "Working - Contacted"})  # fmt: skip
    accepted = _change(1, "Working - Contacted", T0 + 3 * H, "Open - Not Contacted")
    _load(migrated_engine, [demo, crm], [accepted])
    now = T0 + 48 * H
    resolve_and_classify(migrated_engine, rules=default_rules(), now=now, run_id="r1")
    assert _decisions(migrated_engine) == [
        ("accepted", T0 + 3 * H, "005REP", "history", "Working - Contacted")
    ]
    evaluate_warehouse(migrated_engine, SLA, "America/New_York", now, "r1")
    e = sla_evaluations
    with migrated_engine.connect() as conn:
        row = conn.execute(
            sa.select(e.c.status, e.c.event_at, e.c.business_minutes).where(
                e.c.rule == "accept_reject"
            )
        ).one()
    assert (row.status, row.event_at, row.business_minutes) == ("met", T0 + 3 * H, 180)


def test_a_later_change_replaces_the_decisions_and_a_rerun_keeps_them(
    migrated_engine: Engine,
) -> None:
    crm = _lead("salesforce", "00Q1", owner_id="005OWNER")
    _load(
        migrated_engine, [crm], [_change(1, "Working - Contacted", T0 + H, "Open - Not Contacted")]
    )
    rules = default_rules()
    resolve_and_classify(migrated_engine, rules=rules, now=T0 + 10 * H, run_id="r1")
    rejected = _change(2, "Closed - Not Converted", T0 + 5 * H, "Working - Contacted")
    _load(migrated_engine, [], [rejected], now=T0 + 10.5 * H)  # found by the incremental run
    resolve_and_classify(migrated_engine, rules=rules, now=T0 + 11 * H, run_id="r2")
    expected = [
        ("accepted", T0 + H, "005REP", "history", "Working - Contacted"),
        ("rejected", T0 + 5 * H, "005REP", "history", "Closed - Not Converted"),
    ]
    assert _decisions(migrated_engine) == expected
    resolve_and_classify(migrated_engine, rules=rules, now=T0 + 12 * H, run_id="r3", full=True)
    assert _decisions(migrated_engine) == expected
