"""affected customers, outreach attempts, compensation

Revision ID: 0008
Revises: 0009
Create Date: 2026-11-22 14:37:32.902411
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0008'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('affected_contact',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('platform', sa.Enum('phone', 'sms', 'email', 'wechat', 'douyin', 'weibo', 'xiaohongshu', 'marketplace', 'other', name='platform', native_enum=False, length=32), nullable=False),
    sa.Column('handle', sa.String(length=200), nullable=False),
    sa.Column('order_numbers', sa.JSON(), nullable=False),
    sa.Column('activity', sa.Text(), nullable=False),
    sa.Column('demand', sa.Enum('return', 'exchange', 'compensation', 'apology', 'explanation', name='demand', native_enum=False, length=32), nullable=True),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('origin', sa.Enum('manual', 'paste', 'csv', 'monitor', 'api', name='contactorigin', native_enum=False, length=32), nullable=False),
    sa.Column('mention_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_label', sa.String(length=100), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_result', sa.Enum('reached', 'no_answer', 'refused', 'resolved', name='attemptresult', native_enum=False, length=32), nullable=True),
    sa.Column('reached_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['incident_id'], ['incident.id'], name=op.f('fk_affected_contact_incident_id_incident')),
    sa.ForeignKeyConstraint(['mention_id'], ['mention.id'], name=op.f('fk_affected_contact_mention_id_mention')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_affected_contact'))
    )
    with op.batch_alter_table('affected_contact', schema=None) as batch_op:
        batch_op.create_index('ix_affected_contact_incident_id_id', ['incident_id', 'id'], unique=False)

    op.create_table('outreach_attempt',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('channel', sa.Enum('phone', 'sms', 'email', 'wechat', 'douyin', 'weibo', 'xiaohongshu', 'marketplace', 'other', name='platform', native_enum=False, length=32), nullable=False),
    sa.Column('result', sa.Enum('reached', 'no_answer', 'refused', 'resolved', name='attemptresult', native_enum=False, length=32), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('promise', sa.Text(), nullable=False),
    sa.Column('promise_due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('deadline_id', sa.Integer(), nullable=True),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor_label', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['user_account.id'], name=op.f('fk_outreach_attempt_actor_id_user_account')),
    sa.ForeignKeyConstraint(['contact_id'], ['affected_contact.id'], name=op.f('fk_outreach_attempt_contact_id_affected_contact')),
    sa.ForeignKeyConstraint(['deadline_id'], ['deadline.id'], name=op.f('fk_outreach_attempt_deadline_id_deadline')),
    sa.ForeignKeyConstraint(['incident_id'], ['incident.id'], name=op.f('fk_outreach_attempt_incident_id_incident')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outreach_attempt'))
    )
    with op.batch_alter_table('outreach_attempt', schema=None) as batch_op:
        batch_op.create_index('ix_outreach_attempt_contact_id_at', ['contact_id', 'at'], unique=False)
        batch_op.create_index(batch_op.f('ix_outreach_attempt_incident_id'), ['incident_id'], unique=False)

    op.create_table('compensation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('attempt_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('voucher', 'discount', 'extended_warranty', 'refund', 'reshipment', 'apology_only', name='offerkind', native_enum=False, length=32), nullable=False),
    sa.Column('value', sa.Numeric(precision=12, scale=2), nullable=True),
    sa.Column('state', sa.Enum('offered', 'accepted', 'declined', 'delivered', 'confirmed', name='compensationstate', native_enum=False, length=32), nullable=False),
    sa.Column('offered_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('declined_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('history', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['attempt_id'], ['outreach_attempt.id'], name=op.f('fk_compensation_attempt_id_outreach_attempt')),
    sa.ForeignKeyConstraint(['contact_id'], ['affected_contact.id'], name=op.f('fk_compensation_contact_id_affected_contact')),
    sa.ForeignKeyConstraint(['incident_id'], ['incident.id'], name=op.f('fk_compensation_incident_id_incident')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_compensation'))
    )
    with op.batch_alter_table('compensation', schema=None) as batch_op:
        batch_op.create_index('ix_compensation_incident_id_state', ['incident_id', 'state'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('compensation', schema=None) as batch_op:
        batch_op.drop_index('ix_compensation_incident_id_state')

    op.drop_table('compensation')
    with op.batch_alter_table('outreach_attempt', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outreach_attempt_incident_id'))
        batch_op.drop_index('ix_outreach_attempt_contact_id_at')

    op.drop_table('outreach_attempt')
    with op.batch_alter_table('affected_contact', schema=None) as batch_op:
        batch_op.drop_index('ix_affected_contact_incident_id_id')

    op.drop_table('affected_contact')
