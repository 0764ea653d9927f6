"""audit: SQLite refuses DELETE on audit_record too

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-22 21:10:00.000000

0010 gave SQLite a trigger against UPDATE only and left DELETE to the ORM guard. A statement
outside the ORM (a script with its own connection, the sqlite3 shell) could still delete
records. This trigger refuses it in the database, as PostgreSQL's does. The test suite, which
empties every table between tests, lifts it for that one statement and puts it back in the
same transaction (tests/conftest.py), as TRUNCATE passes PostgreSQL's row trigger by.
"""
from __future__ import annotations

from alembic import op


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

SQLITE_TRIGGER = """
CREATE TRIGGER audit_record_no_delete BEFORE DELETE ON audit_record
BEGIN SELECT RAISE(ABORT, 'audit_record is append-only: DELETE refused'); END
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == 'sqlite':
        op.execute(SQLITE_TRIGGER)


def downgrade() -> None:
    if op.get_bind().dialect.name == 'sqlite':
        op.execute("DROP TRIGGER IF EXISTS audit_record_no_delete")
