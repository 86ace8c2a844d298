"""HubSpot CRM v3 contacts, incrementally through the CRM search API.

Docs followed:
- Search: https://developers.hubspot.com/docs/api/crm/search (POST /crm/v3/objects/contacts/search,
  filterGroups, one sort rule, ``limit`` <= 200, ``after``, ``total``, 10,000 results per query)
- Contacts: https://developers.hubspot.com/docs/api/crm/contacts
- Limits: https://developers.hubspot.com/docs/api/usage-details (429 ``policyName``
  TEN_SECONDLY_ROLLING / DAILY, ``X-HubSpot-RateLimit-*`` headers)

Windowing: a query sorted by ``lastmodifieddate`` ascending pages until it nears the
10,000-result cap; then every contact sharing the last timestamp seen is read in a tie
window ordered by the numeric ``hs_object_id`` (restartable with ``hs_object_id GT``), and
the main window resumes strictly after that timestamp. Ties are never assumed to come back
in id order, and ``hs_object_id`` is compared as a number (a string compare skips records).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, Literal

import requests
from pydantic import Field, SecretStr
from urllib3.response import BaseHTTPResponse

from connectors.base import Connector, LeadContext, Page, SourceConfig, StartFor
from connectors.errors import AuthError, ConnectorError, TerminalError
from connectors.http import (
    PlatformRetry,
    PlatformSession,
    build_retry,
    error_detail,
    response_json,
)
from models.contact import (
    clean_name,
    clean_text,
    contact_routes,
    parse_timestamp,
    region_for_country,
)
from models.leads import InvalidRecord, Lead

log = logging.getLogger(__name__)

SOURCE = "hubspot"
SEARCH_PATH = "/crm/v3/objects/contacts/search"
RESULT_CAP = 10_000
CURSOR_PROPERTY = "lastmodifieddate"
ID_PROPERTY = "hs_object_id"
PROPERTIES = (
    "email",
    "firstname",
    "lastname",
    "phone",
    "mobilephone",
    "company",
    "jobtitle",
    "country",
    "city",
    "lifecyclestage",
    "hs_lead_status",
    "hubspot_owner_id",
    "hs_analytics_source",
    "hs_analytics_source_data_1",
    "hs_analytics_source_data_2",
    "hs_legal_basis",
    "hs_merged_object_ids",
    "createdate",
    CURSOR_PROPERTY,
    ID_PROPERTY,
)
_MAPPED = frozenset(PROPERTIES)


class HubSpotConfig(SourceConfig):
    """A HubSpot portal: private-app or OAuth access token, portal id."""

    type: Literal["hubspot"] = "hubspot"
    base_url: str = "https://api.hubapi.com"
    access_token: SecretStr = Field(description="private app token (crm.objects.contacts.read)")
    portal_id: str = Field(description="the HubSpot account (portal) id")
    page_size: int = Field(200, ge=1, le=200, description="search page size (max 200)")
    extra_properties: tuple[str, ...] = Field((), description="custom contact properties")
    search_requests_per_second: float = Field(
        4.0, gt=0, description="client-side pace; HubSpot allows 5 searches per second"
    )


def accounts(config: HubSpotConfig) -> list[str]:
    """One portal per configured source."""
    return [config.portal_id]


class HubSpotRetry(PlatformRetry):
    """Stop retrying once the daily allowance is spent: it resets at midnight, not soon."""

    def give_up(self, response: BaseHTTPResponse) -> bool:
        remaining = response.headers.get("X-HubSpot-RateLimit-Daily-Remaining")
        return response.status == 429 and remaining is not None and remaining.strip() == "0"


def open_session(config: HubSpotConfig) -> HubSpotClient:
    """A client for one portal; search is a read, so its POST is safe to retry."""
    retry = build_retry(
        HubSpotRetry,
        attempts=config.max_attempts,
        backoff_factor=config.backoff_seconds,
        methods=("GET", "POST"),
    )
    session = PlatformSession(
        SOURCE, timeout=(config.connect_timeout_seconds, config.timeout_seconds), retry=retry
    )
    session.headers["Authorization"] = f"Bearer {config.access_token.get_secret_value()}"
    return HubSpotClient(config, session)


class HubSpotClient:
    """Posts search requests and maps HubSpot's error bodies."""

    def __init__(self, config: HubSpotConfig, session: requests.Session) -> None:
        self.config = config
        self.session = session
        self.requests_made = 0
        self._pace = Pacer(config.search_requests_per_second)

    def search(self, body: Mapping[str, Any]) -> dict[str, Any]:
        url = self.config.base_url.rstrip("/") + SEARCH_PATH
        self._pace.wait()
        response = self.session.post(url, json=body)
        self.requests_made += 1
        return response_json(SOURCE, response, classify_error)

    def close(self) -> None:
        self.session.close()


