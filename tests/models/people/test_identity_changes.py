"""Last run's ids by position (``PreviousIds``) and what resolve reports against them.

A re-run reads last run's id of every lead beside its keys; holding them by position, as
64-bit numbers, must give exactly what a mapping by natural key gave: the same leads moved,
the same merges and splits.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from leadflow.models.people.identity import LeadKeys, Merge, person_id_for, resolve
from leadflow.models.people.identity_changes import PreviousIds, aligned

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def keys(source, lead_id, email=None, phone=None, created=None):
    at = None if created is None else T0 + timedelta(hours=created)
    return LeadKeys(source, lead_id, email, phone, (), at)


def test_previous_ids_give_back_what_they_were_given():
    given = [
        person_id_for("meta:1"),
        None,
        "p_0000000000000000",  # its number is 0, which means "none" in the compact form
        "legacy-7",  # not an id person_id_for makes
        "p_ABCDEF0123456789",  # upper case: not the compact form either
        "p_ffffffffffffffff",
        person_id_for("hubspot:2"),
    ]
    previous = PreviousIds(given)
    assert len(previous) == len(given)
    assert [previous[i] for i in range(len(given))] == given
    assert list(previous) == given
    # Only the three ids that are not p_ + 16 lowercase hex digits (or are 0) are held apart.
    assert sorted(previous._other) == [2, 3, 4]


def test_previous_ids_must_match_the_records():
    records = [keys("meta", "1"), keys("meta", "2")]
    with pytest.raises(ValueError, match="1 previous ids for 2 leads"):
        aligned(records, PreviousIds([None]))
    by_key = aligned(records, {("meta", "2"): "p_00000000000000aa"})
    assert list(by_key) == [None, "p_00000000000000aa"]


def _history() -> tuple[list[LeadKeys], list[LeadKeys]]:
    """Two runs: the second brings a lead bridging two people, a new lead, and loses the
    anchor of a third person."""
    first = [
        keys("meta", "m1", email="x@acme.com", created=1),
        keys("linkedin", "l1", phone="+12025550143", created=2),
        keys("meta", "m3", email="z@acme.com", created=3),
        keys("meta", "m4", email="z@acme.com", created=4),
        keys("hubspot", "h5", email="solo@acme.com", created=5),
    ]
    later = [
        first[0],
        first[1],
        keys("a_crm", "0", email="x@acme.com", phone="+12025550143", created=6),
        first[3],  # m3, the anchor of z@, is gone
        first[4],
        keys("hubspot", "h9", email="new@acme.com", created=9),
    ]
    return first, later


def test_moved_leads_are_the_leads_whose_id_changed_with_the_id_they_had():
    first, later = _history()
    before = resolve(first)
    result = resolve(later, previous=before.person_of)
    moved = dict(result.moved or [])
    assert moved == {
        ("linkedin", "l1"): person_id_for("linkedin:l1"),  # joined m1's person
        ("a_crm", "0"): None,  # new
        ("meta", "m4"): person_id_for("meta:m3"),  # reanchored
        ("hubspot", "h9"): None,  # new
    }
    assert set(result.merges) == {
        Merge(person_id_for("linkedin:l1"), person_id_for("meta:m1"), "phone", "+12025550143"),
        Merge(person_id_for("meta:m3"), person_id_for("meta:m4"), "reanchored", ""),
    }
    assert resolve(later).moved is None  # without previous ids, nothing to compare with


@pytest.mark.parametrize("seed", range(5))
def test_previous_ids_by_position_report_what_a_mapping_by_key_reports(seed):
    first, later = _history()
    rng = random.Random(seed)
    rng.shuffle(later)
    before = resolve(first).person_of
    by_key = resolve(later, previous=before)
    by_position = resolve(later, previous=PreviousIds(before.get(k.natural_key) for k in later))
    assert by_position == by_key
    assert by_position.moved == by_key.moved
    assert by_position.notes == by_key.notes


def test_a_lead_given_twice_moves_once():
    lead = keys("meta", "m1", email="x@acme.com", created=1)
    result = resolve([lead, lead], previous=PreviousIds(["p_00000000000000aa"] * 2))
    assert result.moved == [(("meta", "m1"), "p_00000000000000aa")]


def test_clashing_ids_are_salted_in_the_order_of_their_anchors(monkeypatch):
    from leadflow.models.people import identity

    real = identity.person_id_for
    monkeypatch.setattr(
        identity, "person_id_for", lambda text: real(text) if "#" in text else "p_0000000000000001"
    )
    result = resolve([keys("meta", "b", created=1), keys("meta", "a", created=2)])
    assert result.person_of == {
        ("meta", "a"): "p_0000000000000001",  # "meta:a" sorts first: it keeps the id
        ("meta", "b"): real("meta:b#1"),
    }


def test_previous_ids_say_whether_any_lead_had_one():
    assert not PreviousIds([None, None]).held()
    assert not PreviousIds().held()
    assert PreviousIds([None, person_id_for("meta:1")]).held()
    assert PreviousIds(["legacy-7", None]).held()
