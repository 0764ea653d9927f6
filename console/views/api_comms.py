"""The comms desk in the JSON API: the script library, composing and publishing, sign-off, talking points.

Routes join the `api` blueprint (console.views.api) with its conventions: bearer tokens,
JSON bodies with unknown keys refused, errors {"error": {"code", "message", "field"?}}.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, g, jsonify, request

from console import current_actor, permissions
from console.db import get_session
from console.i18n import team_zone
from console.errors import api_error
from console.views.api import bp, integer_field, json_body, string_field
from console.views.api_clock import _deadlines_json, _optional_body, _person_id, _time, update_json
from incidents import comms, deadlines, scripts, service, talking_points
from incidents.comms_models import TalkingPoints, UpdateDraft
from incidents.errors import InvalidInput, NotFound
from incidents.lifecycle import Kind
from incidents.models import Incident, StatusUpdate
from console.clock import utcnow

COMPOSE_FIELDS = {"body", "body_en", "public_status", "components", "script", "variables"}


def _role_may(permission: str) -> bool:
    """Whether the request's token holds a permission (who may skip sign-off)."""
    token = g.get("api_token")
    return token is not None and permissions.role_may(token.role, permission)


def script_json(script: scripts.Script) -> dict[str, Any]:
    return {"key": script.key, "kind": script.kind.value, "purpose": script.purpose, "version": script.version,
            "source": script.source, "zh": script.zh, "en": script.en,
            "public_status": script.public_status.value if script.public_status else None,
            "variables": script.variables(), "created_by": script.created_by or None,
            "created_at": _time(script.created_at)}


def _variables_json() -> list[dict[str, Any]]:
    return [{"name": v.name, "zh": v.zh, "en": v.en, "source": v.source, "max_length": v.max_length}
            for v in scripts.VARIABLES.values()]


def _script_key(kind: str, purpose: str) -> tuple[Kind, str]:
    try:
        return scripts.parse_key(f"{kind}.{purpose}")
    except InvalidInput:
        raise NotFound(f"no script {kind}.{purpose}") from None


@bp.get("/scripts")
def list_scripts() -> Any:
    """The library in force (optionally `?kind=`), with the variables scripts may use."""
    kind = request.args.get("kind")
    if kind and kind not in {k.value for k in Kind}:
        raise InvalidInput("kind", f"unknown kind {kind!r}", reason="choice", allowed=", ".join(k.value for k in Kind))
    rows = scripts.library(get_session(), Kind(kind) if kind else None)
    return jsonify(scripts=[script_json(s) for s in rows], variables=_variables_json())


@bp.get("/scripts/<kind>/<purpose>")
def get_script(kind: str, purpose: str) -> Any:
    """One script in force with every version, newest first (version 0 is the shipped default)."""
    versions = scripts.versions(get_session(), *_script_key(kind, purpose))
    return jsonify(script=script_json(versions[0]), versions=[script_json(v) for v in versions])


@bp.put("/scripts/<kind>/<purpose>")
def save_script(kind: str, purpose: str) -> Any:
    """Save a new version: {"zh", "en"?, "public_status"?}; the same text again saves nothing."""
    payload = json_body({"zh", "en", "public_status"})
    session = get_session()
    kind_value, purpose = _script_key(kind, purpose)
    saved = scripts.save_script(session, kind=kind_value, purpose=purpose,
                                zh=string_field(payload, "zh", required=True), en=string_field(payload, "en") or "",
                                public_status=string_field(payload, "public_status"), actor=current_actor(),
                                now=utcnow())
    session.commit()
    return jsonify(script=script_json(saved))


@bp.get("/comms/settings")
def get_comms_settings() -> Any:
    """Sign-off per kind (severities), its minutes, holding statements per kind and their delay."""
    return jsonify(comms.comms_settings(get_session()))


@bp.put("/comms/settings")
def put_comms_settings() -> Any:
    """Change any of: {"signoff", "signoff_minutes", "holding", "holding_after_minutes"}."""
    payload = json_body({"signoff", "signoff_minutes", "holding", "holding_after_minutes"})
    session = get_session()
    saved = comms.save_comms_settings(session, payload, actor=current_actor(), now=utcnow())
    session.commit()
    return jsonify(saved)


