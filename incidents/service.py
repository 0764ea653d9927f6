"""Every change to an incident, each with its timeline event, in the caller's transaction.

Functions here flush but never commit: the caller (a view, the worker, the CLI) owns the
unit of work, so a change and its timeline entry are stored together or not at all.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from incidents import lifecycle, publicity, reviews
from incidents.deadlines import handle_event, record_event
from incidents.actors import Actor
from incidents.comms_models import DraftState, UpdateDraft
from incidents.errors import InvalidInput, NotFound, StaleVersion
from incidents.lifecycle import Kind, Severity, Source, Status
from incidents.models import EventKind, Incident, ReferenceCounter, TimelineEvent, User
from incidents.timeutil import ensure_aware

TITLE_MAX = 200
SUMMARY_MAX = 5000
NOTE_MAX = 5000


def clean_text(value: str | None, *, field: str, max_length: int, required: bool) -> str:
    """Strip a text input and enforce its length; raise InvalidInput naming the field."""
    if value is not None and not isinstance(value, str):  # a number, list or object sent as JSON
        raise InvalidInput(field, f"{field} must be text", reason="invalid")
    text = (value or "").strip()
    if required and not text:
        raise InvalidInput(field, f"{field} is required", reason="required")
    if len(text) > max_length:
        raise InvalidInput(
            field, f"{field} is longer than {max_length} characters", reason="too_long", max=max_length
        )
    return text


def _enum_value(enum_type: type, value: Any, field: str) -> Any:
    try:
        return enum_type(value)
    except ValueError:
        allowed = ", ".join(member.value for member in enum_type)
        raise InvalidInput(
            field, f"unknown {field} {value!r}; expected one of {allowed}", reason="choice", allowed=allowed
        ) from None


def next_reference(session: Session, *, now: datetime, zone: ZoneInfo) -> str:
    """Hand out the next INC-YYYYMMDD-NNNN, numbered per day in the team's zone, race-free."""
    day = ensure_aware(now).astimezone(zone).strftime("%Y%m%d")
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(ReferenceCounter)
        .values(day=day, last=1)
        .on_conflict_do_update(
            index_elements=[ReferenceCounter.day], set_={"last": ReferenceCounter.last + 1}
        )
        .returning(ReferenceCounter.last)
    )
    number = session.execute(statement).scalar_one()
    return f"INC-{day}-{number:04d}"


