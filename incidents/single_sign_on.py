"""Single sign-on beside local accounts: the provider's settings, the claim → role rules, and who
a validated ID token signs in as.

The OpenID Connect protocol itself (discovery, PKCE, token exchange, signature checks) lives in
console.oidc; this module only sees the claims of an ID token that was already validated.

A provider identity is linked to an account by (issuer, sub), never by name: a rename in the
provider finds the same account, and an existing local account with the same name is never taken
over (the sign-in is refused until an admin links the two).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incidents import accounts
from incidents.actors import Actor
from incidents.audit import record_audit
from incidents.errors import InvalidInput, NotFound
from incidents.models import Role, User
from incidents.settings import get_setting, put_setting
from incidents.sso_models import SsoIdentity
from incidents.timeutil import ensure_aware

KEY = "sso"
DISCOVERY_SUFFIX = "/.well-known/openid-configuration"
MAX_RULES = 50
SECRET_FIELD = "client_secret"
TEXT_FIELDS = {"name": 60, "client_id": 255, "client_secret": 500, "break_glass": 64}


def load(session: Session) -> dict[str, Any]:
    """The stored provider settings (secret included: for the sign-in flow only)."""
    return get_setting(session, KEY)


def public_config(config: dict[str, Any]) -> dict[str, Any]:
    """The settings as shown to people and scripts and kept in the audit log: never the secret."""
    shown = {key: value for key, value in config.items() if key != SECRET_FIELD}
    shown["client_secret_set"] = bool(config.get(SECRET_FIELD))
    return shown


def issuer_from(value: str) -> str:
    """The issuer for an address an admin typed: the issuer itself or its discovery document."""
    value = value.strip()
    if value.endswith(DISCOVERY_SUFFIX):
        value = value[: -len(DISCOVERY_SUFFIX)]
    return value


def _text(changes: dict[str, Any], key: str, current: str) -> str:
    if key not in changes or changes[key] is None:
        return current
    value = changes[key]
    if not isinstance(value, str):
        raise InvalidInput(key, f"{key} must be text", reason="invalid")
    value = value.strip()
    if len(value) > TEXT_FIELDS.get(key, 500):
        raise InvalidInput(key, f"{key} is longer than {TEXT_FIELDS[key]} characters", reason="invalid")
    return value


def _flag(changes: dict[str, Any], key: str, current: bool) -> bool:
    value = changes.get(key, current)
    if not isinstance(value, bool):
        raise InvalidInput(key, f"{key} must be true or false", reason="boolean")
    return value


def _role_value(field: str, value: Any) -> str:
    try:
        return Role(value).value
    except ValueError:
        allowed = ", ".join(role.value for role in Role)
        raise InvalidInput(field, f"unknown role {value!r}; expected one of {allowed}", reason="sso_role") from None


def _rules(value: Any) -> list[dict[str, str]]:
    if not isinstance(value, list) or len(value) > MAX_RULES:
        raise InvalidInput("rules", f"rules must be a list of at most {MAX_RULES} rules", reason="invalid")
    rules = []
    for index, rule in enumerate(value):
        field = f"rules.{index}"
        if not isinstance(rule, dict) or set(rule) - {"claim", "value", "role"}:
            raise InvalidInput(field, "a rule is {\"claim\", \"value\", \"role\"}", reason="invalid")
        claim, expected = rule.get("claim"), rule.get("value")
        if not isinstance(claim, str) or not claim.strip() or len(claim) > 100:
            raise InvalidInput(f"{field}.claim", "name the claim (1-100 characters)", reason="sso_claim")
        if not isinstance(expected, str) or not expected.strip() or len(expected) > 200:
            raise InvalidInput(f"{field}.value", "give the value to match (1-200 characters)", reason="sso_value")
        rules.append({"claim": claim.strip(), "value": expected.strip(),
                      "role": _role_value(f"{field}.role", rule.get("role"))})
    return rules


def validated(session: Session, changes: dict[str, Any], current: dict[str, Any]) -> dict[str, Any]:
    """The settings after `changes` (absent keys keep their value; an absent, null or empty secret
    keeps the stored one), or InvalidInput naming the first field at fault."""
    config = dict(current)
    for key in ("name", "client_id", "break_glass"):
        config[key] = _text(changes, key, current.get(key, ""))
    secret = _text(changes, SECRET_FIELD, "")
    if secret:
        config[SECRET_FIELD] = secret
    if "issuer" in changes and changes["issuer"] is not None:
        issuer = issuer_from(_text(changes, "issuer", ""))
        parts = urlsplit(issuer)
        if issuer and (parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment):
            raise InvalidInput("issuer", "the issuer must be an http(s) address without ? or #", reason="sso_issuer")
        if len(issuer) > 500:
            raise InvalidInput("issuer", "the issuer is longer than 500 characters", reason="invalid")
        config["issuer"] = issuer
    if "rules" in changes:
        config["rules"] = _rules(changes["rules"])
    if "default_role" in changes:
        default = changes["default_role"]
        config["default_role"] = None if default in (None, "") else _role_value("default_role", default)
    config["enabled"] = _flag(changes, "enabled", current.get("enabled", False))
    # Switching single sign-on off gives everyone their password sign-in back, unless asked otherwise.
    keep_local = current.get("local_login", True) or not config["enabled"]
    config["local_login"] = _flag(changes, "local_login", keep_local)
    if config["enabled"]:
        for key in ("issuer", "client_id", SECRET_FIELD):
            if not config.get(key):
                raise InvalidInput(key, f"{key} is required to switch single sign-on on", reason="required")
    if not config["local_login"]:
        if not config["enabled"]:
            raise InvalidInput("local_login", "local sign-in can only be switched off while single sign-on is on",
                               reason="sso_local_needs_sso")
        name = config["break_glass"]
        admin = session.scalar(sa.select(User).where(accounts.same_username(name))) if name else None
        if admin is None or not admin.active or admin.role != Role.ADMIN:
            raise InvalidInput("break_glass", "name an active admin who may still sign in with a password",
                               reason="sso_break_glass")
        config["break_glass"] = admin.username
    return config


def save(session: Session, changes: dict[str, Any], *, actor: Actor, now: datetime) -> dict[str, Any]:
    """Validate and store the settings (audited, the secret masked); returns what is stored."""
    config = validated(session, changes, load(session))
    put_setting(session, KEY, config, actor=actor, now=now, shown=public_config)
    return config


def display_name(config: dict[str, Any]) -> str:
    """The provider's name on the sign-in button."""
    return config.get("name") or urlsplit(config.get("issuer", "")).hostname or "SSO"


