"""The LinkedIn client of the connector: Rest.li GETs, and what LinkedIn's errors mean.

Docs followed (see ``leadflow.connectors.linkedin.connector`` for the endpoints):
- Limits and errors: https://learn.microsoft.com/en-us/linkedin/shared/api-guide/concepts/rate-limits
  (daily per-endpoint limits reset at midnight UTC, a bare 429) and .../concepts/error-handling
  (``{status, serviceErrorCode, code, message}``; 403 ACCESS_DENIED "Not enough permissions
  to access: <resource>.<method>" names the resource, not the permission: the permission each
  resource needs is the one its page documents, ``r_marketing_leadgen_automation`` for Lead
  Sync (.../lead-sync/leadsync), ``r_ads_reporting`` for adAnalytics (.../ads-reporting),
  ``r_ads`` for ad accounts and campaigns (.../account-structure/create-and-manage-accounts))
- Versioning: https://learn.microsoft.com/en-us/linkedin/marketing/versioning (a retired
  ``LinkedIn-Version`` is refused: 426, or 400 naming the version)
- A lead form (``GET /rest/leadForms/{id}``, .../lead-sync/leadsync) that answers 404 (deleted)
  or 403 (no longer shared with this member) after its responses were read is *unreadable*:
  the responses themselves still came back, so only their answer labels are lost. The form is
  asked once per run; its leads keep their answers by question id (``fields.to_lead``) and a
  warning naming the form and the status goes to the run summary (``take_warnings``).

Retries are the transport's (``leadflow.connectors.http``): ``classify_error`` tells it a 429
is worth waiting out and an auth or version error is not. Campaigns are paged by
``leadflow.connectors.pagination``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import date, datetime
from functools import partial
from typing import Any, TypeVar

import requests

from leadflow.connectors.errors import (
    AuthError,
    ConnectorError,
    MissingScope,
    RateLimited,
    TerminalError,
)
from leadflow.connectors.http import ErrorClassifier, PlatformSession, error_detail
from leadflow.connectors.linkedin import restli
from leadflow.connectors.linkedin.config import LinkedInConfig
from leadflow.connectors.linkedin.fields import SOURCE, form_summary
from leadflow.connectors.pagination import PageToken, paginate

log = logging.getLogger(__name__)

VERSION_CODES = frozenset({"NONEXISTENT_VERSION", "VERSION_MISSING", "INVALID_VERSION"})
# The permission each resource's documentation asks for (module doc).
PERMISSIONS = {
    "leadFormResponses": "r_marketing_leadgen_automation",
    "leadForms": "r_marketing_leadgen_automation",
    "adAnalytics": "r_ads_reporting",
    "adAccounts": "r_ads",
    "adCampaigns": "r_ads",
}
DENIED = "Not enough permissions to access:"
GRANT_PERMISSION = (
    "grant it to the LinkedIn app and re-authorize with a member who has a role on the "
    "account (access tokens last 60 days)"
)
SPEND_FIELDS = "costInLocalCurrency,impressions,clicks,dateRange,pivotValues"
T = TypeVar("T")
CAMPAIGN_TOKEN = PageToken(
    lambda reply: (reply.get("metadata") or {}).get("nextPageToken"), param="pageToken"
)


class FormUnreadable(TerminalError):
    """A lead form LinkedIn no longer serves (404) or lets this member read (403)."""

    def __init__(self, about: str, status: int) -> None:
        self.status = f"HTTP {status}"
        super().__init__(SOURCE, f"{about} unreadable ({self.status})")


UNREADABLE_FORM = (404, 403)


class LinkedInClient:
    """GETs with hand-built Rest.li query strings; each lead form fetched once per run."""

    def __init__(self, config: LinkedInConfig, session: PlatformSession) -> None:
        self.config = config
        self.session = session
        self.requests_made = 0
        self.forms: dict[str, dict[str, Any]] = {}
        self._warnings: list[str] = []
        self._root = config.base_url + "/rest"

    def get(
        self,
        path: str,
        pairs: list[tuple[str, Any]],
        about: str,
        classify: ErrorClassifier | None = None,
    ) -> Any:
        url = f"{self._root}/{path}" + (f"?{restli.query(pairs)}" if pairs else "")
        self.requests_made += 1
        return self.session.fetch_json("GET", url, classify=classify or self._classify(about))

    def lead_responses(
        self, owner: str, lead_type: str, test_only: bool, window: tuple[datetime, ...],
        paging: Mapping[str, Any],
    ) -> dict[str, Any]:  # fmt: skip
        """One page of an owner's lead responses; ``paging`` is its ``start`` and ``count``."""
        kind, _, owner_id = owner.partition(":")
        pairs = [
            ("q", "owner"),
            ("owner", restli.owner_param(kind, owner_id)),
            ("leadType", restli.obj({"leadType": lead_type})),
            ("limitedToTestLeads", "true" if test_only else "false"),
            ("submittedAtTimeRange", restli.obj({"start": _ms(window[0]), "end": _ms(window[1])})),
            *paging.items(),
        ]
        return self.get("leadFormResponses", pairs, f"{owner} {lead_type} leads")

    def form(self, form_id: str) -> dict[str, Any]:
        """The lead form's questions and hidden fields, fetched once per form per run.

        An unreadable form (404/403) is remembered as ``{"id", "unreadable": "HTTP 404"}``:
        asked once, warned about once, and its leads still load (module doc).
        """
        if form_id not in self.forms:
            about = f"lead form {form_id}"
            try:
                body = self.get(f"leadForms/{form_id}", [], about, _form_unreadable(self, about))
            except FormUnreadable as error:
                warning = (
                    f"linkedin: lead form {form_id} unreadable ({error.status}); its leads "
                    "load with their answers keyed by question id"
                )
                log.warning("%s", warning)
                self._warnings.append(warning)
                self.forms[form_id] = {"id": form_id, "unreadable": error.status}
            else:
                self.forms[form_id] = form_summary(body)
        return self.forms[form_id]

    def take_warnings(self) -> tuple[str, ...]:
        """The warnings raised since the last call (each unreadable form once per run)."""
        taken, self._warnings = tuple(self._warnings), []
        return taken

    def currency(self, account_id: str, campaigns: list[dict[str, Any]]) -> str | None:
        """The ad account's ``currency``; else its campaigns' budget currency (the same)."""
        account = best_effort(
            lambda: self.get(f"adAccounts/{account_id}", [], f"ad account {account_id}"),
            f"ad account {account_id}",
        )
        if account and account.get("currency"):
            return str(account["currency"])
        budgets = [c.get("dailyBudget") or c.get("totalBudget") or {} for c in campaigns]
        return next((str(b["currencyCode"]) for b in budgets if b.get("currencyCode")), None)

    def campaigns(self, account_id: str) -> list[dict[str, Any]]:
        """The account's campaigns (``q=search``, following ``nextPageToken``)."""
        path = f"adAccounts/{account_id}/adCampaigns"
        search = partial(self._campaign_page, path)
        pages = paginate(search, CAMPAIGN_TOKEN, source=SOURCE, where=f"GET /rest/{path}")
        return [c for page in pages for c in page.reply.get("elements") or []
                if isinstance(c, Mapping)]  # fmt: skip

    def _campaign_page(self, path: str, token: Mapping[str, Any]) -> Any:
        pairs: list[tuple[str, Any]] = [("q", "search"), ("pageSize", 1000)]
        pairs += [(name, restli.urn(str(value))) for name, value in token.items()]
        return self.get(path, pairs, "campaigns")

    def ad_analytics(self, account_id: str, first: date, last: date) -> list[dict[str, Any]]:
        pairs = [
            ("q", "analytics"),
            ("pivot", "CAMPAIGN"),
            ("timeGranularity", "DAILY"),
            ("dateRange", restli.obj({"start": restli.day(first), "end": restli.day(last)})),
            ("accounts", restli.restli_list([restli.urn(_account_urn(account_id))])),
            ("fields", SPEND_FIELDS),
        ]
        reply = self.get("adAnalytics", pairs, f"sponsoredAccount:{account_id} analytics")
        return list(reply.get("elements") or [])

    def _classify(self, about: str) -> Any:
        version = self.config.api_version
        return lambda response, body: classify_error(response, body, about, version)

    def close(self) -> None:
        self.session.close()


