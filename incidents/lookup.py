"""Finding a row that belongs to an incident (a deadline, a draft, a customer…) by its id."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy.orm import Session

from incidents.errors import NotFound
from incidents.models import Incident

Row = TypeVar("Row")


def of_incident(session: Session, model: type[Row], row_id: Any, incident: Incident, what: str) -> Row:
    """The row with this id if it is the incident's; NotFound ("no <what> <id> on <ref>") otherwise."""
    row = session.get(model, row_id)
    if row is None or getattr(row, "incident_id") != incident.id:
        raise NotFound(f"no {what} {row_id} on {incident.reference}")
    return row
