"""Meta ``leadgen`` webhook notifications: the leads they name, fetched by id.

Docs followed:
- Webhooks for Pages, ``leadgen`` field:
  https://developers.facebook.com/docs/graph-api/webhooks/reference/page/#leadgen and
  https://developers.facebook.com/docs/marketing-api/guides/lead-ads/retrieving (a POST body
  ``{"object": "page", "entry": [{"id", "time", "changes": [{"field": "leadgen", "value":
  {"leadgen_id", "form_id", "page_id", "ad_id", "adgroup_id", "created_time"}}]}]}``; then
  read the lead with ``GET /{leadgen_id}``). One POST may batch several entries and changes.
- Verification and signatures: https://developers.facebook.com/docs/graph-api/webhooks/getting-started
  (checked in ``leadflow.intake.verify``).

The lead is fetched with the connector's own ``fields`` and its form is attached under
``leadflow_form`` (id, name, tracking parameters, question types) exactly as the nightly
poll attaches it, so the webhook copy and the poll's are the same row (same key, same hash).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from leadflow.connectors.meta.connector import FORM_FIELDS, LEAD_FIELDS, _question_types
from leadflow.connectors.meta.fields import FORM_KEY
from leadflow.connectors.meta.graph import MetaClient


@dataclass(frozen=True, slots=True)
class LeadgenChange:
    """One ``leadgen`` change: the lead it names and where it belongs."""

    leadgen_id: str
    page_id: str | None
    form_id: str | None
    value: dict[str, Any]


def _text(value: object) -> str | None:
    return str(value) if value not in (None, "") and not isinstance(value, dict | list) else None


def leadgen_changes(body: Any) -> list[LeadgenChange]:
    """Every ``leadgen`` change of a Page notification body (other fields are skipped)."""
    if not isinstance(body, Mapping) or body.get("object") != "page":
        return []
    found = []
    for entry in body.get("entry") or ():
        if not isinstance(entry, Mapping):
            continue
        for change in entry.get("changes") or ():
            if not isinstance(change, Mapping) or change.get("field") != "leadgen":
                continue
            value = change.get("value")
            lead = _text(value.get("leadgen_id")) if isinstance(value, Mapping) else None
            if lead is None:
                continue
            page = _text(value.get("page_id")) or _text(entry.get("id"))
            stored = {**value, "entry_id": entry.get("id"), "entry_time": entry.get("time")}
            found.append(LeadgenChange(lead, page, _text(value.get("form_id")), stored))
    return found


def _form(client: MetaClient, form_id: str) -> dict[str, Any]:
    """The form as the poll attaches it: id, name, tracking parameters, question types."""
    node = client.get(form_id, {"fields": FORM_FIELDS})
    about = {key: node.get(key) for key in ("id", "name", "tracking_parameters")}
    types = _question_types(client, form_id)
    if not isinstance(types, str):
        about["question_types"] = types
    return about


def fetch_lead(client: MetaClient, leadgen_id: str, form_id: str | None) -> dict[str, Any]:
    """``GET /{leadgen_id}`` with the poll's fields, its form attached (module doc).

    Raises the connector's errors (``ConnectorError``): a lead Meta cannot serve yet fails
    here and its notification is retried later."""
    record = client.get(leadgen_id, {"fields": LEAD_FIELDS})
    form = _text(record.get("form_id")) or form_id
    return {**record, FORM_KEY: _form(client, form)} if form else dict(record)
