"""The incident pages: open, read, command (transitions, edits, assignment) and notes.

Each mutation answers an htmx request with the fragment it changed plus an
`incident-changed` event (the header and the timeline refresh on it), and a plain form post
with a 303 back to the page; errors re-render the form with the message at the field.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Blueprint, make_response, redirect, render_template, request, url_for
from flask_babel import gettext

from console import current_actor, htmx
from console.db import get_session
from console.i18n import message_for, select_locale, team_zone
from console.labels import STATUS_LABELS
from console.resolve_labels import RESOLVE_REASONS  # noqa: F401 (registers the refusals' messages)
from console.views.caching import conditional
from console.views.clock_context import clock_context, may
from console.views.comms_context import (
    Composer,
    comms_context,
    composer_errors,
    composer_from_form,
    name_in_public,
    preview,
)
from incidents import lifecycle, queries, resolution, service
from incidents.errors import InvalidInput, StaleVersion
from incidents.lifecycle import Kind, Severity, Source, Status, TransitionNotAllowed
from incidents.models import Incident, User
from console.clock import utcnow

bp = Blueprint("incidents", __name__, url_prefix="/incidents")

EDIT_FIELDS = ("title", "summary", "kind", "severity", "commander_id", "comms_lead_id")
CHANGED_EVENT = "incident-changed"
COMPOSER = "incidents/_update_form.html"
# Domain errors name people by role; the form's inputs carry ids.
FORM_FIELD = {"commander": "commander_id", "comms_lead": "comms_lead_id"}


def _active_users() -> list[User]:
    return list(get_session().scalars(sa.select(User).where(User.active).order_by(User.display_name)))


def _values(incident: Incident) -> dict[str, str]:
    """The incident's editable fields as the strings a form shows."""
    values = {}
    for field in EDIT_FIELDS:
        value = getattr(incident, field)
        values[field] = "" if value is None else str(getattr(value, "value", value))
    return values


def _page_context(incident: Incident, **state: Any) -> dict[str, Any]:
    context = {
        "incident": incident,
        "targets": lifecycle.allowed_targets(incident.status),
        "timeline": queries.timeline(get_session(), incident),
        "users": _active_users(),
        "kinds": list(Kind),
        "severities": list(Severity),
        "edit_values": _values(incident),
        "seen": _values(incident),
        "edit_errors": {},
        "conflict": None,
        "note_value": "",
        "note_error": None,
        "header_error": None,
        # The clock's panels (incident_clock.py): forms start empty, no action form open.
        "clock_error": None,
        "checklist_error": None,
        "action": None,
        "update_values": {"body": "", "public_status": incident.status.value},
        "update_errors": {},
        "update_done": False,
        # Resolving it speaks in public (incidents.resolution): the header offers the composer.
        "public_face": resolution.has_public_face(get_session(), incident),
    }
    context.update(clock_context(get_session(), incident))
    context.update(comms_context(get_session(), incident))  # the comms desk (issue 4, writing an update)
    context.update(state)
    return context


def _answer(incident: Incident, fragment: str, status: int = 200, **state: Any) -> Any:
    """The changed fragment for htmx, the whole page otherwise (same markup either way)."""
    template = fragment if htmx else "incidents/show.html"
    response = make_response(render_template(template, **_page_context(incident, **state)), status)
    if htmx and status < 300:
        response.headers["HX-Trigger"] = CHANGED_EVENT
    response.vary.add("HX-Request")
    return response


def composer_refused(session: Any, incident: Incident, state: Any, error: InvalidInput) -> Any:
    """The composer again with the refusal at its field (422), the typed text and its preview kept;
    nothing of the refused submit is saved."""
    session.rollback()
    state.errors = composer_errors(error)
    return _answer(incident, COMPOSER, 422, composer=state,
                   preview=preview(session, incident, state) if state.zh.strip() else None)


def _done(incident: Incident, fragment: str) -> Any:
    if htmx:
        return _answer(incident, fragment)
    return redirect(url_for("incidents.show", reference=incident.reference), code=303)


