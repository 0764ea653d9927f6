"""user: one account per name whatever its letter case

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 04:00:00.000000

Names are compared after NFKC and in lower case (incidents.accounts.canonical_username), so
`U_admin` and `u_admin` are one account. A unique index on lower(username) holds it in the
database too; sign-in attempts are stored under the lower-case name.
"""
from __future__ import annotations

from alembic import op


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("UPDATE login_attempt SET username = lower(username)")
    op.execute('CREATE UNIQUE INDEX ix_user_username_lower ON user_account (lower(username))')


def downgrade() -> None:
    op.execute("DROP INDEX ix_user_username_lower")
