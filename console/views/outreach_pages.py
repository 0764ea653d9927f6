"""Affected customers on the incident page: the bulk view, adding, pasting, importing, logging attempts.

The panel (#outreach) lists the customers with their counts and refreshes itself; every form
opens in #outreach-action beside it, so a refresh never wipes what someone types. Answers
follow the incident page's conventions: htmx gets the fragment and `incident-changed`, a plain
post a 303 back (or the page with the form again), bad input 422 with the message at the field.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request
from flask_login import current_user

from console.db import get_session
from console.i18n import message_for, select_locale, team_zone
from console import current_actor, htmx, outreach_labels, permissions
from console.views.caching import conditional
from console.views.incident_pages import _answer, _done
from console.views.status_admin import local_datetime
from incidents import contact_fields, outreach, outreach_queries, service
from incidents.errors import InvalidInput
from incidents.models import Incident
from incidents.outreach_models import (
    AttemptResult,
    CompensationState,
    ContactOrigin,
    Demand,
    OfferKind,
    Platform,
)
from console.clock import utcnow

bp = Blueprint("outreach", __name__)

ACTION = "outreach/_action.html"
PREVIEW_ROWS = 20
ERRORS_SHOWN = 200
ATTEMPT_FIELDS = ("result", "channel", "at", "note", "offer_kind", "offer_value", "promise", "promise_due_at")


def _may(permission: str) -> bool:
    return bool(getattr(current_user, "is_authenticated", False)) and permissions.role_may(
        current_user.role, permission)


def _filters(args: Any) -> dict[str, Any]:
    show = args.get("show", "all")
    try:
        page = max(1, int(args.get("page", "1")))
    except ValueError:
        page = 1
    return {"show": show if show in outreach_queries.FILTERS else "all", "q": (args.get("q") or "").strip()[:100],
            "page": page}


def outreach_panel(incident: Incident) -> dict[str, Any]:
    """What the incident page's outreach panel shows: counts, one page of customers, the ledger."""
    session = get_session()
    now = utcnow()
    chosen = _filters(request.args if request.endpoint in ("outreach.panel", "incidents.show") else {})
    summary = outreach_queries.summary(session, incident, now)
    rows, total = outreach_queries.contacts(session, incident, now=now, show=chosen["show"], query=chosen["q"],
                                            page=chosen["page"])
    pages = max(1, -(-total // outreach_queries.PAGE_SIZE))
    late = summary.due_at is not None and summary.due_at < now
    overdue_rows = {c.id for c in rows if c.id in summary.overdue_ids or (late and not c.reached)}
    return {
        "overdue_rows": overdue_rows,
        "summary": summary, "contacts": rows, "total": total, "chosen": chosen, "pages": pages,
        "ledger": outreach_queries.ledger(session, incident),
        "can_manage": _may("outreach.contacts"), "can_log": _may("outreach.log"),
        "open": incident.status.value != "closed",
    }


@bp.app_context_processor
def _outreach_context() -> dict[str, Any]:
    return {
        "outreach_panel": outreach_panel,
        "PLATFORM_NAMES": outreach_labels.PLATFORM_NAMES, "DEMAND_NAMES": outreach_labels.DEMAND_NAMES,
        "RESULT_NAMES": outreach_labels.RESULT_NAMES, "OFFER_NAMES": outreach_labels.OFFER_NAMES,
        "COMPENSATION_NAMES": outreach_labels.COMPENSATION_NAMES,
        "COMPENSATION_ACTIONS": outreach_labels.COMPENSATION_ACTIONS,
        "COMPENSATION_NEXT": outreach.NEXT_STATES, "ORIGIN_NAMES": outreach_labels.ORIGIN_NAMES,
        "CONTACT_FIELD_NAMES": outreach_labels.FIELD_NAMES,
        "outreach_platforms": list(Platform), "outreach_demands": list(Demand),
        "outreach_results": list(AttemptResult), "outreach_offers": list(OfferKind),
        "outreach_action": None,
    }


@bp.get("/incidents/<reference>/outreach")
def panel(reference: str) -> Any:
    """The customers panel, polled by the page (304 while nothing changed)."""
    incident = service.get_incident(get_session(), reference)
    minute = utcnow().strftime("%Y%m%d%H%M")  # overdue counts move on with the clock
    fingerprint = (f"outreach|{select_locale()}|{current_user.role.value}|{incident.updated_at.isoformat()}|"
                   f"{request.query_string.decode()}|{minute}")
    return conditional(fingerprint, lambda: render_template("outreach/_panel.html", incident=incident))


def _action(kind: str, **extra: Any) -> dict[str, Any]:
    """The state of the form in #outreach-action."""
    return {"kind": kind, "form": {}, "errors": {}, "error": None, "done": None, **extra}


def _failed(incident: Incident, action: dict[str, Any], error: InvalidInput, fields: tuple[str, ...]) -> Any:
    get_session().rollback()
    message = message_for(error)
    if error.field in fields:
        action["errors"] = {error.field: message}
    else:
        action["error"] = message
    return _answer(incident, ACTION, 422, outreach_action=action)


def _succeeded(incident: Incident, done: str) -> Any:
    get_session().commit()
    if htmx:
        return _answer(incident, ACTION, outreach_action=_action("done", done=done))
    return _done(incident, ACTION)


@bp.get("/incidents/<reference>/contacts/new")
def contact_form(reference: str) -> Any:
    """The forms to add customers: one, a pasted list, or a CSV file (`?how=one|paste|csv`)."""
    incident = service.get_incident(get_session(), reference)
    how = request.args.get("how", "one")
    kind = {"paste": "paste", "csv": "csv"}.get(how, "one")
    return _answer(incident, ACTION, outreach_action=_action(kind))


@bp.post("/incidents/<reference>/contacts")
def add_contact(reference: str) -> Any:
    """Add one affected customer; a duplicate or a bad handle is answered at the field."""
    session = get_session()
    incident = service.get_incident(session, reference)
    values = {key: request.form.get(key, "") for key in contact_fields.FIELDS}
    try:
        contact = outreach.add_contact(session, incident=incident, raw=values, actor=current_actor(), now=utcnow())
    except InvalidInput as error:
        return _failed(incident, _action("one", form=values), error, contact_fields.FIELDS)
    return _succeeded(incident, outreach_labels.done_added(1, contact.name))


def _row_errors(parsed: contact_fields.ParsedRows) -> list[dict[str, Any]]:
    return [{"row": e.row, "field": e.error.field, "message": message_for(e.error)}
            for e in parsed.errors[:ERRORS_SHOWN]]


def _import(incident: Incident, parsed: contact_fields.ParsedRows, *, kind: str, origin: ContactOrigin,
            values: dict[str, Any]) -> Any:
    """Store what was read, or show the rows at fault with the choice to skip them."""
    skip = request.form.get("skip_bad_rows") == "1"
    session = get_session()
    try:
        added = outreach.import_parsed(session, incident=incident, parsed=parsed, skip_bad_rows=skip, origin=origin,
                                       actor=current_actor(), now=utcnow())
    except InvalidInput as error:
        action = _action(kind, form=values, parsed=parsed, row_errors=_row_errors(parsed),
                         preview=parsed.rows[:PREVIEW_ROWS])
        return _failed(incident, action, error, ())
    return _succeeded(incident, outreach_labels.done_added(len(added), added[0].name, skipped=len(parsed.errors)))


@bp.post("/incidents/<reference>/contacts/paste")
def paste_contacts(reference: str) -> Any:
    """Add a pasted list, one customer a line; bad lines stop it unless the person chose to skip them."""
    incident = service.get_incident(get_session(), reference)
    text = request.form.get("text", "")
    try:
        parsed = contact_fields.read_pasted(text)
    except InvalidInput as error:
        return _failed(incident, _action("paste", form={"text": text}), error, ("text",))
    return _import(incident, parsed, kind="paste", origin=ContactOrigin.PASTE, values={"text": text})


@bp.post("/incidents/<reference>/contacts/import")
def import_contacts(reference: str) -> Any:
    """Read a CSV file and show a preview; `confirm` imports it (all, or all but the bad rows)."""
    incident = service.get_incident(get_session(), reference)
    upload = request.files.get("file")
    try:
        if upload is not None and upload.filename:
            text = contact_fields.decode(upload.read())
        elif request.form.get("text"):
            text = request.form["text"]
        else:
            raise InvalidInput("file", "choose a CSV file", reason="required")
        parsed = contact_fields.read_csv(text)
    except InvalidInput as error:
        return _failed(incident, _action("csv"), error, ("file",))
    if request.form.get("confirm") != "1":
        contact_fields.mark_duplicates(parsed, outreach.existing_identities(get_session(), incident))
        action = _action("csv", form={"text": text}, parsed=parsed, row_errors=_row_errors(parsed),
                         preview=parsed.rows[:PREVIEW_ROWS], previewing=True)
        outreach.record_list_preview(get_session(), incident=incident, parsed=parsed, actor=current_actor(),
                                     now=utcnow())
        get_session().commit()
        return _answer(incident, ACTION, outreach_action=action)
    return _import(incident, parsed, kind="csv", origin=ContactOrigin.CSV, values={"text": text})


def _contact_values(person: Any) -> dict[str, str]:
    """A stored customer as the add/edit form shows it: order numbers on one line, no demand as blank."""
    typed = outreach.as_typed(person)
    return {**typed, "order_numbers": ", ".join(typed["order_numbers"]), "demand": typed["demand"] or ""}


@bp.get("/incidents/<reference>/contacts/<int:contact_id>/edit")
def edit_form(reference: str, contact_id: int) -> Any:
    """The customer's details in the add form, to correct them."""
    session = get_session()
    incident = service.get_incident(session, reference)
    person = outreach.get_contact(session, incident, contact_id)
    return _answer(incident, ACTION, outreach_action=_action("one", contact=person, form=_contact_values(person)))


@bp.post("/incidents/<reference>/contacts/<int:contact_id>/edit")
def edit_contact(reference: str, contact_id: int) -> Any:
    """Save corrected details; a handle another customer has is answered at the field."""
    session = get_session()
    incident = service.get_incident(session, reference)
    person = outreach.get_contact(session, incident, contact_id)
    values = {key: request.form.get(key, "") for key in contact_fields.FIELDS}
    try:
        changes = outreach.edit_contact(session, incident=incident, contact=person, raw=values,
                                        actor=current_actor(), now=utcnow())
    except InvalidInput as error:
        session.rollback()
        person = outreach.get_contact(session, incident, contact_id)
        return _failed(incident, _action("one", contact=person, form=values), error, contact_fields.FIELDS)
    return _succeeded(incident, outreach_labels.done_edited(person.name, len(changes)))


@bp.post("/incidents/<reference>/contacts/<int:contact_id>/remove")
def remove_contact(reference: str, contact_id: int) -> Any:
    """Take a customer added by mistake off the list (refused once outreach is logged for them)."""
    session = get_session()
    incident = service.get_incident(session, reference)
    person = outreach.get_contact(session, incident, contact_id)
    name = person.name
    try:
        outreach.remove_contact(session, incident=incident, contact=person, actor=current_actor(), now=utcnow())
    except InvalidInput as error:
        session.rollback()
        person = outreach.get_contact(session, incident, contact_id)
        return _failed(incident, _attempt_action(person, {"channel": person.platform.value}), error, ())
    return _succeeded(incident, outreach_labels.done_removed(name))


@bp.get("/incidents/<reference>/contacts/<int:contact_id>")
def contact(reference: str, contact_id: int) -> Any:
    """One customer: their attempts and compensation, and the form to log the next attempt."""
    session = get_session()
    incident = service.get_incident(session, reference)
    person = outreach.get_contact(session, incident, contact_id)
    return _answer(incident, ACTION, outreach_action=_attempt_action(person, {"channel": person.platform.value}))


def _attempt_action(person: Any, values: dict[str, Any]) -> dict[str, Any]:
    return _action("attempt", contact=person, form=values,
                   attempts=outreach_queries.attempts(get_session(), person))


@bp.post("/incidents/<reference>/contacts/<int:contact_id>/attempts")
def log_attempt(reference: str, contact_id: int) -> Any:
    """Log an attempt (one click from the list, or the full form with an offer and a promise)."""
    session = get_session()
    incident = service.get_incident(session, reference)
    person = outreach.get_contact(session, incident, contact_id)
    values = {key: request.form.get(key, "") for key in ATTEMPT_FIELDS}
    try:
        outreach.log_attempt(
            session, incident=incident, contact=person, result=values["result"], channel=values["channel"] or None,
            at=local_datetime(values["at"], "at"), note=values["note"], offer_kind=values["offer_kind"] or None,
            offer_value=values["offer_value"], promise=values["promise"],
            promise_due_at=local_datetime(values["promise_due_at"], "promise_due_at"),
            actor=current_actor(), now=utcnow(), zone=team_zone(),
        )
    except InvalidInput as error:
        session.rollback()
        person = outreach.get_contact(session, incident, contact_id)
        return _failed(incident, _attempt_action(person, values), error, ATTEMPT_FIELDS)
    return _succeeded(incident, outreach_labels.done_attempt(person.name, values["result"]))


@bp.post("/incidents/<reference>/compensation/<int:compensation_id>")
def advance_compensation(reference: str, compensation_id: int) -> Any:
    """Move a compensation on: accepted or declined, delivered, receipt confirmed."""
    session = get_session()
    incident = service.get_incident(session, reference)
    compensation = outreach.get_compensation(session, incident, compensation_id)
    target = request.form.get("to", "")
    try:
        outreach.advance_compensation(session, incident=incident, compensation=compensation, to=target,
                                      actor=current_actor(), now=utcnow(), zone=team_zone())
    except InvalidInput as error:
        return _failed(incident, _action("error"), error, ())
    return _succeeded(incident, str(outreach_labels.COMPENSATION_NAMES[CompensationState(target)]))


@bp.get("/compensation")
def ledger() -> Any:
    """The compensation ledger across incidents: offered, accepted, delivered, confirmed."""
    return render_template("outreach/ledger.html", ledger=outreach_queries.ledger(get_session()))
