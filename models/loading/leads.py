"""Idempotent loading of leads, campaigns and quarantined records, with the sync state.

Every function takes an open Connection and runs inside the caller's transaction, so the rows of a
batch and the watermark that covers them commit (or roll back) together. The sync state itself is
kept by ``leadflow.models.loading.state``, the ``sync_runs`` rows by
``leadflow.models.loading.runs``. Ad spend loads in ``leadflow.models.loading.spend``; the shared
upsert and hashing helpers live in ``leadflow.models.warehouse.upsert``, a lead's encoding and hash
in ``leadflow.models.loading.lead_rows`` and the bulk lead writes in
``leadflow.models.loading.lead_writers`` (re-exported here for existing callers).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from leadflow.models.loading.lead_rows import LEAD_FIELDS as LEAD_FIELDS  # re-exported
from leadflow.models.loading.lead_rows import LEAD_JSON_FIELDS as LEAD_JSON_FIELDS  # re-exported
from leadflow.models.loading.lead_rows import encode_lead
from leadflow.models.loading.lead_rows import lead_row as lead_row  # re-exported
from leadflow.models.loading.lead_writers import LEAD_KEY as LEAD_KEY  # re-exported
from leadflow.models.loading.lead_writers import stored_hashes, write_leads
from leadflow.models.loading.state import save_sync_state
from leadflow.models.records.encoding import IN_CHUNK_SIZE as IN_CHUNK_SIZE  # re-exported
from leadflow.models.records.encoding import (
    chunks,
    json_safe,
    require_aware,
    sha256_hex,
    sha256_text,
)
from leadflow.models.records.leads import Lead, Rejected
from leadflow.models.records.masking import mask_personal
from leadflow.models.warehouse.tables import campaigns, quarantine
from leadflow.models.warehouse.upsert import UpdateValue, upsert

QUARANTINE_KEY = ("source", "account_id", "record_key")
CAMPAIGN_KEY = ("platform", "campaign_id")
# A non-null value replaces the stored one.
CAMPAIGN_ATTRIBUTES = ("account_id", "campaign_name", "currency")

# (account_id, campaign_id, campaign_name or None, currency or None)
CampaignRow = tuple[str | None, str, str | None, str | None]


@dataclass(frozen=True, slots=True)
class LoadCounts:
    """What one batch did: rows inserted, updated, received unchanged, and quarantined;
    records of erased people dropped before loading (``suppressed``, counted by the page
    loop) and rows superseded by a later row of the same key in the batch (``duplicates``).

    For a batch of leads, every record received is one of these:
    records = inserted + updated + unchanged + quarantined + suppressed + duplicates.
    """

    inserted: int
    updated: int
    unchanged: int
    quarantined: int
    suppressed: int = 0
    duplicates: int = 0


def load_batch(
    conn: Connection,
    *,
    source: str,
    account_id: str,
    leads: Sequence[Lead],
    rejected: Sequence[Rejected],
    watermark: datetime | None,
    cursor: Mapping[str, Any] | None,
    now: datetime,
    state_key: str | None = None,
) -> LoadCounts:
    """Upsert one batch of leads, quarantine its rejects and save the sync state.

    The watermark is saved under ``state_key`` (a partition of the account, such as one
    form of a Meta page), defaulting to ``account_id``.

    Leads are deduplicated by natural key (latest ``updated_at``, then last, wins: the
    others are counted as ``duplicates``); only
    new or changed leads are written, and the campaigns they name are upserted into
    ``campaigns`` (under the lead's source and account). Runs in the caller's transaction.
    """
    require_aware(now=now, watermark=watermark)
    latest, counts = write_new_and_changed(conn, source, leads, now)
    clear_quarantine(conn, source, account_id, [lead.source_lead_id for lead in latest])
    quarantine_records(conn, rejected, now)
    save_sync_state(conn, source, state_key or account_id, watermark, cursor, now)
    return LoadCounts(counts.inserted, counts.updated, counts.unchanged, len(rejected),
                      duplicates=len(leads) - len(latest))  # fmt: skip


def write_new_and_changed(
    conn: Connection, source: str, leads: Sequence[Lead], now: datetime
) -> tuple[list[Lead], LoadCounts]:
    """Write the leads of ``leads`` (deduplicated by natural key: ``latest_by_key``) that are
    new or whose hash changed, and upsert the campaigns they name; the deduplicated leads
    and the counts (nothing quarantined). Clears no quarantine and saves no sync state: the
    callers (``load_batch``, the intake's ``inbox.load_leads``) do what is theirs."""
    latest = latest_by_key(leads, source)
    rows = [encode_lead(lead) for lead in latest]
    ids = [lead.source_lead_id for lead in latest]
    stored = stored_hashes(conn, source, ids)
    hashes = [row[-1] for row in rows]
    new = [i for i, lead_id in enumerate(ids) if lead_id not in stored]
    changed = [i for i, lead_id in enumerate(ids) if stored.get(lead_id, hashes[i]) != hashes[i]]
    written = new + changed
    write_leads(conn, [rows[i] for i in written], now)
    # Unchanged leads' campaigns were upserted when they loaded (or by migration 0002).
    upsert_campaigns(conn, source, _lead_campaigns(latest[i] for i in written), now)
    unchanged = len(rows) - len(new) - len(changed)
    return latest, LoadCounts(len(new), len(changed), unchanged, 0)


def _lead_campaigns(batch: Iterable[Lead]) -> list[CampaignRow]:
    # Oldest first, so the most recently updated lead's campaign name wins. A lead's
    # account (a Meta page, a HubSpot portal) is not the campaign's ad account: leave it.
    named = (lead for lead in batch if lead.campaign_id is not None)
    return [
        (None, lead.campaign_id, lead.campaign_name, None)
        for lead in sorted(named, key=lambda lead: lead.updated_at)
    ]


def upsert_campaigns(
    conn: Connection, platform: str, rows: Iterable[CampaignRow], now: datetime
) -> None:
    """Upsert ``(account_id, campaign_id, campaign_name, currency)`` rows into ``campaigns``.

    A non-null name or currency replaces the stored one (later rows win); None leaves it.
    ``first_seen_at`` is kept; ``updated_at`` moves only when something changed, and
    campaigns without a change are not written at all. One statement, in the caller's
    transaction.
    """
    require_aware(now=now)
    merged: dict[str, dict[str, Any]] = {}
    for account_id, campaign_id, campaign_name, currency in rows:
        row = merged.setdefault(campaign_id, dict.fromkeys(CAMPAIGN_ATTRIBUTES))
        row.update(_not_none(account_id=account_id, campaign_name=campaign_name, currency=currency))
    values = [
        {"platform": platform, "campaign_id": campaign_id}
        | row
        | {"first_seen_at": now, "updated_at": now}
        for campaign_id, row in merged.items()
    ]
    updates = {name: _coalesce(name) for name in CAMPAIGN_ATTRIBUTES}
    updates["updated_at"] = lambda table, new: new.updated_at
    upsert(conn, campaigns, values, CAMPAIGN_KEY, (), computed=updates, where=_campaign_changed)


def _not_none(**values: Any) -> dict[str, Any]:
    return {name: value for name, value in values.items() if value is not None}


def _coalesce(name: str) -> UpdateValue:
    return lambda table, new: sa.func.coalesce(new[name], table.c[name])


def _campaign_changed(table: sa.Table, new: Any) -> sa.ColumnElement[bool]:
    # Only a non-null value that differs from the stored one is a change.
    names = CAMPAIGN_ATTRIBUTES
    return sa.or_(*(new[n].is_not(None) & new[n].is_distinct_from(table.c[n]) for n in names))


def latest_by_key(batch: Iterable[Lead], source: str) -> list[Lead]:
    """One lead per natural key: the latest ``updated_at``, ties going to the later one."""
    latest: dict[str, Lead] = {}
    for lead in batch:
        if lead.source != source:
            raise ValueError(
                f"lead {lead.source_lead_id!r} is from {lead.source!r}, not {source!r}"
            )
        seen = latest.get(lead.source_lead_id)
        if seen is None or lead.updated_at >= seen.updated_at:
            latest[lead.source_lead_id] = lead
    return list(latest.values())


def clear_quarantine(
    conn: Connection, source: str, account_id: str, record_keys: Sequence[str]
) -> None:
    """Delete the quarantine rows of records that have now loaded fine."""
    scope = (quarantine.c.source == source) & (quarantine.c.account_id == account_id)
    anything_quarantined = sa.select(sa.literal(1)).where(scope).limit(1)
    if not record_keys or conn.execute(anything_quarantined).first() is None:
        return
    for chunk in chunks(record_keys):
        conn.execute(sa.delete(quarantine).where(scope, quarantine.c.record_key.in_(chunk)))


MAX_QUARANTINE_KEY = 500


def quarantine_key(item: Rejected) -> str:
    """The record's platform key, else ``"sha256:"`` + the hash of its canonical JSON (or of
    a key too long to index)."""
    if item.record_key is None:
        return "sha256:" + sha256_hex(item.raw)
    if len(item.record_key) > MAX_QUARANTINE_KEY:
        return "sha256:" + sha256_text(item.record_key)
    return item.record_key


def quarantine_records(conn: Connection, rejected: Sequence[Rejected], now: datetime) -> None:
    """Upsert rejected records: first_seen_at kept, the rest refreshed, times_seen counted."""
    times = Counter((r.source, r.account_id, quarantine_key(r)) for r in rejected)
    rows = {(r.source, r.account_id, quarantine_key(r)): _quarantine_row(r, now) for r in rejected}
    for key, row in rows.items():
        row["times_seen"] = times[key]
    updates = ("field", "reason", "raw", "last_seen_at")
    computed = {"times_seen": lambda table, new: table.c.times_seen + new.times_seen}
    upsert(conn, quarantine, list(rows.values()), QUARANTINE_KEY, updates, computed=computed)


def _quarantine_row(item: Rejected, now: datetime) -> dict[str, Any]:
    return {
        "source": item.source,
        "account_id": item.account_id,
        "record_key": quarantine_key(item),
        "field": item.field_name,
        "reason": mask_personal(item.reason),  # the last line of defence: no email or phone
        "raw": json_safe(item.raw),
        "first_seen_at": now,
        "last_seen_at": now,
    }
