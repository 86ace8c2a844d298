"""HubSpot's sales side: owners (the reps) and the calls, emails and meetings on contacts.

Docs followed:
- Owners: https://developers.hubspot.com/docs/api/crm/owners (``GET /crm/v3/owners``,
  ``limit`` <= 500, ``after``; ``archived=true`` returns ONLY archived owners, so both
  lists are read; ``teams`` with one ``primary``)
- Calls: https://developers.hubspot.com/docs/api/crm/calls (``hs_timestamp``,
  ``hubspot_owner_id``, ``hs_call_direction`` INBOUND/OUTBOUND, ``hs_call_disposition``
  outcome GUIDs)
- Emails: https://developers.hubspot.com/docs/api/crm/email (``hs_email_direction`` EMAIL,
  INCOMING_EMAIL, FORWARDED_EMAIL; ``hs_email_status``)
- Meetings: https://developers.hubspot.com/docs/api/crm/meetings (``hs_meeting_outcome``)
- Search: https://developers.hubspot.com/docs/api/crm/search (``hs_lastmodifieddate``)
- Associations v4: https://developers.hubspot.com/docs/api/crm/associations (``POST
  /crm/v4/associations/{from}/{to}/batch/read``, ``inputs: [{id, after?}]``, a ``paging``
  per input when it has more; at most 1,000 inputs per request since 2025-02-10:
  https://developers.hubspot.com/changelog/bug-fix-batch-read-limit-for-hubspot-associations-api)
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from functools import partial
from typing import Any

from leadflow.connectors.base import LeadContext, Page, StartFor, Stream
from leadflow.connectors.hubspot.client import SOURCE, HubSpotClient, portal_of
from leadflow.connectors.hubspot.config import HubSpotConfig
from leadflow.connectors.hubspot.search import (
    AFTER,
    ID_PROPERTY,
    SearchSpec,
    next_after,
    search_pages,
)
from leadflow.connectors.pagination import Asked, paginate
from leadflow.models.records.activity import SalesRep, SalesTouch
from leadflow.models.records.contact import clean_text, parse_timestamp
from leadflow.models.records.leads import InvalidRecord

OWNERS_PATH = "/crm/v3/owners"
OWNERS_PARTITION = "owners"
ASSOCIATIONS_PATH = "/crm/v4/associations/{object_type}/contacts/batch/read"
ASSOCIATION_BATCH = 1_000
TOUCH_CURSOR = "hs_lastmodifieddate"
TOUCH_TYPE = {"calls": "call", "emails": "email", "meetings": "meeting"}
DIRECTION_PROPERTY = {"calls": "hs_call_direction", "emails": "hs_email_direction"}
OUTCOME_PROPERTY = {
    "calls": "hs_call_disposition",
    "emails": "hs_email_status",
    "meetings": "hs_meeting_outcome",
}
# The default call outcomes' internal GUIDs (calls doc); a portal's own outcomes stay GUIDs.
CALL_OUTCOMES = {
    "9d9162e7-6cf3-4944-bf63-4dff82258764": "BUSY",
    "f240bbac-87c9-4f6e-bf70-924b57d47db7": "CONNECTED",
    "a4c4c377-d246-4b32-a13b-75a56a4cd0ff": "LEFT_LIVE_MESSAGE",
    "b2cf5968-551e-4856-9783-52b3da59a7d0": "LEFT_VOICEMAIL",
    "73a0d17f-1163-4015-bdd5-ec830791da20": "NO_ANSWER",
    "17b47fee-58de-441e-a44c-c6300d46f273": "WRONG_NUMBER",
}
# FORWARDED_EMAIL is "forwarded to the CRM" (emails doc): it may be a prospect's email a
# rep forwarded in, so it gets no direction rather than counting as a rep's outreach.
DIRECTIONS = {
    "OUTBOUND": "outbound",
    "INBOUND": "inbound",
    "EMAIL": "outbound",
    "INCOMING_EMAIL": "inbound",
}


# -- owners -> SalesRep -----------------------------------------------------------------
def owner_accounts(config: HubSpotConfig) -> list[str]:
    return [portal_of(config)] if config.sales_reps else []


def owner_pages(client: HubSpotClient, portal_id: str, start_for: StartFor) -> Iterator[Page]:
    """Every owner, active then archived (departed reps keep their touches' names).

    The list is not sorted by ``updatedAt``: only the last page carries a cursor.
    """
    number = 0
    newest: datetime | None = None
    for archived in (False, True):
        read = partial(_owners, client, archived)
        for page in paginate(read, AFTER, source=SOURCE, where=f"GET {OWNERS_PATH}"):
            records = list(page.reply.get("results") or [])
            newest = max(filter(None, [newest, *map(_owner_updated, records)]), default=None)
            number += 1
            last = archived and page.last
            yield Page(records, newest if last else None, number, OWNERS_PARTITION)


def _owners(client: HubSpotClient, archived: bool, after: Mapping[str, Any]) -> dict[str, Any]:
    params = {"limit": client.config.owners_page_size, "archived": str(archived).lower()}
    return client.get(OWNERS_PATH, {**params, **after})


def _owner_updated(record: Mapping[str, Any]) -> datetime | None:
    try:
        return parse_timestamp(record.get("updatedAt"))
    except ValueError:
        return None


def owner_key(record: Mapping[str, Any]) -> str | None:
    value = record.get("id")
    return str(value) if value not in (None, "") else None


def owner_rows(record: Mapping[str, Any], context: LeadContext) -> list[SalesRep]:
    """One owner as a SalesRep; ``team`` is the name of the owner's primary team."""
    key = owner_key(record)
    if key is None:
        raise InvalidRecord(SOURCE, None, "id", "missing")
    try:
        updated = parse_timestamp(record.get("updatedAt") or record.get("createdAt"))
    except ValueError as error:
        raise InvalidRecord(SOURCE, key, "updatedAt", str(error)) from None
    email = clean_text(record.get("email"))
    primary = [t for t in record.get("teams") or [] if isinstance(t, Mapping) and t.get("primary")]
    return [
        SalesRep(
            source=SOURCE,
            rep_id=key,
            updated_at=updated,
            email=email.lower() if email else None,
            first_name=clean_text(record.get("firstName")),
            last_name=clean_text(record.get("lastName")),
            team=clean_text(primary[0].get("name")) if primary else None,
            archived=bool(record.get("archived")),
            raw=dict(record),
        )
    ]


# -- calls, emails, meetings -> SalesTouch ----------------------------------------------
def touch_accounts(config: HubSpotConfig) -> list[str]:
    return [portal_of(config)] if config.sales_touches and config.touch_types else []


def touch_spec(object_type: str) -> SearchSpec:
    """The search of one engagement object: its direction and outcome properties."""
    extra = [DIRECTION_PROPERTY.get(object_type), OUTCOME_PROPERTY[object_type]]
    names = ("hs_timestamp", "hubspot_owner_id", *filter(None, extra), TOUCH_CURSOR, ID_PROPERTY)
    return SearchSpec(object_type, TOUCH_CURSOR, names)


def touch_pages(client: HubSpotClient, portal_id: str, start_for: StartFor) -> Iterator[Page]:
    """Each configured engagement object (its own partition) modified since its start,
    each record carrying ``object_type`` and the ``contact_ids`` it is associated with."""
    for object_type in dict.fromkeys(client.config.touch_types):
        spec = touch_spec(object_type)
        for page in search_pages(client, spec, object_type, start_for(object_type)):
            attach_contacts(client, object_type, page.records)
            yield page


def attach_contacts(client: HubSpotClient, object_type: str, records: list[dict]) -> None:
    """Add ``object_type`` and ``contact_ids`` to each record: one batch call per page."""
    contacts = associated_contacts(client, object_type, [str(r.get("id")) for r in records])
    for record in records:
        record["object_type"] = object_type
        record["contact_ids"] = contacts.get(str(record.get("id")), [])


def associated_contacts(
    client: HubSpotClient, object_type: str, ids: list[str]
) -> dict[str, list[str]]:
    """The contacts of each id, by the v4 batch read (an id without any is simply absent
    from ``results``), following an input's own ``paging.next.after`` when it has more."""
    found: dict[str, list[str]] = {object_id: [] for object_id in ids}
    pending: list[dict[str, str]] = [{"id": object_id} for object_id in ids]
    path = ASSOCIATIONS_PATH.format(object_type=object_type)
    asked = Asked(SOURCE, f"POST {path}", "cursor")
    while pending:
        batch, pending = pending[:ASSOCIATION_BATCH], pending[ASSOCIATION_BATCH:]
        reply = client.post(path, {"inputs": batch})
        for result in reply.get("results") or []:
            source = str((result.get("from") or {}).get("id"))
            linked = found.setdefault(source, [])
            for target in result.get("to") or []:
                contact = str(target.get("toObjectId"))
                if target.get("toObjectId") is not None and contact not in linked:
                    linked.append(contact)
            after = next_after(result)
            if after:
                asked.add((source, str(after)))  # one input's cursor must move on too
                pending.append({"id": source, "after": str(after)})
    return found


def touch_key(record: Mapping[str, Any]) -> str | None:
    object_id = record.get("id") or (record.get("properties") or {}).get(ID_PROPERTY)
    object_type = record.get("object_type")
    if object_id in (None, "") or object_type not in TOUCH_TYPE:
        return None
    return f"{object_type}:{object_id}"


def touch_rows(record: Mapping[str, Any], context: LeadContext) -> list[SalesTouch]:
    """One SalesTouch per associated contact; a touch on no contact maps to no rows."""
    key = touch_key(record)
    if key is None:
        raise InvalidRecord(SOURCE, None, "id", "missing id or object_type")
    contacts = [str(c) for c in record.get("contact_ids") or []]
    if not contacts:
        return []
    object_type = str(record["object_type"])
    props: Mapping[str, Any] = record.get("properties") or {}

    def moment(name: str, fallback: Any = None) -> datetime:
        try:
            return parse_timestamp(props.get(name) or fallback)
        except ValueError as error:
            raise InvalidRecord(SOURCE, key, name, str(error)) from None

    occurred = moment("hs_timestamp")
    updated = moment(TOUCH_CURSOR, record.get("updatedAt"))
    direction = DIRECTIONS.get(str(props.get(DIRECTION_PROPERTY.get(object_type, "")) or ""))
    common = {
        "source": SOURCE,
        "touch_id": key,
        "touch_type": TOUCH_TYPE[object_type],
        "occurred_at": occurred,
        "updated_at": updated,
        "owner_id": clean_text(props.get("hubspot_owner_id")),
        "direction": direction,
        "outcome": _outcome(props.get(OUTCOME_PROPERTY[object_type])),
        "raw": dict(record),
    }
    return [SalesTouch(lead_id=contact, **common) for contact in contacts]


def _outcome(value: Any) -> str | None:
    text = clean_text(value)
    return CALL_OUTCOMES.get(text, text) if text else None


OWNERS_STREAM = Stream(
    name="sales_reps",
    accounts=owner_accounts,
    pages=owner_pages,
    to_rows=owner_rows,
    record_key=owner_key,
)
TOUCHES_STREAM = Stream(
    name="sales_touches",
    accounts=touch_accounts,
    pages=touch_pages,
    to_rows=touch_rows,
    record_key=touch_key,
)
