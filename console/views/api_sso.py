"""/api/v1/sso: the OpenID Connect provider, its claim → role rules, break-glass, linked identities.

Nested in the API blueprint (endpoints "api.sso.*"): bearer tokens, errors as
{"error": {"code", "message", "field"}}. The client secret is write-only: answers say only
whether one is set (client_secret_set).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

from console import current_actor
from console.clock import utcnow
from console.db import get_session
from console.views import api
from console.views.api import json_body, string_field
from incidents import single_sign_on
from incidents.sso_models import SsoIdentity

bp = Blueprint("sso", __name__)

FIELDS = {"enabled", "name", "issuer", "client_id", "client_secret", "rules", "default_role", "local_login",
          "break_glass"}


def link_json(identity: SsoIdentity) -> dict[str, Any]:
    return {"username": identity.user.username, "issuer": identity.issuer, "subject": identity.subject,
            "origin": identity.origin, "created_at": identity.created_at.isoformat()}


@bp.get("/sso")
def get_config() -> Any:
    """The single sign-on settings, the secret masked."""
    return jsonify(single_sign_on.public_config(single_sign_on.load(get_session())))


@bp.put("/sso")
def put_config() -> Any:
    """Change the settings: any of {enabled, name, issuer, client_id, client_secret, rules: [{claim,
    value, role}], default_role, local_login, break_glass}; an absent or empty secret keeps the
    stored one. 422 naming the first bad field; nothing is saved then."""
    payload = json_body(FIELDS)
    session = get_session()
    config = single_sign_on.save(session, payload, actor=current_actor(), now=utcnow())
    session.commit()
    return jsonify(single_sign_on.public_config(config))


@bp.get("/sso/links")
def list_links() -> Any:
    """Every account linked to a provider identity."""
    return jsonify(links=[link_json(identity) for identity in single_sign_on.linked_identities(get_session())])


@bp.put("/sso/links/<username>")
def put_link(username: str) -> Any:
    """Link an existing account to the provider identity {"subject": "<sub>"}: it may then sign in
    with the provider (an account is never taken over by a same-named identity without this)."""
    payload = json_body({"subject"})
    session = get_session()
    identity = single_sign_on.link(session, username=username, subject=string_field(payload, "subject", True),
                                   actor=current_actor(), now=utcnow())
    session.commit()
    return jsonify(link_json(identity))


@bp.delete("/sso/links/<username>")
def delete_link(username: str) -> Any:
    """Unlink an account from its provider identity."""
    session = get_session()
    single_sign_on.unlink(session, username=username, actor=current_actor(), now=utcnow())
    session.commit()
    return "", 204


# Nested once, at import, before any app registers the API blueprint.
api.bp.register_blueprint(bp)
