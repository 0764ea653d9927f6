"""The clock in the JSON API: deadlines, the checklist, pausing, public updates, notifications.

Routes join the `api` blueprint (console.views.api) with its conventions: bearer tokens,
JSON bodies with unknown keys refused, errors {"error": {"code", "message", "field"?}}.
Notifications belong to people, so those routes need a token that acts for a person.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify, request

from console import current_actor
from console.db import get_session
from console.errors import api_error
from console.i18n import team_zone
from console.views.api import _body, _string, bp, event_json
from incidents import checklist, deadlines, notifications, queries, service
from incidents.models import Deadline, Incident, Notification, StatusUpdate, User
from incidents.roster import on_duty
from console.clock import utcnow


class NoPerson(Exception):
    """The token acts for no person, and the request is about a person's own things."""


@bp.errorhandler(NoPerson)
def _no_person(_error: NoPerson) -> Any:
    return api_error(403, "no_person", "this token acts for no person; use a token issued for a user")


def _person_id() -> int:
    user_id = current_actor().user_id
    if user_id is None:
        raise NoPerson()
    return user_id


def _optional_body(allowed: set[str]) -> dict[str, Any]:
    """Like _body, but an empty request body is an empty object (for bodiless commands)."""
    if not request.get_data():
        return {}
    return _body(allowed)


