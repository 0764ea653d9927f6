"""Read-side queries for the board, the incident page and the API."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from incidents.lifecycle import ACTIVE_STATUSES, Kind, Severity, Status
from incidents.models import Incident, TimelineEvent

SEARCH_MAX = 100


def list_incidents(
    session: Session,
    *,
    statuses: Iterable[Status] = ACTIVE_STATUSES,
    kinds: Iterable[Kind] = (),
    severities: Iterable[Severity] = (),
    query: str = "",
    limit: int = 200,
) -> list[Incident]:
    """Incidents matching the filters: open before resolved, most severe first, then newest."""
    statement = (
        sa.select(Incident)
        .options(selectinload(Incident.commander), selectinload(Incident.comms_lead))
        .where(Incident.status.in_(list(statuses)))
    )
    if kinds := list(kinds):
        statement = statement.where(Incident.kind.in_(kinds))
    if severities := list(severities):
        statement = statement.where(Incident.severity.in_(severities))
    if query := query.strip()[:SEARCH_MAX]:
        # Escape LIKE wildcards so a search for '100%' means the text, not a pattern.
        escaped = query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = f"%{escaped}%"
        statement = statement.where(
            sa.or_(
                Incident.title.ilike(pattern, escape="\\"),
                Incident.reference.ilike(pattern, escape="\\"),
                Incident.summary.ilike(pattern, escape="\\"),
            )
        )
    # Work still to do first: open before resolved, then most severe, then newest.
    resolved_last = sa.case((Incident.status.in_([Status.RESOLVED, Status.CLOSED]), 1), else_=0)
    statement = statement.order_by(resolved_last, Incident.severity, Incident.opened_at.desc()).limit(limit)
    return list(session.scalars(statement))


def board_fingerprint(session: Session) -> tuple[int, datetime | None, int]:
    """A cheap value that changes whenever anything on any board could have changed."""
    count, latest, max_id = session.execute(
        sa.select(sa.func.count(Incident.id), sa.func.max(Incident.updated_at), sa.func.max(Incident.id))
    ).one()
    return count, latest, max_id or 0


def timeline(session: Session, incident: Incident, *, limit: int = 500) -> list[TimelineEvent]:
    """The incident's timeline, newest first."""
    return list(
        session.scalars(
            sa.select(TimelineEvent)
            .options(selectinload(TimelineEvent.actor))
            .where(TimelineEvent.incident_id == incident.id)
            .order_by(TimelineEvent.id.desc())
            .limit(limit)
        )
    )
