"""Status changes through /api/v1; resolving tells the public in the same step.

`POST /incidents/<ref>/transitions {"to": "resolved", "public_update"?: {...}}` publishes the
given update as the resolved notice, or, without one, the kind's recovered script when the
incident has a public face (see incidents.resolution). A refused notice resolves nothing;
resolving an incident already resolved publishes nothing again and answers as it stands.
"""

from __future__ import annotations

from typing import Any

from flask import g, jsonify

from console import current_actor, permissions
from console.clock import utcnow
from console.db import get_session
from console.i18n import team_zone
from console.views.api import bp, incident_json, json_body, string_field, version_field
from console.views.api_clock import update_json
from console.views.api_comms import COMPOSE_FIELDS, composition_from_json
from incidents import resolution, service
from incidents.errors import InvalidInput
from incidents.lifecycle import Status
from incidents.models import Incident

# Errors about the notice's own inputs are reported under "public_update." in the API.
NOTICE_FIELDS = {"zh", "en", "body", "body_en", "script", "variables", "components", "public_status"}


# The domain's names for the texts, as the request names them.
REQUEST_NAME = {"zh": "body", "en": "body_en"}


def _notice_field(field: str) -> str:
    if field in NOTICE_FIELDS or field.startswith("var_"):
        return f"public_update.{REQUEST_NAME.get(field, field)}"
    return field


def _notice(incident: Incident, raw: Any) -> Any:
    """The given resolved notice as a composition; unknown keys are refused, naming them."""
    if not isinstance(raw, dict):
        raise InvalidInput("public_update", "public_update is an object like the body of POST …/updates",
                           reason="invalid")
    unknown = sorted(set(raw) - COMPOSE_FIELDS)
    if unknown:
        raise InvalidInput(f"public_update.{unknown[0]}", f"unknown field {unknown[0]!r}", reason="not_editable")
    if "body" not in raw and "script" not in raw:
        raise InvalidInput("public_update.body", "public_update needs a body or a script", reason="required")
    return composition_from_json(incident, raw)


@bp.post("/incidents/<reference>/transitions")
def transition_incident(reference: str) -> Any:
    """Change status: {"to", "version"?, "note"?, "public_update"?}; a stale version is a 409.

    With "to": "resolved" the answer carries `public_update`, the resolved notice published
    (null when the incident has no public face and none was given).
    """
    payload = json_body({"to", "version", "note", "public_update"})
    session = get_session()
    incident = service.get_incident(session, reference)
    target = string_field(payload, "to", required=True)
    version = version_field(payload, required=False)
    note = string_field(payload, "note") or ""
    if target != Status.RESOLVED.value:
        if payload.get("public_update") is not None:
            raise InvalidInput("public_update", "only resolving publishes an update with the status change",
                               reason="not_resolving")
        service.transition_incident(session, incident=incident, target=target, expected_version=version, note=note,
                                    actor=current_actor(), now=utcnow(), zone=team_zone())
        session.commit()
        return jsonify(incident_json(incident))
    token = g.get("api_token")
    try:
        notice = _notice(incident, payload["public_update"]) if payload.get("public_update") is not None else None
        done = resolution.resolve_incident(
            session, incident=incident, public_update=notice, expected_version=version, note=note,
            may_approve=token is not None and permissions.role_may(token.role, "update.approve"),
            actor=current_actor(), now=utcnow(), zone=team_zone(),
        )
    except InvalidInput as error:
        raise InvalidInput(_notice_field(error.field), error.message, reason=error.reason, **error.params) from None
    session.commit()
    return jsonify({**incident_json(incident), "public_update": update_json(done.update) if done.update else None})
