"""Erasure: forget leaves no trace of the person in any table, only salted hashes, and
the suppression list keeps them out of later loads. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from leadflow.models.privacy import suppression
from leadflow.models.privacy.erasure import forget
from leadflow.models.privacy.suppression import (
    Suppression,
    SuppressionError,
    drop_suppressed,
    identifier_hash,
    refresh_email_hashes,
)
from leadflow.models.records.activity import EngagementEvent, SalesTouch
from leadflow.models.records.leads import Lead, Rejected
from leadflow.models.warehouse.activity_tables import (
    crm_status_changes,
    engagement_events,
    sales_touches,
)
from leadflow.models.warehouse.intake_tables import intake_inbox
from leadflow.models.warehouse.lead_tables import leads, quarantine
from leadflow.models.warehouse.people_tables import (
    email_people,
    lead_people,
    people,
    person_merges,
)
from leadflow.models.warehouse.privacy_tables import suppression_list
from leadflow.models.warehouse.writeback_tables import writebacks
from tests.bi_seed import EMAIL, PHONE, T0, at, seed, traces

SALT = "test-salt-0123456789"
# The phone as people type it, and the other spellings a raw payload may hold.
NEEDLES = [EMAIL, PHONE, "4155550123", "555-0123", "555.0123"]
NOW = datetime(2026, 11, 29, tzinfo=UTC)


def _extra_rows() -> list[tuple[sa.Table, list[dict]]]:
    """Where else the person of EMAIL (P1) and P2 show up, beyond tests/bi_seed.py."""
    base = {
        "account_id": "acct",
        "row_hash": "x" * 64,
        "first_loaded_at": T0,
        "last_changed_at": T0,
    }
    event = base | {"source": "mailchimp", "event_type": "open", "channel": "email"}
    event |= {"occurred_at": at(9, 3), "detail": {}}
    touch = {k: v for k, v in base.items() if k != "account_id"} | {"source": "hubspot"}
    touch |= {"touch_type": "call", "occurred_at": at(9, 11), "updated_at": at(9, 11)}
    change = {k: v for k, v in base.items() if k != "account_id"} | {"source": "hubspot"}
    change |= {"field": "hs_lead_status", "occurred_at": at(9, 12), "updated_at": at(9, 12)}
    quarantined = {"source": "csv", "account_id": "f", "field": "email", "reason": "bad"}
    quarantined |= {"first_seen_at": T0, "last_seen_at": T0}
    inbox = {"account_id": "acct", "received_at": T0, "status": "loaded"}
    ledger = {"crm": "hubspot", "kind": "task", "object_id": "1", "status": "created"}
    ledger |= {"created_at": T0, "updated_at": T0}
    return [
        (leads, [base | {"source": "hubspot", "source_lead_id": "H1"}
                 | {"created_at": at(9, 5), "updated_at": at(9, 5), "is_test": False}
                 | {"email": EMAIL, "email_match_key": EMAIL, "phone": PHONE, "custom_fields": {}}
                 | {"raw": {"properties": {"email": EMAIL, "phone": "(415) 555-0123"}}}]),
        (lead_people, [{"source": "hubspot", "source_lead_id": "H1", "person_id": "P1"}]),
        # Whose events those are: each email match key's person, as identity writes them.
        (email_people, [{"email_match_key": EMAIL, "person_id": "P1"},
                        {"email_match_key": "bo@beta.test", "person_id": "P2"}]),
        (engagement_events, [
            event | {"event_id": "e1", "email": EMAIL, "email_match_key": EMAIL}
            | {"raw": {"email_address": EMAIL}},
            event | {"event_id": "e2", "email": "bo@beta.test", "email_match_key": "bo@beta.test"}
            | {"raw": {}},
        ]),
        (sales_touches, [
            touch | {"touch_id": "t1", "lead_id": "H1", "person_id": "P1", "raw": {"body": "hi"}},
            touch | {"touch_id": "t2", "lead_id": "X9", "person_id": "P2", "raw": {}},
        ]),
        # Status changes of P1's HubSpot contact H1, and of someone else's contact.
        (crm_status_changes, [
            change | {"change_id": "H1:hs_lead_status:1", "lead_id": "H1"}
            | {"new_value": "CONNECTED", "raw": {"value": "CONNECTED"}},
            change | {"change_id": "X9:hs_lead_status:1", "lead_id": "X9", "new_value": "NEW"}
            | {"raw": {}},
        ]),
        (person_merges, [
            {"from_person": "P1old", "into_person": "P1", "reason": "email", "bridging_key": EMAIL}
            | {"merged_at": T0, "run_id": "r"},
            {"from_person": "P2old", "into_person": "P2", "reason": "email"}
            | {"bridging_key": "bo@beta.test", "merged_at": T0, "run_id": "r"},
        ]),
        (quarantine, [
            quarantined | {"record_key": "1", "raw": {"Email": "Ann.Example@ACME-Widgets.com", "Phone": "(415) 555-0123"}},
            quarantined | {"record_key": "2", "raw": {"row": ["x", "415.555.0123"]}},
            quarantined | {"record_key": "3", "raw": {"Email": "someone@else.test"}},
        ]),
        # Webhook notifications: P1's loaded Meta lead L1 (ids only), Google leads not loaded
        # yet whose answers hold P1's email or phone, and two of other people.
        (intake_inbox, [
            inbox | {"platform": "meta", "notification_id": "L1", "body": {"form_id": "f"}},
            inbox | {"platform": "meta", "notification_id": "L2", "body": {"form_id": "f"}},
            inbox | {"platform": "google_ads", "notification_id": "G-new", "status": "pending"}
            | {"body": {"user_column_data": [{"column_id": "EMAIL", "string_value": EMAIL}]}},
            inbox | {"platform": "google_ads", "notification_id": "G-phone", "status": "failed"}
            | {"body": {"user_column_data": [{"column_id": "PHONE_NUMBER",
                                              "string_value": "(415) 555-0123"}]}},
            inbox | {"platform": "google_ads", "notification_id": "G-other", "status": "pending"}
            | {"body": {"user_column_data": [{"column_id": "EMAIL",
                                              "string_value": "someone@else.test"}]}},
        ]),
        # What was written back to the CRM about P1 and P2.
        (writebacks, [
            ledger | {"key": "first_touch:P1:2026-09-01T09:00:00+00:00", "person_id": "P1"},
            ledger | {"key": "first_touch:P2:2026-09-01T15:00:00+00:00", "person_id": "P2"},
        ]),
    ]  # fmt: skip


@pytest.fixture
def warehouse(migrated_engine: Engine) -> Engine:
    with migrated_engine.begin() as conn:
        seed(conn)
        for table, rows in _extra_rows():
            conn.execute(sa.insert(table), rows)
    return migrated_engine


def count(conn: sa.Connection, table: sa.Table) -> int:
    return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


def links(conn: sa.Connection) -> tuple[dict[str, str], dict[str, str]]:
    """Identity's narrow rows: each ``lead_people`` row's person by lead id (the seed's lead
    ids are unique across sources) and each ``email_people`` row's person by email key."""
    lp, ep = lead_people.c, email_people.c
    by_lead = dict(conn.execute(sa.select(lp.source_lead_id, lp.person_id)).tuples().all())
    by_email = dict(conn.execute(sa.select(ep.email_match_key, ep.person_id)).tuples().all())
    persons = set(conn.scalars(sa.select(people.c.person_id)))
    lead_ids = set(conn.scalars(sa.select(leads.c.source_lead_id)))
    # Nothing left pointing at an erased lead or person (the tables have no foreign keys).
    assert set(by_lead) <= lead_ids and set(by_lead.values()) | set(by_email.values()) <= persons
    return by_lead, by_email


