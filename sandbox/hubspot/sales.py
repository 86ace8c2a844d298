"""Sales endpoints of the HubSpot sandbox: owners, properties, engagements, associations.

Docs used:
* Owners: https://developers.hubspot.com/docs/api-reference/crm-crm-owners-v3/guide and
  https://developers.hubspot.com/docs/api-reference/legacy/crm/owners/get-owner
  (``GET /crm/v3/owners`` with ``email``, ``after``, ``limit`` (default 100, max 500),
  ``archived`` "whether to return only results that have been archived";
  ``GET /crm/v3/owners/{ownerId}`` with ``idProperty=id|userId`` and ``archived``)
* Properties: https://developers.hubspot.com/docs/api-reference/legacy/crm/properties/get-properties
* Associations v4 batch read:
  https://developers.hubspot.com/docs/api-reference/legacy/crm/associations/associate-records/batch/get-associations
  (``{"inputs": [{"id"}]}`` -> ``{"status": "COMPLETE", "results": [{"from": {"id"},
  "to": [{"toObjectId", "associationTypes": [{"category", "typeId", "label"}]}]}],
  "startedAt", "completedAt"}``, plus ``numErrors``/``errors`` on a 207), at most 1,000
  inputs (https://developers.hubspot.com/changelog/bug-fix-batch-read-limit-for-hubspot-associations-api,
  first announced as 100, then 1,000). Type ids: call->contact 194 (contact->call 193),
  email->contact 198 (197), meeting->contact 200 (199), as in HubSpot's own clients
  (``Hubspot::Helpers::AssociationType``). An id without associations (unknown ids
  included) becomes an ``OBJECT_NOT_FOUND`` / ``crm.associations.NO_ASSOCIATIONS_FOUND``
  error, "No call is associated with contact 123." (observed bodies; not in the reference).
  A result lists at most ``page_size`` (default 500) associations; then it carries
  ``paging.next.after``, to send back as the input's ``after`` ("The 'link' field is
  deprecated and should be ignored"; "paging will only be present if there are more").
"""

from __future__ import annotations

import bisect
import copy
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from leadflow.sandbox.data import format_hubspot_datetime
from leadflow.sandbox.hubspot import limits
from leadflow.sandbox.hubspot.objects import (
    Paging,
    decode_cursor,
    encode_cursor,
    next_page,
    parse_limit,
)
from leadflow.sandbox.hubspot.properties import (
    ENGAGEMENT_TYPES,
    OBJECT_TYPES,
    ObjectType,
    property_definitions,
    resolve_object_type,
)
from leadflow.sandbox.hubspot.sales_data import SalesData
from leadflow.sandbox.hubspot.search import SearchError
from leadflow.sandbox.hubspot.store import ObjectStore
from leadflow.sandbox.server import Request, Response, json_response

OWNERS_MAX_LIMIT = 500
BATCH_READ_MAX_INPUTS = 1000
ASSOCIATION_TYPE_IDS = {
    ("calls", "contacts"): 194, ("contacts", "calls"): 193,
    ("emails", "contacts"): 198, ("contacts", "emails"): 197,
    ("meetings", "contacts"): 200, ("contacts", "meetings"): 199,
}  # fmt: skip


def _not_found(message: str) -> Response:
    return json_response(404, limits.error_body("OBJECT_NOT_FOUND", message))


def _object_type(raw: str) -> ObjectType:
    kind = resolve_object_type(raw)
    if kind is None:
        raise SearchError(f"Unable to infer object type from: {raw}")
    return kind


def list_owners(owners: list[dict[str, Any]], request: Request, paging: Paging) -> Response:
    limit = parse_limit(request.param("limit"), 100, OWNERS_MAX_LIMIT, paging.clamp)
    archived = (request.param("archived") or "false").lower() == "true"
    email = (request.param("email") or "").strip().casefold()
    matching = [o for o in owners if o["archived"] is archived]
    if email:
        matching = [o for o in matching if o["email"].casefold() == email]
    matching.sort(key=lambda o: int(o["id"]))
    ids = [int(o["id"]) for o in matching]
    start = bisect.bisect_left(ids, decode_cursor(request.param("after")))
    body: dict[str, Any] = {"results": copy.deepcopy(matching[start : start + limit])}
    if start + limit < len(ids):
        body["paging"] = next_page(request, paging.base_url, encode_cursor(ids[start + limit]))
    return json_response(200, body)


def read_owner(owners: list[dict[str, Any]], request: Request, owner_id: str) -> Response:
    archived = (request.param("archived") or "false").lower() == "true"
    key = "userIdIncludingInactive" if request.param("idProperty") == "userId" else "id"
    for owner in owners:
        if str(owner.get(key)) == owner_id and owner["archived"] is archived:
            return json_response(200, copy.deepcopy(owner))
    return _not_found(f"Owner {owner_id} was not found")


def list_properties(owners: list[dict[str, Any]], object_type: str) -> Response:
    kind = _object_type(object_type)
    return json_response(200, {"results": property_definitions(kind.name, owners)})


