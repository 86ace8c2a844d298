"""What the writeback tests share: a seeded warehouse, the sandbox portal, the settings."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from leadflow.config.settings import Settings
from leadflow.config.writeback import WritebackSettings
from leadflow.connectors.hubspot.connector import HubSpotConfig
from leadflow.models.warehouse.tables import leads, people, sla_evaluations, writebacks
from leadflow.sandbox.data import hubspot_contacts
from leadflow.sandbox.hubspot.app import HubSpotSandbox
from tests.people_links import link_leads

PORTAL = "24681357"
NOW = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)
TOKEN = "sandbox-hubspot-token"


@contextmanager
def portal() -> Iterator[HubSpotSandbox]:
    """The HubSpot sandbox served over HTTP on 127.0.0.1, without rate limits."""
    with HubSpotSandbox.unthrottled(hubspot_contacts(6), token=TOKEN, portal_id=int(PORTAL)) as hs:
        yield hs


def settings(hs: HubSpotSandbox, warehouse_url: str, **writeback: Any) -> Settings:
    source = HubSpotConfig(
        base_url=hs.base_url,
        access_token=TOKEN,
        portal_id=PORTAL,
        backoff_seconds=0,
        max_attempts=3,
    )
    options = {"enabled": True} | writeback
    return Settings(
        warehouse_url=warehouse_url,
        sources={"hubspot": source},
        writeback=WritebackSettings(**options),
    )


def seed_people(engine: Engine, hs: HubSpotSandbox, count: int = 3) -> list[dict[str, Any]]:
    """``count`` people p1.., each with a HubSpot lead (a sandbox contact) owned by the
    first owner; returns their person id, contact id and owner id."""
    contact_ids = hs.contact_ids()[:count]
    owner = str(hs.owners[0]["id"])
    t0 = NOW - timedelta(days=2)
    seeded = []
    with engine.begin() as conn:
        for index, contact_id in enumerate(contact_ids, 1):
            pid = f"p{index}"
            conn.execute(
                people.insert().values(
                    person_id=pid,
                    created_at=t0,
                    updated_at=t0,
                    stage="qualified",
                    lifecycle="mql",
                    fit=40 + index,
                    engagement=12.5,
                    reasons=["form", "fit"],
                )
            )
            conn.execute(
                leads.insert().values(
                    source="hubspot",
                    source_lead_id=contact_id,
                    account_id=PORTAL,
                    created_at=t0,
                    updated_at=t0,
                    is_test=False,
                    custom_fields={},
                    raw={},
                    row_hash="x" * 64,
                    owner_id=owner,
                    first_loaded_at=t0,
                    last_changed_at=t0,
                    email=f"person{index}@example.com",
                )
            )
            link_leads(conn, [("hubspot", contact_id, pid)])
            seeded.append({"person_id": pid, "contact_id": contact_id, "owner_id": owner})
    return seeded


def evaluation(
    engine: Engine,
    person_id: str,
    status: str,
    *,
    rule: str = "first_touch",
    due_in_minutes: float = -30,
    rep_id: str | None = None,
) -> datetime:
    """Write (or rewrite) one evaluation; returns its clock start."""
    start = NOW - timedelta(hours=3)
    row = {
        "rule": rule, "person_id": person_id, "clock_start": start, "period_month": "2026-12",
        "period_week": "2026-W49", "due_at": NOW + timedelta(minutes=due_in_minutes),
        "status": status, "severity": "warning", "team": "unassigned", "run_id": "r1",
        "first_evaluated_at": NOW, "evaluated_at": NOW, "rep_id": rep_id,
        "rep_source": "hubspot" if rep_id else None,
    }  # fmt: skip
    with engine.begin() as conn:
        conn.execute(
            sla_evaluations.delete().where(
                sla_evaluations.c.rule == rule, sla_evaluations.c.person_id == person_id
            )
        )
        conn.execute(sla_evaluations.insert().values(**row))
    return start


def ledger(engine: Engine, kind: str = "task") -> list[dict[str, Any]]:
    with engine.connect() as conn:
        query = sa.select(writebacks).where(writebacks.c.kind == kind).order_by(writebacks.c.key)
        return [dict(row._mapping) for row in conn.execute(query)]


def writes(hs: HubSpotSandbox) -> list[tuple[str, str]]:
    """The write requests the sandbox received (method, path)."""
    return [(r.method, r.path) for r in hs.requests if r.method in ("POST", "PATCH", "PUT")]
