"""The comms desk's own pages: the script library (话术库), its settings, and an agent's talking points.

Everyone signed in reads the library (agents use the replies too); comms staff and admins
save new versions; admins choose which updates need sign-off and when holding statements go out.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, render_template, request, url_for
from flask_login import current_user

from console import current_actor
from console.db import get_session
from console.i18n import message_for
from console.views.clock_context import may
from console.views.comms_context import PURPOSE_LABELS
from incidents import comms, scripts, talking_points
from incidents.errors import InvalidInput, NotFound
from incidents.lifecycle import Kind, Severity
from console.clock import utcnow
from incidents.updates import PUBLIC_STATUSES

bp = Blueprint("comms", __name__)


def _context(**extra: Any) -> dict[str, Any]:
    return {"PURPOSE_LABELS": PURPOSE_LABELS, "variables": list(scripts.VARIABLES.values()),
            "can_edit": may("scripts.edit"), "is_admin": may("admin"), **extra}


@bp.get("/scripts")
def library() -> Any:
    """Every script in force, by kind of incident."""
    rows = scripts.library(get_session())
    by_kind = {kind: [s for s in rows if s.kind == kind] for kind in Kind}
    return render_template("comms/library.html", **_context(by_kind=by_kind,
                                                             settings=comms.comms_settings(get_session())))


def _script_or_404(kind: str, purpose: str) -> tuple[Kind, str]:
    try:
        return scripts.parse_key(f"{kind}.{purpose}")
    except InvalidInput:
        raise NotFound(f"no script {kind}.{purpose}") from None


def _script_page(kind: Kind, purpose: str, values: dict[str, str] | None = None,
                 errors: dict[str, str] | None = None) -> Any:
    versions = scripts.versions(get_session(), kind, purpose)
    script = versions[0]
    if values is None:
        values = {"zh": script.zh, "en": script.en,
                  "public_status": script.public_status.value if script.public_status else ""}
    return render_template("comms/script.html", **_context(
        script=script, versions=versions, values=values, errors=errors or {}, statuses=PUBLIC_STATUSES,
        saved=request.args.get("saved") == "1")), 422 if errors else 200


@bp.get("/scripts/<kind>/<purpose>")
def script(kind: str, purpose: str) -> Any:
    """One script: its text in force, the form for a new version, and every earlier version."""
    return _script_page(*_script_or_404(kind, purpose))


@bp.post("/scripts/<kind>/<purpose>")
def save_script(kind: str, purpose: str) -> Any:
    """Save a new version (validated whole; the same text again saves nothing)."""
    session = get_session()
    kind_value, purpose = _script_or_404(kind, purpose)
    values = {key: request.form.get(key, "") for key in ("zh", "en", "public_status")}
    try:
        scripts.save_script(session, kind=kind_value, purpose=purpose, zh=values["zh"], en=values["en"],
                            public_status=values["public_status"] or None, actor=current_actor(), now=utcnow())
    except InvalidInput as error:
        session.rollback()
        return _script_page(kind_value, purpose, values, {error.field: message_for(error)})
    session.commit()
    return redirect(url_for("comms.script", kind=kind, purpose=purpose, saved=1), code=303)


def _settings_from_form(form: Any) -> dict[str, Any]:
    return {
        "signoff": {k.value: [s.value for s in Severity if form.get(f"signoff_{k.value}_{s.value}") == "on"] for k in Kind},
        "holding": {k.value: form.get(f"holding_{k.value}") == "on" for k in Kind},
        "signoff_minutes": form.get("signoff_minutes", ""),
        "holding_after_minutes": form.get("holding_after_minutes", ""),
    }


def _settings_page(current: dict[str, Any], errors: dict[str, str] | None = None) -> Any:
    errors = errors or {}
    return render_template("comms/settings.html", **_context(
        settings=current, errors=errors, kinds=list(Kind), severities=list(Severity),
        saved=request.args.get("saved") == "1")), 422 if errors else 200


@bp.get("/scripts/settings")
def settings() -> Any:
    """Which updates need sign-off (per kind and severity) and when holding statements go out."""
    return _settings_page(comms.comms_settings(get_session()))


@bp.post("/scripts/settings")
def save_settings() -> Any:
    """Save the sign-off and holding-statement settings (audited)."""
    session = get_session()
    wanted = _settings_from_form(request.form)
    try:
        comms.save_comms_settings(session, wanted, actor=current_actor(), now=utcnow())
    except InvalidInput as error:
        session.rollback()
        field = error.field.split(".")[0]
        return _settings_page({**comms.comms_settings(session), **wanted}, {field: message_for(error)})
    session.commit()
    return redirect(url_for("comms.settings", saved=1), code=303)


@bp.get("/talking-points")
def my_talking_points() -> Any:
    """The talking points of every active incident, with the ones still to confirm first."""
    rows = talking_points.for_person(get_session(), current_user.id)
    rows.sort(key=lambda a: a.confirmed_at is not None)
    return render_template("comms/talking_points.html", assignments=rows, can_confirm=may("talking_points.confirm"))
