"""The Mailchimp Marketing API v3 sandbox, exercised over real HTTP."""

from __future__ import annotations

import hashlib
import re
import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from leadflow.sandbox.mailchimp.app import MailchimpSandbox
from leadflow.sandbox.mailchimp.data import mailchimp_dataset
from leadflow.sandbox.mailchimp.http import page
from leadflow.sandbox.server import Request

KEY = "sandbox-key-us21"
MC_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$")
PROBLEM = "application/problem+json; charset=utf-8"
INVALID_KEY = {
    "type": "https://mailchimp.com/developer/marketing/docs/errors/",
    "title": "API Key Invalid",
    "status": 401,
    "detail": "Your API key may be invalid, or you've attempted to access the wrong datacenter.",
}


class Client:
    """A minimal client: Basic auth with any username, JSON answers."""

    def __init__(self, sandbox: MailchimpSandbox) -> None:
        self.sandbox, self.http = sandbox, requests.Session()
        self.http.auth = ("anystring", KEY)

    def get(self, path: str, **params: Any) -> requests.Response:
        return self.http.get(self.sandbox.url(path), params=params, timeout=10)

    def ok(self, path: str, **params: Any) -> dict[str, Any]:
        response = self.get(path, **params)
        assert response.status_code == 200, response.text
        return response.json()

    def all(self, path: str, key: str, count: int = 100, **params: Any) -> list[dict[str, Any]]:
        """Every row, paging with count/offset until total_items is reached."""
        rows: list[dict[str, Any]] = []
        while True:
            body = self.ok(path, count=count, offset=len(rows), **params)
            rows += body[key]
            if not body[key] or len(rows) >= body["total_items"]:
                return rows


@pytest.fixture(scope="module")
def shared() -> Iterator[Client]:
    with MailchimpSandbox() as sandbox:
        yield Client(sandbox)


@pytest.fixture
def small() -> Iterator[Client]:
    with MailchimpSandbox(mailchimp_dataset(60)) as sandbox:
        yield Client(sandbox)


def first_list(client: Client) -> str:
    return client.sandbox.dataset.lists[0]["id"]


def sent_campaign(client: Client) -> dict[str, Any]:
    """The sent campaign with the most recipients who unsubscribed."""
    ds = client.sandbox.dataset
    sent = [c for c in ds.campaigns if c["status"] == "sent"]
    return max(sent, key=lambda c: (len(ds.unsubscribes(c["id"])), c["id"]))


# -- dataset -----------------------------------------------------------------------------------
def test_dataset_is_deterministic_and_realistic() -> None:
    data = mailchimp_dataset()
    assert data == mailchimp_dataset() and data != mailchimp_dataset(seed=20)
    assert len(data.lists) == 3
    statuses = sum((data.status_counts(item["id"]) for item in data.lists), Counter())
    assert set(statuses) == {"subscribed", "unsubscribed", "cleaned", "pending", "transactional",
                             "archived"}  # fmt: skip
    assert 0.6 < statuses["subscribed"] / sum(statuses.values()) < 0.8
    members = [m for item in data.lists for m in data.iter_members(item["id"])]
    assert all(m["id"] == hashlib.md5(m["email_address"].lower().encode()).hexdigest()
               for m in members)  # fmt: skip
    assert any(m["email_address"] != m["email_address"].lower() for m in members)
    changed = Counter(m["last_changed"] for m in members)
    assert changed.most_common(1)[0][1] >= 20  # a bulk edit: many members, one second
    assert all(MC_TIME.match(value) for value in changed)
    window = data.anchor - timedelta(days=90)
    assert all(window <= datetime.fromisoformat(v) < data.anchor for v in changed)
    assert all(1 <= m["member_rating"] <= 5 for m in members)
    sent = [c for c in data.campaigns if c["status"] == "sent"]
    assert len(sent) == 10 and {c["status"] for c in data.campaigns} == {"sent", "save", "schedule"}
    counts = sum((data.activity_counts(c["id"]) for c in sent), Counter())
    assert set(counts) == {"open", "click", "bounce"} and counts["open"] > counts["click"]
    assert sum(len(data.unsubscribes(c["id"])) for c in sent) > 20
    events = [e for c in sent for r in data.activity(c["id"]) for e in r["activity"]]
    assert all(e["timestamp"] < data.anchor.isoformat() for e in events)
    assert all("url" in e for e in events if e["action"] == "click")
    assert {e["type"] for e in events if e["action"] == "bounce"} == {"hard", "soft"}


