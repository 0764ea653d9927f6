"""intake: alert groups, complaint reports and surge rules

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 13:41:44.246571
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('complaint_surge_rule',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('product', sa.String(length=100), nullable=False),
    sa.Column('category', sa.String(length=32), nullable=False),
    sa.Column('threshold', sa.Integer(), nullable=False),
    sa.Column('severity', sa.Enum('P1', 'P2', 'P3', 'P4', name='severity', native_enum=False, length=32), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('cooldown_minutes', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_complaint_surge_rule')),
    sa.UniqueConstraint('product', 'category', name=op.f('uq_complaint_surge_rule_product'))
    )
    op.create_table('alert_group',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('group_key', sa.Text(), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=True),
    sa.Column('last_status', sa.String(length=16), nullable=False),
    sa.Column('last_summary', sa.Text(), nullable=False),
    sa.Column('alerts', sa.JSON(), nullable=False),
    sa.Column('components', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['incident_id'], ['incident.id'], name=op.f('fk_alert_group_incident_id_incident')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alert_group')),
    sa.UniqueConstraint('source', 'key_hash', name=op.f('uq_alert_group_source'))
    )
    with op.batch_alter_table('alert_group', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alert_group_incident_id'), ['incident_id'], unique=False)
    op.create_table('complaint_report',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('product', sa.String(length=100), nullable=False),
    sa.Column('category', sa.String(length=32), nullable=False),
    sa.Column('channel', sa.String(length=32), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('order_no', sa.String(length=64), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('local_day', sa.Date(), nullable=False),
    sa.Column('reported_by', sa.String(length=100), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['incident_id'], ['incident.id'], name=op.f('fk_complaint_report_incident_id_incident')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_complaint_report'))
    )
    with op.batch_alter_table('complaint_report', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_complaint_report_incident_id'), ['incident_id'], unique=False)
        batch_op.create_index('ix_complaint_report_product_category_local_day', ['product', 'category', 'local_day'], unique=False)
        batch_op.create_index(batch_op.f('ix_complaint_report_received_at'), ['received_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('complaint_report', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_complaint_report_received_at'))
        batch_op.drop_index('ix_complaint_report_product_category_local_day')
        batch_op.drop_index(batch_op.f('ix_complaint_report_incident_id'))

    op.drop_table('complaint_report')
    with op.batch_alter_table('alert_group', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alert_group_incident_id'))

    op.drop_table('alert_group')
    op.drop_table('complaint_surge_rule')
