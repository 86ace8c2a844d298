"""A local Mailchimp Marketing API v3 server that behaves as Mailchimp documents it.

Docs used (errors, connection cap, pagination, partial responses:
``leadflow.sandbox.mailchimp.http``):
* https://mailchimp.com/developer/marketing/docs/fundamentals/ : base ``https://<dc>.api.
  mailchimp.com/3.0``, the data center is the API key's suffix (``...-us21``); HTTP Basic with
  any username and the key as password, or an OAuth 2 access token as ``Bearer``; at most 10
  simultaneous connections (429 beyond), no request quota, no rate-limit headers.
* https://mailchimp.com/developer/marketing/docs/errors/ : problem+json error bodies.
* https://mailchimp.com/developer/marketing/docs/methods-parameters/ : ``count``/``offset``,
  ``fields``/``exclude_fields``.
* https://mailchimp.com/developer/marketing/api/lists/ : ``GET /lists``, ``GET /lists/{id}``.
* https://mailchimp.com/developer/marketing/api/list-members/ : ``GET /lists/{id}/members``
  (``status``, ``email_type``, ``since_/before_timestamp_opt``, ``since_/before_last_changed``,
  ``vip_only``, ``unique_email_id``, ``sort_field`` timestamp_opt|timestamp_signup|last_changed,
  ``sort_dir`` ASC|DESC) and ``GET /lists/{id}/members/{subscriber_hash}`` (the MD5 of the
  lower-cased address; the email address or contact_id are accepted too).
* https://mailchimp.com/developer/marketing/api/campaigns/ : ``GET /campaigns`` (``type``,
  ``status``, ``list_id``, ``since_/before_send_time``, ``since_/before_create_time``,
  ``sort_field`` create_time|send_time, ``sort_dir``) and ``GET /campaigns/{id}``.
* https://mailchimp.com/developer/marketing/api/email-activity-reports/ :
  ``GET /reports/{id}/email-activity`` (``since``: activity events after that time).
* https://mailchimp.com/developer/marketing/api/unsub-reports/ : ``GET /reports/{id}/unsubscribed``.

Not documented, so chosen (see ``mailchimp_http`` too): ``since_*``/``before_*`` bounds are
exclusive; without ``status`` archived members are left out (``archived_by_default=True`` keeps
them); unsorted members come in web_id order, campaigns by create_time; ``count`` above 1000 is
capped as observed in production (``strict_count=True``: 400); ``since`` on email activity drops
recipients left without events. Read-only: other methods on known paths answer 405.
"""

from __future__ import annotations

import copy
import re
import threading
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from leadflow.sandbox.mailchimp import http as mc
from leadflow.sandbox.mailchimp.data import MailchimpDataset, mailchimp_dataset
from leadflow.sandbox.mailchimp.filters import campaign_filter, member_filter, sort_rows
from leadflow.sandbox.mailchimp.http import MailchimpError
from leadflow.sandbox.mailchimp.limits import CappedServer, credential
from leadflow.sandbox.server import Request, Response, json_response

Body = dict[str, Any]
MEMBER_SORTS = ("timestamp_opt", "timestamp_signup", "last_changed")


