"""Erase a requester from the warehouse (a GDPR/CCPA deletion request), and keep them out.

``plan_erasure`` finds the requester's leads and identifiers
(``leadflow.models.privacy.requester``: what counts as theirs, and what is only *linked*) and
counts what would go, table by table; ``apply_erasure`` deletes it and records salted hashes
of the requester's identifiers in ``suppression_list``, so later syncs skip them
(``leadflow.models.privacy.suppression.drop_suppressed``). ``forget`` does both. Everything
runs in the caller's transaction and reports counts only: nothing personal is printed, logged
or raised.

Decisions:
- Other people's rows stay, even when identity resolution put them in the requester's person
  (a shared phone): their leads, and that person's row, touches, events, stage transitions
  and SLA evaluations. A person left with only the requester's leads goes entirely.
- A person that keeps other people's leads gets its profile columns (email, match key,
  phone, names, company, title, place; ``person_profile``'s groups) recomputed from the
  leads it keeps, in one UPDATE with correlated subqueries, and ``email_hash`` re-hashed:
  the requester's details leave the profile now, without waiting for the next sync. Its
  classification (stage, scores) is left to the next sync's classification.
- Suppressed: the requester's email match keys, their exclusive phones and the
  ``source:lead id`` of their leads; never a shared phone nor another person's address.
- A match that reaches other email addresses is refused (``Erasure.refused``) unless
  ``include_linked``: nothing is written, and the count of those addresses is reported.
- An erasure that finds nothing still records the email's hash: the person is kept out of
  future syncs all the same.
- ``sla_results`` are aggregates without people in them; they are left to the next SLA run.
- The ``writebacks`` ledger rows of a person that goes are removed; what leadflow wrote to
  the CRM (a task, properties) is the CRM's data, erased there.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from leadflow.models.privacy import erasure_scan
from leadflow.models.privacy.requester import (
    EXCLUSIVE_PHONE,
    GIVEN_EMAIL,
    LINKED_EMAIL,
    PERSON_ONLY,
    Requester,
    any_of,
    find_requester,
    lead_match,
)
from leadflow.models.privacy.suppression import (
    identifier_hash,
    lead_key,
    refresh_email_hashes,
    salt_id,
)
from leadflow.models.records.encoding import require_aware
from leadflow.models.records.leads import PROFILE_GROUPS
from leadflow.models.warehouse.activity_tables import (
    crm_status_changes,
    engagement_events,
    sales_touches,
)
from leadflow.models.warehouse.lead_tables import leads
from leadflow.models.warehouse.people_tables import (
    email_people,
    lead_people,
    people,
    person_merges,
    stage_transitions,
)
from leadflow.models.warehouse.person_links import LEAD_PERSON, leads_with_people
from leadflow.models.warehouse.privacy_tables import suppression_list
from leadflow.models.warehouse.sla_tables import sla_evaluations
from leadflow.models.warehouse.writeback_tables import writebacks


@dataclass
class Erasure:
    """What ``forget`` matched and removed (or would remove): counts only, no personal data."""

    request_id: str
    matched: list[tuple[str, str]] = field(default_factory=list)
    removed: dict[str, int] = field(default_factory=dict)
    redacted: dict[str, int] = field(default_factory=dict)
    profiles_recomputed: int = 0
    suppressed: int = 0
    other_addresses: int = 0
    include_linked: bool = False
    applied: bool = False

    @property
    def refused(self) -> bool:
        """The match reaches other people's addresses and ``include_linked`` was not given."""
        return self.other_addresses > 0 and not self.include_linked

    def plan_lines(self) -> list[str]:
        """What matched, by kind of identifier (counts only)."""
        return [f"  {kind:<44} {what}" for kind, what in self.matched]

    def lines(self) -> list[str]:
        """One line per table, then the suppression count (numbers only, no personal data)."""
        verb, added = ("removed", "added") if self.applied else ("to remove", "to add")
        found = [f"{table:<18} {count:>6} rows {verb}" for table, count in self.removed.items()]
        found += [
            f"{sink:<18} {count:>6} rows {'rewritten' if self.applied else 'to rewrite'}"
            for sink, count in self.redacted.items()
            if count
        ]
        if self.profiles_recomputed:
            found.append(
                f"{'people':<18} {self.profiles_recomputed:>6} profiles "
                f"{'recomputed' if self.applied else 'to recompute'} (other people's leads stay)"
            )
        return [*found, f"suppression_list   {self.suppressed:>6} identifiers {added}"]


