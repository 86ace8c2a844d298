"""Identity by a platform's contact id (issue 19): leads of one source and account (a
Mailchimp audience) sharing ``contact_id`` are one person; the key is scoped to the audience."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from leadflow.models.people.identity import LeadKeys, contact_key_for, person_id_for, resolve
from leadflow.models.records.leads import Lead

T0 = datetime(2026, 11, 1, tzinfo=UTC)
LIST_A, LIST_B = "a1b2c3d4e5", "f6e5d4c3b2"
CONTACT = "9f6e4c1d2b3a4f5e6d7c8b9a0f1e2d3c"


def member(
    list_id: str, member_id: str, email: str, contact: str | None, hours: int = 0
) -> LeadKeys:
    """A Mailchimp lead's keys: ``{list_id}:{member_id}``, account = the audience."""
    return LeadKeys(
        "mailchimp",
        f"{list_id}:{member_id}",
        email,
        created_at=T0 + timedelta(hours=hours),
        contact_key=contact_key_for("mailchimp", list_id, contact),
    )


def own_id(key: LeadKeys) -> str:
    """The id a lead has as a person of its own (anchored on itself)."""
    return person_id_for(":".join(key.natural_key))


def test_same_contact_in_one_audience_is_one_person_whatever_the_emails():
    result = resolve(
        [
            member(LIST_A, "old", "ava@old.example", CONTACT),
            member(LIST_A, "new", "ava@new.example", CONTACT, hours=5),
            member(LIST_A, "other", "bo@x.example", "c-other"),
        ]
    )
    person = result.person_of[("mailchimp", f"{LIST_A}:old")]
    assert result.person_of[("mailchimp", f"{LIST_A}:new")] == person
    assert result.person_of[("mailchimp", f"{LIST_A}:other")] != person
    assert len(result.clusters) == 2


def test_same_contact_id_in_two_audiences_does_not_join_them():
    result = resolve(
        [
            member(LIST_A, "m1", "ava@old.example", CONTACT),
            member(LIST_B, "m2", "ava@new.example", CONTACT),
        ]
    )
    assert len(result.clusters) == 2


def test_two_audiences_still_join_by_email():
    result = resolve(
        [
            member(LIST_A, "m1", "ava@x.example", "c-in-a"),
            member(LIST_B, "m1", "ava@x.example", "c-in-b"),
        ]
    )
    assert len(result.clusters) == 1


def test_the_key_is_scoped_to_its_source():
    result = resolve(
        [
            LeadKeys("hubspot", "1", contact_key=contact_key_for("hubspot", LIST_A, CONTACT)),
            member(LIST_A, "m1", None, CONTACT),
        ]
    )
    assert len(result.clusters) == 2


def test_no_contact_id_joins_nobody():
    assert contact_key_for("mailchimp", LIST_A, None) is None
    assert contact_key_for("mailchimp", LIST_A, "") is None
    result = resolve([member(LIST_A, "m1", None, None), member(LIST_A, "m2", None, None)])
    assert len(result.clusters) == 2


def test_contact_id_joins_transitively_with_other_links_and_in_any_order():
    records = [
        member(LIST_A, "old", "ava@old.example", CONTACT, hours=3),
        member(LIST_A, "new", "ava@new.example", CONTACT, hours=1),
        LeadKeys("meta", "lead-1", "ava@old.example", created_at=T0 + timedelta(hours=2)),
        LeadKeys("hubspot", "7", "ava@new.example", created_at=T0 + timedelta(hours=4)),
        member(LIST_B, "x", "zed@x.example", CONTACT),
    ]
    first = resolve(records)
    rng = random.Random(19)
    for _ in range(10):
        shuffled = records[:]
        rng.shuffle(shuffled)
        assert resolve(shuffled).person_of == first.person_of
    assert len(first.clusters) == 2
    # The earliest created lead anchors the person: the member with the new address.
    (big,) = [keys for keys in first.clusters.values() if len(keys) == 4]
    assert first.person_of[("mailchimp", f"{LIST_A}:new")] == first.person_of[big[0]]


def test_a_merge_through_contact_id_is_recorded_with_its_reason():
    old = member(LIST_A, "old", "ava@old.example", CONTACT, hours=2)
    new = member(LIST_A, "new", "ava@new.example", CONTACT, hours=1)
    # As a run before contact ids were read left them: each its own person.
    apart = {key.natural_key: own_id(key) for key in (old, new)}
    result = resolve([old, new], previous=apart)
    assert set(result.person_of.values()) == {apart[new.natural_key]}  # the earliest lead's
    (merge,) = result.merges
    assert (merge.from_person, merge.reason) == (apart[old.natural_key], "contact_id")
    assert merge.bridging_key == f"mailchimp:{LIST_A}:{CONTACT}"


def test_email_is_reported_before_contact_id_when_both_bridge():
    old = member(LIST_A, "old", "ava@x.example", CONTACT, hours=2)
    new = member(LIST_A, "new", "ava@x.example", CONTACT, hours=1)
    apart = {key.natural_key: own_id(key) for key in (old, new)}
    result = resolve([old, new], previous=apart)
    assert [m.reason for m in result.merges] == ["email"]


def test_lead_keys_from_a_lead_scope_its_contact_id_to_source_and_account():
    lead = Lead(
        source="mailchimp",
        source_lead_id=f"{LIST_A}:abc",
        account_id=LIST_A,
        created_at=T0,
        updated_at=T0,
        contact_id=CONTACT,
    )
    assert LeadKeys.from_lead(lead).contact_key == f"mailchimp:{LIST_A}:{CONTACT}"
    plain = Lead(source="meta", source_lead_id="1", account_id="x", created_at=T0, updated_at=T0)
    assert LeadKeys.from_lead(plain).contact_key is None
