"""Shared fixtures: real databases migrated with Alembic, the app factory, people and tokens.

Every integration test runs on SQLite, and on PostgreSQL too when CRISIS_TEST_POSTGRES_URL
is set (with CI=true a missing PostgreSQL is a failure, not a skip). Each backend gets a
fresh database migrated once per session; tables are emptied between tests, which also
works for tests that use several connections (browser, worker).
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from console import create_app, migrate
from console.db import make_engine
from tests.support.servers import LiveServer, serving
from incidents import accounts
from incidents.actors import Actor
from incidents.models import Role, User
from incidents.schema import metadata

IN_CI = os.environ.get("CI", "").lower() == "true"
POSTGRES_URL = os.environ.get("CRISIS_TEST_POSTGRES_URL", "")
PASSWORD = "correct-horse-battery"
FIXED_NOW = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def _create_postgres_database() -> tuple[str, str]:
    base = make_url(POSTGRES_URL)
    name = f"crisis_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False), name


def _drop_postgres_database(name: str) -> None:
    admin = sa.create_engine(make_url(POSTGRES_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@dataclass(frozen=True)
class MadeDatabase:
    url: str
    engine: sa.Engine
    postgres_name: str | None  # dropped at the end; SQLite's file goes with the temporary folder


# One migrated database per backend for the whole test process, made on first use. pytest sets a
# parametrized session fixture up again whenever the backend changes, which under pytest-xdist
# (a module at a time) happens at nearly every module: that would create, migrate and drop a
# PostgreSQL database each time, and dispose of an engine whose connections a browser's last
# poll may still hold (they would then be dropped unclosed).
_MADE: dict[str, MadeDatabase] = {}


def _made(backend: str, tmp_path_factory: pytest.TempPathFactory) -> MadeDatabase:
    if backend not in _MADE:
        if backend == "sqlite":
            url, name = f"sqlite:///{tmp_path_factory.mktemp('db') / 'crisis.db'}", None
        else:
            url, name = _create_postgres_database()
        migrate.upgrade(url)
        _MADE[backend] = MadeDatabase(url, make_engine(url), name)
    return _MADE[backend]


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated database for the whole session, one per backend."""
    if request.param == "postgresql" and not POSTGRES_URL:
        if IN_CI:
            pytest.fail("CI=true but CRISIS_TEST_POSTGRES_URL is not set")
        pytest.skip("CRISIS_TEST_POSTGRES_URL not set")
    return _made(request.param, tmp_path_factory).url


@pytest.fixture(scope="session")
def engine(database_url: str) -> sa.Engine:
    return next(made.engine for made in _MADE.values() if made.url == database_url)


@pytest.fixture()
def fresh_database(database_url: str, tmp_path: Path) -> Iterator[sa.Engine]:
    """A database of this backend migrated just now and never emptied: what a new install starts with."""
    if make_url(database_url).get_backend_name() == "sqlite":
        url, name = f"sqlite:///{tmp_path / 'fresh.db'}", None
    else:
        url, name = _create_postgres_database()
    migrate.upgrade(url)
    fresh = make_engine(url)
    yield fresh
    fresh.dispose()
    if name:
        _drop_postgres_database(name)


@pytest.fixture(scope="session", autouse=True)
def _databases_dropped_at_the_end() -> Iterator[None]:
    yield
    for made in _MADE.values():
        made.engine.dispose()
        if made.postgres_name:
            _drop_postgres_database(made.postgres_name)
    _MADE.clear()


def empty_tables(engine: sa.Engine) -> None:
    """Remove every row (schema and alembic_version stay).

    On PostgreSQL, a request the previous test's server was still answering when it shut down
    (a browser's last poll) may hold a lock TRUNCATE needs, or deadlock with it: TRUNCATE then
    waits a bounded time and is tried again once that request has finished."""
    for attempt in range(5):
        try:
            with engine.begin() as connection:
                if engine.dialect.name == "postgresql":
                    names = ", ".join(f'"{table.name}"' for table in metadata.sorted_tables)
                    connection.execute(sa.text("SET LOCAL lock_timeout = '5s'"))
                    connection.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
                else:
                    # The audit log refuses DELETE (migration 0011): lifted for this emptying only,
                    # and put back in the same transaction, as TRUNCATE passes PostgreSQL's trigger by.
                    guard = connection.scalar(sa.text(
                        "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = 'audit_record_no_delete'"))
                    if guard:
                        connection.execute(sa.text("DROP TRIGGER audit_record_no_delete"))
                    for table in reversed(metadata.sorted_tables):
                        connection.execute(table.delete())
                    if guard:
                        connection.execute(sa.text(guard))
            return
        except sa.exc.OperationalError:  # deadlock detected, lock timeout
            if engine.dialect.name != "postgresql" or attempt == 4:
                raise
            time.sleep(0.5)


