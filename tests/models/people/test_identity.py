from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadflow.models.people.identity import (
    LeadKeys,
    Merge,
    parse_merged_ids,
    person_id_for,
    resolve,
)
from leadflow.models.people.profile import person_profile
from leadflow.models.people.rules import IdentityRules, default_rules
from leadflow.models.records.contact import normalize_email, normalize_phone
from leadflow.models.records.leads import Lead

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def keys(source, lead_id, email=None, phone=None, merged=(), created=None):
    at = None if created is None else T0 + timedelta(hours=created)
    return LeadKeys(source, lead_id, email, phone, tuple(merged), at)


def lead(source, lead_id, *, updated=0, email=None, phone=None, region="US", **fields):
    address, match_key = normalize_email(email)
    return Lead(
        source=source,
        source_lead_id=lead_id,
        account_id="acct",
        created_at=T0,
        updated_at=T0 + timedelta(hours=updated),
        email=address,
        email_match_key=match_key,
        phone=normalize_phone(phone, region),
        **fields,
    )


def people(resolution):
    """The partition as a set of frozensets of natural keys: ids aside."""
    return {frozenset(members) for members in resolution.clusters.values()}


@pytest.mark.parametrize(
    ("leads", "same"),
    [
        pytest.param([lead("meta", "1", email="Jane.Doe+ads@GMail.com"), lead("hubspot", "2", email=" janedoe@googlemail.com "), lead("linkedin", "3", email="JANE.DOE@gmail.com")], True, id="gmail-dots-plus-case"),
        pytest.param([lead("meta", "1", email="jane.doe@acme.com"), lead("hubspot", "2", email="janedoe@acme.com")], False, id="dots-matter-outside-gmail"),
        pytest.param([lead("meta", "1", email="jane+x@acme.com"), lead("hubspot", "2", email="jane@acme.com")], False, id="plus-matters-outside-gmail"),
        pytest.param([lead("meta", "1", phone="(202) 555-0143"), lead("hubspot", "2", phone="+1 202-555-0143"), lead("linkedin", "3", phone="202.555.0143")], True, id="us-phone-formats"),
        pytest.param([lead("meta", "1", phone="020 7946 0018", region="GB"), lead("google_ads", "2", phone="+44 20 7946 0018")], True, id="uk-national-vs-e164"),
        pytest.param([lead("meta", "1", email="a@acme.com"), lead("hubspot", "2", email="b@acme.com")], False, id="different-people"),
    ],
)  # fmt: skip
def test_three_platforms_resolve_to_one_person(leads, same):
    result = resolve(LeadKeys.from_lead(item) for item in leads)
    assert (len(result.clusters) == 1) is same
    assert set(result.person_of) == {item.natural_key for item in leads}


def test_transitive_email_then_phone():
    result = resolve(
        [
            keys("meta", "a", email="x@acme.com"),
            keys("hubspot", "b", email="x@acme.com", phone="+12025550143"),
            keys("linkedin", "c", phone="+12025550143"),
        ]
    )
    assert people(result) == {frozenset({("meta", "a"), ("hubspot", "b"), ("linkedin", "c")})}
    assert result.merges == []


def test_person_id_is_hash_of_earliest_created_lead():
    result = resolve(
        [
            keys("meta", "9", email="x@acme.com", created=1),
            keys("hubspot", "5", email="x@acme.com", created=2),
        ]
    )
    assert result.person_of[("hubspot", "5")] == person_id_for("meta:9")
    assert result.clusters == {person_id_for("meta:9"): [("hubspot", "5"), ("meta", "9")]}


def test_undated_or_tied_leads_anchor_by_smallest_key():
    tied = [
        keys("meta", "9", email="x@acme.com", created=1),
        keys("hubspot", "5", email="x@acme.com", created=1),
    ]
    undated = [keys("meta", "9", email="x@acme.com"), keys("hubspot", "5", email="x@acme.com")]
    dated_wins = [
        keys("meta", "9", email="x@acme.com", created=50),
        keys("hubspot", "5", email="x@acme.com"),
    ]
    assert set(resolve(tied).person_of.values()) == {person_id_for("hubspot:5")}
    assert set(resolve(undated).person_of.values()) == {person_id_for("hubspot:5")}
    assert set(resolve(dated_wins).person_of.values()) == {person_id_for("meta:9")}


