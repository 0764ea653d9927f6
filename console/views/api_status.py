"""The /api/v1 twins of the status-page screens: components, groups, maintenance, public face.

Routes are added to console.views.api's blueprint (so bearer tokens, the role matrix and the
error shape are the same); this module must be imported before that blueprint is registered.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import jsonify, url_for

from console import current_actor
from console.db import get_session
from console.views.api import bp, json_body, string_field
from incidents import components as component_service
from incidents import maintenance as maintenance_service
from incidents import service
from incidents.errors import InvalidInput
from incidents.public_models import Component, ComponentGroup, Maintenance
from incidents.publicity import all_components
from console.clock import utcnow
from incidents.updates import set_public_identity

COMPONENT_KEYS = {"name", "name_en", "description", "description_en", "group_id", "position", "base_status",
                  "show_on_page"}
GROUP_KEYS = {"name", "name_en", "position"}
MAINTENANCE_KEYS = {"title", "title_en", "body", "body_en", "scheduled_start", "scheduled_end", "components"}


def component_json(c: Component) -> dict[str, Any]:
    return {
        "id": c.id, "name": c.name, "name_en": c.name_en, "description": c.description,
        "description_en": c.description_en, "group_id": c.group_id, "position": c.position,
        "base_status": c.base_status.value, "status": c.status.value, "show_on_page": c.show_on_page,
        "updated_at": c.updated_at.isoformat(),
    }


def group_json(g: ComponentGroup) -> dict[str, Any]:
    return {"id": g.id, "name": g.name, "name_en": g.name_en, "position": g.position,
            "components": [c.id for c in g.components]}


def maintenance_json(m: Maintenance) -> dict[str, Any]:
    return {
        "id": m.id, "title": m.title, "title_en": m.title_en, "body": m.body, "body_en": m.body_en,
        "status": m.status.value, "scheduled_start": m.scheduled_start.isoformat(),
        "scheduled_end": m.scheduled_end.isoformat(), "components": [c.id for c in m.components],
        "started_at": m.started_at.isoformat() if m.started_at else None,
        "completed_at": m.completed_at.isoformat() if m.completed_at else None,
        "cancelled_at": m.cancelled_at.isoformat() if m.cancelled_at else None,
        "updates": [{"id": u.id, "status": u.status.value, "body": u.body, "body_en": u.body_en,
                     "published_at": u.published_at.isoformat(), "automatic": u.automatic} for u in m.updates],
    }


def _created(body: dict[str, Any], location: str) -> Any:
    response = jsonify(body)
    response.status_code = 201
    response.headers["Location"] = location
    return response


def _merged(current: dict[str, Any], payload: dict[str, Any], keys: set[str]) -> dict[str, Any]:
    """A PATCH: the stored values with the payload's on top (unknown keys were refused already)."""
    return {key: payload.get(key, current.get(key)) for key in keys}


@bp.get("/components")
def list_components() -> Any:
    """Every component, in page order, with its public and its own status."""
    return jsonify(components=[component_json(c) for c in all_components(get_session())])


@bp.post("/components")
def create_component() -> Any:
    """Add a component: {"name", "name_en"?, "description"?, "group_id"?, "position"?, "base_status"?, ...}."""
    payload = json_body(COMPONENT_KEYS)
    session = get_session()
    component = component_service.save_component(session, data=payload, actor=current_actor(), now=utcnow())
    session.commit()
    return _created(component_json(component), url_for("api.list_components"))


@bp.patch("/components/<int:component_id>")
def update_component(component_id: int) -> Any:
    """Change some of a component's fields."""
    payload = json_body(COMPONENT_KEYS)
    session = get_session()
    component = component_service.get_component(session, component_id)
    data = _merged(component_json(component), payload, COMPONENT_KEYS)
    component_service.save_component(session, data=data, component=component, actor=current_actor(), now=utcnow())
    session.commit()
    return jsonify(component_json(component))


@bp.get("/component-groups")
def list_component_groups() -> Any:
    """Groups in page order, each with its components' ids."""
    return jsonify(groups=[group_json(g) for g in component_service.all_groups(get_session())])


@bp.post("/component-groups")
def create_component_group() -> Any:
    """Add a group: {"name", "name_en"?, "position"?}."""
    payload = json_body(GROUP_KEYS)
    session = get_session()
    group = component_service.save_group(session, data=payload, actor=current_actor(), now=utcnow())
    session.commit()
    return _created(group_json(group), url_for("api.list_component_groups"))


@bp.patch("/component-groups/<int:group_id>")
def update_component_group(group_id: int) -> Any:
    """Rename or reorder a group."""
    payload = json_body(GROUP_KEYS)
    session = get_session()
    group = component_service.get_group(session, group_id)
    data = _merged(group_json(group), payload, GROUP_KEYS)
    component_service.save_group(session, data=data, group=group, actor=current_actor(), now=utcnow())
    session.commit()
    return jsonify(group_json(group))


