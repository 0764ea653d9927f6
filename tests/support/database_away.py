"""Take the database away from a running console without stopping a server: its sessions are
pointed at a database of the same kind that cannot be reached, as when PostgreSQL restarts or
the SQLite file's disk is gone. (tests/faults/test_database_restart.py stops a real cluster.)"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import sessionmaker

from console.db import make_engine

# Nothing listens on port 1 of the loopback; no directory has this name.
UNREACHABLE = {
    "postgresql": "postgresql+psycopg://postgres@127.0.0.1:1/away?connect_timeout=2",
    "sqlite": "sqlite:////nonexistent-directory-of-the-tests/away.db",
}


@contextmanager
def database_away(app: Flask) -> Iterator[None]:
    """For the block, every request of `app` finds its database unreachable."""
    present = app.extensions["db_sessionmaker"]
    dialect = present.kw["bind"].dialect.name
    away: sa.Engine = make_engine(UNREACHABLE[dialect])
    app.extensions["db_sessionmaker"] = sessionmaker(bind=away, expire_on_commit=False)
    try:
        yield
    finally:
        app.extensions["db_sessionmaker"] = present
        away.dispose()
