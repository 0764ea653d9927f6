"""Read-side queries for the board, the incident page and the API."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session, object_session, selectinload

from incidents.deadlines import AFTER_CLOSE, OPEN_STATES, answerable
from incidents.lifecycle import ACTIVE_STATUSES, Kind, Severity, Status
from incidents.models import Deadline, Incident, TimelineEvent, User

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
    """Incidents matching the filters: open before resolved, most severe first; within a
    severity, those nobody has acknowledged yet first, then the most urgent deadline first.

    Urgency is the soonest due time of a running deadline (overdue ones are the soonest);
    incidents with none (or only paused ones) follow, newest first.
    """
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
    next_due = (
        sa.select(Deadline.incident_id, sa.func.min(Deadline.due_at).label("due_at"))
        .join(Incident, Incident.id == Deadline.incident_id)
        .where(Deadline.state.in_(OPEN_STATES), Deadline.paused_at.is_(None), Incident.status != Status.CLOSED)
        .group_by(Deadline.incident_id)
        .subquery()
    )
    statement = statement.outerjoin(next_due, next_due.c.incident_id == Incident.id)
    resolved_last = sa.case((Incident.status.in_([Status.RESOLVED, Status.CLOSED]), 1), else_=0)
    # NULLs sort differently on SQLite and PostgreSQL: say where "no deadline" goes.
    undated_last = sa.case((next_due.c.due_at.is_(None), 1), else_=0)
    acknowledged_last = sa.case((Incident.acknowledged_at.is_(None), 0), else_=1)
    statement = statement.order_by(
        resolved_last, Incident.severity, acknowledged_last, undated_last, next_due.c.due_at,
        Incident.opened_at.desc(),
    ).limit(limit)
    return list(session.scalars(statement))


def board_fingerprint(session: Session) -> tuple[int, int, datetime | None, int, int]:
    """A cheap value that changes whenever anything on any board could have changed.

    `updated_at` alone misses a change stamped with the same time as the last one: every change
    also writes a timeline event (whose id only grows), and the count of acknowledged incidents
    moves with each acknowledgement, which re-sorts the rows and drops their tag.
    """
    last_event = sa.select(sa.func.max(TimelineEvent.id)).scalar_subquery()
    count, acknowledged, latest, max_id, event_id = session.execute(
        sa.select(sa.func.count(Incident.id), sa.func.count(Incident.acknowledged_at),
                  sa.func.max(Incident.updated_at), sa.func.max(Incident.id), last_event)
    ).one()
    return count, acknowledged, latest, max_id or 0, event_id or 0


def overdue_deadline_count(session: Session, now: datetime) -> int:
    """How many running deadlines on the boards (as `next_deadline` picks them) are past due at `now`.

    A deadline falls overdue with no write to the database: boards put this in their cache
    validator so the row turns red on the next poll, not only after the worker's sweep.
    """
    return session.scalar(
        sa.select(sa.func.count(Deadline.id))
        .join(Incident, Incident.id == Deadline.incident_id)
        .where(Deadline.state.in_(OPEN_STATES), Deadline.paused_at.is_(None), Deadline.due_at < now,
               sa.or_(Incident.status != Status.CLOSED, AFTER_CLOSE))
    ) or 0


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


@dataclass(frozen=True)
class Owner:
    """Who answers for a deadline: the rule's role and the person holding it now."""

    role: str  # commander | comms_lead | duty_manager
    person: User | None
    # The role is empty and someone else stands in (commander for the comms lead, the duty
    # manager on duty for either), as the escalation chain does.
    stand_in: bool = False


def deadline_owner(deadline: Deadline, incident: Incident, on_duty: User | None) -> Owner:
    """The person a deadline's owner role points to now (the same choice the reminders make)."""
    candidates = [*answerable(deadline, incident, object_session(deadline)), on_duty]
    for position, person in enumerate(candidates):
        if person is not None and person.active:
            return Owner(role=deadline.owner, person=person, stand_in=position > 0)
    return Owner(role=deadline.owner, person=None)
