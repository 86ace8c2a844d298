"""Secondary indexes deferred while a first load fills an empty table: ``leads`` across a
sync's partitions, ``sla_evaluations`` within an SLA run's transaction.

Keeping the secondary indexes up to date row by row cost 2.3-2.5x on SQLite and 1.2-1.6x
on PostgreSQL during a big load (issue 20); building them once, after the rows are in, is
cheaper. So a sync that starts on an empty ``leads`` drops them (never the primary key
(source, source_lead_id), which every upsert's ``ON CONFLICT`` needs) and builds them again
once every partition has loaded, before the people layer reads by them.

The indexes are the table's own (``leads.indexes``: the names and columns the migrations
created, from the naming convention), built with ``CREATE INDEX IF NOT EXISTS``, so after a
completed run Alembic sees no difference. A run that dies between the drop and the build
leaves them missing: the next run that starts on a non-empty table builds them first
(``defer_lead_indexes``). A non-empty table never loses them.

Used by ``deferred_lead_indexes`` around a sync's partition tasks (``flows/partitions.py``).

``drop_secondary_indexes`` and ``create_secondary_indexes`` do the same for any table inside
one transaction (an SLA run into an empty ``sla_evaluations`` on SQLite; a first identity
run into empty ``people``, ``lead_people`` and ``email_people``, ``defer_while_empty``, on
both databases): a failed run rolls the drop back with the rows, so nothing is left to
repair.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.schema import CreateIndex, DropIndex

from leadflow.models.warehouse.engine import write_transaction
from leadflow.models.warehouse.lead_tables import leads

log = logging.getLogger(__name__)
Logger = logging.Logger | logging.LoggerAdapter[Any]

# Every index of leads but its primary key, by name (the migrations' names).
LEAD_INDEXES: tuple[sa.Index, ...] = tuple(sorted(leads.indexes, key=lambda index: str(index.name)))
# PostgreSQL: how long a deferral keeps asking for the locks of tables a reader holds before
# the run goes on with their indexes in place; how long it waits between two asks.
DROP_LOCK_SECONDS = 5.0
LOCK_RETRY_SECONDS = 0.05


def lead_index_names() -> tuple[str, ...]:
    """The names of ``leads``' secondary indexes."""
    return tuple(str(index.name) for index in LEAD_INDEXES)


def missing_lead_indexes(conn: Connection) -> list[str]:
    """The secondary indexes of ``leads`` the database lacks, by name."""
    present = {found["name"] for found in sa.inspect(conn).get_indexes(leads.name)}
    return [name for name in lead_index_names() if name not in present]


def drop_secondary_indexes(conn: Connection, table: sa.Table) -> list[sa.Index]:
    """In ``conn``'s transaction, drop ``table``'s secondary indexes that exist (never its
    primary key); those dropped, for :func:`create_secondary_indexes` in the same
    transaction."""
    present = {found["name"] for found in sa.inspect(conn).get_indexes(table.name)}
    dropped = sorted((i for i in table.indexes if i.name in present), key=lambda i: str(i.name))
    driver: Any = conn.connection.driver_connection
    if dropped and conn.dialect.name == "sqlite" and not driver.in_transaction:
        # pysqlite begins a transaction only before DML: a DDL first would commit on its
        # own, out of the caller's transaction.
        conn.exec_driver_sql("BEGIN")
    for index in dropped:
        conn.execute(DropIndex(index))
    return dropped


def create_secondary_indexes(
    conn: Connection, table: sa.Table, indexes: Sequence[sa.Index]
) -> None:
    """Build ``indexes`` of ``table`` again (what :func:`drop_secondary_indexes` dropped)."""
    for index in indexes:
        conn.execute(CreateIndex(index, if_not_exists=True))


def defer_while_empty(conn: Connection, *tables: sa.Table) -> dict[str, list[sa.Index]]:
    """In ``conn``'s transaction, drop the secondary indexes of each of ``tables`` that
    holds no row (:func:`drop_secondary_indexes`); those dropped, by table name, for
    :func:`create_secondary_indexes` in the same transaction once the table is filled.

    PostgreSQL: the drops hold the tables' exclusive locks until the transaction ends (a
    reader of a still empty table waits for the rows); they are taken by
    :func:`lock_without_waiting`, else every table keeps its indexes for this run."""
    empty = [table for table in tables if table_empty(conn, table)]
    if not empty:
        return {}
    if conn.dialect.name == "postgresql" and not lock_without_waiting(conn, empty):
        log.info("%s busy: their indexes stay in place for this run", _names(empty))
        return {}
    return {table.name: drop_secondary_indexes(conn, table) for table in empty}


