"""Google Ads windows against the sandbox over HTTP: time zones, DST, paging, restarts after
an expired page token, retention warnings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from leadflow.connectors.base import LeadContext
from leadflow.connectors.google_ads.connector import open_session, pages
from leadflow.connectors.google_ads.fields import count_note, to_lead, wall_time_literal
from leadflow.sandbox.google_ads.app import GoogleAdsSandbox
from leadflow.sandbox.google_ads.data import google_ads_dataset
from tests.connectors.google_ads.support import (
    BOTH_SIDES,
    KOLKATA,
    LA,
    config,
    ids,
    no_sleep,
    read,
    records_of,
    searches,
)


# -- time zones and windows ---------------------------------------------------------------------
@BOTH_SIDES
def test_lead_times_are_utc_on_both_sides_of_utc(sandbox: GoogleAdsSandbox, customer: str) -> None:
    found = read(sandbox, customer)
    context = LeadContext("google_ads", customer)
    leads = {lead.source_lead_id: lead for lead in (to_lead(r, context) for r in records_of(found))}
    truth = sandbox.dataset.submissions(customer)
    assert len(leads) == len(truth) > 0
    for sub in truth:
        assert leads[sub.resource_name].created_at == sub.submitted_at
        assert leads[sub.resource_name].created_at.utcoffset() == timedelta(0)


@BOTH_SIDES
@pytest.mark.parametrize("micro", [0, 500_000], ids=["whole-second", "fractional-second"])
def test_window_edge_loses_no_lead(sandbox: GoogleAdsSandbox, customer: str, micro: int) -> None:
    start = datetime(2026, 11, 20, 7, 45, 12, micro, tzinfo=UTC)
    edge = {
        label: sandbox.add_submission(customer, submitted_at=start + timedelta(seconds=shift))
        for label, shift in (("before", -1), ("at", 0), ("after", 1))
    }
    got = set(ids(read(sandbox, customer, since=start)))
    wanted = {s.id for s in sandbox.dataset.submissions(customer) if s.submitted_at >= start}
    assert {edge["after"].id} <= wanted <= got
    if micro == 0:  # whole seconds: exactly the window, the second before stays out
        assert got == wanted and edge["at"].id in got and edge["before"].id not in got
    else:  # the literal is truncated to the second: the lead in that second comes too
        assert edge["at"].id in got


@BOTH_SIDES
def test_filter_literal_is_the_accounts_wall_time(sandbox: GoogleAdsSandbox, customer: str) -> None:
    start = datetime(2026, 11, 20, 20, 0, tzinfo=UTC)
    read(sandbox, customer, since=start)
    query = searches(sandbox)[0].json()["query"]
    local = {LA: "2026-11-20 12:00:00", KOLKATA: "2026-11-21 01:30:00"}[customer]
    assert f"submission_date_time >= '{local}'" in query
    assert query.endswith("ORDER BY lead_form_submission_data.submission_date_time ASC")


@pytest.mark.parametrize("fold", [0, 1], ids=["first-01:30-PDT", "second-01:30-PST"])
def test_dst_fold_start_loses_no_lead(sandbox: GoogleAdsSandbox, fold: int) -> None:
    zone = sandbox.dataset.customer(LA).tz
    start = datetime(2026, 11, 1, 1, 30, fold=fold, tzinfo=zone).astimezone(UTC)
    got = set(ids(read(sandbox, LA, since=start)))
    wanted = {s.id for s in sandbox.dataset.submissions(LA) if s.submitted_at >= start}
    assert wanted <= got
    edges = {s.edge: s.id for s in sandbox.dataset.edge_submissions(LA)}
    assert edges["dst-fold-second"] in got and (fold == 1 or edges["dst-fold-first"] in got)


def test_wall_time_literal_steps_back_out_of_the_repeated_hour() -> None:
    zone = google_ads_dataset(1).customer(LA).tz
    first = datetime(2026, 11, 1, 8, 30, tzinfo=UTC)  # 01:30 PDT, before clocks fall back
    second = datetime(2026, 11, 1, 9, 30, tzinfo=UTC)  # 01:30 PST, after
    assert wall_time_literal(first, zone) == "2026-11-01 00:30:00"
    assert wall_time_literal(second, zone) == "2026-11-01 01:30:00"


# -- paging ---------------------------------------------------------------------------------------
def test_several_pages_same_query_and_no_page_size(sandbox: GoogleAdsSandbox) -> None:
    found = read(sandbox, LA)
    truth = sandbox.dataset.submissions(LA)
    assert ids(found) == [s.id for s in truth]
    assert len(found) == -(-len(truth) // 7) > 3
    bodies = [r.json() for r in searches(sandbox)]
    assert len({b["query"] for b in bodies}) == 1
    assert all("pageSize" not in b and "page_size" not in b for b in bodies)
    assert ["pageToken" in b for b in bodies] == [False] + [True] * (len(bodies) - 1)
    cursors = [page.cursor for page in found]
    assert cursors == sorted(cursors) and cursors[-1] == truth[-1].submitted_at
    assert {page.partition for page in found} == {LA}
    assert [page.number for page in found] == list(range(1, len(found) + 1))
    assert all(not page.notes for page in found)  # totalResultsCount matched


def test_empty_window_yields_one_empty_page(sandbox: GoogleAdsSandbox) -> None:
    found = read(sandbox, LA, since=sandbox.dataset.anchor + timedelta(days=1))
    assert [(p.records, p.cursor) for p in found] == [([], None)]


def test_expired_page_token_restarts_the_window(sandbox: GoogleAdsSandbox) -> None:
    client = open_session(config(sandbox), sleep=no_sleep)
    walk = pages(client, LA, lambda _: None)
    first = next(walk)
    sandbox.expire_page_tokens()
    rest = list(walk)
    truth = [s.id for s in sandbox.dataset.submissions(LA)]
    assert set(ids([first, *rest])) == set(truth)
    statuses = [r.status for r in searches(sandbox)]
    assert statuses.count(400) == 1 and statuses[-1] == 200
    restart = searches(sandbox)[2].json()
    assert "pageToken" not in restart and "submission_date_time >=" in restart["query"]


def test_second_sync_returns_the_new_leads_plus_the_overlap(sandbox: GoogleAdsSandbox) -> None:
    first = read(sandbox, LA)
    watermark = first[-1].cursor
    assert watermark is not None
    new = [
        sandbox.add_submission(LA, submitted_at=watermark + timedelta(minutes=m)) for m in (1, 2, 3)
    ]
    since = watermark - timedelta(days=1)  # what start_for gives with a one-day lookback
    second = ids(read(sandbox, LA, since=since))
    overlap = [
        s.id for s in sandbox.dataset.submissions(LA) if since <= s.submitted_at <= watermark
    ]
    assert second == overlap + [s.id for s in new]


# -- retention and reconciliation ---------------------------------------------------------------
@pytest.mark.parametrize("days, warned", [(10, False), (25, True)], ids=["recent", "stale"])
def test_stale_window_warns_about_retention(
    sandbox: GoogleAdsSandbox, days: int, warned: bool
) -> None:
    client = open_session(config(sandbox), sleep=no_sleep)
    client.clock = lambda: sandbox.dataset.anchor
    found = list(pages(client, LA, lambda _: sandbox.dataset.anchor - timedelta(days=days)))
    assert all(not page.notes for page in found[1:])
    notes = found[0].notes
    assert bool(notes) is warned
    if warned:
        assert "customer 1234567890 is 25 days old" in notes[0] and "30 days" in notes[0]


class _Lookup:
    """``start_for`` as the sync passes it: it also says whether a watermark gave the start."""

    def __init__(self, start: datetime, resumed: bool) -> None:
        self.start, self.was_resumed = start, resumed

    def __call__(self, partition: str) -> datetime:
        return self.start

    def resumed(self, partition: str) -> bool:
        return self.was_resumed


@pytest.mark.parametrize("resumed", [False, True], ids=["first-sync", "stale-watermark"])
def test_a_first_sync_from_start_date_is_not_called_a_stale_sync(
    sandbox: GoogleAdsSandbox, resumed: bool
) -> None:
    start = sandbox.dataset.anchor - timedelta(days=76)
    client = open_session(config(sandbox, start_date=start), sleep=no_sleep)
    client.clock = lambda: sandbox.dataset.anchor
    [note] = next(iter(pages(client, LA, _Lookup(start, resumed)))).notes
    if resumed:
        assert note.startswith("last successful sync of customer 1234567890 is 76 days old")
    else:
        assert "last successful sync" not in note
        assert note.startswith("customer 1234567890: start_date is 76 days back")
        assert "30 days" in note and "not available" in note


def test_a_first_sync_through_the_pipeline_says_start_date(
    sandbox: GoogleAdsSandbox, tmp_path
) -> None:
    from leadflow.connectors.google_ads.connector import CONNECTOR
    from leadflow.models.warehouse.engine import create_engine
    from leadflow.models.warehouse.migrate import upgrade
    from leadflow.pipeline.run import RunContext
    from leadflow.pipeline.source_sync import sync_account

    engine = create_engine(f"sqlite:///{tmp_path / 'w.db'}")
    upgrade(engine)
    start = datetime.now(UTC) - timedelta(days=50)
    source = config(sandbox, start_date=start)
    summary = sync_account(CONNECTOR, source, LA, RunContext(engine=engine, run_id="r1"))
    engine.dispose()
    notes = [w for w in summary.warnings if "days back" in w or "days old" in w]
    assert notes and notes[0].startswith("customer 1234567890: start_date is 50 days back")


def test_count_note_only_when_counts_differ() -> None:
    assert count_note(LA, "12", 12) is None and count_note(LA, None, 3) is None
    assert "reported 12" in (count_note(LA, "12", 11) or "")
