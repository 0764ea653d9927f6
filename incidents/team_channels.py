"""Team channels an admin keeps: create, change, switch, delete, test; and what the outbox holds.

Configurations are checked by incidents.channels.validate_config. Secrets (every channel's
URL, which carries the robot's token, the signing secrets and the SMTP password) never
leave here in full: `public_config` masks them, the audit log stores them masked, and an
update that leaves a secret blank keeps the stored one. Delivery itself is the worker's
(incidents.outbox); this module only reads what the outbox rows and attempts say.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incidents.actors import Actor
from incidents.audit import record_audit
from incidents.channels import CHANNEL_KINDS, ChannelConfigError, Message, validate_config
from incidents.errors import InvalidInput, NotFound
from incidents.models import DeliveryAttempt, OutboxMessage, OutboxState, TeamChannel
from incidents.netguard import IPNetwork, refused_address
from incidents.timeutil import ensure_aware

NAME_MAX = 100
SECRET_FIELDS = ("url", "secret", "password")
SWITCHES = ("enabled", "reminders", "escalations")
# The configuration keys each kind takes, in the order a form asks for them.
CONFIG_FIELDS: dict[str, tuple[str, ...]] = {
    "wecom": ("url",),
    "dingtalk": ("url", "secret"),
    "feishu": ("url", "secret"),
    "webhook": ("url", "secret"),
    "email": ("host", "port", "security", "username", "password", "from_addr", "to"),
}
RECENT_ATTEMPTS = 20
TEST_EVENT = "test"


def get_channel(session: Session, channel_id: int) -> TeamChannel:
    channel = session.get(TeamChannel, channel_id)
    if channel is None:
        raise NotFound(f"no channel {channel_id}")
    return channel


def list_channels(session: Session) -> list[TeamChannel]:
    return list(session.scalars(sa.select(TeamChannel).order_by(TeamChannel.name, TeamChannel.id)))


def mask(key: str, value: Any) -> Any:
    """A secret as it may be shown: enough to recognise it, never enough to use it."""
    if key not in SECRET_FIELDS or not value:
        return value
    text = str(value)
    tail = text[-4:] if len(text) >= 12 else ""
    if key == "url":
        parts = urlsplit(text)
        return f"{parts.scheme}://{parts.netloc}/…{tail}"
    return f"••••{tail}"


def public_config(channel: TeamChannel) -> dict[str, Any]:
    """The channel's configuration with every secret masked."""
    return {key: mask(key, value) for key, value in channel.config.items()}


def _name(session: Session, value: Any, *, exclude_id: int | None = None) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput("name", "a channel needs a name", reason="required")
    name = value.strip()
    if len(name) > NAME_MAX:
        raise InvalidInput("name", f"name is longer than {NAME_MAX} characters", reason="too_long", max=NAME_MAX)
    taken = session.scalar(sa.select(TeamChannel.id).where(TeamChannel.name == name, TeamChannel.id != (exclude_id or 0)))
    if taken is not None:
        raise InvalidInput("name", f"a channel named {name!r} already exists", reason="duplicate_name")
    return name


def _kind(value: Any) -> str:
    if value not in CHANNEL_KINDS:
        raise InvalidInput("kind", f"unknown channel kind {value!r}", reason="choice", allowed=", ".join(CHANNEL_KINDS))
    return str(value)


def _validated(kind: str, config: dict[str, Any]) -> dict[str, Any]:
    try:
        return validate_config(kind, config)
    except ChannelConfigError as error:
        name = error.field if error.field in ("kind", "config") else f"config.{error.field}"
        raise InvalidInput(name, error.message, reason="channel_config") from None


def _reachable(config: dict[str, Any], allowed_networks: Sequence[IPNetwork]) -> None:
    """Refuse a robot or webhook URL whose host is a private address not allowed: the
    delivery would be refused anyway, and better now, at the field, than at the first alarm."""
    address = refused_address(config.get("url") or "", allowed_networks)
    if address is not None:
        raise InvalidInput("config.url", f"address {address} is private; allow its network in "
                                         "CRISIS_ALLOWED_NETWORKS to send there", reason="private_url",
                           address=str(address))