def lock_without_waiting(conn: Connection, tables: Sequence[sa.Table]) -> bool:
    """PostgreSQL, in ``conn``'s transaction: take the exclusive locks of all ``tables`` at
    once (``NOWAIT``, in a savepoint that gives them all back when a reader holds one),
    asking again every ``LOCK_RETRY_SECONDS`` for up to ``DROP_LOCK_SECONDS``; whether they
    are held. Never waiting for one table while holding another is what keeps a reader of
    two of them (a BI query joining people and lead_people) from a deadlock with the run."""
    deadline = time.monotonic() + DROP_LOCK_SECONDS
    while True:
        try:
            with conn.begin_nested():
                conn.exec_driver_sql(f"LOCK TABLE {_names(tables)} IN ACCESS EXCLUSIVE MODE NOWAIT")
            return True
        except sa.exc.OperationalError as error:
            if not _lock_not_available(error):
                raise
        if time.monotonic() >= deadline:
            return False
        time.sleep(LOCK_RETRY_SECONDS)


def _names(tables: Sequence[sa.Table]) -> str:
    return ", ".join(str(table.name) for table in tables)


def build_missing_indexes(conn: Connection, table: sa.Table) -> list[str]:
    """Build the secondary indexes of ``table`` the database lacks (a run that deferred
    them stopped before building them); their names."""
    present = {found["name"] for found in sa.inspect(conn).get_indexes(table.name)}
    missing = sorted((i for i in table.indexes if i.name not in present), key=lambda i: str(i.name))
    create_secondary_indexes(conn, table, missing)
    return [str(index.name) for index in missing]


def table_empty(conn: Connection, table: sa.Table) -> bool:
    """True when ``table`` holds no row."""
    return conn.execute(sa.select(sa.literal(1)).select_from(table).limit(1)).first() is None


def leads_empty(conn: Connection) -> bool:
    """True when ``leads`` holds no row."""
    return table_empty(conn, leads)


def _lock_not_available(error: sa.exc.OperationalError) -> bool:
    """Whether ``error`` is PostgreSQL's lock_not_available (a ``lock_timeout`` passed)."""
    return getattr(error.orig, "sqlstate", None) == "55P03"


def drop_lead_indexes(conn: Connection) -> list[str]:
    """Drop the secondary indexes of ``leads`` that exist; their names."""
    present = set(lead_index_names()) - set(missing_lead_indexes(conn))
    dropped = [index for index in LEAD_INDEXES if index.name in present]
    for index in dropped:
        conn.execute(DropIndex(index, if_exists=True))
    return [str(index.name) for index in dropped]


def create_lead_indexes(conn: Connection) -> list[str]:
    """Build the secondary indexes of ``leads`` that are missing; their names."""
    return build_missing_indexes(conn, leads)


def defer_lead_indexes(engine: Engine, logger: Logger = log) -> list[str]:
    """At a run's start: on an empty ``leads``, drop its secondary indexes (their names are
    returned); on a non-empty one, build any that are missing first (a run that died
    between drop and build) and drop nothing.

    PostgreSQL: the drop takes the table's lock by :func:`lock_without_waiting`; when a
    reader keeps it, nothing is dropped and the run loads with the indexes in place.
    """
    with write_transaction(engine) as conn:
        if not leads_empty(conn):
            built = create_lead_indexes(conn)
            if built:
                logger.warning(
                    "leads had %d of its indexes missing (a run stopped before building "
                    "them): built them before loading", len(built),
                )  # fmt: skip
            return []
        if conn.dialect.name == "postgresql" and not lock_without_waiting(conn, [leads]):
            logger.warning("leads is busy: its indexes stay in place for this load")
            return []
        dropped = drop_lead_indexes(conn)
    if dropped:
        logger.info(
            "leads is empty: its %d secondary indexes are built after this first load",
            len(dropped),
        )
    return dropped


def restore_lead_indexes(engine: Engine, logger: Logger = log) -> list[str]:
    """Build the secondary indexes of ``leads`` that are missing (all of them after a
    deferred first load, none otherwise); their names."""
    with write_transaction(engine) as conn:
        began = time.perf_counter()
        built = create_lead_indexes(conn)
    if built:
        seconds = time.perf_counter() - began
        logger.info("built %d indexes of leads in %.1f s", len(built), seconds)
    return built


@contextmanager
def deferred_lead_indexes(engine: Engine, logger: Logger = log) -> Iterator[list[str]]:
    """Around the loads of a run: ``defer_lead_indexes`` before (yields what it dropped),
    ``restore_lead_indexes`` after, however the loads ended. When the loads raised, a
    failure to build is logged (the next run builds them) and the loads' error goes on."""
    dropped = defer_lead_indexes(engine, logger)
    try:
        yield dropped
    except BaseException:
        try:
            restore_lead_indexes(engine, logger)
        except Exception as error:
            logger.warning(
                "the indexes of leads could not be built after a failed load (%s): the "
                "next run builds them", type(error).__name__,
            )  # fmt: skip
        raise
    restore_lead_indexes(engine, logger)
