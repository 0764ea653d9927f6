"""Affected customers and outreach in the JSON API: the twins of the incident page's outreach panel.

Routes join the `api` blueprint (console.views.api) with its conventions: bearer tokens, JSON
bodies with unknown keys refused, errors {"error": {"code", "message", "field"?}}. A CSV file
or a pasted list is posted as the raw request body; rows at fault come back with their numbers.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify, request

from console import current_actor
from console.db import get_session
from console.errors import api_error
from console.i18n import team_zone
from console.views.api import BadRequest, bp, json_body, string_field
from console.views.api_status import _instant
from incidents import contact_fields, outreach, outreach_queries, service
from incidents.errors import InvalidInput
from incidents.outreach_models import AffectedContact, Compensation, ContactOrigin, OutreachAttempt
from console.clock import utcnow

CONTACT_KEYS = set(contact_fields.FIELDS)
ATTEMPT_KEYS = {"result", "channel", "at", "note", "offer_kind", "offer_value", "promise", "promise_due_at"}


def _time(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def contact_json(contact: AffectedContact) -> dict[str, Any]:
    return {
        "id": contact.id, "name": contact.name, "platform": contact.platform.value, "handle": contact.handle,
        "order_numbers": contact.order_numbers, "activity": contact.activity,
        "demand": contact.demand.value if contact.demand else None, "notes": contact.notes,
        "origin": contact.origin.value, "created_at": _time(contact.created_at),
        "attempts": contact.attempts, "last_attempt_at": _time(contact.last_attempt_at),
        "last_result": contact.last_result.value if contact.last_result else None,
        "reached_at": _time(contact.reached_at),
    }


def attempt_json(attempt: OutreachAttempt) -> dict[str, Any]:
    deadline = attempt.deadline
    return {
        "id": attempt.id, "contact": attempt.contact_id, "at": _time(attempt.at), "channel": attempt.channel.value,
        "result": attempt.result.value, "note": attempt.note, "actor": attempt.actor_label,
        "promise": {"text": attempt.promise, "due_at": _time(attempt.promise_due_at),
                    "deadline": deadline.id if deadline else None,
                    "state": deadline.state.value if deadline else None} if attempt.promise else None,
    }


def compensation_json(row: Compensation) -> dict[str, Any]:
    return {
        "id": row.id, "incident": row.incident.reference, "contact": row.contact_id, "name": row.contact.name,
        "kind": row.kind.value, "value": str(row.value) if row.value is not None else None,
        "state": row.state.value, "closed": row.closed, "offered_at": _time(row.offered_at),
        "accepted_at": _time(row.accepted_at), "declined_at": _time(row.declined_at),
        "delivered_at": _time(row.delivered_at), "confirmed_at": _time(row.confirmed_at),
    }


def _ledger_json(book: outreach_queries.Ledger) -> dict[str, Any]:
    return {**book.totals(), "open": book.open, "compensation": [compensation_json(row) for row in book.rows]}


@bp.get("/incidents/<reference>/contacts")
def list_contacts(reference: str) -> Any:
    """The affected customers: counts, and a page of them (`?show=all|not_reached|overdue&q=&page=`)."""
    session = get_session()
    incident = service.get_incident(session, reference)
    show = request.args.get("show", "all")
    if show not in outreach_queries.FILTERS:
        raise InvalidInput("show", f"show must be one of {', '.join(outreach_queries.FILTERS)}", reason="choice",
                           allowed=", ".join(outreach_queries.FILTERS))
    page = request.args.get("page", "1")
    if not page.isdigit() or int(page) < 1:
        raise InvalidInput("page", "page must be a whole number from 1", reason="invalid")
    now = utcnow()
    summary = outreach_queries.summary(session, incident, now)
    rows, total = outreach_queries.contacts(session, incident, now=now, show=show, query=request.args.get("q", ""),
                                            page=int(page))
    return jsonify(affected=summary.affected, reached=summary.reached, overdue=summary.overdue,
                   due_at=_time(summary.due_at), total=total, page=int(page),
                   contacts=[contact_json(c) for c in rows])


@bp.post("/incidents/<reference>/contacts")
def create_contact(reference: str) -> Any:
    """Add one customer: {"name"?, "handle"?, "platform"?, "order_numbers"?, "activity"?, "demand"?, "notes"?}."""
    payload = json_body(CONTACT_KEYS)
    session = get_session()
    incident = service.get_incident(session, reference)
    contact = outreach.add_contact(session, incident=incident, raw=payload, origin=ContactOrigin.API,
                                   actor=current_actor(), now=utcnow())
    session.commit()
    return jsonify(contact_json(contact)), 201


def _row_errors(parsed: contact_fields.ParsedRows) -> list[dict[str, Any]]:
    return [{"row": e.row, "field": e.error.field, "reason": e.error.reason, "message": e.error.message}
            for e in parsed.errors]


@bp.post("/incidents/<reference>/contacts/import")
def import_contacts(reference: str) -> Any:
    """Import the raw body: a CSV file (`?format=csv`, default) or a pasted list (`?format=lines`).

    `?dry_run=1` only reads it; bad rows make it a 422 with every row's error, unless
    `?skip_bad_rows=1`, which imports the good rows and lists the skipped ones.
    """
    session = get_session()
    incident = service.get_incident(session, reference)
    kind = request.args.get("format", "csv")
    if kind not in ("csv", "lines"):
        raise BadRequest("format must be csv or lines", "format")
    text = contact_fields.decode(request.get_data())
    parsed = contact_fields.read_csv(text) if kind == "csv" else contact_fields.read_pasted(text)
    contact_fields.mark_duplicates(parsed, outreach.existing_identities(session, incident))
    skip = request.args.get("skip_bad_rows") == "1"
    report = {"rows": parsed.total, "valid": len(parsed.rows), "errors": _row_errors(parsed),
              "ignored_columns": parsed.ignored_columns}
    if request.args.get("dry_run") == "1":
        outreach.record_list_preview(session, incident=incident, parsed=parsed, actor=current_actor(), now=utcnow())
        session.commit()
        return jsonify(dry_run=True, imported=0, **report)
    if parsed.errors and not skip:
        return api_error(422, "rows_with_errors", f"{len(parsed.errors)} rows have errors; nothing was imported",
                         "file", **report)
    origin = ContactOrigin.CSV if kind == "csv" else ContactOrigin.PASTE
    added = outreach.add_contacts(session, incident=incident, rows=[f for _n, f in parsed.rows], origin=origin,
                                  actor=current_actor(), now=utcnow())
    session.commit()
    return jsonify(dry_run=False, imported=len(added), skipped=len(parsed.errors), **report), 201


@bp.get("/incidents/<reference>/contacts/<int:contact_id>")
def get_contact(reference: str, contact_id: int) -> Any:
    """One customer with their attempts, newest first."""
    session = get_session()
    incident = service.get_incident(session, reference)
    contact = outreach.get_contact(session, incident, contact_id)
    return jsonify({**contact_json(contact),
                    "attempt_log": [attempt_json(a) for a in outreach_queries.attempts(session, contact)]})


@bp.patch("/incidents/<reference>/contacts/<int:contact_id>")
def edit_contact(reference: str, contact_id: int) -> Any:
    """Correct a customer's details: any of the fields of create_contact; the rest stay."""
    payload = json_body(CONTACT_KEYS)
    session = get_session()
    incident = service.get_incident(session, reference)
    contact = outreach.get_contact(session, incident, contact_id)
    changes = outreach.edit_contact(session, incident=incident, contact=contact, raw=payload, actor=current_actor(),
                                    now=utcnow())
    session.commit()
    return jsonify({**contact_json(contact), "changed": sorted(changes)})


