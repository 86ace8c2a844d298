"""Mailchimp Marketing API v3: audience members as leads, email activity as engagement events.

Docs followed (https://mailchimp.com/developer/marketing/): docs/fundamentals/ and
docs/errors/ (see ``leadflow.connectors.mailchimp.client``: the key, the connection cap, the
problem+json errors); api/lists/; api/list-members/ (``count`` <= 1000,
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

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, ClassVar

from leadflow.connectors.base import Connector, Page, StartFor, Stream
from leadflow.connectors.mailchimp.client import (
    CAMPAIGN_FIELDS,
    LIST_FIELDS,
    MAX_CONNECTIONS,
    MailchimpClient,
    MailchimpConfig,
    classify_error,
    connection_gate,
    open_session,
)
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

__all__ = [
    "CONNECTOR",
    "ENGAGEMENT",
    "MAX_CONNECTIONS",
    "MailchimpClient",
    "MailchimpConfig",
    "accounts",
    "activity_pages",
    "classify_error",
    "connection_gate",
    "open_session",
    "pages",
]


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