def _int_or_none(value: str | None, field: str) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(value)
    except ValueError:
        raise InvalidInput(field, f"{field} must be a number", reason="invalid") from None


@bp.get("/new")
def new() -> Any:
    """The open-an-incident form: three fields are enough."""
    return render_template("incidents/new.html", values={}, errors={},
                           kinds=list(Kind), severities=list(Severity))


@bp.post("")
def create() -> Any:
    """Open an incident from the form; 422 with messages at the fields on bad input."""
    form = request.form
    session = get_session()
    try:
        incident = service.open_incident(
            session,
            kind=form.get("kind", ""),
            severity=form.get("severity", ""),
            title=form.get("title", ""),
            summary=form.get("summary", ""),
            source=Source.MANUAL,
            actor=current_actor(),
            now=utcnow(),
            zone=team_zone(),
        )
    except InvalidInput as error:
        session.rollback()
        template = "incidents/_new_form.html" if htmx else "incidents/new.html"
        return render_template(template, values=form, errors={error.field: message_for(error)},
                               kinds=list(Kind), severities=list(Severity)), 422
    session.commit()
    target = url_for("incidents.show", reference=incident.reference)
    if htmx:
        response = make_response("", 204)
        response.headers["HX-Redirect"] = target
        return response
    return redirect(target, code=303)


@bp.get("/<reference>")
def show(reference: str) -> Any:
    """The incident page: header, commands, assignment, notes and the live timeline."""
    incident = service.get_incident(get_session(), reference)
    return render_template("incidents/show.html", **_page_context(incident))


def _conditional_fragment(incident: Incident, template: str, extra: str = "") -> Any:
    """A polled fragment, answered 304 while the incident and the reader's language are unchanged.

    `extra` adds what else the fragment shows (e.g. who is on duty, for deadline owners).
    """
    fingerprint = f"{template}|{select_locale()}|{incident.version}|{incident.updated_at.isoformat()}|{extra}"
    return conditional(fingerprint, lambda: render_template(template, **_page_context(incident)))


@bp.get("/<reference>/header")
def header(reference: str) -> Any:
    """The header fragment (status, roles, commands), polled by the page."""
    incident = service.get_incident(get_session(), reference)
    return _conditional_fragment(incident, "incidents/_header.html")


@bp.get("/<reference>/timeline")
def timeline(reference: str) -> Any:
    """The timeline fragment, newest first, polled by the page."""
    incident = service.get_incident(get_session(), reference)
    return _conditional_fragment(incident, "incidents/_timeline.html")


@bp.post("/<reference>/transitions")
def transition(reference: str) -> Any:
    """Move the incident to another status (only allowed targets are offered)."""
    session = get_session()
    incident = service.get_incident(session, reference)
    if "body" in request.form:
        return _resolve_from_composer(session, incident)
    try:
        if request.form.get("to") == Status.RESOLVED.value:
            # From the header: an incident with a public face gets the kind's recovered script.
            resolution.resolve_incident(session, incident=incident, public_update=None,
                                        may_approve=may("update.approve"),
                                        expected_status=request.form.get("from") or None,
                                        note=request.form.get("note", ""), actor=current_actor(), now=utcnow(),
                                        zone=team_zone())
        else:
            _move(session, incident)
    except StaleVersion:
        session.rollback()
        incident = service.get_incident(session, reference)
        message = gettext("Someone else changed the status to “%(status)s” meanwhile. Check it and try again.",
                          status=status_label(incident.status))
        return _answer(incident, "incidents/_header.html", 409, header_error=message)
    except (InvalidInput, TransitionNotAllowed) as error:
        session.rollback()
        message = message_for(error) if isinstance(error, InvalidInput) else gettext(
            "This status change is not allowed from here.")
        return _answer(incident, "incidents/_header.html", 422, header_error=message)
    session.commit()
    return _done(incident, "incidents/_header.html")


def _move(session: Any, incident: Incident) -> None:
    service.transition_incident(
        session,
        incident=incident,
        target=request.form.get("to", ""),
        expected_status=request.form.get("from") or None,
        expected_version=None,
        note=request.form.get("note", ""),
        actor=current_actor(),
        now=utcnow(),
        zone=team_zone(),
    )


