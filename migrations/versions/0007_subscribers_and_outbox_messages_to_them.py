"""subscribers and outbox messages to them

Revision ID: 0007
Revises: 0005
Create Date: 2026-11-22 14:36:01.041104
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0007'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('subscriber',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('address', sa.String(length=500), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('config', sa.JSON(), nullable=False),
    sa.Column('state', sa.Enum('pending', 'active', 'paused', 'unsubscribed', 'deleted', name='subscriberstate', native_enum=False, length=32), nullable=False),
    sa.Column('paused_reason', sa.String(length=16), nullable=False),
    sa.Column('all_components', sa.Boolean(), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('token', sa.String(length=64), nullable=False),
    sa.Column('origin', sa.String(length=16), nullable=False),
    sa.Column('consecutive_failures', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=False),
    sa.Column('last_delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subscriber')),
    sa.UniqueConstraint('token', name=op.f('uq_subscriber_token'))
    )
    op.create_index('ix_subscriber_kind_address', 'subscriber', ['kind', 'address'], unique=False)
    op.create_table('subscription_attempt',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ip', sa.String(length=64), nullable=False),
    sa.Column('address', sa.String(length=500), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subscription_attempt'))
    )
    op.create_index('ix_subscription_attempt_address_at', 'subscription_attempt', ['address', 'at'], unique=False)
    op.create_index('ix_subscription_attempt_ip_at', 'subscription_attempt', ['ip', 'at'], unique=False)
    op.create_table('subscriber_component',
    sa.Column('subscriber_id', sa.Integer(), nullable=False),
    sa.Column('component_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['component_id'], ['component.id'], name=op.f('fk_subscriber_component_component_id_component')),
    sa.ForeignKeyConstraint(['subscriber_id'], ['subscriber.id'], name=op.f('fk_subscriber_component_subscriber_id_subscriber')),
    sa.PrimaryKeyConstraint('subscriber_id', 'component_id', name=op.f('pk_subscriber_component'))
    )
    # SQLite cannot alter a column in place: batch mode copies the table.
    with op.batch_alter_table('outbox_message') as batch:
        batch.add_column(sa.Column('subscriber_id', sa.Integer(), nullable=True))
        batch.alter_column('channel_id', existing_type=sa.INTEGER(), nullable=True)
        batch.create_index(batch.f('ix_outbox_message_subscriber_id'), ['subscriber_id'], unique=False)
        batch.create_foreign_key(batch.f('fk_outbox_message_subscriber_id_subscriber'), 'subscriber',
                                 ['subscriber_id'], ['id'])
        batch.create_check_constraint(batch.f('ck_outbox_message_one_destination'), '(channel_id IS NULL) <> (subscriber_id IS NULL)')


def downgrade() -> None:
    op.execute("DELETE FROM delivery_attempt WHERE message_id IN "
               "(SELECT id FROM outbox_message WHERE subscriber_id IS NOT NULL)")
    op.execute("DELETE FROM outbox_message WHERE subscriber_id IS NOT NULL")
    with op.batch_alter_table('outbox_message') as batch:
        batch.drop_constraint(batch.f('ck_outbox_message_one_destination'), type_='check')
        batch.drop_constraint(batch.f('fk_outbox_message_subscriber_id_subscriber'), type_='foreignkey')
        batch.drop_index(batch.f('ix_outbox_message_subscriber_id'))
        batch.alter_column('channel_id', existing_type=sa.INTEGER(), nullable=False)
        batch.drop_column('subscriber_id')
    op.drop_table('subscriber_component')
    op.drop_index('ix_subscription_attempt_ip_at', table_name='subscription_attempt')
    op.drop_index('ix_subscription_attempt_address_at', table_name='subscription_attempt')
    op.drop_table('subscription_attempt')
    op.drop_index('ix_subscriber_kind_address', table_name='subscriber')
    op.drop_table('subscriber')
