"""LinkedIn Lead Sync notifications: the lead form response they name, fetched by id.

Docs followed:
- Webhooks: https://learn.microsoft.com/en-us/linkedin/shared/api-guide/webhook-validation
  (the ``challengeCode`` validation and the ``X-LI-Signature`` header, checked in
  ``leadflow.intake.verify``; "deduplicate notifications", "return a 2xx")
- Lead Sync: https://learn.microsoft.com/en-us/linkedin/marketing/lead-sync/leadsync
  (``leadNotifications`` subscriptions per owner; a notification names the
  ``leadGenFormResponse`` URN, its ``leadGenForm``, ``owner`` (``sponsoredAccount`` or
  ``organization`` URN), ``leadType``, ``leadAction`` and ``occurredAt``; the response is read
  with ``GET /rest/leadFormResponses/{id}``)

The lead is keyed by the form response id, the key the nightly poll uses, and its form is
attached under ``form`` as the poll attaches it (``LinkedInClient.form``), so both copies
map to the same row. The account is the owner as the poll names it (``sponsoredAccount:1``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from leadflow.connectors.linkedin.client import LinkedInClient
from leadflow.connectors.linkedin.restli import form_id_of, urn_id

OWNER_KINDS = ("sponsoredAccount", "organization")


def response_id(body: Any) -> str | None:
    """The lead form response a notification names (``leadGenFormResponse`` URN or id)."""
    if not isinstance(body, Mapping):
        return None
    for name in ("leadGenFormResponse", "leadGenFormResponseId", "leadId"):
        found = urn_id(body.get(name)) if isinstance(body.get(name), str | int) else None
        if found:
            return found
    return None


def owner_account(body: Any) -> str | None:
    """The owner as the poll's account id: ``sponsoredAccount:<id>`` / ``organization:<id>``."""
    owner = body.get("owner") if isinstance(body, Mapping) else None
    if not isinstance(owner, Mapping):
        return None
    for kind in OWNER_KINDS:
        found = urn_id(owner.get(kind)) if isinstance(owner.get(kind), str | int) else None
        if found:
            return f"{kind}:{found}"
    return None


def is_lead_created(body: Any) -> bool:
    """A notification of a new (or updated) lead: not a deletion."""
    action = body.get("leadAction") if isinstance(body, Mapping) else None
    return action in (None, "CREATED", "UPDATED")


def fetch_lead(client: LinkedInClient, lead_id: str) -> dict[str, Any]:
    """``GET /rest/leadFormResponses/{id}``, its form attached as the poll attaches it.

    Raises the connector's errors: a response not readable yet fails here and its
    notification is retried later."""
    record = client.get(f"leadFormResponses/{quote(lead_id, safe='')}", [], f"lead {lead_id}")
    if not isinstance(record, Mapping):
        raise ValueError("lead form response: the body is not a JSON object")
    form_id = form_id_of(record.get("versionedLeadGenFormUrn"))
    form = record.get("form") or (client.form(form_id) if form_id else None)
    return {**record, "form": form} if form else dict(record)
