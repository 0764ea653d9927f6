"""Who may act: exactly one active worker per database.

On PostgreSQL several `crisis worker` processes may run; the active one holds a session
advisory lock on a connection of its own, kept for its whole life. PostgreSQL releases the
lock when that connection ends, so when the active worker dies a standby's next try
succeeds. The active worker checks every few seconds that its connection still holds the
lock and stops acting the moment it does not.

SQLite is one process by design: the worker there is always the one.
"""

from __future__ import annotations

import logging
import os
import socket
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.pool import NullPool

log = logging.getLogger(__name__)

# The advisory lock key: "cris" in ASCII. Below 2**32, so pg_locks shows it as
# classid 0, objid WORKER_LOCK_KEY.
WORKER_LOCK_KEY = 0x63726973
APPLICATION_NAME = "crisis-worker"


def worker_name() -> str:
    """This process as a worker: `crisis-worker:<host>:<pid>` (PostgreSQL's application_name)."""
    return f"{APPLICATION_NAME}:{socket.gethostname()}:{os.getpid()}"[:63]


class Leadership(Protocol):
    def try_acquire(self) -> bool:
        """Become the active worker if nobody is; True when this process now is."""

    def still_held(self) -> bool:
        """True while this process is still the active worker."""

    def release(self) -> None:
        """Step down (on a graceful stop)."""


class SoleProcess:
    """SQLite: the only worker there is."""

    def try_acquire(self) -> bool:
        return True

    def still_held(self) -> bool:
        return True

    def release(self) -> None:
        pass


class AdvisoryLock:
    """PostgreSQL: pg_try_advisory_lock on a dedicated connection held while active."""

    def __init__(self, url: sa.URL, *, key: int = WORKER_LOCK_KEY):
        self.key = key
        self.name = worker_name()
        # A connection of its own, outside any pool: its life is the lock's life.
        self._engine = sa.create_engine(
            url, poolclass=NullPool, isolation_level="AUTOCOMMIT",
            connect_args={
                "application_name": self.name,
                "connect_timeout": 5,
                # Notice a dead network on our side within seconds, not hours.
                "keepalives": 1, "keepalives_idle": 5, "keepalives_interval": 2, "keepalives_count": 3,
            },
        )
        self._connection: sa.Connection | None = None
        # Whether the last try found the database away: said once per outage, not every retry.
        self._unreachable = False

    def _connect(self) -> sa.Connection:
        if self._connection is None:
            connection = self._engine.connect()
            # And let the server notice a dead worker just as fast, so its lock is freed.
            connection.execute(sa.text("SET tcp_keepalives_idle = 5"))
            connection.execute(sa.text("SET tcp_keepalives_interval = 2"))
            connection.execute(sa.text("SET tcp_keepalives_count = 3"))
            self._connection = connection
        return self._connection

    def _drop(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                connection.close()
            except sa.exc.SQLAlchemyError:
                pass  # the connection is already gone; dropping it was the point

    def try_acquire(self) -> bool:
        try:
            acquired = bool(self._connect().scalar(sa.text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key}))
        except sa.exc.SQLAlchemyError as error:
            if not self._unreachable:
                log.warning("cannot reach PostgreSQL to take the worker lock (%s); trying again until it answers",
                            error.__class__.__name__)
            self._unreachable = True
            self._drop()
            return False
        if self._unreachable:
            log.info("PostgreSQL answers again")
            self._unreachable = False
        return acquired

    def still_held(self) -> bool:
        if self._connection is None:
            return False
        try:
            held = self._connection.scalar(
                sa.text(
                    "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted"
                    " AND pid = pg_backend_pid() AND classid = :high AND objid = :low AND objsubid = 1)"
                ),
                {"high": self.key >> 32, "low": self.key & 0xFFFFFFFF},
            )
        except sa.exc.SQLAlchemyError:
            held = False
        if not held:
            self._drop()
        return bool(held)

    def release(self) -> None:
        if self._connection is not None:
            try:
                self._connection.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": self.key})
            except sa.exc.SQLAlchemyError:
                pass  # closing the connection below releases it anyway
        self._drop()
        self._engine.dispose()


def leadership_for(engine: sa.Engine) -> Leadership:
    """The advisory lock on PostgreSQL; on SQLite the single process is the leader."""
    if engine.dialect.name == "postgresql":
        return AdvisoryLock(engine.url)
    return SoleProcess()


def workers_connected(connection: sa.Connection, *, key: int = WORKER_LOCK_KEY) -> dict[str, bool]:
    """PostgreSQL: every worker process connected to this database, by name, and whether it
    holds the lock (is the active one). Read from pg_stat_activity and pg_locks, so any
    process can tell, not only the workers themselves."""
    rows = connection.execute(
        sa.text(
            "SELECT a.application_name, EXISTS (SELECT 1 FROM pg_locks l WHERE l.pid = a.pid"
            " AND l.locktype = 'advisory' AND l.granted AND l.classid = :high AND l.objid = :low"
            " AND l.objsubid = 1) FROM pg_stat_activity a"
            " WHERE a.datname = current_database() AND a.application_name LIKE :prefix"
        ),
        {"high": key >> 32, "low": key & 0xFFFFFFFF, "prefix": f"{APPLICATION_NAME}:%"},
    ).all()
    found: dict[str, bool] = {}
    for name, holds in rows:
        found[name] = found.get(name, False) or bool(holds)
    return found
