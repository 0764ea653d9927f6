"""Administering people: profile, role, active or not, passwords, and ending their sessions.

Every change is audited in the caller's transaction. No change may leave the console without
an active admin. Ending a person's sessions raises their `session_epoch`, which is part of
every signed-in session's id (console/__init__.py's user loader compares it).
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash

from incidents.accounts import (
    LOCALES, LOGIN_WINDOW, PASSWORD_MIN, canonical_username, end_sessions, hash_password, parse_role,
    same_username,
)
from incidents.actors import Actor
from incidents.audit import record_audit
from incidents.errors import InvalidInput, NotFound
from incidents.models import ApiToken, LoginAttempt, Role, User
from incidents.timeutil import ensure_aware

DISPLAY_NAME_MAX = 100
PASSWORD_MAX = 1024
# Mainland mobile numbers: 11 digits starting with 1, optionally written with +86 / 86 / 0086.
MOBILE_RE = re.compile(r"(?:\+86|0086|86)?(1\d{10})")
MOBILE_SEPARATORS = re.compile(r"[\s\-()]")


def find_user(session: Session, username: str) -> User:
    """The person with this name in any spelling; NotFound otherwise."""
    plausible = isinstance(username, str) and "\x00" not in username and len(username) <= 200  # no NUL for PostgreSQL
    user = session.scalar(sa.select(User).where(same_username(username))) if plausible else None
    if user is None:
        raise NotFound(f"no user {username!r}")
    return user


def everyone(session: Session) -> list[User]:
    """Every account, active ones first, then by name."""
    return list(session.scalars(sa.select(User).order_by(User.active.desc(), sa.func.lower(User.username))))


def failed_sign_ins(session: Session, *, now: datetime) -> dict[str, int]:
    """Recent failed sign-ins per (canonical) name, within the login window: who may be locked out."""
    rows = session.execute(
        sa.select(LoginAttempt.username, sa.func.count())
        .where(LoginAttempt.success.is_(False), LoginAttempt.at > ensure_aware(now) - LOGIN_WINDOW)
        .group_by(LoginAttempt.username)
    )
    return {name: count for name, count in rows}


def failures_of(failures: dict[str, int], user: User) -> int:
    return failures.get(canonical_username(user.username)[:64], 0)


def mobile_number(value: str | None) -> str:
    """A mainland mobile number as "+8613800000000"; "" clears it; anything else is a 422."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidInput("mobile", "mobile must be a string", reason="mobile_format")
    compact = MOBILE_SEPARATORS.sub("", value)
    if not compact:
        return ""
    match = MOBILE_RE.fullmatch(compact)
    if match is None:
        raise InvalidInput("mobile", "a mainland mobile number: 11 digits starting with 1, optionally after +86",
                           reason="mobile_format")
    return "+86" + match.group(1)


