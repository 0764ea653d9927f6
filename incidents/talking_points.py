"""Talking points (口径): the approved wording agents use with customers about one incident.

Each save is a new version (on the timeline); agents confirm they read the latest one, and
the incident page shows who has and who has not.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incidents.actors import Actor
from incidents.audit import record_audit
from incidents.comms_models import TalkingPoints, TalkingPointsConfirmation
from incidents.deadlines import record_event
from incidents.errors import InvalidInput
from incidents.lifecycle import ACTIVE_STATUSES, Status
from incidents.models import EventKind, Incident, Role, User
from incidents.once import insert_if_absent
from incidents.service import clean_text
from incidents.timeutil import ensure_aware

BODY_MAX = 5000


def latest(session: Session, incident: Incident) -> TalkingPoints | None:
    """The version in force (the newest), or None when none was written yet."""
    return session.scalar(sa.select(TalkingPoints).where(TalkingPoints.incident_id == incident.id)
                          .order_by(TalkingPoints.version.desc()).limit(1))


def history(session: Session, incident: Incident) -> list[TalkingPoints]:
    """Every version, newest first."""
    return list(session.scalars(sa.select(TalkingPoints).where(TalkingPoints.incident_id == incident.id)
                                .order_by(TalkingPoints.version.desc())))


def publish(session: Session, *, incident: Incident, body: str, actor: Actor, now: datetime) -> TalkingPoints:
    """Save a new version of the talking points; the same text as the current one writes nothing."""
    now = ensure_aware(now)
    if incident.status == Status.CLOSED:
        raise InvalidInput("status", "a closed incident takes no more talking points", reason="closed")
    text = clean_text(body, field="body", max_length=BODY_MAX, required=True)
    current = latest(session, incident)
    if current is not None and current.body == text:
        return current
    points = TalkingPoints(incident_id=incident.id, version=(current.version if current else 0) + 1, body=text,
                           created_at=now, created_by_id=actor.user_id, created_by_label=actor.label)
    session.add(points)
    session.flush()
    record_event(session, incident, kind=EventKind.TALKING_POINTS, actor=actor, now=now, body=text,
                 data={"talking_points": points.id, "version": points.version})
    session.flush()
    return points


def confirm(session: Session, *, points: TalkingPoints, user_id: int, actor: Actor, now: datetime) -> bool:
    """Record that the person read this version; True the first time, False when already confirmed."""
    first = insert_if_absent(session, TalkingPointsConfirmation.__table__,
                             {"talking_points_id": points.id, "user_id": user_id, "confirmed_at": ensure_aware(now)})
    if first:
        record_audit(session, actor=actor, now=now, action="talking_points.confirmed", target_type="talking_points",
                     target_id=points.id, after={"incident": points.incident.reference, "user_id": user_id})
    points.incident.updated_at = ensure_aware(now)  # the page's panels refresh on it
    session.flush()
    return first


@dataclass(frozen=True)
class Reader:
    user: User
    confirmed_at: datetime | None


def readers(session: Session, points: TalkingPoints) -> list[Reader]:
    """Every active agent, plus anyone else who confirmed: not yet confirmed first, then by time."""
    confirmed = {row.user_id: row for row in session.scalars(
        sa.select(TalkingPointsConfirmation).where(TalkingPointsConfirmation.talking_points_id == points.id))}
    people = session.scalars(sa.select(User).where(
        sa.or_(sa.and_(User.active, User.role == Role.AGENT), User.id.in_(list(confirmed) or [-1])))
        .order_by(User.display_name))
    result = [Reader(user, confirmed[user.id].confirmed_at if user.id in confirmed else None) for user in people]
    return sorted(result, key=lambda r: (r.confirmed_at is not None,
                                         r.confirmed_at.timestamp() if r.confirmed_at else 0, r.user.display_name))


@dataclass(frozen=True)
class Assignment:
    points: TalkingPoints
    confirmed_at: datetime | None


def for_person(session: Session, user_id: int) -> list[Assignment]:
    """The latest talking points of every active incident, with whether this person confirmed them."""
    newest = (sa.select(TalkingPoints.incident_id, sa.func.max(TalkingPoints.version).label("version"))
              .group_by(TalkingPoints.incident_id).subquery())
    rows = session.scalars(
        sa.select(TalkingPoints)
        .join(newest, sa.and_(newest.c.incident_id == TalkingPoints.incident_id,
                              newest.c.version == TalkingPoints.version))
        .join(Incident, Incident.id == TalkingPoints.incident_id)
        .where(Incident.status.in_(ACTIVE_STATUSES))
        .order_by(TalkingPoints.created_at.desc())
    ).all()
    mine = {row.talking_points_id: row.confirmed_at for row in session.scalars(
        sa.select(TalkingPointsConfirmation).where(TalkingPointsConfirmation.user_id == user_id,
                                                   TalkingPointsConfirmation.talking_points_id.in_([r.id for r in rows] or [-1])))}
    return [Assignment(points, mine.get(points.id)) for points in rows]