class SalesState:
    """Engagement stores and the association index built from one ``SalesData``."""

    def __init__(
        self,
        data: SalesData,
        *,
        index_lag: float = 0.0,
        page_size: int = 500,
        handed_over: bool = False,
    ) -> None:
        """``handed_over``: ``data`` belongs to this state alone (the stores take its objects
        instead of copies, and its engagement lists become views of the stores' initial
        objects; ``upsert`` replaces ground-truth items, never changes them)."""
        self.data = data
        self.page_size = page_size
        self.stores = {}
        for name in ENGAGEMENT_TYPES:
            items = data.engagements[name]
            self.stores[name] = ObjectStore(
                _drained(items) if handed_over and isinstance(items, list) else items,
                index_lag=index_lag,
                object_type=OBJECT_TYPES[name],
                handed_over=handed_over,
            )
            if handed_over:  # the ground truth reads the stored objects: no second copy
                data.engagements[name] = self.stores[name].objects()
        # (from type, to type) -> from id -> its targets: one as itself, more as a list (most
        # engagements have one contact, and a million one-item lists are ~70 MB).
        self._links: dict[tuple[str, str], dict[str, str | list[str]]] = defaultdict(dict)
        for object_type, engagement_id, contact_id in data.associations:
            self._link(object_type, engagement_id, contact_id)

    def _link(self, object_type: str, engagement_id: str, contact_id: str) -> None:
        forward = self._links[(object_type, "contacts")]
        if contact_id not in _targets(forward.get(engagement_id)):
            _add_target(forward, engagement_id, contact_id)
            _add_target(self._links[("contacts", object_type)], contact_id, engagement_id)

    def upsert(
        self,
        object_type: str,
        properties: dict[str, Any],
        modified_at: datetime | None,
        contact_ids: list[str],
    ) -> dict[str, Any]:
        """Create or update an engagement and associate it with ``contact_ids``."""
        obj = self.stores[object_type].upsert(properties, modified_at)
        items = self.data.engagements[object_type]
        kept = [e for e in items if e["id"] != obj["id"]] + [copy.deepcopy(obj)]
        if isinstance(items, list):
            items[:] = kept
        else:
            self.data.engagements[object_type] = kept
        for contact_id in contact_ids:
            if (object_type, obj["id"], str(contact_id)) not in self.data.associations:
                self.data.associations.append((object_type, obj["id"], str(contact_id)))
            self._link(object_type, obj["id"], str(contact_id))
        self.data.__dict__.pop("_by_contact", None)  # ground truth is rebuilt lazily
        return obj

    def batch_read(self, request: Request, source: str, target: str) -> Response:
        started = format_hubspot_datetime(datetime.now(UTC))
        src, dst = _object_type(source), _object_type(target)
        links = self._links.get((src.name, dst.name), {})
        type_id = ASSOCIATION_TYPE_IDS.get((src.name, dst.name))
        results, errors = [], []
        for from_id, after in _batch_inputs(request.json()):
            targets = _targets(links.get(from_id))
            if not targets or type_id is None:
                errors.append(_no_associations(src, dst, from_id))
                continue
            results.append(self._result(from_id, targets, type_id, after))
        body: dict[str, Any] = {"status": "COMPLETE", "results": results}
        if errors:
            body.update(numErrors=len(errors), errors=errors)
        completed = format_hubspot_datetime(datetime.now(UTC))
        body.update(startedAt=started, completedAt=completed)
        return json_response(207 if errors else 200, body)

    def _result(self, from_id: str, targets: list[str], type_id: int, after: int) -> dict[str, Any]:
        kinds = [{"category": "HUBSPOT_DEFINED", "typeId": type_id, "label": None}]
        page = targets[after : after + self.page_size]
        result: dict[str, Any] = {
            "from": {"id": from_id},
            "to": [{"toObjectId": int(t), "associationTypes": kinds} for t in page],
        }
        if after + self.page_size < len(targets):
            cursor = encode_cursor(after + self.page_size)
            result["paging"] = {"next": {"after": cursor, "link": None}}
        return result


def _drained(items: list[Any]) -> Iterator[Any]:
    """``items`` one by one, each let go of by the list once taken (so a store holding
    them its own way frees each dict as it goes)."""
    for at in range(len(items)):
        item, items[at] = items[at], None
        yield item


def _targets(held: str | list[str] | None) -> list[str]:
    """The ids one id links to, as held by ``SalesState._links``."""
    if held is None:
        return []
    return [held] if isinstance(held, str) else held


def _add_target(links: dict[str, str | list[str]], source: str, target: str) -> None:
    held = links.get(source)
    if held is None:
        links[source] = target
    elif isinstance(held, str):
        links[source] = [held, target]
    else:
        held.append(target)


def _batch_inputs(body: Any) -> list[tuple[str, int]]:
    """(id, offset from the input's ``after`` cursor) per input; validated like HubSpot."""
    inputs = body.get("inputs") if isinstance(body, dict) else None
    if not isinstance(inputs, list):
        raise SearchError("The request body must contain an 'inputs' array")
    if len(inputs) > BATCH_READ_MAX_INPUTS:
        raise SearchError(
            f"Too many inputs: a batch read accepts at most {BATCH_READ_MAX_INPUTS} ids, "
            f"got {len(inputs)}"
        )
    parsed = []
    for item in inputs:
        if not isinstance(item, dict) or item.get("id") in (None, ""):
            raise SearchError("Each input must be an object with an 'id'")
        parsed.append((str(item["id"]), decode_cursor(item.get("after"))))
    return parsed


def _no_associations(src: ObjectType, dst: ObjectType, from_id: str) -> dict[str, Any]:
    return {
        "status": "error",
        "category": "OBJECT_NOT_FOUND",
        "subCategory": "crm.associations.NO_ASSOCIATIONS_FOUND",
        "message": f"No {dst.singular} is associated with {src.singular} {from_id}.",
        "context": {
            "fromObjectId": [from_id],
            "fromObjectType": [src.singular],
            "toObjectType": [dst.singular],
        },
    }
