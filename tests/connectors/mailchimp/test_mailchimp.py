"""The Mailchimp connector against the Mailchimp sandbox, over real HTTP."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from leadflow.connectors.base import LeadContext, Page
from leadflow.connectors.errors import AuthError, MissingScope, TerminalError
from leadflow.connectors.mailchimp.connector import (
    CONNECTOR,
    ENGAGEMENT,
    MailchimpConfig,
    accounts,
    activity_pages,
    open_session,
    pages,
)
from leadflow.models.records.leads import InvalidRecord
from leadflow.models.warehouse.tables import engagement_events, leads, sync_state
from leadflow.pipeline.source_sync import RunContext, sync_account, sync_stream
from leadflow.sandbox.mailchimp.app import MailchimpSandbox
from leadflow.sandbox.mailchimp.data import MailchimpDataset, mailchimp_dataset

KEY = "test-mailchimp-key-us21"
NOW = datetime.now(UTC).replace(microsecond=0)
Start = Callable[[str], datetime | None]


def config(sandbox: MailchimpSandbox, **overrides: Any) -> MailchimpConfig:
    values = {"base_url": sandbox.base_url, "api_key": sandbox.api_key, "backoff_seconds": 0.01,
              **overrides}  # fmt: skip
    return MailchimpConfig(**values)


def dataset(members: int = 400) -> MailchimpDataset:
    """Anchored at now, so campaigns fall inside the connector's activity window."""
    return mailchimp_dataset(members, anchor=NOW)


def read(
    sandbox: MailchimpSandbox,
    list_id: str,
    start: Start = lambda _: None,
    reader: Callable[..., Iterator[Page]] = pages,
    **overrides: Any,
) -> list[Page]:
    client = open_session(config(sandbox, **overrides))
    try:
        return list(reader(client, list_id, start))
    finally:
        client.close()


def records(read_pages: list[Page]) -> list[dict[str, Any]]:
    return [record for page in read_pages for record in page.records]


def lead(record: dict[str, Any]) -> Any:
    return CONNECTOR.to_lead(record, LeadContext("mailchimp", record["list_id"], "US"))


def events(read_pages: list[Page], list_id: str) -> list[Any]:
    context = LeadContext("mailchimp", list_id)
    return [row for record in records(read_pages) for row in ENGAGEMENT.to_rows(record, context)]


@pytest.fixture(scope="module")
def shared() -> Iterator[MailchimpSandbox]:
    with MailchimpSandbox(dataset(), api_key=KEY) as sandbox:
        yield sandbox


def test_the_api_root_comes_from_the_key_unless_a_base_url_is_set():
    assert (
        MailchimpConfig(api_key="0123abcd-us21").api_root() == "https://us21.api.mailchimp.com/3.0"
    )
    assert MailchimpConfig(api_key="k", base_url="http://h:1/").api_root() == "http://h:1/3.0"
    with pytest.raises(ValueError, match="data-center"):
        MailchimpConfig(api_key="no-suffix!")
    with pytest.raises(ValueError):
        MailchimpConfig(api_key="0123abcd-us21", max_connections=11)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        pytest.param({"id": ""}, "id", id="no-id"),
        pytest.param({"last_changed": ""}, "last_changed", id="no-last-changed"),
        pytest.param({"timestamp_signup": "yesterday"}, "timestamp_signup", id="bad-signup"),
        pytest.param(
            {"email_address": "not an email", "merge_fields": {}}, "email_address", id="no-route"
        ),
    ],
)
def test_unmappable_members_are_rejected_naming_the_field(shared, change, field):
    record = {**records(read(shared, shared.dataset.lists[2]["id"]))[0], **change}
    with pytest.raises(InvalidRecord) as caught:
        lead(record)
    assert caught.value.field_name == field


def test_full_extract_reads_every_member_once_archived_in_its_own_partition(shared):
    list_id = shared.dataset.lists[0]["id"]
    read_pages = read(shared, list_id, page_size=1000)
    ids = [r["id"] for r in records(read_pages)]
    assert sorted(ids) == sorted(m["id"] for m in shared.dataset.members(list_id))
    assert {p.partition for p in read_pages} == {list_id, f"{list_id}:archived"}
    archived = [r for p in read_pages if p.partition.endswith(":archived") for r in p.records]
    assert archived and {r["status"] for r in archived} == {"archived"}
    assert all(not page.notes for page in read_pages)