def test_naive_and_aware_creation_times_compare_as_utc():
    aware = LeadKeys("meta", "9", "x@acme.com", created_at=T0 + timedelta(hours=1))
    naive = LeadKeys("hubspot", "5", "x@acme.com", created_at=T0.replace(tzinfo=None))
    assert set(resolve([aware, naive]).person_of.values()) == {person_id_for("hubspot:5")}


def test_a_new_lead_keeps_the_persons_id():
    first = resolve([keys("meta", "m1", email="x@acme.com", created=5)])
    later = resolve(
        [keys("meta", "m1", email="x@acme.com", created=5), keys("a_crm", "0", email="x@acme.com", created=9)],
        previous=first.person_of,
    )  # fmt: skip
    # "a_crm:0" sorts first, but the person is named by its earliest lead.
    assert set(later.person_of.values()) == set(first.person_of.values())
    assert later.merges == []


def test_bridging_lead_merges_two_people_into_the_older_ones_id():
    records = [
        keys("meta", "m1", email="x@acme.com", created=1),
        keys("meta", "m2", email="x@acme.com", created=3),
        keys("linkedin", "l1", phone="+12025550143", created=2),
    ]
    first = resolve(records)
    older, younger = first.person_of[("meta", "m1")], first.person_of[("linkedin", "l1")]
    assert older != younger
    bridge = keys("a_crm", "0", email="x@acme.com", phone="+12025550143", created=4)
    later = resolve([*records, bridge], previous=first.person_of)
    assert set(later.person_of.values()) == {older}
    assert later.merges == [Merge(younger, older, "phone", "+12025550143")]


def test_an_older_lead_arriving_late_renames_the_person_and_says_why():
    records = [keys("meta", "m1", email="x@acme.com", created=5)]
    first = resolve(records)
    backfilled = keys("hubspot", "h1", email="x@acme.com", created=1)
    later = resolve([*records, backfilled], previous=first.person_of)
    assert set(later.person_of.values()) == {person_id_for("hubspot:h1")}
    assert later.merges == [Merge(first.person_of[("meta", "m1")], person_id_for("hubspot:h1"), "email", "x@acme.com")]  # fmt: skip


def test_a_person_whose_first_lead_left_is_reanchored():
    records = [keys("meta", "m1", email="x@acme.com", created=1), keys("meta", "m2", email="x@acme.com", created=2)]  # fmt: skip
    first = resolve(records)
    later = resolve(records[1:], previous=first.person_of)
    assert later.person_of == {("meta", "m2"): person_id_for("meta:m2")}
    assert later.merges == [Merge(person_id_for("meta:m1"), person_id_for("meta:m2"), "reanchored", "")]  # fmt: skip


def test_rerun_with_previous_changes_nothing():
    records = [
        keys("meta", "1", email="x@acme.com"),
        keys("hubspot", "2", email="x@acme.com", phone="+12025550143"),
        keys("linkedin", "3", phone="+12025550143"),
        keys("meta", "4", email="y@acme.com"),
        keys("hubspot", "5", merged=("6",)),
    ]
    first = resolve(records)
    again = resolve(records, previous=first.person_of)
    assert again == first
    assert again.merges == []


def test_hubspot_merged_ids_join_the_old_contact():
    result = resolve(
        [
            keys("hubspot", "100", email="new@acme.com", merged=("7", "8")),
            keys("hubspot", "7", email="old@acme.com"),
            keys("meta", "m", email="old@acme.com"),
        ]
    )
    assert len(result.clusters) == 1
    person = result.person_of[("hubspot", "100")]
    # 8 was never loaded: it is an alias, so activity on it still finds the person.
    assert result.aliases == {("hubspot", "8"): person}
    assert ("hubspot", "8") not in result.person_of