def _instant(payload: dict[str, Any], key: str) -> datetime | None:
    """An ISO 8601 time with its offset (a bare local time is ambiguous, so it is refused)."""
    value = payload.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInput(key, f"{key} must be an ISO 8601 string", reason="bad_datetime")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(key, f"{key} is not an ISO 8601 time", reason="bad_datetime") from None
    if parsed.tzinfo is None:
        raise InvalidInput(key, f"{key} needs an offset, e.g. +08:00", reason="needs_offset")
    return parsed


def _maintenance_data(payload: dict[str, Any], current: dict[str, Any] | None = None) -> dict[str, Any]:
    data = _merged(current or {}, payload, MAINTENANCE_KEYS)
    for key in ("title", "title_en", "body", "body_en"):
        if key in payload:
            data[key] = string_field(payload, key)
    for key in ("scheduled_start", "scheduled_end"):
        data[key] = _instant({key: data.get(key)}, key) if isinstance(data.get(key), str) else data.get(key)
    if not isinstance(data.get("components") or [], list):
        raise InvalidInput("components", "components must be a list of component ids", reason="invalid")
    return data


@bp.get("/maintenance")
def list_maintenance() -> Any:
    """The latest 100 windows (cancelled ones excluded), newest start first."""
    return jsonify(maintenance=[maintenance_json(m) for m in maintenance_service.recent(get_session(), limit=100)])


@bp.post("/maintenance")
def create_maintenance() -> Any:
    """Plan a window: {"title", "scheduled_start", "scheduled_end", "components"?, "body"?, ...}."""
    payload = json_body(MAINTENANCE_KEYS)
    session = get_session()
    maintenance = maintenance_service.schedule_maintenance(session, data=_maintenance_data(payload),
                                                           actor=current_actor(), now=utcnow())
    session.commit()
    return _created(maintenance_json(maintenance), url_for("api.get_maintenance", maintenance_id=maintenance.id))


@bp.get("/maintenance/<int:maintenance_id>")
def get_maintenance(maintenance_id: int) -> Any:
    """One window with its updates."""
    return jsonify(maintenance_json(maintenance_service.get_maintenance(get_session(), maintenance_id)))


@bp.patch("/maintenance/<int:maintenance_id>")
def update_maintenance(maintenance_id: int) -> Any:
    """Change a window that has not ended."""
    payload = json_body(MAINTENANCE_KEYS)
    session = get_session()
    maintenance = maintenance_service.get_maintenance(session, maintenance_id)
    current = {**maintenance_json(maintenance), "scheduled_start": maintenance.scheduled_start,
               "scheduled_end": maintenance.scheduled_end}
    maintenance_service.edit_maintenance(session, maintenance=maintenance,
                                         data=_maintenance_data(payload, current), actor=current_actor(), now=utcnow())
    session.commit()
    return jsonify(maintenance_json(maintenance))


@bp.post("/maintenance/<int:maintenance_id>/updates")
def post_maintenance_update(maintenance_id: int) -> Any:
    """Publish a note: {"body", "body_en"?, "status"?} (status only moves forward)."""
    payload = json_body({"body", "body_en", "status"})
    session = get_session()
    maintenance = maintenance_service.get_maintenance(session, maintenance_id)
    maintenance_service.post_maintenance_update(
        session, maintenance=maintenance, body=string_field(payload, "body", required=True),
        body_en=string_field(payload, "body_en") or "", status=string_field(payload, "status"),
        actor=current_actor(), now=utcnow())
    session.commit()
    return jsonify(maintenance_json(maintenance)), 201


@bp.post("/maintenance/<int:maintenance_id>/cancel")
def cancel_maintenance(maintenance_id: int) -> Any:
    """Call a window off."""
    session = get_session()
    maintenance = maintenance_service.get_maintenance(session, maintenance_id)
    maintenance_service.cancel_maintenance(session, maintenance=maintenance, actor=current_actor(), now=utcnow())
    session.commit()
    return jsonify(maintenance_json(maintenance))


@bp.put("/incidents/<reference>/public")
def set_incident_public(reference: str) -> Any:
    """Set the public face: {"public_title", "public_title_en"?, "internal_only"?}."""
    payload = json_body({"public_title", "public_title_en", "internal_only"})
    session = get_session()
    incident = service.get_incident(session, reference)
    internal_only = payload.get("internal_only", False)
    changes = set_public_identity(
        session, incident=incident, public_title=string_field(payload, "public_title"),
        public_title_en=string_field(payload, "public_title_en"), internal_only=internal_only,
        actor=current_actor(), now=utcnow())
    session.commit()
    return jsonify(reference=incident.reference, public_title=incident.public_title,
                   public_title_en=incident.public_title_en, internal_only=incident.internal_only,
                   changed=[c["field"] for c in changes])