def _resolve_from_composer(session: Any, incident: Incident) -> Any:
    """Publish the composer's resolved notice and resolve the incident, in one transaction.

    A refused notice resolves nothing: the composer comes back with the message at its field.
    A second submit (a double click) finds the incident resolved and publishes nothing again.
    """
    state = composer_from_form(request.form)
    state.resolving = True
    try:
        name_in_public(session, incident, state, actor=current_actor(), now=utcnow())
        done = resolution.resolve_incident(
            session, incident=incident, public_update=state.composition(), may_approve=may("update.approve"),
            expected_status=request.form.get("from") or None, actor=current_actor(), now=utcnow(), zone=team_zone())
    except StaleVersion:
        session.rollback()
        incident = service.get_incident(session, incident.reference)
        state.errors = {"form": gettext("Someone else changed the status to “%(status)s” meanwhile. Check it and try "
                                        "again.", status=status_label(incident.status))}
        return _answer(incident, COMPOSER, 409, composer=state)
    except InvalidInput as error:
        return composer_refused(session, incident, state, error)
    session.commit()
    if not htmx:
        return _done(incident, COMPOSER)
    message = gettext("Published and marked resolved.") if done.update else gettext("Already resolved.")
    return _answer(incident, COMPOSER, composer=Composer(public_status=Status.RESOLVED.value, done=message))


@bp.post("/<reference>/acknowledge")
def acknowledge(reference: str) -> Any:
    """Take the incident on (and become its commander if it has none)."""
    session = get_session()
    incident = service.get_incident(session, reference)
    service.acknowledge_incident(session, incident=incident, actor=current_actor(), now=utcnow(), zone=team_zone())
    session.commit()
    return _done(incident, "incidents/_header.html")


@bp.post("/<reference>/edit")
def edit(reference: str) -> Any:
    """Save details and assignment; a stale form is merged or answered with a conflict."""
    session = get_session()
    incident = service.get_incident(session, reference)
    form = request.form
    submitted = [field for field in EDIT_FIELDS if field in form]
    changes: dict[str, Any] = {}
    try:
        for field in submitted:
            value = form.get(field, "")
            changes[field] = _int_or_none(value, field) if field.endswith("_id") else value
        seen = {field: form.get(f"seen_{field}", "") for field in submitted}
        service.edit_incident(
            session,
            incident=incident,
            changes=changes,
            seen=seen,
            expected_version=_int_or_none(form.get("version"), "version"),
            actor=current_actor(),
            now=utcnow(),
        )
    except InvalidInput as error:
        session.rollback()
        incident = service.get_incident(session, reference)
        return _answer(incident, "incidents/_edit.html", 422, edit_values={**_values(incident), **form},
                       seen={f: form.get(f"seen_{f}", "") for f in EDIT_FIELDS},
                       edit_errors={FORM_FIELD.get(error.field, error.field): message_for(error)})
    except StaleVersion as error:
        session.rollback()
        incident = service.get_incident(session, reference)
        current = _values(incident)
        conflict = [
            {"field": field, "current": current[field], "mine": form.get(field, "")} for field in error.fields
        ]
        # The form now starts from the current record, keeping what this person typed.
        return _answer(incident, "incidents/_edit.html", 409, edit_values={**current, **form},
                       seen=current, conflict=conflict)
    session.commit()
    return _done(incident, "incidents/_edit.html")


@bp.post("/<reference>/notes")
def add_note(reference: str) -> Any:
    """Add a note to the timeline."""
    session = get_session()
    incident = service.get_incident(session, reference)
    body = request.form.get("body", "")
    try:
        service.add_note(session, incident=incident, body=body, actor=current_actor(), now=utcnow())
    except InvalidInput as error:
        session.rollback()
        return _answer(incident, "incidents/_note_form.html", 422, note_value=body, note_error=message_for(error))
    session.commit()
    return _done(incident, "incidents/_note_form.html")


def status_label(status: Status) -> str:
    return str(STATUS_LABELS[status])
