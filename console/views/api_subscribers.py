"""The /api/v1 twins of the subscriber admin page: list, add, show with the delivery log,
pause, resume, remove.

Routes are added to console.views.api's blueprint (bearer tokens, the role matrix, the error
shape); this module must be imported before that blueprint is registered.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify, request, url_for

from console import allowed_networks, current_actor
from console.db import get_session
from console.views.api import bp, json_body
from incidents import subscribers
from incidents.errors import InvalidInput
from incidents.subscriber_models import Subscriber
from console.clock import utcnow

ADD_KEYS = {"kind", "name", "url", "secret", "email", "language", "components"}


def _iso(value: Any) -> str | None:
    return value.isoformat() if value else None


def subscriber_json(s: Subscriber) -> dict[str, Any]:
    return {
        "id": s.id, "kind": s.kind, "name": s.name, "address": s.address, "state": s.state.value,
        "paused_reason": s.paused_reason or None, "all_components": s.all_components,
        "components": [c.id for c in s.components], "language": s.language, "origin": s.origin,
        "consecutive_failures": s.consecutive_failures, "last_error": s.last_error or None,
        "last_delivered_at": _iso(s.last_delivered_at), "created_at": _iso(s.created_at),
        "confirmed_at": _iso(s.confirmed_at),
    }


def delivery_json(delivery: subscribers.Delivery) -> dict[str, Any]:
    m = delivery.message
    return {
        "id": m.id, "event": m.event, "subject": m.message.get("subject"), "state": m.state.value,
        "attempts": m.attempts, "last_error": m.last_error or None, "created_at": _iso(m.created_at),
        "delivered_at": _iso(m.delivered_at),
        "log": [{"at": _iso(a.at), "ok": a.ok, "status_code": a.status_code, "detail": a.detail,
                 "duration_ms": a.duration_ms} for a in delivery.attempts],
    }


@bp.get("/subscribers")
def list_subscribers() -> Any:
    """Subscribers, paused-by-failures first; ?state=pending|active|paused|unsubscribed narrows."""
    found = subscribers.list_subscribers(get_session(), state=request.args.get("state") or None)
    return jsonify(subscribers=[subscriber_json(s) for s in found])


@bp.post("/subscribers")
def create_subscriber() -> Any:
    """Add one: {"kind": wecom|dingtalk|feishu|webhook|email, "url"?, "secret"?, "email"?, "name"?,
    "language"?: zh|en, "components"?: [ids] (none: all)}; active at once."""
    payload = json_body(ADD_KEYS)
    components = payload.get("components") or []
    if not isinstance(components, list):
        raise InvalidInput("components", "components must be a list of component ids", reason="invalid")
    session = get_session()
    subscriber = subscribers.add_subscriber(session, data={**payload, "components": components},
                                            actor=current_actor(), now=utcnow(), allowed_networks=allowed_networks())
    session.commit()
    response = jsonify(subscriber_json(subscriber))
    response.status_code = 201
    response.headers["Location"] = url_for("api.get_subscriber", subscriber_id=subscriber.id)
    return response


@bp.get("/subscribers/<int:subscriber_id>")
def get_subscriber(subscriber_id: int) -> Any:
    """One subscriber with its latest messages and every attempt at them."""
    session = get_session()
    subscriber = subscribers.get_subscriber(session, subscriber_id)
    return jsonify({**subscriber_json(subscriber),
                    "deliveries": [delivery_json(d) for d in subscribers.delivery_log(session, subscriber)]})


def _act(subscriber_id: int, action: Any) -> Any:
    session = get_session()
    subscriber = subscribers.get_subscriber(session, subscriber_id)
    action(session, subscriber=subscriber, actor=current_actor(), now=utcnow())
    session.commit()
    return jsonify(subscriber_json(subscriber))


@bp.post("/subscribers/<int:subscriber_id>/pause")
def pause_subscriber(subscriber_id: int) -> Any:
    """Stop sending to an active subscriber."""
    return _act(subscriber_id, subscribers.pause)


@bp.post("/subscribers/<int:subscriber_id>/resume")
def resume_subscriber(subscriber_id: int) -> Any:
    """Send to a paused subscriber again."""
    return _act(subscriber_id, subscribers.resume)


@bp.delete("/subscribers/<int:subscriber_id>")
def delete_subscriber(subscriber_id: int) -> Any:
    """Remove a subscriber (its delivery log stays); 204."""
    session = get_session()
    subscriber = subscribers.get_subscriber(session, subscriber_id)
    subscribers.remove(session, subscriber=subscriber, actor=current_actor(), now=utcnow())
    session.commit()
    return "", 204
