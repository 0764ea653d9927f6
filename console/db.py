"""The database engine and the per-request session (one unit of work per request)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from flask import Flask, g
from sqlalchemy.orm import Session, sessionmaker


def make_engine(url: str, **kwargs: Any) -> sa.Engine:
    """An engine tuned per backend: SQLite in WAL mode with foreign keys, PostgreSQL pooled."""
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs)

        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    return sa.create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10, **kwargs)


def init_app(app: Flask, engine: sa.Engine) -> None:
    """Attach the engine and a session factory to the app; close the session after each request."""
    app.extensions["db_engine"] = engine
    app.extensions["db_sessionmaker"] = sessionmaker(bind=engine, expire_on_commit=False)

    @app.teardown_appcontext
    def _close_session(_exc: BaseException | None) -> None:
        session = g.pop("db_session", None)
        if session is not None:
            session.close()


def get_session() -> Session:
    """The session of the current request, created on first use."""
    if "db_session" not in g:
        from flask import current_app

        g.db_session = current_app.extensions["db_sessionmaker"]()
    return g.db_session


# What to do once a transaction that did some kind of work is committed, by the flag that work
# leaves in session.info (the public page changed, anything was written…): caches go stale.
_ON_COMMIT: dict[str, list[Callable[[], None]]] = {}


def on_commit(flag: str, callback: Callable[[], None]) -> None:
    """Call `callback` after every commit of a session whose `info` carries `flag`; a rollback
    drops the flag. Registering the same flag and callback again changes nothing."""
    callbacks = _ON_COMMIT.setdefault(flag, [])
    if callback not in callbacks:
        callbacks.append(callback)
    if not sa.event.contains(Session, "after_commit", _after_commit):
        sa.event.listen(Session, "after_commit", _after_commit)
        sa.event.listen(Session, "after_soft_rollback", _after_soft_rollback)


def _after_commit(session: Session) -> None:
    for flag, callbacks in _ON_COMMIT.items():
        if session.info.pop(flag, False):
            for callback in callbacks:
                callback()


def _after_soft_rollback(session: Session, _previous: Any) -> None:
    for flag in _ON_COMMIT:
        session.info.pop(flag, None)
