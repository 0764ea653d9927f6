"""The audit log: one append-only stream of every change, written in the change's transaction.

Who (actor), when, from where (ip and the web request's id), what (action and target), and the
values before and after. Incident changes arrive here through the timeline
(incidents.deadlines.record_event); everything else calls `record_audit` itself.

Append-only below the callers: an ORM guard on every Session refuses to update or delete a
record (flush and bulk statements alike), and triggers (migrations 0010 and 0011) refuse UPDATE
and DELETE in the database itself, on PostgreSQL and SQLite alike.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import ORMExecuteState, Session

from incidents.actors import Actor
from incidents.errors import DomainError
from incidents.models import AuditRecord, EventKind, Incident, TimelineEvent
from incidents.timeutil import ensure_aware

INCIDENT_TARGET = "incident"


class AuditLogIsAppendOnly(DomainError):
    """Something tried to change or remove an audit record."""

    code = "append_only"


def record_audit(
    session: Session,
    *,
    actor: Actor,
    action: str,
    target_type: str,
    target_id: str | int,
    now: datetime,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditRecord:
    """Append one audit record in the caller's transaction."""
    record = AuditRecord(
        at=ensure_aware(now),
        actor_id=actor.user_id,
        actor_label=actor.label[:100],
        ip=actor.ip[:64],
        request_id=actor.request_id[:64],
        action=action[:64],
        target_type=target_type[:32],
        target_id=str(target_id)[:64],
        before=before or {},
        after=after or {},
    )
    session.add(record)
    return record


def record_incident_event(session: Session, event: TimelineEvent, *, actor: Actor) -> AuditRecord:
    """The audit record of an incident's timeline event: `incident.<kind>` on the incident's reference."""
    before, after = event_change(event.data or {}, event.body or "")
    incident: Incident = event.incident
    if event.kind == EventKind.OPENED:
        after = {"title": incident.title, "status": incident.status.value, **after}
    return record_audit(
        session, actor=actor, now=event.at, action=f"incident.{EventKind(event.kind).value}",
        target_type=INCIDENT_TARGET, target_id=incident.reference, before=before, after=after,
    )


def event_change(data: dict[str, Any], body: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Before and after as a timeline event tells them: field changes, status moves, or what it added."""
    changes = data.get("changes")
    if isinstance(changes, list) and all(isinstance(c, dict) and "field" in c for c in changes):
        before = {c["field"]: c.get("before") for c in changes}
        after = {c["field"]: c.get("after") for c in changes}
        rest = {k: v for k, v in data.items() if k != "changes"}
        return before, {**after, **rest}
    if "from" in data and "to" in data:
        rest = {k: v for k, v in data.items() if k not in ("from", "to")}
        return {"status": data["from"]}, {"status": data["to"], **rest, **({"note": body} if body else {})}
    return {}, {**data, **({"text": body} if body else {})}


def _refuse_changed_records(session: Session, _context: Any, _instances: Any) -> None:
    for obj in session.deleted:
        if isinstance(obj, AuditRecord):
            raise AuditLogIsAppendOnly("audit records cannot be deleted")
    for obj in session.dirty:
        if isinstance(obj, AuditRecord) and session.is_modified(obj):
            raise AuditLogIsAppendOnly("audit records cannot be changed")


def _refuse_bulk_statements(state: ORMExecuteState) -> None:
    if not (state.is_update or state.is_delete):
        return
    table = getattr(state.statement, "table", None)
    mapper = state.bind_mapper
    if getattr(table, "name", None) == AuditRecord.__tablename__ or (
        mapper is not None and mapper.class_ is AuditRecord
    ):
        raise AuditLogIsAppendOnly("audit records cannot be changed or deleted")


def install_guard() -> None:
    """Refuse, on every Session, any update or delete of an audit record (idempotent)."""
    if not sa.event.contains(Session, "before_flush", _refuse_changed_records):
        sa.event.listen(Session, "before_flush", _refuse_changed_records)
    if not sa.event.contains(Session, "do_orm_execute", _refuse_bulk_statements):
        sa.event.listen(Session, "do_orm_execute", _refuse_bulk_statements)


install_guard()
