"""Finding a row that belongs to an incident (a deadline, a draft, a customer…) by its id."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy.orm import Session

from incidents.errors import NotFound
from incidents.models import Incident

Row = TypeVar("Row")

# What an Integer primary key holds on every engine (PostgreSQL's integer is 32-bit).
ID_MAX = 2**31 - 1


def row_id(raw: Any) -> int | None:
    """An id as a script sends it (an integer or its digits), or None for anything no row can have.

    Never a bool (True is not row 1), a fraction (1.5 is not row 1), or a number beyond what
    the key holds (PostgreSQL fails the whole query on one)."""
    if isinstance(raw, str) and raw.isascii() and raw.isdigit() and len(raw) <= 10:
        raw = int(raw)
    if isinstance(raw, int) and not isinstance(raw, bool) and 1 <= raw <= ID_MAX:
        return raw
    return None


def of_incident(session: Session, model: type[Row], row_id: Any, incident: Incident, what: str) -> Row:
    """The row with this id if it is the incident's; NotFound ("no <what> <id> on <ref>") otherwise."""
    row = session.get(model, row_id)
    if row is None or getattr(row, "incident_id") != incident.id:
        raise NotFound(f"no {what} {row_id} on {incident.reference}")
    return row
