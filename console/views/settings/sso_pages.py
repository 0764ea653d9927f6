"""Single sign-on (admins): the OpenID Connect provider, claim → role rules, break-glass, linked accounts."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, request, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from console import current_actor
from console.clock import utcnow
from console.db import get_session
from console.i18n import add_reasons
from console.views.settings.common import answer, error_text
from incidents import single_sign_on
from incidents.errors import InvalidInput, NotFound
from incidents.models import Role

bp = Blueprint("sso_settings", __name__, url_prefix="/settings/sso")

PAGE = FRAGMENT = "settings/sso.html"
BLANK_RULES = 2

add_reasons({
    "sso_role": _l("Choose a role."),
    "sso_claim": _l("Name the claim, e.g. groups."),
    "sso_value": _l("Enter the value the claim must hold."),
    "sso_issuer": _l("Enter the provider's issuer address (http:// or https://, without ? or #)."),
    "sso_local_needs_sso": _l("Switch single sign-on on before switching password sign-in off."),
    "sso_break_glass": _l("Name an active administrator who keeps password sign-in."),
    "sso_no_issuer": _l("Set the provider's issuer first."),
    "sso_linked": _l("This identity is already linked to another account."),
})


def _rules_from(form: Any) -> list[dict[str, str]]:
    """The rule rows of the form, blank rows skipped, in order (the first match wins)."""
    rules = []
    index = 0
    while f"rule-{index}-claim" in form:
        row = {key: form.get(f"rule-{index}-{key}", "").strip() for key in ("claim", "value", "role")}
        if any(row.values()):
            rules.append(row)
        index += 1
    return rules


def _context(**state: Any) -> dict[str, Any]:
    session = get_session()
    config = single_sign_on.public_config(single_sign_on.load(session))
    values = state.pop("values", None) or config
    rules = list(values.get("rules", [])) + [{"claim": "", "value": "", "role": ""}] * BLANK_RULES
    context = {
        "values": values,
        "rules": rules,
        "secret_set": config["client_secret_set"],
        "roles": list(Role),
        "links": single_sign_on.linked_identities(session),
        "callback_url": url_for("sso.callback", _external=True),
        "errors": {},
        "link_values": {"username": "", "subject": ""},
    }
    context.update(state)
    return context


@bp.get("")
def show() -> Any:
    """The provider, its rules, and the accounts linked to it."""
    return answer(PAGE, FRAGMENT, _context())


@bp.post("")
def save() -> Any:
    """Store the settings; 422 at the field at fault, nothing saved."""
    session = get_session()
    form = request.form
    changes = {
        "enabled": form.get("enabled") == "1",
        "name": form.get("name", ""),
        "issuer": form.get("issuer", ""),
        "client_id": form.get("client_id", ""),
        "client_secret": form.get("client_secret", ""),
        "rules": _rules_from(form),
        "default_role": form.get("default_role", ""),
        "local_login": form.get("password_off") != "1",
        "break_glass": form.get("break_glass", ""),
    }
    try:
        single_sign_on.save(session, changes, actor=current_actor(), now=utcnow())
    except InvalidInput as error:
        session.rollback()
        values = {key: value for key, value in changes.items() if key != "client_secret"}
        return answer(PAGE, FRAGMENT, _context(values=values, errors={error.field: error_text(error)}), 422)
    session.commit()
    flash(gettext("Single sign-on settings saved."), "ok")
    return redirect(url_for("sso_settings.show"), code=303)


@bp.post("/links")
def link() -> Any:
    """Link an existing account to a provider identity (its subject)."""
    session = get_session()
    values = {"username": request.form.get("username", "").strip(), "subject": request.form.get("subject", "")}
    try:
        single_sign_on.link(session, username=values["username"], subject=values["subject"],
                            actor=current_actor(), now=utcnow())
    except InvalidInput as error:
        session.rollback()
        field = f"link_{error.field}"
        return answer(PAGE, FRAGMENT, _context(link_values=values, errors={field: error_text(error)}), 422)
    session.commit()
    flash(gettext("%(username)s may now sign in with the provider.", username=values["username"]), "ok")
    return redirect(url_for("sso_settings.show"), code=303)


@bp.post("/links/<username>/remove")
def unlink(username: str) -> Any:
    """Unlink an account from its provider identity."""
    session = get_session()
    try:
        single_sign_on.unlink(session, username=username, actor=current_actor(), now=utcnow())
    except NotFound:
        session.rollback()
    else:
        session.commit()
        flash(gettext("%(username)s is no longer linked to the provider.", username=username), "ok")
    return redirect(url_for("sso_settings.show"), code=303)
