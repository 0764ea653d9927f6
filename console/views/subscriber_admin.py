"""The admins' view of the status page's subscribers: the list, team robots added, each one's
delivery log, pause, resume and removal.

Plain forms that work without JavaScript: 303 back on success, the form again with the
message at the field and status 422 on bad input, nothing saved.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, redirect, render_template, request, url_for

from console import allowed_networks, current_actor
from console.db import get_session
from console.i18n import message_for
from console.subscriber_jobs import mail_settings
from incidents import subscribers
from incidents.errors import InvalidInput
from incidents.publicity import all_components
from console.clock import utcnow

bp = Blueprint("subscriber_admin", __name__)

FORM_FIELDS = ("kind", "name", "url", "secret", "email", "language")


def _list_page(status: int = 200, **state: Any) -> Any:
    session = get_session()
    shown = {s.value for s in subscribers.SHOWN_STATES}
    only = request.args.get("state") if request.args.get("state") in shown else None
    context: dict[str, Any] = {
        "subscribers": subscribers.list_subscribers(session, state=only), "only": only,
        "states": subscribers.SHOWN_STATES,
        "components": all_components(session, shown_only=True), "kinds": subscribers.ADMIN_KINDS,
        "email_offered": mail_settings(current_app.config) is not None,
        "values": {"kind": "wecom", "language": "zh"}, "errors": {}, "chosen": set(),
    }
    context.update(state)
    return render_template("subscribers/index.html", **context), status


@bp.get("/admin/subscribers")
def index() -> Any:
    """Every subscriber (or those in one state), paused-by-failures first, and the form to add one."""
    return _list_page()


@bp.post("/admin/subscribers")
def create() -> Any:
    """Add a team robot, a webhook or an address; active at once."""
    session = get_session()
    data: dict[str, Any] = {field: request.form.get(field, "") for field in FORM_FIELDS}
    data["components"] = request.form.getlist("components")
    try:
        subscribers.add_subscriber(session, data=data, actor=current_actor(), now=utcnow(),
                                   allowed_networks=allowed_networks())
    except InvalidInput as error:
        session.rollback()
        return _list_page(422, values=request.form, errors={error.field: message_for(error)},
                          chosen=set(data["components"]))
    session.commit()
    return redirect(url_for("subscriber_admin.index"), code=303)


@bp.get("/admin/subscribers/<int:subscriber_id>")
def show(subscriber_id: int) -> Any:
    """One subscriber with its delivery log (latest messages and every attempt)."""
    session = get_session()
    subscriber = subscribers.get_subscriber(session, subscriber_id)
    return render_template("subscribers/show.html", subscriber=subscriber,
                           deliveries=subscribers.delivery_log(session, subscriber))


def _act(subscriber_id: int, action: Any, back: str) -> Any:
    session = get_session()
    subscriber = subscribers.get_subscriber(session, subscriber_id)
    try:
        action(session, subscriber=subscriber, actor=current_actor(), now=utcnow())
    except InvalidInput as error:
        session.rollback()
        return render_template("subscribers/show.html", subscriber=subscriber, error=message_for(error),
                               deliveries=subscribers.delivery_log(session, subscriber)), 409
    session.commit()
    return redirect(back, code=303)


@bp.post("/admin/subscribers/<int:subscriber_id>/pause")
def pause(subscriber_id: int) -> Any:
    """Stop sending to it until resumed."""
    return _act(subscriber_id, subscribers.pause, url_for("subscriber_admin.show", subscriber_id=subscriber_id))


@bp.post("/admin/subscribers/<int:subscriber_id>/resume")
def resume(subscriber_id: int) -> Any:
    """Send to it again; its failure count starts over."""
    return _act(subscriber_id, subscribers.resume, url_for("subscriber_admin.show", subscriber_id=subscriber_id))


@bp.post("/admin/subscribers/<int:subscriber_id>/delete")
def delete(subscriber_id: int) -> Any:
    """Remove it from the list; its delivery log stays in the database."""
    return _act(subscriber_id, subscribers.remove, url_for("subscriber_admin.index"))