# -- auth and errors --------------------------------------------------------------------------
def test_basic_auth_any_username_and_bearer(small: Client) -> None:
    url = small.sandbox.url("/ping")
    assert requests.get(url, auth=("whatever", KEY), timeout=5).json() == {
        "health_status": "Everything's Chimpy!"
    }
    bearer = {"Authorization": "Bearer sandbox-oauth-token"}
    assert requests.get(url, headers=bearer, timeout=5).status_code == 200
    assert small.sandbox.dc == "us21"
    assert all(
        "authorization" not in {h.lower() for h in r.headers} for r in small.sandbox.requests
    )


def test_wrong_key_is_a_401_problem(small: Client) -> None:
    for auth in (("anystring", "0123abcd-us21"), ("anystring", "sandbox-key-us3")):
        response = requests.get(small.sandbox.url("/lists"), auth=auth, timeout=5)
        assert response.status_code == 401
        assert response.headers["Content-Type"] == PROBLEM
        body = response.json()
        assert {k: body[k] for k in INVALID_KEY} == INVALID_KEY
        assert re.fullmatch(r"[0-9a-f-]{36}", body["instance"])
        assert response.headers["X-Request-Id"] == body["instance"]
    missing = requests.get(small.sandbox.url("/lists"), timeout=5)
    assert (missing.status_code, missing.json()["title"]) == (401, "API Key Missing")


def test_not_found_and_method_not_allowed(small: Client) -> None:
    missing = small.get("/lists/nope/members")
    assert missing.status_code == 404 and missing.json()["title"] == "Resource Not Found"
    assert missing.headers["Content-Type"] == PROBLEM
    assert small.get("/automations").status_code == 404
    post = small.http.post(small.sandbox.url(f"/lists/{first_list(small)}/members"), timeout=5)
    assert post.status_code == 405 and post.headers["Allow"] == "GET"
    assert post.json()["title"] == "Method Not Allowed"


def test_bad_parameters_are_400_problems(small: Client) -> None:
    path = f"/lists/{first_list(small)}/members"
    bad = small.get(path, status="bogus")
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "status"
    # an unencoded "+" arrives as a space: not ISO 8601
    raw = small.http.get(small.sandbox.url(path) + "?since_last_changed=2026-11-20T10:00:00+00:00")
    assert raw.status_code == 400 and raw.json()["title"] == "Invalid Resource"
    assert small.get(path, count="ten").status_code == 400


def test_count_is_capped_at_1000_or_refused_when_strict() -> None:
    def request(count: str) -> Request:
        return Request("GET", "/", {"count": [count]}, {}, b"")

    assert page(request("5000")) == (1000, 0) and page(request("7")) == (7, 0)
    with MailchimpSandbox(mailchimp_dataset(30), strict_count=True) as sandbox:
        client = Client(sandbox)
        assert client.get(f"/lists/{first_list(client)}/members", count=1001).status_code == 400


# -- lists and members ------------------------------------------------------------------------
def test_lists(shared: Client) -> None:
    body = shared.ok("/lists", fields="lists.id,lists.name,lists.stats.member_count,total_items")
    assert set(body) == {"lists", "total_items"} and body["total_items"] == 3
    for item in body["lists"]:
        assert set(item) == {"id", "name", "stats"}
        subscribed = shared.sandbox.dataset.status_counts(item["id"])["subscribed"]
        assert item["stats"] == {"member_count": subscribed}
    full = shared.ok(f"/lists/{first_list(shared)}")
    assert MC_TIME.match(full["date_created"]) and "_links" in full


def test_members_paging_and_total_items(shared: Client) -> None:
    list_id = first_list(shared)
    default = shared.ok(f"/lists/{list_id}/members")
    assert len(default["members"]) == 10 and default["list_id"] == list_id
    expected = [m["id"] for m in shared.sandbox.dataset.iter_members(list_id)
                if m["status"] != "archived"]  # fmt: skip
    assert default["total_items"] == len(expected)
    rows = shared.all(f"/lists/{list_id}/members", "members", count=37)
    assert [m["id"] for m in rows] == expected
    past = shared.ok(f"/lists/{list_id}/members", offset=len(expected) + 5)
    assert past["members"] == [] and past["total_items"] == len(expected)


