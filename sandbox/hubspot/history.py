"""Property history of the sandbox's contacts, and ``POST /crm/v3/objects/contacts/batch/read``.

Docs followed:
* https://developers.hubspot.com/docs/api-reference/legacy/crm/objects/contacts/batch/get-contacts
  and https://developers.hubspot.com/docs/api-reference/latest/crm/objects/objects/batch/get-objects
  (body ``inputs: [{id}]``, ``properties``, ``propertiesWithHistory``, optional
  ``idProperty``; query ``archived`` (default false); answer ``status``, ``results`` (each
  ``id``, ``properties``, ``propertiesWithHistory: {name: [...]}``, ``createdAt``,
  ``updatedAt``, ``archived``), ``startedAt``, ``completedAt``; ``errors`` and ``numErrors``
  when some inputs fail (HTTP 207, as the batch update answers: OBJECT_NOT_FOUND naming the
  ids in ``context.ids``)
* a history entry (the references' ``ValueWithTimestamp``): ``value``, ``timestamp``,
  ``sourceType``, ``sourceId``, ``sourceLabel``, ``updatedByUserId``
* https://developers.hubspot.com/docs/api/crm/contacts (batch reads take at most 100 inputs)
* the 50-input cap with history is not in the reference; HubSpot answers it with HTTP 400
  ``{"status": "error", "message": "The maximum number of inputs supported in a batch request
  for property histories is 50. Please reduce the number of items and try again",
  "category": "VALIDATION_ERROR"}`` (reported in
  https://github.com/activepieces/activepieces/pull/9359 and
  https://github.com/PipedreamHQ/pipedream/pull/8462)

Not confirmed by the docs, chosen here: entries are listed newest first; clearing a property
is an entry whose ``value`` is ""; a requested property never set has an empty list; an
untracked property's history is its current value alone; the 100-input message's wording.

``hs_lead_status`` and ``lifecyclestage`` keep a real history. An initial contact's is
generated on first use from its current values (a plausible path between ``createdate`` and
``lastmodifieddate``, deterministic from the seed and the id); every ``upsert_contact`` that
changes one appends an entry at the change time.
"""

from __future__ import annotations

import copy
import random
import threading
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from leadflow.sandbox.data import format_hubspot_datetime
from leadflow.sandbox.hubspot.limits import error_body
from leadflow.sandbox.hubspot.objects import render
from leadflow.sandbox.hubspot.properties import CONTACTS
from leadflow.sandbox.hubspot.store import ObjectStore
from leadflow.sandbox.server import Request, Response, json_response

TRACKED = ("hs_lead_status", "lifecyclestage")
BATCH_LIMIT = 100
HISTORY_BATCH_LIMIT = 50
HISTORY_LIMIT_MESSAGE = (
    "The maximum number of inputs supported in a batch request for property histories is 50. "
    "Please reduce the number of items and try again"
)
# The way a lead status usually goes before it reaches each value.
STATUS_PATHS = {
    "NEW": ("NEW",),
    "OPEN": ("NEW", "OPEN"),
    "ATTEMPTED_TO_CONTACT": ("NEW", "ATTEMPTED_TO_CONTACT"),
    "CONNECTED": ("NEW", "ATTEMPTED_TO_CONTACT", "CONNECTED"),
    "IN_PROGRESS": ("NEW", "ATTEMPTED_TO_CONTACT", "CONNECTED", "IN_PROGRESS"),
    "OPEN_DEAL": ("NEW", "CONNECTED", "IN_PROGRESS", "OPEN_DEAL"),
    "UNQUALIFIED": ("NEW", "ATTEMPTED_TO_CONTACT", "UNQUALIFIED"),
    "BAD_TIMING": ("NEW", "CONNECTED", "BAD_TIMING"),
}
STAGES = (
    "subscriber",
    "lead",
    "marketingqualifiedlead",
    "salesqualifiedlead",
    "opportunity",
    "customer",
    "evangelist",
)
REP_USER_IDS = (2145871, 3398402, 4410957, 5102268)  # HubSpot user ids (not owner ids)


def _entry(value: str, at: datetime, source: str, rng: random.Random | None) -> dict[str, Any]:
    entry: dict[str, Any] = {"value": value, "timestamp": format_hubspot_datetime(at)}
    entry["sourceType"] = source
    if source == "CRM_UI" and rng is not None:
        user = rng.choice(REP_USER_IDS)
        entry.update(sourceId=f"userId:{user}", updatedByUserId=user)
    elif source == "FORM" and rng is not None:
        entry.update(sourceId=f"{rng.getrandbits(32):08x}-form", sourceLabel="Website form")
    elif source == "API":
        entry["sourceId"] = "sandbox-app"
    return entry


def _path(name: str, current: str, rng: random.Random) -> list[str]:
    """Values the property held, oldest first, ending at ``current``; middle steps may drop."""
    if name == "hs_lead_status":
        steps = list(STATUS_PATHS.get(current, ("NEW", current)))
    elif current in STAGES:
        first = rng.randrange(0, min(2, STAGES.index(current) + 1))
        steps = list(STAGES[first : STAGES.index(current) + 1])
    else:
        steps = [current]
    middle = [s for s in steps[1:-1] if rng.random() < 0.7]
    return [steps[0], *middle, steps[-1]] if len(steps) > 1 else steps