def test_hubspot_merge_recorded_when_it_bridges_people():
    first = resolve(
        [keys("hubspot", "100", email="new@acme.com"), keys("hubspot", "7", email="old@acme.com")]
    )
    later = resolve(
        [keys("hubspot", "100", email="new@acme.com", merged=("7",)), keys("hubspot", "7", email="old@acme.com")],
        previous=first.person_of,
    )  # fmt: skip
    assert [(m.reason, m.bridging_key) for m in later.merges] == [("hubspot_merge", "hubspot:7")]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("123;456", ("123", "456"), id="semicolon-list"),
        pytest.param(" 456 ; 123;", ("123", "456"), id="spaces-and-trailing"),
        pytest.param(789, ("789",), id="a-number"),
        pytest.param(["1", 2], ("1", "2"), id="a-list"),
        pytest.param("", (), id="empty"),
        pytest.param(None, (), id="none"),
        pytest.param("5;6", ("6",), id="own-id-dropped"),
    ],
)
def test_parse_merged_ids(value, expected):
    assert parse_merged_ids(value, "5") == expected


@pytest.mark.parametrize(
    ("source", "expected"),
    [pytest.param("hubspot", ("1", "2"), id="hubspot-reads-merges"), pytest.param("meta", (), id="others-ignore-it")],
)  # fmt: skip
def test_from_lead_reads_merged_ids_only_for_hubspot(source, expected):
    item = lead(source, "9", email="a@acme.com", custom_fields={"hs_merged_object_ids": "1;2"})
    assert LeadKeys.from_lead(item).merged_ids == expected


def test_switchboard_phone_does_not_merge_people():
    switchboard = "+12025550100"
    records = [
        keys("hubspot", str(i), email=f"rep{i}@acme.com", phone=switchboard) for i in range(6)
    ]
    result = resolve(records)
    assert len(result.clusters) == 6
    assert len(result.notes) == 1
    assert "shared by 6 different emails" in result.notes[0]
    assert switchboard not in result.notes[0]  # never log a phone


def test_phone_shared_by_few_emails_still_links():
    records = [keys("meta", str(i), email=f"p{i}@acme.com", phone="+12025550100") for i in range(5)]
    assert len(resolve(records).clusters) == 1
    assert len(resolve(records, max_emails_per_phone=4).clusters) == 5


def test_lead_without_email_or_phone_is_its_own_person():
    result = resolve([keys("meta", "1"), keys("meta", "2"), keys("linkedin", "1")])
    assert len(result.clusters) == 3
    assert result.person_of[("meta", "1")] == person_id_for("meta:1")


def test_duplicate_lead_is_one_node_with_both_keys():
    result = resolve(
        [
            keys("meta", "1", email="x@acme.com"),
            keys("meta", "1", phone="+12025550143"),
            keys("linkedin", "2", phone="+12025550143"),
        ]
    )
    assert result.clusters == {person_id_for("linkedin:2"): [("linkedin", "2"), ("meta", "1")]}


def test_split_leaves_the_id_with_the_anchor_and_notes_it():
    phone = "+12025550100"
    records = [keys("meta", str(i), email=f"p{i}@acme.com", phone=phone, created=i) for i in range(5)]  # fmt: skip
    first = resolve(records)
    (original,) = set(first.person_of.values())
    assert original == person_id_for("meta:0")
    later = resolve(
        [*records, keys("meta", "5", email="p5@acme.com", phone=phone)], previous=first.person_of
    )
    assert len(later.clusters) == 6
    assert later.person_of[("meta", "0")] == original
    assert later.person_of[("meta", "1")] == person_id_for("meta:1")
    assert not later.merges
    assert any(note.startswith(f"person {original} split") for note in later.notes)


@pytest.mark.parametrize(
    "shared",
    [pytest.param("info@acme.com", id="role"), pytest.param("Sales+EU@acme.com", id="role-with-tag"),
     pytest.param("jo@mailinator.com", id="disposable")],
)  # fmt: skip
def test_role_and_disposable_addresses_link_nobody(shared):
    rules = default_rules().identity
    _, key = normalize_email(shared)
    result = resolve([keys("meta", "1", email=key), keys("hubspot", "2", email=key)], rules=rules)
    assert len(result.clusters) == 2
    assert any("role or disposable" in note for note in result.notes)
    assert all(key not in note for note in result.notes)


