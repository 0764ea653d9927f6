"""sso_identity: provider identities (issuer + subject) linked to accounts

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 04:30:00.000000

Single sign-on keeps its settings in the `setting` table (key "sso"); this table records which
OpenID Connect identity signs in as which account, so a rename in the provider finds the same one.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'sso_identity',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('issuer', sa.String(length=500), nullable=False),
        sa.Column('subject', sa.String(length=255), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('origin', sa.String(length=16), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_sso_identity_user_id_user_account')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_sso_identity')),
        sa.UniqueConstraint('issuer', 'subject', name=op.f('uq_sso_identity_issuer')),
        sa.UniqueConstraint('user_id', name=op.f('uq_sso_identity_user_id')),
    )


def downgrade() -> None:
    op.drop_table('sso_identity')
