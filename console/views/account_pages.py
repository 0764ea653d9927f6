"""A person's own account (/account): display name, mobile number, language, and password.

After a temporary password (an admin's reset, the demo admin) this is the only page a person
can reach until they choose their own password (console/__init__.py).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user

from console import current_actor
from console.clock import utcnow
from console.db import get_session
from console.i18n import LANGUAGES, add_reasons
from console.views.settings.common import error_text
from incidents import people
from incidents.errors import InvalidInput
from incidents.models import User

bp = Blueprint("account", __name__, url_prefix="/account")

PAGE = "account/account.html"

add_reasons({
    "mobile_format": _l("Enter a mainland mobile number: 11 digits starting with 1, e.g. 13800000000."),
    "password_short": _l("The password needs at least %(min)s characters."),
    "wrong_password": _l("The current password is wrong."),
    "same_password": _l("Choose a password different from the current one."),
    "password_mismatch": _l("The two new passwords differ."),
    "last_admin": _l("This is the last active administrator: make someone else an administrator first."),
})


def _me() -> User:
    return get_session().merge(current_user._get_current_object())


def _page(status: int = 200, *, values: dict[str, str] | None = None, errors: dict[str, str] | None = None) -> Any:
    user = _me()
    shown = {"display_name": user.display_name, "mobile": user.mobile, "locale": user.locale, **(values or {})}
    return render_template(PAGE, user=user, values=shown, errors=errors or {}, languages=LANGUAGES), status


@bp.get("")
def page() -> Any:
    """The person's own details and the password form (first, when it must be changed)."""
    return _page()


@bp.post("")
def save_profile() -> Any:
    """Save display name, mobile number and language; 422 at the field, nothing saved, otherwise."""
    session = get_session()
    form = request.form
    try:
        people.update_profile(session, _me(), display_name=form.get("display_name", ""),
                              mobile=form.get("mobile", ""), locale=form.get("locale", ""),
                              actor=current_actor(), now=utcnow())
    except InvalidInput as error:
        session.rollback()
        values = {key: form.get(key, "") for key in ("display_name", "mobile", "locale")}
        return _page(422, values=values, errors={error.field: error_text(error)})
    session.commit()
    flash(gettext("Your details were saved."), "ok")
    return redirect(url_for("account.page"), code=303)


@bp.post("/password")
def change_password() -> Any:
    """Replace the password: every other session of this person ends, this one goes on."""
    session = get_session()
    form = request.form
    user = _me()
    try:
        if form.get("new_password", "") != form.get("confirm_password", ""):
            raise InvalidInput("confirm_password", "the two new passwords differ", reason="password_mismatch")
        people.change_own_password(session, user, current=form.get("current_password", ""),
                                   new=form.get("new_password", ""), actor=current_actor(), now=utcnow())
    except InvalidInput as error:
        session.rollback()
        return _page(422, errors={error.field: error_text(error)})
    session.commit()
    # This browser carries the new session epoch (and a fresh remember-me cookie if it had one).
    login_user(user, remember=current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token") in request.cookies)
    flash(gettext("Your password was changed. You were signed out everywhere else."), "ok")
    return redirect(url_for("board.index") if form.get("was_temporary") else url_for("account.page"), code=303)
