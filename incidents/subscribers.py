"""Subscribers of the status page: subscribing, confirming, unsubscribing, and the admins' hand.

A visitor subscribes an e-mail address (double opt-in: nothing but the confirmation mail is
sent until its link is opened) or a webhook URL (checked against netguard at once, signed
with HMAC-SHA256 on every delivery). Admins add team robots and addresses that are active at
once, pause, resume and remove any subscriber. Every message leaves through the outbox.

Floods are bounded by a rate limit per IP and per address over a sliding window, counted in
the database (SubscriptionAttempt) so every web process sees the same numbers.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incidents import channels
from incidents.actors import Actor
from incidents.audit import record_audit
from incidents import lookup
from incidents.errors import DomainError, InvalidInput, NotFound
from incidents.models import DeliveryAttempt, OutboxMessage
from incidents.netguard import IPNetwork, UnsafeURL, check_url
from incidents.public_models import Component
from incidents.subscriber_fanout import queue_confirmation, queue_notice
from incidents.subscriber_models import Subscriber, SubscriberState, SubscriptionAttempt
from incidents.timeutil import ensure_aware

EMAIL_MAX = 254
URL_MAX = 500
SECRET_MAX = 200
NAME_MAX = 100
# A visitor's subscription waits this long for its confirmation link to be opened.
CONFIRM_WITHIN = timedelta(days=2)
# The flood guard: at most this many subscriptions per IP and per address in the window.
RATE_WINDOW = timedelta(hours=1)
PER_IP = 10
PER_ADDRESS = 3
ROBOT_KINDS = ("wecom", "dingtalk", "feishu")
PUBLIC_KINDS = ("email", "webhook")
ADMIN_KINDS = (*ROBOT_KINDS, "webhook", "email")
LANGUAGES = ("zh", "en")
SHOWN_STATES = (SubscriberState.PENDING, SubscriberState.ACTIVE, SubscriberState.PAUSED,
                SubscriberState.UNSUBSCRIBED)
_EMAIL = re.compile(r"^[^@\s<>,;\"()\[\]\\]+@[^@\s<>,;\"()\[\]\\]+\.[^@\s<>,;\"()\[\]\\.]{2,}$")


class SubscriptionRateLimited(DomainError):
    """Too many subscriptions from one address or for one destination just now."""

    code = "rate_limited"

    def __init__(self, retry_after: timedelta):
        super().__init__(f"too many subscriptions; try again in {max(1, int(retry_after.total_seconds() // 60))} min")
        self.retry_after = retry_after


@dataclass(frozen=True)
class Subscribed:
    """What a visitor's subscription did: the subscriber, and whether a mail is on its way."""

    subscriber: Subscriber
    # A webhook's signing secret, shown to the visitor once (it signs every delivery).
    secret: str = ""


def clean_email(value: Any) -> str:
    """A plain e-mail address, lower-cased; InvalidInput naming the field `email` otherwise."""
    text = (value or "").strip() if isinstance(value, str) else ""
    if not text:
        raise InvalidInput("email", "an e-mail address is required", reason="required")
    if len(text) > EMAIL_MAX:
        raise InvalidInput("email", f"email is longer than {EMAIL_MAX} characters", reason="too_long", max=EMAIL_MAX)
    if not _EMAIL.match(text):
        raise InvalidInput("email", f"{text!r} is not an e-mail address", reason="bad_email")
    return text.lower()


def _length(value: Any, field: str, limit: int) -> str:
    text = (value or "").strip() if isinstance(value, str) else ""
    if len(text) > limit:
        raise InvalidInput(field, f"{field} is longer than {limit} characters", reason="too_long", max=limit)
    return text


def _channel_config(kind: str, url: Any, secret: Any, allowed_networks: Sequence[IPNetwork]) -> dict[str, Any]:
    """A robot's or webhook's cleaned settings; a private or loopback target is refused."""
    raw_url = _length(url, "url", URL_MAX)
    raw_secret = _length(secret, "secret", SECRET_MAX) or None
    try:
        config = channels.validate_config(kind, {"url": raw_url, "secret": raw_secret})
    except channels.ChannelConfigError as error:
        if error.field == "secret":
            raise InvalidInput("secret", error.message, reason="secret_short",
                               min=channels.webhook.MIN_SECRET_LENGTH) from None
        reason = "required" if not raw_url else "bad_url"
        raise InvalidInput("url", error.message, reason=reason) from None
    try:
        check_url(config["url"], allowed_networks)
    except UnsafeURL as error:
        reason = "unresolvable_url" if str(error).startswith("cannot resolve") else "unsafe_url"
        raise InvalidInput("url", f"this address is refused: {error}", reason=reason) from None
    return config


