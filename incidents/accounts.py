"""People and API tokens: creation, password checks, the login rate limit, the audit log."""

from __future__ import annotations

import functools
import hashlib
import re
import secrets
import unicodedata
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from incidents.actors import Actor
from incidents.audit import record_audit
from incidents.errors import InvalidInput, NotFound
from incidents.models import ApiToken, LoginAttempt, Role, User
from incidents.timeutil import ensure_aware

USERNAME_RE = re.compile(r"^[A-Za-z0-9_.-]{2,64}$")
PASSWORD_MIN = 10
LOGIN_WINDOW = timedelta(minutes=15)
# One address guessing across accounts is held after this many failures in the window.
LOGIN_MAX_FAILURES = 10
# One (account, address) pair: this many failures are free, then each costs twice the last wait.
PAIR_FREE_FAILURES = 5
PAIR_LONGEST_WAIT = LOGIN_WINDOW
TOKEN_PREFIX = "crs_"
LOCALES = ("zh_Hans_CN", "en")


def canonical_username(username: str) -> str:
    """The one spelling of a name: NFKC (full-width letters become ASCII), trimmed, lower case.
    `U_admin`, `u_admin` and `Ｕ_admin` are one account."""
    return unicodedata.normalize("NFKC", username or "").strip().lower()


def same_username(username: str) -> sa.ColumnElement[bool]:
    """The condition finding a user by any spelling of their name."""
    return sa.func.lower(User.username) == canonical_username(username)


def hash_password(password: str) -> str:
    """A salted scrypt hash (werkzeug's format)."""
    return generate_password_hash(password, method="scrypt")


def parse_role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        allowed = ", ".join(role.value for role in Role)
        raise InvalidInput("role", f"unknown role {value!r}; expected one of {allowed}", reason="choice",
                           allowed=allowed) from None


def create_user(
    session: Session,
    *,
    username: str,
    password: str,
    role: str,
    display_name: str = "",
    locale: str = "zh_Hans_CN",
    must_change_password: bool = False,
    actor: Actor,
    now: datetime,
) -> User:
    """Create an active user; the username must be new and the password long enough.
    With `must_change_password` the person chooses their own password at first sign-in."""
    username = unicodedata.normalize("NFKC", username or "").strip()
    if not USERNAME_RE.match(username):
        raise InvalidInput("username", "use 2-64 letters, digits, '.', '_' or '-'")
    if session.scalar(sa.select(User.id).where(same_username(username))) is not None:
        raise InvalidInput("username", f"user {username!r} already exists")
    if len(password or "") < PASSWORD_MIN:
        raise InvalidInput("password", f"the password needs at least {PASSWORD_MIN} characters")
    if locale not in LOCALES:
        raise InvalidInput("locale", f"unknown locale {locale!r}")
    user = User(
        username=username,
        display_name=(display_name or username).strip()[:100],
        password_hash=hash_password(password),
        role=parse_role(role),
        locale=locale,
        active=True,
        must_change_password=must_change_password,
        created_at=ensure_aware(now),
    )
    session.add(user)
    session.flush()
    record_audit(
        session, actor=actor, action="user.create", target_type="user", target_id=user.id, now=now,
        after={"username": user.username, "role": user.role.value},
    )
    return user


def set_locale(session: Session, *, user: User, locale: str, actor: Actor, now: datetime) -> None:
    """Change a user's interface language."""
    if locale not in LOCALES:
        raise InvalidInput("locale", f"unknown locale {locale!r}")
    if user.locale != locale:
        record_audit(
            session, actor=actor, action="user.locale", target_type="user", target_id=user.id,
            now=now, before={"locale": user.locale}, after={"locale": locale},
        )
        user.locale = locale


def login_retry_after(session: Session, *, username: str, ip: str, now: datetime) -> timedelta | None:
    """How long until this account may be tried again from this address; None when it may now.

    Failures slow down the (account, address) pair, each wait twice the last once the free ones
    are spent, up to PAIR_LONGEST_WAIT; an address guessing across accounts is held as a whole.
    An account is never held as a whole: failures from other addresses cannot lock its owner out.
    """
    now = ensure_aware(now)
    since = now - LOGIN_WINDOW
    failed = sa.and_(LoginAttempt.at > since, LoginAttempt.success.is_(False))
    waits = []
    pair = session.scalars(
        sa.select(LoginAttempt.at)
        .where(failed, LoginAttempt.username == canonical_username(username)[:64], LoginAttempt.ip == ip[:64])
        .order_by(LoginAttempt.at.desc())
        .limit(PAIR_FREE_FAILURES + 12)
    ).all()
    if len(pair) >= PAIR_FREE_FAILURES:
        wait = min(timedelta(seconds=2 ** (len(pair) - PAIR_FREE_FAILURES)), PAIR_LONGEST_WAIT)
        waits.append(pair[0] + wait - now)
    address = session.scalars(
        sa.select(LoginAttempt.at).where(failed, LoginAttempt.ip == ip[:64])
        .order_by(LoginAttempt.at.desc()).limit(LOGIN_MAX_FAILURES)
    ).all()
    if len(address) >= LOGIN_MAX_FAILURES:
        # Held until the oldest of the last N failures leaves the window.
        waits.append(address[-1] + LOGIN_WINDOW - now)
    waits = [wait for wait in waits if wait > timedelta(0)]
    return max(waits) if waits else None


