"""The activity streams leadflow loads, as values: each stream's table, record type, natural
key and JSON fields.

Its own module so that the loader (``leadflow.models.loading.activity``) and the
set-based writers (``leadflow.models.loading.activity_writers``) both read the specs without
importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import sqlalchemy as sa

from leadflow.models.records.activity import EngagementEvent, SalesRep, SalesTouch, StatusChange
from leadflow.models.warehouse.tables import (
    crm_status_changes,
    engagement_events,
    sales_reps,
    sales_touches,
)

ActivityRecord = EngagementEvent | SalesTouch | SalesRep | StatusChange


@dataclass(frozen=True, slots=True)
class StreamSpec:
    """How one activity stream maps onto its table."""

    name: str
    table: sa.Table
    record_type: type[EngagementEvent] | type[SalesTouch] | type[SalesRep] | type[StatusChange]
    key: tuple[str, ...]  # natural key, starting with "source"
    json_fields: tuple[str, ...]

    @property
    def columns(self) -> tuple[str, ...]:
        """The record's fields, which are also its table's content columns."""
        return tuple(f.name for f in fields(self.record_type))

    @property
    def timestamps(self) -> tuple[str, ...]:
        return tuple(n for n in self.columns if n in ("occurred_at", "updated_at"))

    @property
    def update_columns(self) -> tuple[str, ...]:
        # On update, first_loaded_at and identity resolution's person_id are left alone.
        content = (n for n in self.columns if n not in self.key)
        return (*content, "row_hash", "last_changed_at")


STREAMS: dict[str, StreamSpec] = {
    spec.name: spec
    for spec in (
        StreamSpec(
            "engagement_events",
            engagement_events,
            EngagementEvent,
            ("source", "event_id"),
            ("detail", "raw"),
        ),
        StreamSpec(
            "sales_touches",
            sales_touches,
            SalesTouch,
            ("source", "touch_id", "lead_id"),
            ("raw",),
        ),
        StreamSpec("sales_reps", sales_reps, SalesRep, ("source", "rep_id"), ("raw",)),
        StreamSpec(
            "crm_status_changes",
            crm_status_changes,
            StatusChange,
            ("source", "change_id"),
            ("raw",),
        ),
    )
}


def stream_spec(stream: str) -> StreamSpec:
    """The spec of ``stream``; ValueError for a stream leadflow does not know."""
    try:
        return STREAMS[stream]
    except KeyError:
        known = ", ".join(sorted(STREAMS))
        raise ValueError(f"unknown stream {stream!r} (known: {known})") from None
