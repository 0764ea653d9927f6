"""audit: request id, browsing indexes, append-only guard

Revision ID: 0010
Revises: 0006
Create Date: 2026-11-22 17:05:00.000000

On PostgreSQL a trigger refuses UPDATE and DELETE on audit_record (TRUNCATE, a maintenance
operation outside the application, stays possible). On SQLite a trigger refuses UPDATE; DELETE
is refused by the ORM guard in incidents.audit (SQLite has no way to tell the test suite's
table emptying from anything else). A later batch migration that rebuilds audit_record on
SQLite drops its trigger and must create it again: tests/audit/test_guards.py checks it exists.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0010'
down_revision = '0006'
branch_labels = None
depends_on = None

PG_FUNCTION = """
CREATE OR REPLACE FUNCTION audit_record_append_only() RETURNS trigger AS $$
BEGIN
    -- No percent signs here: drivers with the pyformat paramstyle would double them.
    RAISE EXCEPTION USING MESSAGE = 'audit_record is append-only: ' || TG_OP || ' refused',
        ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql
"""
PG_TRIGGER = """
CREATE TRIGGER audit_record_append_only BEFORE UPDATE OR DELETE ON audit_record
FOR EACH ROW EXECUTE FUNCTION audit_record_append_only()
"""
SQLITE_TRIGGER = """
CREATE TRIGGER audit_record_no_update BEFORE UPDATE ON audit_record
BEGIN SELECT RAISE(ABORT, 'audit_record is append-only: UPDATE refused'); END
"""


def upgrade() -> None:
    with op.batch_alter_table('audit_record', schema=None) as batch_op:
        batch_op.add_column(sa.Column('request_id', sa.String(length=64), server_default='', nullable=False))
        batch_op.create_index(batch_op.f('ix_audit_record_request_id'), ['request_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_record_action'), ['action'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_record_actor_id'), ['actor_id'], unique=False)
        batch_op.create_index('ix_audit_record_target_type_target_id', ['target_type', 'target_id'], unique=False)
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(PG_FUNCTION)
        op.execute(PG_TRIGGER)
    else:
        op.execute(SQLITE_TRIGGER)


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP TRIGGER IF EXISTS audit_record_append_only ON audit_record")
        op.execute("DROP FUNCTION IF EXISTS audit_record_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_record_no_update")
    with op.batch_alter_table('audit_record', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_record_target_type_target_id')
        batch_op.drop_index(batch_op.f('ix_audit_record_actor_id'))
        batch_op.drop_index(batch_op.f('ix_audit_record_action'))
        batch_op.drop_index(batch_op.f('ix_audit_record_request_id'))
        batch_op.drop_column('request_id')
