"""review: six-step case, review, action items

Revision ID: 0009
Revises: 0007
Create Date: 2026-11-22 14:35:32.630121
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0009'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('case_step',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('step', sa.String(length=16), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('fields', sa.JSON(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('recorded_by_label', sa.String(length=100), nullable=False),
    sa.ForeignKeyConstraint(['incident_id'], ['incident.id'], name=op.f('fk_case_step_incident_id_incident')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['user_account.id'], name=op.f('fk_case_step_recorded_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_step')),
    sa.UniqueConstraint('incident_id', 'step', 'version', name=op.f('uq_case_step_incident_id'))
    )
    with op.batch_alter_table('case_step', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_step_incident_id'), ['incident_id'], unique=False)

    op.create_table('incident_review',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.Enum('draft', 'completed', 'waived', name='reviewstate', native_enum=False, length=32), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('root_cause', sa.Text(), nullable=False),
    sa.Column('contributing_factors', sa.Text(), nullable=False),
    sa.Column('responsibility', sa.Text(), nullable=False),
    sa.Column('went_well', sa.Text(), nullable=False),
    sa.Column('went_badly', sa.Text(), nullable=False),
    sa.Column('links', sa.JSON(), nullable=False),
    sa.Column('figures', sa.JSON(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('completed_by_label', sa.String(length=100), nullable=False),
    sa.Column('waived_reason', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['incident_id'], ['incident.id'], name=op.f('fk_incident_review_incident_id_incident')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_incident_review')),
    sa.UniqueConstraint('incident_id', name=op.f('uq_incident_review_incident_id'))
    )
    op.create_table('review_action_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('review_id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.Enum('open', 'done', 'dropped', name='actionstatus', native_enum=False, length=32), nullable=False),
    sa.Column('deadline_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('settled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['deadline_id'], ['deadline.id'], name=op.f('fk_review_action_item_deadline_id_deadline')),
    sa.ForeignKeyConstraint(['incident_id'], ['incident.id'], name=op.f('fk_review_action_item_incident_id_incident')),
    sa.ForeignKeyConstraint(['owner_id'], ['user_account.id'], name=op.f('fk_review_action_item_owner_id_user_account')),
    sa.ForeignKeyConstraint(['review_id'], ['incident_review.id'], name=op.f('fk_review_action_item_review_id_incident_review')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_review_action_item'))
    )
    with op.batch_alter_table('review_action_item', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_review_action_item_incident_id'), ['incident_id'], unique=False)
        batch_op.create_index('ix_review_action_item_status_due_at', ['status', 'due_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('review_action_item', schema=None) as batch_op:
        batch_op.drop_index('ix_review_action_item_status_due_at')
        batch_op.drop_index(batch_op.f('ix_review_action_item_incident_id'))

    op.drop_table('review_action_item')
    op.drop_table('incident_review')
    with op.batch_alter_table('case_step', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_step_incident_id'))

    op.drop_table('case_step')
