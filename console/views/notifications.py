"""The notification centre: the bell in the header with a live count, the list, read, snooze.

The bell polls a tiny fragment answered 304 while the count is unchanged (the same
conditional answer as the board). Everyone sees only their own notifications.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Blueprint, current_app, make_response, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user

from console import current_actor, htmx
from console.db import get_session
from console.i18n import message_for, select_locale
from console.notices import not_done
from console.views.caching import conditional
from console.views.deadlines import request_now
from incidents import notifications
from incidents.clock import SNOOZE_CHOICES
from incidents.errors import InvalidInput
from incidents.models import Notification

bp = Blueprint("notifications", __name__, url_prefix="/notifications")

CHANGED_EVENT = "notifications-changed"


def bell_count() -> int | None:
    """The signed-in person's count, or None (signed out, or the database is failing)."""
    if not getattr(current_user, "is_authenticated", False):
        return None
    try:
        return notifications.unread_count(get_session(), user_id=current_user.id, now=request_now())
    except sa.exc.SQLAlchemyError:
        # An error page must still render: a bell without a number beats no page.
        return None


@bp.app_context_processor
def bell_context() -> dict[str, Any]:
    return {"bell_count": bell_count, "bell_poll_seconds": current_app.config["BOARD_POLL_SECONDS"]}


@bp.get("/bell")
def bell() -> Any:
    """The bell with its count, polled by every page; 304 while the count is the same."""
    count = bell_count()
    return conditional(f"bell|{select_locale()}|{count}", lambda: render_template("notifications/_bell.html"))


def _list_context(**state: Any) -> dict[str, Any]:
    context = {
        "inbox": notifications.inbox(get_session(), user_id=current_user.id, now=request_now()),
        "snooze_choices": SNOOZE_CHOICES,
        "snooze_form": {},  # notification id -> {"minutes", "reason", "errors"}
        "list_message": None,
    }
    context.update(state)
    return context


@bp.get("")
def index() -> Any:
    """What needs me now, what I snoozed, and what came before."""
    return render_template("notifications/index.html", **_list_context())


def _answer(status: int = 200, **state: Any) -> Any:
    """The list fragment for htmx (with an event for the bell), else the page (errors) or a 303."""
    if not htmx and status < 300:
        return redirect(url_for("notifications.index"), code=303)
    template = "notifications/_list.html" if htmx else "notifications/index.html"
    response = make_response(render_template(template, **_list_context(**state)), status)
    if htmx and status < 300:
        response.headers["HX-Trigger"] = CHANGED_EVENT
    response.vary.add("HX-Request")
    return response


def _mine(notification_id: int) -> Notification:
    return notifications.get_notification(get_session(), user_id=current_user.id, notification_id=notification_id)


@bp.post("/<int:notification_id>/read")
def mark_read(notification_id: int) -> Any:
    """Mark one notification read."""
    session = get_session()
    notifications.mark_read(session, notification=_mine(notification_id), actor=current_actor(), now=request_now())
    session.commit()
    return _answer()


@bp.post("/read-all")
def mark_all_read() -> Any:
    """Mark read everything waiting now (snoozed ones stay snoozed)."""
    session = get_session()
    count = notifications.mark_all_read(session, user_id=current_user.id, actor=current_actor(), now=request_now())
    session.commit()
    message = gettext("%(count)s marked read.", count=count)
    return _answer(list_message=message if count else not_done(gettext("Nothing was waiting to be marked read.")))


@bp.post("/<int:notification_id>/snooze")
def snooze(notification_id: int) -> Any:
    """Hide a reminder for 5, 15 or 30 minutes with a reason (on the incident's timeline)."""
    session = get_session()
    notification = _mine(notification_id)
    values = {"minutes": request.form.get("minutes", ""), "reason": request.form.get("reason", "")}
    try:
        notifications.snooze(session, notification=notification, minutes=values["minutes"],
                             reason=values["reason"], actor=current_actor(), now=request_now())
    except InvalidInput as error:
        session.rollback()
        form = {**values, "errors": {error.field: message_for(error)}}
        return _answer(422, snooze_form={notification_id: form})
    session.commit()
    return _answer()
