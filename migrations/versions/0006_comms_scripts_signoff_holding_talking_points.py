"""comms desk: scripts, sign-off drafts, holding claims, talking points

Revision ID: 0006
Revises: 0008
Create Date: 2026-11-22 14:36:03.345766
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0006'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('script_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('outage', 'public_opinion', 'complaint', name='kind', native_enum=False, length=32), nullable=False),
    sa.Column('purpose', sa.String(length=32), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('zh', sa.Text(), nullable=False),
    sa.Column('en', sa.Text(), nullable=False),
    sa.Column('public_status', sa.Enum('investigating', 'identified', 'monitoring', 'resolved', 'closed', name='status', native_enum=False, length=32), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_by_label', sa.String(length=100), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_script_version_created_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_script_version')),
    sa.UniqueConstraint('kind', 'purpose', 'version', name=op.f('uq_script_version_kind'))
    )
    op.create_table('talking_points',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_by_label', sa.String(length=100), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_talking_points_created_by_id_user_account')),
    sa.ForeignKeyConstraint(['incident_id'], ['incident.id'], name=op.f('fk_talking_points_incident_id_incident')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_talking_points')),
    sa.UniqueConstraint('incident_id', 'version', name=op.f('uq_talking_points_incident_id'))
    )
    op.create_table('talking_points_confirmation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('talking_points_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['talking_points_id'], ['talking_points.id'], name=op.f('fk_talking_points_confirmation_talking_points_id_talking_points')),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_talking_points_confirmation_user_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_talking_points_confirmation')),
    sa.UniqueConstraint('talking_points_id', 'user_id', name=op.f('uq_talking_points_confirmation_talking_points_id'))
    )
    with op.batch_alter_table('talking_points_confirmation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_talking_points_confirmation_talking_points_id'), ['talking_points_id'], unique=False)

    op.create_table('holding_claim',
    sa.Column('deadline_id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('update_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['deadline_id'], ['deadline.id'], name=op.f('fk_holding_claim_deadline_id_deadline')),
    sa.ForeignKeyConstraint(['incident_id'], ['incident.id'], name=op.f('fk_holding_claim_incident_id_incident')),
    sa.ForeignKeyConstraint(['update_id'], ['status_update.id'], name=op.f('fk_holding_claim_update_id_status_update')),
    sa.PrimaryKeyConstraint('deadline_id', name=op.f('pk_holding_claim'))
    )
    op.create_table('update_draft',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.Enum('pending', 'approved', 'rejected', name='draftstate', native_enum=False, length=32), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('body_en', sa.Text(), nullable=False),
    sa.Column('public_status', sa.Enum('investigating', 'identified', 'monitoring', 'resolved', 'closed', name='status', native_enum=False, length=32), nullable=False),
    sa.Column('components', sa.JSON(), nullable=False),
    sa.Column('script', sa.JSON(), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=True),
    sa.Column('requested_by_label', sa.String(length=100), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_by_label', sa.String(length=100), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('deadline_id', sa.Integer(), nullable=True),
    sa.Column('update_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['deadline_id'], ['deadline.id'], name=op.f('fk_update_draft_deadline_id_deadline')),
    sa.ForeignKeyConstraint(['incident_id'], ['incident.id'], name=op.f('fk_update_draft_incident_id_incident')),
    sa.ForeignKeyConstraint(['requested_by_id'], ['user_account.id'], name=op.f('fk_update_draft_requested_by_id_user_account')),
    sa.ForeignKeyConstraint(['update_id'], ['status_update.id'], name=op.f('fk_update_draft_update_id_status_update')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_update_draft'))
    )
    with op.batch_alter_table('update_draft', schema=None) as batch_op:
        batch_op.create_index('ix_update_draft_incident_id_state', ['incident_id', 'state'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('update_draft', schema=None) as batch_op:
        batch_op.drop_index('ix_update_draft_incident_id_state')

    op.drop_table('update_draft')
    op.drop_table('holding_claim')
    with op.batch_alter_table('talking_points_confirmation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_talking_points_confirmation_talking_points_id'))

    op.drop_table('talking_points_confirmation')
    op.drop_table('talking_points')
    op.drop_table('script_version')
