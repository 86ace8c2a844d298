"""On PostgreSQL a first people run classifies everyone before ``people``'s secondary
indexes are built (each classification rewrites the indexed lifecycle), builds them with its
last batch, and a run that stopped before then leaves them for the next run to build first;
SQLite builds them in identity's transaction (``UNINDEXED_WHILE_CLASSIFYING``)."""

from __future__ import annotations

import logging
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

import leadflow.pipeline.classification as batch_step
from leadflow.models.warehouse.tables import people
from tests.pipeline.test_people import lead
from tests.pipeline.test_people_incremental import load, people_rows, run

SECONDARY = sorted(str(index.name) for index in people.indexes)


def present(conn: Any) -> list[str]:
    names = {index["name"] for index in sa.inspect(conn).get_indexes(people.name)}
    return sorted(names & set(SECONDARY))


def test_a_first_run_classifies_before_building_peoples_indexes(
    migrated_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    load(migrated_engine, [lead("meta", f"m{i}", f"p{i}@example.com") for i in range(5)])
    seen: list[list[str]] = []
    real = batch_step.store_classifications

    def spy(conn: Any, *args: Any, **kw: Any) -> int:
        seen.append(present(conn))
        return real(conn, *args, **kw)

    monkeypatch.setattr(batch_step, "store_classifications", spy)
    assert run(migrated_engine, "r1", batch_size=2)["classified"] == 5
    during = [] if migrated_engine.dialect.name == "postgresql" else SECONDARY
    assert seen == [during] * 3  # three batches
    with migrated_engine.connect() as conn:
        assert present(conn) == SECONDARY
    seen.clear()
    load(migrated_engine, [lead("meta", "m9", "p9@example.com")])
    run(migrated_engine, "r2", batch_size=2)
    assert seen and all(found == SECONDARY for found in seen)  # only a first run defers


def test_a_run_stopped_before_its_indexes_leaves_them_to_the_next(
    migrated_engine: Engine, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    load(migrated_engine, [lead("meta", f"m{i}", f"p{i}@example.com") for i in range(5)])
    with monkeypatch.context() as patched:
        real = batch_step.store_classifications
        calls: list[int] = []

        def failing(*args: Any, **kw: Any) -> int:
            calls.append(1)
            if len(calls) == 2:
                raise RuntimeError("database went away")
            return real(*args, **kw)

        patched.setattr(batch_step, "store_classifications", failing)
        with pytest.raises(RuntimeError, match="went away"):
            run(migrated_engine, "r1", batch_size=2)
    postgresql = migrated_engine.dialect.name == "postgresql"
    with migrated_engine.connect() as conn:  # identity committed without them on PostgreSQL
        assert present(conn) == ([] if postgresql else SECONDARY)
    with caplog.at_level(logging.WARNING):
        assert run(migrated_engine, "r2", batch_size=2)["classified"] == 5
    assert ("people lacked 3 of its indexes" in caplog.text) == postgresql
    with migrated_engine.connect() as conn:
        assert present(conn) == SECONDARY
    assert {row["lifecycle"] for row in people_rows(migrated_engine).values()} != {None}