@dataclass
class ErasurePlan:
    """The requester, what goes and what stays; ``apply_erasure`` carries it out."""

    erasure: Erasure
    requester: Requester
    gone_people: set[str]
    kept_people: set[str]
    hashes: dict[str, str]
    scan: erasure_scan.TextScan


def forget(
    conn: Connection,
    *,
    salt: str,
    now: datetime,
    email: str | None = None,
    person_id: str | None = None,
    region: str | None = None,
    include_linked: bool = False,
) -> Erasure:
    """Erase the requester given by ``email`` or ``person_id`` and suppress them; a refused
    match (other addresses reached without ``include_linked``) writes nothing."""
    plan = plan_erasure(
        conn,
        salt=salt,
        email=email,
        person_id=person_id,
        region=region,
        include_linked=include_linked,
    )
    return plan.erasure if plan.erasure.refused else apply_erasure(conn, plan, salt, now)


def plan_erasure(
    conn: Connection,
    *,
    salt: str,
    email: str | None = None,
    person_id: str | None = None,
    region: str | None = None,
    include_linked: bool = False,
) -> ErasurePlan:
    """Find the requester and count what ``apply_erasure`` would remove; writes nothing."""
    requester = find_requester(
        conn, email=email, person_id=person_id, include_linked=include_linked
    )
    keys = list(requester.leads)
    keeping = (
        sa.select(LEAD_PERSON)
        .select_from(leads_with_people())
        .where(
            any_of(LEAD_PERSON, requester.person_ids),
            ~lead_match(leads.c.source, leads.c.source_lead_id, keys),
        )
    )
    kept_people = set(conn.scalars(keeping.distinct()))
    gone_people = requester.person_ids - kept_people
    hashes = {identifier_hash("email", key, salt): "email" for key in requester.emails}
    hashes |= {identifier_hash("phone", p, salt): "phone" for p in requester.phones}
    hashes |= {identifier_hash("lead", lead_key(*k), salt): "lead" for k in keys}
    existing = set(
        conn.scalars(
            sa.select(suppression_list.c.key_hash).where(
                suppression_list.c.key_hash.in_(list(hashes))
            )
        )
    )
    hashes = {h: kind for h, kind in hashes.items() if h not in existing}
    scan = erasure_scan.scan(conn, requester, region)
    erasure = Erasure(
        request_id=str(uuid.uuid4()),
        matched=_matched(requester),
        removed={
            table.name: conn.scalar(sa.select(sa.func.count()).select_from(table).where(where))
            for table, where in _deletes(requester, gone_people)
        },
        redacted=erasure_scan.counts(scan),
        profiles_recomputed=len(kept_people),
        suppressed=len(hashes),
        other_addresses=len(requester.linked),
        include_linked=include_linked,
    )
    erasure.removed["quarantine"] = erasure.redacted.pop("quarantine")
    erasure.removed["intake_inbox"] = erasure.redacted.pop("intake_inbox")
    return ErasurePlan(erasure, requester, gone_people, kept_people, hashes, scan)


def apply_erasure(conn: Connection, plan: ErasurePlan, salt: str, now: datetime) -> Erasure:
    """Delete what ``plan`` found, recompute the kept people's profiles, suppress the
    requester; raises ValueError for a refused plan."""
    require_aware(now=now)
    erasure = plan.erasure
    if erasure.refused:
        raise ValueError(
            f"the match reaches {erasure.other_addresses} other email address(es): "
            "nothing was removed (include_linked erases them too)"
        )
    erasure.removed = {
        table.name: conn.execute(table.delete().where(where)).rowcount
        for table, where in _deletes(plan.requester, plan.gone_people)
    }
    written = erasure_scan.apply(conn, plan.scan)
    erasure.removed["quarantine"] = written.pop("quarantine")
    erasure.removed["intake_inbox"] = written.pop("intake_inbox")
    erasure.redacted = written
    erasure.profiles_recomputed = _recompute_profiles(conn, plan.kept_people, salt, now)
    erasure.suppressed = _suppress(conn, plan.hashes, salt, erasure.request_id, now)
    erasure.applied = True
    return erasure


