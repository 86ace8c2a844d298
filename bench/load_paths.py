"""The ways of landing the same normalized leads in the warehouse that the benchmark times.

Every path gets the same ``Lead`` objects and does its own conversion inside the timer:

- ``leadflow``: ``leadflow.models.loading.leads.load_batch`` per page, each in its own transaction,
  as a sync runs it (content hash, change detection, counts, campaigns, quarantine, sync state).
- ``reference``: the plainest correct upsert of the same rows into the same ``leads`` table
  (its primary key, foreign key and five secondary indexes, as migrated), without hashing or
  change detection: PostgreSQL binary ``COPY`` into a temporary staging table + one
  ``INSERT ... SELECT ... ON CONFLICT (source, source_lead_id) DO UPDATE`` per page; SQLite
  stdlib ``sqlite3`` ``executemany`` of ``INSERT ... ON CONFLICT DO UPDATE`` in one
  transaction per page. Its conversion is the least a correct row needs: the columns read off
  the ``Lead``, the JSON fields encoded once with orjson (unsorted: no hash needs canonical
  text), SQLite timestamps as the text leadflow stores, ``row_hash`` a constant.
- ``reference_pk``: the same on ``bench/targets.PK_ONLY_TABLE``, a copy of ``leads`` with the
  same columns and primary key and nothing else (no secondary index, no foreign key).
- ``dlt``: dlt's ``merge`` write disposition, primary key (source, source_lead_id), JSON
  fields kept as JSON, into its own dataset on the same database (one pipeline run).
- ``pandas``: ``DataFrame.to_sql`` (append: pandas cannot upsert) into its own table.
"""

from __future__ import annotations

import operator
import sqlite3
import tempfile
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import partial
from typing import Any

import orjson
from sqlalchemy.engine import make_url

from bench.dataset import ACCOUNTS, batches
from bench.targets import PK_ONLY_TABLE, Target
from leadflow.models.loading.lead_rows import LEAD_FIELDS, LEAD_JSON_FIELDS, LEAD_SCALAR_FIELDS
from leadflow.models.loading.leads import load_batch
from leadflow.models.records.leads import Lead
from leadflow.models.warehouse.engine import SQLITE_BUSY_TIMEOUT_MS

NOW = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)
LoadPath = Callable[[Target, Sequence[Lead], int], None]

_scalars = operator.attrgetter(*LEAD_SCALAR_FIELDS)
_COLUMNS = (*LEAD_FIELDS, "row_hash", "first_loaded_at", "last_changed_at")
_SET = ", ".join(f"{c} = excluded.{c}" for c in _COLUMNS[2:] if c != "first_loaded_at")
_NO_HASH = "0" * 64
# The scalars around created_at and updated_at (the 4th and 5th), for SQLite's time text.
assert LEAD_SCALAR_FIELDS[3:5] == ("created_at", "updated_at")
_before_times = operator.attrgetter(*LEAD_SCALAR_FIELDS[:3])
_after_times = operator.attrgetter(*LEAD_SCALAR_FIELDS[5:])
_dumps = orjson.dumps


def leadflow(target: Target, leads: Sequence[Lead], batch_size: int) -> None:
    """load_batch per page of ``batch_size``, one transaction each."""
    for source, batch in batches(leads, batch_size):
        with target.engine.begin() as conn:
            load_batch(
                conn,
                source=source,
                account_id=ACCOUNTS[source],
                leads=batch,
                rejected=(),
                watermark=max(lead.updated_at for lead in batch),
                cursor=None,
                now=NOW,
            )


def _plain_values(lead: Lead) -> tuple[Any, ...]:
    """A lead's column values (``LEAD_FIELDS`` order, JSON as text) and a constant row_hash."""
    consent = lead.consent
    return (
        *_scalars(lead),
        None if consent is None else _dumps(consent).decode(),
        _dumps(lead.custom_fields).decode(),
        _dumps(lead.raw).decode(),
        _NO_HASH,
    )


def _sqlite_values(lead: Lead, loaded: str) -> tuple[Any, ...]:
    # A Lead's datetimes are UTC (Lead.__post_init__): their ISO text less "+00:00" is what
    # SQLAlchemy's SQLite DateTime stores, as leadflow's own writer writes them.
    consent = lead.consent
    return (
        *_before_times(lead),
        lead.created_at.isoformat(" ", "microseconds")[:26],
        lead.updated_at.isoformat(" ", "microseconds")[:26],
        *_after_times(lead),
        None if consent is None else _dumps(consent).decode(),
        _dumps(lead.custom_fields).decode(),
        _dumps(lead.raw).decode(),
        _NO_HASH,
        loaded,
        loaded,
    )


