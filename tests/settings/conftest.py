"""Fixtures for the settings behind the clock: an admin's browser session and tokens by role."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from incidents.models import AuditRecord, Role
from tests.conftest import sign_in

HX = {"HX-Request": "true"}


@pytest.fixture()
def admin(client, make_user):  # noqa: ANN001, ANN201
    """A client signed in as an admin (English UI, for readable assertions)."""
    user = make_user(Role.ADMIN, "boss")
    sign_in(client, user)
    client.user = user
    return client


@pytest.fixture()
def api_as(client, make_token):  # noqa: ANN001, ANN201
    """api_as(role, user_id=None) -> call(method, path, **kwargs) with that role's bearer token."""

    def _as(role: Role, user_id: int | None = None):  # noqa: ANN202
        headers = make_token(role, user_id=user_id)

        def call(method: str, path: str, **kwargs: Any):  # noqa: ANN202
            return client.open(path, method=method, headers={**headers, **kwargs.pop("headers", {})}, **kwargs)

        return call

    return _as


@pytest.fixture()
def db(app):  # noqa: ANN001, ANN201
    """A fresh session per use: db() -> Session (reads what the requests committed)."""
    sessions = []

    def _session():  # noqa: ANN202
        session = app.extensions["db_sessionmaker"]()
        sessions.append(session)
        return session

    yield _session
    for session in sessions:
        session.close()


def audit_actions(db) -> list[str]:  # noqa: ANN001
    """The audit log's actions, oldest first, leaving out the fixtures' own records."""
    with db() as session:
        return list(session.scalars(
            sa.select(AuditRecord.action).where(~AuditRecord.action.in_(["user.create", "token.create", "user.signed_in"]))
            .order_by(AuditRecord.id)
        ))
