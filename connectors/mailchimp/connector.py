"""Mailchimp Marketing API v3: audience members as leads, email activity as engagement events.

Docs followed (https://mailchimp.com/developer/marketing/): docs/fundamentals/ (root
``https://<dc>.api.mailchimp.com/3.0``, ``<dc>`` the key's suffix; Basic auth ``any:<key>``;
10 simultaneous connections, 429 beyond, no rate-limit headers); docs/errors/ (problem+json
``{type, title, status, detail, instance}``); api/lists/; api/list-members/ (``count`` <= 1000,
``offset``, ``fields``, ``since_last_changed``, ``sort_field=last_changed``, ``total_items``);
api/campaigns/ (``status=sent``, ``list_id``, ``since_send_time``); api/email-activity-reports/
(``since``); api/unsub-reports/ (no time filter: filtered here by ``timestamp``).

Connections: every request made with one API key passes a process-wide ``BoundedSemaphore`` of
``max_connections`` (<= 10; the first size asked for a key wins), so audiences read in parallel
threads never exceed it together; each session's pool is ``max_connections`` too. Separate
worker processes must split the 10 between them.

Members are offset-paged sorted by ``last_changed`` ascending: a page's cursor is the running
maximum. Offset paging over a changing set can skip: a member changed mid-read moves to the end
(and is read there, at its new version), but the members after its old place shift back one,
and the one at the page boundary would be missed. So each request steps back one place and
checks that its first member was already read; if not, it steps back further (doubling, within
a page); past that the cursor freezes where it was safe and the next run re-reads the rest.
That walk is its own paging strategy for ``leadflow.connectors.pagination``, whose loop every
collection here goes through; retries are the transport's (``classify_error``).
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, ClassVar, Literal

import requests
from pydantic import Field, SecretStr, field_validator, model_validator

from leadflow.connectors.base import Connector, Page, SourceConfig, StartFor, Stream
from leadflow.connectors.errors import AuthError, ConnectorError, RateLimited, TerminalError
from leadflow.connectors.http import PlatformSession, build_retry, error_detail, register_secret
from leadflow.connectors.mailchimp.fields import (
    MEMBER_FIELDS,
    SOURCE,
    latest_activity,
    member_changed,
    member_version,
    record_key,
    to_events,
    to_lead,
    unsubscribed_since,
)
from leadflow.connectors.pagination import Offset, paginate
from leadflow.connectors.urls import VersionPath

MAX_CONNECTIONS = 10  # Mailchimp's documented limit of simultaneous connections per account
_DATA_CENTER = re.compile(r"^[a-z]+[0-9]+$")
LIST_FIELDS = "lists.id,lists.name,total_items"
CAMPAIGN_FIELDS = "campaigns.id,campaigns.send_time,campaigns.recipients.list_id,total_items"


class MailchimpConfig(SourceConfig):
    """A Mailchimp account: an API key, and the audiences (lists) to read."""

    type: Literal["mailchimp"] = "mailchimp"
    # /3.0 is the API's path and its only version: dropped from base_url, never configured.
    VERSION_PATH: ClassVar[VersionPath] = VersionPath(r"3\.0")

    base_url: str | None = Field(
        None,
        description="API host (a /3.0 path is dropped); default https://<dc>.api.mailchimp.com "
        "from the key's -<dc> suffix (the sandbox's URL in the demo and tests)",
    )
    api_key: SecretStr = Field(description="Marketing API key, ending in its data center: -us21")
    list_ids: tuple[str, ...] = Field((), description="audience ids; empty: every audience")
    page_size: int = Field(1000, ge=1, le=1000, description="`count` per request (max 1000)")
    max_connections: int = Field(
        4, ge=1, le=MAX_CONNECTIONS, description="requests in flight per API key (<= 10)"
    )
    activity_days: int = Field(
        30, ge=1, description="campaigns sent this many days before the window are scanned"
    )

    @field_validator("list_ids", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @model_validator(mode="after")
    def _has_root(self) -> MailchimpConfig:
        self.api_root()
        return self

    def api_root(self) -> str:
        """``{base_url}/3.0``, or the key's data center's API root."""
        if self.base_url:
            return f"{self.base_url}/3.0"
        _, _, center = self.api_key.get_secret_value().rpartition("-")
        if not _DATA_CENTER.match(center):
            raise ValueError("the API key has no data-center suffix (like -us21): set base_url")
        return f"https://{center}.api.mailchimp.com/3.0"


_GATES: dict[str, threading.BoundedSemaphore] = {}
_GATES_LOCK = threading.Lock()


def connection_gate(config: MailchimpConfig) -> threading.BoundedSemaphore:
    """The semaphore shared by every request made with this API key in this process."""
    ident = hashlib.sha256(config.api_key.get_secret_value().encode()).hexdigest()
    with _GATES_LOCK:
        gate = _GATES.get(ident)
        if gate is None:
            gate = _GATES[ident] = threading.BoundedSemaphore(config.max_connections)
        return gate


def open_session(config: MailchimpConfig) -> MailchimpClient:
    """A client for one account; the transport retries 429 and 5xx with backoff."""
    key = config.api_key.get_secret_value()
    register_secret(key)
    retry = build_retry(attempts=config.max_attempts, backoff_factor=config.backoff_seconds)
    session = PlatformSession(
        SOURCE,
        timeout=(config.connect_timeout_seconds, config.timeout_seconds),
        retry=retry,
        pool_size=config.max_connections,
    )
    session.auth = ("leadflow", key)
    session.headers["Accept"] = "application/json"
    return MailchimpClient(config, session, connection_gate(config))


class MailchimpClient:
    """GETs through the connection gate; maps problem+json errors."""

    def __init__(
        self, config: MailchimpConfig, session: PlatformSession, gate: threading.Semaphore
    ) -> None:
        self.config = config
        self.session = session
        self.gate = gate
        self.root = config.api_root()
        self.requests_made = 0

    def get(self, path: str, params: Mapping[str, Any], resource: str) -> dict[str, Any]:
        """One GET, its retries included, through the account's connection gate."""
        classify = partial(classify_error, resource=resource)
        self.requests_made += 1
        with self.gate:
            body = self.session.fetch_json(
                "GET", self.root + path, classify=classify, params=dict(params)
            )
        if not isinstance(body, dict):
            raise TerminalError(SOURCE, f"{resource}: expected a JSON object")
        return body

    def close(self) -> None:
        self.session.close()