def _display_name(value: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput("display_name", "display_name is required", reason="required")
    if len(value.strip()) > DISPLAY_NAME_MAX:
        raise InvalidInput("display_name", f"at most {DISPLAY_NAME_MAX} characters", reason="too_long",
                           max=DISPLAY_NAME_MAX)
    return value.strip()


def _locale(value: str) -> str:
    if value not in LOCALES:
        raise InvalidInput("locale", f"unknown locale {value!r}; expected one of {', '.join(LOCALES)}",
                           reason="choice", allowed=", ".join(LOCALES))
    return value


def update_profile(
    session: Session, user: User, *, display_name: str | None = None, mobile: str | None = None,
    locale: str | None = None, actor: Actor, now: datetime,
) -> None:
    """Change a person's display name, mobile number and language; all checked before any is set."""
    wanted: dict[str, str] = {}
    if display_name is not None:
        wanted["display_name"] = _display_name(display_name)
    if mobile is not None:
        wanted["mobile"] = mobile_number(mobile)
    if locale is not None:
        wanted["locale"] = _locale(locale)
    changed = {key: value for key, value in wanted.items() if getattr(user, key) != value}
    if not changed:
        return
    record_audit(session, actor=actor, action="user.profile", target_type="user", target_id=user.id, now=now,
                 before={key: getattr(user, key) for key in changed}, after=changed)
    for key, value in changed.items():
        setattr(user, key, value)


def _last_active_admin(session: Session, user: User) -> bool:
    if user.role != Role.ADMIN or not user.active:
        return False
    others = session.scalar(sa.select(sa.func.count(User.id)).where(
        User.role == Role.ADMIN, User.active.is_(True), User.id != user.id))
    return not others


def change_role(session: Session, user: User, *, role: str, actor: Actor, now: datetime) -> None:
    """Give a person another role; the last active admin keeps theirs."""
    if not isinstance(role, str):
        raise InvalidInput("role", "role must be a string", reason="choice",
                           allowed=", ".join(r.value for r in Role))
    new = parse_role(role)
    if new == user.role:
        return
    if _last_active_admin(session, user):
        raise InvalidInput("role", "this is the last active admin: make someone else an admin first",
                           reason="last_admin")
    record_audit(session, actor=actor, action="user.role", target_type="user", target_id=user.id, now=now,
                 before={"role": user.role.value}, after={"role": new.value})
    user.role = new


def deactivate(session: Session, user: User, *, actor: Actor, now: datetime) -> int:
    """Stop a person signing in: their sessions end and their API tokens are revoked at once.
    Returns how many tokens were revoked. The last active admin cannot be deactivated."""
    if not user.active:
        return 0
    if _last_active_admin(session, user):
        raise InvalidInput("active", "this is the last active admin: make someone else an admin first",
                           reason="last_admin")
    tokens = session.scalars(sa.select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None)))
    revoked = 0
    for token in tokens:
        token.revoked_at = ensure_aware(now)
        revoked += 1
    user.active = False
    end_sessions(user)
    record_audit(session, actor=actor, action="user.deactivated", target_type="user", target_id=user.id, now=now,
                 before={"active": True}, after={"active": False, "tokens_revoked": revoked})
    return revoked


def activate(session: Session, user: User, *, actor: Actor, now: datetime) -> None:
    """Let a deactivated person sign in again (their old tokens stay revoked)."""
    if user.active:
        return
    user.active = True
    record_audit(session, actor=actor, action="user.activated", target_type="user", target_id=user.id, now=now,
                 before={"active": False}, after={"active": True})


def _new_password(value: str, field: str) -> str:
    if not isinstance(value, str) or len(value) < PASSWORD_MIN:
        raise InvalidInput(field, f"the password needs at least {PASSWORD_MIN} characters",
                           reason="password_short", min=PASSWORD_MIN)
    if len(value) > PASSWORD_MAX:
        raise InvalidInput(field, f"at most {PASSWORD_MAX} characters", reason="too_long", max=PASSWORD_MAX)
    return value


def temporary_password() -> str:
    """A random password for an admin to hand over; the person replaces it at first sign-in."""
    return secrets.token_urlsafe(9)


def set_temporary_password(session: Session, user: User, *, password: str, actor: Actor, now: datetime) -> None:
    """An admin sets a password the person must change at their next sign-in; their sessions end."""
    user.password_hash = hash_password(_new_password(password, "password"))
    user.must_change_password = True
    end_sessions(user)
    record_audit(session, actor=actor, action="user.password_reset", target_type="user", target_id=user.id,
                 now=now, after={"must_change_password": True})


def change_own_password(
    session: Session, user: User, *, current: str, new: str, actor: Actor, now: datetime,
) -> None:
    """A person replaces their password: the current one must match and the new one differ.
    Every session of theirs ends (the caller signs this one in again)."""
    if not isinstance(current, str) or not check_password_hash(user.password_hash, current):
        raise InvalidInput("current_password", "the current password is wrong", reason="wrong_password")
    _new_password(new, "new_password")
    if new == current:
        raise InvalidInput("new_password", "choose a password different from the current one",
                           reason="same_password")
    user.password_hash = hash_password(new)
    user.must_change_password = False
    end_sessions(user)
    record_audit(session, actor=actor, action="user.password_changed", target_type="user", target_id=user.id,
                 now=now)
