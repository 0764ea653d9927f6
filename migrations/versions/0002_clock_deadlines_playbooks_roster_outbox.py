"""clock: deadlines, playbooks, roster, outbox

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 13:35:28.638910
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('calendar_day',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('is_workday', sa.Boolean(), nullable=False),
    sa.Column('note', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('day', name=op.f('pk_calendar_day'))
    )
    op.create_table('playbook_revision',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('outage', 'public_opinion', 'complaint', name='kind', native_enum=False, length=32), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('document', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_label', sa.String(length=100), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_playbook_revision')),
    sa.UniqueConstraint('kind', 'revision', name=op.f('uq_playbook_revision_kind'))
    )
    op.create_table('setting',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('value', sa.JSON(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_setting'))
    )
    op.create_table('team_channel',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('config', sa.JSON(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('reminders', sa.Boolean(), nullable=False),
    sa.Column('escalations', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_team_channel')),
    sa.UniqueConstraint('name', name=op.f('uq_team_channel_name'))
    )
    op.create_table('duty_shift',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('note', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_duty_shift_user_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_duty_shift'))
    )
    with op.batch_alter_table('duty_shift', schema=None) as batch_op:
        batch_op.create_index('ix_duty_shift_starts_at_ends_at', ['starts_at', 'ends_at'], unique=False)

    op.create_table('outbox_message',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('idempotency_key', sa.String(length=120), nullable=False),
    sa.Column('channel_id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=True),
    sa.Column('event', sa.String(length=32), nullable=False),
    sa.Column('message', sa.JSON(), nullable=False),
    sa.Column('state', sa.Enum('pending', 'delivered', 'failed', name='outboxstate', native_enum=False, length=32), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['channel_id'], ['team_channel.id'], name=op.f('fk_outbox_message_channel_id_team_channel')),
    sa.ForeignKeyConstraint(['incident_id'], ['incident.id'], name=op.f('fk_outbox_message_incident_id_incident')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox_message')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_outbox_message_idempotency_key'))
    )
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outbox_message_next_attempt_at'), ['next_attempt_at'], unique=False)

    op.create_table('status_update',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('public_status', sa.Enum('investigating', 'identified', 'monitoring', 'resolved', 'closed', name='status', native_enum=False, length=32), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('published_by_id', sa.Integer(), nullable=True),
    sa.Column('published_by_label', sa.String(length=100), nullable=False),
    sa.Column('automatic', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['incident_id'], ['incident.id'], name=op.f('fk_status_update_incident_id_incident')),
    sa.ForeignKeyConstraint(['published_by_id'], ['user_account.id'], name=op.f('fk_status_update_published_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_status_update'))
    )
    with op.batch_alter_table('status_update', schema=None) as batch_op:
        batch_op.create_index('ix_status_update_incident_id_published_at', ['incident_id', 'published_at'], unique=False)

    op.create_table('deadline',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('rule_key', sa.String(length=64), nullable=False),
    sa.Column('rule', sa.JSON(), nullable=False),
    sa.Column('owner', sa.String(length=32), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('remind_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('state', sa.Enum('pending', 'met', 'missed', 'waived', name='deadlinestate', native_enum=False, length=32), nullable=False),
    sa.Column('stage', sa.Integer(), nullable=False),
    sa.Column('next_fire_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('met_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('met_by_event_id', sa.Integer(), nullable=True),
    sa.Column('waived_reason', sa.Text(), nullable=False),
    sa.Column('paused_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('paused_seconds', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['incident_id'], ['incident.id'], name=op.f('fk_deadline_incident_id_incident')),
    sa.ForeignKeyConstraint(['met_by_event_id'], ['timeline_event.id'], name=op.f('fk_deadline_met_by_event_id_timeline_event')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deadline'))
    )
    with op.batch_alter_table('deadline', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_deadline_due_at'), ['due_at'], unique=False)
        batch_op.create_index('ix_deadline_incident_id_state', ['incident_id', 'state'], unique=False)
        batch_op.create_index(batch_op.f('ix_deadline_next_fire_at'), ['next_fire_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_deadline_state'), ['state'], unique=False)

    op.create_table('delivery_attempt',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ok', sa.Boolean(), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=True),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('duration_ms', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['message_id'], ['outbox_message.id'], name=op.f('fk_delivery_attempt_message_id_outbox_message')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_delivery_attempt'))
    )
    with op.batch_alter_table('delivery_attempt', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_delivery_attempt_message_id'), ['message_id'], unique=False)

    op.create_table('notification',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=True),
    sa.Column('deadline_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('snoozed_until', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['deadline_id'], ['deadline.id'], name=op.f('fk_notification_deadline_id_deadline')),
    sa.ForeignKeyConstraint(['incident_id'], ['incident.id'], name=op.f('fk_notification_incident_id_incident')),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_notification_user_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification'))
    )
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.create_index('ix_notification_user_id_read_at', ['user_id', 'read_at'], unique=False)

    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.add_column(sa.Column('clock_paused_at', sa.DateTime(timezone=True), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.drop_column('clock_paused_at')

    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.drop_index('ix_notification_user_id_read_at')

    op.drop_table('notification')
    with op.batch_alter_table('delivery_attempt', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_delivery_attempt_message_id'))

    op.drop_table('delivery_attempt')
    with op.batch_alter_table('deadline', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_deadline_state'))
        batch_op.drop_index(batch_op.f('ix_deadline_next_fire_at'))
        batch_op.drop_index('ix_deadline_incident_id_state')
        batch_op.drop_index(batch_op.f('ix_deadline_due_at'))

    op.drop_table('deadline')
    with op.batch_alter_table('status_update', schema=None) as batch_op:
        batch_op.drop_index('ix_status_update_incident_id_published_at')

    op.drop_table('status_update')
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_message_next_attempt_at'))

    op.drop_table('outbox_message')
    with op.batch_alter_table('duty_shift', schema=None) as batch_op:
        batch_op.drop_index('ix_duty_shift_starts_at_ends_at')

    op.drop_table('duty_shift')
    op.drop_table('team_channel')
    op.drop_table('setting')
    op.drop_table('playbook_revision')
    op.drop_table('calendar_day')
