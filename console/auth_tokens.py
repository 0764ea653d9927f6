"""Bearer-token authentication for /api/v1."""

from __future__ import annotations

from flask import g, request

from console.db import get_session
from incidents import accounts
from incidents.models import ApiToken
from incidents.timeutil import utcnow


def authenticate_api_request() -> ApiToken | None:
    """The live token named by `Authorization: Bearer …`, or None."""
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        return None
    session = get_session()
    token = accounts.token_for_secret(session, secret.strip(), now=utcnow())
    if token is not None and session.dirty:
        session.commit()  # last_used_at, at most once a minute
    g.api_token = token
    return token
