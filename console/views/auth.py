"""Signing in and out, and choosing the interface language."""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, make_response, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user, login_user, logout_user

from console import current_actor
from console.db import get_session
from console.i18n import LANGUAGE_COOKIE, LANGUAGES
from incidents import accounts, single_sign_on
from console.clock import utcnow

bp = Blueprint("auth", __name__)


def safe_next(target: str | None) -> str:
    """Only same-site relative paths: a login link must not bounce people elsewhere.

    Browsers read a backslash as a slash and drop tabs and newlines from URLs, so a path with
    either (slash-backslash-evil.example) could leave the site: such targets are refused too.
    """
    if (target and target.startswith("/") and not target.startswith("//") and "\\" not in target
            and not any(ch < " " or ch == "\x7f" for ch in target) and not urlsplit(target).netloc):
        return target
    return url_for("board.index")


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    """The sign-in form; failures slow down the (account, address) pair and a guessing address."""
    if current_user.is_authenticated and request.method == "GET":
        return redirect(safe_next(request.args.get("next")))
    error = None
    username = request.form.get("username", "").strip()
    sso = single_sign_on.load(get_session())
    if request.method == "POST":
        session = get_session()
        now = utcnow()
        if not single_sign_on.password_sign_in_allowed(session, sso, username):
            error = gettext("Sign-in with a password is switched off. Use “Sign in with %(provider)s”.",
                            provider=single_sign_on.display_name(sso))
            return _form(sso, error, username), 403
        ip = request.remote_addr or ""
        wait = accounts.login_retry_after(session, username=username, ip=ip, now=now)
        if wait is not None:
            if wait.total_seconds() < 60:
                error = gettext("Too many failed sign-ins. Try again in %(seconds)s seconds.",
                                seconds=max(1, math.ceil(wait.total_seconds())))
            else:
                error = gettext("Too many failed sign-ins. Try again in %(minutes)s minutes.",
                                minutes=math.ceil(wait.total_seconds() / 60))
            retry = str(max(1, math.ceil(wait.total_seconds())))
            return _form(sso, error, username), 429, {"Retry-After": retry}
        user = accounts.authenticate(
            session, username=username, password=request.form.get("password", ""), ip=ip, now=now,
            request_id=current_actor().request_id,
        )
        session.commit()
        if user is not None:
            login_user(user, remember=bool(request.form.get("remember")))
            if user.must_change_password:
                return redirect(url_for("account.page"), code=303)
            return redirect(safe_next(request.args.get("next")), code=303)
        error = gettext("Wrong username or password.")
        return _form(sso, error, username), 401
    return _form(sso, error, username)


def _form(sso: dict[str, Any], error: str | None, username: str) -> str:
    """The sign-in page: the provider's button when single sign-on is on, the password form below."""
    return render_template("auth/login.html", error=error, username=username,
                           sso_on=single_sign_on.is_on(sso), sso_name=single_sign_on.display_name(sso),
                           local_only=not single_sign_on.local_sign_in_allowed(sso, ""))


@bp.post("/logout")
def logout() -> Any:
    """End the signed-in session (audited)."""
    session = get_session()
    accounts.record_sign_out(session, actor=current_actor(), now=utcnow())
    session.commit()
    logout_user()
    return redirect(url_for("auth.login"), code=303)


@bp.post("/language")
def language() -> Any:
    """Switch the interface language: stored on the user, or in a cookie before sign-in."""
    chosen = request.form.get("locale", "")
    if chosen not in LANGUAGES:
        chosen = "zh_Hans_CN"
    if current_user.is_authenticated:
        session = get_session()
        user = session.merge(current_user._get_current_object())
        accounts.set_locale(session, user=user, locale=chosen, actor=current_actor(), now=utcnow())
        session.commit()
    response = make_response(redirect(safe_next(request.form.get("next")), code=303))
    response.set_cookie(LANGUAGE_COOKIE, chosen, max_age=365 * 24 * 3600, samesite="Lax", httponly=True)
    return response
