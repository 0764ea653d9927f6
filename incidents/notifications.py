"""A person's notification centre (the bell): what needs them, marking read, snoozing.

The worker writes the rows (incidents.notify); this module is the reading person's side.
A notification "needs" its person while it is unread, not snoozed, and its deadline (if
any) is still open: a reminder for a promise already kept is history, not work.
Snoozing hides a notification for a few minutes and brings it back unread; the deadline
itself does not move, and the worker still escalates it when it falls overdue.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from incidents.actors import Actor
from incidents.audit import record_audit
from incidents.clock import SNOOZE_CHOICES
from incidents.deadlines import OPEN_STATES, record_event
from incidents.errors import InvalidInput, NotFound
from incidents.models import Deadline, EventKind, Notification, TimelineEvent
from incidents.service import clean_text
from incidents.timeutil import ensure_aware

REASON_MAX = 500
HISTORY = 50


def _waiting(now: datetime) -> sa.ColumnElement[bool]:
    """Unread and not snoozed at `now`."""
    return sa.and_(
        Notification.read_at.is_(None),
        sa.or_(Notification.snoozed_until.is_(None), Notification.snoozed_until <= now),
    )


def _deadline_open() -> sa.ColumnElement[bool]:
    return sa.or_(Notification.deadline_id.is_(None), Deadline.state.in_(OPEN_STATES))


def unread_count(session: Session, *, user_id: int, now: datetime) -> int:
    """How many notifications need this person now (the number on the bell)."""
    now = ensure_aware(now)
    return session.scalar(
        sa.select(sa.func.count(Notification.id))
        .outerjoin(Deadline, Deadline.id == Notification.deadline_id)
        .where(Notification.user_id == user_id, _waiting(now), _deadline_open())
    ) or 0


@dataclass
class Inbox:
    """One person's notifications, grouped as the list page shows them."""

    waiting: list[Notification] = field(default_factory=list)  # need them now, newest first
    snoozed: list[Notification] = field(default_factory=list)  # back soonest first
    earlier: list[Notification] = field(default_factory=list)  # read, or their deadline is settled


def needs_person(notification: Notification, now: datetime) -> bool:
    """True when the notification counts on the bell at `now` (deadline loaded)."""
    if notification.read_at is not None or is_snoozed(notification, now):
        return False
    return notification.deadline is None or notification.deadline.state in OPEN_STATES


def is_snoozed(notification: Notification, now: datetime) -> bool:
    return notification.snoozed_until is not None and notification.snoozed_until > ensure_aware(now)


def inbox(session: Session, *, user_id: int, now: datetime) -> Inbox:
    """Everything waiting and snoozed, and the latest of the rest."""
    now = ensure_aware(now)
    loading = (selectinload(Notification.deadline), selectinload(Notification.incident))
    unread = session.scalars(
        sa.select(Notification)
        .options(*loading)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
        .order_by(Notification.id.desc())
    )
    result = Inbox()
    for notification in unread:
        if needs_person(notification, now):
            result.waiting.append(notification)
        elif is_snoozed(notification, now):
            result.snoozed.append(notification)
        else:
            result.earlier.append(notification)
    result.snoozed.sort(key=lambda n: (n.snoozed_until, n.id))
    read = session.scalars(
        sa.select(Notification)
        .options(*loading)
        .where(Notification.user_id == user_id, Notification.read_at.is_not(None))
        .order_by(Notification.id.desc())
        .limit(HISTORY)
    )
    result.earlier = sorted([*result.earlier, *read], key=lambda n: n.id, reverse=True)[:HISTORY]
    return result


def get_notification(session: Session, *, user_id: int, notification_id: int) -> Notification:
    """One of this person's notifications; someone else's is as good as missing."""
    notification = session.get(Notification, notification_id)
    if notification is None or notification.user_id != user_id:
        raise NotFound(f"no notification {notification_id}")
    return notification


def mark_read(session: Session, *, notification: Notification, actor: Actor, now: datetime) -> bool:
    """Mark one notification read (audited); False when it already was."""
    if notification.read_at is not None:
        return False
    notification.read_at = ensure_aware(now)
    record_audit(session, actor=actor, now=now, action="notification.read", target_type="notification",
                 target_id=notification.id, after={"read_at": notification.read_at.isoformat()})
    session.flush()
    return True


def mark_all_read(session: Session, *, user_id: int, actor: Actor, now: datetime) -> int:
    """Mark read everything the person can see now (snoozed ones stay snoozed); returns how many."""
    now = ensure_aware(now)
    waiting = list(session.scalars(
        sa.select(Notification.id).where(Notification.user_id == user_id, _waiting(now)).order_by(Notification.id)
    ))
    if not waiting:
        return 0
    result = session.execute(
        sa.update(Notification)
        .where(Notification.id.in_(waiting), _waiting(now))
        .values(read_at=now)
        .execution_options(synchronize_session=False)
    )
    record_audit(session, actor=actor, now=now, action="notification.read_all", target_type="user",
                 target_id=user_id, after={"notifications": waiting[:200], "count": result.rowcount})
    session.expire_all()
    return result.rowcount


def parse_minutes(value: object) -> int:
    """A snooze length from a form or JSON: one of SNOOZE_CHOICES."""
    allowed = ", ".join(str(m) for m in SNOOZE_CHOICES)
    try:
        minutes = int(str(value).strip()) if value is not None and not isinstance(value, bool) else None
    except ValueError:
        minutes = None
    if minutes not in SNOOZE_CHOICES:
        raise InvalidInput("minutes", f"snooze for one of {allowed} minutes", reason="choice", allowed=allowed)
    return minutes


def snooze(
    session: Session, *, notification: Notification, minutes: object, reason: str | None, actor: Actor,
    now: datetime,
) -> TimelineEvent:
    """Hide a deadline's notification for 5, 15 or 30 minutes; the reason goes on the timeline.

    The notification comes back unread when the snooze ends. The deadline does not move.
    """
    now = ensure_aware(now)
    deadline: Deadline | None = notification.deadline
    if deadline is None or notification.incident is None:
        raise InvalidInput("notification", "only a deadline's reminder can be snoozed", reason="not_snoozable")
    if deadline.state not in OPEN_STATES:
        raise InvalidInput("notification", "this deadline is already settled", reason="deadline_settled")
    length = parse_minutes(minutes)
    text = clean_text(reason, field="reason", max_length=REASON_MAX, required=True)
    until = now + timedelta(minutes=length)
    notification.snoozed_until = until
    notification.read_at = None
    event = record_event(
        session, notification.incident, kind=EventKind.REMINDER_SNOOZED, actor=actor, now=now, body=text,
        data={"rule": deadline.rule_key, "deadline": deadline.id, "notification": notification.id,
              "minutes": length, "until": until.isoformat()},
    )
    session.flush()
    return event