def generated_history(seed: int, obj: dict[str, Any], name: str) -> list[dict[str, Any]]:
    """A plausible history of ``name`` for a seeded contact, oldest first (empty if unset)."""
    props = obj["properties"]
    current = props.get(name)
    if not current:
        return []
    rng = random.Random(f"hubspot-history:{seed}:{obj['id']}:{name}")
    created = _moment(props.get(CONTACTS.created) or obj["createdAt"])
    modified = _moment(props.get(CONTACTS.modified) or obj["updatedAt"])
    values = _path(name, str(current), rng)
    span = int((modified - created).total_seconds() * 1000)
    if span < len(values):
        values = values[-1:]
    offsets = sorted(rng.sample(range(1, span + 1), len(values) - 1)) if span > 0 else []
    first_source = "FORM" if name == "lifecyclestage" else "CRM_UI"
    entries = [_entry(values[0], created, first_source, rng)]
    for value, offset in zip(values[1:], offsets, strict=True):
        entries.append(_entry(value, created + timedelta(milliseconds=offset), "CRM_UI", rng))
    return entries


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(str(text).replace("Z", "+00:00"))


class PropertyHistory:
    """Each contact's history of the tracked properties, oldest first internally."""

    def __init__(self, seeded: Iterable[str], seed: int) -> None:
        self.lock = threading.RLock()
        self._seeded = set(seeded)
        self._seed = seed
        self._entries: dict[str, dict[str, list[dict[str, Any]]]] = {}

    def _of(self, obj: dict[str, Any], *, keep: bool = True) -> dict[str, list[dict[str, Any]]]:
        """``obj``'s histories; ``keep=False`` (a read) does not store a generated one: it is
        a function of the unchanged contact, generated again when read again (a million
        contacts read with history would otherwise all be held)."""
        oid = str(obj["id"])
        known = self._entries.get(oid)
        if known is None:
            seeded = oid in self._seeded
            known = {n: generated_history(self._seed, obj, n) if seeded else [] for n in TRACKED}
            if keep:
                self._entries[oid] = known
        return known

    def prepare(self, obj: dict[str, Any] | None) -> None:
        """Fix a contact's history before it changes (a seeded one is generated now)."""
        if obj is not None:
            with self.lock:
                self._of(obj)

    def record(self, obj: dict[str, Any]) -> None:
        """Append an entry for each tracked property ``obj`` holds a new value of."""
        props = obj["properties"]
        at = _moment(props.get(CONTACTS.modified) or obj["updatedAt"])
        with self.lock:
            histories = self._of(obj)
            for name in TRACKED:
                value = str(props.get(name) or "")
                entries = histories[name]
                if value != (entries[-1]["value"] if entries else ""):
                    entries.append(_entry(value, at, "API", None))

    def newest_first(self, obj: dict[str, Any], name: str) -> list[dict[str, Any]]:
        """The history HubSpot shows of ``name``: tracked ones kept, any other its value now."""
        if name not in TRACKED:
            value = obj["properties"].get(name)
            at = _moment(obj["createdAt"])
            return [_entry(str(value), at, "API", None)] if value not in (None, "") else []
        with self.lock:
            return copy.deepcopy(self._of(obj, keep=False)[name][::-1])


def batch_read(store: ObjectStore, history: PropertyHistory, request: Request) -> Response:
    """``POST /crm/v3/objects/contacts/batch/read`` (module docstring)."""
    body = request.json()
    body = body if isinstance(body, dict) else {}
    inputs = body.get("inputs")
    if not isinstance(inputs, list) or not inputs:
        return _invalid("Invalid input JSON: inputs is required")
    with_history = [str(p) for p in body.get("propertiesWithHistory") or []]
    if with_history and len(inputs) > HISTORY_BATCH_LIMIT:
        return _invalid(HISTORY_LIMIT_MESSAGE)
    if len(inputs) > BATCH_LIMIT:
        return _invalid(f"Batch size {len(inputs)} exceeds the limit of {BATCH_LIMIT}")
    archived = (request.param("archived") or "false").lower() == "true"
    names = _names(store, [str(p) for p in body.get("properties") or []])
    known = store.known_properties
    started = _now()
    results: dict[str, dict[str, Any]] = {}
    missing: list[str] = []
    for item in inputs:
        wanted = str(item.get("id") if isinstance(item, dict) else item)
        obj = store.resolve(wanted)
        if obj is None or obj["archived"] is not archived:
            missing.append(wanted)
            continue
        rendered = render(obj, names)
        if with_history:
            rendered["propertiesWithHistory"] = {
                name: history.newest_first(obj, name) for name in with_history if name in known
            }
        results.setdefault(obj["id"], rendered)
    return _answer(list(results.values()), missing, started)


def _names(store: ObjectStore, wanted: list[str]) -> list[str]:
    requested = {p for p in wanted if p in store.known_properties}
    if not requested:
        return list(store.object_type.default_properties)
    return sorted(requested | set(store.object_type.always_returned))


def _answer(results: list[dict[str, Any]], missing: list[str], started: str) -> Response:
    answer: dict[str, Any] = {
        "status": "COMPLETE",
        "results": results,
        "startedAt": started,
        "completedAt": _now(),
    }
    if not missing:
        return json_response(200, answer)
    error = error_body(
        "OBJECT_NOT_FOUND",
        "Could not get some CONTACT objects, they may be deleted or not exist. "
        "Check that ids are valid.",
        context={"ids": missing},
    )
    answer.update(errors=[error], numErrors=1)
    return json_response(207, answer)


def _invalid(message: str) -> Response:
    return json_response(400, error_body("VALIDATION_ERROR", message))


def _now() -> str:
    return format_hubspot_datetime(datetime.now(UTC))