def _known(kind: str, config: dict[str, Any]) -> dict[str, Any]:
    """The configuration, refusing keys this kind of channel does not have."""
    for key in config:
        if key not in CONFIG_FIELDS[kind]:
            raise InvalidInput(f"config.{key}", f"a {kind} channel has no {key}", reason="not_editable")
    return dict(config)


def _flag(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise InvalidInput(name, f"{name} must be true or false", reason="boolean")
    return value


def _snapshot(channel: TeamChannel) -> dict[str, Any]:
    """What the audit log keeps of a channel (secrets masked)."""
    return {
        "name": channel.name, "kind": channel.kind, "config": public_config(channel),
        **{switch: getattr(channel, switch) for switch in SWITCHES},
    }


def create_channel(
    session: Session, *, name: Any, kind: Any, config: dict[str, Any], reminders: bool = False,
    escalations: bool = True, enabled: bool = True, allowed_networks: Sequence[IPNetwork] = (), actor: Actor,
    now: datetime,
) -> TeamChannel:
    """Add a team channel after checking its configuration and where it sends (audited, secrets
    masked); `allowed_networks` are the private networks a URL may point into."""
    now = ensure_aware(now)
    kind = _kind(kind)
    checked = _validated(kind, _known(kind, config))
    _reachable(checked, allowed_networks)
    channel = TeamChannel(
        name=_name(session, name),
        kind=kind,
        config=checked,
        enabled=_flag("enabled", enabled),
        reminders=_flag("reminders", reminders),
        escalations=_flag("escalations", escalations),
        created_at=now,
        updated_at=now,
    )
    session.add(channel)
    session.flush()
    record_audit(session, actor=actor, now=now, action="channel.created", target_type="team_channel",
                 target_id=channel.id, after=_snapshot(channel))
    return channel


def update_channel(
    session: Session, *, channel: TeamChannel, changes: dict[str, Any], config: dict[str, Any] | None = None,
    clear: Iterable[str] = (), allowed_networks: Sequence[IPNetwork] = (), actor: Actor, now: datetime,
) -> TeamChannel:
    """Change a channel: `changes` may hold name and the switches; `config` the keys to change.

    A secret left blank keeps the stored one; `clear` names the optional secrets to remove.
    Nothing is written when the result is invalid or identical.
    """
    now = ensure_aware(now)
    unknown = sorted(set(changes) - {"name", *SWITCHES})
    if unknown:
        raise InvalidInput(unknown[0], f"{unknown[0]} cannot be changed here", reason="not_editable")
    merged = dict(channel.config)
    for key, value in _known(channel.kind, config or {}).items():
        if key in SECRET_FIELDS and value in (None, ""):
            continue
        merged[key] = value
    for key in clear:
        if key not in SECRET_FIELDS or key == "url" or key not in CONFIG_FIELDS[channel.kind]:
            raise InvalidInput(f"config.{key}", f"{key} cannot be removed", reason="not_editable")
        merged[key] = None
    values = {
        "name": _name(session, changes["name"], exclude_id=channel.id) if "name" in changes else channel.name,
        "config": _validated(channel.kind, merged),
        **{switch: _flag(switch, changes[switch]) for switch in SWITCHES if switch in changes},
    }
    if values["config"].get("url") != channel.config.get("url"):  # a switch or a name alone is not re-vetted
        _reachable(values["config"], allowed_networks)
    before = _snapshot(channel)
    if all(getattr(channel, key) == value for key, value in values.items()):
        return channel
    # Masks can look alike; the audit names the secrets that changed (never their values).
    secrets_changed = [key for key in SECRET_FIELDS if channel.config.get(key) != values["config"].get(key)]
    for key, value in values.items():
        setattr(channel, key, value)
    channel.updated_at = now
    after = {**_snapshot(channel), "secrets_changed": secrets_changed}
    record_audit(session, actor=actor, now=now, action="channel.updated", target_type="team_channel",
                 target_id=channel.id, before=before, after=after)
    session.flush()
    return channel


def set_switch(session: Session, *, channel: TeamChannel, switch: str, on: bool, actor: Actor, now: datetime) -> None:
    """Turn a channel, or the reminders or escalations it takes, on or off (audited)."""
    if switch not in SWITCHES:
        raise InvalidInput("switch", f"unknown switch {switch!r}", reason="choice", allowed=", ".join(SWITCHES))
    update_channel(session, channel=channel, changes={switch: on}, actor=actor, now=now)


def message_count(session: Session, channel: TeamChannel) -> int:
    return session.scalar(sa.select(sa.func.count()).where(OutboxMessage.channel_id == channel.id)) or 0


def delete_channel(session: Session, *, channel: TeamChannel, actor: Actor, now: datetime) -> None:
    """Delete a channel that never had a message; one with history can only be disabled."""
    if message_count(session, channel):
        raise InvalidInput("channel", "this channel has messages; disable it instead", reason="has_messages")
    record_audit(session, actor=actor, now=now, action="channel.deleted", target_type="team_channel",
                 target_id=channel.id, before=_snapshot(channel))
    session.delete(channel)
    session.flush()


def queue_test_message(
    session: Session, *, channel: TeamChannel, actor: Actor, now: datetime, zone: ZoneInfo, public_url: str = ""
) -> OutboxMessage:
    """Queue a test message for the worker to deliver; each call is a new message (own key)."""
    now = ensure_aware(now)
    key = f"test:{channel.id}:{secrets.token_hex(8)}"
    when = now.astimezone(zone).strftime("%m-%d %H:%M")
    text = f"【测试消息】危机指挥台通道「{channel.name}」连通测试，由 {actor.label} 于 {when} 发送。收到即表示配置正确。"
    message = Message(idempotency_key=key, subject="【测试消息】危机指挥台通道测试", text=text, event=TEST_EVENT,
                      url=public_url or None, payload={"channel": channel.name})
    outbox = OutboxMessage(
        idempotency_key=key, channel_id=channel.id, incident_id=None, event=TEST_EVENT, message=asdict(message),
        state=OutboxState.PENDING, attempts=0, next_attempt_at=now, created_at=now,
    )
    session.add(outbox)
    session.flush()
    record_audit(session, actor=actor, now=now, action="channel.test_queued", target_type="team_channel",
                 target_id=channel.id, after={"message": outbox.id, "idempotency_key": key})
    return outbox


@dataclass
class Delivery:
    """What the outbox holds for one channel: counts per state and the last failure."""

    counts: dict[str, int] = field(default_factory=lambda: {state.value: 0 for state in OutboxState})
    last_error: str = ""
    last_error_at: datetime | None = None

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def deliveries(session: Session, channel_ids: list[int]) -> dict[int, Delivery]:
    """Per channel: pending, delivered and failed message counts and the latest failed attempt."""
    result = {channel_id: Delivery() for channel_id in channel_ids}
    if not channel_ids:
        return result
    counted = session.execute(
        sa.select(OutboxMessage.channel_id, OutboxMessage.state, sa.func.count())
        .where(OutboxMessage.channel_id.in_(channel_ids))
        .group_by(OutboxMessage.channel_id, OutboxMessage.state)
    )
    for channel_id, state, count in counted:
        result[channel_id].counts[OutboxState(state).value] = count
    latest = (
        sa.select(OutboxMessage.channel_id, sa.func.max(DeliveryAttempt.id).label("attempt_id"))
        .join(OutboxMessage, OutboxMessage.id == DeliveryAttempt.message_id)
        .where(OutboxMessage.channel_id.in_(channel_ids), DeliveryAttempt.ok.is_(False))
        .group_by(OutboxMessage.channel_id)
        .subquery()
    )
    failures = session.execute(
        sa.select(latest.c.channel_id, DeliveryAttempt).join(DeliveryAttempt, DeliveryAttempt.id == latest.c.attempt_id)
    )
    for channel_id, attempt in failures:
        result[channel_id].last_error = attempt.detail
        result[channel_id].last_error_at = attempt.at
    return result


def recent_attempts(session: Session, channel: TeamChannel, *, limit: int = RECENT_ATTEMPTS) -> list[tuple[DeliveryAttempt, OutboxMessage]]:
    """The channel's latest delivery attempts with their messages, newest first."""
    rows = session.execute(
        sa.select(DeliveryAttempt, OutboxMessage)
        .join(OutboxMessage, OutboxMessage.id == DeliveryAttempt.message_id)
        .where(OutboxMessage.channel_id == channel.id)
        .order_by(DeliveryAttempt.at.desc(), DeliveryAttempt.id.desc())
        .limit(limit)
    )
    return [(attempt, message) for attempt, message in rows]
