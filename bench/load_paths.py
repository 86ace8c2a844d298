"""The ways of landing the same normalized leads in the warehouse that the benchmark times.

Every path gets the same ``Lead`` objects and does its own conversion inside the timer:

- ``leadflow``: ``leadflow.models.loading.leads.load_batch`` per page, each in its own transaction,
as a sync
  runs it (content hash, change detection, counts, campaigns, quarantine, sync state).
- ``limit``: the fastest plain upsert of the same rows into the same ``leads`` table and key,
  without hashing or change detection: PostgreSQL binary ``COPY`` into a temporary table +
  ``INSERT ... ON CONFLICT DO UPDATE``; SQLite stdlib ``executemany`` of
  ``INSERT ... ON CONFLICT DO UPDATE``. One transaction per page, like leadflow.
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
from typing import Any

import orjson
from sqlalchemy.engine import make_url

from bench.dataset import ACCOUNTS, batches
from bench.targets import Target
from leadflow.models.loading.lead_rows import LEAD_FIELDS, LEAD_JSON_FIELDS, LEAD_SCALAR_FIELDS
from leadflow.models.loading.leads import load_batch
from leadflow.models.records.leads import Lead

NOW = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)
LoadPath = Callable[[Target, Sequence[Lead], int], None]

_scalars = operator.attrgetter(*LEAD_SCALAR_FIELDS)
_COLUMNS = (*LEAD_FIELDS, "row_hash", "first_loaded_at", "last_changed_at")
_SET = ", ".join(f"{c} = excluded.{c}" for c in _COLUMNS[2:] if c != "first_loaded_at")
_NO_HASH = "0" * 64


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
    consent = None if lead.consent is None else orjson.dumps(lead.consent).decode()
    custom, raw = orjson.dumps(lead.custom_fields).decode(), orjson.dumps(lead.raw).decode()
    return (*_scalars(lead), consent, custom, raw, _NO_HASH)


def _sqlite_time(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def sqlite_limit(target: Target, leads: Sequence[Lead], batch_size: int) -> None:
    """stdlib sqlite3 ``executemany`` upsert, one transaction per page."""
    assert target.sqlite_path is not None
    marks = ", ".join("?" * len(_COLUMNS))
    sql = (
        f"INSERT INTO leads ({', '.join(_COLUMNS)}) VALUES ({marks}) "
        f"ON CONFLICT (source, source_lead_id) DO UPDATE SET {_SET}"
    )
    now = _sqlite_time(NOW)
    db = sqlite3.connect(target.sqlite_path, isolation_level=None)
    try:
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = NORMAL")
        for _source, batch in batches(leads, batch_size):
            rows = []
            for lead in batch:
                values = _plain_values(lead)
                stamps = (_sqlite_time(values[3]), _sqlite_time(values[4]))
                rows.append((*values[:3], *stamps, *values[5:], now, now))
            db.execute("BEGIN")
            db.executemany(sql, rows)
            db.execute("COMMIT")
    finally:
        db.close()


def _pg_type(name: str) -> str:
    if name in ("created_at", "updated_at", "first_loaded_at", "last_changed_at"):
        return "timestamptz"
    return "bool" if name in ("is_test", "is_organic") else "text"


def postgres_limit(target: Target, leads: Sequence[Lead], batch_size: int) -> None:
    """Binary COPY into a temporary table + INSERT ... ON CONFLICT DO UPDATE, per page."""
    columns = _COLUMNS[:-2]
    types = [_pg_type(c) for c in columns]
    selected = ", ".join(f"{c}::json" if c in LEAD_JSON_FIELDS else c for c in columns)
    create = (
        "CREATE TEMPORARY TABLE bench_stage ("
        + ", ".join(f"{c} {t}" for c, t in zip(columns, types, strict=True))
        + ") ON COMMIT DELETE ROWS"
    )
    upsert = (
        f"INSERT INTO leads ({', '.join(_COLUMNS)}) SELECT {selected}, %s, %s FROM bench_stage "
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


def limit_for(kind: str) -> LoadPath:
    """The plain-upsert limit of a dialect."""
    return postgres_limit if kind == "postgresql" else sqlite_limit
