"""The duty roster: who is the duty manager on duty at a given time."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from incidents.actors import Actor
from incidents.audit import record_audit
from incidents.errors import InvalidInput, NotFound
from incidents.models import DutyShift, Role, User
from incidents.notify import active_duty_managers
from incidents.timeutil import ensure_aware

MAX_SHIFT = timedelta(days=7)
NOTE_MAX = 200
ON_DUTY_ROLES = (Role.DUTY_MANAGER, Role.ADMIN)


def _covering(now: datetime) -> sa.Select[tuple[DutyShift]]:
    """Shifts of active people covering `now`, the one that began last first."""
    now = ensure_aware(now)
    return (
        sa.select(DutyShift)
        .options(selectinload(DutyShift.user))
        .join(User, User.id == DutyShift.user_id)
        .where(DutyShift.starts_at <= now, DutyShift.ends_at > now, User.active.is_(True))
        .order_by(DutyShift.starts_at.desc(), DutyShift.id.desc())
    )


def on_duty(session: Session, now: datetime) -> User | None:
    """The person whose shift covers `now`; with overlapping shifts, the one that began last."""
    shift = session.scalar(_covering(now).limit(1))
    return shift.user if shift else None


def everyone_on_duty(session: Session, now: datetime) -> list[User]:
    """Everyone on duty at `now` (several while shifts overlap), each once, the latest to begin first;
    with nobody on the roster, every active duty manager rather than no one."""
    people: list[User] = []
    for shift in session.scalars(_covering(now)):
        if shift.user not in people:
            people.append(shift.user)
    return people or active_duty_managers(session)


def duty_managers_to_tell(session: Session, now: datetime) -> list[User]:
    """The duty manager on duty; with nobody on the roster, every active duty manager rather than no one."""
    person = on_duty(session, now)
    if person is not None:
        return [person]
    return active_duty_managers(session)


def shifts_between(session: Session, start: datetime, end: datetime) -> list[DutyShift]:
    """Shifts overlapping [start, end), earliest first."""
    return list(
        session.scalars(
            sa.select(DutyShift)
            .options(selectinload(DutyShift.user))
            .where(DutyShift.ends_at > ensure_aware(start), DutyShift.starts_at < ensure_aware(end))
            .order_by(DutyShift.starts_at, DutyShift.id)
        )
    )


def add_shift(
    session: Session, *, user_id: int | None, starts_at: datetime | None, ends_at: datetime | None,
    note: str = "", actor: Actor, now: datetime,
) -> DutyShift:
    """Put someone on duty between two times (validated; audited)."""
    if user_id is None:
        raise InvalidInput("user_id", "choose who is on duty", reason="required")
    user = session.get(User, user_id)
    if user is None or not user.active:
        raise InvalidInput("user_id", f"no active user with id {user_id}", reason="no_user")
    if user.role not in ON_DUTY_ROLES:
        raise InvalidInput("user_id", "only duty managers and admins can be on duty", reason="not_duty_role")
    if starts_at is None:
        raise InvalidInput("starts_at", "the shift needs a start", reason="required")
    if ends_at is None:
        raise InvalidInput("ends_at", "the shift needs an end", reason="required")
    starts_at, ends_at = ensure_aware(starts_at), ensure_aware(ends_at)
    if ends_at <= starts_at:
        raise InvalidInput("ends_at", "the shift must end after it starts", reason="end_before_start")
    if ends_at - starts_at > MAX_SHIFT:
        raise InvalidInput("ends_at", "a shift lasts at most 7 days", reason="shift_too_long")
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise InvalidInput("note", f"note is longer than {NOTE_MAX} characters", reason="too_long", max=NOTE_MAX)
    shift = DutyShift(user_id=user.id, starts_at=starts_at, ends_at=ends_at, note=note, created_at=ensure_aware(now))
    session.add(shift)
    session.flush()
    record_audit(
        session, actor=actor, now=now, action="roster.shift_added", target_type="duty_shift", target_id=shift.id,
        after={"user": user.username, "starts_at": starts_at.isoformat(), "ends_at": ends_at.isoformat(), "note": note},
    )
    return shift


def remove_shift(session: Session, *, shift_id: int, actor: Actor, now: datetime) -> None:
    shift = session.get(DutyShift, shift_id)
    if shift is None:
        raise NotFound(f"no shift {shift_id}")
    record_audit(
        session, actor=actor, now=now, action="roster.shift_removed", target_type="duty_shift", target_id=shift.id,
        before={"user": shift.user.username, "starts_at": shift.starts_at.isoformat(), "ends_at": shift.ends_at.isoformat()},
    )
    session.delete(shift)
    session.flush()
