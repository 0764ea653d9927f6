"""Signing in through the organisation's OpenID Connect provider (beside local accounts).

/sso/start sends the browser to the provider with state, nonce and a PKCE challenge kept in
the session; /sso/callback checks them, exchanges the code, validates the ID token and signs
the person in: their linked account, a new account with the mapped role, or a refusal page.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, redirect, render_template, request, session, url_for
from flask_babel import lazy_gettext as _l
from flask_login import login_user

from console import allowed_networks, current_actor, oidc
from console.clock import utcnow
from console.db import get_session
from console.views.auth import safe_next
from incidents import single_sign_on
from incidents.single_sign_on import SignInRefused

bp = Blueprint("sso", __name__, url_prefix="/sso")

PENDING_KEY = "sso_pending"
REFUSALS = {
    "no_role": _l("Your %(provider)s account gives you no role in this console, so no account was made for you. "
                  "Ask an administrator to add you to the right group at %(provider)s."),
    "name_taken": _l("An account named %(username)s already exists here. An administrator must link it to your "
                     "%(provider)s identity before you can sign in with %(provider)s."),
    "bad_username": _l("Your %(provider)s user name cannot be used as an account name here. Ask an administrator."),
    "inactive": _l("This account is disabled. Ask an administrator."),
    "state_mismatch": _l("This sign-in was not started here or has expired. Start again from the sign-in page."),
    "provider_unreachable": _l("%(provider)s could not be reached. Try again in a moment, or ask an administrator."),
}
# Any other reason: the provider's answer failed a check (token exchange, ID token, no subject).
NOT_VERIFIED = _l("Signing in with %(provider)s failed: its answer could not be verified. Start again, or ask an "
                  "administrator.")


def _refused(error: SignInRefused, provider: str) -> Any:
    current_app.logger.warning("single sign-on refused: %s %r", error.reason, error.params.get("detail", ""))
    text = REFUSALS.get(error.reason, NOT_VERIFIED)
    message = str(text) % {"provider": provider, "username": error.params.get("username", "")}
    return render_template("auth/sso_refused.html", message=message, provider=provider), 403


@bp.get("/start")
def start() -> Any:
    """Leave for the provider; back at /sso/callback (404 while single sign-on is off)."""
    config = single_sign_on.load(get_session())
    if not single_sign_on.is_on(config):
        abort(404)
    try:
        url, pending = oidc.authorization_url(config, url_for("sso.callback", _external=True), allowed_networks())
    except SignInRefused as error:
        return _refused(error, single_sign_on.display_name(config))
    session[PENDING_KEY] = {**pending.as_dict(), "next": safe_next(request.args.get("next"))}
    return redirect(url)


@bp.get("/callback")
def callback() -> Any:
    """Check the provider's answer and sign the person in, or say why not."""
    db = get_session()
    config = single_sign_on.load(db)
    provider = single_sign_on.display_name(config)
    pending = session.pop(PENDING_KEY, None)
    if not single_sign_on.is_on(config):
        abort(404)
    now = utcnow()
    try:
        claims = oidc.finish(config, pending, request.args.to_dict(), url_for("sso.callback", _external=True),
                             allowed_networks(), now)
        signed = single_sign_on.sign_in(db, config=config, claims=claims, ip=request.remote_addr or "", now=now,
                                        request_id=current_actor().request_id)
    except SignInRefused as error:
        db.rollback()
        return _refused(error, provider)
    db.commit()
    login_user(signed.user)
    return redirect(safe_next(pending.get("next")), code=303)