def test_blocking_lists_are_configurable():
    rules = IdentityRules(role_local_parts=["jo"])
    records = [keys("meta", "1", email="jo@acme.com"), keys("hubspot", "2", email="jo@acme.com")]
    assert len(resolve(records).clusters) == 1
    assert len(resolve(records, rules=rules).clusters) == 2


_records = st.lists(
    st.builds(
        keys,
        st.sampled_from(["meta", "hubspot", "linkedin"]),
        st.integers(0, 30).map(str),
        st.one_of(st.none(), st.sampled_from(["a@x.com", "b@x.com", "c@x.com", "d@x.com"])),
        st.one_of(st.none(), st.sampled_from(["+12025550101", "+12025550102", "+12025550103"])),
        st.lists(st.integers(0, 30).map(str), max_size=2),
    ),
    max_size=25,
)


@given(records=_records, seed=st.randoms(use_true_random=False))
@settings(max_examples=150, deadline=None)
def test_shuffled_input_gives_the_same_ids(records, seed):
    shuffled = list(records)
    seed.shuffle(shuffled)
    first, second = resolve(records), resolve(shuffled)
    assert first.person_of == second.person_of
    assert first.clusters == second.clusters


@given(records=_records, stale=_records)
@settings(max_examples=150, deadline=None)
def test_previous_ids_never_change_the_answer(records, stale):
    """Whatever an earlier run decided (here: the people of another lead set, so any
    partition at all), the same leads give the same people and ids."""
    previous = resolve(stale).person_of
    assert resolve(records, previous=previous).person_of == resolve(records).person_of


@given(records=_records, more=_records)
@settings(max_examples=150, deadline=None)
def test_adding_leads_only_merges_and_rerun_is_stable(records, more):
    first = resolve(records)
    assert resolve(records, previous=first.person_of) == first
    later = resolve([*records, *more], previous=first.person_of)
    # Adding leads never splits anyone (no phone crosses the switchboard limit here)...
    for members in first.clusters.values():
        assert len({later.person_of[key] for key in members}) == 1
    # ...every previous id survives or is recorded as merged into a surviving one.
    merged = {m.from_person: m.into_person for m in later.merges}
    for pid in set(first.person_of.values()):
        assert (pid in later.clusters) != (pid in merged)
        assert merged.get(pid, pid) in later.clusters


def test_person_profile_takes_the_newest_value_per_field():
    leads = [
        lead("meta", "1", updated=3, email="old@acme.com", first_name="Janet", company=None),
        lead("hubspot", "2", updated=5, phone="(202) 555-0143", last_name="Doe", company="Acme"),
        lead(
            "linkedin", "3", updated=1, email="older@acme.com", company="Initech", job_title="CTO"
        ),
    ]
    profile = person_profile(leads)
    assert profile["email"] == "old@acme.com"
    assert profile["email_match_key"] == "old@acme.com"
    assert profile["phone"] == "+12025550143"
    # A first and last name come together from one lead, never mixed across leads.
    assert (profile["first_name"], profile["last_name"]) == (None, "Doe")
    assert profile["company"] == "Acme"
    assert profile["job_title"] == "CTO"


def test_person_profile_of_no_leads_is_an_error():
    with pytest.raises(ValueError, match="at least one lead"):
        person_profile([])


def test_resolves_a_large_batch_consistently():
    # Speed belongs to the benchmark (bench/), not to a timed unit test: this checks that a
    # large, heavily linked batch resolves completely (no recursion limit, nothing lost).
    rng = random.Random(7)
    n = 100_000
    records = [
        keys(("meta", "hubspot")[i % 2], str(i), f"u{rng.randrange(n // 2)}@x.com", f"+1202{rng.randrange(10**7):07d}")
        for i in range(n)
    ]  # fmt: skip
    result = resolve(records)
    assert len(result.person_of) == n
    assert sum(len(members) for members in result.clusters.values()) == n