def sqlite_reference(
    target: Target, leads: Sequence[Lead], batch_size: int, table: str = "leads"
) -> None:
    """stdlib sqlite3 ``executemany`` upsert into ``table``, one transaction per page, on a
    connection configured as leadflow's engine configures its own."""
    assert target.sqlite_path is not None
    marks = ", ".join("?" * len(_COLUMNS))
    sql = (
        f"INSERT INTO {table} ({', '.join(_COLUMNS)}) VALUES ({marks}) "
        f"ON CONFLICT (source, source_lead_id) DO UPDATE SET {_SET}"
    )
    loaded = NOW.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
    db = sqlite3.connect(target.sqlite_path, isolation_level=None)
    try:
        for pragma in (
            f"busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}", "foreign_keys = ON",
            "journal_mode = WAL", "synchronous = NORMAL",
        ):  # fmt: skip
            db.execute(f"PRAGMA {pragma}")
        for _source, batch in batches(leads, batch_size):
            rows = [_sqlite_values(lead, loaded) for lead in batch]
            db.execute("BEGIN")
            db.executemany(sql, rows)
            db.execute("COMMIT")
    finally:
        db.close()


def _pg_type(name: str) -> str:
    if name in ("created_at", "updated_at", "first_loaded_at", "last_changed_at"):
        return "timestamptz"
    return "bool" if name in ("is_test", "is_organic") else "text"


def postgres_reference(
    target: Target, leads: Sequence[Lead], batch_size: int, table: str = "leads"
) -> None:
    """Binary COPY into a temporary table + INSERT ... ON CONFLICT DO UPDATE into ``table``,
    one transaction per page."""
    columns = _COLUMNS[:-2]
    types = [_pg_type(c) for c in columns]
    selected = ", ".join(f"{c}::json" if c in LEAD_JSON_FIELDS else c for c in columns)
    create = (
        "CREATE TEMPORARY TABLE bench_stage ("
        + ", ".join(f"{c} {t}" for c, t in zip(columns, types, strict=True))
        + ") ON COMMIT DELETE ROWS"
    )
    upsert = (
        f"INSERT INTO {table} ({', '.join(_COLUMNS)}) SELECT {selected}, %s, %s FROM bench_stage "
        f"ON CONFLICT (source, source_lead_id) DO UPDATE SET {_SET}"
    )
    raw_connection = target.engine.raw_connection()
    try:
        db: Any = raw_connection.driver_connection
        with db.cursor() as cursor:
            cursor.execute(create)
            db.commit()
            for _source, batch in batches(leads, batch_size):
                with cursor.copy(
                    f"COPY bench_stage ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)"
                ) as copy:
                    copy.set_types(types)
                    for lead in batch:
                        copy.write_row(_plain_values(lead))
                cursor.execute(upsert, (NOW, NOW))
                db.commit()
            cursor.execute("DROP TABLE bench_stage")
            db.commit()
    finally:
        raw_connection.close()


def _dict_row(lead: Lead) -> dict[str, Any]:
    return {name: getattr(lead, name) for name in LEAD_FIELDS}


def _dlt_type(name: str) -> str:
    if name in LEAD_JSON_FIELDS:
        return "json"
    if name in ("created_at", "updated_at"):
        return "timestamp"
    return "bool" if name in ("is_test", "is_organic") else "text"


# Every column typed, so dlt creates the same columns whether or not a page fills them.
_DLT_COLUMNS: Any = {name: {"data_type": _dlt_type(name)} for name in LEAD_FIELDS}


def dlt_merge(target: Target, leads: Sequence[Lead], batch_size: int) -> None:
    """dlt ``merge`` on (source, source_lead_id): extract, normalize and load in one run."""
    import dlt  # benchmark-only extra

    if target.kind == "postgresql":
        url = make_url(target.url).set(drivername="postgresql")
        url = url.set(password=url.password or "unused")  # dlt insists on one; trust ignores it
        destination = dlt.destinations.postgres(credentials=url.render_as_string(False))
    else:
        destination = dlt.destinations.sqlalchemy(credentials=target.url)
    rows = (_dict_row(lead) for lead in leads)
    resource = dlt.resource(
        rows,
        name="leads",
        write_disposition="merge",
        primary_key=("source", "source_lead_id"),
        columns=_DLT_COLUMNS,
    )
    with tempfile.TemporaryDirectory(prefix="leadflow-bench-dlt-") as folder:
        pipeline = dlt.pipeline(
            pipeline_name=f"leadflow_bench_{target.kind}",
            pipelines_dir=folder,
            destination=destination,
            dataset_name="dlt_bench",
            progress=None,
        )
        pipeline.run(resource)


def pandas_to_sql(target: Target, leads: Sequence[Lead], batch_size: int) -> None:
    """``DataFrame.to_sql`` append (JSON as text), ``chunksize`` = the page size."""
    import pandas as pd  # benchmark-only extra

    frame = pd.DataFrame.from_records(
        [_plain_values(lead) for lead in leads], columns=[*LEAD_FIELDS, "row_hash"]
    )
    engine, size = target.engine, batch_size
    frame.to_sql("pandas_leads", engine, if_exists="append", index=False, chunksize=size)


def reference_for(kind: str, *, pk_only: bool = False) -> LoadPath:
    """The plain-upsert reference of a dialect: into ``leads``, or into the PK-only copy."""
    path = postgres_reference if kind == "postgresql" else sqlite_reference
    return partial(path, table=PK_ONLY_TABLE) if pk_only else path
