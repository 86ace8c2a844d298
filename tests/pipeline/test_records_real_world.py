"""Real-shaped records through the pipeline: every lead loaded correctly, or quarantined with
the field and the reason, never the value; the values left out of loaded leads are counted."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from leadflow.cli.main import main
from leadflow.config.settings import parse_settings
from leadflow.connectors.base import LeadContext
from leadflow.connectors.registry import REGISTRY
from leadflow.models.records.leads import summarize_notes
from leadflow.models.warehouse.tables import leads, quarantine
from leadflow.pipeline.file_import import format_summary, import_file
from leadflow.pipeline.mapping import normalize_records

NOW = datetime(2026, 11, 28, 12, tzinfo=UTC)
LONG_EMAIL = "q" * 10_000 + "@example.com"
PLANTED = ("qqqqqqqq", "example.com", "0912", "345 678", "9999", "0001")


def meta_lead(key: str, created: str, **answers: str) -> dict:
    return {
        "id": key, "created_time": created, "form_id": "f1",
        "field_data": [{"name": name, "values": [value]} for name, value in answers.items()],
    }  # fmt: skip


def test_api_records_phones_regions_and_values_out_of_range() -> None:
    records = [
        meta_lead("1", "2026-11-20T10:00:00+0000", email="a@example.com",
                  phone_number="0912 345 678", country="Taiwan"),
        meta_lead("2", "2026-11-20T10:00:00+0000", email="b@example.com",
                  phone_number="0912 345 678", country="US"),
        meta_lead("3", "2026-11-20T10:00:00+0000", email=LONG_EMAIL,
                  phone_number="+1 415 555 0134"),
        meta_lead("4", "9999-12-31T00:00:00+0000", email="d@example.com"),
        meta_lead("5", "0001-01-01T00:00:00+0000", email="e@example.com"),
    ]  # fmt: skip
    context = LeadContext("meta", "acct", "US")
    got, rejected = normalize_records(REGISTRY["meta"], records, context, now=NOW)
    assert [(lead.source_lead_id, lead.phone) for lead in got] == [
        ("1", "+886912345678"), ("2", None),
    ]  # fmt: skip
    assert summarize_notes(got) == ("1 lead: phone not valid for its region: E.164 left empty",)
    assert {(item.record_key, item.field_name, item.reason) for item in rejected} == {
        ("3", "email", "email: longer than 254 characters"),
        ("4", "created_at", "created_at: more than 1 day after the load time, out of range"),
        ("5", "created_at", "created_at: before 2000-01-01, out of range"),
    }
    text = " ".join(item.reason for item in rejected) + " ".join(summarize_notes(got))
    assert not [value for value in PLANTED if value in text]


def test_an_import_loads_quarantines_and_counts_without_values(
    migrated_engine: Engine, warehouse_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "export.csv"
    path.write_text(
        "id,created,name,email,phone,country\n"
        '1,2026-11-20T10:00:00Z,"French, Billy",billy@example.com,0912 345 678,TW\n'
        "2,2026-11-20T10:00:00Z,Sam Stone,sam@example.com,0912 345 678,US\n"
        f"3,2026-11-20T10:00:00Z,Long Mail,{LONG_EMAIL},,US\n"
        "4,9999-01-01T00:00:00Z,Far Future,far@example.com,,US\n"
    )
    mapping = {"id": "id", "created_at": "created", "full_name": "name", "email": "email",
               "phone": "phone", "country": "country"}  # fmt: skip
    settings = parse_settings(
        {"warehouse_url": warehouse_url, "timezone": "UTC"}, origin="test", env={}
    )
    summary = import_file(path, source="crm", settings=settings, mapping=mapping, now=NOW,
                          migrate=False)  # fmt: skip
    assert (summary["inserted"], summary["quarantined"]) == (2, 2)
    assert summary["notes"] == ["1 lead: phone not valid for its region: E.164 left empty"]
    assert summary["problems"] == [
        "line 4: email: longer than 254 characters (email)",
        "line 5: created_at: more than 1 day after the load time, out of range (created)",
    ]
    printed = format_summary(summary)
    assert "1 lead: phone not valid for its region" in printed and "... and" not in printed
    with migrated_engine.connect() as conn:
        rows = conn.execute(
            sa.select(leads.c.source_lead_id, leads.c.first_name, leads.c.last_name,
                      leads.c.phone).order_by(leads.c.source_lead_id)
        ).all()  # fmt: skip
        reasons = conn.execute(sa.select(quarantine.c.reason)).scalars().all()
    assert [tuple(row) for row in rows] == [
        ("1", "Billy", "French", "+886912345678"), ("2", "Sam", "Stone", None),
    ]  # fmt: skip
    text = printed + "\n".join(reasons)
    assert not [value for value in PLANTED if value in text]


def test_leadflow_import_refuses_a_file_of_unknown_encoding_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "leadflow.yaml"
    config.write_text(f"warehouse_url: sqlite:///{tmp_path / 'w.db'}\ntimezone: UTC\n")
    path = tmp_path / "unknown.csv"
    path.write_bytes(b"id,created,email\n1,2026-11-20T10:00:00Z,\x81\x8d\n")
    code = main(["import", str(path), "--source", "crm", "--config", str(config),
                 "--mapping", '{"id": "id", "created_at": "created", "email": "email"}'])  # fmt: skip
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.count("\n") == 0
    assert err.startswith("leadflow import: unknown.csv: the encoding could not be determined")
