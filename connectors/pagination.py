"""One page loop for every connector, over the three ways the platforms page.

- ``Cursor``: the reply names an opaque cursor, sent back as a parameter for the next page;
  no cursor on the last page. Meta's ``after`` (``paging.cursors.after``,
  https://developers.facebook.com/docs/graph-api/results), HubSpot's ``after``
  (``paging.next.after``, https://developers.hubspot.com/docs/api/crm/search and
  https://developers.hubspot.com/docs/api/crm/owners).
- ``PageToken``: the same shape under its own name. Google Ads' ``nextPageToken`` sent back
  as ``pageToken``, absent on the last page
  (https://developers.google.com/google-ads/api/reference/rpc/v24/SearchGoogleAdsRequest);
  LinkedIn's ``metadata.nextPageToken`` on ``adCampaigns?q=search``
  (https://learn.microsoft.com/en-us/linkedin/marketing/integrations/ads/account-structure/create-and-manage-campaigns).
- ``Offset``: the next page starts after the items read so far; an empty page, or reaching
  the reported total, ends it. Mailchimp's ``offset``/``count`` with ``total_items``
  (https://mailchimp.com/developer/marketing/docs/methods-parameters/#pagination), LinkedIn's
  ``start``/``count`` with ``paging.total``
  (https://learn.microsoft.com/en-us/linkedin/shared/api-guide/concepts/pagination).

``paginate(fetch, paging, source=, where=)`` asks ``fetch(params)`` for one page after the
other, ``params`` being what the strategy adds to the request (``{"after": "..."}``), and
yields each reply with its number and whether it is the last. A position (cursor, token,
offset) already asked for in this loop is refused with a ``TerminalError`` naming the source
and ``where`` (a method and path: never query values): a platform handing back a cursor it
gave before would otherwise be paged forever. A strategy whose next position depends on more
than the reply (Mailchimp's re-anchoring member walk) implements ``Paging`` itself.

Nothing here speaks HTTP: ``fetch`` can read anything that pages (files in chunks, say).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Hashable, Iterator, Sized
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, NamedTuple, Protocol, TypeVar

from leadflow.connectors.errors import TerminalError

P = TypeVar("P")
R = TypeVar("R")


class Paging(Protocol[P]):
    """How a platform pages: the first position, what to send for one, and the next one."""

    name: ClassVar[str]  # what a position is called in an error: "cursor", "offset"...

    def first(self) -> P:
        """The position of the first page."""
        ...

    def params(self, position: P) -> dict[str, Any]:
        """What to add to the request for the page at ``position``."""
        ...

    def following(self, position: P, reply: Any) -> P | None:
        """The position of the page after ``reply``, or None when ``reply`` was the last."""
        ...

    def key(self, position: P) -> Hashable:
        """What identifies ``position`` among those already asked for."""
        ...


@dataclass(frozen=True, slots=True)
class Fetched(Generic[R]):
    """One page's reply: its number in this loop (from 1), and whether it is the last."""

    reply: R
    number: int
    last: bool


@dataclass(frozen=True, slots=True)
class Cursor:
    """``read(reply)`` is the cursor of the next page (None or "" on the last), sent back as
    ``param``; the first page is asked without it."""

    read: Callable[[Any], str | None]
    param: str = "after"
    name: ClassVar[str] = "cursor"

    def first(self) -> str | None:
        return None

    def params(self, position: str | None) -> dict[str, Any]:
        return {} if position is None else {self.param: position}

    def following(self, position: str | None, reply: Any) -> str | None:
        following = self.read(reply)
        return str(following) if following else None

    def key(self, position: str | None) -> Hashable:
        return position


@dataclass(frozen=True, slots=True)
class PageToken(Cursor):
    """A cursor called a page token (Google Ads, LinkedIn campaigns): sent as ``pageToken``."""

    param: str = "pageToken"
    name: ClassVar[str] = "page token"


class At(NamedTuple):
    """An offset, and the total the platform last reported (None until it does)."""

    offset: int
    total: int | None = None


@dataclass(frozen=True, slots=True)
class Offset:
    """``items(reply)`` are a page's records and ``total(reply)`` the platform's count of
    them all (None when a reply does not say: the last one said holds). The next page starts
    ``len(items)`` further; an empty page, or an offset at or past the total, ends the loop
    (a short page does not: platforms cap ``count`` silently)."""

    items: Callable[[Any], Sized]
    total: Callable[[Any], int | None]
    param: str = "offset"
    count_param: str | None = None
    count: int | None = None
    name: ClassVar[str] = "offset"

    def first(self) -> At:
        return At(0)

    def params(self, position: At) -> dict[str, Any]:
        sizing = {self.count_param: self.count} if self.count_param else {}
        return {self.param: position.offset, **sizing}

    def following(self, position: At, reply: Any) -> At | None:
        read = len(self.items(reply))
        reported = self.total(reply)
        total = position.total if reported is None else reported
        after = position.offset + read
        if not read or (total is not None and after >= total):
            return None
        return At(after, total)

    def key(self, position: At) -> Hashable:
        return position.offset


class Asked:
    """The positions one loop has asked for; asking one a second time is refused."""

    def __init__(self, source: str, where: str, name: str) -> None:
        self.source, self.where, self.name = source, where, name
        self._seen: set[Hashable] = set()

    def add(self, key: Hashable) -> None:
        """Remember ``key``; a ``TerminalError`` if it was asked for already."""
        if key in self._seen:
            raise TerminalError(
                self.source,
                f"{self.where}: the paging {self.name} did not advance (the platform handed "
                "back one already asked for in this read); stopped rather than loop forever",
            )
        self._seen.add(key)


def paginate(
    fetch: Callable[[dict[str, Any]], R], paging: Paging[Any], *, source: str, where: str
) -> Iterator[Fetched[R]]:
    """Every page, in order: ``fetch(paging.params(position))`` from the first position to
    the last, each reply yielded before the next is asked for (stop iterating to stop)."""
    asked = Asked(source, where, paging.name)
    position = paging.first()
    asked.add(paging.key(position))
    for number in itertools.count(1):
        reply = fetch(paging.params(position))
        following = paging.following(position, reply)
        yield Fetched(reply, number, following is None)
        if following is None:
            return
        asked.add(paging.key(following))
        position = following
