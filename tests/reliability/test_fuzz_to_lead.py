"""Hostile input is data: every connector's ``to_lead`` on records shaped like its
platform's, with arbitrary values in any field (unicode, NUL, 1 MB strings, SQL), returns a
Lead or raises ``InvalidRecord`` (the quarantine error), never anything else; what loads,
and what is quarantined, reads back from the warehouse exactly.

The shapes are real records read from each sandbox through the connector itself; the
mutations replace, delete or add fields anywhere in them. ``LEADFLOW_HEAVY=1`` runs 2,000
examples per platform instead of 150.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadflow.connectors.base import LeadContext
from leadflow.connectors.registry import REGISTRY
from leadflow.models.loading.leads import json_safe, lead_row, load_batch, quarantine_key
from leadflow.models.records.leads import InvalidRecord, Lead, Rejected
from leadflow.models.warehouse.tables import leads, quarantine
from tests.reliability.platforms import HEAVY, PLATFORMS, running_platforms

EXAMPLES = 2000 if HEAVY else 150
JSON_FIELDS = ("consent", "custom_fields", "raw")
NOW = datetime(2026, 11, 29, 3, 0, tzinfo=UTC)
HOSTILE = [
    "'); DROP TABLE leads;--",
    "Robert'); DROP TABLE quarantine; --",
    "\x00",
    "a\x00b@example.com",
    "\u202eevil\u202c",
    "💥👩‍👩‍👧‍👦",
    "\ud7ff\ue000\uffff",
    "\U0001d518\U0001d52b\U0001d526",  # mathematical fraktur
    "x" * 1_000_000,
    "é" * 500_000,
    "",
    " ",
    "null",
    "NaN",
    "-1",
    "1e309",
    "2026-13-45T25:61:61Z",
    "+1 (555) 010-0000",
    "%s %(email)s {0} ${HOME}",
]
texts = st.one_of(st.text(max_size=40), st.sampled_from(HOSTILE))
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    texts,
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=6,
)


@pytest.fixture(scope="module")
def samples() -> Iterator[dict[str, list[dict[str, Any]]]]:
    """A few real records per platform, read from its sandbox by its connector."""
    found: dict[str, list[dict[str, Any]]] = {}
    with running_platforms(contacts=60) as running:
        for name in PLATFORMS:
            source = running.sources[name]
            connector = REGISTRY[source.type]
            client = connector.open(source)
            account = connector.accounts(source)[0]
            page = next(iter(connector.pages(client, account, lambda partition: None)))
            found[name] = copy.deepcopy(page.records[:8])
            assert found[name], name
    yield found


def _paths(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield path
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, (*path, index))


def _parent(record: Any, path: tuple[Any, ...]) -> Any:
    for step in path[:-1]:
        record = record[step]
    return record


@st.composite
def hostile_records(draw: st.DrawFn, shapes: list[dict[str, Any]]) -> dict[str, Any]:
    """A real record with a few fields replaced, deleted or added, anywhere in it."""
    record = copy.deepcopy(draw(st.sampled_from(shapes)))
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        paths = [p for p in _paths(record) if p]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent, action = _parent(record, path), draw(st.sampled_from(["set", "delete", "add"]))
        if action == "set":
            parent[path[-1]] = draw(values)
        elif action == "delete" and isinstance(parent, dict):
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[draw(texts)] = draw(values)
    return record


def map_one(name: str, record: dict[str, Any]) -> Lead | InvalidRecord:
    connector = REGISTRY[name]
    context = LeadContext(name, "fuzz-account", "US")
    try:
        lead = connector.to_lead(record, context)
    except InvalidRecord as error:
        return error
    assert isinstance(lead, Lead)
    return lead


@pytest.mark.parametrize("name", PLATFORMS)
def test_to_lead_returns_a_lead_or_the_quarantine_error_for_any_record(samples, name):
    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])  # fmt: skip
    @given(record=hostile_records(samples[name]))
    def check(record: dict[str, Any]) -> None:
        result = map_one(name, record)
        if isinstance(result, Lead):
            assert result.source == name and result.source_lead_id
            for text in (result.email, result.phone, result.first_name, result.company):
                assert text is None or "\x00" not in text

    check()


@pytest.mark.parametrize("name", PLATFORMS)
def test_hostile_values_load_and_read_back_exactly(samples, name, migrated_engine):
    @settings(max_examples=max(EXAMPLES // 10, 10), deadline=None, database=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(batch=st.lists(hostile_records(samples[name]), min_size=1, max_size=6))
    def check(batch: list[dict[str, Any]]) -> None:
        mapped, rejected = {}, []
        for record in batch:
            result = map_one(name, record)
            if isinstance(result, Lead):
                mapped[result.source_lead_id] = result
            else:
                rejected.append(Rejected.from_error(result, "fuzz-account", record))
        with migrated_engine.begin() as conn:
            conn.execute(sa.delete(leads))
            conn.execute(sa.delete(quarantine))
            load_batch(conn, source=name, account_id="fuzz-account", leads=list(mapped.values()),
                       rejected=rejected, watermark=None, cursor=None, now=NOW)  # fmt: skip
        with migrated_engine.connect() as conn:
            stored = {row.source_lead_id: row._mapping for row in conn.execute(sa.select(leads))}
            held = dict(conn.execute(sa.select(quarantine.c.record_key, quarantine.c.raw)).all())
        assert set(stored) == set(mapped)
        for key, lead in mapped.items():
            # JSON fields against the Lead itself: lead_row's decoded JSON turns integers
            # beyond 64 bits into floats (orjson.loads), while the stored text is exact.
            expected = lead_row(lead) | {n: json_safe(getattr(lead, n)) for n in JSON_FIELDS}
            for column, value in expected.items():
                assert stored[key][column] == value, (key, column)
        expected = {quarantine_key(r): json_safe(r.raw) for r in rejected}
        assert held == expected

    check()


@pytest.mark.parametrize(
    ("name", "break_it", "field"),
    [
        ("hubspot", lambda r: r.update(properties=True), "properties"),
        # Without field_data a Meta lead is invalid for field_data itself: no field to blame.
        ("meta", lambda r: r.update(field_data=7), "<record>"),
        ("linkedin", lambda r: r.update(formResponse={"answers": [1, 2]}), "formResponse"),
        ("mailchimp", lambda r: r.update(status=["subscribed"]), "status"),
    ],
)
def test_a_record_of_the_wrong_shape_is_quarantined_naming_the_field(
    samples, name, break_it, field
):
    record = copy.deepcopy(samples[name][0])
    break_it(record)
    result = map_one(name, record)
    assert isinstance(result, InvalidRecord)
    assert result.field_name == field and result.reason.startswith("malformed: ")


def test_lead_row_keeps_integers_beyond_64_bits(samples):
    """Regression: lead_row decoded its JSON with orjson.loads, which reads integers past
    64 bits as floats (the stored JSON text was exact)."""
    record = copy.deepcopy(samples["hubspot"][0]) | {"bigNumber": 2**70 + 1}
    lead = map_one("hubspot", record)
    assert isinstance(lead, Lead) and lead.raw["bigNumber"] == 2**70 + 1
    assert lead_row(lead)["raw"]["bigNumber"] == 2**70 + 1


@pytest.mark.parametrize("name", PLATFORMS)
def test_an_id_too_long_to_index_is_quarantined_not_a_failed_page(samples, name, migrated_engine):
    """Regression (hypothesis, PostgreSQL): an 11 kB id failed the whole page with "index row
    requires 11504 bytes"; now the record is quarantined naming the field."""
    record = copy.deepcopy(samples[name][0])
    good = map_one(name, copy.deepcopy(record))
    assert isinstance(good, Lead)
    bad = copy.deepcopy(record)
    _set_id(name, bad, "x" * 11_000)
    result = map_one(name, bad)
    assert isinstance(result, InvalidRecord) and "longer than" in result.reason
    rejected = [Rejected.from_error(result, "fuzz-account", bad)]
    with migrated_engine.begin() as conn:
        load_batch(conn, source=name, account_id="fuzz-account", leads=[good],
                   rejected=rejected, watermark=None, cursor=None, now=NOW)  # fmt: skip
    with migrated_engine.connect() as conn:
        held = conn.execute(sa.select(quarantine.c.record_key, quarantine.c.field)).all()
        loaded = conn.execute(sa.select(sa.func.count()).select_from(leads)).scalar_one()
    assert loaded == 1
    [(key, field)] = held
    assert key.startswith("sha256:") and field == result.field_name


def _set_id(name: str, record: dict[str, Any], value: str) -> None:
    """Put ``value`` where each platform keeps the lead's id."""
    if name == "google_ads":
        record["leadFormSubmissionData"]["resourceName"] = value
    else:
        record["id"] = value