def _matched(requester: Requester) -> list[tuple[str, str]]:
    """What matched, by kind of identifier: counts only."""
    leads_by = requester.lead_count
    linked = len(requester.emails - requester.given_emails)
    own = "the one given" if requester.by == "email" else "the person's own"
    rows = [(f"email ({own})", _n(leads_by(GIVEN_EMAIL), "lead"))]
    if linked:
        kind = f"linked email addresses ({linked}, --include-linked)"
        rows.append((kind, _n(leads_by(LINKED_EMAIL), "lead")))
    rows.append(("phone only on the requester's leads", _n(len(requester.phones), "phone")))
    rows.append(("no email, the requester's phone", _n(leads_by(EXCLUSIVE_PHONE), "lead")))
    if requester.by == "person":
        rows.append(("person id only (no email, no phone)", _n(leads_by(PERSON_ONLY), "lead")))
    shared = _n(len(requester.shared_phones), "phone")
    rows.append(("phone shared with other people (kept)", shared))
    if requester.linked:
        rows.append(("other email addresses reached", f"{len(requester.linked)} (not included)"))
    return rows


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _deletes(requester: Requester, gone: set[str]) -> list[tuple[sa.Table, sa.ColumnElement]]:
    """Each table and the requester's rows in it, children first."""
    keys, emails = list(requester.leads), requester.emails
    hubspot = {f"hubspot:{lead}" for source, lead in keys if source == "hubspot"}
    return [
        (writebacks, any_of(writebacks.c.person_id, gone)),
        (sla_evaluations, any_of(sla_evaluations.c.person_id, gone)),
        (stage_transitions, any_of(stage_transitions.c.person_id, gone)),
        (
            engagement_events,
            engagement_events.c.email_match_key.in_(
                sa.select(email_people.c.email_match_key).where(
                    any_of(email_people.c.person_id, gone)
                )
            )
            | any_of(engagement_events.c.email_match_key, emails),
        ),
        (
            sales_touches,
            any_of(sales_touches.c.person_id, gone)
            | lead_match(sales_touches.c.source, sales_touches.c.lead_id, keys),
        ),
        (
            crm_status_changes,
            lead_match(crm_status_changes.c.source, crm_status_changes.c.lead_id, keys),
        ),
        (
            person_merges,
            any_of(person_merges.c.from_person, gone)
            | any_of(person_merges.c.into_person, gone)
            | any_of(person_merges.c.bridging_key, emails | requester.phones | hubspot),
        ),
        (
            email_people,
            any_of(email_people.c.person_id, gone) | any_of(email_people.c.email_match_key, emails),
        ),
        (
            lead_people,
            any_of(lead_people.c.person_id, gone)
            | lead_match(lead_people.c.source, lead_people.c.source_lead_id, keys),
        ),
        (leads, lead_match(leads.c.source, leads.c.source_lead_id, keys)),
        (people, any_of(people.c.person_id, gone)),
    ]


def _recompute_profiles(conn: Connection, person_ids: set[str], salt: str, now: datetime) -> int:
    """Rebuild the profile columns of people who keep other leads, from those leads (each
    group from the most recently updated lead having any of it, as ``person_profile``)."""
    if not person_ids:
        return 0
    lead, link = leads.alias("kept_lead"), lead_people.alias("kept_link")
    on = sa.and_(link.c.source == lead.c.source, link.c.source_lead_id == lead.c.source_lead_id)
    kept = lead.join(link, on)
    values: dict[str, object] = {"updated_at": now}
    for group in PROFILE_GROUPS:
        has_any = sa.or_(*(sa.and_(lead.c[f].is_not(None), lead.c[f] != "") for f in group))
        for column in group:
            values[column] = (
                sa.select(lead.c[column])
                .select_from(kept)
                .where(link.c.person_id == people.c.person_id, has_any)
                .order_by(
                    lead.c.updated_at.desc(), lead.c.source.desc(), lead.c.source_lead_id.desc()
                )
                .limit(1)
                .scalar_subquery()
            )
    chosen = any_of(people.c.person_id, person_ids)
    changed = conn.execute(people.update().where(chosen).values(values)).rowcount
    refresh_email_hashes(conn, salt, person_ids)
    return changed


def _suppress(
    conn: Connection, hashes: dict[str, str], salt: str, request: str, now: datetime
) -> int:
    rows = [
        {"key_hash": h, "kind": kind, "salt_id": salt_id(salt), "request_id": request}
        | {"suppressed_at": now}
        for h, kind in sorted(hashes.items())
    ]
    if rows:
        conn.execute(suppression_list.insert(), rows)
    return len(rows)
