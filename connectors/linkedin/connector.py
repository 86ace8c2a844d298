"""LinkedIn Lead Sync (lead form responses) and ad analytics (daily campaign spend).

Docs followed:
- Lead Sync: https://learn.microsoft.com/en-us/linkedin/marketing/lead-sync/leadsync
  (``GET /rest/leadFormResponses?q=owner&owner=(...)&leadType=(leadType:...)``,
  ``limitedToTestLeads``, ``submittedAtTimeRange=(start:ms,end:ms)``, ``start``/``count``
  paging; ``GET /rest/leadForms/{id}``; leadTypes SPONSORED / COMPANY / EVENT /
  ORGANIZATION_PRODUCT) and its schema page .../lead-sync/lead-sync-schema
- Reporting: https://learn.microsoft.com/en-us/linkedin/marketing/integrations/ads-reporting/ads-reporting
  (``q=analytics``, one pivot, ``dateRange``, ``accounts=List(urn)``, ``fields``; no paging)
- Accounts, campaigns: .../marketing/integrations/ads/account-structure/create-and-manage-accounts,
  .../create-and-manage-campaigns (``currency``; ``adCampaigns?q=search``, ``pageToken``)
- Rest.li 2.0: https://learn.microsoft.com/en-us/linkedin/shared/api-guide/concepts/protocol-version
- Versioning: https://learn.microsoft.com/en-us/linkedin/marketing/versioning (``LinkedIn-Version:
  YYYYMM``, monthly releases, each supported about a year)
- Limits and errors: https://learn.microsoft.com/en-us/linkedin/shared/api-guide/concepts/rate-limits
  (daily per-endpoint limits reset at midnight UTC, a bare 429) and .../concepts/error-handling

Lead responses come back newest first (the order is not documented as a sort key), so a
partition (owner + lead type) commits its watermark only on its last page. The window's end
is fixed when a partition starts, which also keeps offset paging stable while leads arrive.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal, TypeVar

import requests
from pydantic import Field, SecretStr, field_validator

from leadflow.connectors.base import AdPlatformConfig, Connector, Page, StartFor
from leadflow.connectors.errors import AuthError, ConnectorError, RateLimited, TerminalError
from leadflow.connectors.http import (
    PlatformSession,
    build_retry,
    error_detail,
    register_secret,
    response_json,
)
from leadflow.connectors.linkedin import restli
from leadflow.connectors.linkedin.fields import (
    SOURCE,
    campaign_day,
    form_summary,
    record_key,
    to_lead,
)
from leadflow.models.records.contact import parse_timestamp
from leadflow.models.records.spend import CampaignDay

log = logging.getLogger(__name__)

ORGANIC_LEAD_TYPES = ("COMPANY", "EVENT", "ORGANIZATION_PRODUCT")
OrganicLeadType = Literal["COMPANY", "EVENT", "ORGANIZATION_PRODUCT"]
VERSION_CODES = frozenset({"NONEXISTENT_VERSION", "VERSION_MISSING", "INVALID_VERSION"})
SPEND_FIELDS = "costInLocalCurrency,impressions,clicks,dateRange,pivotValues"
T = TypeVar("T")


class LinkedInConfig(AdPlatformConfig):
    """Sponsored ad accounts and organizations whose lead forms are synced."""

    type: Literal["linkedin"] = "linkedin"
    base_url: str = "https://api.linkedin.com"
    linkedin_version: str = Field(
        "202606", pattern=r"^20\d\d(0[1-9]|1[0-2])$",
        description="LinkedIn-Version header (YYYYMM); versions are sunset after about a year",
    )  # fmt: skip
    access_token: SecretStr = Field(
        description="OAuth token with r_marketing_leadgen_automation, r_ads, r_ads_reporting"
    )
    sponsored_account_ids: list[str] = Field(
        default_factory=list, description="ad account ids: SPONSORED leads and spend"
    )
    organization_ids: list[str] = Field(
        default_factory=list, description="organizations (pages) whose organic leads are synced"
    )
    lead_types: list[OrganicLeadType] = Field(
        default_factory=lambda: list(ORGANIC_LEAD_TYPES),
        description="organic lead types read for each organization (ad accounts: SPONSORED)",
    )
    include_test_leads: bool = Field(
        True, description="load test leads too, flagged is_test (never silently dropped)"
    )
    count: int = Field(100, ge=1, le=1000, description="lead responses per page (start/count)")
    initial_days: int = Field(
        365, ge=1, le=365, description="first sync without start_date: LinkedIn keeps 365 days"
    )
    spend_chunk_days: int = Field(
        30, ge=1, le=366, description="days per adAnalytics request (it does not page)"
    )

    @field_validator("sponsored_account_ids", "organization_ids")
    @classmethod
    def _bare_ids(cls, values: list[str]) -> list[str]:
        """Accept ``123`` or ``urn:li:sponsoredAccount:123``; keep the numeric id."""
        return [str(v).strip().rsplit(":", 1)[-1] for v in values if str(v).strip()]


def accounts(config: LinkedInConfig) -> list[str]:
    """Every lead owner: ``sponsoredAccount:<id>`` and ``organization:<id>``."""
    return [f"sponsoredAccount:{i}" for i in config.sponsored_account_ids] + [
        f"organization:{i}" for i in config.organization_ids
    ]


def spend_accounts(config: LinkedInConfig) -> list[str]:
    return list(config.sponsored_account_ids)


def open_session(config: LinkedInConfig) -> LinkedInClient:
    """A client sending the version and Rest.li 2.0 headers; 429 and 5xx retried by urllib3."""
    token = config.access_token.get_secret_value()
    register_secret(token)
    retry = build_retry(attempts=config.max_attempts, backoff_factor=config.backoff_seconds)
    session = PlatformSession(
        SOURCE, timeout=(config.connect_timeout_seconds, config.timeout_seconds), retry=retry
    )
    session.headers.update({
        "Authorization": f"Bearer {token}",
        "LinkedIn-Version": config.linkedin_version,
        "X-Restli-Protocol-Version": "2.0.0",
        "Accept": "application/json",
    })  # fmt: skip
    return LinkedInClient(config, session)


class LinkedInClient:
    """GETs with hand-built Rest.li query strings; each lead form fetched once per run."""

    def __init__(self, config: LinkedInConfig, session: requests.Session) -> None:
        self.config = config
        self.session = session
        self.requests_made = 0
        self.forms: dict[str, dict[str, Any]] = {}
        self._root = config.base_url.rstrip("/") + "/rest"

    def fetch(self, path: str, pairs: list[tuple[str, Any]]) -> requests.Response:
        url = f"{self._root}/{path}" + (f"?{restli.query(pairs)}" if pairs else "")
        self.requests_made += 1
        return self.session.get(url)

    def get(self, path: str, pairs: list[tuple[str, Any]], about: str) -> Any:
        return response_json(SOURCE, self.fetch(path, pairs), self._classify(about))

    def lead_responses(
        self, owner: str, lead_type: str, test_only: bool, window: tuple[datetime, ...], start: int
    ) -> dict[str, Any]:
        kind, _, owner_id = owner.partition(":")
        pairs = [
            ("q", "owner"),
            ("owner", restli.owner_param(kind, owner_id)),
            ("leadType", restli.obj({"leadType": lead_type})),
            ("limitedToTestLeads", "true" if test_only else "false"),
            ("submittedAtTimeRange", restli.obj({"start": _ms(window[0]), "end": _ms(window[1])})),
            ("start", start),
            ("count", self.config.count),
        ]
        return self.get("leadFormResponses", pairs, f"{owner} {lead_type} leads")

    def form(self, form_id: str) -> dict[str, Any]:
        """The lead form's questions and hidden fields, fetched once per form per run."""
        if form_id not in self.forms:
            response = self.fetch(f"leadForms/{form_id}", [])
            if response.status_code == 404:
                log.warning("linkedin: lead form %s not found; answers stay unlabeled", form_id)
                self.forms[form_id] = {"id": form_id}
            else:
                body = response_json(SOURCE, response, self._classify(f"lead form {form_id}"))
                self.forms[form_id] = form_summary(body)
        return self.forms[form_id]

    def currency(self, account_id: str, campaigns: list[dict[str, Any]]) -> str | None:
        """The ad account's ``currency``; else its campaigns' budget currency (the same)."""
        account = _best_effort(
            lambda: self.get(f"adAccounts/{account_id}", [], f"ad account {account_id}"),
            f"ad account {account_id}",
        )
        if account and account.get("currency"):
            return str(account["currency"])
        budgets = [c.get("dailyBudget") or c.get("totalBudget") or {} for c in campaigns]
        return next((str(b["currencyCode"]) for b in budgets if b.get("currencyCode")), None)

    def campaigns(self, account_id: str) -> list[dict[str, Any]]:
        """The account's campaigns (``q=search``, following ``nextPageToken``)."""
        found: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            pairs: list[tuple[str, Any]] = [("q", "search"), ("pageSize", 1000)]
            pairs += [("pageToken", restli.urn(token))] if token else []
            reply = self.get(f"adAccounts/{account_id}/adCampaigns", pairs, "campaigns")
            found += [c for c in reply.get("elements") or [] if isinstance(c, Mapping)]
            token = (reply.get("metadata") or {}).get("nextPageToken")
            if not token:
                return found

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
        version = self.config.linkedin_version
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
        return AuthError(
            SOURCE, f"access denied to {about} ({detail}); re-authorize with a member who has "
            "the Lead Sync / ads reporting permissions on it",
        )  # fmt: skip
    if status == 426 or str(body.get("code")) in VERSION_CODES or _mentions_version(status, detail):
        return TerminalError(
            SOURCE, f"LinkedIn-Version {version} rejected ({detail}); update linkedin_version "
            "to a currently supported YYYYMM",
        )  # fmt: skip
    if status == 429:
        return RateLimited(
            SOURCE, f"LinkedIn still throttling {about} after retries (HTTP 429); its daily "
            "limits reset at midnight UTC",
        )  # fmt: skip
    return None


