"""Every row of every table, to assert that a refused or repeated request changed nothing."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from incidents.schema import metadata

# Touched by authentication itself (at most once a minute), not by what a request asked for.
IGNORED = {"api_token"}


def snapshot(engine: sa.Engine) -> dict[str, list[tuple[Any, ...]]]:
    """All rows of all tables (but IGNORED), in a stable order."""
    rows = {}
    with engine.connect() as connection:
        for table in metadata.sorted_tables:
            if table.name in IGNORED:
                continue
            result = connection.execute(sa.select(table).order_by(*table.primary_key.columns))
            rows[table.name] = [tuple(row) for row in result]
    return rows
