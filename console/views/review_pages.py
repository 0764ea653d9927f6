"""The aftermath on screen: the six-step case panel on the incident page, and the review page.

The case panel follows the incident page's conventions (htmx: the fragment; a plain post:
303 back; bad input: the form again with the message at the field, 422). The review page is
its own page with plain forms, a print stylesheet and a Markdown export.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, make_response, redirect, render_template, request, url_for
from flask_babel import gettext

from console import current_actor, htmx
from console.db import get_session
from console.i18n import message_for, team_zone
from console.review_labels import TEMPLATE_GLOBALS
from console.views.clock_context import may
from console.views.incident_pages import _answer
from incidents import cases, reviews, service
from incidents.errors import InvalidInput, StaleVersion
from incidents.lifecycle import Status
from incidents.models import Incident, StatusUpdate, User
from incidents.monitor_models import Mention
from incidents.review_figures import figures_for
from console.clock import utcnow

bp = Blueprint("review", __name__)


def case_panel(incident: Incident) -> dict[str, Any]:
    """What the case panel shows: each step with its latest version, and the step to work on next."""
    if not cases.applies(incident):
        return {"show": False}
    versions = cases.versions_by_step(get_session(), incident)
    latest = {key: rows[0] for key, rows in versions.items()}
    steps = []
    for number, key in enumerate(cases.STEP_ORDER, start=1):
        needed = cases.NEEDS.get(key)
        steps.append({"key": key, "number": number, "fields": cases.STEPS[key], "latest": latest.get(key),
                      "earlier": versions.get(key, [])[1:],
                      "blocked": bool(needed and needed not in latest),
                      "needs": cases.STEP_ORDER.index(needed) + 1 if needed else None})
    upcoming = next((s["key"] for s in steps if s["latest"] is None), None)
    return {"show": True, "steps": steps, "next": upcoming, "editable": incident.status != Status.CLOSED,
            "can_edit": may("incident.case")}


def review_box(incident: Incident) -> dict[str, Any]:
    """The review's state for the incident page: the line under the header that says what closing needs."""
    review = reviews.get_review(get_session(), incident)
    return {"review": review, "missing": reviews.missing_fields(review)}


def local_input(value: str | None) -> str:
    """A stored ISO time as the value of a datetime-local input, in the team's zone."""
    if not value:
        return ""
    try:
        return datetime.fromisoformat(value).astimezone(team_zone()).strftime("%Y-%m-%dT%H:%M")
    except ValueError:
        return value


@bp.app_context_processor
def _helpers() -> dict[str, Any]:
    return {"case_panel": case_panel, "review_box": review_box, "local_input": local_input, **TEMPLATE_GLOBALS}


# ---------------------------------------------------------------- the six-step case


@bp.get("/incidents/<reference>/case")
def case(reference: str) -> Any:
    """The case panel fragment (the page includes the same markup)."""
    incident = service.get_incident(get_session(), reference)
    return _answer(incident, "review/_case.html")


@bp.post("/incidents/<reference>/case/<step>")
def record_step(reference: str, step: str) -> Any:
    """Save one step of the case: a new version, stamped on the timeline."""
    session = get_session()
    incident = service.get_incident(session, reference)
    fields = {field.key: request.form.get(field.key, "") for field in cases.STEPS.get(step, ())}
    try:
        cases.record_step(session, incident=incident, step=step, fields=fields, actor=current_actor(), now=utcnow(),
                          zone=team_zone())
    except InvalidInput as error:
        session.rollback()
        return _answer(incident, "review/_case.html", 422, case_step=step, case_values=fields,
                       case_errors={error.field: message_for(error)})
    session.commit()
    if htmx:
        return _answer(incident, "review/_case.html", case_saved=True)
    return redirect(url_for("incidents.show", reference=reference, _anchor="incident-case"), code=303)


# ---------------------------------------------------------------- the review page


def _links(incident: Incident) -> dict[str, Any]:
    session = get_session()
    updates = list(session.scalars(sa.select(StatusUpdate).where(StatusUpdate.incident_id == incident.id)
                                   .order_by(StatusUpdate.published_at)))
    mentions = list(session.scalars(sa.select(Mention).where(Mention.incident_id == incident.id)
                                    .order_by(Mention.created_at).limit(200)))
    return {"updates": updates, "mentions": mentions}


def _review_page(incident: Incident, status: int = 200, **state: Any) -> Any:
    session = get_session()
    review = reviews.get_review(session, incident)
    context = {
        "incident": incident,
        "review": review,
        "values": {field: getattr(review, field) if review else "" for field in reviews.TEXT_FIELDS},
        "linked": {(link["kind"], link["id"]) for link in (review.links if review else [])},
        "figures": review.figures if review and review.figures else figures_for(session, incident, now=utcnow()),
        "frozen": bool(review and review.figures),
        "items": list(review.action_items) if review else [],
        "users": list(session.scalars(sa.select(User).where(User.active).order_by(User.display_name))),
        "errors": {},
        "item_values": {},
        "item_errors": {},
        "settle_errors": {},
        "waive_error": None,
        "waive_value": "",
        "notice": None,
        "writable": incident.status != Status.CLOSED and (review is None or review.state.value == "draft"),
        "can_write": may("review.write"),
        "can_sign": may("incident.command"),
        "can_waive": may("admin"),
        "can_settle": may("incident.tick"),
        "missing": reviews.missing_fields(review),
        "now": utcnow(),
        **_links(incident),
    }
    context.update(state)
    return make_response(render_template("review/review.html", **context), status)