# Before any erasure: P1's leads L1, L3 (bi_seed) and H1, and the events' two addresses.
LINKS = (
    {"L1": "P1", "L2": "P2", "L3": "P1", "L4": "P3", "L6": "P4", "L7": "P2", "H1": "P1"},
    {EMAIL: "P1", "bo@beta.test": "P2"},
)


def test_forget_by_email_leaves_no_trace(warehouse: Engine) -> None:
    with warehouse.begin() as conn:
        assert len(traces(conn, NEEDLES)) > 10  # the search finds them before
        assert links(conn) == LINKS
        erasure = forget(conn, salt=SALT, now=NOW, email="  Ann.Example@Acme-Widgets.COM ")
    assert erasure.removed == {
        "writebacks": 1,
        "sla_evaluations": 2,
        "stage_transitions": 3,
        "engagement_events": 1,
        "sales_touches": 1,
        "crm_status_changes": 1,
        "person_merges": 1,
        "email_people": 1,
        "lead_people": 3,
        "leads": 3,
        "people": 1,
        "quarantine": 2,
        "intake_inbox": 3,
    }
    assert erasure.suppressed == 5  # the email, the phone, three leads
    with warehouse.connect() as conn:
        assert traces(conn, NEEDLES) == []
        # Everyone else is still there.
        assert count(conn, people) == 5 and count(conn, leads) == 5
        assert count(conn, engagement_events) == count(conn, sales_touches) == 1
        assert count(conn, crm_status_changes) == 1
        assert count(conn, person_merges) == 1 and count(conn, quarantine) == 1
        kept = conn.execute(sa.select(intake_inbox.c.notification_id)).scalars()
        assert sorted(kept) == ["G-other", "L2"]
        assert conn.execute(sa.select(writebacks.c.person_id)).scalars().all() == ["P2"]
        # P1's lead and email rows are gone, everyone else's stay.
        assert links(conn) == (
            {"L2": "P2", "L4": "P3", "L6": "P4", "L7": "P2"},
            {"bo@beta.test": "P2"},
        )
        kinds = conn.execute(sa.select(suppression_list.c.kind)).scalars().all()
    assert sorted(kinds) == ["email", "lead", "lead", "lead", "phone"]


