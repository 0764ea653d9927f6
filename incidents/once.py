"""Insert-if-absent: the atomic claim for rows whose existence is the claim."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def insert_if_absent(session: Session, table: sa.Table, values: dict[str, Any]) -> bool:
    """INSERT … ON CONFLICT DO NOTHING; True when this call's row got in (the caller owns it).

    Two transactions racing on PostgreSQL: the second waits for the first and then inserts
    nothing; SQLite takes writers one at a time. Either way exactly one of them wins.
    """
    dialect = sqlite if session.get_bind().dialect.name == "sqlite" else postgresql
    key = list(table.primary_key.columns)[0]
    # RETURNING, not rowcount: drivers disagree on rowcount for INSERT … ON CONFLICT.
    statement = dialect.insert(table).values(**values).on_conflict_do_nothing().returning(key)
    return session.connection().execute(statement).first() is not None
