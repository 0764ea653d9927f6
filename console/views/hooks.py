"""Alert webhooks: Prometheus Alertmanager, Grafana, and a generic JSON shape for scripts.

Authentication is an API token (role agent or above), as `Authorization: Bearer <token>`
or, for senders that cannot set headers, `?token=<token>` in the URL. No session, no CSRF.

``POST /hooks/alertmanager``
    Alertmanager's webhook, payload version 4 (Grafana's variant is detected too).
``POST /hooks/grafana``
    Grafana unified alerting's webhook contact point.
``POST /hooks/generic``
    The minimal shape, for any script or tool::

        {"title": "支付回调失败",              # required: what is wrong, in a few words
         "status": "firing" | "resolved",    # required
         "key": "pay-callback",              # optional: groups calls into one incident (default: title)
         "severity": "P1".."P4",             # optional (default: the configured default)
         "description": "回调 5xx 增多",      # optional: becomes the summary
         "components": ["支付"]}              # optional

Answers are JSON: 201 when an incident was opened, 200 otherwise, with ``result`` one of
``opened``, ``updated``, ``unchanged`` (nothing new: a repeat), ``ignored`` (recoveries
for a group with no open incident). A malformed body is a 400/422
``{"error": {"code", "message", "field"}}`` and changes nothing.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request
from sqlalchemy.exc import IntegrityError

from console import current_actor
from console.db import get_session
from console.errors import api_error
from console.i18n import team_zone
from console.clock import utcnow
from monitors.alert_intake import hook_config, receive_alerts
from monitors.alerthooks import HookPayloadError, parse_hook

bp = Blueprint("hooks", __name__, url_prefix="/hooks")


def _receive(hook: str) -> Any:
    if not request.is_json:
        return api_error(400, "bad_request", "send JSON with Content-Type: application/json", "payload")
    try:
        batch = parse_hook(hook, request.get_data(cache=False))
    except HookPayloadError as error:
        code, status = ("bad_request", 400) if error.message == "is not valid JSON" else ("invalid", 422)
        return api_error(status, code, f"{error.field} {error.message}".strip(), error.field or "payload")
    session = get_session()
    # Two webhooks racing to create one group: the loser's insert fails, and on a second
    # try it finds the winner's group like any later webhook would.
    for attempt in (1, 2):
        try:
            outcome = receive_alerts(session, batch=batch, config=hook_config(session), actor=current_actor(),
                                     now=utcnow(), zone=team_zone())
            session.commit()
            break
        except IntegrityError:
            session.rollback()
            if attempt == 2:
                raise
    body = {
        "result": outcome.result,
        "incident": outcome.incident.reference if outcome.incident is not None else None,
        "firing": len(outcome.firing),
        "resolved": len(outcome.resolved),
        "severity_raised": outcome.severity_raised,
    }
    return jsonify(body), 201 if outcome.result == "opened" else 200


@bp.post("/alertmanager")
def alertmanager() -> Any:
    """Prometheus Alertmanager's webhook (payload version 4); Grafana's shape is detected."""
    return _receive("alertmanager")


@bp.post("/grafana")
def grafana() -> Any:
    """Grafana unified alerting's webhook contact point."""
    return _receive("grafana")


@bp.post("/generic")
def generic() -> Any:
    """The minimal JSON shape in this module's docstring."""
    return _receive("generic")