def test_erasure_output_is_counts_only(warehouse: Engine) -> None:
    with warehouse.begin() as conn:
        erasure = forget(conn, salt=SALT, now=NOW, email=EMAIL)
    text = "\n".join(erasure.lines())
    assert "leads                   3 rows removed" in text
    assert "suppression_list        5 identifiers added" in text
    assert not any(needle in text for needle in NEEDLES)


def test_forget_by_person_id(warehouse: Engine) -> None:
    with warehouse.begin() as conn:
        erasure = forget(conn, salt=SALT, now=NOW, person_id="P2")
    assert erasure.removed["leads"] == 2 and erasure.removed["people"] == 1
    assert erasure.removed["lead_people"] == 2 and erasure.removed["email_people"] == 1
    with warehouse.connect() as conn:
        assert traces(conn, ["bo@beta.test"]) == []
        assert count(conn, people) == 5
        assert links(conn) == (
            {"L1": "P1", "L3": "P1", "L4": "P3", "L6": "P4", "H1": "P1"},
            {EMAIL: "P1"},
        )


def test_forgetting_twice_adds_nothing_and_unknown_emails_are_still_suppressed(
    warehouse: Engine,
) -> None:
    with warehouse.begin() as conn:
        forget(conn, salt=SALT, now=NOW, email=EMAIL)
        again = forget(conn, salt=SALT, now=NOW, email=EMAIL)
        stranger = forget(conn, salt=SALT, now=NOW, email="nobody@nowhere.test")
    assert sum(again.removed.values()) == 0 and again.suppressed == 0
    assert sum(stranger.removed.values()) == 0 and stranger.suppressed == 1


def test_a_phone_shared_with_someone_else_is_not_suppressed(warehouse: Engine) -> None:
    # Was: L6 with the phone and no email stayed. A lead with only the requester's phone and
    # a person of its own with another address is now "linked" (see the next test); here L6
    # carries its own address, so the phone is provably shared.
    di = {"email": "di@delta.test", "email_match_key": "di@delta.test", "phone": PHONE}
    with warehouse.begin() as conn:
        conn.execute(leads.update().where(leads.c.source_lead_id == "L6").values(di))
        erasure = forget(conn, salt=SALT, now=NOW, email=EMAIL)
        kinds = conn.execute(sa.select(suppression_list.c.kind)).scalars().all()
        remaining = conn.execute(sa.select(leads.c.source_lead_id).where(leads.c.phone == PHONE))
        assert remaining.scalars().all() == ["L6"]
    assert erasure.suppressed == 4 and "phone" not in kinds


