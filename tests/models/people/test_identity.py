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
    person_profile,
    resolve,
)
from leadflow.models.records.contact import normalize_email, normalize_phone
from leadflow.models.records.leads import Lead

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def keys(source, lead_id, email=None, phone=None, merged=()):
    return LeadKeys(source, lead_id, email, phone, tuple(merged))


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


def test_new_person_id_is_hash_of_smallest_key():
    result = resolve(
        [keys("meta", "9", email="x@acme.com"), keys("hubspot", "5", email="x@acme.com")]
    )
    assert result.person_of[("meta", "9")] == person_id_for("hubspot:5")
    assert result.clusters == {person_id_for("hubspot:5"): [("hubspot", "5"), ("meta", "9")]}


def test_bridging_lead_merges_two_people_and_keeps_the_bigger_id():
    first = resolve(
        [
            keys("meta", "m1", email="x@acme.com"),
            keys("meta", "m2", email="x@acme.com"),
            keys("linkedin", "l1", phone="+12025550143"),
        ]
    )
    big, small = first.person_of[("meta", "m1")], first.person_of[("linkedin", "l1")]
    assert big != small
    later = resolve(
        [
            keys("meta", "m1", email="x@acme.com"),
            keys("meta", "m2", email="x@acme.com"),
            keys("linkedin", "l1", phone="+12025550143"),
            # "a..." sorts before every earlier key: without previous it would name the person.
            keys("a_crm", "0", email="x@acme.com", phone="+12025550143"),
        ],
        previous=first.person_of,
    )
    assert set(later.person_of.values()) == {big}
    assert later.merges == [Merge(small, big, "phone", "+12025550143")]


def test_merge_ties_keep_the_smallest_id():
    first = resolve([keys("meta", "1", email="x@acme.com"), keys("meta", "2", email="y@acme.com")])
    later = resolve(
        [
            keys("meta", "1", email="x@acme.com"),
            keys("meta", "2", email="y@acme.com", phone="+12025550143"),
            keys("meta", "3", email="x@acme.com", phone="+12025550143"),
        ],
        previous=first.person_of,
    )
    survivor = min(first.person_of.values())
    retired = max(first.person_of.values())
    assert later.person_of[("meta", "3")] == survivor
    assert len(later.merges) == 1
    assert later.merges[0].from_person == retired
    assert later.merges[0].into_person == survivor


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


def test_split_keeps_id_once_and_notes_it():
    phone = "+12025550100"
    records = [keys("meta", str(i), email=f"p{i}@acme.com", phone=phone) for i in range(5)]
    first = resolve(records)
    (original,) = set(first.person_of.values())
    later = resolve(
        [*records, keys("meta", "5", email="p5@acme.com", phone=phone)], previous=first.person_of
    )
    assert len(later.clusters) == 6
    assert list(later.person_of.values()).count(original) == 1
    assert not later.merges
    assert any(note.startswith(f"person {original} split") for note in later.notes)


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
