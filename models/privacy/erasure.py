"""Erase a person from the warehouse (a GDPR/CCPA deletion request), and keep them out.

``forget`` finds the person by email or person id, together with every lead that shares that email
match key, deletes their rows from every table that holds them, and records salted hashes of their
identifiers in ``suppression_list`` so later syncs skip them
(``leadflow.models.privacy.suppression.drop_suppressed``). It runs in the caller's transaction and
returns counts only: nothing personal is printed or logged.

Decisions:
- Identifiers suppressed: every email match key and ``source:lead id`` of the deleted
  leads, and their phones unless a phone is also on a lead that stays (a shared office
  line would otherwise erase colleagues' future leads too).
- An erasure that finds nothing still records the email's hash: the person is kept out of
  future syncs all the same.
- ``sla_results`` are aggregates without people in them; they are left to the next SLA run.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from leadflow.models.privacy import suppression as privacy
from leadflow.models.privacy.suppression import Suppression, identifier_hash, lead_key, salt_id
from leadflow.models.records.encoding import chunks, require_aware
from leadflow.models.warehouse.activity_tables import engagement_events, sales_touches
from leadflow.models.warehouse.lead_tables import leads, quarantine
from leadflow.models.warehouse.people_tables import people, person_merges, stage_transitions
from leadflow.models.warehouse.privacy_tables import suppression_list
from leadflow.models.warehouse.sla_tables import sla_evaluations


@dataclass
class Erasure:
    """What ``forget`` removed: rows per table, and identifiers added to the suppression list."""

    request_id: str
    removed: dict[str, int] = field(default_factory=dict)
    suppressed: int = 0

    def lines(self) -> list[str]:
        """One line per table, then the suppression count (numbers only, no personal data)."""
        found = [f"{table:<18} {count:>6} rows removed" for table, count in self.removed.items()]
        return [*found, f"suppression_list   {self.suppressed:>6} identifiers added"]


@dataclass
class _Target:
    person_ids: set[str]
    emails: set[str]
    phones: set[str]
    lead_keys: set[tuple[str, str]]


def forget(
    conn: Connection,
    *,
    salt: str,
    now: datetime,
    email: str | None = None,
    person_id: str | None = None,
    region: str | None = None,
) -> Erasure:
    """Delete the person with ``email`` or ``person_id`` everywhere, and suppress them."""
    require_aware(now=now)
    if (email is None) == (person_id is None):
        raise ValueError("give exactly one of email and person_id")
    target = _find(conn, email, person_id)
    phones_kept = _phones_on_other_leads(conn, target)
    erasure = Erasure(request_id=str(uuid.uuid4()))
    erasure.removed = _delete(conn, target, region)
    hashes = {identifier_hash("email", key, salt): "email" for key in target.emails}
    hashes |= {identifier_hash("phone", p, salt): "phone" for p in target.phones - phones_kept}
    hashes |= {identifier_hash("lead", lead_key(*k), salt): "lead" for k in target.lead_keys}
    erasure.suppressed = _suppress(conn, hashes, salt, erasure.request_id, now)
    return erasure


def _find(conn: Connection, email: str | None, person_id: str | None) -> _Target:
    email_key = privacy.email_key(email) if email is not None else None
    person_ids = {person_id} if person_id else set()
    if email_key:
        found = sa.select(people.c.person_id).where(people.c.email_match_key == email_key)
        person_ids |= set(conn.scalars(found))
        on_leads = sa.select(leads.c.person_id).where(
            leads.c.email_match_key == email_key, leads.c.person_id.is_not(None)
        )
        person_ids |= set(conn.scalars(on_leads))
    same_email = _any_of(leads.c.email_match_key, [email_key] if email_key else [])
    query = sa.select(
        leads.c.source, leads.c.source_lead_id, leads.c.email_match_key, leads.c.phone
    ).where(_any_of(leads.c.person_id, person_ids) | same_email)
    target = _Target(person_ids, {email_key} if email_key else set(), set(), set())
    for source, lead_id, key, phone in conn.execute(query):
        target.lead_keys.add((source, lead_id))
        target.emails |= {key} if key else set()
        target.phones |= {phone} if phone else set()
    profile = sa.select(people.c.email_match_key, people.c.phone).where(
        _any_of(people.c.person_id, person_ids)
    )
    for key, phone in conn.execute(profile):
        target.emails |= {key} if key else set()
        target.phones |= {phone} if phone else set()
    return target


def _any_of(column: sa.ColumnElement, values: Iterable[str]) -> sa.ColumnElement[bool]:
    values = list(values)
    return column.in_(values) if values else sa.false()


def _lead_match(
    source: sa.ColumnElement, lead_id: sa.ColumnElement, target: _Target
) -> sa.ColumnElement[bool]:
    pairs = [sa.and_(source == s, lead_id == i) for s, i in sorted(target.lead_keys)]
    return sa.or_(*pairs) if pairs else sa.false()


def _phones_on_other_leads(conn: Connection, target: _Target) -> set[str]:
    if not target.phones:
        return set()
    others = sa.select(leads.c.phone).where(
        _any_of(leads.c.phone, target.phones),
        ~_lead_match(leads.c.source, leads.c.source_lead_id, target),
    )
    return set(conn.scalars(others))


def _delete(conn: Connection, target: _Target, region: str | None) -> dict[str, int]:
    """Delete the target's rows, children first; rows deleted per table."""
    pids, emails = target.person_ids, target.emails
    merge_keys = (
        emails | target.phones | {f"hubspot:{i}" for s, i in target.lead_keys if s == "hubspot"}
    )
    deletes = [
        (sla_evaluations, _any_of(sla_evaluations.c.person_id, pids)),
        (stage_transitions, _any_of(stage_transitions.c.person_id, pids)),
        (
            engagement_events,
            _any_of(engagement_events.c.person_id, pids)
            | _any_of(engagement_events.c.email_match_key, emails),
        ),
        (
            sales_touches,
            _any_of(sales_touches.c.person_id, pids)
            | _lead_match(sales_touches.c.source, sales_touches.c.lead_id, target),
        ),
        (
            person_merges,
            _any_of(person_merges.c.from_person, pids)
            | _any_of(person_merges.c.into_person, pids)
            | _any_of(person_merges.c.bridging_key, merge_keys),
        ),
        (leads, _lead_match(leads.c.source, leads.c.source_lead_id, target)),
        (people, _any_of(people.c.person_id, pids)),
    ]
    removed = {
        table.name: conn.execute(table.delete().where(where)).rowcount for table, where in deletes
    }
    removed["quarantine"] = _delete_quarantined(conn, target, region)
    return removed


