"""The JSON API under /api/v1: everything a person does on the incident pages, for scripts.

Authentication is a bearer token (see console.auth_tokens); errors are always
{"error": {"code", "message", "field"?}} with 400/401/403/404/409/422.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Blueprint, g, jsonify, request, url_for

from console import current_actor
from console.db import get_session
from console import strict_json
from console.errors import api_error
from console.i18n import team_zone
from console.views.filters import parse_filter
from incidents import accounts, lookup, queries, service
from incidents.errors import InvalidInput, NotFound
from incidents.lifecycle import Source
from incidents.models import Incident, TimelineEvent, User
from console.clock import utcnow

bp = Blueprint("api", __name__, url_prefix="/api/v1")


class BadRequest(Exception):
    def __init__(self, message: str, field: str | None = None, **extra: Any):
        super().__init__(message)
        self.field = field
        self.extra = extra


@bp.errorhandler(BadRequest)
def _bad_request(error: BadRequest) -> Any:
    return api_error(400, "bad_request", str(error), error.field, **error.extra)


# Routes whose body is a file, not JSON (a CSV or pasted list of contacts).
RAW_BODY_ENDPOINTS = {"api.import_contacts"}


@bp.before_request
def _ids_in_range() -> None:
    """An id in the path beyond what a key holds names no row: a 404, not a failed query."""
    for name, value in (request.view_args or {}).items():
        if isinstance(value, int) and lookup.row_id(value) is None:
            raise NotFound(f"no {name.removesuffix('_id')} {value}")


@bp.before_request
def _read_json_body() -> None:
    """Decode the body of every write request before its view runs: malformed JSON never reaches one.

    A body the strict decoder refuses (too deep, a number no column holds, NaN, not UTF-8) or
    sent with another Content-Type is a 400, even on a route that reads no body."""
    g.json_payload = None
    if request.method not in ("POST", "PUT", "PATCH", "DELETE") or request.endpoint in RAW_BODY_ENDPOINTS:
        return
    data = request.get_data(cache=True)
    if not request.is_json and (data or request.content_length or request.form or request.files):
        # (A form body may already have been parsed away from get_data, hence the other checks.)
        raise BadRequest("send a JSON object with Content-Type: application/json")
    if not data:
        return
    if request.mimetype_params.get("charset", "utf-8").lower().replace("_", "-") not in ("utf-8", "utf8"):
        raise BadRequest("send the JSON body as UTF-8")
    try:
        payload = strict_json.decode(data)
    except strict_json.MalformedJSON as error:
        raise BadRequest(str(error), error.field) from None
    if not isinstance(payload, dict):
        raise BadRequest("the body is not a JSON object")
    g.json_payload = payload


def _body(allowed: set[str]) -> dict[str, Any]:
    """The JSON object of the request; wrong content type, bad JSON or unknown keys are 400."""
    if not request.is_json:
        raise BadRequest("send a JSON object with Content-Type: application/json")
    payload = g.get("json_payload")
    if not isinstance(payload, dict):
        raise BadRequest("the body is not a JSON object")
    unknown = sorted(set(payload) - allowed)
    if unknown:
        raise BadRequest(f"unknown field {unknown[0]!r}", unknown[0], accepted=sorted(allowed))
    for key, value in payload.items():
        _check_text(value, key)
    return payload


def _check_text(value: Any, field: str) -> None:
    """Refuse text no database can store: NUL characters (PostgreSQL) and lone surrogates (UTF-8)."""
    if isinstance(value, str):
        if "\x00" in value:
            raise InvalidInput(field, f"{field} contains a NUL character", reason="invalid")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidInput(field, f"{field} contains invalid Unicode (a lone surrogate)", reason="invalid") from None
    elif isinstance(value, dict):
        for key, inner in value.items():
            _check_text(key, field)
            _check_text(inner, f"{field}.{key}")
    elif isinstance(value, list):
        for inner in value:
            _check_text(inner, field)


def _string(payload: dict[str, Any], key: str, required: bool = False) -> str | None:
    value = payload.get(key)
    if value is None:
        if required:
            raise InvalidInput(key, f"{key} is required", reason="required")
        return None
    if not isinstance(value, str):
        raise InvalidInput(key, f"{key} must be a string")
    return value


# Public names for the request helpers, for the other API modules (console.views.api_status).
json_body, string_field = _body, _string


# What an Integer column holds on every engine (PostgreSQL's integer is 32-bit).
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1


def integer_field(payload: dict[str, Any], key: str, *, required: bool = False, least: int = INT32_MIN,
                  most: int = INT32_MAX) -> int | None:
    """An integer field: not a bool, not a float, within [least, most] (by default what an Integer column holds)."""
    value = payload.get(key)
    if value is None:
        if required:
            raise InvalidInput(key, f"{key} is required", reason="required")
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidInput(key, f"{key} must be an integer")
    if not least <= value <= most:
        raise InvalidInput(key, f"{key} must be between {least} and {most}", reason="out_of_range")
    return value


def _version(payload: dict[str, Any], required: bool) -> int | None:
    value = payload.get("version")
    if value is None and not required:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= INT32_MAX:
        raise InvalidInput("version", "version must be the integer you last read", reason="required")
    return value


def _user_id(username: str | None, field: str) -> int | None:
    if username in (None, ""):
        return None
    user_id = get_session().scalar(sa.select(User.id).where(accounts.same_username(username), User.active))
    if user_id is None:
        raise InvalidInput(field, f"no active user {username!r}", reason="no_user")
    return user_id


def _user_name(user: User | None) -> str | None:
    return user.username if user else None


# The same request reading for the other /api/v1 modules (console/views/api_settings.py).
json_body = _body
string_field = _string
user_id_for = _user_id


def incident_json(incident: Incident, *, with_timeline: bool = False) -> dict[str, Any]:
    """An incident as the API shows it."""
    data = {
        "reference": incident.reference,
        "url": url_for("incidents.show", reference=incident.reference, _external=True),
        "kind": incident.kind.value,
        "severity": incident.severity.value,
        "status": incident.status.value,
        "title": incident.title,
        "summary": incident.summary,
        "source": incident.source.value,
        "commander": _user_name(incident.commander),
        "comms_lead": _user_name(incident.comms_lead),
        "opened_at": incident.opened_at.isoformat(),
        "acknowledged_at": incident.acknowledged_at.isoformat() if incident.acknowledged_at else None,
        "resolved_at": incident.resolved_at.isoformat() if incident.resolved_at else None,
        "closed_at": incident.closed_at.isoformat() if incident.closed_at else None,
        "updated_at": incident.updated_at.isoformat(),
        "version": incident.version,
    }
    if with_timeline:
        data["timeline"] = [event_json(e) for e in queries.timeline(get_session(), incident)]
    return data


def event_json(event: TimelineEvent) -> dict[str, Any]:
    return {"id": event.id, "at": event.at.isoformat(), "kind": event.kind.value,
            "actor": event.actor_label, "body": event.body, "data": event.data}


@bp.get("/incidents")
def list_incidents() -> Any:
    """Incidents filtered by status (active|open|all|<status>), kind, severity and q."""
    chosen = parse_filter(request.args)
    incidents = queries.list_incidents(
        get_session(), statuses=chosen.statuses, kinds=chosen.kinds,
        severities=chosen.severities, query=chosen.query,
    )
    return jsonify(incidents=[incident_json(i) for i in incidents])


@bp.get("/incidents/<reference>")
def get_incident(reference: str) -> Any:
    """One incident with its timeline, newest first."""
    return jsonify(incident_json(service.get_incident(get_session(), reference), with_timeline=True))


@bp.post("/incidents")
def create_incident() -> Any:
    """Open an incident: {"kind", "severity", "title", "summary"?, "commander"?}."""
    payload = _body({"kind", "severity", "title", "summary", "commander"})
    session = get_session()
    incident = service.open_incident(
        session,
        kind=_string(payload, "kind", required=True),
        severity=_string(payload, "severity", required=True),
        title=_string(payload, "title", required=True),
        summary=_string(payload, "summary") or "",
        commander_id=_user_id(_string(payload, "commander"), "commander"),
        source=Source.API,
        actor=current_actor(),
        now=utcnow(),
        zone=team_zone(),
    )
    session.commit()
    response = jsonify(incident_json(incident))
    response.status_code = 201
    response.headers["Location"] = url_for("api.get_incident", reference=incident.reference)
    return response


@bp.patch("/incidents/<reference>")
def update_incident(reference: str) -> Any:
    """Edit fields: {"version", "title"?, "summary"?, "kind"?, "severity"?, "commander"?, "comms_lead"?}."""
    payload = _body({"version", "title", "summary", "kind", "severity", "commander", "comms_lead"})
    session = get_session()
    incident = service.get_incident(session, reference)
    version = _version(payload, required=True)
    changes: dict[str, Any] = {}
    for key in ("title", "summary", "kind", "severity"):
        if key in payload:
            changes[key] = _string(payload, key)
    for key in ("commander", "comms_lead"):
        if key in payload:
            changes[f"{key}_id"] = _user_id(_string(payload, key), key)
    service.edit_incident(session, incident=incident, changes=changes, expected_version=version,
                          actor=current_actor(), now=utcnow())
    session.commit()
    return jsonify(incident_json(incident))


# POST /incidents/<reference>/transitions lives in console.views.api_transitions (resolving speaks in public).


@bp.post("/incidents/<reference>/acknowledge")
def acknowledge_incident(reference: str) -> Any:
    """Acknowledge the incident (idempotent)."""
    session = get_session()
    incident = service.get_incident(session, reference)
    service.acknowledge_incident(session, incident=incident, actor=current_actor(), now=utcnow(), zone=team_zone())
    session.commit()
    return jsonify(incident_json(incident))


@bp.post("/incidents/<reference>/notes")
def add_note(reference: str) -> Any:
    """Add a note: {"body"}."""
    payload = _body({"body"})
    session = get_session()
    incident = service.get_incident(session, reference)
    event = service.add_note(session, incident=incident, body=_string(payload, "body", required=True),
                             actor=current_actor(), now=utcnow())
    session.commit()
    return jsonify(event_json(event)), 201




# Shared with the other API modules (console/views/api_*.py).
json_body = _body
string_field = _string
version_field = _version
