"""user: mobile number, must-change-password flag, session epoch

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 04:30:00.000000

`session_epoch` is part of every signed-in session's id ("id:epoch"): raising it on sign-out,
a password change or deactivation ends that person's sessions everywhere. Sessions signed in
before this step carry a bare id and are asked to sign in once more.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN on both engines: a batch copy on SQLite would lose the lower(username) index.
    op.add_column("user_account", sa.Column("mobile", sa.String(20), nullable=False, server_default=""))
    op.add_column("user_account", sa.Column("must_change_password", sa.Boolean(), nullable=False,
                                            server_default=sa.false()))
    op.add_column("user_account", sa.Column("session_epoch", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    for column in ("session_epoch", "must_change_password", "mobile"):
        op.drop_column("user_account", column)
