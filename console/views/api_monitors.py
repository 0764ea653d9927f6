"""The monitors under /api/v1: sources, rules, mentions and an incident's mentions, for scripts.

Nested in the API blueprint (endpoints "api.monitors.*"), so the same bearer tokens, role
matrix and JSON errors apply.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request, url_for

from console import allowed_networks, current_actor
from console.db import get_session
from console.i18n import team_zone
from console.views.api import bp as api_bp
from console.views.api import json_body, string_field
from incidents import service
from incidents.lifecycle import Source
from incidents.monitor_models import Mention, MonitorRule, MonitorSource
from console.clock import utcnow
from monitors import mentions, rulebook, sources

bp = Blueprint("monitors", __name__)


def created(data: dict[str, Any], location: str) -> Any:
    """201 with the new thing and where to find it."""
    response = jsonify(data)
    response.status_code = 201
    response.headers["Location"] = location
    return response


def _iso(value: Any) -> str | None:
    return value.isoformat() if value else None


def source_json(source: MonitorSource) -> dict[str, Any]:
    """A source with its health; header values are never shown."""
    health = sources.health(source, utcnow())
    return {
        "id": source.id, "name": source.name, "url": source.url, "interval_s": source.interval_s,
        "enabled": source.enabled, "headers": sources.masked_headers(source.headers), "tags": source.tags,
        "expected_period_s": source.expected_period_s,
        "health": {
            "state": health.state, "silent": health.silent, "silent_for_s": health.silent_for_s,
            "last_poll_at": _iso(source.last_poll_at), "last_success_at": _iso(source.last_success_at),
            "last_error": source.last_error, "last_error_at": _iso(source.last_error_at),
            "last_warning": source.last_warning, "consecutive_failures": source.consecutive_failures,
            "next_poll_at": _iso(source.next_poll_at), "items_seen": source.items_seen,
            "last_entry_at": _iso(source.last_entry_at),
        },
    }


def rule_json(rule: MonitorRule) -> dict[str, Any]:
    data = {field: getattr(rule, field) for field in rulebook.FIELDS}
    data["severity"] = rule.severity.value
    return {"id": rule.id, **data, "last_raised_at": _iso(rule.last_raised_at),
            "incident": rule.incident.reference if rule.incident else None}


def mention_json(mention: Mention) -> dict[str, Any]:
    return {
        "id": mention.id, "source_id": mention.source_id, "source": mention.source_name, "title": mention.title,
        "text": mention.text, "link": mention.link, "author": mention.author, "platform": mention.platform,
        "published_at": _iso(mention.published_at), "categories": mention.categories,
        "engagement": mention.engagement, "matches": mention.matches, "score": mention.score,
        "risk": mentions.risk_level(mention).value, "state": mention.state.value,
        "incident": mention.incident.reference if mention.incident else None,
        "created_at": mention.created_at.isoformat(),
    }


@bp.get("/sources")
def list_sources() -> Any:
    """Every source with its health."""
    return jsonify(sources=[source_json(s) for s in sources.list_sources(get_session())])


@bp.post("/sources")
def create_source() -> Any:
    """Add a source: {"name", "url", "interval_s"?, "enabled"?, "headers"?, "tags"?, "expected_period_s"?}."""
    payload = json_body(set(sources.FIELDS))
    session = get_session()
    source = sources.create_source(session, payload, allowed_networks=allowed_networks(), actor=current_actor(),
                                   now=utcnow())
    session.commit()
    return created(source_json(source), url_for("api.monitors.get_source", source_id=source.id))


@bp.get("/sources/<int:source_id>")
def get_source(source_id: int) -> Any:
    return jsonify(source_json(sources.get_source(get_session(), source_id)))


@bp.patch("/sources/<int:source_id>")
def update_source(source_id: int) -> Any:
    """Change any of the fields given."""
    payload = json_body(set(sources.FIELDS))
    session = get_session()
    source = sources.update_source(session, sources.get_source(session, source_id), payload,
                                   allowed_networks=allowed_networks(), actor=current_actor(), now=utcnow())
    session.commit()
    return jsonify(source_json(source))


@bp.delete("/sources/<int:source_id>")
def delete_source(source_id: int) -> Any:
    """Remove a source; its mentions stay."""
    session = get_session()
    sources.delete_source(session, sources.get_source(session, source_id), actor=current_actor(), now=utcnow())
    session.commit()
    return "", 204


@bp.post("/sources/<int:source_id>/poll")
def poll_source(source_id: int) -> Any:
    """Poll now: the worker takes the source on its next tick (202)."""
    session = get_session()
    source = sources.get_source(session, source_id)
    sources.poll_soon(session, source, actor=current_actor(), now=utcnow())
    session.commit()
    return jsonify(source_json(source)), 202


@bp.get("/rules")
def list_rules() -> Any:
    return jsonify(rules=[rule_json(r) for r in rulebook.list_rules(get_session())])


@bp.post("/rules")
def create_rule() -> Any:
    """Add a rule: {"name", "brand", "aliases"?, "negative_terms"? {term: weight}, "critical_terms"?, …}."""
    payload = json_body(set(rulebook.FIELDS))
    session = get_session()
    rule = rulebook.create_rule(session, payload, actor=current_actor(), now=utcnow())
    session.commit()
    return created(rule_json(rule), url_for("api.monitors.get_rule", rule_id=rule.id))


@bp.get("/rules/<int:rule_id>")
def get_rule(rule_id: int) -> Any:
    return jsonify(rule_json(rulebook.get_rule(get_session(), rule_id)))


@bp.patch("/rules/<int:rule_id>")
def update_rule(rule_id: int) -> Any:
    payload = json_body(set(rulebook.FIELDS))
    session = get_session()
    rule = rulebook.update_rule(session, rulebook.get_rule(session, rule_id), payload, actor=current_actor(),
                                now=utcnow())
    session.commit()
    return jsonify(rule_json(rule))


@bp.delete("/rules/<int:rule_id>")
def delete_rule(rule_id: int) -> Any:
    session = get_session()
    rulebook.delete_rule(session, rulebook.get_rule(session, rule_id), actor=current_actor(), now=utcnow())
    session.commit()
    return "", 204


@bp.get("/mentions")
def list_mentions() -> Any:
    """Mentions filtered by state (new|dismissed|attached|raised|all), source, rule, min_score, matched, before;
    newest first, or the riskiest first with order=risk."""
    chosen = mentions.parse_inbox_filter(request.args)
    found = mentions.inbox(get_session(), chosen)
    return jsonify(mentions=[mention_json(m) for m in found],
                   older=found[-1].id if len(found) == mentions.INBOX_LIMIT else None)


@bp.get("/mentions/<int:mention_id>")
def get_mention(mention_id: int) -> Any:
    return jsonify(mention_json(mentions.get_mention(get_session(), mention_id)))


@bp.post("/mentions/<int:mention_id>/dismiss")
def dismiss_mention(mention_id: int) -> Any:
    session = get_session()
    mention = mentions.get_mention(session, mention_id)
    mentions.dismiss_mention(session, mention, actor=current_actor(), now=utcnow())
    session.commit()
    return jsonify(mention_json(mention))


@bp.post("/mentions/<int:mention_id>/attach")
def attach_mention(mention_id: int) -> Any:
    """Attach to an incident: {"incident": "INC-…"}."""
    payload = json_body({"incident"})
    session = get_session()
    mention = mentions.get_mention(session, mention_id)
    mentions.attach_to_reference(session, mention, string_field(payload, "incident", required=True) or "",
                                 actor=current_actor(), now=utcnow())
    session.commit()
    return jsonify(mention_json(mention))


@bp.post("/mentions/<int:mention_id>/raise")
def raise_mention(mention_id: int) -> Any:
    """Open a public-opinion incident from the mention: {"severity", "title"?}."""
    payload = json_body({"severity", "title"})
    session = get_session()
    mention = mentions.get_mention(session, mention_id)
    incident = mentions.raise_from_mention(
        session, mention, severity=string_field(payload, "severity", required=True) or "",
        title=string_field(payload, "title") or "", source=Source.API, actor=current_actor(), now=utcnow(),
        zone=team_zone())
    session.commit()
    return created({"mention": mention_json(mention), "incident": incident.reference},
                   url_for("api.get_incident", reference=incident.reference))


@bp.get("/incidents/<reference>/mentions")
def incident_mentions(reference: str) -> Any:
    """The mentions attached to an incident, newest first."""
    session = get_session()
    incident = service.get_incident(session, reference)
    return jsonify(mentions=[mention_json(m) for m in mentions.incident_mentions(session, incident)])


api_bp.register_blueprint(bp)