class Pacer:
    """Spaces calls at least ``1 / rate`` seconds apart, so searches stay under the
    documented per-second limit instead of bouncing off it (written by hand: a dozen
    lines, where a token-bucket library would add a dependency for one call site)."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate
        self.next_at = 0.0
        self.lock = threading.Lock()

    def wait(self) -> None:
        with self.lock:
            now = time.monotonic()
            delay = self.next_at - now
            self.next_at = max(now, self.next_at) + self.interval
        if delay > 0:
            time.sleep(delay)


def classify_error(response: requests.Response, body: Any) -> ConnectorError | None:
    """HubSpot's error bodies: category for auth, policyName for rate limits."""
    body = body if isinstance(body, Mapping) else {}
    category = str(body.get("category", ""))
    if response.status_code == 401 or category.endswith("_AUTHENTICATION"):
        why = "token expired" if category == "EXPIRED_AUTHENTICATION" else "token refused"
        return AuthError(SOURCE, f"{why} ({error_detail(body)}); re-authorize the HubSpot app")
    if response.status_code == 429 and body.get("policyName") == "DAILY":
        return TerminalError(SOURCE, "daily API limit reached; the sync resumes after midnight")
    return None


def _epoch_ms(moment: datetime) -> str:
    return str(int(moment.timestamp() * 1000))


def _search_body(config: HubSpotConfig, filters: list[dict], sort: str, after: str | None) -> dict:
    body: dict[str, Any] = {
        "filterGroups": [{"filters": filters}],
        "sorts": [{"propertyName": sort, "direction": "ASCENDING"}],
        "properties": [*PROPERTIES, *config.extra_properties],
        "limit": config.page_size,
    }
    if after is not None:
        body["after"] = after
    return body


def _modified(record: Mapping[str, Any]) -> datetime | None:
    value = (record.get("properties") or {}).get(CURSOR_PROPERTY) or record.get("updatedAt")
    try:
        return parse_timestamp(value)
    except ValueError:
        return None


def _record_id(record: Mapping[str, Any]) -> int:
    return int((record.get("properties") or {}).get(ID_PROPERTY) or record["id"])


class _Walk:
    """The state of one extraction: pages yielded and the highest cursor seen."""

    def __init__(self, client: HubSpotClient, partition: str) -> None:
        self.client = client
        self.partition = partition
        self.number = 0
        self.cursor: datetime | None = None
        self.capped = False

    def window(self, filters: list[dict], sort: str) -> Iterator[Page]:
        """Page one query; afterwards ``capped`` says the 10,000 cap stopped it early."""
        after: str | None = None
        fetched = 0
        self.capped = False
        while True:
            reply = self.client.search(_search_body(self.client.config, filters, sort, after))
            records = list(reply.get("results") or [])
            fetched += len(records)
            after = ((reply.get("paging") or {}).get("next") or {}).get("after")
            self.capped = after is not None and fetched + self.client.config.page_size > RESULT_CAP
            yield self._page(records)
            if after is None or self.capped:
                return

    def _page(self, records: list[dict[str, Any]]) -> Page:
        for record in records:
            moment = _modified(record)
            if moment is not None and (self.cursor is None or moment > self.cursor):
                self.cursor = moment
        self.number += 1
        return Page(records, self.cursor, self.number, self.partition)