def test_a_lead_with_only_the_phone_and_another_persons_address_is_linked(
    warehouse: Engine,
) -> None:
    with warehouse.begin() as conn:
        conn.execute(leads.update().where(leads.c.source_lead_id == "L6").values(phone=PHONE))
        refused = forget(conn, salt=SALT, now=NOW, email=EMAIL)
    assert refused.refused and refused.other_addresses == 1  # P4's di@delta.test
    with warehouse.connect() as conn:
        assert count(conn, leads) == 8 and count(conn, suppression_list) == 0
        assert links(conn) == LINKS
    with warehouse.begin() as conn:
        erasure = forget(conn, salt=SALT, now=NOW, email=EMAIL, include_linked=True)
    assert erasure.removed["leads"] == 4 and erasure.removed["people"] == 2  # P1 and P4
    with warehouse.connect() as conn:
        assert traces(conn, [*NEEDLES, "di@delta.test"]) == []
        assert links(conn) == ({"L2": "P2", "L4": "P3", "L7": "P2"}, {"bo@beta.test": "P2"})
        kinds = sorted(conn.execute(sa.select(suppression_list.c.kind)).scalars())
    assert kinds == ["email", "email", "lead", "lead", "lead", "lead", "phone"]


def test_exactly_one_of_email_and_person_id(warehouse: Engine) -> None:
    with warehouse.begin() as conn, pytest.raises(ValueError, match="exactly one"):
        forget(conn, salt=SALT, now=NOW, email=EMAIL, person_id="P1")


def _lead(lead_id: str, **values: object) -> Lead:
    return Lead(source="hubspot", source_lead_id=lead_id, account_id="a", created_at=T0,
                updated_at=T0, **values)  # fmt: skip


def test_drop_suppressed_skips_the_erased_person_in_every_kind_of_record(
    warehouse: Engine,
) -> None:
    with warehouse.begin() as conn:
        forget(conn, salt=SALT, now=NOW, email=EMAIL)
    records = [
        _lead("new-1", email=EMAIL, email_match_key=EMAIL),  # same email, new lead
        _lead("new-2", phone=PHONE),  # same phone
        _lead("H1"),  # the erased lead itself, now without contact fields
        _lead("other", email="zed@zeta.test", email_match_key="zed@zeta.test"),
        EngagementEvent("mailchimp", "e9", "a", "click", T0, email_match_key=EMAIL),
        SalesTouch("hubspot", "t9", "H1", "call", T0, T0),
        SalesTouch("hubspot", "t9", "other", "call", T0, T0),
    ]
    rejected = [
        Rejected("csv", "f", "9", "phone", "bad", {"Phone": "+1 415-555-0123"}),
        Rejected("csv", "f", "8", "email", "bad", {"Email": "not an address"}),
    ]
    with warehouse.connect() as conn:
        kept, kept_rejected, dropped = drop_suppressed(conn, SALT, records, rejected, "US")
    assert [getattr(r, "source_lead_id", getattr(r, "lead_id", None)) for r in kept] == [
        "other",
        "other",
    ]
    assert [r.record_key for r in kept_rejected] == ["8"]
    assert dropped == 6


def test_a_different_or_missing_salt_refuses_to_load(warehouse: Engine) -> None:
    with warehouse.begin() as conn:
        forget(conn, salt=SALT, now=NOW, email=EMAIL)
    with warehouse.connect() as conn:
        with pytest.raises(SuppressionError, match=r"different privacy\.hash_salt"):
            Suppression.load(conn, "another-salt-0123456789")
        with pytest.raises(SuppressionError, match="not set"):
            drop_suppressed(conn, None, [_lead("x")], [])


def test_empty_suppression_list_needs_no_salt(warehouse: Engine) -> None:
    with warehouse.connect() as conn:
        kept, _, dropped = drop_suppressed(conn, None, [_lead("x")], [])
    assert len(kept) == 1 and dropped == 0


@pytest.mark.parametrize("page", [2, 20_000], ids=["pages-of-2", "one-page"])
def test_refresh_email_hashes_follows_emails_and_salt(
    warehouse: Engine, page: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Pages of 2 people: P1..P6 take three pages, and each page's changes are written
    # before the next is read.
    monkeypatch.setattr(suppression, "HASH_PAGE", page)
    with warehouse.begin() as conn:
        assert refresh_email_hashes(conn, SALT) == 4  # P1..P4; P5 and P6 have no email
        assert refresh_email_hashes(conn, SALT) == 0
        hashes = dict(conn.execute(sa.select(people.c.person_id, people.c.email_hash)).all())
        assert hashes["P1"] == identifier_hash("email", EMAIL, SALT)
        assert hashes["P5"] is None
        assert refresh_email_hashes(conn, SALT + "-rotated") == 4