def test_archived_only_on_request(shared: Client) -> None:
    list_id = first_list(shared)
    archived = shared.all(f"/lists/{list_id}/members", "members", status="archived")
    assert archived and {m["status"] for m in archived} == {"archived"}
    assert len(archived) == shared.sandbox.dataset.status_counts(list_id)["archived"]
    one = shared.ok(f"/lists/{list_id}/members/{archived[0]['id']}")
    assert one["status"] == "archived"


def test_since_last_changed_is_exclusive_and_sorts(shared: Client) -> None:
    list_id = first_list(shared)
    stored = [m for m in shared.sandbox.dataset.iter_members(list_id) if m["status"] != "archived"]
    cutoff = Counter(m["last_changed"] for m in stored).most_common(1)[0][0]  # a tie
    rows = shared.all(f"/lists/{list_id}/members", "members", since_last_changed=cutoff,
                      sort_field="last_changed", sort_dir="ASC")  # fmt: skip
    expected = sorted(m["last_changed"] for m in stored if m["last_changed"] > cutoff)
    assert [m["last_changed"] for m in rows] == expected
    newest = shared.ok(f"/lists/{list_id}/members", sort_field="last_changed", sort_dir="DESC",
                       count=1, fields="members.last_changed")  # fmt: skip
    assert newest["members"][0]["last_changed"] == max(m["last_changed"] for m in stored)
    before = shared.ok(f"/lists/{list_id}/members", before_last_changed=cutoff, count=1)
    assert before["total_items"] == sum(m["last_changed"] < cutoff for m in stored)


def test_partial_responses(shared: Client) -> None:
    path = f"/lists/{first_list(shared)}/members"
    body = shared.ok(path, fields="members.id,members.email_address,total_items", count=3)
    assert set(body) == {"members", "total_items"}
    assert all(set(m) == {"id", "email_address"} for m in body["members"])
    slim = shared.ok(path, exclude_fields="_links,members._links,members.merge_fields.ADDRESS")
    assert "_links" not in slim and "list_id" in slim
    assert all("_links" not in m and "ADDRESS" not in m["merge_fields"] and "FNAME"
               in m["merge_fields"] for m in slim["members"])  # fmt: skip


def test_same_email_in_two_lists_has_the_same_id(shared: Client) -> None:
    ds = shared.sandbox.dataset
    email = next(m["email_address"] for item in ds.lists for m in ds.iter_members(item["id"])
                 if len(ds.lists_with(m["email_address"])) == 2)  # fmt: skip
    first, second = ds.lists_with(email)
    by_hash = hashlib.md5(email.lower().encode()).hexdigest()
    one = shared.ok(f"/lists/{first}/members/{by_hash}")
    two = shared.ok(f"/lists/{second}/members/{requests.utils.quote(email.upper())}")
    assert one["id"] == two["id"] == by_hash and (one["list_id"], two["list_id"]) == (first, second)
    assert one["unique_email_id"] == two["unique_email_id"]
    assert shared.get(f"/lists/{first}/members/{'0' * 32}").status_code == 404


# -- campaigns and reports ----------------------------------------------------------------------
def test_campaigns(shared: Client) -> None:
    sent = shared.ok("/campaigns", status="sent", count=1000,
                     fields="campaigns.id,campaigns.type,campaigns.status,campaigns.send_time,"
                            "campaigns.emails_sent,campaigns.recipients.list_id,"
                            "campaigns.settings.subject_line,campaigns.settings.title,total_items")  # fmt: skip
    assert sent["total_items"] == 10
    assert all(c["status"] == "sent" and c["emails_sent"] > 0 for c in sent["campaigns"])
    assert set(sent["campaigns"][0]["settings"]) == {"subject_line", "title"}
    recent = shared.sandbox.dataset.anchor - timedelta(days=7)
    since = shared.ok("/campaigns", since_send_time=recent.isoformat(), sort_field="send_time")
    assert [c["status"] for c in since["campaigns"]] == ["sent", "sent", "sent", "schedule"]
    one = shared.ok(f"/campaigns/{sent['campaigns'][0]['id']}")
    assert one["report_summary"]["opens"] > 0


