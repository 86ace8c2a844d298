"""Google Ads lead form submissions and campaign spend, through the REST search method.

Docs followed:
- https://developers.google.com/google-ads/api/reference/rpc/v24/SearchGoogleAdsRequest
  (REST ``{"query", "pageToken", "searchSettings"}``; ``pageSize`` is refused with
  PAGE_SIZE_NOT_SUPPORTED; ``nextPageToken`` is absent on the last page)
- https://developers.google.com/google-ads/api/rest/auth (``Authorization: Bearer``,
  ``developer-token``, ``login-customer-id`` headers)
- https://developers.google.com/google-ads/api/fields/v24/lead_form_submission_data
- https://developers.google.com/google-ads/api/docs/best-practices/understand-api-errors
  and https://developers.google.com/google-ads/api/reference/rpc/v24/QuotaErrorDetails
  (429 RESOURCE_EXHAUSTED carries ``quotaErrorDetails.retryDelay``, never Retry-After:
  ``classify_error`` hands it to the transport, which waits it out up to
  ``max_retry_delay_seconds``)
- https://developers.google.com/google-ads/api/reference/rpc/v24/AuthorizationErrorEnum.AuthorizationError
  (403 PERMISSION_DENIED with ``authorizationError``: USER_PERMISSION_DENIED, the user has no
  access to the customer (through a manager: ``login-customer-id``); ACTION_NOT_PERMITTED,
  the user's access level does not allow the method): a ``MissingScope`` naming the code

Accounts are customer ids and each customer is its own partition. A window starts at
``start_for(cid)`` (UTC) written as the account's local wall time, because GAQL date-time
literals carry no offset; rows come oldest first, so a page's cursor is the running max.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import partial
from typing import Any, ClassVar, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import requests
from pydantic import Field, SecretStr, field_validator

from leadflow.connectors.base import AdPlatformConfig, Connector, Page, StartFor, resumed
from leadflow.connectors.errors import (
    AuthError,
    ConnectorError,
    MissingScope,
    RateLimited,
    TerminalError,
)
from leadflow.connectors.google_ads.fields import (
    ACCOUNT_QUERY,
    FORM_QUERY,
    SOURCE,
    SPEND_QUERY,
    campaign_day,
    count_note,
    customer_id_digits,
    error_codes,
    failure_errors,
    lead_query,
    record_key,
    retention_note,
    retry_delay_seconds,
    submitted_at,
    to_lead,
    wall_time_literal,
)
from leadflow.connectors.http import PlatformSession, build_retry, error_detail, register_secret
from leadflow.connectors.pagination import PageToken, paginate
from leadflow.connectors.urls import VersionPath
from leadflow.models.records.leads import Rejected
from leadflow.models.records.spend import CampaignDay

log = logging.getLogger(__name__)

MAX_RESTARTS = 3


class GoogleAdsConfig(AdPlatformConfig):
    """Google Ads customers reached with an OAuth access token and a developer token."""

    VERSION_PATH: ClassVar[VersionPath] = VersionPath(r"(?P<version>v\d+)")

    type: Literal["google_ads"] = "google_ads"
    base_url: str = Field(
        "https://googleads.googleapis.com",
        description="API host; a /vN path is read as api_version",
    )
    api_version: str = Field("v24", pattern=r"^v\d+$", description="API version in the path")
    access_token: SecretStr = Field(
        description="OAuth access token (adwords scope); refreshing it is out of scope"
    )
    developer_token: SecretStr | None = Field(
        None, description="sent when set; Google sunset developer tokens on 2026-09-09"
    )
    login_customer_id: str | None = Field(
        None, description="manager account id, when the customers are reached through one"
    )
    customer_ids: list[str] = Field(min_length=1, description="customer ids (dashes allowed)")
    max_retry_delay_seconds: float = Field(
        300.0, ge=0, description="a longer quota retryDelay fails the customer instead of waiting"
    )
    retention_warning_days: int = Field(
        20, ge=1, description="warn when a customer's window starts more than this many days ago"
    )

    @field_validator("customer_ids", mode="before")
    @classmethod
    def _digits_only(cls, value: Any) -> Any:
        return [customer_id_digits(v) for v in value] if isinstance(value, list | tuple) else value

    @field_validator("login_customer_id", mode="before")
    @classmethod
    def _manager_digits(cls, value: Any) -> Any:
        return customer_id_digits(value) if value not in (None, "") else None


def accounts(config: GoogleAdsConfig) -> list[str]:
    """Every configured customer, one task each."""
    return list(config.customer_ids)


class PageTokenExpired(TerminalError):
    """A page token outlived its query (EXPIRED_PAGE_TOKEN): the window must restart."""


def classify_error(
    config: GoogleAdsConfig, response: requests.Response, body: Any
) -> ConnectorError | None:
    """Google's Status body (``error.status`` + GoogleAdsFailure codes) to an error class."""
    status = response.status_code
    error = body.get("error") if isinstance(body, Mapping) else None
    error = error if isinstance(error, Mapping) else {}
    grpc = str(error.get("status") or "")
    failures = failure_errors(body)
    codes = error_codes(failures)
    named = "; ".join(f"{k}.{v}" for k, v in codes.items()) or grpc or f"HTTP {status}"
    detail = error_detail(failures[0] if failures else error or None)
    where = requests.utils.urlparse(response.request.url or "").path if response.request else "?"
    if "DEVELOPER_TOKEN" in named:
        return AuthError(SOURCE, f"{named} on {where}: {detail}; check developer_token")
    if status == 401 or grpc == "UNAUTHENTICATED" or "authenticationError" in codes:
        why = f"{named} on {where} ({detail})"
        return AuthError(SOURCE, f"{why}: re-authorize the Google Ads connection (OAuth)")
    if codes.get("requestError") == "EXPIRED_PAGE_TOKEN":
        return PageTokenExpired(SOURCE, f"{named} on {where}: {detail}")
    if status == 429 or grpc == "RESOURCE_EXHAUSTED" or "quotaError" in codes:
        return _throttled(config, named, where, detail, retry_delay_seconds(failures))
    if status == 403 or grpc == "PERMISSION_DENIED" or "authorizationError" in codes:
        code = codes.get("authorizationError")
        grant = "give the authorized Google user access to the customer at a level that allows it"
        if code == "USER_PERMISSION_DENIED":
            grant += " (customers reached through a manager account need login_customer_id)"
        scope = f"authorizationError.{code}" if code else None
        return MissingScope(SOURCE, scope, f"{named} on {where}: {detail}", grant=grant)
    if 400 <= status < 500:
        return TerminalError(SOURCE, f"request rejected, {named} on {where}: {detail}")
    return None


