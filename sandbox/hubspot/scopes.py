"""The scopes a sandbox token carries, and the 403 a request gets without one it needs.

Docs followed:
* https://developers.hubspot.com/docs/apps/developer-platform/build-apps/authentication/scopes
  (scopes grant access to endpoints; an endpoint's required scopes are listed under
  Requirements in its reference): contacts, their search and batch reads need
  ``crm.objects.contacts.read``; so do the calls, emails and meetings (activities on
  contacts) and the contact associations; owners need ``crm.objects.owners.read``; a
  contact property list ``crm.schemas.contacts.read``.
* https://developers.hubspot.com/docs/api/error-handling (``status``, ``message``,
  ``correlationId``, ``category``): a call made without a required scope is answered
  HTTP 403 ``"category": "MISSING_SCOPES"``, "This app hasn't been granted all required
  scopes to make this call.", with ``errors[].message`` "One or more of the following
  scopes are required." and ``errors[].context.requiredGranularScopes`` naming them, and
  ``links.scopes``.
"""

from __future__ import annotations

import re
from typing import Any

from leadflow.sandbox.hubspot.limits import error_body

CONTACTS = "crm.objects.contacts.read"
OWNERS = "crm.objects.owners.read"
CONTACT_SCHEMAS = "crm.schemas.contacts.read"
ALL_SCOPES = frozenset({CONTACTS, OWNERS, CONTACT_SCHEMAS})
SCOPES_LINK = "https://developers.hubspot.com/scopes"
MESSAGE = (
    "This app hasn't been granted all required scopes to make this call. Read more about "
    f"required scopes here: {SCOPES_LINK}."
)
_REQUIRED = (
    (re.compile(r"^/crm/v3/owners"), OWNERS),
    (re.compile(r"^/crm/v3/properties/contacts"), CONTACT_SCHEMAS),
    (re.compile(r"^/crm/v3/objects/(contacts|calls|emails|meetings)"), CONTACTS),
    (re.compile(r"^/crm/v4/associations/"), CONTACTS),
)


def required_scope(path: str) -> str | None:
    """The scope ``path`` needs (None: any valid token will do)."""
    return next((scope for pattern, scope in _REQUIRED if pattern.search(path)), None)


def missing_scopes_body(scope: str) -> dict[str, Any]:
    """HubSpot's 403 body for a call made without ``scope``."""
    error = {
        "message": "One or more of the following scopes are required.",
        "context": {"requiredGranularScopes": [scope]},
    }
    return error_body("MISSING_SCOPES", MESSAGE, errors=[error], links={"scopes": SCOPES_LINK})