@pytest.fixture()
def db_session(engine: sa.Engine) -> Iterator[sa.orm.Session]:
    """A session on an empty database; the test commits or not as the code under test would."""
    empty_tables(engine)
    session = sa.orm.Session(engine, expire_on_commit=False)
    yield session
    session.close()


@pytest.fixture()
def app(engine: sa.Engine, database_url: str, tmp_path: Path):  # noqa: ANN201
    """The console on an empty database, CSRF off (tests/test_security.py turns it on)."""
    empty_tables(engine)
    application = create_app({
        "TESTING": True,
        "DATABASE_URL": database_url,
        "ENGINE": engine,
        "WTF_CSRF_ENABLED": False,
        "SECRET_KEY": "test-secret",
        "PUBLIC_URL": "http://localhost",
    })
    yield application


@pytest.fixture()
def client(app):  # noqa: ANN001, ANN201
    return app.test_client()


@pytest.fixture()
def make_user(app):  # noqa: ANN001, ANN201
    """make_user(role, username=None) -> User, committed."""
    counter = iter(range(1, 10_000))

    def _make(role: Role | str = Role.DUTY_MANAGER, username: str | None = None, locale: str = "en") -> User:
        role = Role(role)
        name = username or f"{role.value}{next(counter)}"
        with app.extensions["db_sessionmaker"]() as session:
            user = accounts.create_user(session, username=name, password=PASSWORD, role=role.value,
                                        display_name=name.title(), locale=locale,
                                        actor=Actor.system("test"), now=FIXED_NOW)
            session.commit()
            return user

    return _make


def sign_in(client, user: User) -> None:  # noqa: ANN001
    """Sign in through the real login form."""
    response = client.post("/login", data={"username": user.username, "password": PASSWORD})
    assert response.status_code == 303, response.text


@pytest.fixture()
def signed_in(client, make_user):  # noqa: ANN001, ANN201
    """A client signed in as a duty manager (English UI, for readable assertions)."""
    user = make_user(Role.DUTY_MANAGER, "duty")
    sign_in(client, user)
    client.user = user
    return client


@pytest.fixture()
def make_token(app):  # noqa: ANN001, ANN201
    """make_token(role) -> bearer headers for /api/v1."""
    counter = iter(range(1, 10_000))

    def _make(role: Role | str = Role.DUTY_MANAGER, user_id: int | None = None) -> dict[str, str]:
        with app.extensions["db_sessionmaker"]() as session:
            _token, secret = accounts.create_token(session, name=f"token{next(counter)}", role=Role(role).value,
                                                   user_id=user_id, actor=Actor.system("test"), now=FIXED_NOW)
            session.commit()
        return {"Authorization": f"Bearer {secret}"}

    return _make


@pytest.fixture()
def api_as(client, make_token):  # noqa: ANN001, ANN201
    """api_as(role) -> call(method, path, **kwargs) with a bearer token of that role (`call.token`)."""

    def _as(role: Role | str) -> Any:
        headers = make_token(role)

        def call(method: str, path: str, **kwargs: Any) -> Any:
            return client.open(path, method=method, headers={**headers, **kwargs.pop("headers", {})}, **kwargs)

        call.token = headers["Authorization"].removeprefix("Bearer ")
        return call

    return _as


@pytest.fixture()
def live_server(engine, database_url) -> Iterator[LiveServer]:  # noqa: ANN001
    """The console with CSRF on, served on a free port of 127.0.0.1 by a real HTTP server."""
    empty_tables(engine)
    app = create_app({"DATABASE_URL": database_url, "ENGINE": engine, "SECRET_KEY": "live-server-test",
                      "BOARD_POLL_SECONDS": 2})
    with serving(app) as server:
        yield server
