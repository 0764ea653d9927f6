"""Scheduled maintenance: planned windows, their updates, and the worker's automatic start and end.

A window moves forward only: scheduled → in_progress → (verifying →) completed. The worker
calls `advance_windows` with its `now`; each move is claimed with a conditional UPDATE on the
status it read, so two workers never both announce the same start.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incidents.actors import Actor
from incidents.audit import record_audit
from incidents import lookup
from incidents.errors import InvalidInput, NotFound
from incidents.public_models import Component, Maintenance, MaintenanceStatus, MaintenanceUpdate
from incidents.publicity import announced, mark_public_change, refresh_statuses
from incidents.service import TITLE_MAX, clean_text
from incidents.timeutil import ensure_aware

BODY_MAX = 5000
WINDOW_MAX = timedelta(days=14)
ORDER = list(MaintenanceStatus)
UPCOMING = (MaintenanceStatus.SCHEDULED,)
ACTIVE = (MaintenanceStatus.IN_PROGRESS, MaintenanceStatus.VERIFYING)
# What the page says when the worker moves a window by itself (zh, en).
AUTOMATIC_TEXT = {
    MaintenanceStatus.IN_PROGRESS: ("计划维护已开始，完成后我们会在此更新。",
                                    "Scheduled maintenance is now in progress. We will update here when it is done."),
    MaintenanceStatus.COMPLETED: ("计划维护已完成，相关服务已恢复正常。",
                                  "Scheduled maintenance is complete and the affected services are back to normal."),
}


def get_maintenance(session: Session, maintenance_id: int) -> Maintenance:
    maintenance = session.get(Maintenance, maintenance_id)
    if maintenance is None:
        raise NotFound(f"no maintenance {maintenance_id}")
    return maintenance


def _window(data: dict[str, Any]) -> tuple[datetime, datetime]:
    start, end = data.get("scheduled_start"), data.get("scheduled_end")
    for field, value in (("scheduled_start", start), ("scheduled_end", end)):
        if not isinstance(value, datetime):
            raise InvalidInput(field, f"{field} is required", reason="required")
        if value.tzinfo is None:
            raise InvalidInput(field, f"{field} needs a time zone", reason="invalid")
    start, end = ensure_aware(start), ensure_aware(end)
    if end <= start:
        raise InvalidInput("scheduled_end", "the end must come after the start", reason="end_before_start")
    if end - start > WINDOW_MAX:
        raise InvalidInput("scheduled_end", "a maintenance window lasts at most 14 days", reason="window_too_long")
    return start, end


def _components(session: Session, ids: Iterable[Any]) -> list[Component]:
    chosen = []
    for raw in ids or ():
        number = lookup.row_id(raw)
        component = session.get(Component, number) if number else None
        if component is None:
            raise InvalidInput("components", f"unknown component {raw!r}", reason="unknown_component")
        if component not in chosen:
            chosen.append(component)
    return chosen


def _fields(session: Session, data: dict[str, Any]) -> dict[str, Any]:
    start, end = _window(data)
    return {
        "title": clean_text(data.get("title"), field="title", max_length=TITLE_MAX, required=True),
        "title_en": clean_text(data.get("title_en"), field="title_en", max_length=TITLE_MAX, required=False),
        "body": clean_text(data.get("body"), field="body", max_length=BODY_MAX, required=False),
        "body_en": clean_text(data.get("body_en"), field="body_en", max_length=BODY_MAX, required=False),
        "scheduled_start": start,
        "scheduled_end": end,
        "components": _components(session, data.get("components", ())),
    }


def _audit_view(maintenance: Maintenance) -> dict[str, Any]:
    return {
        "title": maintenance.title, "title_en": maintenance.title_en,
        "scheduled_start": maintenance.scheduled_start.isoformat(),
        "scheduled_end": maintenance.scheduled_end.isoformat(),
        "components": [c.id for c in maintenance.components], "status": maintenance.status.value,
    }


def schedule_maintenance(session: Session, *, data: dict[str, Any], actor: Actor, now: datetime) -> Maintenance:
    """Plan a window; its first update (status scheduled) is published with it."""
    now = ensure_aware(now)
    fields = _fields(session, data)
    if fields["scheduled_end"] <= now:
        raise InvalidInput("scheduled_end", "the window is already over", reason="window_over")
    maintenance = Maintenance(status=MaintenanceStatus.SCHEDULED, created_at=now, updated_at=now,
                              created_by_label=actor.label, **fields)
    session.add(maintenance)
    session.flush()
    update = _add_update(session, maintenance, status=MaintenanceStatus.SCHEDULED, body=fields["body"],
                         body_en=fields["body_en"], actor=actor, now=now)
    record_audit(session, actor=actor, now=now, action="maintenance.scheduled", target_type="maintenance",
                 target_id=maintenance.id, after=_audit_view(maintenance))
    announced(session, now=now, maintenance_update=update)
    session.flush()
    return maintenance


def edit_maintenance(
    session: Session, *, maintenance: Maintenance, data: dict[str, Any], actor: Actor, now: datetime,
) -> Maintenance:
    """Change a window that has not ended; the worker picks up a moved start or end."""
    now = ensure_aware(now)
    _check_open(maintenance)
    before = _audit_view(maintenance)
    for key, value in _fields(session, data).items():
        setattr(maintenance, key, value)
    maintenance.updated_at = now
    session.flush()
    record_audit(session, actor=actor, now=now, action="maintenance.edited", target_type="maintenance",
                 target_id=maintenance.id, before=before, after=_audit_view(maintenance))
    refresh_statuses(session, now=now)
    mark_public_change(session, now=now)
    return maintenance


def _check_open(maintenance: Maintenance) -> None:
    if maintenance.cancelled_at is not None or maintenance.status == MaintenanceStatus.COMPLETED:
        raise InvalidInput("status", "this maintenance is over", reason="maintenance_over")


def _add_update(
    session: Session, maintenance: Maintenance, *, status: MaintenanceStatus, body: str, body_en: str,
    actor: Actor, now: datetime, automatic: bool = False, was: MaintenanceStatus | None = None,
) -> MaintenanceUpdate:
    """Write an update on the window; audited when it follows the first one (`was`: the status before)."""
    update = MaintenanceUpdate(maintenance_id=maintenance.id, status=status, body=body, body_en=body_en,
                               published_at=now, published_by_label=actor.label, automatic=automatic)
    session.add(update)
    session.flush()
    if was is not None:
        record_audit(session, actor=actor, now=now, target_type="maintenance", target_id=maintenance.id,
                     action="maintenance.advanced" if automatic else "maintenance.update_posted",
                     before={"status": was.value},
                     after={"status": status.value, "update": update.id, "body": body, "body_en": body_en})
    return update


def post_maintenance_update(
    session: Session, *, maintenance: Maintenance, body: str, body_en: str = "", status: str | None = None,
    actor: Actor, now: datetime,
) -> MaintenanceUpdate:
    """Publish a note on the window, optionally moving it forward (never back)."""
    now = ensure_aware(now)
    _check_open(maintenance)
    text = clean_text(body, field="body", max_length=BODY_MAX, required=True)
    text_en = clean_text(body_en, field="body_en", max_length=BODY_MAX, required=False)
    target = maintenance.status
    if status:
        try:
            target = MaintenanceStatus(status)
        except ValueError:
            allowed = ", ".join(s.value for s in MaintenanceStatus)
            raise InvalidInput("status", f"unknown status {status!r}", reason="choice", allowed=allowed) from None
        if ORDER.index(target) < ORDER.index(maintenance.status):
            raise InvalidInput("status", "a maintenance window only moves forward", reason="backwards")
    was = maintenance.status
    _move(maintenance, target, now)
    update = _add_update(session, maintenance, status=target, body=text, body_en=text_en, actor=actor, now=now,
                         was=was)
    refresh_statuses(session, now=now)
    announced(session, now=now, maintenance_update=update)
    session.flush()
    return update


def _move(maintenance: Maintenance, target: MaintenanceStatus, now: datetime) -> None:
    if target != MaintenanceStatus.SCHEDULED and maintenance.started_at is None:
        maintenance.started_at = now
    if target == MaintenanceStatus.COMPLETED:
        maintenance.completed_at = now
    maintenance.status = target
    maintenance.updated_at = now


def cancel_maintenance(session: Session, *, maintenance: Maintenance, actor: Actor, now: datetime) -> None:
    """Call a window off: it leaves the public page; its row and updates stay for the record."""
    now = ensure_aware(now)
    _check_open(maintenance)
    maintenance.cancelled_at = now
    maintenance.updated_at = now
    record_audit(session, actor=actor, now=now, action="maintenance.cancelled", target_type="maintenance",
                 target_id=maintenance.id, before=_audit_view(maintenance))
    refresh_statuses(session, now=now)
    mark_public_change(session, now=now)
    session.flush()


def advance_windows(session: Session, *, now: datetime) -> list[MaintenanceUpdate]:
    """Start windows whose time has come and complete those that have ended (the worker's job).

    Returns the automatic updates written. Each move is claimed by a conditional UPDATE on
    the status read, so a second worker running at the same moment writes nothing twice.
    """
    now = ensure_aware(now)
    due = session.scalars(
        sa.select(Maintenance)
        .where(Maintenance.cancelled_at.is_(None), sa.or_(
            sa.and_(Maintenance.status == MaintenanceStatus.SCHEDULED, Maintenance.scheduled_start <= now),
            sa.and_(Maintenance.status.in_(ACTIVE), Maintenance.scheduled_end <= now),
        ))
        .order_by(Maintenance.scheduled_start, Maintenance.id)
    ).all()
    written = []
    system = Actor.system("scheduler")
    for maintenance in due:
        steps = []
        if maintenance.status == MaintenanceStatus.SCHEDULED:
            steps.append(MaintenanceStatus.IN_PROGRESS)
        if maintenance.scheduled_end <= now:
            steps.append(MaintenanceStatus.COMPLETED)
        for target in steps:
            claimed = session.execute(
                sa.update(Maintenance)
                .where(Maintenance.id == maintenance.id, Maintenance.status == maintenance.status)
                .values(status=target, updated_at=now)
                .execution_options(synchronize_session=False)
            )
            if claimed.rowcount != 1:
                break
            was = maintenance.status
            _move(maintenance, target, now)
            body, body_en = AUTOMATIC_TEXT[target]
            written.append(_add_update(session, maintenance, was=was, status=target, body=body, body_en=body_en,
                                       actor=system, now=now, automatic=True))
    if written:
        refresh_statuses(session, now=now)
        for update in written:
            announced(session, now=now, maintenance_update=update)
        session.flush()
    return written


def upcoming_and_active(session: Session) -> list[Maintenance]:
    """Windows the public page shows: in progress first, then upcoming, soonest first."""
    rows = session.scalars(
        sa.select(Maintenance)
        .where(Maintenance.cancelled_at.is_(None), Maintenance.status.in_((*ACTIVE, *UPCOMING)))
        .order_by(Maintenance.scheduled_start, Maintenance.id)
    ).all()
    return sorted(rows, key=lambda m: m.status == MaintenanceStatus.SCHEDULED)


def recent(session: Session, *, limit: int = 50) -> list[Maintenance]:
    """The latest windows of every status (not cancelled), newest start first."""
    return list(session.scalars(
        sa.select(Maintenance).where(Maintenance.cancelled_at.is_(None))
        .order_by(Maintenance.scheduled_start.desc(), Maintenance.id.desc()).limit(limit)
    ))
