"""Alembic environment: migrates ``leadflow.models.warehouse.tables.metadata`` on SQLite and
PostgreSQL.

The connection comes from ``config.attributes["connection"]`` when the caller passes one
(``leadflow.models.warehouse.migrate`` does), else from the ``sqlalchemy.url`` option.
"""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy.engine import Connection

from leadflow.models.warehouse.engine import create_engine
from leadflow.models.warehouse.tables import UTCDateTime, metadata

config = context.config


def render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    """Render UTCDateTime as plain ``sa.DateTime(timezone=True)`` so migrations stand alone."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _options(dialect_name: str) -> dict[str, Any]:
    return {
        "target_metadata": metadata,
        "render_as_batch": dialect_name == "sqlite",
        "render_item": render_item,
        "compare_type": True,
    }


def run_migrations_offline() -> None:
    """Emit the migration SQL for ``sqlalchemy.url`` without connecting."""
    url = config.get_main_option("sqlalchemy.url")
    engine = create_engine(url)
    context.configure(url=engine.url, literal_binds=True, **_options(engine.dialect.name))
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_on(connection: Connection) -> None:
    """Run the migrations on an open connection (inside its transaction, if any)."""
    context.configure(connection=connection, **_options(connection.dialect.name))
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run the migrations on the given connection, or on a new one to ``sqlalchemy.url``."""
    connection = config.attributes.get("connection")
    if connection is not None:
        run_migrations_on(connection)
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url"))
    try:
        with engine.connect() as connection:
            run_migrations_on(connection)
            connection.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