def _mentions_version(status: int, detail: str) -> bool:
    words = detail.lower().replace(".", " ").replace(",", " ").split()
    return status == 400 and ("version" in words or "linkedin-version" in words)


def _best_effort(call: Callable[[], T], what: str) -> T | None:
    """``call()``, or None when LinkedIn refuses it for a reason other than credentials."""
    try:
        return call()
    except TerminalError as error:
        if isinstance(error, AuthError):
            raise
        log.warning("linkedin: %s unavailable: %s", what, error)
        return None


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _account_urn(account_id: str) -> str:
    return f"urn:li:sponsoredAccount:{account_id}"


def _submitted(record: Mapping[str, Any]) -> datetime | None:
    try:
        return parse_timestamp(record.get("submittedAt"))
    except ValueError:
        return None


def pages(client: LinkedInClient, account: str, start_for: StartFor) -> Iterator[Page]:
    """Every lead of one owner: per lead type, real leads then (optionally) test leads.

    ``limitedToTestLeads=true`` returns only test leads; whether ``false`` includes them is
    not spelled out, so test leads get their own pass (and partition) and are never lost.
    """
    kind = account.partition(":")[0]
    lead_types = ["SPONSORED"] if kind == "sponsoredAccount" else client.config.lead_types
    numbers = itertools.count(1)
    for lead_type in lead_types:
        seen: set[str] = set()
        yield from _partition(client, account, lead_type, False, start_for, numbers, seen)
        if client.config.include_test_leads:
            yield from _partition(client, account, lead_type, True, start_for, numbers, seen)


