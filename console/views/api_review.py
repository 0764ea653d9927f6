"""/api/v1 twins of the aftermath: the six-step case, the review, action items and reports."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request

from console import current_actor
from console.db import get_session
from console.i18n import team_zone
from console.views.api import bp, integer_field, json_body, string_field
from console.views.report_pages import csv_response, parse_period
from incidents import cases, reports, reviews, service
from incidents.errors import InvalidInput
from incidents.models import Incident
from incidents.review_figures import figures_for
from incidents.review_models import ActionItem, CaseStep, Review
from console.clock import utcnow


def _time(value: Any) -> str | None:
    return value.isoformat() if value else None


def _step_json(row: CaseStep | None) -> dict[str, Any] | None:
    if row is None:
        return None
    return {"version": row.version, "fields": row.fields, "recorded_at": _time(row.recorded_at),
            "recorded_by": row.recorded_by_label}


def _case_json(incident: Incident) -> dict[str, Any]:
    latest = cases.latest_steps(get_session(), incident)
    return {"reference": incident.reference, "applies": cases.applies(incident),
            "steps": [{"step": key, "number": number, "current": _step_json(latest.get(key))}
                      for number, key in enumerate(cases.STEP_ORDER, start=1)]}


@bp.get("/incidents/<reference>/case")
def get_case(reference: str) -> Any:
    """The six-step case: each step's current version."""
    return jsonify(_case_json(service.get_incident(get_session(), reference)))


@bp.get("/incidents/<reference>/case/<step>")
def case_step_history(reference: str, step: str) -> Any:
    """Every saved version of one step, newest first."""
    incident = service.get_incident(get_session(), reference)
    if step not in cases.STEPS:
        raise InvalidInput("step", f"unknown step {step!r}", reason="choice", allowed=", ".join(cases.STEP_ORDER))
    return jsonify({"step": step, "versions": [_step_json(r) for r in cases.step_history(get_session(), incident, step)]})


@bp.post("/incidents/<reference>/case/<step>")
def record_case_step(reference: str, step: str) -> Any:
    """Save a new version of one step: {"fields": {...}}; a plan before the facts is 422."""
    session = get_session()
    incident = service.get_incident(session, reference)
    payload = json_body({"fields"})
    fields = payload.get("fields")
    if not isinstance(fields, dict):
        raise InvalidInput("fields", "fields must be an object", reason="required")
    row = cases.record_step(session, incident=incident, step=step, fields=fields, actor=current_actor(),
                            now=utcnow(), zone=team_zone())
    session.commit()
    return jsonify({"step": step, **(_step_json(row) or {})}), 201


def _item_json(item: ActionItem) -> dict[str, Any]:
    return {"id": item.id, "title": item.title, "owner": {"id": item.owner_id, "name": item.owner.display_name},
            "due_at": _time(item.due_at), "status": item.status.value, "note": item.note,
            "settled_at": _time(item.settled_at), "deadline_id": item.deadline_id}


def _review_json(incident: Incident, review: Review | None) -> dict[str, Any]:
    body: dict[str, Any] = {"reference": incident.reference, "state": review.state.value if review else None}
    if review is not None:
        body.update({field: getattr(review, field) for field in reviews.TEXT_FIELDS})
        body.update({"links": review.links, "version": review.version, "completed_at": _time(review.completed_at),
                     "completed_by": review.completed_by_label or None, "waived_reason": review.waived_reason or None,
                     "action_items": [_item_json(item) for item in review.action_items]})
    body["missing"] = reviews.missing_fields(review)
    body["figures_frozen"] = bool(review and review.figures)
    body["figures"] = review.figures if review and review.figures else figures_for(get_session(), incident,
                                                                                    now=utcnow())
    return body


@bp.get("/incidents/<reference>/review")
def get_review(reference: str) -> Any:
    """The review with its figures (live until completed, then frozen) and action items."""
    incident = service.get_incident(get_session(), reference)
    return jsonify(_review_json(incident, reviews.get_review(get_session(), incident)))


