"""HubSpot's sales decisions as facts: the history of ``hs_lead_status`` and ``lifecyclestage``.

Docs followed:
- Search: https://developers.hubspot.com/docs/api/crm/search (contacts modified since the
  stream's own watermark, on ``lastmodifieddate``: any property change moves it)
- Batch read: https://developers.hubspot.com/docs/api-reference/latest/crm/objects/objects/batch/get-objects
  and https://developers.hubspot.com/docs/api-reference/legacy/crm/objects/contacts/batch/get-contacts
  (``POST /crm/v3/objects/contacts/batch/read``, ``inputs: [{id}]``, ``properties``,
  ``propertiesWithHistory``; each result's ``propertiesWithHistory`` maps a property to its
  entries ``{value, timestamp, sourceType, sourceId, sourceLabel, updatedByUserId}``; HTTP 207
  names the ids not found). Scope: ``crm.objects.contacts.read``, as the contacts search.
- With history a batch read takes at most 50 inputs (HTTP 400 VALIDATION_ERROR "The maximum
  number of inputs supported in a batch request for property histories is 50", reported in
  https://github.com/activepieces/activepieces/pull/9359; the reference does not say it).

Each run reads every contact modified since the watermark (minus the lookback) and maps its
whole history of both properties: rows are keyed ``<contact>:<property>:<epoch ms>`` and
immutable, so a re-read writes nothing new. Entries are ordered here by timestamp (the docs
do not promise an order); clearing a property (value "") is a change to None.
``updatedByUserId`` is a HubSpot user id, not an owner id: it stays in ``raw``, and
``changed_by`` is left empty. ``sourceLabel`` (it can name a person) is not kept, nor a
``sourceId`` holding an email address.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from leadflow.connectors.base import LeadContext, Page, StartFor, Stream
from leadflow.connectors.hubspot.client import SOURCE, HubSpotClient, portal_of
from leadflow.connectors.hubspot.config import HubSpotConfig
from leadflow.connectors.hubspot.search import EPOCH, ID_PROPERTY, SearchSpec, search_pages
from leadflow.models.records.activity import StatusChange
from leadflow.models.records.contact import clean_text, parse_timestamp
from leadflow.models.records.leads import InvalidRecord

STREAM_NAME = "crm_status_changes"
BATCH_READ_PATH = "/crm/v3/objects/contacts/batch/read"
HISTORY_BATCH = 50
STATUS_PROPERTIES = ("hs_lead_status", "lifecyclestage")
CONTACT_CURSOR = "lastmodifieddate"  # the contacts' modification date (connector.py's cursor)
MODIFIED_CONTACTS = SearchSpec("contacts", CONTACT_CURSOR, (CONTACT_CURSOR, ID_PROPERTY))
RAW_KEYS = ("value", "timestamp", "sourceType", "sourceId", "updatedByUserId")


def history_accounts(config: HubSpotConfig) -> list[str]:
    """One portal, as the contacts (``streams: {crm_status_changes: false}`` turns it off)."""
    return [portal_of(config)]


def history_pages(client: HubSpotClient, portal_id: str, start_for: StartFor) -> Iterator[Page]:
    """Each page of contacts modified since the start, as those contacts with the history of
    both status properties (the search page's cursor is the page's)."""
    for page in search_pages(client, MODIFIED_CONTACTS, portal_id, start_for(portal_id)):
        ids = [key for key in map(contact_key, page.records) if key is not None]
        yield replace(page, records=read_histories(client, ids))


def read_histories(client: HubSpotClient, ids: list[str]) -> list[dict[str, Any]]:
    """The contacts ``ids`` with ``propertiesWithHistory``, 50 per batch read; a contact no
    longer there (deleted, archived since the search) is simply absent."""
    found: dict[str, dict[str, Any]] = {}
    unique = list(dict.fromkeys(ids))
    for start in range(0, len(unique), HISTORY_BATCH):
        body = {
            "inputs": [{"id": contact} for contact in unique[start : start + HISTORY_BATCH]],
            "properties": [ID_PROPERTY, CONTACT_CURSOR],
            "propertiesWithHistory": list(STATUS_PROPERTIES),
        }
        reply = client.post(BATCH_READ_PATH, body)
        for result in reply.get("results") or []:
            key = contact_key(result)
            if key is not None:
                found.setdefault(key, result)
    return list(found.values())


def contact_key(record: Mapping[str, Any]) -> str | None:
    value = record.get("id") or (record.get("properties") or {}).get(ID_PROPERTY)
    return str(value) if value not in (None, "") else None


def history_rows(record: Mapping[str, Any], context: LeadContext) -> list[StatusChange]:
    """Every history entry of both properties as a StatusChange, oldest first per property."""
    key = contact_key(record)
    if key is None:
        raise InvalidRecord(SOURCE, None, "id", "missing")
    histories = record.get("propertiesWithHistory") or {}
    rows: list[StatusChange] = []
    for name in STATUS_PROPERTIES:
        rows += _changes(key, name, histories.get(name) or [])
    return rows


def _changes(key: str, name: str, entries: list[Any]) -> list[StatusChange]:
    # HubSpot lists the newest first (not promised): reversed, ties keep their oldest-first order.
    dated = sorted(((_when(key, name, e), e) for e in reversed(entries)), key=lambda d: d[0])
    rows: list[StatusChange] = []
    previous: str | None = None
    seen: dict[str, int] = {}
    for moment, entry in dated:
        value = clean_text(entry.get("value"))
        ident = f"{key}:{name}:{(moment - EPOCH) // timedelta(milliseconds=1)}"
        seen[ident] = seen.get(ident, 0) + 1
        rows.append(
            StatusChange(
                source=SOURCE,
                change_id=ident if seen[ident] == 1 else f"{ident}:{seen[ident]}",
                lead_id=key,
                field=name,
                occurred_at=moment,
                updated_at=moment,
                new_value=value,
                old_value=previous,
                raw=_raw(entry),
            )
        )
        previous = value
    return rows


def _when(key: str, name: str, entry: Any) -> datetime:
    if not isinstance(entry, Mapping):
        raise InvalidRecord(SOURCE, key, f"propertiesWithHistory.{name}", "entry is not an object")
    try:
        return parse_timestamp(entry.get("timestamp"))
    except ValueError as error:
        raise InvalidRecord(SOURCE, key, f"propertiesWithHistory.{name}", str(error)) from None


def _raw(entry: Mapping[str, Any]) -> dict[str, Any]:
    """The entry without what may name a person (``sourceLabel``, an email as ``sourceId``)."""
    raw = {k: entry[k] for k in RAW_KEYS if entry.get(k) is not None}
    if "@" in str(raw.get("sourceId", "")):
        del raw["sourceId"]
    return raw


HISTORY_STREAM = Stream(
    name=STREAM_NAME,
    accounts=history_accounts,
    pages=history_pages,
    to_rows=history_rows,
    record_key=contact_key,
)