def _partition(
    client: LinkedInClient, account: str, lead_type: str, test_only: bool,
    start_for: StartFor, numbers: Iterator[int], seen: set[str],
) -> Iterator[Page]:  # fmt: skip
    """Page one owner + lead type (+ test) window by start/count up to ``paging.total``."""
    partition = f"{account}/{lead_type}" + ("/test" if test_only else "")
    end = datetime.now(UTC)
    begin = min(start_for(partition) or end - timedelta(days=client.config.initial_days), end)
    start, fetched, newest, total = 0, 0, None, None
    while True:
        reply = client.lead_responses(account, lead_type, test_only, (begin, end), start)
        elements = [e for e in reply.get("elements") or [] if isinstance(e, Mapping)]
        total = (reply.get("paging") or {}).get("total", total)
        fetched, start = fetched + len(elements), start + len(elements)
        moments = [m for m in map(_submitted, elements) if m is not None]
        newest = max([*moments, newest] if newest else moments, default=None)
        last = not elements or (isinstance(total, int) and start >= total)
        notes = _reconcile(partition, total, fetched) if last else ()
        records = _keep(client, elements, test_only, seen)
        yield Page(records, newest if last else None, next(numbers), partition, notes)
        if last:
            return


def _keep(client: LinkedInClient, elements: list[Mapping[str, Any]], test_only: bool,
          seen: set[str]) -> list[dict[str, Any]]:  # fmt: skip
    """Records to load, each with its form attached; a test lead already read is skipped."""
    records = []
    for element in elements:
        key = record_key(element)
        if key in seen or (element.get("testLead") and not client.config.include_test_leads):
            continue
        if key is not None and not test_only:
            seen.add(key)
        form_id = restli.form_id_of(element.get("versionedLeadGenFormUrn"))
        form = element.get("form") or (client.form(form_id) if form_id else None)
        records.append({**element, "form": form} if form else dict(element))
    return records


def _reconcile(partition: str, total: object, fetched: int) -> tuple[str, ...]:
    if isinstance(total, int) and total != fetched:
        return (f"linkedin {partition}: LinkedIn reported {total} responses, fetched {fetched}",)
    return ()


def spend(
    client: LinkedInClient, account_id: str, first_day: date, last_day: date
) -> Iterator[list[CampaignDay]]:
    """Daily spend per campaign in the ad account's currency, a chunk of days at a time."""
    campaigns = _best_effort(lambda: client.campaigns(account_id), "campaign names") or []
    names = {str(c.get("id")): str(c.get("name")) for c in campaigns if c.get("name")}
    currency = client.currency(account_id, campaigns)
    step = timedelta(days=client.config.spend_chunk_days)
    chunk = first_day
    while chunk <= last_day:
        chunk_last = min(chunk + step - timedelta(days=1), last_day)
        elements = client.ad_analytics(account_id, chunk, chunk_last)
        rows = [campaign_day(e, account_id, currency, names) for e in elements]
        if any(rows):
            yield [row for row in rows if row is not None]
        chunk = chunk_last + timedelta(days=1)


CONNECTOR = Connector(
    name=SOURCE,
    config_class=LinkedInConfig,
    open=open_session,
    accounts=accounts,
    pages=pages,
    to_lead=to_lead,
    record_key=record_key,
    doc_url="https://learn.microsoft.com/en-us/linkedin/marketing/lead-sync/leadsync",
    spend_accounts=spend_accounts,
    spend=spend,
)
