"""Managing what the public sees: components and groups (admins), maintenance windows (comms,
duty managers, admins) and an incident's public title or internal-only mark.

Plain forms that work without JavaScript: 303 back to the page on success, the form again
with the message at the field and status 422 on bad input, nothing saved.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, redirect, render_template, request, url_for
from werkzeug.datastructures import MultiDict

from console import current_actor
from console.db import get_session
from console.i18n import message_for, team_zone
from incidents import components as component_service
from incidents import maintenance as maintenance_service
from incidents import service
from incidents.errors import InvalidInput
from incidents.public_models import ComponentStatus, Maintenance, MaintenanceStatus
from incidents.publicity import all_components
from console.clock import utcnow
from incidents.updates import set_public_identity

bp = Blueprint("status_admin", __name__)

COMPONENT_FIELDS = ("name", "name_en", "description", "description_en", "group_id", "position", "base_status")
LOCAL_FORMAT = "%Y-%m-%dT%H:%M"


def _component_data(form: MultiDict) -> dict[str, Any]:
    data: dict[str, Any] = {field: form.get(field, "") for field in COMPONENT_FIELDS}
    data["show_on_page"] = form.get("show_on_page") == "on"
    return data


def _components_page(status: int = 200, **state: Any) -> Any:
    session = get_session()
    context = {
        "groups": component_service.all_groups(session), "components": all_components(session),
        "statuses": list(ComponentStatus), "errors": {}, "values": {}, "group_errors": {}, "group_values": {},
    }
    context.update(state)
    return render_template("statusadmin/components.html", **context), status


@bp.get("/admin/components")
def components() -> Any:
    """Every component and group, with forms to add them."""
    return _components_page()


@bp.post("/admin/components")
def create_component() -> Any:
    """Add a component from the form."""
    session = get_session()
    try:
        component_service.save_component(session, data=_component_data(request.form), actor=current_actor(),
                                         now=utcnow())
    except InvalidInput as error:
        session.rollback()
        return _components_page(422, values=request.form, errors={error.field: message_for(error)})
    session.commit()
    return redirect(url_for("status_admin.components"), code=303)


@bp.route("/admin/components/<int:component_id>", methods=["GET", "POST"])
def edit_component(component_id: int) -> Any:
    """Change one component: names, description, group, order, its own status, shown or not."""
    session = get_session()
    component = component_service.get_component(session, component_id)
    values: Any = {f: getattr(getattr(component, f), "value", getattr(component, f)) for f in COMPONENT_FIELDS}
    values["show_on_page"] = component.show_on_page
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            component_service.save_component(session, data=_component_data(request.form), component=component,
                                             actor=current_actor(), now=utcnow())
        except InvalidInput as error:
            session.rollback()
            values = {**request.form, "show_on_page": request.form.get("show_on_page") == "on"}
            errors = {error.field: message_for(error)}
        else:
            session.commit()
            return redirect(url_for("status_admin.components"), code=303)
    return render_template("statusadmin/component_edit.html", component=component, values=values, errors=errors,
                           groups=component_service.all_groups(session),
                           statuses=list(ComponentStatus)), 422 if errors else 200


@bp.post("/admin/component-groups")
def create_group() -> Any:
    """Add a group of components."""
    return _save_group(None)


@bp.post("/admin/component-groups/<int:group_id>")
def edit_group(group_id: int) -> Any:
    """Rename or reorder a group."""
    return _save_group(group_id)


def _save_group(group_id: int | None) -> Any:
    session = get_session()
    group = component_service.get_group(session, group_id) if group_id else None
    data = {key: request.form.get(key, "") for key in ("name", "name_en", "position")}
    try:
        component_service.save_group(session, data=data, group=group, actor=current_actor(), now=utcnow())
    except InvalidInput as error:
        session.rollback()
        return _components_page(422, group_values={**data, "id": group_id},
                                group_errors={error.field: message_for(error)})
    session.commit()
    return redirect(url_for("status_admin.components"), code=303)


def local_datetime(value: str | None, field: str) -> datetime | None:
    """A form's datetime-local value, read as wall time in the team's zone."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(field, f"{field} is not a date and time", reason="bad_datetime") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=team_zone())


def _maintenance_data(form: MultiDict) -> dict[str, Any]:
    data: dict[str, Any] = {key: form.get(key, "") for key in ("title", "title_en", "body", "body_en")}
    data["scheduled_start"] = local_datetime(form.get("scheduled_start"), "scheduled_start")
    data["scheduled_end"] = local_datetime(form.get("scheduled_end"), "scheduled_end")
    data["components"] = form.getlist("components")
    return data


def _maintenance_values(maintenance: Maintenance) -> dict[str, Any]:
    zone = team_zone()
    return {
        "title": maintenance.title, "title_en": maintenance.title_en, "body": maintenance.body,
        "body_en": maintenance.body_en,
        "scheduled_start": maintenance.scheduled_start.astimezone(zone).strftime(LOCAL_FORMAT),
        "scheduled_end": maintenance.scheduled_end.astimezone(zone).strftime(LOCAL_FORMAT),
        "components": [str(c.id) for c in maintenance.components],
    }


def _form_values(form: MultiDict) -> dict[str, Any]:
    return {**form.to_dict(), "components": form.getlist("components")}


@bp.get("/maintenance")
def maintenance_list() -> Any:
    """Upcoming and recent windows, and the form to plan one."""
    return _maintenance_list_page()