def shown_address(url: str) -> str:
    """A URL without its query and fragment: robots keep their keys there, lists must not show them."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def _components(session: Session, ids: Iterable[Any] | None) -> list[Component]:
    chosen: list[Component] = []
    for raw in ids or ():
        number = lookup.row_id(raw)
        component = session.get(Component, number) if number else None
        if component is None or not component.show_on_page:
            raise InvalidInput("components", f"unknown component {raw!r}", reason="unknown_component")
        if component not in chosen:
            chosen.append(component)
    return chosen


def _language(value: Any) -> str:
    return value if value in LANGUAGES else "zh"


def retry_after(session: Session, *, ip: str, address: str, now: datetime) -> timedelta | None:
    """How long until this IP or address may subscribe again; None when it may now."""
    now = ensure_aware(now)
    since = now - RATE_WINDOW
    waits = []
    for column, value, limit in ((SubscriptionAttempt.ip, ip, PER_IP),
                                 (SubscriptionAttempt.address, address, PER_ADDRESS)):
        recent = session.scalars(
            sa.select(SubscriptionAttempt.at)
            .where(column == value, SubscriptionAttempt.at > since)
            .order_by(SubscriptionAttempt.at.desc())
            .limit(limit)
        ).all()
        if len(recent) >= limit:
            waits.append(ensure_aware(recent[-1]) + RATE_WINDOW - now)
    return max(waits) if waits else None


def _guard(session: Session, *, ip: str, address: str, now: datetime) -> SubscriptionAttempt:
    wait = retry_after(session, ip=ip[:64], address=address, now=now)
    if wait is not None:
        raise SubscriptionRateLimited(wait)
    attempt = SubscriptionAttempt(ip=ip[:64], address=address, at=now)
    session.add(attempt)
    session.flush()
    return attempt


def _existing(session: Session, kind: str, address: str) -> Subscriber | None:
    return session.scalar(
        sa.select(Subscriber)
        .where(Subscriber.kind == kind, Subscriber.address == address, Subscriber.state != SubscriberState.DELETED)
        .order_by(Subscriber.id.desc())
        .limit(1)
    )


def _new(kind: str, address: str, *, config: dict[str, Any], origin: str, state: SubscriberState, now: datetime,
         language: str, components: list[Component], name: str = "") -> Subscriber:
    return Subscriber(
        kind=kind, address=address, name=name, config=config, state=state, paused_reason="",
        all_components=not components, components=components, language=language,
        token=secrets.token_urlsafe(32), origin=origin, consecutive_failures=0, last_error="",
        created_at=now, updated_at=now, confirmed_at=now if state == SubscriberState.ACTIVE else None,
    )


def subscribe_email(
    session: Session, *, email: Any, components: Iterable[Any] | None, language: str, ip: str, now: datetime,
    actor: Actor,
) -> Subscribed:
    """A visitor asks for mail: a pending subscriber and its confirmation mail (or a notice when
    the address is already subscribed, so a stranger learns nothing and changes nothing)."""
    now = ensure_aware(now)
    address = clean_email(email)
    chosen = _components(session, components)
    attempt = _guard(session, ip=ip, address=address, now=now)
    subscriber = _existing(session, "email", address)
    if subscriber is not None and subscriber.state in (SubscriberState.ACTIVE, SubscriberState.PAUSED):
        if subscriber.state == SubscriberState.ACTIVE:
            queue_notice(session, subscriber, key=f"subscription:{subscriber.id}:exists:{attempt.id}", now=now)
        _audit_public(session, subscriber, "subscriber.subscribe_repeated", actor=actor, now=now)
        return Subscribed(subscriber)
    if subscriber is None:
        subscriber = _new("email", address, config={}, origin="public", state=SubscriberState.PENDING, now=now,
                          language=_language(language), components=chosen)
        session.add(subscriber)
    else:
        # Pending or unsubscribed: start over with a fresh link (an old one stops working).
        subscriber.state, subscriber.token = SubscriberState.PENDING, secrets.token_urlsafe(32)
        subscriber.all_components, subscriber.components = not chosen, chosen
        subscriber.language, subscriber.created_at, subscriber.updated_at = _language(language), now, now
    session.flush()
    queue_confirmation(session, subscriber, key=f"subscription:{subscriber.id}:confirm:{attempt.id}", now=now)
    _audit_public(session, subscriber, "subscriber.subscribed", actor=actor, now=now)
    session.flush()
    return Subscribed(subscriber)


def subscribe_webhook(
    session: Session, *, url: Any, secret: Any = "", components: Iterable[Any] | None, language: str, ip: str,
    now: datetime, allowed_networks: Sequence[IPNetwork], actor: Actor,
) -> Subscribed:
    """A visitor's webhook: active at once, signed with their secret or one made for them."""
    now = ensure_aware(now)
    given = _length(secret, "secret", SECRET_MAX)
    signing = given or secrets.token_urlsafe(24)
    config = _channel_config("webhook", url, signing, allowed_networks)
    chosen = _components(session, components)
    _guard(session, ip=ip, address=shown_address(config["url"]), now=now)
    subscriber = _new("webhook", shown_address(config["url"]), config=config, origin="public",
                      state=SubscriberState.ACTIVE, now=now, language=_language(language), components=chosen)
    session.add(subscriber)
    session.flush()
    _audit_public(session, subscriber, "subscriber.subscribed", actor=actor, now=now)
    return Subscribed(subscriber, secret=signing)


