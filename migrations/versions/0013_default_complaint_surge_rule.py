"""intake: the complaint surge rule is on out of the box

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 03:50:00.000000

A team should be warned of a surge of quality complaints about one product from the first
day, before anyone has written a rule. This adds the shipped rule (any product, quality,
10 in one local day, P2, one day's cool-down) with its audit record, but only where no surge
rule exists yet: an install whose admins already set their rules keeps exactly those.
Admins change or disable it like any other rule. The values are written out here rather
than imported, so this step installs the same rule whatever later code says.
"""
from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

SHIPPED_RULE = {"product": "", "category": "quality", "threshold": 10, "severity": "P2", "enabled": True,
                "cooldown_minutes": 1440}

rules = sa.table(
    'complaint_surge_rule',
    sa.column('id', sa.Integer), sa.column('product', sa.String), sa.column('category', sa.String),
    sa.column('threshold', sa.Integer), sa.column('severity', sa.String), sa.column('enabled', sa.Boolean),
    sa.column('cooldown_minutes', sa.Integer), sa.column('created_at', sa.DateTime(timezone=True)),
    sa.column('updated_at', sa.DateTime(timezone=True)),
)
audit = sa.table(
    'audit_record',
    sa.column('at', sa.DateTime(timezone=True)), sa.column('actor_label', sa.String), sa.column('ip', sa.String),
    sa.column('request_id', sa.String), sa.column('action', sa.String), sa.column('target_type', sa.String),
    sa.column('target_id', sa.String), sa.column('before', sa.JSON), sa.column('after', sa.JSON),
)


def upgrade() -> None:
    bind = op.get_bind()
    if bind.scalar(sa.select(sa.func.count()).select_from(rules)):
        return
    now = datetime.now(UTC)
    # SQLite has no time zone type: the console stores naive UTC there (incidents.timeutil.UTCDateTime).
    stamp = now.replace(tzinfo=None) if bind.dialect.name == 'sqlite' else now
    bind.execute(rules.insert().values(**SHIPPED_RULE, created_at=stamp, updated_at=stamp))
    rule_id = bind.scalar(sa.select(rules.c.id).where(rules.c.product == SHIPPED_RULE["product"],
                                                      rules.c.category == SHIPPED_RULE["category"]))
    bind.execute(audit.insert().values(
        at=stamp, actor_label='system:install', ip='', request_id='', action='surge_rule.created',
        target_type='complaint_surge_rule', target_id=str(rule_id), before={}, after=SHIPPED_RULE))


def downgrade() -> None:
    # The rule is the team's data by now (an admin may have tuned it): it stays.
    pass