def _time(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _person(user: User | None) -> dict[str, Any] | None:
    return {"username": user.username, "display_name": user.display_name} if user else None


def deadline_json(deadline: Deadline, owner: queries.Owner, *, held: bool = False) -> dict[str, Any]:
    """A deadline as the API shows it, with its owner resolved to a person (`held`: an automatic
    holding statement spoke for it; a person still owes the update)."""
    met_by = deadline.met_by
    return {
        "id": deadline.id,
        "incident": deadline.incident.reference,
        "rule": deadline.rule_key,
        "name": {"zh": deadline.rule.get("zh"), "en": deadline.rule.get("en")},
        "sequence": deadline.sequence,
        "state": deadline.state.value,
        "due_at": _time(deadline.due_at),
        "remind_at": _time(deadline.remind_at),
        "stage": deadline.stage,
        "paused": deadline.paused_at is not None,
        "paused_at": _time(deadline.paused_at),
        "paused_seconds": deadline.paused_seconds,
        "owner": {"role": owner.role, "person": _person(owner.person), "stand_in": owner.stand_in},
        "met_at": _time(deadline.met_at),
        "late_seconds": deadline.late_seconds,
        "met_by": {"kind": met_by.kind.value, "actor": met_by.actor_label, "at": _time(met_by.at)} if met_by else None,
        "waived_reason": deadline.waived_reason or None,
        "held_by_automatic_statement": held,
    }


def _deadlines_json(rows: list[Deadline]) -> list[dict[str, Any]]:
    duty = on_duty(get_session(), utcnow())
    held = deadlines.held_deadlines(get_session(), [d.id for d in rows])
    return [deadline_json(d, queries.deadline_owner(d, d.incident, duty), held=d.id in held) for d in rows]


@bp.get("/deadlines")
def list_deadlines() -> Any:
    """Every open deadline across incidents, soonest first; `?mine=1` for the token's person."""
    rows = _deadlines_json(deadlines.pending_deadlines(get_session()))
    if request.args.get("mine") == "1":
        username = get_session().get(User, _person_id()).username
        rows = [row for row in rows if (row["owner"]["person"] or {}).get("username") == username]
    return jsonify(deadlines=rows)


@bp.get("/incidents/<reference>/deadlines")
def incident_deadlines(reference: str) -> Any:
    """The incident's deadlines: open ones soonest first, then the settled, newest first."""
    incident = service.get_incident(get_session(), reference)
    return jsonify(deadlines=_deadlines_json(deadlines.incident_deadlines(get_session(), incident)))


def _incident_and_deadline(reference: str, deadline_id: int) -> tuple[Incident, Deadline]:
    incident = service.get_incident(get_session(), reference)
    return incident, deadlines.get_deadline(get_session(), incident, deadline_id)


def _one_deadline(deadline: Deadline) -> Any:
    return jsonify(_deadlines_json([deadline])[0])


@bp.post("/incidents/<reference>/deadlines/<int:deadline_id>/met")
def mark_deadline_met(reference: str, deadline_id: int) -> Any:
    """Mark a deadline met: {"note"?}; met twice or waived is a 422."""
    payload = _optional_body({"note"})
    session = get_session()
    incident, deadline = _incident_and_deadline(reference, deadline_id)
    deadlines.mark_met(session, incident=incident, deadline=deadline, note=_string(payload, "note") or "",
                       actor=current_actor(), now=utcnow(), zone=team_zone())
    session.commit()
    return _one_deadline(deadline)


@bp.post("/incidents/<reference>/deadlines/<int:deadline_id>/waive")
def waive_deadline(reference: str, deadline_id: int) -> Any:
    """Waive a deadline: {"reason"} (required)."""
    payload = _body({"reason"})
    session = get_session()
    incident, deadline = _incident_and_deadline(reference, deadline_id)
    deadlines.waive(session, incident=incident, deadline=deadline, reason=_string(payload, "reason") or "",
                    actor=current_actor(), now=utcnow())
    session.commit()
    return _one_deadline(deadline)


def _clock_json(incident: Incident) -> Any:
    return jsonify(paused_at=_time(incident.clock_paused_at),
                   deadlines=_deadlines_json(deadlines.open_deadlines(get_session(), incident)))


@bp.post("/incidents/<reference>/clock/pause")
def pause_clock(reference: str) -> Any:
    """Pause a complaint's clock: {"reason"} (required)."""
    payload = _body({"reason"})
    session = get_session()
    incident = service.get_incident(session, reference)
    deadlines.pause_clock(session, incident=incident, reason=_string(payload, "reason") or "",
                          actor=current_actor(), now=utcnow())
    session.commit()
    return _clock_json(incident)


@bp.post("/incidents/<reference>/clock/resume")
def resume_clock(reference: str) -> Any:
    """Resume the clock; each deadline keeps the time it had left."""
    _optional_body(set())
    session = get_session()
    incident = service.get_incident(session, reference)
    deadlines.resume_clock(session, incident=incident, actor=current_actor(), now=utcnow(), zone=team_zone())
    session.commit()
    return _clock_json(incident)


def _checklist_json(incident: Incident) -> list[dict[str, Any]]:
    return [
        {
            "step": item.step.key,
            "text": {"zh": item.step.zh, "en": item.step.en},
            "meets": item.step.meets,
            "done": item.done,
            "ticked_by": item.ticked.actor_label if item.ticked else None,
            "ticked_at": _time(item.ticked.at) if item.ticked else None,
        }
        for item in checklist.checklist(get_session(), incident)
    ]


@bp.get("/incidents/<reference>/checklist")
def get_checklist(reference: str) -> Any:
    """The incident's checklist in playbook order, each step with its latest tick."""
    incident = service.get_incident(get_session(), reference)
    return jsonify(checklist=_checklist_json(incident))


@bp.post("/incidents/<reference>/checklist/<step>")
def tick_step(reference: str, step: str) -> Any:
    """Tick a step: {"note"?}; meets the deadline linked to the step."""
    payload = _optional_body({"note"})
    session = get_session()
    incident = service.get_incident(session, reference)
    event = checklist.tick_step(session, incident=incident, step_key=step, note=_string(payload, "note") or "",
                                actor=current_actor(), now=utcnow(), zone=team_zone())
    session.commit()
    return jsonify(event=event_json(event), checklist=_checklist_json(incident)), 201


def update_json(update: StatusUpdate) -> dict[str, Any]:
    return {"id": update.id, "public_status": update.public_status.value, "body": update.body,
            "published_at": _time(update.published_at), "published_by": update.published_by_label,
            "automatic": update.automatic}


# Publishing (POST /incidents/<reference>/updates) moved to console.views.api_comms, which goes
# through the composer's rules: scripts, variables, components and sign-off.


def notification_json(notification: Notification, now: Any) -> dict[str, Any]:
    return {
        "id": notification.id,
        "kind": notification.kind,
        "title": notification.title,
        "body": notification.body,
        "incident": notification.incident.reference if notification.incident else None,
        "deadline": notification.deadline_id,
        "created_at": _time(notification.created_at),
        "read_at": _time(notification.read_at),
        "snoozed_until": _time(notification.snoozed_until),
        "needs_you": notifications.needs_person(notification, now),
    }


@bp.get("/notifications")
def list_notifications() -> Any:
    """The token's person's notifications: waiting (the bell's count), snoozed, earlier."""
    now = utcnow()
    box = notifications.inbox(get_session(), user_id=_person_id(), now=now)
    return jsonify(
        unread=len(box.waiting),
        waiting=[notification_json(n, now) for n in box.waiting],
        snoozed=[notification_json(n, now) for n in box.snoozed],
        earlier=[notification_json(n, now) for n in box.earlier],
    )


def _mine(notification_id: int) -> Notification:
    return notifications.get_notification(get_session(), user_id=_person_id(), notification_id=notification_id)


@bp.post("/notifications/<int:notification_id>/read")
def read_notification(notification_id: int) -> Any:
    """Mark one notification read (idempotent)."""
    _optional_body(set())
    session = get_session()
    notification = _mine(notification_id)
    now = utcnow()
    notifications.mark_read(session, notification=notification, actor=current_actor(), now=now)
    session.commit()
    return jsonify(notification_json(notification, now))


@bp.post("/notifications/read-all")
def read_all_notifications() -> Any:
    """Mark read everything waiting now; snoozed ones stay snoozed."""
    _optional_body(set())
    session = get_session()
    count = notifications.mark_all_read(session, user_id=_person_id(), actor=current_actor(), now=utcnow())
    session.commit()
    return jsonify(marked=count)


@bp.post("/notifications/<int:notification_id>/snooze")
def snooze_notification(notification_id: int) -> Any:
    """Snooze a reminder: {"minutes": 5|15|30, "reason"}; the deadline does not move."""
    payload = _body({"minutes", "reason"})
    session = get_session()
    notification = _mine(notification_id)
    now = utcnow()
    notifications.snooze(session, notification=notification, minutes=payload.get("minutes"),
                         reason=_string(payload, "reason"), actor=current_actor(), now=now)
    session.commit()
    return jsonify(notification_json(notification, now))
