"""The secondary indexes of leads are deferred on a first load and always come back.

On both dialects: an empty table loses them for the load and has them all again after,
as the migrations made them (Alembic sees no difference); a run that stopped in between
leaves the next run to build them before it loads; a table with rows never loses them.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from leadflow.models.loading.leads import load_batch
from leadflow.models.records.leads import Lead
from leadflow.models.warehouse import indexes
from leadflow.models.warehouse.indexes import (
    defer_lead_indexes,
    deferred_lead_indexes,
    lead_index_names,
    missing_lead_indexes,
    restore_lead_indexes,
)
from tests.models.warehouse.schema_check import schema_diff

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
EXPECTED = (
    "ix_leads_email_match_key",
    "ix_leads_phone",
    "ix_leads_source_campaign_id",
    "ix_leads_updated_at",
)


def _load(engine: Engine, count: int, start: int = 0) -> None:
    def lead(i: int) -> Lead:
        email = f"person{i}@example.com"
        return Lead(
            source="meta", source_lead_id=f"l{i}", account_id="page-1", created_at=NOW,
            updated_at=NOW, email=email, email_match_key=email, campaign_id="c1",
        )  # fmt: skip

    leads = [lead(i) for i in range(start, start + count)]
    with engine.begin() as conn:
        load_batch(
            conn, source="meta", account_id="page-1", leads=leads, rejected=(),
            watermark=NOW, cursor=None, now=NOW,
        )  # fmt: skip


def _missing(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return missing_lead_indexes(conn)


def _count(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.text("SELECT count(*) FROM leads")).scalar_one()


def test_the_deferred_indexes_are_the_migrations_own(migrated_engine: Engine) -> None:
    assert lead_index_names() == EXPECTED
    assert _missing(migrated_engine) == []


def test_a_first_load_runs_without_them_and_ends_with_all_of_them(
    migrated_engine: Engine,
) -> None:
    with deferred_lead_indexes(migrated_engine) as dropped:
        assert sorted(dropped) == list(EXPECTED)
        assert _missing(migrated_engine) == list(EXPECTED)
        _load(migrated_engine, 50)
    assert _missing(migrated_engine) == []
    assert _count(migrated_engine) == 50
    assert schema_diff(migrated_engine) == []  # leadflow db upgrade / autogenerate: no change


def test_a_run_stopped_between_drop_and_build_is_healed_by_the_next(
    migrated_engine: Engine,
) -> None:
    assert len(defer_lead_indexes(migrated_engine)) == 4
    _load(migrated_engine, 20)  # ... and the process dies before restore_lead_indexes
    assert _missing(migrated_engine) == list(EXPECTED)

    with deferred_lead_indexes(migrated_engine) as dropped:
        assert dropped == []  # not empty any more: nothing dropped, the missing ones built
        assert _missing(migrated_engine) == []
        _load(migrated_engine, 20, start=20)
    assert _missing(migrated_engine) == []
    assert _count(migrated_engine) == 40
    assert schema_diff(migrated_engine) == []


def test_a_partial_drop_on_an_empty_table_is_finished_by_the_next_run(
    migrated_engine: Engine,
) -> None:
    with migrated_engine.begin() as conn:
        conn.exec_driver_sql("DROP INDEX ix_leads_phone")
    assert defer_lead_indexes(migrated_engine) == [n for n in EXPECTED if n != "ix_leads_phone"]
    assert _missing(migrated_engine) == list(EXPECTED)
    assert restore_lead_indexes(migrated_engine) == list(EXPECTED)
    assert schema_diff(migrated_engine) == []


def test_a_table_with_rows_never_loses_them(migrated_engine: Engine) -> None:
    _load(migrated_engine, 3)
    with deferred_lead_indexes(migrated_engine) as dropped:
        assert dropped == []
        assert _missing(migrated_engine) == []
        _load(migrated_engine, 3, start=3)
    assert restore_lead_indexes(migrated_engine) == []  # nothing to build
    assert _missing(migrated_engine) == []


def test_a_failed_load_still_gets_them_back(migrated_engine: Engine) -> None:
    with (
        pytest.raises(RuntimeError, match="partition failed"),
        deferred_lead_indexes(migrated_engine) as dropped,
    ):
        assert len(dropped) == 4
        _load(migrated_engine, 5)
        raise RuntimeError("partition failed")
    assert _missing(migrated_engine) == []
    assert schema_diff(migrated_engine) == []


@pytest.mark.postgres
@pytest.mark.parametrize("warehouse_url", ["postgresql"], indirect=True)  # table locks
def test_a_leads_table_someone_reads_keeps_its_indexes_for_the_load(
    migrated_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(indexes, "DROP_LOCK_SECONDS", 0.2)
    with migrated_engine.connect() as reader, reader.begin():
        reader.execute(sa.text("SELECT count(*) FROM leads")).scalar_one()  # its share lock
        assert defer_lead_indexes(migrated_engine) == []
    assert _missing(migrated_engine) == []
    assert len(defer_lead_indexes(migrated_engine)) == 4  # once the reader is gone