def _audit_public(session: Session, subscriber: Subscriber, action: str, *, actor: Actor, now: datetime) -> None:
    record_audit(session, actor=actor, now=now, action=action, target_type="subscriber", target_id=subscriber.id,
                 after={"kind": subscriber.kind, "state": subscriber.state.value, "origin": subscriber.origin})


def by_token(session: Session, token: str) -> Subscriber:
    """The subscriber a confirmation or unsubscribe link names."""
    subscriber = None
    if token and len(token) <= 64:
        subscriber = session.scalar(sa.select(Subscriber).where(Subscriber.token == token))
    if subscriber is None or subscriber.state == SubscriberState.DELETED:
        raise NotFound("no subscription with this link")
    return subscriber


def confirm(session: Session, *, token: str, actor: Actor, now: datetime) -> Subscriber:
    """The confirmation link was opened: the address starts receiving updates (idempotent)."""
    now = ensure_aware(now)
    subscriber = by_token(session, token)
    if subscriber.state == SubscriberState.PENDING:
        if now - ensure_aware(subscriber.created_at) > CONFIRM_WITHIN:
            raise InvalidInput("token", "this confirmation link has expired; subscribe again", reason="link_expired")
        subscriber.state, subscriber.confirmed_at, subscriber.updated_at = SubscriberState.ACTIVE, now, now
        _audit_public(session, subscriber, "subscriber.confirmed", actor=actor, now=now)
    elif subscriber.state == SubscriberState.UNSUBSCRIBED:
        raise InvalidInput("token", "this subscription was cancelled; subscribe again", reason="unsubscribed")
    session.flush()
    return subscriber


def expire_unconfirmed(session: Session, *, now: datetime) -> int:
    """Forget subscriptions whose confirmation link ran out unopened: we never got consent to keep them.

    The row stays (its confirmation mail's delivery log points at it) but the address and the
    webhook settings are erased; each one is audited without the address. Returns how many.
    """
    now = ensure_aware(now)
    expired = list(session.scalars(
        sa.select(Subscriber).where(Subscriber.state == SubscriberState.PENDING,
                                    Subscriber.created_at < now - CONFIRM_WITHIN)
    ))
    for subscriber in expired:
        subscriber.state, subscriber.address, subscriber.config = SubscriberState.DELETED, "", {}
        subscriber.updated_at = now
        record_audit(session, actor=Actor.system("subscriptions"), now=now, action="subscriber.expired",
                     target_type="subscriber", target_id=subscriber.id, before={"state": "pending"},
                     after={"state": "deleted", "reason": "not confirmed in time"})
    session.flush()
    return len(expired)


def unsubscribe(session: Session, *, token: str, actor: Actor, now: datetime) -> Subscriber:
    """The unsubscribe link was opened: nothing more is sent (idempotent, no login)."""
    subscriber = by_token(session, token)
    if subscriber.state != SubscriberState.UNSUBSCRIBED:
        subscriber.state, subscriber.paused_reason = SubscriberState.UNSUBSCRIBED, ""
        subscriber.updated_at = ensure_aware(now)
        _audit_public(session, subscriber, "subscriber.unsubscribed", actor=actor, now=now)
        session.flush()
    return subscriber