def classify_error(response: requests.Response, body: Any, resource: str) -> ConnectorError | None:
    """Mailchimp's problem+json errors, by status."""
    status = response.status_code
    why = f"HTTP {status}: {error_detail(body, ('title',))} - {error_detail(body, ('detail',))}"
    if status == 401:
        return AuthError(
            SOURCE, f"Mailchimp API key refused ({why}); check the key or re-authorize"
        )
    if status == 403:
        return AuthError(
            SOURCE, f"access to {resource} forbidden ({why}); check the key or re-authorize"
        )
    if status == 429:
        return RateLimited(SOURCE, f"still throttled after retries on {resource} ({why})")
    if status == 404:
        return TerminalError(SOURCE, f"{resource} not found ({why}); check the configured id")
    if 400 <= status < 500:
        return TerminalError(SOURCE, f"request for {resource} rejected ({why})")
    return None


def _collection(
    client: MailchimpClient, path: str, key: str, params: Mapping[str, Any], resource: str
) -> Iterator[tuple[list[dict[str, Any]], int]]:
    """Every page of a ``count``/``offset`` collection: (items, total_items), until offset
    reaches the total (a short page does not end it; an empty one does)."""
    items = partial(_items, key)
    paging = Offset(items, _total_items, count_param="count", count=client.config.page_size)
    read = partial(_read, client, path, params, resource)
    for page in paginate(read, paging, source=SOURCE, where=f"GET {path}"):
        yield items(page.reply), _total_items(page.reply)


