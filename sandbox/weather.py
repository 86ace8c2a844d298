"""Bad weather on a later page of each platform's lead stream: a truncated body, then a
connection dropped mid-body.

Networks do this to long reads: a buffering proxy that lost its upstream forwards what it had
as a whole answer (``push_truncated``: the body and its ``Content-Length`` end early, the JSON
is cut), or the connection drops while the body is on its way (``push_disconnect``: the full
``Content-Length`` was announced, part of the body follows, then the connection closes).
Either can hit any page; the one that tests a sync is a page AFTER the first, once earlier
pages are read (and, with small commit batches, written). :data:`LATER_LEAD_PAGES` says how
each platform asks for such a page, from its paging docs:

* HubSpot CRM search: ``POST /crm/v3/objects/contacts/search`` with ``after`` in the body
  (https://developers.hubspot.com/docs/api/crm/search, "Paging through results");
* Meta Graph API: ``GET /{form-id}/leads`` with the ``after`` cursor
  (https://developers.facebook.com/docs/graph-api/results, cursor-based pagination);
* Google Ads: ``POST /customers/{id}/googleAds:search`` with a ``pageToken``, querying
  ``lead_form_submission_data`` (https://developers.google.com/google-ads/api/docs/reporting/paging);
* LinkedIn Lead Sync: ``GET /rest/leadFormResponses`` with ``start`` > 0
  (https://learn.microsoft.com/en-us/linkedin/shared/api-guide/concepts/pagination);
* Mailchimp: ``GET /3.0/lists/{id}/members`` with ``offset`` > 0
  (https://mailchimp.com/developer/marketing/docs/methods-parameters/#pagination);
* Salesforce: ``GET /services/data/vXX.X/query/{locator}`` (a query's ``nextRecordsUrl``,
  https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/dome_query.htm) or a
  Bulk API 2.0 result set with a ``locator``
  (https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/query_get_job_results.htm).

:func:`forecast` queues both faults once on one platform's sandbox; ``leadflow demo`` and the
end-to-end benchmark call it for every platform (``running_sandboxes(weather=True)``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from leadflow.sandbox.server import Request

# Google Ads serves 10,000 rows a page; a sandbox account holds a few hundred leads, so the
# weather makes its pages this small for a lead stream to have a second page.
GOOGLE_WEATHER_PAGE_SIZE = 50


@dataclass(frozen=True)
class LeadPages:
    """How one platform asks for its lead stream: ``method``, a ``path`` regex, and
    ``later``, true of a request for a page after the first."""

    method: str
    path: str
    later: Callable[[Request], bool]


def _positive(name: str) -> Callable[[Request], bool]:
    return lambda request: int(request.param(name) or 0) > 0


def _body_has(name: str, about: str = "") -> Callable[[Request], bool]:
    def later(request: Request) -> bool:
        body = request.json()
        return isinstance(body, dict) and bool(body.get(name)) and about in str(body)

    return later


LATER_LEAD_PAGES: dict[str, LeadPages] = {
    "hubspot": LeadPages("POST", r"^/crm/v3/objects/contacts/search$", _body_has("after")),
    "meta": LeadPages("GET", r"^/v[\d.]+/\d+/leads$", lambda r: bool(r.param("after"))),
    "google_ads": LeadPages(
        "POST",
        r"/customers/\d+/googleAds:search$",
        _body_has("pageToken", "FROM lead_form_submission_data"),
    ),
    "linkedin": LeadPages("GET", r"^/rest/leadFormResponses$", _positive("start")),
    "mailchimp": LeadPages("GET", r"^/3\.0/lists/[^/]+/members$", _positive("offset")),
    "salesforce": LeadPages(
        "GET",
        r"^/services/data/v[\d.]+/(?:query(?:All)?/[^/]+|jobs/query/[^/]+/results)$",
        lambda r: not r.path.endswith("/results") or bool(r.param("locator")),
    ),
}


def is_later_lead_page(platform: str, request: Any) -> bool:
    """Whether a request (a ``Request`` or a logged ``RequestRecord``) asked ``platform`` for a
    page of its lead stream after the first."""
    pages = LATER_LEAD_PAGES[platform]
    parsed = Request(request.method, request.path, request.query, request.headers, request.body)
    if parsed.method != pages.method or not re.search(pages.path, parsed.path):
        return False
    try:
        return pages.later(parsed)
    except ValueError:  # a body that is not JSON: no page of anything
        return False


def forecast(box: Any, platform: str, *, truncated: bool = True, disconnect: bool = True) -> None:
    """Queue, once each, a truncated body and a mid-body disconnect for ``platform``'s next
    requests for a later page of its leads: the first such request is cut short, the next one
    (its retry, or another account's later page read at the same time) loses its connection
    mid-body; each costs one of the transport's attempts. Google Ads pages are made small
    enough for its accounts to have a later page."""
    pages = LATER_LEAD_PAGES[platform]
    if platform == "google_ads":
        box.page_size = min(box.page_size, GOOGLE_WEATHER_PAGE_SIZE)
    if truncated:
        box.faults.push_truncated(method=pages.method, path=pages.path, when=pages.later)
    if disconnect:
        box.faults.push_disconnect(method=pages.method, path=pages.path, when=pages.later)
