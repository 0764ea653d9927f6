"""People (admins): roles, temporary passwords, deactivating and reactivating, unlocking.

Each action is one small form per person; the page answers 422 with the reason when a guard
refuses (the last active administrator keeps their role and stays active).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext

from console import current_actor
from console.clock import utcnow
from console.db import get_session
from console.views.settings.common import error_text
from incidents import accounts, people
from incidents.errors import InvalidInput
from incidents.models import Role, User

bp = Blueprint("people", __name__, url_prefix="/settings/people")

PAGE = "settings/people.html"


def _page(status: int = 200, *, problem: str = "", handed_over: tuple[User, str] | None = None) -> Any:
    session = get_session()
    failures = people.failed_sign_ins(session, now=utcnow())
    rows = [(user, people.failures_of(failures, user)) for user in people.everyone(session)]
    return render_template(PAGE, rows=rows, roles=list(Role), problem=problem, handed_over=handed_over), status


def _done(message: str) -> Any:
    get_session().commit()
    flash(message, "ok")
    return redirect(url_for("people.index"), code=303)


def _refused(error: InvalidInput) -> Any:
    get_session().rollback()
    return _page(422, problem=error_text(error))


@bp.get("")
def index() -> Any:
    """Everyone with an account: role, state, recent failed sign-ins, and what an admin can do."""
    return _page()


@bp.post("/<username>/role")
def change_role(username: str) -> Any:
    user = people.find_user(get_session(), username)
    try:
        people.change_role(get_session(), user, role=request.form.get("role", ""), actor=current_actor(),
                           now=utcnow())
    except InvalidInput as error:
        return _refused(error)
    return _done(gettext("%(name)s's role was changed.", name=user.display_name))


@bp.post("/<username>/deactivate")
def deactivate(username: str) -> Any:
    """Stop the person signing in: their open sessions end and their API tokens are revoked now."""
    user = people.find_user(get_session(), username)
    try:
        people.deactivate(get_session(), user, actor=current_actor(), now=utcnow())
    except InvalidInput as error:
        return _refused(error)
    return _done(gettext("%(name)s was deactivated and signed out everywhere.", name=user.display_name))


@bp.post("/<username>/activate")
def activate(username: str) -> Any:
    user = people.find_user(get_session(), username)
    people.activate(get_session(), user, actor=current_actor(), now=utcnow())
    return _done(gettext("%(name)s can sign in again.", name=user.display_name))


@bp.post("/<username>/password")
def temporary_password(username: str) -> Any:
    """Give the person a random temporary password, shown once here; they must replace it."""
    session = get_session()
    user = people.find_user(session, username)
    password = people.temporary_password()
    people.set_temporary_password(session, user, password=password, actor=current_actor(), now=utcnow())
    session.commit()
    response = _page(handed_over=(user, password))
    return response[0], response[1], {"Cache-Control": "no-store"}


@bp.post("/<username>/unlock")
def unlock(username: str) -> Any:
    """Forget the person's failed sign-ins from every address, so no wait is left."""
    user = people.find_user(get_session(), username)
    accounts.clear_login_failures(get_session(), username=user.username, actor=current_actor(), now=utcnow())
    return _done(gettext("%(name)s's failed sign-ins were cleared.", name=user.display_name))
