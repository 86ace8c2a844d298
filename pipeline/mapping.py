"""Raw platform records to rows, every failure kept: a record that cannot be mapped becomes
a ``Rejected`` naming the source, the record and the field, so nothing is dropped silently."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from leadflow.connectors.base import Connector, LeadContext
from leadflow.models.records.leads import (
    InvalidRecord,
    Lead,
    Rejected,
    check_created,
)
from leadflow.models.records.masking import mask_personal, shape_quoted


def map_records(
    to_rows: Callable[[Mapping[str, Any], LeadContext], list[Any]],
    record_key: Callable[[Mapping[str, Any]], str | None],
    records: Iterable[Mapping[str, Any]],
    context: LeadContext,
) -> tuple[list[Any], list[Rejected]]:
    """Map raw records to rows; a record that cannot be mapped becomes a Rejected naming
    the source, the record and the field, so nothing is dropped silently."""
    rows: list[Any] = []
    rejected: list[Rejected] = []
    for record in records:
        try:
            rows.extend(to_rows(record, context))
        except InvalidRecord as error:
            rejected.append(Rejected.from_error(error, context.account_id, record))
        except (KeyError, TypeError, AttributeError, ValueError) as error:
            key = _safe_key(record_key, record)
            problem = InvalidRecord(context.source, key, "<record>", malformed(error))
            rejected.append(Rejected.from_error(problem, context.account_id, record))
    return rows, rejected


def malformed(error: Exception) -> str:
    """The reason of a record that broke its mapper: the error's kind and message, with the
    values it quotes (a ValueError's) by their shape and no email or phone left in it."""
    text = mask_personal(str(error))
    if isinstance(error, ValueError):
        text = shape_quoted(text)
    return f"malformed: {type(error).__name__}: {text}"


def normalize_records(
    connector: Connector,
    records: Iterable[Mapping[str, Any]],
    context: LeadContext,
    *,
    now: datetime | None = None,
) -> tuple[list[Lead], list[Rejected]]:
    """Map raw records to Leads; a record that cannot be mapped becomes a Rejected, and so
    does a lead created out of range (before 2000, or more than a day after ``now``, the
    load time: ``leadflow.models.records.leads.check_created``)."""
    at = now or datetime.now(UTC)
    return map_records(
        lambda record, ctx: [check_created(connector.to_lead(record, ctx), at)],
        connector.record_key,
        records,
        context,
    )


def _safe_key(record_key: Callable[[Mapping[str, Any]], str | None], record: Any) -> str | None:
    try:
        return record_key(record)
    except Exception:  # hostile input: the key itself may be unreadable
        return None