def test_email_activity_shape_and_since(shared: Client) -> None:
    campaign, ds = sent_campaign(shared), shared.sandbox.dataset
    path = f"/reports/{campaign['id']}/email-activity"
    emails = shared.all(path, "emails", count=50)
    assert len(emails) == campaign["emails_sent"]
    keys = {"campaign_id", "list_id", "list_is_active", "email_id", "email_address", "activity"}
    assert all(keys <= set(e) for e in emails)
    events = [event for e in emails for event in e["activity"]]
    assert {event["action"] for event in events} <= {"open", "click", "bounce"}
    assert all(MC_TIME.match(event["timestamp"]) for event in events)
    cutoff = sorted(event["timestamp"] for event in events)[len(events) // 2]
    later = shared.all(path, "emails", count=50, since=cutoff)
    assert later and all(e["activity"] and all(ev["timestamp"] > cutoff for ev in e["activity"])
                         for e in later)  # fmt: skip
    expected = ds.activity_counts(campaign["id"], datetime.fromisoformat(cutoff))
    assert Counter(ev["action"] for e in later for ev in e["activity"]) == expected
    unsubs = shared.all(f"/reports/{campaign['id']}/unsubscribed", "unsubscribes")
    assert len(unsubs) == len(ds.unsubscribes(campaign["id"])) > 0
    member = ds.member(campaign["recipients"]["list_id"], unsubs[0]["email_id"])
    assert member is not None and member["status"] == "unsubscribed"
    draft = next(c for c in ds.campaigns if c["status"] == "save")
    assert shared.get(f"/reports/{draft['id']}/email-activity").status_code == 404


def test_mutations_show_up_incrementally(small: Client) -> None:
    sandbox, list_id = small.sandbox, first_list(small)
    mark = datetime.now(UTC) - timedelta(seconds=1)
    sandbox.upsert_member(list_id, "New.Person@Example.com", merge_fields={"FNAME": "New"})
    changed = small.ok(f"/lists/{list_id}/members", since_last_changed=mark.isoformat())
    assert [m["email_address"] for m in changed["members"]] == ["New.Person@Example.com"]
    assert changed["members"][0]["full_name"] == "New"
    campaign = sent_campaign(small)
    audience = campaign["recipients"]["list_id"]
    sandbox.upsert_member(audience, "clicker@example.com")
    sandbox.add_activity(campaign["id"], "clicker@example.com", "click", url="https://x.example/")
    later = small.ok(f"/reports/{campaign['id']}/email-activity", since=mark.isoformat())
    assert [e["email_address"] for e in later["emails"]] == ["clicker@example.com"]
    assert later["emails"][0]["activity"][0]["url"] == "https://x.example/"


# -- the connection cap -------------------------------------------------------------------------
def test_eleventh_simultaneous_request_gets_429() -> None:
    with MailchimpSandbox(mailchimp_dataset(20)) as sandbox:
        sandbox.faults.push_delay(0.5, times=10)  # hold ten connections open
        start = threading.Barrier(11)

        def call(_: int) -> requests.Response:
            start.wait(timeout=5)
            return requests.get(sandbox.url("/ping"), auth=("x", KEY), timeout=10)

        with ThreadPoolExecutor(11) as pool:
            responses = list(pool.map(call, range(11)))
        refused = [r for r in responses if r.status_code == 429]
        assert len(refused) == 1 and sum(r.status_code == 200 for r in responses) == 10
        assert refused[0].headers["Content-Type"] == PROBLEM
        assert refused[0].json()["title"] == "Too Many Requests"
        assert sandbox.max_concurrency_seen == 10 and len(sandbox.faults) == 0
        assert sandbox.connections.in_flight() == 0
        assert requests.get(sandbox.url("/ping"), auth=("x", KEY), timeout=5).status_code == 200


def test_slow_seconds_and_pushed_errors(small: Client) -> None:
    small.sandbox.slow_seconds = 0.3
    start = threading.Barrier(3)

    def call(_: int) -> int:
        start.wait(timeout=5)
        return requests.get(small.sandbox.url("/ping"), auth=("x", KEY), timeout=10).status_code

    with ThreadPoolExecutor(3) as pool:
        codes = list(pool.map(call, range(3)))
    assert codes == [200, 200, 200] and small.sandbox.max_concurrency_seen == 3
    small.sandbox.slow_seconds = 0
    small.sandbox.push_error(503, "Service Unavailable", "Try again later.", path="/lists")
    failed = small.get("/lists")
    assert failed.status_code == 503 and failed.headers["Content-Type"] == PROBLEM
    assert small.get("/lists").status_code == 200