def _throttled(
    config: GoogleAdsConfig, named: str, where: str, detail: str, delay: float | None
) -> ConnectorError:
    if "ACCESS_PROHIBITED" in named:
        return TerminalError(SOURCE, f"{named} on {where}: {detail}")
    if delay is not None and delay > config.max_retry_delay_seconds:
        message = (
            f"quota exhausted ({named} on {where}); Google asks to wait {delay:.0f} s, more "
            f"than max_retry_delay_seconds={config.max_retry_delay_seconds:.0f}: this customer "
            "fails for this run and syncs once the quota resets"
        )
        return RateLimited(SOURCE, message, retry_after=delay)
    return RateLimited(SOURCE, f"throttled ({named} on {where}): {detail}", retry_after=delay)


NEXT_PAGE_TOKEN = PageToken(lambda reply: reply.get("nextPageToken"), param="pageToken")


@dataclass(frozen=True, slots=True)
class Account:
    """What a customer's own settings change about reading it."""

    customer_id: str
    zone: ZoneInfo
    currency: str | None


class GoogleAdsClient:
    """Posts GAQL searches for one configuration; remembers each customer's settings."""

    def __init__(
        self,
        config: GoogleAdsConfig,
        session: PlatformSession,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.config = config
        self.session = session
        self.sleep = sleep
        self.clock: Callable[[], datetime] = lambda: datetime.now(UTC)
        self.requests_made = 0
        self._accounts: dict[str, Account] = {}

    @property
    def sleep(self) -> Callable[[float], None]:
        """How the transport waits between tries (tests record the waits instead)."""
        return self.session.sleep

    @sleep.setter
    def sleep(self, value: Callable[[float], None]) -> None:
        self.session.sleep = value

    def search(self, customer_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """One search request; the transport waits out a quota retryDelay up to the cap."""
        config = self.config
        root = f"{config.base_url}/{config.api_version}"
        self.requests_made += 1
        url = f"{root}/customers/{customer_id}/googleAds:search"
        return self.session.fetch_json("POST", url, json=body)

    def search_pages(
        self, customer_id: str, query: str, settings: dict[str, Any] | None = None
    ) -> Iterator[dict[str, Any]]:
        """Every page of one query: the same query and settings, plus the page token."""
        body: dict[str, Any] = {"query": query}
        body.update({"searchSettings": settings} if settings else {})
        where = f"POST /{self.config.api_version}/customers/{customer_id}/googleAds:search"
        search = partial(self._search_page, customer_id, body)
        for page in paginate(search, NEXT_PAGE_TOKEN, source=SOURCE, where=where):
            yield page.reply

    def _search_page(
        self, customer_id: str, body: dict[str, Any], token: Mapping[str, Any]
    ) -> dict[str, Any]:
        return self.search(customer_id, {**body, **token})

    def account(self, customer_id: str) -> Account:
        """The customer's time zone and currency, read once per client."""
        if customer_id not in self._accounts:
            rows = self.search(customer_id, {"query": ACCOUNT_QUERY}).get("results") or []
            customer = (rows[0].get("customer") or {}) if rows else {}
            name = customer.get("timeZone")
            try:
                zone = ZoneInfo(str(name))
            except (ZoneInfoNotFoundError, ValueError):
                message = f"customer {customer_id}: unknown account time zone {name!r}"
                raise TerminalError(SOURCE, message) from None
            self._accounts[customer_id] = Account(customer_id, zone, customer.get("currencyCode"))
        return self._accounts[customer_id]

    def close(self) -> None:
        self.session.close()


def open_session(
    config: GoogleAdsConfig, sleep: Callable[[float], None] = time.sleep
) -> GoogleAdsClient:
    """A client whose transport retries what ``classify_error`` says may pass: a 5xx, a
    quota's retryDelay (waited out up to ``max_retry_delay_seconds``), a body that is not
    JSON. Search is a read, so its POST is safe to repeat."""
    retry = build_retry(
        attempts=config.max_attempts, backoff_factor=config.backoff_seconds, methods=("POST",)
    )
    session = PlatformSession(
        SOURCE,
        timeout=(config.connect_timeout_seconds, config.timeout_seconds),
        retry=retry,
        classify=partial(classify_error, config),
        max_wait=config.max_retry_delay_seconds,
        sleep=sleep,
    )
    for secret in config.secrets():
        register_secret(secret.get_secret_value())
    session.headers["Authorization"] = f"Bearer {config.access_token.get_secret_value()}"
    if config.developer_token is not None and config.developer_token.get_secret_value():
        session.headers["developer-token"] = config.developer_token.get_secret_value()
    if config.login_customer_id:
        session.headers["login-customer-id"] = config.login_customer_id
    return GoogleAdsClient(config, session, sleep=sleep)


class _LeadWalk:
    """One customer's extraction: page numbers, the running cursor, notes to attach."""

    def __init__(self, client: GoogleAdsClient, account: Account, notes: list[str]) -> None:
        self.client = client
        self.account = account
        self.number = 0
        self.cursor: datetime | None = None
        self.notes = notes

    def window(self, lower: datetime | None) -> Iterator[Page]:
        """Every page of the query for submissions at or after ``lower``."""
        literal = wall_time_literal(lower, self.account.zone) if lower is not None else None
        cid, fetched = self.account.customer_id, 0
        settings = {"returnTotalResultsCount": True}
        for reply in self.client.search_pages(cid, lead_query(literal), settings):
            records = list(reply.get("results") or [])
            fetched += len(records)
            if not reply.get("nextPageToken"):
                self.notes.append(count_note(cid, reply.get("totalResultsCount"), fetched) or "")
            yield self._page(records)

    def _page(self, records: list[dict[str, Any]]) -> Page:
        for moment in filter(None, map(submitted_at, records)):
            self.cursor = max(self.cursor or moment, moment)
        self.number += 1
        notes, self.notes = tuple(filter(None, self.notes)), []
        return Page(records, self.cursor, self.number, self.account.customer_id, notes)


def pages(client: GoogleAdsClient, customer_id: str, start_for: StartFor) -> Iterator[Page]:
    """Every lead form submission of one customer from its start, oldest first.

    An expired page token restarts the query from the highest submission time seen
    (inclusive: ties on that second are read again), at most ``MAX_RESTARTS`` times.
    """
    account = client.account(customer_id)
    start = start_for(customer_id)
    walk = _LeadWalk(client, account, [_retention(client, customer_id, start_for, start)])
    for attempt in range(MAX_RESTARTS + 1):
        try:
            yield from walk.window(walk.cursor or start)
            return
        except PageTokenExpired:
            if attempt == MAX_RESTARTS:
                raise
            log.warning("google_ads %s: page token expired, restarting the window", customer_id)


def _retention(
    client: GoogleAdsClient, customer_id: str, start_for: StartFor, start: datetime | None
) -> str:
    """The retention warning of a window: a stale sync's, or a first sync's (``start_date``)
    or a backfill's. The sync's lookup says whether a watermark gave the start; a plain
    ``start_for`` does not, and then only ``start_date`` itself counts as a first sync."""
    config = client.config
    from_start_date = start is not None and start == config.start_date
    earlier = resumed(start_for, customer_id)
    was_resumed = not from_start_date if earlier is None else earlier
    limit = config.retention_warning_days
    now = client.clock()
    return retention_note(customer_id, start, now, limit, was_resumed, from_start_date)


def spend(
    client: GoogleAdsClient, customer_id: str, first_day: date, last_day: date
) -> Iterator[list[CampaignDay | Rejected]]:
    """Daily cost, clicks and impressions per campaign, in the customer's currency; a row
    that cannot load is a Rejected in its place."""
    currency = client.account(customer_id).currency
    query = SPEND_QUERY.format(first=first_day.isoformat(), last=last_day.isoformat())
    for reply in client.search_pages(customer_id, query):
        rows = [r if isinstance(r, Mapping) else {"row": r} for r in reply.get("results") or []]
        yield [campaign_day(row, customer_id, currency) for row in rows]


def lead_form(client: GoogleAdsClient, customer_id: str, asset_id: str) -> dict[str, Any] | None:
    """One lead form asset of a customer as the search row's ``asset`` object (``id``,
    ``name``, ``leadFormAsset.headline``), or None when the customer has no such form."""
    if not str(asset_id).isdigit():
        return None
    query = f"{FORM_QUERY} AND asset.id = {int(asset_id)}"
    rows = client.search(customer_id, {"query": query}).get("results") or []
    asset = rows[0].get("asset") if rows and isinstance(rows[0], Mapping) else None
    return dict(asset) if isinstance(asset, Mapping) else None


CONNECTOR = Connector(
    name=SOURCE,
    config_class=GoogleAdsConfig,
    open=open_session,
    accounts=accounts,
    pages=pages,
    to_lead=to_lead,
    record_key=record_key,
    doc_url="https://developers.google.com/google-ads/api/reference/rpc/v24/LeadFormSubmissionData",
    spend_accounts=accounts,
    spend=spend,
)
