"""Idempotent loading of daily campaign spend into ``ad_spend_daily`` (and ``campaigns``).

Spend is stored exactly as integer micros (``spend_micros``, millionths of the currency
unit) with ``spend`` alongside for reading: PostgreSQL's NUMERIC is exact, but SQLite keeps
NUMERIC values as 8-byte floats, and summing floats is not exact to the cent. Sum
``spend_micros`` for totals on either backend.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from leadflow.models.loading.leads import (
    LoadCounts,
    clear_quarantine,
    quarantine_records,
    upsert_campaigns,
)
from leadflow.models.loading.state import save_sync_state
from leadflow.models.records.encoding import (
    chunks,
    plain_canonical_json,
    require_aware,
    sha256_text,
)
from leadflow.models.records.leads import Rejected
from leadflow.models.records.spend import CampaignDay
from leadflow.models.warehouse.engine import unprepared
from leadflow.models.warehouse.tables import ad_spend_daily
from leadflow.models.warehouse.upsert import upsert

MICROS_PER_UNIT = 1_000_000
SPEND_KEY = ("platform", "account_id", "campaign_id", "day")
SPEND_CONTENT = ("spend_micros", "currency", "impressions", "clicks")
# On update, first_loaded_at is left alone.
SPEND_UPDATE_COLUMNS = (*SPEND_CONTENT, "spend", "row_hash", "last_changed_at")


def spend_micros(spend: Decimal) -> int:
    """``spend`` in integer micros: Decimal("12.3") and Decimal("12.30") both give 12300000.

    Refuses amounts that are not finite or not a whole number of micros rather than
    rounding them: no platform reports finer than micros.
    """
    if not spend.is_finite():
        raise ValueError(f"spend {spend!r} is not a finite amount")
    micros = spend.scaleb(6)
    if micros != micros.to_integral_value():
        raise ValueError(f"spend {spend!r} is finer than a millionth of the currency unit")
    return int(micros)


def spend_row(day: CampaignDay) -> dict[str, Any]:
    """The ``ad_spend_daily`` columns for ``day``, with ``row_hash`` over its content.

    The hash covers the key and the figures (spend in micros, so equal amounts hash the
    same whatever their Decimal exponent), not the campaign name, which lives in
    ``campaigns``. Load timestamps are set by load_spend.
    """
    micros = spend_micros(day.spend)
    row: dict[str, Any] = {
        "platform": day.platform,
        "account_id": day.account_id,
        "campaign_id": day.campaign_id,
        "day": day.day,
        "spend_micros": micros,
        "currency": day.currency,
        "impressions": day.impressions,
        "clicks": day.clicks,
    }
    row["row_hash"] = sha256_text(plain_canonical_json(row | {"day": day.day.isoformat()}))
    row["spend"] = Decimal(micros).scaleb(-6)
    return row


def load_spend(
    conn: Connection,
    *,
    platform: str,
    account_id: str,
    rows: Sequence[CampaignDay],
    watermark: datetime | None,
    state_key: str,
    now: datetime,
    rejected: Sequence[Rejected] = (),
) -> LoadCounts:
    """Upsert one batch of campaign days of one ad account, quarantine its rejects and save
    its sync state.

    Days are deduplicated by natural key (the last one wins); only new or changed days are
    written. The campaigns they name are upserted into ``campaigns`` (a non-null name or
    currency replaces the stored one). ``rejected`` (rows that failed validation:
    ``leadflow.models.records.spend``) go to ``quarantine`` through the leads' path, and a
    day that loads clears its own quarantine row (key ``spend:<campaign_id>:<day>``). The
    watermark is saved under ``(platform, state_key)`` in ``sync_state``, all in the same
    (the caller's) transaction.
    """
    require_aware(now=now, watermark=watermark)
    batch = _last_by_key(rows, platform, account_id)
    fresh = [spend_row(day) for day in batch]
    stored = _stored_hashes(conn, platform, account_id, fresh)
    new = [row for row in fresh if (row["campaign_id"], row["day"]) not in stored]
    changed = [
        row
        for row in fresh
        if stored.get((row["campaign_id"], row["day"]), row["row_hash"]) != row["row_hash"]
    ]
    for row in (*new, *changed):
        row.update(first_loaded_at=now, last_changed_at=now)
    upsert(conn, ad_spend_daily, [*new, *changed], SPEND_KEY, SPEND_UPDATE_COLUMNS)
    seen = ((d.account_id, d.campaign_id, d.campaign_name, d.currency) for d in batch)
    upsert_campaigns(conn, platform, seen, now)
    clear_quarantine(conn, platform, account_id, [day.record_key for day in batch])
    quarantine_records(conn, rejected, now)
    save_sync_state(conn, platform, state_key, watermark, None, now)
    unchanged = len(fresh) - len(new) - len(changed)
    return LoadCounts(len(new), len(changed), unchanged, len(rejected))


def _last_by_key(rows: Iterable[CampaignDay], platform: str, account_id: str) -> list[CampaignDay]:
    last: dict[tuple[str, str, str, date], CampaignDay] = {}
    for day in rows:
        if (day.platform, day.account_id) != (platform, account_id):
            raise ValueError(
                f"campaign day {day.campaign_id} {day.day} is from {day.platform!r} account "
                f"{day.account_id!r}, not {platform!r} account {account_id!r}"
            )
        last.pop(day.natural_key, None)  # keep batch order: the last occurrence's place
        last[day.natural_key] = day
    return list(last.values())


def _stored_hashes(
    conn: Connection, platform: str, account_id: str, rows: Sequence[dict[str, Any]]
) -> dict[tuple[str, date], str]:
    """Stored row hashes by (campaign_id, day), for the batch's campaigns and day range."""
    if not rows:
        return {}
    table = ad_spend_daily
    days = [row["day"] for row in rows]
    campaign_ids = sorted({row["campaign_id"] for row in rows})
    stored: dict[tuple[str, date], str] = {}
    with unprepared(conn):
        for chunk in chunks(campaign_ids):
            query = sa.select(table.c.campaign_id, table.c.day, table.c.row_hash).where(
                table.c.platform == platform,
                table.c.account_id == account_id,
                table.c.campaign_id.in_(chunk),
                table.c.day.between(min(days), max(days)),
            )
            stored.update({(c, d): h for c, d, h in conn.execute(query)})
    return stored