def test_paging_through_many_pages_with_ascending_cursors(shared):
    list_id = shared.dataset.lists[0]["id"]
    read_pages = [p for p in read(shared, list_id, page_size=37) if p.partition == list_id]
    expected = [m for m in shared.dataset.members(list_id) if m["status"] != "archived"]
    assert len(read_pages) == 1 + -(-(len(expected) - 37) // 36)  # each steps back one place
    assert sorted(r["id"] for r in records(read_pages)) == sorted(m["id"] for m in expected)
    cursors = [page.cursor for page in read_pages]
    assert cursors == sorted(cursors)
    assert cursors[-1] == max(datetime.fromisoformat(m["last_changed"]) for m in expected)


def test_same_email_in_two_lists_is_two_leads_with_one_member_id(shared):
    by_list = {item["id"]: records(read(shared, item["id"])) for item in shared.dataset.lists}
    leads = [lead(record) for rows in by_list.values() for record in rows]
    keys = Counter(lead.source_lead_id.split(":")[1] for lead in leads)
    twice = [member for member, n in keys.items() if n == 2]
    assert twice, "the dataset puts ~18% of people in two lists"
    pair = [x for x in leads if x.source_lead_id.endswith(f":{twice[0]}")]
    assert {x.source_lead_id.split(":")[0] for x in pair} == set(
        shared.dataset.lists_with(pair[0].email)
    )
    assert pair[0].email_match_key == pair[1].email_match_key
    assert pair[0].account_id != pair[1].account_id


def test_since_last_changed_returns_exactly_the_members_changed_at_or_after_it(shared):
    list_id = shared.dataset.lists[0]["id"]
    everyone = [m for m in shared.dataset.members(list_id) if m["status"] != "archived"]
    moments = sorted(datetime.fromisoformat(m["last_changed"]) for m in everyone)
    for cut in (moments[len(moments) // 2], moments[len(moments) // 3]):  # overlapping windows
        got = records(read(shared, list_id, lambda p, cut=cut: cut, page_size=50))
        expected = {m["id"] for m in everyone if datetime.fromisoformat(m["last_changed"]) >= cut}
        assert {r["id"] for r in got if r["status"] != "archived"} == expected


def test_members_changed_during_the_read_are_not_skipped():
    with MailchimpSandbox(dataset(), api_key="shift-key-us21") as sandbox:
        list_id = sandbox.dataset.lists[0]["id"]
        before = {m["id"] for m in sandbox.dataset.members(list_id) if m["status"] != "archived"}
        client = open_session(config(sandbox, page_size=40))
        walk, seen = pages(client, list_id, lambda _: None), []
        first = next(walk)
        for record in first.records[:5]:  # these move to the end: later members shift back
            sandbox.upsert_member(list_id, record["email_address"], last_changed=NOW)
        seen = [*first.records, *(r for page in walk for r in page.records)]
    assert before <= {r["id"] for r in seen}
    moved = [r for r in seen if r["last_changed"] == NOW.isoformat()]
    assert len(moved) == 5


def test_a_member_shift_beyond_a_page_freezes_the_cursor_where_it_was_safe():
    with MailchimpSandbox(dataset(), api_key="freeze-key-us21") as sandbox:
        list_id = sandbox.dataset.lists[0]["id"]
        client = open_session(config(sandbox, page_size=20))
        walk = pages(client, list_id, lambda _: None)
        read_pages = [next(walk), next(walk)]
        for record in [*read_pages[0].records, *read_pages[1].records][:30]:
            sandbox.upsert_member(list_id, record["email_address"], last_changed=NOW)
        read_pages += [page for page in walk if page.partition == list_id]
        current = [m for m in sandbox.dataset.members(list_id) if m["status"] != "archived"]
    ids = {r["id"] for r in records(read_pages)}
    watermark = read_pages[-1].cursor
    missed = [m for m in current if m["id"] not in ids]
    assert all(datetime.fromisoformat(m["last_changed"]) >= watermark for m in missed)
    assert any("changed during the read" in note for note in read_pages[-1].notes)


def test_unsubscribed_and_cleaned_are_kept_with_status_and_do_not_contact(shared):
    list_id = shared.dataset.lists[0]["id"]
    leads = [lead(r) for r in records(read(shared, list_id))]
    stages = Counter(x.source_stage for x in leads)
    assert {"subscribed", "unsubscribed", "cleaned", "pending", "archived"} <= set(stages)
    for x in leads:
        assert x.custom_fields.get("do_not_contact", False) == (
            x.source_stage in ("unsubscribed", "cleaned")
        )
        assert x.consent["status"] == x.source_stage
        assert x.account_id == list_id and x.updated_at >= x.created_at


def test_a_member_maps_to_a_lead(shared):
    list_id = shared.dataset.lists[0]["id"]
    member = next(
        m for m in shared.dataset.members(list_id)
        if m["merge_fields"]["PHONE"] and m["merge_fields"]["COMPANY"] and m["tags"]
    )  # fmt: skip
    got = lead(next(r for r in records(read(shared, list_id)) if r["id"] == member["id"]))
    assert got.source_lead_id == f"{list_id}:{member['id']}"
    assert got.email == member["email_address"].lower()
    assert got.first_name and got.first_name[0].isupper()
    assert got.company == member["merge_fields"]["COMPANY"]
    assert got.phone and got.phone.startswith("+")
    assert got.updated_at == datetime.fromisoformat(member["last_changed"])
    custom = got.custom_fields
    assert custom["tags"] == [t["name"] for t in member["tags"]]
    assert custom["member_rating"] == member["member_rating"]
    assert custom["avg_open_rate"] == member["stats"]["avg_open_rate"]
    assert "PHONE" not in custom["merge_fields"] and "FNAME" not in custom["merge_fields"]


def test_lists_come_from_the_lists_endpoint_when_none_are_configured(shared):
    shared.clear_requests()
    assert accounts(config(shared)) == [item["id"] for item in shared.dataset.lists]
    assert [r.path for r in shared.requests] == ["/3.0/lists"]
    shared.clear_requests()
    assert accounts(config(shared, list_ids=["abc"])) == ["abc"]
    assert shared.requests == []


@pytest.mark.parametrize("limit", [4, 10])
def test_parallel_accounts_never_exceed_the_connection_limit(limit):
    key = f"parallel-{limit}-us21"
    with MailchimpSandbox(dataset(200), api_key=key, slow_seconds=0.03) as sandbox:
        list_ids = [item["id"] for item in sandbox.dataset.lists] * 5
        source = config(sandbox, max_connections=limit, page_size=25)
        barrier = threading.Barrier(len(list_ids))

        def one(list_id: str) -> int:
            client = CONNECTOR.open(source)
            barrier.wait()
            try:
                return len(records(list(pages(client, list_id, lambda _: None))))
            finally:
                client.close()

        with ThreadPoolExecutor(len(list_ids)) as pool:
            counts = list(pool.map(one, list_ids))
        statuses = Counter(r.status for r in sandbox.requests)
    assert sandbox.max_concurrency_seen == limit  # parallel, but never past the limit
    assert set(statuses) == {200}
    assert counts == [len(sandbox.dataset.members(i)) for i in list_ids]


def test_a_refused_key_fails_at_once_asking_to_check_or_reauthorize(shared):
    wrong = MailchimpConfig(base_url=shared.base_url, api_key="wrong-key-us21")
    shared.clear_requests()
    client = open_session(wrong)
    with pytest.raises(AuthError, match="re-authorize") as caught:
        list(pages(client, shared.dataset.lists[0]["id"], lambda _: None))
    assert len(shared.requests) == 1
    assert "wrong-key-us21" not in str(caught.value)


def test_an_unknown_list_is_terminal_and_named(shared):
    with pytest.raises(TerminalError, match="list nosuchlist not found"):
        read(shared, "nosuchlist")


def test_throttling_and_server_errors_are_retried(shared):
    list_id = shared.dataset.lists[2]["id"]
    shared.push_error(429, times=2)
    shared.push_error(503, times=1)
    assert len(records(read(shared, list_id))) == len(shared.dataset.members(list_id))


def test_engagement_events_are_mapped_with_stable_ids(shared):
    list_id = shared.dataset.lists[0]["id"]
    first = read(shared, list_id, reader=activity_pages)
    rows = events(first, list_id)
    recent = [c for c in shared.dataset.campaigns
              if c["recipients"]["list_id"] == list_id and c["status"] == "sent"
              and datetime.fromisoformat(c["send_time"]) >= NOW - timedelta(days=30)]  # fmt: skip
    expected = Counter()
    for campaign in recent:
        expected.update(shared.dataset.activity_counts(campaign["id"]))
        expected["unsubscribe"] += len(shared.dataset.unsubscribes(campaign["id"]))
    assert Counter(e.event_type for e in rows) == expected
    assert set(expected) == {"open", "click", "bounce", "unsubscribe"}
    assert all(e.detail["url"].startswith("https://") for e in rows if e.event_type == "click")
    assert {e.detail["bounce_type"] for e in rows if e.event_type == "bounce"} <= {"hard", "soft"}
    assert all(e.email and e.channel == "email" and e.account_id == list_id for e in rows)
    assert len({e.event_id for e in rows}) == len(rows)
    again = events(read(shared, list_id, reader=activity_pages), list_id)
    assert sorted(e.event_id for e in again) == sorted(e.event_id for e in rows)
    assert [p.cursor for p in first[:-1]] == [None] * (len(first) - 1)
    assert first[-1].cursor == max(e.occurred_at for e in rows)


def test_engagement_reads_late_activity_since_the_window_start():
    with MailchimpSandbox(dataset(), api_key="late-key-us21") as sandbox:
        list_id = sandbox.dataset.lists[0]["id"]
        first = read(sandbox, list_id, reader=activity_pages)
        old = next(c for c in sandbox.dataset.campaigns  # sent before the next window starts
                   if c["recipients"]["list_id"] == list_id and c["status"] == "sent"
                   and datetime.fromisoformat(c["send_time"]) > NOW - timedelta(days=20))  # fmt: skip
        email = sandbox.dataset.activity(old["id"])[0]["email_address"]
        later = NOW + timedelta(minutes=5)
        sandbox.add_activity(old["id"], email, "click", timestamp=later, url="https://x.test/")
        second = read(sandbox, list_id, lambda _: first[-1].cursor, reader=activity_pages)
    rows = events(second, list_id)
    assert later in {e.occurred_at for e in rows}
    assert min(e.occurred_at for e in rows) >= first[-1].cursor  # at or after the start only
    assert second[-1].cursor == later


def test_engagement_with_nothing_new_commits_the_window_start(shared):
    list_id = shared.dataset.lists[2]["id"]
    start = NOW + timedelta(hours=1)
    read_pages = read(shared, list_id, lambda _: start, reader=activity_pages)
    assert records(read_pages) == []
    assert read_pages[-1].cursor == start


def test_leads_and_engagement_load_end_to_end_and_resume(migrated_engine):
    with MailchimpSandbox(dataset(300), api_key="e2e-key-us21") as sandbox:
        list_id = sandbox.dataset.lists[1]["id"]
        source = config(sandbox, list_ids=[list_id], page_size=50)
        run = RunContext(
            engine=migrated_engine, run_id="r1", clock=lambda: NOW + timedelta(hours=1)
        )
        first = sync_account(CONNECTOR, source, list_id, run)
        engaged = sync_stream(CONNECTOR, ENGAGEMENT, source, list_id, run)
        member = sandbox.dataset.members(list_id)[0]
        sandbox.upsert_member(list_id, member["email_address"], last_changed=NOW, vip=True)
        later = RunContext(migrated_engine, "r2", clock=lambda: NOW + timedelta(hours=2))
        second = sync_account(CONNECTOR, source, list_id, later)
        again = sync_stream(CONNECTOR, ENGAGEMENT, source, list_id, later)
    members = sandbox.dataset.members(list_id)
    assert (first.status, first.inserted, first.quarantined) == ("succeeded", len(members), 0)
    assert (second.status, second.updated) == ("succeeded", 1)
    assert engaged.status == "succeeded" and engaged.inserted > 0 and engaged.quarantined == 0
    assert again.inserted == 0
    with migrated_engine.connect() as conn:
        stored = conn.execute(sa.select(sa.func.count()).select_from(leads)).scalar_one()
        kinds = dict(conn.execute(sa.select(engagement_events.c.event_type, sa.func.count())
                                  .group_by(engagement_events.c.event_type)).all())  # fmt: skip
        marks = {row.account_id for row in conn.execute(sa.select(sync_state.c.account_id))}
    assert stored == len(members)
    assert set(kinds) == {"open", "click", "bounce", "unsubscribe"}
    assert marks == {list_id, f"{list_id}:archived", f"engagement_events:{list_id}"}


# -- messages that point the right way (issue 21) -------------------------------------------
def test_a_404_on_campaigns_says_the_endpoint_is_not_served_not_the_list_id(shared):
    list_id = shared.dataset.lists[0]["id"]
    shared.push_error(404, "Resource Not Found", "The requested resource could not be found.",
                      path=r"^/3\.0/campaigns$")  # fmt: skip
    with pytest.raises(TerminalError) as caught:
        read(shared, list_id, reader=activity_pages)
    message = str(caught.value)
    assert "GET /3.0/campaigns not found" in message and "check base_url" in message
    assert "list_ids" not in message and list_id not in message


def test_a_404_on_a_report_names_the_campaign(shared):
    list_id = shared.dataset.lists[0]["id"]
    shared.push_error(404, "Resource Not Found", "The requested resource could not be found.",
                      path=r"/email-activity$")  # fmt: skip
    with pytest.raises(TerminalError, match=r"the email-activity report of campaign \S+ not found"):
        read(shared, list_id, reader=activity_pages)


def test_a_forbidden_report_is_a_missing_permission_of_that_read_only():
    with MailchimpSandbox(dataset(60), api_key=KEY, forbidden=(r"^/reports/",)) as box:
        list_id = box.dataset.lists[0]["id"]
        assert records(read(box, list_id))  # members stay readable
        box.clear_requests()
        with pytest.raises(MissingScope) as caught:
            read(box, list_id, reader=activity_pages)
        assert len([r for r in box.requests if r.path.startswith("/3.0/reports/")]) == 1
    assert caught.value.scope is None and "HTTP 403: Forbidden" in str(caught.value)
    assert KEY not in str(caught.value)