def _maintenance_list_page(status: int = 200, values: dict[str, Any] | None = None,
                           errors: dict[str, str] | None = None) -> Any:
    session = get_session()
    return render_template(
        "statusadmin/maintenance_list.html", windows=maintenance_service.recent(session, limit=100),
        components=all_components(session), values=values or {"components": []}, errors=errors or {},
    ), status


@bp.post("/maintenance")
def create_maintenance() -> Any:
    """Plan a window; the worker starts and completes it at its times."""
    session = get_session()
    try:
        maintenance = maintenance_service.schedule_maintenance(
            session, data=_maintenance_data(request.form), actor=current_actor(), now=utcnow())
    except InvalidInput as error:
        session.rollback()
        return _maintenance_list_page(422, _form_values(request.form), {error.field: message_for(error)})
    session.commit()
    return redirect(url_for("status_admin.maintenance_show", maintenance_id=maintenance.id), code=303)


def _maintenance_page(maintenance: Maintenance, status: int = 200, **state: Any) -> Any:
    context = {
        "m": maintenance, "components": all_components(get_session()), "values": _maintenance_values(maintenance),
        "errors": {}, "update_values": {}, "update_errors": {},
        "statuses": [s for s in MaintenanceStatus if list(MaintenanceStatus).index(s)
                     >= list(MaintenanceStatus).index(maintenance.status)],
        "is_open": maintenance.cancelled_at is None and maintenance.status != MaintenanceStatus.COMPLETED,
    }
    context.update(state)
    return render_template("statusadmin/maintenance_show.html", **context), status


@bp.get("/maintenance/<int:maintenance_id>")
def maintenance_show(maintenance_id: int) -> Any:
    """One window: its details, updates, and forms to edit, post an update or cancel."""
    return _maintenance_page(maintenance_service.get_maintenance(get_session(), maintenance_id))


@bp.post("/maintenance/<int:maintenance_id>/edit")
def maintenance_edit(maintenance_id: int) -> Any:
    """Change a window that has not ended."""
    session = get_session()
    maintenance = maintenance_service.get_maintenance(session, maintenance_id)
    try:
        maintenance_service.edit_maintenance(session, maintenance=maintenance, data=_maintenance_data(request.form),
                                             actor=current_actor(), now=utcnow())
    except InvalidInput as error:
        session.rollback()
        maintenance = maintenance_service.get_maintenance(session, maintenance_id)
        return _maintenance_page(maintenance, 422, values=_form_values(request.form),
                                 errors={error.field: message_for(error)})
    session.commit()
    return redirect(url_for("status_admin.maintenance_show", maintenance_id=maintenance_id), code=303)


@bp.post("/maintenance/<int:maintenance_id>/updates")
def maintenance_update(maintenance_id: int) -> Any:
    """Publish a note on the window, optionally moving it forward."""
    session = get_session()
    maintenance = maintenance_service.get_maintenance(session, maintenance_id)
    form = request.form
    try:
        maintenance_service.post_maintenance_update(
            session, maintenance=maintenance, body=form.get("body", ""), body_en=form.get("body_en", ""),
            status=form.get("status") or None, actor=current_actor(), now=utcnow())
    except InvalidInput as error:
        session.rollback()
        maintenance = maintenance_service.get_maintenance(session, maintenance_id)
        return _maintenance_page(maintenance, 422, update_values=form, update_errors={error.field: message_for(error)})
    session.commit()
    return redirect(url_for("status_admin.maintenance_show", maintenance_id=maintenance_id), code=303)


@bp.post("/maintenance/<int:maintenance_id>/cancel")
def maintenance_cancel(maintenance_id: int) -> Any:
    """Call the window off; it leaves the public page."""
    session = get_session()
    maintenance = maintenance_service.get_maintenance(session, maintenance_id)
    try:
        maintenance_service.cancel_maintenance(session, maintenance=maintenance, actor=current_actor(), now=utcnow())
    except InvalidInput as error:
        session.rollback()
        maintenance = maintenance_service.get_maintenance(session, maintenance_id)
        return _maintenance_page(maintenance, 422, update_errors={"status": message_for(error)})
    session.commit()
    return redirect(url_for("status_admin.maintenance_show", maintenance_id=maintenance_id), code=303)


@bp.route("/incidents/<reference>/public", methods=["GET", "POST"])
def incident_public(reference: str) -> Any:
    """What the public calls the incident (zh, optional en), or keep it internal-only."""
    session = get_session()
    incident = service.get_incident(session, reference)
    values: Any = {"public_title": incident.public_title or "", "public_title_en": incident.public_title_en or "",
                   "internal_only": incident.internal_only}
    errors: dict[str, str] = {}
    if request.method == "POST":
        form = request.form
        try:
            set_public_identity(session, incident=incident, public_title=form.get("public_title", ""),
                                public_title_en=form.get("public_title_en", ""),
                                internal_only=form.get("internal_only") == "on", actor=current_actor(), now=utcnow())
        except InvalidInput as error:
            session.rollback()
            values = {**form, "internal_only": form.get("internal_only") == "on"}
            errors = {error.field: message_for(error)}
        else:
            session.commit()
            return redirect(url_for("status_admin.incident_public", reference=reference, saved=1), code=303)
    return render_template("statusadmin/incident_public.html", incident=incident, values=values, errors=errors,
                           saved=request.args.get("saved") == "1"), 422 if errors else 200