def clear_login_failures(session: Session, *, username: str, actor: Actor, now: datetime) -> int:
    """Forget an account's failed sign-ins from every address (an admin unlocking it); audited."""
    user = session.scalar(sa.select(User).where(same_username(username)))
    if user is None:
        raise NotFound(f"no user {username!r}")
    cleared = session.execute(
        sa.delete(LoginAttempt).where(LoginAttempt.username == canonical_username(username)[:64],
                                      LoginAttempt.success.is_(False))
    ).rowcount
    record_audit(session, actor=actor, action="user.unlocked", target_type="user", target_id=user.id, now=now,
                 after={"failures_cleared": cleared})
    return cleared


@functools.cache
def _stand_in_hash() -> str:
    """A hash no password matches, checked for unknown names so they take as long as known ones."""
    return hash_password(secrets.token_urlsafe(32))


def authenticate(
    session: Session, *, username: str, password: str, ip: str, now: datetime, request_id: str = ""
) -> User | None:
    """Check a password and record the attempt; None on any failure (no hint which part, not even
    by timing). A success is audited too (a new signed-in session is a change of who may act)."""
    user = session.scalar(sa.select(User).where(same_username(username)))
    matches = check_password_hash(user.password_hash if user else _stand_in_hash(), password)
    ok = bool(user and user.active and matches)
    session.add(LoginAttempt(username=canonical_username(username)[:64], ip=ip[:64], at=ensure_aware(now),
                             success=ok))
    if not ok or user is None:
        return None
    actor = Actor(label=user.display_name, user_id=user.id, ip=ip, request_id=request_id)
    record_audit(session, actor=actor, action="user.signed_in", target_type="user", target_id=user.id, now=now)
    return user


def end_sessions(user: User) -> None:
    """Every signed-in session and remember-me cookie of this person stops working: the epoch is
    part of each session's id (User.get_id) and the console's user loader compares it."""
    user.session_epoch = (user.session_epoch or 0) + 1


def record_sign_out(session: Session, *, actor: Actor, now: datetime) -> None:
    """A person signs out: audited, and every session of theirs ends (a copied cookie too)."""
    if actor.user_id is not None:
        user = session.get(User, actor.user_id)
        if user is not None:
            end_sessions(user)
        record_audit(session, actor=actor, action="user.signed_out", target_type="user",
                     target_id=actor.user_id, now=now)


def create_token(
    session: Session, *, name: str, role: str, user_id: int | None, actor: Actor, now: datetime
) -> tuple[ApiToken, str]:
    """Create an API token; returns the row and the secret, which is never stored."""
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise InvalidInput("name", "a token needs a name of 1-100 characters")
    if session.scalar(sa.select(ApiToken.id).where(ApiToken.name == name)) is not None:
        raise InvalidInput("name", f"a token named {name!r} already exists")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        name=name,
        token_hash=hashlib.sha256(secret.encode()).hexdigest(),
        prefix=secret[: len(TOKEN_PREFIX) + 6],
        role=parse_role(role),
        user_id=user_id,
        created_at=ensure_aware(now),
    )
    session.add(token)
    session.flush()
    record_audit(
        session, actor=actor, action="token.create", target_type="api_token", target_id=token.id,
        now=now, after={"name": name, "role": token.role.value},
    )
    return token, secret


def token_for_secret(session: Session, secret: str, *, now: datetime) -> ApiToken | None:
    """The live token with this secret, touching its last use; None when unknown, revoked, or its
    person's account is no longer active (a token issued to someone who left stops with them)."""
    digest = hashlib.sha256(secret.encode()).hexdigest()
    token = session.scalar(sa.select(ApiToken).where(ApiToken.token_hash == digest))
    if token is None or token.revoked_at is not None:
        return None
    if token.user_id is not None:
        person = session.get(User, token.user_id)
        if person is None or not person.active:
            return None
    # Touch at most once a minute: a busy script should not write on every call.
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        token.last_used_at = ensure_aware(now)
    return token


def revoke_token(session: Session, *, name: str, actor: Actor, now: datetime) -> ApiToken:
    """Revoke a token by name; it stops working at once."""
    token = session.scalar(sa.select(ApiToken).where(ApiToken.name == name))
    if token is None:
        raise NotFound(f"no token named {name!r}")
    if token.revoked_at is None:
        token.revoked_at = ensure_aware(now)
        record_audit(
            session, actor=actor, action="token.revoke", target_type="api_token",
            target_id=token.id, now=now,
        )
    return token