def pages(client: HubSpotClient, portal_id: str, start_for: StartFor) -> Iterator[Page]:
    """Every contact of the portal modified at or after its start, cursor ascending."""
    walk = _Walk(client, portal_id)
    lower = start_for(portal_id) or datetime(1970, 1, 1, tzinfo=UTC)
    operator = "GTE"
    while True:
        bound = {"propertyName": CURSOR_PROPERTY, "operator": operator, "value": _epoch_ms(lower)}
        last_modified = None
        for page in walk.window([bound], CURSOR_PROPERTY):
            last_modified = max(filter(None, map(_modified, page.records)), default=last_modified)
            yield page
        if not walk.capped or last_modified is None:
            return
        log.info("hubspot: result cap reached, reading ties at %s", last_modified.isoformat())
        yield from _tie_window(walk, last_modified)
        lower, operator = last_modified, "GT"


def _tie_window(walk: _Walk, moment: datetime) -> Iterator[Page]:
    """Every contact whose cursor equals ``moment``, by numeric id, restartable by id."""
    at = _epoch_ms(moment)
    above: int | None = None
    while True:
        filters = [
            {"propertyName": CURSOR_PROPERTY, "operator": "GTE", "value": at},
            {"propertyName": CURSOR_PROPERTY, "operator": "LTE", "value": at},
        ]
        if above is not None:
            filters.append({"propertyName": ID_PROPERTY, "operator": "GT", "value": str(above)})
        for page in walk.window(filters, ID_PROPERTY):
            above = max((_record_id(r) for r in page.records), default=above)
            yield page
        if not walk.capped:
            return


def record_key(record: Mapping[str, Any]) -> str | None:
    value = record.get("id") or (record.get("properties") or {}).get(ID_PROPERTY)
    return str(value) if value not in (None, "") else None


def to_lead(record: Mapping[str, Any], context: LeadContext) -> Lead:
    """Map one contact from the search API to a Lead."""
    key = record_key(record)
    if key is None:
        raise InvalidRecord(SOURCE, None, "id", "missing")
    props: Mapping[str, Any] = record.get("properties") or {}

    def field(name: str, parse: Any) -> Any:
        try:
            return parse(props.get(name))
        except ValueError as error:
            raise InvalidRecord(SOURCE, key, name, str(error)) from None

    created = field("createdate", lambda v: parse_timestamp(v or record.get("createdAt")))
    updated = field(CURSOR_PROPERTY, lambda v: parse_timestamp(v or record.get("updatedAt")))
    country = clean_text(props.get("country"))
    region = region_for_country(country, context.default_region)
    raw_phone = props.get("phone") or props.get("mobilephone")
    email, match_key, phone, problems = contact_routes(props.get("email"), raw_phone, region)
    if email is None and phone is None:
        reason = problems.get("email") or "no email and no phone"
        raise InvalidRecord(SOURCE, key, "email", f"no way to reach this contact: {reason}")
    custom = {k: v for k, v in props.items() if k not in _MAPPED and v not in (None, "")}
    if problems:
        custom["_invalid"] = problems
    for name in ("hs_analytics_source", "hs_analytics_source_data_1", "hs_analytics_source_data_2"):
        if props.get(name):
            custom[name] = props[name]
    if props.get("hs_merged_object_ids"):
        custom["hs_merged_object_ids"] = props["hs_merged_object_ids"]
    return Lead(
        source=SOURCE,
        source_lead_id=key,
        account_id=context.account_id,
        created_at=created,
        updated_at=updated,
        email=email,
        email_match_key=match_key,
        phone=phone,
        first_name=clean_name(props.get("firstname")),
        last_name=clean_name(props.get("lastname")),
        company=clean_text(props.get("company")),
        job_title=clean_text(props.get("jobtitle")),
        country=country,
        city=clean_text(props.get("city")),
        source_stage=clean_text(props.get("lifecyclestage")),
        owner_id=clean_text(props.get("hubspot_owner_id")),
        is_test=False,
        consent={"legal_basis": props["hs_legal_basis"]} if props.get("hs_legal_basis") else None,
        custom_fields=custom,
        raw=dict(record),
    )


CONNECTOR = Connector(
    name=SOURCE,
    config_class=HubSpotConfig,
    open=open_session,
    accounts=accounts,
    pages=pages,
    to_lead=to_lead,
    record_key=record_key,
    doc_url="https://developers.hubspot.com/docs/api/crm/search",
)
