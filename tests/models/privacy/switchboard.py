"""A warehouse where one company switchboard number joins four people into one person.

Ann (the requester) has two leads with her email (one with the switchboard, one with her
mobile) and one lead with only her mobile; Bo, Cy and Di each have leads with their own
email and the switchboard. Loaded through the real load path and resolved by the real
identity pass, so they are one person, as in the issue (#18). Sync runs and quarantine
rows hold Ann's email and mobile in free text, as older runs wrote them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from leadflow.models.loading.activity import load_stream
from leadflow.models.loading.leads import load_batch
from leadflow.models.people.rules import default_rules
from leadflow.models.records.activity import EngagementEvent, SalesTouch
from leadflow.models.records.leads import Lead
from leadflow.models.warehouse.tables import email_people, lead_people, quarantine, sync_runs
from leadflow.pipeline.people import resolve_and_classify
from tests.pipeline.test_people import lead as people_lead

SALT = "switchboard-salt-0123456789"
T0 = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
NOW = T0 + timedelta(days=1)
ANN = "ann@acmecorp.com"
ANN_MOBILE = "+14155550111"
SWITCHBOARD = "+14155550100"
COLLEAGUES = ("bo@acmecorp.com", "cy@acmecorp.com", "di@acmecorp.com")
# Ann's data as it may appear in free text: the needles no table may hold after forget.
ANN_NEEDLES = [ANN, ANN_MOBILE, "4155550111", "555-0111"]
ANN_LEADS = {("hubspot", "a1"), ("meta", "a2"), ("meta", "a3")}
COLLEAGUE_LEADS = {("hubspot", "b1"), ("linkedin", "b2"), ("meta", "c1"), ("linkedin", "d1")}


def lead(
    source: str, lead_id: str, email: str | None = None, phone: str | None = None, **kw: Any
) -> Lead:
    """A lead as ``tests.pipeline.test_people.lead`` builds it, with the email and phone in
    its raw payload too (erasure scans raw payloads)."""
    raw = {"id": lead_id, "email": email, "phone": phone}
    return people_lead(source, lead_id, email, phone, **({"raw": raw} | kw))


def all_leads() -> list[Lead]:
    later = T0 + timedelta(hours=1)
    return [
        lead("hubspot", "a1", "Ann@Acmecorp.com", "(415) 555-0100", first_name="Ann"),
        lead("meta", "a2", "ann@acmecorp.com", "415-555-0111", updated_at=later, company="Ann Co"),
        lead("meta", "a3", None, "+1 415 555 0111", first_name="Annie", updated_at=later),
        lead("hubspot", "b1", "bo@acmecorp.com", "415 555 0100", first_name="Bo"),
        lead("linkedin", "b2", "bo@acmecorp.com", None, company="Acme"),
        lead("meta", "c1", "cy@acmecorp.com", "+14155550100", first_name="Cy"),
        lead("linkedin", "d1", "di@acmecorp.com", "4155550100"),
    ]


def load(engine: Engine, batch: list[Lead]) -> None:
    by_source: dict[str, list[Lead]] = {}
    for item in batch:
        by_source.setdefault(item.source, []).append(item)
    with engine.begin() as conn:
        for source, found in sorted(by_source.items()):
            load_batch(
                conn,
                source=source,
                account_id=f"{source}_acct",
                leads=found,
                rejected=[],
                watermark=None,
                cursor=None,
                now=T0,
            )


def resolve(engine: Engine, run_id: str = "r1") -> dict[str, Any]:
    return resolve_and_classify(
        engine, rules=default_rules(), now=NOW, run_id=run_id, hash_salt=SALT
    )


def build(engine: Engine) -> str:
    """Load and resolve the switchboard people; the one person id they resolve to."""
    load(engine, all_leads())
    events = [
        EngagementEvent(
            "mailchimp", f"e-{email}", "mc", "click", T0, email=email, email_match_key=email
        )
        for email in (ANN, "bo@acmecorp.com")
    ]
    touches = [SalesTouch("hubspot", f"t-{i}", i, "call", T0, T0) for i in ("a1", "b1")]
    with engine.begin() as conn:
        for stream, rows, source in (
            ("engagement_events", events, "mailchimp"),
            ("sales_touches", touches, "hubspot"),
        ):
            load_stream(
                conn, stream=stream, source=source, account_id="acct", rows=rows,
                rejected=[], watermark=None, state_key=stream, now=T0,
            )  # fmt: skip
        conn.execute(sa.insert(sync_runs), _runs())
        conn.execute(sa.insert(quarantine), _quarantined())
    resolve(engine)
    with engine.connect() as conn:
        (person,) = set(conn.scalars(sa.select(lead_people.c.person_id)))
    return person


def links(engine: Engine) -> tuple[dict[tuple[str, str], str], dict[str, str]]:
    """Identity's narrow rows: every ``lead_people`` row's person by (source, lead id) and
    every ``email_people`` row's person by email match key."""
    lp, ep = lead_people.c, email_people.c
    with engine.connect() as conn:
        rows = conn.execute(sa.select(lp.source, lp.source_lead_id, lp.person_id))
        by_lead = {(source, lead_id): person for source, lead_id, person in rows}
        by_email = dict(conn.execute(sa.select(ep.email_match_key, ep.person_id)).tuples().all())
    return by_lead, by_email


def _runs() -> list[dict[str, Any]]:
    base = {"source": "meta", "account_id": "meta_acct", "started_at": T0, "status": "failed"}
    return [
        base
        | {"run_id": "old-1", "error": "lead a2: duplicate key for Ann@Acmecorp.com"}
        | {"warnings": "count mismatch: 3 vs 4\nbad phone (415) 555-0111 on lead a3"},
        base | {"run_id": "old-2", "error": "timeout", "warnings": "bo@acmecorp.com bounced"},
    ]


def _quarantined() -> list[dict[str, Any]]:
    base = {"source": "csv", "account_id": "f", "field": "email", "first_seen_at": T0}
    base |= {"last_seen_at": T0}
    return [
        base | {"record_key": "q1", "reason": "bad", "raw": {"Email": "ANN@acmecorp.com"}},
        base | {"record_key": "q2", "reason": "dup of ann@acmecorp.com", "raw": {"x": "y"}},
        base | {"record_key": "q3", "reason": "bad", "raw": {"Phone": SWITCHBOARD}},
        base | {"record_key": "q4", "reason": "bad", "raw": {"Email": "bo@acmecorp.com"}},
    ]
