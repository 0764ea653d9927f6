"""Bearer-token authentication for /api/v1."""

from __future__ import annotations

from flask import g, request

from console.db import get_session
from incidents import accounts
from incidents.models import ApiToken
from console.clock import utcnow


def authenticate_api_request(*, allow_query_token: bool = False) -> ApiToken | None:
    """The live token named by `Authorization: Bearer …`, or None.

    With `allow_query_token` (alert hooks only: some senders cannot set headers) a
    `?token=…` in the URL is accepted when no Authorization header is sent.
    """
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    if not header and allow_query_token:
        scheme, secret = "bearer", request.args.get("token", "")
    if scheme.lower() != "bearer" or not secret.strip():
        return None
    session = get_session()
    token = accounts.token_for_secret(session, secret.strip(), now=utcnow())
    if token is not None and session.dirty:
        session.commit()  # last_used_at, at most once a minute
    g.api_token = token
    return token
