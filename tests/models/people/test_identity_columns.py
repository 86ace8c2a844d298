"""Identity over columns (``KeyColumns``, numpy and scipy's connected components) against a
plain union-find over the records written here from the rules as the module states them.

The columnar resolve replaced a pure-Python union-find over ``LeadKeys`` objects and dicts
by natural key (700 bytes a lead at its peak). Whatever the input, it must give the same
people, ids and aliases: the oracle below is the rules in their simplest form.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from leadflow.models.people.identity import (
    KeyColumns,
    LeadKeys,
    person_id_for,
    resolve,
)
from leadflow.models.people.identity_keys import anchor_time
from leadflow.models.people.rules import IdentityRules

T0 = datetime(2026, 11, 1, tzinfo=UTC)
RULES = IdentityRules(max_emails_per_phone=2, role_local_parts=frozenset({"info"}))


def _oracle(records: list[LeadKeys], rules: IdentityRules) -> tuple[dict, dict]:
    """(person of each lead, person of each alias) by the rules, with a dict union-find."""
    parent: dict[tuple[str, str], tuple[str, str]] = {}

    def find(node):
        parent.setdefault(node, node)
        while parent[node] != node:
            node = parent[node]
        return node

    def union(a, b):
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    emails_of_phone: dict[str, set[str]] = defaultdict(set)
    for rec in records:
        find(rec.natural_key)
        if rec.phone and rec.email_match_key:
            emails_of_phone[rec.phone].add(rec.email_match_key)
    by_value: dict[tuple[str, str], tuple[str, str]] = {}
    for rec in records:
        values = []
        if rec.email_match_key and not rules.blocks_email(rec.email_match_key):
            values.append(("email", rec.email_match_key))
        if rec.phone and len(emails_of_phone[rec.phone]) <= rules.max_emails_per_phone:
            values.append(("phone", rec.phone))
        if rec.contact_key:
            values.append(("contact", rec.contact_key))
        for value in values:
            union(rec.natural_key, by_value.setdefault(value, rec.natural_key))
        for merged in rec.merged_ids:
            union(rec.natural_key, ("hubspot", merged))
    leads = {rec.natural_key for rec in records}
    anchor: dict[tuple[str, str], tuple[int, str]] = {}
    for rec in records:
        order = (anchor_time(rec.created_at), "%s:%s" % rec.natural_key)  # noqa: UP031
        root = find(rec.natural_key)
        anchor[root] = min(anchor.get(root, order), order)
    person = {root: person_id_for(text) for root, (_, text) in anchor.items()}
    person_of = {key: person[find(key)] for key in leads}
    aliases = {key: person[find(key)] for key in parent if key not in leads}
    return person_of, aliases


_created = st.one_of(st.none(), st.integers(0, 4).map(lambda h: T0 + timedelta(hours=h)))
_records = st.lists(
    st.builds(
        LeadKeys,
        st.sampled_from(["meta", "hubspot", "linkedin"]),
        st.integers(0, 25).map(str),
        st.one_of(st.none(), st.sampled_from(["a@x.com", "b@x.com", "c@x.com", "info@x.com"])),
        st.one_of(st.none(), st.sampled_from(["+12025550101", "+12025550102"])),
        st.lists(st.integers(0, 30).map(str), max_size=2).map(tuple),
        _created,
        st.one_of(st.none(), st.sampled_from(["mailchimp:l1:c1", "mailchimp:l1:c2"])),
    ),
    max_size=30,
)


@given(records=_records)
@settings(max_examples=300, deadline=None)
def test_columns_give_what_the_plain_union_find_gives(records):
    person_of, aliases = _oracle(records, RULES)
    result = resolve(records, rules=RULES)
    assert result.person_of == person_of
    assert result.aliases == aliases
    assert result.person_ids() == set(person_of.values())
    assert result.people_count() == len(set(person_of.values()))


@given(records=_records)
@settings(max_examples=100, deadline=None)
def test_columns_give_back_each_record(records):
    columns = KeyColumns.of(records)
    assert len(columns) == len(records)
    for position, rec in enumerate(records):
        got = columns.record(position)
        # Creation times come back as UTC instants (microseconds), the rest as given.
        assert got == LeadKeys(
            rec.source, rec.source_lead_id, rec.email_match_key or None, rec.phone or None,
            rec.merged_ids, rec.created_at, rec.contact_key,
        )  # fmt: skip


def test_an_email_on_two_peoples_leads_belongs_to_neither():
    records = [
        LeadKeys("meta", "1", "shared@x.com", "+12025550101"),
        LeadKeys("meta", "2", "own@x.com", "+12025550101"),  # one person with 1 by phone
        LeadKeys("meta", "3", "shared@x.com", None, created_at=T0),  # ...and 3 by email
        LeadKeys("meta", "4", "other@x.com"),
        LeadKeys("meta", "5", "info@x.com"),  # role address: its own person
        LeadKeys("meta", "6", "info@x.com"),  # ...and so is this lead
    ]
    result = resolve(records, rules=RULES.model_copy(update={"max_emails_per_phone": 5}))
    owners = result.email_people()
    person = result.person_of
    assert person[("meta", "1")] == person[("meta", "2")] == person[("meta", "3")]
    assert dict(owners) == {
        "other@x.com": person[("meta", "4")],
        "own@x.com": person[("meta", "1")],
        "shared@x.com": person[("meta", "1")],
    }
    assert list(owners) == sorted(owners)  # iterated in key order
    assert list(owners.pairs()) == list(owners.items())  # what a first run writes
    assert "info@x.com" not in owners  # on two people's leads
    assert owners.get("nobody@x.com") is None
    # What an incremental save compares with the stored keys: the owned keys not stored yet.
    stored = owners.stored_keys()
    for key in ("own@x.com", "info@x.com", "gone@x.com"):  # not ours, or ours but shared
        stored.add(key)
    assert list(stored.missing()) == ["other@x.com", "shared@x.com"]


def test_lookups_of_a_few_leads_and_people():
    records = [LeadKeys("meta", str(i), f"{i % 3}@x.com") for i in range(9)]
    result = resolve(records)
    person = result.person_of
    some = {("meta", "1"), ("meta", "2"), ("meta", "not-a-lead")}
    assert result.people_of(some) == {key: person[key] for key in some if key in person}
    chosen = {person[("meta", "1")], "legacy-id"}
    assert result.leads_of(chosen) == {
        key: pid for key, pid in person.items() if pid == person[("meta", "1")]
    }
    assert len(result.leads_of(chosen)) == 3
