"""monitors: sources, rules, mentions

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 14:12:10.742690
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('monitor_source',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('url', sa.String(length=2000), nullable=False),
    sa.Column('interval_s', sa.Integer(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('headers', sa.JSON(), nullable=False),
    sa.Column('tags', sa.JSON(), nullable=False),
    sa.Column('expected_period_s', sa.Integer(), nullable=True),
    sa.Column('etag', sa.String(length=500), nullable=True),
    sa.Column('last_modified', sa.String(length=100), nullable=True),
    sa.Column('content_hash', sa.String(length=64), nullable=True),
    sa.Column('feed_ttl_min', sa.Integer(), nullable=True),
    sa.Column('next_poll_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_poll_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_success_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('last_error_code', sa.String(length=32), nullable=True),
    sa.Column('last_error_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_warning', sa.Text(), nullable=True),
    sa.Column('consecutive_failures', sa.Integer(), nullable=False),
    sa.Column('items_seen', sa.Integer(), nullable=False),
    sa.Column('last_entry_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_monitor_source')),
    sa.UniqueConstraint('name', name=op.f('uq_monitor_source_name'))
    )
    with op.batch_alter_table('monitor_source', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_monitor_source_next_poll_at'), ['next_poll_at'], unique=False)

    op.create_table('mention',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source_id', sa.Integer(), nullable=True),
    sa.Column('source_name', sa.String(length=100), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('identity', sa.Text(), nullable=False),
    sa.Column('title', sa.String(length=500), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('link', sa.String(length=2000), nullable=True),
    sa.Column('author', sa.String(length=200), nullable=True),
    sa.Column('platform', sa.String(length=50), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('categories', sa.JSON(), nullable=False),
    sa.Column('engagement', sa.JSON(), nullable=False),
    sa.Column('matches', sa.JSON(), nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('state', sa.Enum('new', 'dismissed', 'attached', 'raised', name='mentionstate', native_enum=False, length=32), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['incident_id'], ['incident.id'], name=op.f('fk_mention_incident_id_incident')),
    sa.ForeignKeyConstraint(['source_id'], ['monitor_source.id'], name=op.f('fk_mention_source_id_monitor_source')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mention')),
    sa.UniqueConstraint('source_id', 'key_hash', name=op.f('uq_mention_source_id'))
    )
    with op.batch_alter_table('mention', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mention_incident_id'), ['incident_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_mention_score'), ['score'], unique=False)
        batch_op.create_index('ix_mention_state_id', ['state', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_mention_updated_at'), ['updated_at'], unique=False)

    op.create_table('monitor_rule',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('brand', sa.String(length=100), nullable=False),
    sa.Column('aliases', sa.JSON(), nullable=False),
    sa.Column('negative_terms', sa.JSON(), nullable=False),
    sa.Column('critical_terms', sa.JSON(), nullable=False),
    sa.Column('exclusions', sa.JSON(), nullable=False),
    sa.Column('severity', sa.Enum('P1', 'P2', 'P3', 'P4', name='severity', native_enum=False, length=32), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('instant', sa.Boolean(), nullable=False),
    sa.Column('volume_enabled', sa.Boolean(), nullable=False),
    sa.Column('volume_window_minutes', sa.Integer(), nullable=False),
    sa.Column('volume_history_windows', sa.Integer(), nullable=False),
    sa.Column('volume_k', sa.Float(), nullable=False),
    sa.Column('volume_floor', sa.Integer(), nullable=False),
    sa.Column('volume_cooldown_minutes', sa.Integer(), nullable=False),
    sa.Column('last_raised_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('incident_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['incident_id'], ['incident.id'], name=op.f('fk_monitor_rule_incident_id_incident')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_monitor_rule')),
    sa.UniqueConstraint('name', name=op.f('uq_monitor_rule_name'))
    )
    op.create_table('mention_match',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('mention_id', sa.Integer(), nullable=False),
    sa.Column('rule_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('negative', sa.Boolean(), nullable=False),
    sa.Column('critical', sa.Boolean(), nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['mention_id'], ['mention.id'], name=op.f('fk_mention_match_mention_id_mention')),
    sa.ForeignKeyConstraint(['rule_id'], ['monitor_rule.id'], name=op.f('fk_mention_match_rule_id_monitor_rule')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mention_match')),
    sa.UniqueConstraint('mention_id', 'rule_id', name=op.f('uq_mention_match_mention_id'))
    )
    with op.batch_alter_table('mention_match', schema=None) as batch_op:
        batch_op.create_index('ix_mention_match_rule_id_at', ['rule_id', 'at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('mention_match', schema=None) as batch_op:
        batch_op.drop_index('ix_mention_match_rule_id_at')

    op.drop_table('mention_match')
    op.drop_table('monitor_rule')
    with op.batch_alter_table('mention', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mention_updated_at'))
        batch_op.drop_index('ix_mention_state_id')
        batch_op.drop_index(batch_op.f('ix_mention_score'))
        batch_op.drop_index(batch_op.f('ix_mention_incident_id'))

    op.drop_table('mention')
    with op.batch_alter_table('monitor_source', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_monitor_source_next_poll_at'))

    op.drop_table('monitor_source')
