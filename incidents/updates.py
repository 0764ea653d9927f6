"""Public updates: what the team tells customers. Publishing meets the update deadlines."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incidents.actors import Actor
from incidents.deadlines import handle_event, record_event
from incidents.errors import InvalidInput
from incidents.lifecycle import Status
from incidents.models import EventKind, Incident, StatusUpdate
from incidents.timeutil import ensure_aware

BODY_MAX = 5000
PUBLIC_STATUSES = (Status.INVESTIGATING, Status.IDENTIFIED, Status.MONITORING, Status.RESOLVED)


def publish_update(
    session: Session, *, incident: Incident, body: str, public_status: str | None = None, actor: Actor,
    now: datetime, zone: ZoneInfo, automatic: bool = False,
) -> StatusUpdate:
    """Publish an update for the public; the timeline records it and the clock counts it."""
    now = ensure_aware(now)
    if incident.status == Status.CLOSED:
        raise InvalidInput("status", "a closed incident takes no more updates", reason="closed")
    text = (body or "").strip()
    if not text:
        raise InvalidInput("body", "body is required", reason="required")
    if len(text) > BODY_MAX:
        raise InvalidInput("body", f"body is longer than {BODY_MAX} characters", reason="too_long", max=BODY_MAX)
    try:
        status = Status(public_status) if public_status else incident.status
    except ValueError:
        status = None
    if status not in PUBLIC_STATUSES:
        allowed = ", ".join(s.value for s in PUBLIC_STATUSES)
        raise InvalidInput("public_status", f"unknown public status {public_status!r}", reason="choice", allowed=allowed)
    update = StatusUpdate(
        incident_id=incident.id, public_status=status, body=text, published_at=now,
        published_by_id=actor.user_id, published_by_label=actor.label, automatic=automatic,
    )
    session.add(update)
    session.flush()
    event = record_event(
        session, incident, kind=EventKind.PUBLIC_UPDATE, actor=actor, now=now, body=text,
        data={"update": update.id, "public_status": status.value, "automatic": automatic},
    )
    session.flush()
    handle_event(session, incident, "public_update", event=event, now=now, zone=zone)
    session.flush()
    return update


def updates_for(session: Session, incident: Incident) -> list[StatusUpdate]:
    """The incident's published updates, newest first."""
    return list(
        session.scalars(
            sa.select(StatusUpdate).where(StatusUpdate.incident_id == incident.id).order_by(StatusUpdate.id.desc())
        )
    )