def _delete_quarantined(conn: Connection, target: _Target, region: str | None) -> int:
    """Quarantined records are raw payloads: scan them for the target's email or phone."""
    salt = "quarantine-scan"  # a throwaway in-memory list, never stored
    scan = Suppression(
        salt,
        frozenset(
            {identifier_hash("email", e, salt) for e in target.emails}
            | {identifier_hash("phone", p, salt) for p in target.phones}
        ),
    )
    query = sa.select(
        quarantine.c.id, quarantine.c.source, quarantine.c.record_key, quarantine.c.raw
    )
    doomed = [
        row_id
        for row_id, source, record_key, raw in conn.execute(query)
        if (source, record_key) in target.lead_keys or scan.matches_raw(raw, region)
    ]
    for part in chunks(doomed, 500):
        conn.execute(quarantine.delete().where(quarantine.c.id.in_(list(part))))
    return len(doomed)


def _suppress(
    conn: Connection, hashes: dict[str, str], salt: str, request: str, now: datetime
) -> int:
    existing = set(conn.scalars(sa.select(suppression_list.c.key_hash)))
    rows = [
        {"key_hash": h, "kind": kind, "salt_id": salt_id(salt), "request_id": request}
        | {"suppressed_at": now}
        for h, kind in sorted(hashes.items())
        if h not in existing
    ]
    if rows:
        conn.execute(suppression_list.insert(), rows)
    return len(rows)