def _claim_version(session: Session, incident: Incident, expected_version: int | None) -> None:
    """Bump the version only if nobody else did since the caller read it (conditional UPDATE)."""
    if expected_version is None:
        expected_version = incident.version
    if incident.version != expected_version:
        raise StaleVersion(incident)
    result = session.execute(
        sa.update(Incident)
        .where(Incident.id == incident.id, Incident.version == expected_version)
        .values(version=expected_version + 1)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        session.refresh(incident)
        raise StaleVersion(incident)
    set_committed_value(incident, "version", expected_version + 1)


def get_incident(session: Session, reference: str) -> Incident:
    """The incident with this public reference, or NotFound."""
    incident = session.scalar(sa.select(Incident).where(Incident.reference == reference))
    if incident is None:
        raise NotFound(f"no incident {reference}")
    return incident


def open_incident(
    session: Session,
    *,
    kind: str,
    severity: str,
    title: str,
    summary: str = "",
    source: Source = Source.MANUAL,
    commander_id: int | None = None,
    actor: Actor,
    now: datetime,
    zone: ZoneInfo,
) -> Incident:
    """Open an incident in `investigating` and write its first timeline event."""
    now = ensure_aware(now)
    incident = Incident(
        reference=next_reference(session, now=now, zone=zone),
        kind=_enum_value(Kind, kind, "kind"),
        severity=_enum_value(Severity, severity, "severity"),
        status=Status.INVESTIGATING,
        title=clean_text(title, field="title", max_length=TITLE_MAX, required=True),
        summary=clean_text(summary, field="summary", max_length=SUMMARY_MAX, required=False),
        source=source,
        commander_id=_existing_user_id(session, commander_id, "commander"),
        opened_by_id=actor.user_id,
        opened_at=now,
        updated_at=now,
        version=1,
    )
    session.add(incident)
    event = record_event(
        session,
        incident,
        kind=EventKind.OPENED,
        actor=actor,
        now=now,
        data={"kind": incident.kind.value, "severity": incident.severity.value, "source": source.value},
    )
    session.flush()
    handle_event(session, incident, "opened", event=event, now=now, zone=zone)
    session.flush()
    return incident


def acknowledge_incident(
    session: Session, *, incident: Incident, actor: Actor, now: datetime, zone: ZoneInfo
) -> bool:
    """Mark that a person has taken the incident on; False when it already was."""
    if incident.acknowledged_at is not None:
        return False
    now = ensure_aware(now)
    incident.acknowledged_at = now
    if incident.commander_id is None and actor.user_id is not None:
        incident.commander_id = actor.user_id
    event = record_event(session, incident, kind=EventKind.ACKNOWLEDGED, actor=actor, now=now)
    session.flush()
    handle_event(session, incident, "acknowledged", event=event, now=now, zone=zone)
    session.flush()
    return True


def transition_incident(
    session: Session,
    *,
    incident: Incident,
    target: str,
    expected_version: int | None,
    actor: Actor,
    now: datetime,
    zone: ZoneInfo,
    note: str = "",
    expected_status: str | None = None,
) -> Incident:
    """Move the incident along the lifecycle table, stamping the times that go with it.

    `expected_status` (the status the person saw when clicking) guards against acting on a
    status someone else has just changed, without tripping on unrelated edits.
    """
    now = ensure_aware(now)
    target_status = _enum_value(Status, target, "to")
    current = incident.status
    if expected_status is not None and expected_status != current.value:
        raise StaleVersion(incident, ["status"])
    lifecycle.check_transition(current, target_status)
    if target_status == Status.CLOSED:
        reviews.require_review(session, incident)
    note = clean_text(note, field="note", max_length=NOTE_MAX, required=False)
    _claim_version(session, incident, expected_version)
    # Closing changes the public page only for an incident still shown as ongoing (one resolved
    # without a resolved notice); a resolved notice already told the public everything.
    close_shows = target_status == Status.CLOSED and publicity.shown_as_active(session, incident)
    incident.status = target_status
    if target_status != Status.INVESTIGATING and incident.acknowledged_at is None:
        # Naming a cause or resolving implies someone is on it.
        incident.acknowledged_at = now
    if target_status == Status.RESOLVED:
        incident.resolved_at = now
    elif target_status == Status.CLOSED:
        incident.closed_at = now
    elif lifecycle.is_reopen(current, target_status):
        incident.resolved_at = None
    reopen = lifecycle.is_reopen(current, target_status)
    data: dict[str, Any] = {"from": current.value, "to": target_status.value, "reopen": reopen}
    if target_status == Status.CLOSED:
        withdrawn = _withdraw_pending_drafts(session, incident, actor=actor, now=now)
        if withdrawn:
            data["withdrawn_drafts"] = withdrawn
    event = record_event(session, incident, kind=EventKind.STATUS_CHANGED, actor=actor, now=now, body=note,
                         data=data)
    session.flush()
    # What the move means for the clock: the status itself, then resolution, closing, reopening.
    triggers = [f"status:{target_status.value}"]
    if target_status == Status.RESOLVED:
        triggers.append("resolved")
    elif target_status == Status.CLOSED:
        triggers.append("closed")
    elif reopen:
        triggers.append("reopened")
    handle_event(session, incident, triggers, event=event, now=now, zone=zone)
    if close_shows:
        # A closed incident counts as resolved on the public page whatever its last update said.
        publicity.refresh_public_state(session, now=now)
    session.flush()
    return incident


def _withdraw_pending_drafts(session: Session, incident: Incident, *, actor: Actor, now: datetime) -> list[int]:
    """Closing ends every update still waiting for sign-off (a closed incident takes no updates)."""
    ids = list(session.scalars(
        sa.select(UpdateDraft.id).where(UpdateDraft.incident_id == incident.id, UpdateDraft.state == DraftState.PENDING)
    ))
    if ids:
        session.execute(
            sa.update(UpdateDraft).where(UpdateDraft.id.in_(ids), UpdateDraft.state == DraftState.PENDING)
            .values(state=DraftState.WITHDRAWN, decided_at=now, decided_by_label=actor.label,
                    reason="incident closed"),
            execution_options={"synchronize_session": "fetch"},
        )
    return ids


def _existing_user_id(session: Session, user_id: int | None, field: str) -> int | None:
    if user_id is None:
        return None
    user = session.get(User, user_id)
    if user is None or not user.active:
        raise InvalidInput(field, f"no active user with id {user_id}", reason="no_user")
    return user_id


def _user_label(session: Session, user_id: int | None) -> str | None:
    if user_id is None:
        return None
    user = session.get(User, user_id)
    return user.display_name if user else str(user_id)


def edit_incident(
    session: Session,
    *,
    incident: Incident,
    changes: dict[str, Any],
    expected_version: int | None,
    actor: Actor,
    now: datetime,
    seen: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Change title, summary, kind, severity, commander or comms lead; one timeline event.

    `seen` holds the values the editor started from. When the version is stale, the edit
    still goes through if nobody else touched the fields this editor changed; otherwise
    StaleVersion names the fields in conflict. Without `seen`, any stale version conflicts.
    Returns the list of {field, before, after} actually changed (empty: nothing written).
    """
    now = ensure_aware(now)
    if incident.status == Status.CLOSED:
        raise InvalidInput("status", "a closed incident cannot be edited", reason="closed")
    cleaners = {
        "title": lambda v: clean_text(v, field="title", max_length=TITLE_MAX, required=True),
        "summary": lambda v: clean_text(v, field="summary", max_length=SUMMARY_MAX, required=False),
        "kind": lambda v: _enum_value(Kind, v, "kind"),
        "severity": lambda v: _enum_value(Severity, v, "severity"),
        "commander_id": lambda v: _existing_user_id(session, v, "commander"),
        "comms_lead_id": lambda v: _existing_user_id(session, v, "comms_lead"),
    }
    unknown = set(changes) - set(cleaners)
    if unknown:
        field = sorted(unknown)[0]
        raise InvalidInput(field, f"{field} cannot be changed here", reason="not_editable")
    cleaned = {field: cleaners[field](value) for field, value in changes.items()}
    if seen is not None and expected_version is not None and expected_version != incident.version:
        cleaned = _merge_stale_edit(incident, cleaned, seen)
        expected_version = incident.version
    diff = [
        {"field": field, "before": getattr(incident, field), "after": value}
        for field, value in cleaned.items()
        if getattr(incident, field) != value
    ]
    if not diff:
        if expected_version is not None and expected_version != incident.version:
            raise StaleVersion(incident)
        return []
    _claim_version(session, incident, expected_version)
    for change in diff:
        setattr(incident, change["field"], change["after"])
    readable = [_readable_change(session, change) for change in diff]
    assignment_only = all(c["field"] in ("commander_id", "comms_lead_id") for c in diff)
    record_event(
        session,
        incident,
        kind=EventKind.ASSIGNED if assignment_only else EventKind.FIELD_CHANGED,
        actor=actor,
        now=now,
        data={"changes": readable},
    )
    session.flush()
    return readable


def _plain(value: Any) -> Any:
    """An enum as its stored value; anything else as it is."""
    return value.value if isinstance(value, enum.Enum) else value


def _comparable(value: Any) -> str:
    return "" if value is None else str(_plain(value)).strip()


def _merge_stale_edit(incident: Incident, cleaned: dict[str, Any], seen: dict[str, Any]) -> dict[str, Any]:
    """Three-way merge of one editor's changes onto a record someone else changed meanwhile."""
    mine = {f: v for f, v in cleaned.items() if _comparable(v) != _comparable(seen.get(f))}
    conflicts = [
        field
        for field, value in mine.items()
        if _comparable(getattr(incident, field)) != _comparable(seen.get(field))
        and _comparable(getattr(incident, field)) != _comparable(value)
    ]
    if conflicts:
        raise StaleVersion(incident, conflicts)
    return mine


def _readable_change(session: Session, change: dict[str, Any]) -> dict[str, Any]:
    """A change as stored on the timeline: enums as values, people by their names."""
    field, before, after = change["field"], change["before"], change["after"]
    if field in ("commander_id", "comms_lead_id"):
        return {
            "field": field.removesuffix("_id"),
            "before": _user_label(session, before),
            "after": _user_label(session, after),
        }
    return {"field": field, "before": _plain(before), "after": _plain(after)}


def add_note(session: Session, *, incident: Incident, body: str, actor: Actor, now: datetime) -> TimelineEvent:
    """Append a note to the timeline; notes never touch the optimistic lock."""
    text = clean_text(body, field="body", max_length=NOTE_MAX, required=True)
    event = record_event(session, incident, kind=EventKind.NOTE, actor=actor, now=ensure_aware(now), body=text)
    session.flush()
    return event
