"""A lead's facts built from its row (``LeadFacts.from_row``, what the store reads): each
column lands in its field, the CRM status is the source's own, the form name is the first
present of its four places, the company size the first number, times converted."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import product

from leadflow.models.people.batches import utc
from leadflow.models.people.facts import ROW_FIELDS, SIZE_KEYS, LeadFacts

T0 = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def _rows() -> list[dict[str, object]]:
    found = []
    sources = ("hubspot", "salesforce", "meta", "csv")
    forms = ((None, None, None, None), ("", "", None, "Demo"), (None, " Raw ", "x", None),
             ("Contact", None, None, None), ("", "", "", ""))  # fmt: skip
    sizes = ((None,) * 4, (None, "51-200", "10", None), ("", "1,000+", None, None), ("n/a",) * 4)
    for i, (source, form, size) in enumerate(product(sources, forms, sizes)):
        values: dict[str, object] = {name: None for name in ROW_FIELDS}
        values.update(
            source=source, source_lead_id=f"l{i}", created_at="2026-03-02 09:30:00.000000",
            updated_at=T0.isoformat(), is_organic=bool(i % 2), email=("a@b.example", None,
            "no-at-sign")[i % 3], lead_status=(" IN_PROGRESS ", None)[i % 2], crm_status="Open",
            analytics_source=("", "PAID_SOCIAL", None)[i % 3], job_title="CEO", owner_id="o1",
        )  # fmt: skip
        values.update(
            zip(("form_name", "raw_form_name", "raw_form", "raw_meta_form"), form, strict=True)
        )
        values.update(zip(SIZE_KEYS, size, strict=True))
        found.append(values)
    return found


def _expected_size(values: dict[str, object]) -> int | None:
    for key in SIZE_KEYS:
        text = str(values[key] or "").replace(",", "")
        digits = "".join(c if c.isdigit() else " " for c in text).split()
        if digits:
            return int(digits[0])
    return None


def test_facts_from_a_row() -> None:
    rows = _rows()
    assert len(rows) == 80
    for values in rows:
        facts = LeadFacts.from_row([values[name] for name in ROW_FIELDS], utc)
        source = values["source"]
        assert (facts.source, facts.source_lead_id, facts.owner_id) == (
            source,
            values["source_lead_id"],
            "o1",
        )
        assert facts.created_at == T0 and facts.updated_at == T0
        assert facts.is_organic == values["is_organic"] and facts.job_title == "CEO"
        status = {"hubspot": values["lead_status"], "salesforce": "Open"}.get(str(source))
        assert facts.lead_status == (str(status).strip() if status else None)
        form = [values[k] for k in ("form_name", "raw_form_name", "raw_form", "raw_meta_form")]
        first = next((str(f).strip() for f in form if f), None)
        assert facts.form_name == (first or None)
        assert facts.company_size == _expected_size(values)
        email = values["email"]
        assert facts.email_domain == (str(email).rpartition("@")[2] if email else None)
        assert facts.analytics_source == (values["analytics_source"] or None)
