"""/api/v1 over people: list them, read and change one, hand out a temporary password.

Routes are added to console.views.api's blueprint (bearer tokens, the role matrix, the error
shape); this module must be imported before that blueprint is registered. Names are found in
any spelling (incidents.accounts.same_username).
"""

from __future__ import annotations

from typing import Any

from flask import g, jsonify

from console import current_actor
from console.clock import utcnow
from console.db import get_session
from console.permissions import role_may
from console.views.api import bp, json_body, string_field
from incidents import accounts, people
from incidents.errors import InvalidInput
from incidents.models import User

PATCHABLE = {"role", "active", "display_name", "mobile", "locale"}


def person_json(user: User, failures: int = 0) -> dict[str, Any]:
    """Everything an admin sees of a person (never the password hash)."""
    return {"username": user.username, "display_name": user.display_name, "role": user.role.value,
            "active": user.active, "mobile": user.mobile, "locale": user.locale,
            "must_change_password": user.must_change_password, "failed_sign_ins": failures,
            "created_at": user.created_at.isoformat()}


@bp.get("/users")
def list_users() -> Any:
    """People, to name a commander or comms lead by username. Every token sees the active ones
    (username, display_name, role); an admin's token sees everyone, with their full record."""
    session = get_session()
    if role_may(g.api_token.role, "admin"):
        failures = people.failed_sign_ins(session, now=utcnow())
        return jsonify(users=[person_json(u, people.failures_of(failures, u)) for u in people.everyone(session)])
    return jsonify(users=[{"username": u.username, "display_name": u.display_name, "role": u.role.value}
                          for u in people.everyone(session) if u.active])


def _person(username: str) -> dict[str, Any]:
    session = get_session()
    user = people.find_user(session, username)
    failures = people.failed_sign_ins(session, now=utcnow())
    return person_json(user, people.failures_of(failures, user))


@bp.get("/users/<username>")
def get_user(username: str) -> Any:
    """One person's record."""
    return jsonify(_person(username))


@bp.patch("/users/<username>")
def update_user(username: str) -> Any:
    """Change {"role", "active", "display_name", "mobile", "locale"} (any of them). Deactivating ends
    the person's sessions and revokes their tokens. The last active admin keeps their role and
    stays active (422 at the field). Nothing is saved when any field is refused."""
    payload = json_body(PATCHABLE)
    session = get_session()
    user = people.find_user(session, username)
    actor, now = current_actor(), utcnow()
    active = payload.get("active")
    if active is not None and not isinstance(active, bool):
        raise InvalidInput("active", "active must be true or false", reason="boolean")
    mobile = payload.get("mobile")
    people.update_profile(session, user, display_name=string_field(payload, "display_name"),
                          mobile="" if "mobile" in payload and mobile is None else string_field(payload, "mobile"),
                          locale=string_field(payload, "locale"), actor=actor, now=now)
    if "role" in payload:
        people.change_role(session, user, role=string_field(payload, "role", required=True), actor=actor, now=now)
    if active is True:
        people.activate(session, user, actor=actor, now=now)
    elif active is False:
        people.deactivate(session, user, actor=actor, now=now)
    session.commit()
    return jsonify(_person(user.username))


@bp.post("/users/<username>/password")
def set_user_password(username: str) -> Any:
    """Set a temporary password {"password"?}; without one a random one is made and returned once.
    The person must choose their own at the next sign-in; their sessions end now."""
    payload = json_body({"password"})
    session = get_session()
    user = people.find_user(session, username)
    given = payload.get("password")  # a wrong type is refused by the password rule (422)
    password = given if given is not None else people.temporary_password()
    people.set_temporary_password(session, user, password=password, actor=current_actor(), now=utcnow())
    session.commit()
    body = {"username": user.username, "must_change_password": True}
    if given is None:
        body["temporary_password"] = password
    response = jsonify(body)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/users/<username>/unlock")
def unlock_user(username: str) -> Any:
    """Forget the person's failed sign-ins from every address (no wait is left); {"cleared": n}."""
    json_body(set())
    session = get_session()
    user = people.find_user(session, username)
    cleared = accounts.clear_login_failures(session, username=user.username, actor=current_actor(), now=utcnow())
    session.commit()
    return jsonify(username=user.username, cleared=cleared)
