"""status page: components, maintenance, public incidents

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 13:42:06.514288
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('component_group',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('name_en', sa.String(length=100), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_component_group'))
    )
    op.create_table('maintenance',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('title_en', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('body_en', sa.Text(), nullable=False),
    sa.Column('scheduled_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('scheduled_end', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.Enum('scheduled', 'in_progress', 'verifying', 'completed', name='maintenancestatus', native_enum=False, length=32), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reminded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_label', sa.String(length=100), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_maintenance'))
    )
    with op.batch_alter_table('maintenance', schema=None) as batch_op:
        batch_op.create_index('ix_maintenance_status_scheduled_start', ['status', 'scheduled_start'], unique=False)

    op.create_table('public_page_state',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_public_page_state'))
    )
    op.create_table('component',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=True),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('name_en', sa.String(length=100), nullable=False),
    sa.Column('description', sa.String(length=500), nullable=False),
    sa.Column('description_en', sa.String(length=500), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('base_status', sa.Enum('operational', 'under_maintenance', 'degraded_performance', 'partial_outage', 'major_outage', name='componentstatus', native_enum=False, length=32), nullable=False),
    sa.Column('status', sa.Enum('operational', 'under_maintenance', 'degraded_performance', 'partial_outage', 'major_outage', name='componentstatus', native_enum=False, length=32), nullable=False),
    sa.Column('show_on_page', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['component_group.id'], name=op.f('fk_component_group_id_component_group')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_component'))
    )
    op.create_table('maintenance_update',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('maintenance_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('scheduled', 'in_progress', 'verifying', 'completed', name='maintenancestatus', native_enum=False, length=32), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('body_en', sa.Text(), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('published_by_label', sa.String(length=100), nullable=False),
    sa.Column('automatic', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['maintenance_id'], ['maintenance.id'], name=op.f('fk_maintenance_update_maintenance_id_maintenance')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_maintenance_update'))
    )
    with op.batch_alter_table('maintenance_update', schema=None) as batch_op:
        batch_op.create_index('ix_maintenance_update_maintenance_id_id', ['maintenance_id', 'id'], unique=False)

    op.create_table('component_status_change',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('component_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.Enum('operational', 'under_maintenance', 'degraded_performance', 'partial_outage', 'major_outage', name='componentstatus', native_enum=False, length=32), nullable=False),
    sa.ForeignKeyConstraint(['component_id'], ['component.id'], name=op.f('fk_component_status_change_component_id_component')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_component_status_change'))
    )
    with op.batch_alter_table('component_status_change', schema=None) as batch_op:
        batch_op.create_index('ix_component_status_change_component_id_at', ['component_id', 'at'], unique=False)

    op.create_table('incident_component',
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('component_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('operational', 'under_maintenance', 'degraded_performance', 'partial_outage', 'major_outage', name='componentstatus', native_enum=False, length=32), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['component_id'], ['component.id'], name=op.f('fk_incident_component_component_id_component')),
    sa.ForeignKeyConstraint(['incident_id'], ['incident.id'], name=op.f('fk_incident_component_incident_id_incident')),
    sa.PrimaryKeyConstraint('incident_id', 'component_id', name=op.f('pk_incident_component'))
    )
    op.create_table('maintenance_component',
    sa.Column('maintenance_id', sa.Integer(), nullable=False),
    sa.Column('component_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['component_id'], ['component.id'], name=op.f('fk_maintenance_component_component_id_component')),
    sa.ForeignKeyConstraint(['maintenance_id'], ['maintenance.id'], name=op.f('fk_maintenance_component_maintenance_id_maintenance')),
    sa.PrimaryKeyConstraint('maintenance_id', 'component_id', name=op.f('pk_maintenance_component'))
    )
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.add_column(sa.Column('public_title', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('public_title_en', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('internal_only', sa.Boolean(), server_default=sa.false(), nullable=False))

    with op.batch_alter_table('status_update', schema=None) as batch_op:
        batch_op.add_column(sa.Column('body_en', sa.Text(), server_default='', nullable=False))
        batch_op.add_column(sa.Column('components', sa.JSON(), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('status_update', schema=None) as batch_op:
        batch_op.drop_column('components')
        batch_op.drop_column('body_en')

    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.drop_column('internal_only')
        batch_op.drop_column('public_title_en')
        batch_op.drop_column('public_title')

    op.drop_table('maintenance_component')
    op.drop_table('incident_component')
    with op.batch_alter_table('component_status_change', schema=None) as batch_op:
        batch_op.drop_index('ix_component_status_change_component_id_at')

    op.drop_table('component_status_change')
    with op.batch_alter_table('maintenance_update', schema=None) as batch_op:
        batch_op.drop_index('ix_maintenance_update_maintenance_id_id')

    op.drop_table('maintenance_update')
    op.drop_table('component')
    op.drop_table('public_page_state')
    with op.batch_alter_table('maintenance', schema=None) as batch_op:
        batch_op.drop_index('ix_maintenance_status_scheduled_start')

    op.drop_table('maintenance')
    op.drop_table('component_group')
