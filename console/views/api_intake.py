"""The API for inbound signals: complaint intake, surge rules and the alert-hook mappings.

Routes hang on the /api/v1 blueprint (console.views.api), so they share its token
authentication and its error shape {"error": {"code", "message", "field"}}.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, jsonify, request

from console import current_actor
from console.db import get_session
from console.i18n import team_zone
from console.views.api import _body, bp
from incidents.errors import InvalidInput
from incidents.intake_models import ComplaintReport, ComplaintSurgeRule
from console.clock import utcnow
from monitors import alert_intake, complaints

COMPLAINT_FIELDS = {"product", "category", "channel", "text", "order_no"}


def complaint_json(report: ComplaintReport) -> dict[str, Any]:
    """A complaint report as the API shows it."""
    return {
        "id": report.id,
        "product": report.product,
        "category": report.category,
        "channel": report.channel,
        "text": report.text,
        "order_no": report.order_no,
        "received_at": report.received_at.isoformat(),
        "local_day": report.local_day.isoformat(),
        "reported_by": report.reported_by,
        "incident": report.incident.reference if report.incident is not None else None,
    }


def rule_json(rule: ComplaintSurgeRule) -> dict[str, Any]:
    return {"id": rule.id, "product": rule.product, "category": rule.category, "threshold": rule.threshold,
            "severity": rule.severity.value, "enabled": rule.enabled, "cooldown_minutes": rule.cooldown_minutes,
            "updated_at": rule.updated_at.isoformat()}


def team_language() -> str:
    """The language texts written by the console itself (titles of raised incidents) use."""
    return "zh" if current_app.config["BABEL_DEFAULT_LOCALE"].startswith("zh") else "en"


@bp.post("/complaints")
def create_complaint() -> Any:
    """Log a complaint: {"product", "category", "channel", "text", "order_no"?}; may raise a surge incident."""
    payload = _body(COMPLAINT_FIELDS)
    session = get_session()
    outcome = complaints.record_complaint(
        session, product=payload.get("product"), category=payload.get("category"), channel=payload.get("channel"),
        text=payload.get("text"), order_no=payload.get("order_no"), actor=current_actor(), now=utcnow(),
        zone=team_zone(), language=team_language(),
    )
    session.commit()
    body = {**complaint_json(outcome.report), "raised": outcome.raised}
    return jsonify(body), 201


@bp.get("/complaints")
def list_complaints() -> Any:
    """The newest complaints: ?product=&category=&limit= (at most 500)."""
    try:
        limit = int(request.args.get("limit", "100"))
    except ValueError:
        raise InvalidInput("limit", "limit must be a number") from None
    reports = complaints.recent_reports(get_session(), product=request.args.get("product", "").strip(),
                                        category=request.args.get("category", ""), limit=limit)
    return jsonify(complaints=[complaint_json(r) for r in reports])


@bp.get("/complaint-rules")
def list_complaint_rules() -> Any:
    """Every surge rule."""
    return jsonify(rules=[rule_json(r) for r in complaints.list_rules(get_session())])


@bp.post("/complaint-rules")
def create_complaint_rule() -> Any:
    """Add a rule: {"category", "product"? ("" = any), "threshold"?, "severity"?, "enabled"?, "cooldown_minutes"?}."""
    payload = _body(set(complaints.RULE_FIELDS))
    session = get_session()
    rule = complaints.create_rule(session, values=payload, actor=current_actor(), now=utcnow())
    session.commit()
    return jsonify(rule_json(rule)), 201


@bp.patch("/complaint-rules/<int:rule_id>")
def update_complaint_rule(rule_id: int) -> Any:
    """Change any of a rule's settings."""
    payload = _body(set(complaints.RULE_FIELDS))
    session = get_session()
    rule = complaints.update_rule(session, rule_id=rule_id, values=payload, actor=current_actor(), now=utcnow())
    session.commit()
    return jsonify(rule_json(rule))


@bp.delete("/complaint-rules/<int:rule_id>")
def delete_complaint_rule(rule_id: int) -> Any:
    """Remove a rule."""
    session = get_session()
    complaints.delete_rule(session, rule_id=rule_id, actor=current_actor(), now=utcnow())
    session.commit()
    return "", 204


@bp.get("/hook-settings")
def get_hook_settings() -> Any:
    """How alert labels map to severity and components."""
    return jsonify(alert_intake.hook_config(get_session()).as_setting())


@bp.put("/hook-settings")
def put_hook_settings() -> Any:
    """Replace the mappings: {"default_severity", "severity": {selector: P-level}, "components": {selector: [names]}}."""
    payload = _body({"default_severity", "severity", "components"})
    session = get_session()
    config = alert_intake.save_hook_config(session, payload, actor=current_actor(), now=utcnow())
    session.commit()
    return jsonify(config.as_setting())
