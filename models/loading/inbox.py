"""The intake inbox's reads and writes, and the load of a webhook's leads.

``receive`` stores notifications (one statement, ON CONFLICT DO NOTHING: a platform's retry
of the same lead is a no-op) in the caller's transaction, which commits before the 2xx.
``due`` lists the rows to process; ``mark_loaded``, ``mark_retry`` and ``mark_failed`` record
what became of them, set-based, on SQLite and PostgreSQL alike; ``prune_bodies`` drops the
personal data of a loaded row's body (Google's webhook carries the answers themselves).

``load_leads`` writes leads through ``leads.write_new_and_changed``, as ``load_batch`` does
(same natural key, same hash: a lead the nightly poll reads again is unchanged, not a
duplicate), but leaves the sync state alone: a webhook moves no poll's watermark and clears
no resume cursor.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from leadflow.models.loading.leads import (
    LoadCounts,
    clear_quarantine,
    quarantine_records,
    write_new_and_changed,
)
from leadflow.models.records.encoding import require_aware
from leadflow.models.records.leads import Lead, Rejected
from leadflow.models.records.masking import mask_personal
from leadflow.models.warehouse.bulk import insert_rows, update_rows
from leadflow.models.warehouse.reads import one_of
from leadflow.models.warehouse.tables import intake_inbox

INBOX_KEY = ("platform", "notification_id")
PENDING, LOADED, FAILED = "pending", "loaded", "failed"
_RECEIVED = ("platform", "notification_id", "account_id", "body", "received_at", "status")
MAX_ERROR = 300


@dataclass(frozen=True, slots=True)
class Notification:
    """One notification of one lead, as the inbox stores it."""

    platform: str
    notification_id: str
    account_id: str | None
    body: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class InboxRow:
    """A stored notification to process."""

    platform: str
    notification_id: str
    account_id: str | None
    body: dict[str, Any]
    received_at: datetime
    attempts: int


def receive(conn: Connection, notifications: Sequence[Notification], now: datetime) -> int:
    """Store ``notifications`` as pending (received ``now``); a key already stored is left
    as it is. Returns how many rows were new. In the caller's transaction."""
    require_aware(now=now)
    unique = {(n.platform, n.notification_id): n for n in notifications}
    rows = [
        (n.platform, n.notification_id, n.account_id, dict(n.body), now, PENDING)
        for n in unique.values()
    ]
    return insert_rows(conn, intake_inbox, _RECEIVED, rows, key=INBOX_KEY)


def due(
    conn: Connection, now: datetime, *, limit: int = 500, platform: str | None = None
) -> list[InboxRow]:
    """Pending rows whose retry time has come, oldest first."""
    t = intake_inbox.c
    query = sa.select(
        t.platform, t.notification_id, t.account_id, t.body, t.received_at, t.attempts
    ).where(t.status == PENDING, sa.or_(t.next_attempt_at.is_(None), t.next_attempt_at <= now))
    if platform is not None:
        query = query.where(t.platform == platform)
    query = query.order_by(t.received_at, t.platform, t.notification_id).limit(limit)
    return [InboxRow(*row) for row in conn.execute(query)]


def _keyed(conn: Connection, platform: str, ids: Sequence[str]) -> sa.ColumnElement[bool]:
    t = intake_inbox.c
    return sa.and_(t.platform == platform, one_of(conn, t.notification_id, list(ids)))


def mark_loaded(conn: Connection, platform: str, ids: Sequence[str], now: datetime) -> None:
    """The rows' leads are in ``leads`` (or quarantined): done."""
    if ids:
        values = {"status": LOADED, "processed_at": now, "last_error": None}
        conn.execute(sa.update(intake_inbox).where(_keyed(conn, platform, ids)).values(values))


def prune_bodies(conn: Connection, platform: str, bodies: Mapping[str, Mapping[str, Any]]) -> None:
    """Replace the stored bodies of loaded rows (``{notification_id: body}``): the lead's
    answers then live in ``leads`` and ``quarantine`` only, where erasure finds them."""
    rows = [(platform, key, dict(body)) for key, body in sorted(bodies.items())]
    update_rows(conn, intake_inbox, INBOX_KEY, ("body",), rows)


def retry_delay(attempts: int, base_seconds: float, max_seconds: float) -> timedelta:
    """How long to wait after the ``attempts``-th failure: doubling, capped."""
    return timedelta(seconds=min(base_seconds * 2 ** max(attempts - 1, 0), max_seconds))


def mark_retry(
    conn: Connection,
    platform: str,
    failures: Mapping[str, str],
    now: datetime,
    *,
    max_attempts: int,
    base_seconds: float = 5.0,
    max_seconds: float = 3600.0,
) -> None:
    """Count a failed attempt for each ``{notification_id: why}``: the row stays pending,
    due again after a doubling delay, or is failed once ``max_attempts`` were spent. The
    reason is masked and cut short (it names the step, never a value)."""
    t = intake_inbox.c
    by_reason: dict[str, list[str]] = {}
    for key, why in failures.items():
        by_reason.setdefault(mask_personal(why)[:MAX_ERROR], []).append(key)
    for why, ids in sorted(by_reason.items()):
        rows = conn.execute(
            sa.select(t.notification_id, t.attempts).where(_keyed(conn, platform, ids))
        ).all()
        by_next: dict[tuple[str, datetime | None], list[str]] = {}
        for key, attempts in rows:
            spent = attempts + 1
            gone = spent >= max_attempts
            when = None if gone else now + retry_delay(spent, base_seconds, max_seconds)
            by_next.setdefault((FAILED if gone else PENDING, when), []).append(key)
        for (status, when), keys in sorted(by_next.items(), key=lambda item: item[0][0]):
            values: dict[str, Any] = {
                "status": status,
                "attempts": t.attempts + 1,
                "last_error": why,
                "next_attempt_at": when,
                "processed_at": now if status == FAILED else None,
            }
            conn.execute(sa.update(intake_inbox).where(_keyed(conn, platform, keys)).values(values))


def mark_failed(
    conn: Connection, platform: str, failures: Mapping[str, str], now: datetime
) -> None:
    """Give up on rows that can never load (a notification leadflow cannot read)."""
    mark_retry(conn, platform, failures, now, max_attempts=1)


def inbox_counts(conn: Connection) -> dict[str, int]:
    """How many rows each status holds."""
    t = intake_inbox.c
    rows = conn.execute(sa.select(t.status, sa.func.count()).group_by(t.status))
    return {status: count for status, count in rows}


def load_leads(
    conn: Connection,
    source: str,
    leads: Sequence[Lead],
    rejected: Sequence[Rejected],
    now: datetime,
) -> LoadCounts:
    """Upsert ``leads`` of one source (any accounts) and quarantine ``rejected``, as
    ``load_batch`` does, without touching the sync state. In the caller's transaction."""
    require_aware(now=now)
    latest, counts = write_new_and_changed(conn, source, leads, now)
    for account_id, keys in _by_account(latest).items():
        clear_quarantine(conn, source, account_id, keys)
    quarantine_records(conn, rejected, now)
    return LoadCounts(counts.inserted, counts.updated, counts.unchanged, len(rejected))


def _by_account(leads: Iterable[Lead]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for lead in leads:
        found.setdefault(lead.account_id, []).append(lead.source_lead_id)
    return found