def _read(
    client: MailchimpClient,
    path: str,
    params: Mapping[str, Any],
    resource: str,
    paging: Mapping[str, Any],
) -> dict[str, Any]:
    return client.get(path, {**params, **paging}, resource)


def _items(key: str, reply: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [item for item in reply.get(key) or [] if isinstance(item, dict)]


def _total_items(reply: Mapping[str, Any]) -> int:
    return int(reply.get("total_items") or 0)


def accounts(config: MailchimpConfig) -> list[str]:
    """The configured audiences, else every audience of the account (``GET /lists``)."""
    if config.list_ids:
        return list(config.list_ids)
    client = open_session(config)
    try:
        batches = _collection(client, "/lists", "lists", {"fields": LIST_FIELDS}, "the lists")
        return [str(item["id"]) for items, _ in batches for item in items]
    finally:
        client.close()


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def _at_or_after(moment: datetime) -> str:
    """A ``since`` value that includes ``moment``: the API's ``since_*`` filters mean
    "after", on whole seconds, so ask from the second before."""
    return _iso(moment.replace(microsecond=0) - timedelta(seconds=1))


class _MemberWalk:
    """One audience's members, offset-paged with a re-anchoring step back (module doc).

    The walk is its own ``Paging`` strategy: where a request starts depends on the members
    already read, not on the reply alone. A position is ``(start, offset)``, the offset
    read up to when it was asked; a step back re-asks an earlier start at the same offset.
    """

    name: ClassVar[str] = "offset"

    def __init__(
        self,
        client: MailchimpClient,
        list_id: str,
        partition: str,
        start: datetime | None,
        status: str | None = None,
    ) -> None:
        self.client, self.list_id, self.partition = client, list_id, partition
        self.query: dict[str, Any] = {
            "fields": MEMBER_FIELDS, "sort_field": "last_changed", "sort_dir": "ASC",
        }  # fmt: skip
        if status is not None:
            self.query["status"] = status
        if start is not None:
            self.query["since_last_changed"] = _at_or_after(start)
        self.seen: set[tuple[str, str]] = set()
        self.ids: set[str] = set()
        self.offset = self.number = self.back = 0
        self.cursor: datetime | None = None
        self.frozen = False
        self.ready: Page | None = None

    def pages(self) -> Iterator[Page]:
        path = f"/lists/{self.list_id}/members"
        read = partial(_read, self.client, path, self.query, f"list {self.list_id}")
        for _reply in paginate(read, self, source=SOURCE, where=f"GET {path}"):
            if self.ready is not None:  # None: a step further back, asked again
                yield self.ready

    # -- Paging ----------------------------------------------------------------------------
    def first(self) -> tuple[int, int]:
        return 0, 0

    def key(self, position: tuple[int, int]) -> tuple[int, int]:
        return position

    def params(self, position: tuple[int, int]) -> dict[str, Any]:
        return {"count": self.client.config.page_size, "offset": position[0]}

    def following(self, position: tuple[int, int], reply: Any) -> tuple[int, int] | None:
        """The next request's position, after making this reply's page ``ready`` (or none,
        when the reply shifted further than the step back: then it is asked again)."""
        size, start, self.ready = self.client.config.page_size, position[0], None
        members, total = _items("members", reply), _total_items(reply)
        if 0 < start < self.offset and members and member_version(members[0]) not in self.seen:
            if self.back * 2 < size:  # shifted further than we stepped back: look further
                self.back *= 2
                return max(self.offset - self.back, 0), self.offset
            self.frozen = True  # too far: keep the cursor where it was safe
        fresh = [m for m in members if member_version(m) not in self.seen]
        progressed = start + len(members) > self.offset
        self.offset = max(self.offset, start + len(members))
        done = not progressed or self.offset >= total
        self.ready = self._page(fresh, total, done)
        if done:
            return None
        self.back = min(1, size - 1)
        return max(self.offset - self.back, 0), self.offset

    def _page(self, fresh: list[dict[str, Any]], total: int, done: bool) -> Page:
        self.seen.update(map(member_version, fresh))
        self.ids.update(str(m.get("id")) for m in fresh)
        if not self.frozen:
            moments = [m for m in map(member_changed, fresh) if m is not None]
            self.cursor = max([*moments, *filter(None, [self.cursor])], default=None)
        self.number += 1
        notes: list[str] = []
        if done and len(self.ids) != total:
            notes.append(f"mailchimp {self.partition}: read {len(self.ids)} members, "
                         f"total_items says {total}")  # fmt: skip
        if done and self.frozen:
            notes.append(f"mailchimp {self.partition}: members changed during the read; "
                         "the watermark stays before them")  # fmt: skip
        return Page(fresh, self.cursor, self.number, self.partition, tuple(notes))


def pages(client: MailchimpClient, list_id: str, start_for: StartFor) -> Iterator[Page]:
    """Every member of the audience changed since its start, ``last_changed`` ascending.

    Archived members only come with ``status=archived``: they are a second walk, with its
    own partition ``{list_id}:archived``, so an archived contact's status is kept up to date.
    """
    yield from _MemberWalk(client, list_id, list_id, start_for(list_id)).pages()
    archived = f"{list_id}:archived"
    yield from _MemberWalk(client, list_id, archived, start_for(archived), "archived").pages()


def activity_pages(client: MailchimpClient, list_id: str, start_for: StartFor) -> Iterator[Page]:
    """Opens, clicks, bounces and unsubscribes of the audience's recent campaigns.

    Campaigns sent up to ``activity_days`` before the window's start are scanned, so late
    opens of a campaign are still read; their activity is asked ``since`` the start. Activity
    is not in time order across campaigns: only the partition's last page has a cursor, the
    latest activity seen (or the window's start when there was none).
    """
    start = start_for(list_id)
    days = timedelta(days=client.config.activity_days)
    first = start or datetime.now(UTC) - days
    params = {"status": "sent", "list_id": list_id, "fields": CAMPAIGN_FIELDS,
              "since_send_time": _at_or_after(first - days if start else first)}  # fmt: skip
    notes: list[str] = []
    latest, held, number = None, None, 0
    for records in _activity_batches(client, list_id, params, start, notes):
        if held is not None:
            number += 1
            yield Page(held, None, number, list_id)
        held, latest = records, latest_activity(records, latest)
    yield Page(held or [], latest or first, number + 1, list_id, tuple(notes))


def _activity_batches(
    client: MailchimpClient,
    list_id: str,
    params: Mapping[str, Any],
    since: datetime | None,
    notes: list[str],
) -> Iterator[list[dict[str, Any]]]:
    """Each page of each sent campaign's email activity and unsubscribes."""
    campaigns = _collection(client, "/campaigns", "campaigns", params, f"campaigns of {list_id}")
    reports = (
        ("email-activity", "emails", {"since": _at_or_after(since)} if since else {}),
        ("unsubscribed", "unsubscribes", {}),  # no time filter: filtered here
    )
    for campaign in (c for items, _ in campaigns for c in items):
        cid = str(campaign.get("id"))
        for report, key, query in reports:
            fetched = total = 0
            path, what = f"/reports/{cid}/{report}", f"campaign {cid} {report}"
            for items, reported in _collection(client, path, key, query, what):
                fetched, total = fetched + len(items), reported
                yield items if key == "emails" else unsubscribed_since(items, since)
            if fetched != total:
                notes.append(f"mailchimp {what}: read {fetched}, total_items says {total}")


ENGAGEMENT = Stream(
    name="engagement_events",
    accounts=accounts,
    pages=activity_pages,
    to_rows=to_events,
    record_key=record_key,
)

CONNECTOR = Connector(
    name=SOURCE,
    config_class=MailchimpConfig,
    open=open_session,
    accounts=accounts,
    pages=pages,
    to_lead=to_lead,
    record_key=record_key,
    doc_url="https://mailchimp.com/developer/marketing/api/list-members/",
    streams=(ENGAGEMENT,),
)
