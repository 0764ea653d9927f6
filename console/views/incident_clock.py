"""The clock on the incident page: deadlines, the checklist, pausing, a public update.

Routes join the `incidents` blueprint (endpoints `incidents.<name>`), so they live beside
the page they belong to. They follow the page's conventions: an htmx request gets the
fragment it changed plus the `incident-changed` event, a plain form post a 303 back to the
page, bad input the form again with the message at the field (422).

Forms that take typed text (a waive reason, a pause reason) open in `#clock-action`,
outside the polled `#incident-clock` panel, so a refresh never wipes what someone types.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import request
from flask_babel import gettext
from flask_login import current_user

from console import current_actor, htmx
from console.db import get_session
from console.i18n import message_for, team_zone
from console.views.clock_context import rule_name
from console.views.incident_pages import _answer, _conditional_fragment, _done, bp
from incidents import checklist, deadlines, service
from incidents.errors import InvalidInput
from incidents.models import Deadline, Incident
from incidents.roster import on_duty
from console.clock import utcnow

ACTION_TARGET = "clock-action"


def _fingerprint_extra() -> str:
    """Deadline owners follow the roster, buttons the reader's role."""
    duty = on_duty(get_session(), utcnow())
    return f"{duty.id if duty else '-'}|{current_user.role.value}"


@bp.get("/<reference>/clock")
def clock(reference: str) -> Any:
    """The deadlines panel with the next deadline's countdown, polled by the page."""
    incident = service.get_incident(get_session(), reference)
    return _conditional_fragment(incident, "incidents/_clock.html", _fingerprint_extra())


@bp.get("/<reference>/checklist")
def checklist_panel(reference: str) -> Any:
    """The checklist fragment, polled by the page."""
    incident = service.get_incident(get_session(), reference)
    return _conditional_fragment(incident, "incidents/_checklist.html", _fingerprint_extra())


@bp.post("/<reference>/checklist/<step>")
def tick_step(reference: str, step: str) -> Any:
    """Tick a checklist step: recorded with who and when; meets the deadline it belongs to."""
    session = get_session()
    incident = service.get_incident(session, reference)
    try:
        checklist.tick_step(session, incident=incident, step_key=step, note=request.form.get("note", ""),
                            actor=current_actor(), now=utcnow(), zone=team_zone())
    except InvalidInput as error:
        session.rollback()
        return _answer(incident, "incidents/_checklist.html", 422, checklist_error=message_for(error))
    session.commit()
    return _done(incident, "incidents/_checklist.html")


def _action(kind: str, deadline: Deadline | None = None, **extra: Any) -> dict[str, Any]:
    """The state of the form in #clock-action."""
    action = {"kind": kind, "deadline": deadline, "value": "", "error": None, "field_error": None, "done": None}
    action.update(extra)
    return action


def _action_error(error: InvalidInput) -> dict[str, Any]:
    """Put a domain error beside the reason field when it is about the text, else above the form."""
    message = message_for(error)
    return {"field_error": message} if error.field == "reason" else {"error": message}


def _from_action_form() -> bool:
    """True when the post came from the form in #clock-action (not a one-click panel button)."""
    return htmx.target == ACTION_TARGET or request.form.get("origin") == "action"


def _failed(incident: Incident, action: dict[str, Any], error: InvalidInput) -> Any:
    """422: the message beside the field of the action form, or atop the panel for a button."""
    get_session().rollback()
    if _from_action_form():
        action.update(_action_error(error))
        return _answer(incident, "incidents/_clock_action.html", 422, action=action)
    return _answer(incident, "incidents/_clock.html", 422, clock_error=message_for(error))


def _succeeded(incident: Incident, done: str) -> Any:
    get_session().commit()
    if htmx and _from_action_form():
        return _answer(incident, "incidents/_clock_action.html", action=_action("done", done=done))
    return _done(incident, "incidents/_clock.html")


def _act(incident: Incident, action: dict[str, Any], change: Callable[[], object], done: str) -> Any:
    """Make a change to the clock: commit and say so, or roll back and show why."""
    try:
        change()
    except InvalidInput as error:
        return _failed(incident, action, error)
    return _succeeded(incident, done)


def _incident_and_deadline(reference: str, deadline_id: int) -> tuple[Incident, Deadline]:
    incident = service.get_incident(get_session(), reference)
    return incident, deadlines.get_deadline(get_session(), incident, deadline_id)


@bp.get("/<reference>/deadlines/<int:deadline_id>")
def deadline_form(reference: str, deadline_id: int) -> Any:
    """The form to mark a deadline met with a note, or to waive it with a reason."""
    incident, deadline = _incident_and_deadline(reference, deadline_id)
    return _answer(incident, "incidents/_clock_action.html", action=_action("deadline", deadline))


@bp.post("/<reference>/deadlines/<int:deadline_id>/met")
def mark_met(reference: str, deadline_id: int) -> Any:
    """Mark a deadline met (note optional); a recurring one starts its next occurrence."""
    incident, deadline = _incident_and_deadline(reference, deadline_id)
    note = request.form.get("reason", "")
    return _act(
        incident, _action("deadline", deadline, value=note),
        lambda: deadlines.mark_met(get_session(), incident=incident, deadline=deadline, note=note,
                                   actor=current_actor(), now=utcnow(), zone=team_zone()),
        gettext("“%(rule)s” marked met.", rule=rule_name(deadline.rule, deadline.rule_key)),
    )


@bp.post("/<reference>/deadlines/<int:deadline_id>/waive")
def waive(reference: str, deadline_id: int) -> Any:
    """Waive a deadline; the reason is required and goes on the timeline."""
    incident, deadline = _incident_and_deadline(reference, deadline_id)
    reason = request.form.get("reason", "")
    return _act(
        incident, _action("deadline", deadline, value=reason),
        lambda: deadlines.waive(get_session(), incident=incident, deadline=deadline, reason=reason,
                                actor=current_actor(), now=utcnow()),
        gettext("“%(rule)s” waived.", rule=rule_name(deadline.rule, deadline.rule_key)),
    )


@bp.get("/<reference>/clock/pause")
def pause_form(reference: str) -> Any:
    """The form to pause a complaint's clock while it waits on the customer."""
    incident = service.get_incident(get_session(), reference)
    return _answer(incident, "incidents/_clock_action.html", action=_action("pause"))


@bp.post("/<reference>/clock/pause")
def pause_clock(reference: str) -> Any:
    """Pause the clock (complaints only, reason required)."""
    incident = service.get_incident(get_session(), reference)
    reason = request.form.get("reason", "")
    return _act(
        incident, _action("pause", value=reason),
        lambda: deadlines.pause_clock(get_session(), incident=incident, reason=reason, actor=current_actor(),
                                      now=utcnow()),
        gettext("The clock is paused."),
    )


@bp.post("/<reference>/clock/resume")
def resume_clock(reference: str) -> Any:
    """Start the clock again; each deadline keeps the time it had left."""
    incident = service.get_incident(get_session(), reference)
    return _act(
        incident, _action("resume"),
        lambda: deadlines.resume_clock(get_session(), incident=incident, actor=current_actor(), now=utcnow(),
                                       zone=team_zone()),
        gettext("The clock is running again."),
    )


# Publishing a public update moved to console.views.incident_comms (the composer), which keeps
# the same endpoint and form field names and adds scripts, components and sign-off.
