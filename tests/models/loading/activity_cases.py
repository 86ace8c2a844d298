"""What the activity loading tests share: records of each stream, and loading and reading
them back (``test_activity``, ``test_activity_state``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from leadflow.models.loading.activity import (
    STREAMS,
    load_stream,
)
from leadflow.models.loading.leads import LoadCounts
from leadflow.models.records.activity import EngagementEvent, SalesRep, SalesTouch, StatusChange
from leadflow.models.records.leads import Rejected
from leadflow.models.warehouse.tables import (
    crm_status_changes,
    engagement_events,
    sales_reps,
    sales_touches,
)

T0 = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
SOURCE, ACCOUNT = "hubspot", "portal_1"
TABLES = {
    "engagement_events": engagement_events,
    "sales_touches": sales_touches,
    "sales_reps": sales_reps,
    "crm_status_changes": crm_status_changes,
}


def event(event_id: str = "e1", **overrides: Any) -> EngagementEvent:
    values: dict[str, Any] = {
        "source": SOURCE,
        "event_id": event_id,
        "account_id": ACCOUNT,
        "event_type": "open",
        "occurred_at": T0,
        "email": "ada@example.com",
        "email_match_key": "ada@example.com",
        "campaign_id": "email_1",
        "detail": {"browser": "firefox"},
        "raw": {"id": event_id},
    }
    return EngagementEvent(**(values | overrides))


def touch(touch_id: str = "t1", lead_id: str = "L1", **overrides: Any) -> SalesTouch:
    values: dict[str, Any] = {
        "source": SOURCE,
        "touch_id": touch_id,
        "lead_id": lead_id,
        "touch_type": "call",
        "occurred_at": T0,
        "updated_at": T0,
        "owner_id": "rep_1",
        "direction": "OUTBOUND",
        "outcome": "connected",
        "raw": {"id": touch_id},
    }
    return SalesTouch(**(values | overrides))


def rep(rep_id: str = "rep_1", **overrides: Any) -> SalesRep:
    values: dict[str, Any] = {
        "source": SOURCE,
        "rep_id": rep_id,
        "updated_at": T0,
        "email": f"{rep_id}@example.com",
        "first_name": "Grace",
        "last_name": "Hopper",
        "team": "EMEA",
        "raw": {"id": rep_id},
    }
    return SalesRep(**(values | overrides))


def status_change(change_id: str = "017A", **overrides: Any) -> StatusChange:
    values: dict[str, Any] = {
        "source": SOURCE,
        "change_id": change_id,
        "lead_id": "L1",
        "field": "hs_lead_status",
        "occurred_at": T0,
        "updated_at": T0,
        "new_value": "CONNECTED",
        "old_value": "NEW",
        "changed_by": "rep_1",
        "raw": {"id": change_id},
    }
    return StatusChange(**(values | overrides))


MAKERS = {"engagement_events": event, "sales_touches": touch, "sales_reps": rep,
          "crm_status_changes": status_change}  # fmt: skip
# A content change per stream, for "updated" counts.
CHANGES: dict[str, dict[str, Any]] = {
    "engagement_events": {"detail": {"browser": "safari"}},
    "sales_touches": {"outcome": "no answer", "updated_at": T0 + timedelta(hours=1)},
    "sales_reps": {"team": "AMER", "updated_at": T0 + timedelta(hours=1)},
    "crm_status_changes": {"reason": "no budget", "updated_at": T0 + timedelta(hours=1)},
}
ALL_STREAMS = pytest.mark.parametrize("stream", sorted(STREAMS))


def load(
    engine: Engine,
    stream: str,
    rows: Sequence[Any],
    rejected: Sequence[Rejected] = (),
    *,
    watermark: datetime | None = None,
    state_key: str | None = None,
    now: datetime = T0,
) -> LoadCounts:
    with engine.begin() as conn:
        return load_stream(
            conn,
            stream=stream,
            source=SOURCE,
            account_id=ACCOUNT,
            rows=rows,
            rejected=rejected,
            watermark=watermark,
            state_key=state_key or f"{stream}:{ACCOUNT}",
            now=now,
        )


def stored(engine: Engine, stream: str) -> dict[tuple[str, ...], dict[str, Any]]:
    table = TABLES[stream]
    key = STREAMS[stream].key
    with engine.connect() as conn:
        rows = conn.execute(sa.select(table)).mappings()
        return {tuple(row[name] for name in key[1:]): dict(row) for row in rows}


def numbered(stream: str, n: int, **overrides: Any) -> Any:
    return MAKERS[stream](f"id{n}", **overrides)


def reject(key: str | None, reason: str = "missing occurred_at") -> Rejected:
    return Rejected(SOURCE, ACCOUNT, key, "occurred_at", reason, {"id": key})
