"""What makes something public, and the one counter that says the public page changed.

An incident is public when it is not internal-only, has a public title and has at least one
published update; it is active on the page until its latest update says resolved (or the
team closed it). Every change the public could see goes through `mark_public_change` in the
same transaction, which bumps the page version that all web processes key their cache on;
`announced` is the seam that the subscriber fan-out hooks into after a publish.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from incidents import subscriber_fanout
from incidents.lifecycle import Status
from incidents.models import Incident, StatusUpdate
from incidents.public_models import (
    SEVERITY_RANK,
    Component,
    ComponentStatus,
    ComponentStatusChange,
    IncidentComponent,
    Maintenance,
    MaintenanceStatus,
    MaintenanceUpdate,
    PublicPageState,
    maintenance_component,
)
from incidents.timeutil import ensure_aware

STATE_ROW = 1
# Set on the session by mark_public_change: the console drops cached pages after the commit.
PUBLIC_CHANGE_FLAG = "public_page_changed"
MAINTENANCE_ACTIVE = (MaintenanceStatus.IN_PROGRESS, MaintenanceStatus.VERIFYING)


def mark_public_change(session: Session, *, now: datetime) -> None:
    """Bump the public page's version in the caller's transaction (insert the row if missing)."""
    now = ensure_aware(now)
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = insert(PublicPageState).values(id=STATE_ROW, version=1, changed_at=now)
    session.execute(statement.on_conflict_do_update(
        index_elements=[PublicPageState.id],
        set_={"version": PublicPageState.version + 1, "changed_at": now},
    ))
    session.info[PUBLIC_CHANGE_FLAG] = True


def public_version(session: Session) -> tuple[int, datetime | None]:
    """The page version and when it last changed; (0, None) before anything was published."""
    row = session.execute(
        sa.select(PublicPageState.version, PublicPageState.changed_at).where(PublicPageState.id == STATE_ROW)
    ).first()
    return (row.version, row.changed_at) if row else (0, None)


def visible() -> sa.ColumnElement[bool]:
    """The incidents the public may know of (updates still needed to appear)."""
    return sa.and_(
        Incident.internal_only.is_(False),
        Incident.public_title.is_not(None),
        Incident.public_title != "",
    )


def latest_updates() -> sa.Subquery:
    """Each incident's latest published update id."""
    return (
        sa.select(StatusUpdate.incident_id, sa.func.max(StatusUpdate.id).label("update_id"))
        .group_by(StatusUpdate.incident_id)
        .subquery()
    )


def public_incidents(*, active: bool | None) -> sa.Select:
    """Ids of public incidents: active ones (True), resolved ones (False) or all (None)."""
    latest = latest_updates()
    statement = (
        sa.select(Incident.id)
        .join(latest, latest.c.incident_id == Incident.id)
        .join(StatusUpdate, StatusUpdate.id == latest.c.update_id)
        .where(visible())
    )
    is_active = sa.and_(Incident.status != Status.CLOSED, StatusUpdate.public_status != Status.RESOLVED)
    if active is True:
        statement = statement.where(is_active)
    elif active is False:
        statement = statement.where(sa.not_(is_active))
    return statement


def active_public_incident_ids(session: Session) -> list[int]:
    """The incidents currently shown as ongoing on the public page."""
    return list(session.scalars(public_incidents(active=True)))


def shown_as_active(session: Session, incident: Incident) -> bool:
    """True while the public page shows the incident as ongoing."""
    return session.scalar(public_incidents(active=True).where(Incident.id == incident.id)) is not None


def announced(
    session: Session, *, now: datetime, update: StatusUpdate | None = None,
    maintenance_update: MaintenanceUpdate | None = None,
) -> None:
    """Called once per publish (incident or maintenance update) in the publishing transaction.

    It invalidates the page cache and queues the subscribers' outbox rows, so a message
    leaves only for what was stored and the publish never waits for a delivery.
    """
    mark_public_change(session, now=now)
    session.flush()
    if update is not None:
        subscriber_fanout.fan_out_update(session, update, now=now)
    if maintenance_update is not None:
        subscriber_fanout.fan_out_maintenance(session, maintenance_update, now=now)


def worst(statuses: list[ComponentStatus]) -> ComponentStatus:
    """The most severe of the statuses (operational when there are none)."""
    return max(statuses, key=SEVERITY_RANK.__getitem__, default=ComponentStatus.OPERATIONAL)


def all_components(session: Session, *, shown_only: bool = False) -> list[Component]:
    """Components in page order."""
    statement = sa.select(Component).order_by(Component.position, Component.id)
    if shown_only:
        statement = statement.where(Component.show_on_page)
    return list(session.scalars(statement))


def refresh_statuses(session: Session, *, now: datetime) -> list[Component]:
    """Recompute every component's public status; record and return the ones that moved."""
    now = ensure_aware(now)
    session.flush()
    claims: dict[int, list[ComponentStatus]] = {}
    for component_id, status in session.execute(
        sa.select(IncidentComponent.component_id, IncidentComponent.status)
        .where(IncidentComponent.incident_id.in_(public_incidents(active=True)))
    ):
        claims.setdefault(component_id, []).append(status)
    for (component_id,) in session.execute(
        sa.select(maintenance_component.c.component_id)
        .join(Maintenance, Maintenance.id == maintenance_component.c.maintenance_id)
        .where(Maintenance.status.in_(MAINTENANCE_ACTIVE), Maintenance.cancelled_at.is_(None))
    ):
        claims.setdefault(component_id, []).append(ComponentStatus.UNDER_MAINTENANCE)
    moved = []
    for component in all_components(session):
        status = worst([component.base_status, *claims.get(component.id, [])])
        if status != component.status:
            component.status = status
            component.updated_at = now
            session.add(ComponentStatusChange(component_id=component.id, at=now, status=status))
            moved.append(component)
    session.flush()
    return moved


def refresh_public_state(session: Session, *, now: datetime) -> None:
    """After a change that may move what the public sees (an incident closed): recompute, bump."""
    refresh_statuses(session, now=now)
    mark_public_change(session, now=now)