def add_subscriber(
    session: Session, *, data: dict[str, Any], actor: Actor, now: datetime, allowed_networks: Sequence[IPNetwork],
) -> Subscriber:
    """An admin adds a team robot, a webhook or an address: active at once, audited."""
    now = ensure_aware(now)
    kind = data.get("kind")
    if kind not in ADMIN_KINDS:
        allowed = ", ".join(ADMIN_KINDS)
        raise InvalidInput("kind", f"unknown kind {kind!r}", reason="choice", allowed=allowed)
    name = _length(data.get("name"), "name", NAME_MAX)
    if kind == "email":
        config, address = {}, clean_email(data.get("email"))
    else:
        config = _channel_config(kind, data.get("url"), data.get("secret"), allowed_networks)
        address = shown_address(config["url"])
    subscriber = _new(kind, address, config=config, origin="admin", state=SubscriberState.ACTIVE, now=now,
                      language=_language(data.get("language")), components=_components(session, data.get("components")),
                      name=name)
    session.add(subscriber)
    session.flush()
    record_audit(session, actor=actor, now=now, action="subscriber.added", target_type="subscriber",
                 target_id=subscriber.id, after={"kind": kind, "address": address, "name": name})
    return subscriber


def get_subscriber(session: Session, subscriber_id: int) -> Subscriber:
    subscriber = session.get(Subscriber, subscriber_id)
    if subscriber is None or subscriber.state == SubscriberState.DELETED:
        raise NotFound(f"no subscriber {subscriber_id}")
    return subscriber


def _set_state(session: Session, subscriber: Subscriber, state: SubscriberState, *, action: str, actor: Actor,
               now: datetime, reason: str = "") -> Subscriber:
    before = {"state": subscriber.state.value, "paused_reason": subscriber.paused_reason}
    subscriber.state, subscriber.paused_reason, subscriber.updated_at = state, reason, ensure_aware(now)
    if state == SubscriberState.ACTIVE:
        subscriber.consecutive_failures = 0
    record_audit(session, actor=actor, now=now, action=action, target_type="subscriber", target_id=subscriber.id,
                 before=before, after={"state": state.value, "paused_reason": reason})
    session.flush()
    return subscriber


def pause(session: Session, *, subscriber: Subscriber, actor: Actor, now: datetime) -> Subscriber:
    """An admin stops messages to a subscriber until resumed."""
    if subscriber.state != SubscriberState.ACTIVE:
        raise InvalidInput("state", "only an active subscriber can be paused", reason="not_active")
    return _set_state(session, subscriber, SubscriberState.PAUSED, action="subscriber.paused", actor=actor, now=now,
                      reason="admin")


def resume(session: Session, *, subscriber: Subscriber, actor: Actor, now: datetime) -> Subscriber:
    """An admin lets a paused subscriber receive again (its failure count starts over)."""
    if subscriber.state != SubscriberState.PAUSED:
        raise InvalidInput("state", "only a paused subscriber can be resumed", reason="not_paused_subscriber")
    return _set_state(session, subscriber, SubscriberState.ACTIVE, action="subscriber.resumed", actor=actor, now=now)


def remove(session: Session, *, subscriber: Subscriber, actor: Actor, now: datetime) -> Subscriber:
    """An admin removes a subscriber; the row stays so its delivery log stays."""
    return _set_state(session, subscriber, SubscriberState.DELETED, action="subscriber.deleted", actor=actor, now=now)


def list_subscribers(session: Session, *, state: str | None = None) -> list[Subscriber]:
    """Subscribers an admin sees: those paused by failures first, then newest first."""
    statement = sa.select(Subscriber).where(Subscriber.state.in_(SHOWN_STATES))
    if state:
        try:
            statement = statement.where(Subscriber.state == SubscriberState(state))
        except ValueError:
            allowed = ", ".join(s.value for s in SHOWN_STATES)
            raise InvalidInput("state", f"unknown state {state!r}", reason="choice", allowed=allowed) from None
    failing_first = sa.case((Subscriber.paused_reason == "failures", 0), else_=1)
    return list(session.scalars(statement.order_by(failing_first, Subscriber.id.desc())))


@dataclass(frozen=True)
class Delivery:
    """One line of a subscriber's delivery log: a message and its latest attempt."""

    message: OutboxMessage
    attempts: list[DeliveryAttempt]


def delivery_log(session: Session, subscriber: Subscriber, *, limit: int = 50) -> list[Delivery]:
    """The subscriber's latest messages, newest first, each with its attempts."""
    messages = list(session.scalars(
        sa.select(OutboxMessage).where(OutboxMessage.subscriber_id == subscriber.id)
        .order_by(OutboxMessage.id.desc()).limit(limit)
    ))
    attempts: dict[int, list[DeliveryAttempt]] = {}
    if messages:
        for attempt in session.scalars(
            sa.select(DeliveryAttempt).where(DeliveryAttempt.message_id.in_([m.id for m in messages]))
            .order_by(DeliveryAttempt.id)
        ):
            attempts.setdefault(attempt.message_id, []).append(attempt)
    return [Delivery(message, attempts.get(message.id, [])) for message in messages]
