"""Alembic environment: the URL comes from the caller (console.migrate) or CRISIS_DATABASE_URL."""

from __future__ import annotations

import os

from alembic import context

from console.db import make_engine
from incidents import schema
from incidents.timeutil import UTCDateTime

config = context.config
target_metadata = schema.metadata


def database_url() -> str:
    url = config.attributes.get("database_url") or os.environ.get("CRISIS_DATABASE_URL")
    if not url:
        raise RuntimeError("no database URL: set CRISIS_DATABASE_URL")
    return url


def run_migrations_offline() -> None:
    context.configure(url=database_url(), target_metadata=target_metadata, literal_binds=True,
                      render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(database_url())
    with engine.connect() as connection:
        _run(connection)
    engine.dispose()


def render_item(type_: str, obj: object, autogen_context: object) -> str | bool:
    """Render our UTC column type as a plain DateTime so migrations never import app code."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _run(connection) -> None:  # noqa: ANN001
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        render_item=render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