@bp.delete("/incidents/<reference>/contacts/<int:contact_id>")
def remove_contact(reference: str, contact_id: int) -> Any:
    """Take a customer added by mistake off the list (422 contact_has_outreach once outreach is logged)."""
    session = get_session()
    incident = service.get_incident(session, reference)
    contact = outreach.get_contact(session, incident, contact_id)
    outreach.remove_contact(session, incident=incident, contact=contact, actor=current_actor(), now=utcnow())
    session.commit()
    return "", 204


@bp.post("/incidents/<reference>/contacts/<int:contact_id>/attempts")
def log_attempt(reference: str, contact_id: int) -> Any:
    """Log an attempt: {"result", "channel"?, "at"?, "note"?, "offer_kind"?, "offer_value"?, "promise"?,
    "promise_due_at"?} (times ISO 8601 with offset)."""
    payload = json_body(ATTEMPT_KEYS)
    session = get_session()
    incident = service.get_incident(session, reference)
    contact = outreach.get_contact(session, incident, contact_id)
    attempt = outreach.log_attempt(
        session, incident=incident, contact=contact, result=string_field(payload, "result", required=True),
        channel=string_field(payload, "channel"), at=_instant(payload, "at"), note=string_field(payload, "note") or "",
        offer_kind=string_field(payload, "offer_kind"), offer_value=payload.get("offer_value"),
        promise=string_field(payload, "promise") or "", promise_due_at=_instant(payload, "promise_due_at"),
        actor=current_actor(), now=utcnow(), zone=team_zone(),
    )
    session.commit()
    return jsonify(attempt_json(attempt)), 201


@bp.get("/incidents/<reference>/compensation")
def incident_compensation(reference: str) -> Any:
    """The incident's compensation ledger: totals offered, accepted, delivered, confirmed, and each row."""
    incident = service.get_incident(get_session(), reference)
    return jsonify(_ledger_json(outreach_queries.ledger(get_session(), incident)))


@bp.post("/incidents/<reference>/compensation/<int:compensation_id>")
def advance_compensation(reference: str, compensation_id: int) -> Any:
    """Move a compensation on: {"to": "accepted"|"declined"|"delivered"|"confirmed"}."""
    payload = json_body({"to"})
    session = get_session()
    incident = service.get_incident(session, reference)
    compensation = outreach.get_compensation(session, incident, compensation_id)
    outreach.advance_compensation(session, incident=incident, compensation=compensation,
                                  to=string_field(payload, "to", required=True), actor=current_actor(), now=utcnow(),
                                  zone=team_zone())
    session.commit()
    return jsonify(compensation_json(compensation))


@bp.get("/compensation")
def compensation_ledger() -> Any:
    """The compensation ledger across incidents."""
    return jsonify(_ledger_json(outreach_queries.ledger(get_session())))