def _back(incident: Incident) -> Any:
    return redirect(url_for("review.review_page", reference=incident.reference), code=303)


@bp.get("/incidents/<reference>/review")
def review_page(reference: str) -> Any:
    """The review (复盘): the text, the system's figures, action items; printable."""
    return _review_page(service.get_incident(get_session(), reference))


def _form_links() -> list[dict[str, Any]]:
    links = []
    for value in request.form.getlist("links"):
        kind, _, ident = value.partition(":")
        links.append({"kind": kind, "id": ident})
    return links


@bp.post("/incidents/<reference>/review")
def save_review(reference: str) -> Any:
    """Save the draft (only the fields sent); a stale version is refused with the page reloaded."""
    session = get_session()
    incident = service.get_incident(session, reference)
    values: dict[str, Any] = {f: request.form[f] for f in reviews.TEXT_FIELDS if f in request.form}
    values["links"] = _form_links()
    version = request.form.get("version", "")
    try:
        reviews.save_review(session, incident=incident, values=values, actor=current_actor(), now=utcnow(),
                            expected_version=int(version) if version.isdigit() else None)
    except InvalidInput as error:
        session.rollback()
        return _review_page(incident, 422, values={**values}, errors={error.field: message_for(error)})
    except StaleVersion:
        session.rollback()
        return _review_page(incident, 409, values={**values}, notice=gettext(
            "Someone else saved the review meanwhile. Your text is still in the form; check theirs and save again."))
    session.commit()
    return _back(incident)


@bp.post("/incidents/<reference>/review/complete")
def complete_review(reference: str) -> Any:
    """Sign the review off (duty managers and admins); the figures are frozen with it."""
    session = get_session()
    incident = service.get_incident(session, reference)
    try:
        reviews.complete_review(session, incident=incident, actor=current_actor(), now=utcnow())
    except InvalidInput as error:
        session.rollback()
        missing = error.params.get("missing", [])
        errors = {field: gettext("Required to complete the review.") for field in missing}
        return _review_page(incident, 422, errors=errors, notice=message_for(error))
    session.commit()
    return _back(incident)


@bp.post("/incidents/<reference>/review/waive")
def waive_review(reference: str) -> Any:
    """An admin excuses the incident from its review, with a reason."""
    session = get_session()
    incident = service.get_incident(session, reference)
    reason = request.form.get("reason", "")
    try:
        reviews.waive_review(session, incident=incident, reason=reason, actor=current_actor(), now=utcnow())
    except InvalidInput as error:
        session.rollback()
        return _review_page(incident, 422, waive_error=message_for(error), waive_value=reason)
    session.commit()
    return _back(incident)


@bp.post("/incidents/<reference>/review/actions")
def add_action_item(reference: str) -> Any:
    """Add an action item; its due date goes on the clock."""
    session = get_session()
    incident = service.get_incident(session, reference)
    form = {key: request.form.get(key, "") for key in ("title", "owner_id", "due_date")}
    try:
        reviews.add_action_item(session, incident=incident, title=form["title"], owner_id=form["owner_id"],
                                due_date=form["due_date"], actor=current_actor(), now=utcnow(), zone=team_zone())
    except InvalidInput as error:
        session.rollback()
        return _review_page(incident, 422, item_values=form, item_errors={error.field: message_for(error)})
    session.commit()
    return _back(incident)


@bp.post("/incidents/<reference>/review/actions/<int:item_id>")
def settle_action_item(reference: str, item_id: int) -> Any:
    """Mark an action item done or dropped (dropping needs a reason)."""
    session = get_session()
    incident = service.get_incident(session, reference)
    item = reviews.get_action_item(session, incident, item_id)
    try:
        reviews.settle_action_item(session, incident=incident, item=item, status=request.form.get("status", ""),
                                   note=request.form.get("note", ""), actor=current_actor(), now=utcnow(),
                                   zone=team_zone())
    except InvalidInput as error:
        session.rollback()
        return _review_page(incident, 422, settle_errors={item_id: message_for(error)})
    session.commit()
    return _back(incident)


@bp.get("/incidents/<reference>/review.md")
def review_markdown(reference: str) -> Any:
    """The review as Markdown, to paste into a wiki or a mail."""
    session = get_session()
    incident = service.get_incident(session, reference)
    review = reviews.get_review(session, incident)
    text = render_template(
        "review/review.md", incident=incident, review=review,
        figures=review.figures if review and review.figures else figures_for(session, incident, now=utcnow()),
        items=list(review.action_items) if review else [], values={f: getattr(review, f) if review else ""
                                                                   for f in reviews.TEXT_FIELDS},
    )
    response = make_response(text)
    response.headers["Content-Type"] = "text/markdown; charset=utf-8"
    filename = f"{incident.reference}-review.md"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
