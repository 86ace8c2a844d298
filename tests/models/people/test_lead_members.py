"""The JSON members classification reads of a lead (``classification_store._member``): the
guarded extraction, which parses a payload only when its text holds the member's first key
or a ``\\u`` escape, gives exactly what parsing every payload gives, on SQLite and
PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from leadflow.models.loading.leads import load_batch
from leadflow.models.people.classification_store import _LEAD_MEMBERS, _member
from leadflow.models.records.leads import Lead
from leadflow.models.warehouse.lead_tables import leads

T0 = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)

# (custom_fields, raw) of one lead each: members present, present only as values, nested
# deeper, of another type, or absent; keys differing in case only.
PAYLOADS: list[tuple[dict[str, Any], Any]] = [
    (
        {
            "form_name": "Demo",
            "hs_lead_status": "OPEN",
            "Status": "Working",
            "hs_analytics_source": "PAID_SOCIAL",
            "numberofemployees": 250,
        },
        {
            "form_name": "Raw form",
            "form": {"name": "LinkedIn form"},
            "leadflow_form": {"name": "Meta form"},
        },
    ),
    ({"status": "lower case", "note": "form_name"}, {"x": "form_name", "y": ["form"]}),
    ({"company_size": "1,200", "employees": None}, {"form": "not an object"}),
    ({"company_employees": 12.5}, {"nested": {"form_name": "too deep", "form": {"name": 1}}}),
    ({}, {"leadflow_form": {"id": "f1"}, "form_name": None}),
    ({"Status": {"label": "Working"}}, {"form_name": True, "form": {"name": ["a", "b"]}}),
]
# Payloads stored as text another writer spelled: escaped keys, an array, whitespace.
ESCAPED = [
    ('{"hs\\u005flead_status": "escaped"}', '{"form\\u005fname": "escaped key"}'),
    ('{ "Status" : "spaced" }', "[1, 2, 3]"),
]


def _lead(index: int, custom: dict[str, Any], raw: Any) -> Lead:
    return Lead(
        source="meta", source_lead_id=f"m{index}", account_id="a1", created_at=T0,
        updated_at=T0, custom_fields=custom, raw=raw,
    )  # fmt: skip


def test_guarded_members_equal_parsed_members(migrated_engine: Engine) -> None:
    batch = [_lead(i, custom, raw) for i, (custom, raw) in enumerate(PAYLOADS)]
    batch += [_lead(len(PAYLOADS) + i, {}, {}) for i in range(len(ESCAPED))]
    with migrated_engine.begin() as conn:
        load_batch(
            conn, source="meta", account_id="a1", leads=batch, rejected=[], watermark=None,
            cursor=None, now=T0,
        )  # fmt: skip
        for i, (custom, raw) in enumerate(ESCAPED):
            lead_id = f"m{len(PAYLOADS) + i}"
            conn.execute(
                sa.text("UPDATE leads SET custom_fields = :c, raw = :r WHERE source_lead_id = :i"),
                {"c": custom, "r": raw, "i": lead_id},
            )
    dialect = migrated_engine.dialect.name
    names = list(_LEAD_MEMBERS)

    def read(guarded: bool) -> list[tuple[Any, ...]]:
        columns = [_member(dialect, *_LEAD_MEMBERS[name], name, guarded=guarded) for name in names]
        query = sa.select(leads.c.source_lead_id, *columns).order_by(leads.c.source_lead_id)
        with migrated_engine.connect() as conn:
            return [tuple(row) for row in conn.execute(query)]

    plain, guarded = read(False), read(True)
    assert guarded == plain
    found = {name: value for row in plain for name, value in zip(names, row[1:], strict=True)
             if value is not None}  # fmt: skip
    # Not vacuous: members were found, escaped keys included.
    assert {"form_name", "raw_form", "raw_meta_form", "crm_status"} <= set(found)
    by_lead = {row[0]: dict(zip(names, row[1:], strict=True)) for row in plain}
    escaped = by_lead[f"m{len(PAYLOADS)}"]
    if dialect == "postgresql":  # SQLite 3.40 matches keys as written: found by neither
        assert (escaped["raw_form_name"], escaped["lead_status"]) == ("escaped key", "escaped")
    assert by_lead["m1"]["crm_status"] is None  # "status" is not "Status"
