"""Public updates: what the team tells customers. A person publishing meets the update deadlines.

An update may say what it does to components ({component id: status}); the incident keeps
each component's latest status (IncidentComponent) and the update keeps a snapshot of what
it changed, so the public history stays exact after later updates.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incidents.actors import Actor
from incidents.components import component_status
from incidents.publicity import refresh_statuses
from incidents.deadlines import handle_event, record_event
from incidents import lookup
from incidents.errors import InvalidInput
from incidents.lifecycle import Status
from incidents.models import EventKind, Incident, StatusUpdate
from incidents.public_models import Component, ComponentStatus, IncidentComponent
from incidents.publicity import announced, mark_public_change
from incidents.service import TITLE_MAX, clean_text
from incidents.timeutil import ensure_aware

BODY_MAX = 5000
PUBLIC_STATUSES = (Status.INVESTIGATING, Status.IDENTIFIED, Status.MONITORING, Status.RESOLVED)


def _public_status(incident: Incident, public_status: str | None) -> Status:
    try:
        status = Status(public_status) if public_status else incident.status
    except ValueError:
        status = None
    if status not in PUBLIC_STATUSES:
        allowed = ", ".join(s.value for s in PUBLIC_STATUSES)
        raise InvalidInput("public_status", f"unknown public status {public_status!r}", reason="choice",
                           allowed=allowed)
    return status


def _component_changes(
    session: Session, components: Mapping[Any, Any] | None, status: Status,
) -> dict[int, ComponentStatus]:
    """Validate {component id: status}; a resolving update may only say operational."""
    changes: dict[int, ComponentStatus] = {}
    for raw_id, raw_status in (components or {}).items():
        component_id = lookup.row_id(raw_id)
        if component_id is None or session.get(Component, component_id) is None:
            raise InvalidInput("components", f"unknown component {raw_id!r}", reason="unknown_component")
        changes[component_id] = component_status(raw_status, "components")
    if status == Status.RESOLVED and any(s != ComponentStatus.OPERATIONAL for s in changes.values()):
        raise InvalidInput("components", "a resolved incident leaves its components operational",
                           reason="resolved_operational")
    return changes


def require_public_title(incident: Incident) -> None:
    """Refuse to speak for an incident the public cannot see by name: an update without a public
    title would be stored and shown to nobody."""
    if not (incident.public_title or "").strip():
        raise InvalidInput("public_title", "give the incident a public title before publishing",
                           reason="public_title_required")


def publish_update(
    session: Session, *, incident: Incident, body: str, public_status: str | None = None, actor: Actor,
    now: datetime, zone: ZoneInfo, automatic: bool = False, body_en: str = "",
    components: Mapping[Any, Any] | None = None, event_data: Mapping[str, Any] | None = None,
) -> StatusUpdate:
    """Publish an update for the public; the timeline records it and the clock counts it.

    `components` maps component ids to what this update says about them; a resolving update
    returns every component the incident affected to operational. `event_data` adds to the
    timeline entry (e.g. the script and the sign-off behind the update).
    """
    now = ensure_aware(now)
    if incident.status == Status.CLOSED:
        raise InvalidInput("status", "a closed incident takes no more updates", reason="closed")
    text = clean_text(body, field="body", max_length=BODY_MAX, required=True)
    text_en = clean_text(body_en, field="body_en", max_length=BODY_MAX, required=False)
    status = _public_status(incident, public_status)
    changes = _component_changes(session, components, status)
    affected = {row.component_id: row for row in session.scalars(
        sa.select(IncidentComponent).where(IncidentComponent.incident_id == incident.id))}
    if status == Status.RESOLVED:
        changes = {cid: ComponentStatus.OPERATIONAL for cid in affected} | changes
    snapshot = []
    for component_id, new_status in sorted(changes.items()):
        row = affected.get(component_id)
        snapshot.append({"id": component_id, "status": new_status.value,
                         "old_status": row.status.value if row else ComponentStatus.OPERATIONAL.value})
        if row is None:
            session.add(IncidentComponent(incident_id=incident.id, component_id=component_id, status=new_status,
                                          updated_at=now))
        else:
            row.status, row.updated_at = new_status, now
    update = StatusUpdate(
        incident_id=incident.id, public_status=status, body=text, body_en=text_en, components=snapshot,
        published_at=now, published_by_id=actor.user_id, published_by_label=actor.label, automatic=automatic,
    )
    session.add(update)
    session.flush()
    event = record_event(
        session, incident, kind=EventKind.PUBLIC_UPDATE, actor=actor, now=now, body=text,
        data={"update": update.id, "public_status": status.value, "automatic": automatic,
              "components": snapshot, **(event_data or {})},
    )
    session.flush()
    if not automatic:
        # An automatic statement keeps the public informed; the update a person owes stays owed.
        handle_event(session, incident, "public_update", event=event, now=now, zone=zone)
    refresh_statuses(session, now=now)
    announced(session, now=now, update=update)
    session.flush()
    return update


def set_public_identity(
    session: Session, *, incident: Incident, public_title: str | None, public_title_en: str | None = None,
    internal_only: bool = False, actor: Actor, now: datetime,
) -> list[dict[str, Any]]:
    """Set what the public calls the incident and whether it may appear at all; one timeline event.

    Returns the changes made (empty when nothing changed, and then nothing is written).
    """
    now = ensure_aware(now)
    if not isinstance(internal_only, bool):
        raise InvalidInput("internal_only", "internal_only must be true or false", reason="invalid")
    cleaned = {
        "public_title": clean_text(public_title, field="public_title", max_length=TITLE_MAX, required=False) or None,
        "public_title_en": clean_text(public_title_en, field="public_title_en", max_length=TITLE_MAX,
                                      required=False) or None,
        "internal_only": internal_only,
    }
    diff = [{"field": f, "before": getattr(incident, f), "after": v}
            for f, v in cleaned.items() if getattr(incident, f) != v]
    if not diff:
        return []
    for change in diff:
        setattr(incident, change["field"], change["after"])
    record_event(session, incident, kind=EventKind.FIELD_CHANGED, actor=actor, now=now, data={"changes": diff})
    session.flush()
    # Hiding or showing an incident hides or shows what it says about components too.
    refresh_statuses(session, now=now)
    mark_public_change(session, now=now)
    return diff