@bp.patch("/incidents/<reference>/review")
def save_review(reference: str) -> Any:
    """Save the draft: any of the text fields and `links`; `version` guards against lost edits."""
    session = get_session()
    incident = service.get_incident(session, reference)
    payload = json_body({*reviews.TEXT_FIELDS, "links", "version"})
    version = integer_field(payload, "version")
    payload.pop("version", None)
    for field in reviews.TEXT_FIELDS:
        string_field(payload, field)
    if "links" in payload and not isinstance(payload["links"], list):
        raise InvalidInput("links", "links must be a list of {kind, id}", reason="bad_link")
    review = reviews.save_review(session, incident=incident, values=payload, expected_version=version,
                                 actor=current_actor(), now=utcnow())
    session.commit()
    return jsonify(_review_json(incident, review))


@bp.post("/incidents/<reference>/review/complete")
def complete_review(reference: str) -> Any:
    """Sign the review off (duty managers, admins); 422 names the first missing field."""
    session = get_session()
    incident = service.get_incident(session, reference)
    review = reviews.complete_review(session, incident=incident, actor=current_actor(), now=utcnow())
    session.commit()
    return jsonify(_review_json(incident, review))


@bp.post("/incidents/<reference>/review/waive")
def waive_review(reference: str) -> Any:
    """Excuse the incident from its review (admins): {"reason": "..."}."""
    session = get_session()
    incident = service.get_incident(session, reference)
    payload = json_body({"reason"})
    review = reviews.waive_review(session, incident=incident, reason=string_field(payload, "reason") or "",
                                  actor=current_actor(), now=utcnow())
    session.commit()
    return jsonify(_review_json(incident, review))


@bp.post("/incidents/<reference>/review/actions")
def add_action_item(reference: str) -> Any:
    """Add an action item: {"title", "owner_id", "due_date" (YYYY-MM-DD or an ISO time)}."""
    session = get_session()
    incident = service.get_incident(session, reference)
    payload = json_body({"title", "owner_id", "due_date"})
    item = reviews.add_action_item(session, incident=incident, title=string_field(payload, "title") or "",
                                   owner_id=payload.get("owner_id"), due_date=string_field(payload, "due_date") or "",
                                   actor=current_actor(), now=utcnow(), zone=team_zone())
    session.commit()
    return jsonify(_item_json(item)), 201


@bp.post("/incidents/<reference>/review/actions/<int:item_id>")
def settle_action_item(reference: str, item_id: int) -> Any:
    """Settle an action item: {"status": "done"|"dropped", "note"} (dropping needs a note)."""
    session = get_session()
    incident = service.get_incident(session, reference)
    item = reviews.get_action_item(session, incident, item_id)
    payload = json_body({"status", "note"})
    reviews.settle_action_item(session, incident=incident, item=item, status=string_field(payload, "status") or "",
                               note=string_field(payload, "note") or "", actor=current_actor(), now=utcnow(),
                               zone=team_zone())
    session.commit()
    return jsonify(_item_json(item))


@bp.get("/reports")
def get_report() -> Any:
    """The report for ?days=7|30|90 or ?from=&to= (local dates)."""
    period, _ = parse_period(request.args)
    report = reports.report(get_session(), period, now=utcnow(), zone=team_zone())
    return jsonify({
        "start": _time(period.start), "end": _time(period.end), "total": report["total"],
        "by_kind": report["by_kind"], "by_severity": report["by_severity"], "by_source": report["by_source"],
        "per_day": [{"day": day, "count": count} for day, count in report["per_day"]],
        "time_to_acknowledge": report["acknowledge"], "time_to_resolve": report["resolve"],
        "adherence": report["adherence"], "categories": report["categories"],
        "root_causes": [{"root_cause": text, "count": count} for text, count in report["root_causes"]],
        "action_items": {"open": report["actions"]["open"], "overdue": report["actions"]["overdue"],
                         "items": [_item_json(item) for item in report["actions"]["items"]]},
        "outreach": report["outreach"], "compensation": report["compensation"],
    })


@bp.get("/reports/<name>.csv")
def export_report(name: str) -> Any:
    """One table of the report as CSV (same datasets as /reports)."""
    period, _ = parse_period(request.args)
    return csv_response(name, period, for_people=False)
