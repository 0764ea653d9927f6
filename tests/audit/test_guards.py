"""Append-only, below the screens: the ORM refuses on every engine, and so does each database."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from incidents.actors import Actor
from incidents.audit import AuditLogIsAppendOnly, record_audit
from incidents.models import AuditRecord
from tests.conftest import FIXED_NOW, empty_tables


def _one(session: sa.orm.Session) -> AuditRecord:
    record = record_audit(session, actor=Actor(label="王芳"), action="user.create", target_type="user",
                          target_id=7, now=FIXED_NOW, after={"role": "agent"})
    session.commit()
    return record


def _count(engine: sa.Engine) -> int:
    with engine.connect() as connection:
        return connection.scalar(sa.select(sa.func.count()).select_from(AuditRecord))


def test_the_orm_refuses_to_change_a_record(db_session, engine) -> None:  # noqa: ANN001
    record = _one(db_session)
    record.after = {"role": "admin"}
    with pytest.raises(AuditLogIsAppendOnly):
        db_session.flush()
    db_session.rollback()
    assert db_session.get(AuditRecord, record.id).after == {"role": "agent"}


def test_the_orm_refuses_to_delete_a_record(db_session, engine) -> None:  # noqa: ANN001
    record = _one(db_session)
    db_session.delete(record)
    with pytest.raises(AuditLogIsAppendOnly):
        db_session.flush()
    db_session.rollback()
    assert _count(engine) == 1


@pytest.mark.parametrize("statement", [
    sa.update(AuditRecord).values(actor_label="someone else"),
    sa.delete(AuditRecord),
    sa.update(AuditRecord.__table__).values(actor_label="someone else"),
    sa.delete(AuditRecord.__table__),
], ids=["orm-update", "orm-delete", "table-update", "table-delete"])
def test_the_orm_refuses_bulk_statements(db_session, engine, statement) -> None:  # noqa: ANN001
    _one(db_session)
    with pytest.raises(AuditLogIsAppendOnly):
        db_session.execute(statement)
    db_session.rollback()
    assert _count(engine) == 1


def test_the_database_refuses_an_update_on_both_engines(db_session, engine) -> None:  # noqa: ANN001
    _one(db_session)
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
        connection.execute(sa.text("UPDATE audit_record SET actor_label = 'someone else'"))
    with engine.connect() as connection:
        assert connection.scalar(sa.text("SELECT actor_label FROM audit_record")) == "王芳"


def test_the_database_refuses_a_delete_on_both_engines(db_session, engine) -> None:  # noqa: ANN001
    _one(db_session)
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
        connection.execute(sa.text("DELETE FROM audit_record"))
    assert _count(engine) == 1
    if engine.dialect.name == "postgresql":
        # TRUNCATE (maintenance outside the application, and the test suite's emptying) stays possible.
        with engine.begin() as connection:
            connection.execute(sa.text("TRUNCATE audit_record"))
        assert _count(engine) == 0


def test_the_suite_empties_the_log_and_leaves_the_guard_in_place(db_session, engine) -> None:  # noqa: ANN001
    """tests/conftest.py lifts SQLite's DELETE guard only inside its own emptying transaction."""
    _one(db_session)
    empty_tables(engine)
    assert _count(engine) == 0
    _one(db_session)
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
        connection.execute(sa.text("DELETE FROM audit_record"))
    assert _count(engine) == 1
