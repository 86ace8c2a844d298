"""A lead's encoding and content hash, and the bulk writers on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import MappingProxyType

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from leadflow.models.loading.lead_rows import LEAD_FIELDS, encode_lead
from leadflow.models.loading.leads import LoadCounts, load_batch
from leadflow.models.records.leads import Lead
from leadflow.models.warehouse.tables import leads

T0 = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def lead(lead_id: str = "a", **overrides: object) -> Lead:
    values: dict[str, object] = {
        "source": "meta",
        "source_lead_id": lead_id,
        "account_id": "act_1",
        "created_at": T0,
        "updated_at": T0,
        "email": f"{lead_id}@example.com",
        "raw": {"id": lead_id, "answers": {"budget": "10k", "size": 5}},
    }
    return Lead(**(values | overrides))


def row_hash(item: Lead) -> str:
    return encode_lead(item)[-1]


def test_encoding_is_one_value_per_column_then_the_hash() -> None:
    values = encode_lead(lead())
    assert len(values) == len(LEAD_FIELDS) + 1 and len(values[-1]) == 64
    assert values[LEAD_FIELDS.index("raw")] == '{"answers":{"budget":"10k","size":5},"id":"a"}'


def test_hash_ignores_key_order_but_not_content() -> None:
    reordered = lead(raw={"answers": {"size": 5, "budget": "10k"}, "id": "a"})
    assert row_hash(reordered) == row_hash(lead())
    assert row_hash(lead(raw={"id": "a", "answers": {"budget": "10k", "size": 6}})) != row_hash(
        lead()
    )
    assert row_hash(lead(city="Lyon")) != row_hash(lead())


def test_json_fields_do_not_bleed_into_each_other() -> None:
    # The same text moved from one JSON field to another is a different lead.
    one = lead(custom_fields={"x": 1}, raw={})
    other = lead(custom_fields={}, raw={"x": 1})
    assert row_hash(one) != row_hash(other)
    assert row_hash(lead(consent=None)) != row_hash(lead(consent={}))


def test_values_that_need_converting_hash_like_their_json() -> None:
    odd = lead(raw={"amount": Decimal("9.90"), "tags": {"b", "a"}, "at": T0})
    plain = lead(raw={"amount": "9.90", "tags": ["a", "b"], "at": "2026-03-02T09:30:00+00:00"})
    assert encode_lead(odd) == encode_lead(plain)
    wrapped = lead(raw=MappingProxyType({"id": "a", "answers": {"budget": "10k", "size": 5}}))
    assert encode_lead(wrapped) == encode_lead(lead())


def test_two_batches_in_one_transaction(migrated_engine: Engine) -> None:
    # The PostgreSQL staging table must not carry the first batch into the second.
    kwargs = {"source": "meta", "account_id": "act_1", "rejected": (), "cursor": None}
    with migrated_engine.begin() as conn:
        first = load_batch(conn, leads=[lead("a"), lead("b")], watermark=T0, now=T0, **kwargs)
        later = T0 + timedelta(hours=1)
        second = load_batch(
            conn, leads=[lead("b", city="Lyon"), lead("c")], watermark=later, now=later, **kwargs
        )
    assert (first, second) == (LoadCounts(2, 0, 0, 0), LoadCounts(1, 1, 0, 0))
    with migrated_engine.connect() as conn:
        rows = conn.execute(sa.select(leads.c.source_lead_id, leads.c.city)).all()
    assert sorted(rows) == [("a", None), ("b", "Lyon"), ("c", None)]


def test_stored_hash_is_the_encoded_hash(migrated_engine: Engine) -> None:
    item = replace(lead(), raw={"nested": [1, 2.5, None, True], "名前": "Zoë"})
    with migrated_engine.begin() as conn:
        load_batch(
            conn,
            source="meta",
            account_id="act_1",
            leads=[item],
            rejected=(),
            watermark=None,
            cursor=None,
            now=T0,
        )
    with migrated_engine.connect() as conn:
        stored = conn.execute(sa.select(leads.c.row_hash, leads.c.raw)).one()
    assert tuple(stored) == (row_hash(item), item.raw)