def is_on(config: dict[str, Any]) -> bool:
    return bool(config.get("enabled") and config.get("issuer") and config.get("client_id"))


def local_sign_in_allowed(config: dict[str, Any], username: str) -> bool:
    """Whether this name may sign in with a password: everyone, or only the break-glass admin."""
    if config.get("local_login", True) or not is_on(config):
        return True
    return bool(config.get("break_glass")) and (
        accounts.canonical_username(username) == accounts.canonical_username(config["break_glass"]))


def password_sign_in_allowed(session: Session, config: dict[str, Any], username: str) -> bool:
    """Whether this person may sign in with a password now: everyone while password sign-in is on;
    otherwise only the break-glass account, and only while it is an active admin (demoted or
    deactivated, it no longer opens the door)."""
    if not local_sign_in_allowed(config, username):
        return False
    if config.get("local_login", True) or not is_on(config):
        return True
    user = session.scalar(sa.select(User).where(accounts.same_username(username)))
    return bool(user and user.active and user.role == Role.ADMIN)


def role_for(config: dict[str, Any], claims: dict[str, Any]) -> Role | None:
    """The first rule whose claim holds the value (a list containing it, or a value equal to it)
    gives the role; else the default role; None when neither: the sign-in is refused."""
    for rule in config.get("rules", []):
        held = claims.get(rule["claim"])
        values = held if isinstance(held, list) else [held]
        if any(str(value) == rule["value"] for value in values if value is not None):
            return Role(rule["role"])
    default = config.get("default_role")
    return Role(default) if default else None


def username_from(claims: dict[str, Any]) -> str:
    """The account name for a new person: preferred_username, else the e-mail's local part (canonical)."""
    preferred = claims.get("preferred_username")
    if not isinstance(preferred, str) or not preferred.strip():
        email = claims.get("email")
        preferred = email.rpartition("@")[0] if isinstance(email, str) and "@" in email else ""
    return accounts.canonical_username(preferred)


class SignInRefused(Exception):
    """A validated identity that may not sign in; `reason` says why (in the reader's language later)."""

    def __init__(self, reason: str, **params: Any):
        super().__init__(reason)
        self.reason = reason
        self.params = params


@dataclass(frozen=True)
class SignedIn:
    user: User
    created: bool