class MailchimpSandbox(CappedServer):
    """``with MailchimpSandbox() as mc: requests.get(mc.url("/lists"), auth=("x", mc.api_key))``.

    ``base_url`` is the root (clients append ``/3.0``). Every request holds one of the
    credential's ``max_connections`` slots until its response is written, fault delays and
    ``slow_seconds`` included; one more in flight gets 429.
    """

    def __init__(
        self,
        dataset: MailchimpDataset | None = None,
        *,
        api_key: str = "sandbox-key-us21",
        oauth_token: str = "sandbox-oauth-token",
        port: int = 0,
        max_connections: int | None = 10,
        slow_seconds: float = 0.0,
        strict_count: bool = False,
        archived_by_default: bool = False,
        forbidden: tuple[str, ...] = (),
    ) -> None:
        if "-" not in api_key:
            raise ValueError("a Mailchimp API key ends with its data center, e.g. '...-us21'")
        super().__init__(self._app, port=port, max_connections=max_connections)
        self.dataset = dataset if dataset is not None else mailchimp_dataset()
        self.api_key, self.oauth_token = api_key, oauth_token
        self.slow_seconds, self.strict_count = slow_seconds, strict_count
        self.archived_by_default = archived_by_default
        # Paths (regular expressions, under /3.0) the key's user may not access: 403.
        self.forbidden = [re.compile(pattern) for pattern in forbidden]
        self._lock = threading.RLock()
        self._routes: list[tuple[re.Pattern[str], Callable[[Request], Body]]] = [
            (re.compile(pattern), handler)
            for pattern, handler in (
                (r"/3\.0/ping", self._ping),
                (r"/3\.0/lists", self._lists),
                (r"/3\.0/lists/(?P<list>[^/]+)", self._list),
                (r"/3\.0/lists/(?P<list>[^/]+)/members", self._members),
                (r"/3\.0/lists/(?P<list>[^/]+)/members/(?P<member>[^/]+)", self._member),
                (r"/3\.0/campaigns", self._campaigns),
                (r"/3\.0/campaigns/(?P<campaign>[^/]+)", self._campaign),
                (r"/3\.0/reports/(?P<campaign>[^/]+)/email-activity", self._email_activity),
                (r"/3\.0/reports/(?P<campaign>[^/]+)/unsubscribed", self._unsubscribed),
            )
        ]

    def __enter__(self) -> MailchimpSandbox:
        self.start()
        return self

    @property
    def dc(self) -> str:
        return self.api_key.rsplit("-", 1)[1]

    def url(self, path: str) -> str:
        return f"{self.base_url}/3.0{path}"

    # -- test helpers ------------------------------------------------------------------------
    def upsert_member(self, list_id: str, email: str, **fields: Any) -> Body:
        """See ``MailchimpDataset.upsert_member`` (``last_changed`` defaults to now)."""
        with self._lock:
            return self.dataset.upsert_member(list_id, email, **fields)

    def change_email(self, list_id: str, email: str, new_email: str, **kw: Any) -> Body:
        """See ``MailchimpDataset.change_email`` (the member id changes, contact_id stays)."""
        with self._lock:
            return self.dataset.change_email(list_id, email, new_email, **kw)

    def add_activity(self, campaign_id: str, email: str, action: str, **kw: Any) -> Body:
        """See ``MailchimpDataset.add_activity``."""
        with self._lock:
            return self.dataset.add_activity(campaign_id, email, action, **kw)

    def push_error(
        self, status: int = 500, title: str | None = None, detail: str | None = None, *,
        times: int = 1, path: str | None = None,
    ) -> None:  # fmt: skip
        """Answer the next ``times`` (matching) requests with a problem+json error."""
        if status == 429:
            response = mc.too_many(self.connections.limit or 10)
        else:
            _code, default_title, default_detail = mc.INTERNAL
            response = mc.problem(status, title or default_title, detail or default_detail)
        body = response.body if isinstance(response.body, dict) else {}
        self.faults.push(status, body, response.headers, times=times, path=path)

    # -- HTTP ------------------------------------------------------------------------------
    def _app(self, request: Request) -> Response:
        if self.refused:
            return mc.too_many(self.connections.limit or 10)
        try:
            self._authenticate(request)
            handler = self._resolve(request)
            if self.slow_seconds:
                self._stopping.wait(self.slow_seconds)
            with self._lock:
                body = handler(request)
        except MailchimpError as error:
            return error.response()
        headers = {"Content-Type": mc.JSON, "X-Request-Id": str(uuid.uuid4())}
        return json_response(200, mc.partial(request, body), headers)

    def _authenticate(self, request: Request) -> None:
        found = credential(request.header("Authorization"))
        if found is None:
            raise MailchimpError.of(mc.API_KEY_MISSING)
        expected = self.api_key if found[0] == "basic" else self.oauth_token
        if found[1] != expected:
            raise MailchimpError.of(mc.API_KEY_INVALID)
        if any(pattern.search(request.path.removeprefix("/3.0")) for pattern in self.forbidden):
            raise MailchimpError.of(mc.FORBIDDEN)

    def _resolve(self, request: Request) -> Callable[[Request], Body]:
        path = request.path.rstrip("/") or "/"
        for pattern, handler in self._routes:
            found = pattern.fullmatch(path)
            if found is None:
                continue
            if request.method != "GET":
                raise MailchimpError.of(mc.METHOD_NOT_ALLOWED, headers={"Allow": "GET"})
            request.match = found
            return handler
        raise MailchimpError.of(mc.NOT_FOUND)

    def _links(self, request: Request, parent: str | None = None) -> list[Body]:
        """Links of a response: itself and, if given, its parent (a path under ``/3.0``)."""
        return self._item_links(request.path.removeprefix("/3.0"), parent)

    def _item_links(self, path: str, parent: str | None = None) -> list[Body]:
        links = [{"rel": "self", "href": self.url(path), "method": "GET"}]
        if parent is not None:
            links.append({"rel": "parent", "href": self.url(parent), "method": "GET"})
        return links

    def _page(self, request: Request, rows: list[Any]) -> list[Any]:
        count, offset = mc.page(request, strict=self.strict_count)
        return rows[offset : offset + count]

    # -- handlers --------------------------------------------------------------------------
    def _ping(self, request: Request) -> Body:
        return {"health_status": "Everything's Chimpy!"}

    def _list_or_404(self, list_id: str) -> Body:
        found = self.dataset.list_info(list_id)
        if found is None:
            raise MailchimpError.of(mc.NOT_FOUND)
        return found

    def _lists(self, request: Request) -> Body:
        since, before = (mc.timestamp(request, f"{b}_date_created") for b in ("since", "before"))
        email = request.param("email")
        rows = [self._list_or_404(item["id"]) for item in self.dataset.lists
                if mc.in_window(item["date_created"], since, before)
                and (not email or item["id"] in self.dataset.lists_with(email))]  # fmt: skip
        lists = [
            {**row, "_links": self._item_links(f"/lists/{row['id']}", "/lists")} for row in rows
        ]
        constraints = {"may_create": False, "max_instances": 5,
                       "current_total_instances": len(self.dataset.lists)}  # fmt: skip
        return {"lists": self._page(request, lists), "total_items": len(rows),
                "constraints": constraints, "_links": self._links(request)}  # fmt: skip

    def _list(self, request: Request) -> Body:
        found = self._list_or_404(unquote(request.match["list"]))  # type: ignore[index]
        return {**found, "_links": self._links(request, "/lists")}

    def _members(self, request: Request) -> Body:
        list_id = unquote(request.match["list"])  # type: ignore[index]
        self._list_or_404(list_id)
        keep = member_filter(request, self.archived_by_default)
        rows = sort_rows(request, [m for m in self.dataset.iter_members(list_id) if keep(m)],
                         MEMBER_SORTS)  # fmt: skip
        members = [self._member_body(request, m) for m in self._page(request, rows)]
        return {"members": members, "list_id": list_id, "total_items": len(rows),
                "_links": self._links(request, f"/lists/{list_id}")}  # fmt: skip

    def _member_body(self, request: Request, member: Body) -> Body:
        parent = f"/lists/{member['list_id']}/members"
        links = self._item_links(f"{parent}/{member['id']}", parent)
        return {**copy.deepcopy(member), "_links": links}

    def _member(self, request: Request) -> Body:
        list_id = unquote(request.match["list"])  # type: ignore[index]
        self._list_or_404(list_id)
        found = self.dataset.member(list_id, unquote(request.match["member"]))  # type: ignore[index]
        if found is None:
            raise MailchimpError.of(mc.NOT_FOUND)
        return self._member_body(request, found)

    def _campaigns(self, request: Request) -> Body:
        keep = campaign_filter(request)
        rows = [c for c in map(self.dataset.campaign, (i["id"] for i in self.dataset.campaigns))
                if c is not None and keep(c)]  # fmt: skip
        rows = sort_rows(request, rows, ("create_time", "send_time"), "create_time")
        campaigns = [
            {**c, "_links": self._item_links(f"/campaigns/{c['id']}", "/campaigns")} for c in rows
        ]
        return {"campaigns": self._page(request, campaigns), "total_items": len(rows),
                "_links": self._links(request)}  # fmt: skip

    def _campaign_or_404(self, request: Request, sent: bool) -> Body:
        found = self.dataset.campaign(unquote(request.match["campaign"]))  # type: ignore[index]
        if found is None or (sent and found["status"] != "sent"):
            raise MailchimpError.of(mc.NOT_FOUND)
        return found

    def _campaign(self, request: Request) -> Body:
        return {**self._campaign_or_404(request, False), "_links": self._links(request)}

    def _report(self, request: Request, key: str, rows: list[Body], campaign_id: str) -> Body:
        """A paged campaign report; each row links to ``.../{email_id}`` under the report."""
        path = request.path.removeprefix("/3.0")
        shaped = [{**row, "_links": self._item_links(f"{path}/{row['email_id']}", path)}
                  for row in self._page(request, rows)]  # fmt: skip
        return {key: shaped, "campaign_id": campaign_id, "total_items": len(rows),
                "_links": self._links(request, f"/reports/{campaign_id}")}  # fmt: skip

    def _email_activity(self, request: Request) -> Body:
        campaign_id = self._campaign_or_404(request, True)["id"]
        rows = self.dataset.activity(campaign_id, mc.timestamp(request, "since"))
        return self._report(request, "emails", rows, campaign_id)

    def _unsubscribed(self, request: Request) -> Body:
        campaign_id = self._campaign_or_404(request, True)["id"]
        return self._report(
            request, "unsubscribes", self.dataset.unsubscribes(campaign_id), campaign_id
        )