def _composition(incident: Incident, payload: dict[str, Any]) -> comms.Composition:
    """The request as a composition; a `script` without a body uses the script's texts."""
    variables = payload.get("variables") or {}
    components = payload.get("components") or {}
    if not isinstance(variables, dict) or not all(isinstance(v, str) for v in variables.values()):
        raise InvalidInput("variables", "variables maps names to text", reason="invalid")
    if not isinstance(components, dict):
        raise InvalidInput("components", "components maps component ids to statuses", reason="invalid")
    key = string_field(payload, "script") or ""
    zh, en, version, status = string_field(payload, "body"), string_field(payload, "body_en"), None, None
    if key:
        kind, purpose = scripts.parse_key(key)
        if kind != incident.kind:
            raise InvalidInput("script", f"{key} is not a script for {incident.kind.value}", reason="unknown_script")
        script = scripts.current(get_session(), kind, purpose)
        version = script.version
        status = script.public_status.value if script.public_status else None
        if zh is None:
            zh, en = script.zh, script.en if en is None else en
    values = dict(variables)
    if "next_update_at" not in values:
        values["next_update_at"] = comms.next_update_text(get_session(), incident, now=utcnow(), zone=team_zone())
    return comms.Composition(zh=zh or "", en=en or "", values=values,
                             public_status=string_field(payload, "public_status") or status,
                             components={str(k): v for k, v in components.items()}, script=key,
                             script_version=version)


# For the resolved notice given with a transition (console.views.api_transitions).
composition_from_json = _composition


@bp.post("/incidents/<reference>/updates/preview")
def preview_update(reference: str) -> Any:
    """Exactly what would be published, without publishing: {"body"|"script", "variables"?, …}."""
    payload = json_body(COMPOSE_FIELDS)
    session = get_session()
    incident = service.get_incident(session, reference)
    rendered = comms.render(session, incident, _composition(incident, payload))
    return jsonify(body=rendered.body, body_en=rendered.body_en, public_status=rendered.public_status.value,
                   components=[{"id": c.id, "name": c.name, "name_en": c.name_en, "status": s.value}
                               for c, s in rendered.components],
                   needs_signoff=comms.needs_signoff(session, incident) and not _role_may("update.approve"))


def draft_json(draft: UpdateDraft) -> dict[str, Any]:
    return {"id": draft.id, "state": draft.state.value, "body": draft.body, "body_en": draft.body_en,
            "public_status": draft.public_status.value, "components": draft.components, "script": draft.script,
            "requested_by": draft.requested_by_label, "requested_at": _time(draft.requested_at),
            "decided_by": draft.decided_by_label or None, "decided_at": _time(draft.decided_at),
            "reason": draft.reason or None, "update": draft.update_id,
            "due_at": _time(draft.deadline.due_at) if draft.deadline else None}


@bp.post("/incidents/<reference>/updates")
def publish_update(reference: str) -> Any:
    """Publish: {"body"|"script", "body_en"?, "public_status"?, "components"?, "variables"?}.

    201 with the update and the open deadlines after it; 202 with the draft when the update
    needs a duty manager's sign-off first.
    """
    payload = json_body(COMPOSE_FIELDS)
    session = get_session()
    incident = service.get_incident(session, reference)
    if "body" not in payload and "script" not in payload:
        raise InvalidInput("body", "body is required", reason="required")
    now = utcnow()
    result = comms.submit(session, incident=incident, composition=_composition(incident, payload),
                          may_approve=_role_may("update.approve"), actor=current_actor(), now=now,
                          zone=team_zone(), public_url=current_app.config["PUBLIC_URL"])
    session.commit()
    open_rows = _deadlines_json(deadlines.open_deadlines(session, incident))
    # A retry answers with what the first call made, older than this request: 200, nothing new.
    if isinstance(result, StatusUpdate):
        return jsonify(update=update_json(result), deadlines=open_rows), 201 if result.published_at >= now else 200
    return jsonify(draft=draft_json(result), deadlines=open_rows), 202 if result.requested_at >= now else 200


@bp.get("/incidents/<reference>/drafts")
def list_drafts(reference: str) -> Any:
    """The incident's drafts, newest first (`?state=pending` for the waiting ones)."""
    incident = service.get_incident(get_session(), reference)
    rows = comms.drafts(get_session(), incident, pending_only=request.args.get("state") == "pending")
    return jsonify(drafts=[draft_json(d) for d in rows])