def sign_in(session: Session, *, config: dict[str, Any], claims: dict[str, Any], ip: str, now: datetime,
            request_id: str = "") -> SignedIn:
    """The account a validated ID token signs in as, made at a first sign-in; audited.

    Refused (SignInRefused) when no rule gives a role, when the account is disabled, when the name
    is unusable, or when a local account already has the name and no admin linked it.
    """
    issuer, subject = config["issuer"], str(claims.get("sub") or "")
    if not subject:
        raise SignInRefused("no_subject")
    role = role_for(config, claims)
    identity = session.scalar(sa.select(SsoIdentity).where(SsoIdentity.issuer == issuer,
                                                           SsoIdentity.subject == subject))
    created = False
    if identity is not None:
        user = identity.user
        if not user.active:
            raise SignInRefused("inactive")
        if role is None and identity.origin == "sign_in":
            # The provider no longer grants this person a role here: access ends with it.
            raise SignInRefused("no_role")
    else:
        if role is None:
            raise SignInRefused("no_role")
        username = username_from(claims)
        if not accounts.USERNAME_RE.match(username):
            raise SignInRefused("bad_username", username=username)
        if session.scalar(sa.select(User.id).where(accounts.same_username(username))) is not None:
            raise SignInRefused("name_taken", username=username)
        name = claims.get("name") if isinstance(claims.get("name"), str) else ""
        actor = Actor(label=f"SSO ({display_name(config)})", ip=ip, request_id=request_id)
        # Nobody knows this password: the account signs in through the provider only.
        user = accounts.create_user(session, username=username, password=secrets.token_urlsafe(32),
                                    role=role.value, display_name=name or username, actor=actor, now=now)
        session.add(SsoIdentity(issuer=issuer, subject=subject, user_id=user.id, origin="sign_in",
                                created_at=ensure_aware(now)))
        session.flush()
        created = True
    person = Actor(label=user.display_name, user_id=user.id, ip=ip, request_id=request_id)
    record_audit(session, actor=person, action="user.signed_in", target_type="user", target_id=user.id, now=now,
                 after={"via": "sso", "issuer": issuer})
    return SignedIn(user=user, created=created)


def link(session: Session, *, username: str, subject: str, actor: Actor, now: datetime) -> SsoIdentity:
    """An admin links an existing account to the provider identity `subject` (its `sub`); audited."""
    config = load(session)
    if not config.get("issuer"):
        raise InvalidInput("subject", "set the provider's issuer first", reason="sso_no_issuer")
    subject = (subject or "").strip() if isinstance(subject, str) else ""
    if not subject or len(subject) > 255:
        raise InvalidInput("subject", "give the provider's subject (sub) of 1-255 characters", reason="required")
    user = session.scalar(sa.select(User).where(accounts.same_username(username or "")))
    if user is None:
        raise InvalidInput("username", f"no user {username!r}", reason="no_user")
    taken = session.scalar(sa.select(SsoIdentity).where(SsoIdentity.issuer == config["issuer"],
                                                        SsoIdentity.subject == subject))
    if taken is not None and taken.user_id != user.id:
        raise InvalidInput("subject", f"this identity is linked to {taken.user.username!r}", reason="sso_linked")
    existing = session.scalar(sa.select(SsoIdentity).where(SsoIdentity.user_id == user.id))
    before = {"issuer": existing.issuer, "subject": existing.subject} if existing else None
    if existing is None:
        existing = SsoIdentity(user_id=user.id, created_at=ensure_aware(now))
        session.add(existing)
    existing.issuer, existing.subject, existing.origin = config["issuer"], subject, "admin"
    session.flush()
    record_audit(session, actor=actor, action="user.sso_linked", target_type="user", target_id=user.id, now=now,
                 before=before, after={"issuer": config["issuer"], "subject": subject})
    return existing


def unlink(session: Session, *, username: str, actor: Actor, now: datetime) -> None:
    """Remove an account's provider identity; it signs in with a password only (if it has one)."""
    user = session.scalar(sa.select(User).where(accounts.same_username(username or "")))
    identity = session.scalar(sa.select(SsoIdentity).where(SsoIdentity.user_id == user.id)) if user else None
    if identity is None:
        raise NotFound(f"no provider identity linked to {username!r}")
    record_audit(session, actor=actor, action="user.sso_unlinked", target_type="user", target_id=user.id, now=now,
                 before={"issuer": identity.issuer, "subject": identity.subject})
    session.delete(identity)
    session.flush()


def linked_identities(session: Session) -> list[SsoIdentity]:
    """Every linked identity, by account name."""
    return list(session.scalars(sa.select(SsoIdentity).join(User).order_by(User.username)))