def classify_error(
    response: requests.Response, body: Any, about: str, version: str
) -> ConnectorError | None:
    """LinkedIn's ``{status, serviceErrorCode, code, message}`` bodies, by what to do."""
    body = body if isinstance(body, Mapping) else {}
    status, detail = response.status_code, error_detail(body)
    if status == 401:
        return AuthError(
            SOURCE, f"access token refused on {about} ({detail}); re-authorize the LinkedIn "
            "app (access tokens last 60 days)",
        )  # fmt: skip
    if status == 403:
        why = f"HTTP 403 {body.get('code') or 'ACCESS_DENIED'} on {about}: {detail}"
        return MissingScope(SOURCE, permission_for(response, detail), why, grant=GRANT_PERMISSION)
    if status == 426 or str(body.get("code")) in VERSION_CODES or _mentions_version(status, detail):
        return TerminalError(
            SOURCE, f"LinkedIn-Version {version} rejected ({detail}); update api_version "
            "to a currently supported YYYYMM",
        )  # fmt: skip
    if status == 429:
        return RateLimited(
            SOURCE, f"LinkedIn still throttling {about} after retries (HTTP 429); its daily "
            "limits reset at midnight UTC",
        )  # fmt: skip
    return None


def permission_for(response: requests.Response, message: str) -> str | None:
    """The permission a 403 is about: the resource LinkedIn names ("Not enough permissions
    to access: adAnalytics.FINDER-analytics"), else the path's, as its page documents it."""
    named = message.partition(DENIED)[2].strip().split(".")[0] if DENIED in message else ""
    url = response.request.url if response.request is not None else ""
    path = requests.utils.urlparse(url or "").path
    segments = [part for part in path.split("/") if part and not part.isdigit()]
    resource = named or (segments[-1] if segments else "")
    return PERMISSIONS.get(resource) or (f"access to {resource}" if resource else None)


def _form_unreadable(client: LinkedInClient, about: str) -> ErrorClassifier:
    """The usual classification, except that a 404 or 403 is ``FormUnreadable``."""
    usual = client._classify(about)

    def classify(response: requests.Response, body: Any) -> ConnectorError | None:
        if response.status_code in UNREADABLE_FORM:
            return FormUnreadable(about, response.status_code)
        return usual(response, body)

    return classify


def _mentions_version(status: int, detail: str) -> bool:
    words = detail.lower().replace(".", " ").replace(",", " ").split()
    return status == 400 and ("version" in words or "linkedin-version" in words)


def best_effort(call: Callable[[], T], what: str) -> T | None:
    """``call()``, or None when LinkedIn refuses it for a reason other than credentials
    (a missing permission is such a reason: what it served is optional)."""
    try:
        return call()
    except TerminalError as error:
        if isinstance(error, AuthError) and not isinstance(error, MissingScope):
            raise
        log.warning("linkedin: %s unavailable: %s", what, error)
        return None


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _account_urn(account_id: str) -> str:
    return f"urn:li:sponsoredAccount:{account_id}"