def _decide(reference: str, draft_id: int, decide: Any, reason: str) -> tuple[UpdateDraft, Any]:
    """Approve or reject; someone deciding first is a 409 naming the draft's state."""
    session = get_session()
    incident = service.get_incident(session, reference)
    draft = comms.get_draft(session, incident, draft_id)
    try:
        result = decide(session, incident=incident, draft=draft, reason=reason, actor=current_actor(), now=utcnow(),
                        zone=team_zone())
    except InvalidInput as error:
        session.rollback()
        if error.reason != "draft_decided":
            raise
        return draft, api_error(409, "draft_decided", error.message, "draft", state=error.params.get("state"))
    session.commit()
    return draft, result


@bp.post("/incidents/<reference>/drafts/<int:draft_id>/approve")
def approve_draft(reference: str, draft_id: int) -> Any:
    """Approve: {"reason"?}; the draft is published as written. A decided draft is a 409."""
    payload = _optional_body({"reason"})
    draft, result = _decide(reference, draft_id, comms.approve, string_field(payload, "reason") or "")
    if not isinstance(result, StatusUpdate):
        return result
    return jsonify(draft=draft_json(draft), update=update_json(result))


@bp.post("/incidents/<reference>/drafts/<int:draft_id>/reject")
def reject_draft(reference: str, draft_id: int) -> Any:
    """Reject: {"reason"} (required); nothing is published."""
    payload = json_body({"reason"})
    draft, result = _decide(reference, draft_id, comms.reject, string_field(payload, "reason") or "")
    if not isinstance(result, UpdateDraft):
        return result
    return jsonify(draft=draft_json(draft))


def points_json(points: TalkingPoints) -> dict[str, Any]:
    return {"id": points.id, "version": points.version, "body": points.body, "created_by": points.created_by_label,
            "created_at": _time(points.created_at)}


@bp.get("/incidents/<reference>/talking-points")
def get_talking_points(reference: str) -> Any:
    """The current talking points, who has and has not confirmed them, and every version."""
    session = get_session()
    incident = service.get_incident(session, reference)
    current = talking_points.latest(session, incident)
    readers = talking_points.readers(session, current) if current else []
    return jsonify(
        current=points_json(current) if current else None,
        readers=[{"username": r.user.username, "display_name": r.user.display_name,
                  "confirmed_at": _time(r.confirmed_at)} for r in readers],
        versions=[points_json(p) for p in talking_points.history(session, incident)],
    )


@bp.post("/incidents/<reference>/talking-points")
def publish_talking_points(reference: str) -> Any:
    """A new version: {"body"}; the same text as the current one writes nothing."""
    payload = json_body({"body"})
    session = get_session()
    incident = service.get_incident(session, reference)
    points = talking_points.publish(session, incident=incident, body=string_field(payload, "body", required=True),
                                    actor=current_actor(), now=utcnow())
    session.commit()
    return jsonify(points_json(points)), 201


@bp.post("/incidents/<reference>/talking-points/confirm")
def confirm_talking_points(reference: str) -> Any:
    """Confirm reading: {"version"} must be the latest (409 when a newer one came out)."""
    payload = json_body({"version"})
    user_id = _person_id()
    session = get_session()
    incident = service.get_incident(session, reference)
    current = talking_points.latest(session, incident)
    version = integer_field(payload, "version", required=True)
    if current is None or current.version != version:
        return api_error(409, "stale_talking_points", "a newer version came out; read it, then confirm", "version",
                         current=current.version if current else None)
    first = talking_points.confirm(session, points=current, user_id=user_id, actor=current_actor(), now=utcnow())
    session.commit()
    return jsonify(confirmed=True, first_time=first, version=current.version)


@bp.get("/talking-points")
def my_talking_points() -> Any:
    """The token's person's talking points: the latest of every active incident, confirmed or not."""
    rows = talking_points.for_person(get_session(), _person_id())
    return jsonify(talking_points=[{**points_json(a.points), "incident": a.points.incident.reference,
                                    "confirmed_at": _time(a.confirmed_at)} for a in rows])

