"""Delivering the outbox: each stored message reaches its team channel, at least once.

`deliver_due` is the worker's side. It claims due messages with a conditional UPDATE that
sets `lease_until` (two workers never hold one row at once), commits the claim, sends each
message through `incidents.channels.deliver` with no transaction open, then records the
attempt and the outcome in a short transaction of its own:

    delivered            the channel accepted it
    retry later          attempts + 1, next try after the backoff (or the server's Retry-After)
    failed               after MAX_ATTEMPTS, on a refusal that a retry cannot fix, or when the
                         channel's stored configuration is invalid; `last_error` says why

The lease value doubles as a fencing token: an outcome is written only while the row still
carries the lease its deliverer set, so a worker that lost its lease cannot overwrite the
work of the one that took over. A crash between sending and recording repeats the send
(receivers drop it by the idempotency key); nothing is skipped.

Channels are delivered in parallel, and each channel's messages in order. When a channel
fails in a way worth retrying (down, slow, 5xx), its other messages of this round are put
back untouched: a dead endpoint costs one timeout per round, never one per message, and
the rest of the outbox keeps flowing.

Status-page subscribers (incidents.subscriber_models) get their messages the same way, in
rounds of their own (`subscribers=True`, the subscriber job's): an e-mail subscriber is sent
through the console's SMTP settings (`mail`), links stored relative get the public address,
only an active subscriber is sent to (a pending one only its confirmation), and one whose
messages fail for good `pause_after` times in a row is paused and shown to admins.

`retry_message` lets an admin requeue a failed message; `channel_health` and
`failed_messages` feed the admin page.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import requests
import sqlalchemy as sa
from sqlalchemy.orm import Session

from incidents import channels
from incidents.actors import Actor
from incidents.audit import record_audit
from incidents.channels import ChannelConfigError, DeliveryResult, Message
from incidents.errors import InvalidInput, NotFound
from incidents.guarded_http import guarded_session
from incidents.models import DeliveryAttempt, OutboxMessage, OutboxState, TeamChannel
from incidents.netguard import IPNetwork
from incidents.subscriber_fanout import CONFIRM_EVENT, absolutize
from incidents.subscriber_models import Subscriber, SubscriberState
from incidents.timeutil import ensure_aware

log = logging.getLogger(__name__)

BATCH = 100
# At most this many messages of one channel per round, so a flood on one channel cannot
# starve the others.
PER_CHANNEL = 20
PARALLEL_CHANNELS = 8
# How long a claim keeps other workers off a row: longer than a channel's whole round (its
# messages one after another, each bounded by socket timeouts). A worker taking over from a
# dead one releases stale leases at once, so a long lease never delays recovery.
MIN_LEASE = timedelta(minutes=2)
ERROR_MAX = 500
# A subscriber is paused after this many messages in a row failed for good.
PAUSE_AFTER = 5

SessionFactory = Callable[[], Session]


@dataclass
class DeliveryReport:
    """What one round of deliveries did."""

    claimed: int = 0
    delivered: int = 0
    retrying: int = 0
    failed: int = 0
    # Claimed but put back without an attempt (their channel just failed this round).
    deferred: int = 0
    # Outcomes not recorded because another worker had taken the row over meanwhile.
    lost_leases: int = 0

    def add(self, other: DeliveryReport) -> None:
        for item in fields(self):
            setattr(self, item.name, getattr(self, item.name) + getattr(other, item.name))


@dataclass(frozen=True)
class _Claimed:
    id: int
    channel_id: int | None
    subscriber_id: int | None
    attempts: int
    message: dict[str, Any]
    event: str

    @property
    def target(self) -> tuple[str, int]:
        """Whom it goes to: ("channel", id) or ("subscriber", id)."""
        if self.channel_id is not None:
            return ("channel", self.channel_id)
        return ("subscriber", self.subscriber_id or 0)


def lease_for(timeout: float) -> timedelta:
    """How long a claim lasts for a given delivery timeout."""
    return max(MIN_LEASE, timedelta(seconds=timeout * 2 * PER_CHANNEL))


def _due(now: datetime, subscribers: bool | None = None) -> sa.ColumnElement[bool]:
    """Due at `now`; of subscribers only (True), of team channels only (False) or any (None)."""
    audience = {None: sa.true(), True: OutboxMessage.subscriber_id.is_not(None),
                False: OutboxMessage.channel_id.is_not(None)}[subscribers]
    return sa.and_(
        audience,
        OutboxMessage.state == OutboxState.PENDING,
        OutboxMessage.next_attempt_at <= now,
        sa.or_(OutboxMessage.lease_until.is_(None), OutboxMessage.lease_until < now),
    )


def due_ids(session: Session, now: datetime, *, limit: int = BATCH, per_channel: int = PER_CHANNEL,
            subscribers: bool = False) -> list[int]:
    """Ids of messages due at `now`, oldest first, at most `per_channel` of each destination."""
    ranked = (
        sa.select(
            OutboxMessage.id,
            OutboxMessage.next_attempt_at,
            sa.func.row_number()
            .over(partition_by=(OutboxMessage.channel_id, OutboxMessage.subscriber_id),
                  order_by=(OutboxMessage.next_attempt_at, OutboxMessage.id))
            .label("place"),
        )
        .where(_due(ensure_aware(now), subscribers))
        .subquery()
    )
    return list(
        session.scalars(
            sa.select(ranked.c.id)
            .where(ranked.c.place <= per_channel)
            .order_by(ranked.c.next_attempt_at, ranked.c.id)
            .limit(limit)
        )
    )


def claim(session: Session, ids: Sequence[int], *, now: datetime, lease_until: datetime) -> list[_Claimed]:
    """Lease the given messages that are still due and unleased; the caller commits."""
    if not ids:
        return []
    rows = session.execute(
        sa.update(OutboxMessage)
        .where(OutboxMessage.id.in_(ids), _due(now))
        .values(lease_until=lease_until)
        .returning(OutboxMessage.id, OutboxMessage.channel_id, OutboxMessage.subscriber_id, OutboxMessage.attempts,
                   OutboxMessage.message, OutboxMessage.event)
        .execution_options(synchronize_session=False)
    ).all()
    return sorted((_Claimed(*row) for row in rows), key=lambda claimed: ids.index(claimed.id))


def deliver_due(
    sessions: SessionFactory,
    *,
    now: datetime,
    allowed_networks: Sequence[IPNetwork],
    limit: int = BATCH,
    timeout: float = channels.DEFAULT_TIMEOUT,
    parallel: int = PARALLEL_CHANNELS,
    subscribers: bool = False,
    mail: Mapping[str, Any] | None = None,
    public_url: str = "",
    pause_after: int = PAUSE_AFTER,
    zone: ZoneInfo | None = None,
) -> DeliveryReport:
    """Deliver the messages due at `now` (up to `limit`), each destination in its own thread.

    `sessions` makes a new Session (a sessionmaker): every step commits on its own, and no
    transaction is open while a channel is being talked to. Team channels' messages by
    default; with `subscribers` the status page's subscribers' (see the module's docstring).
    """
    now = ensure_aware(now)
    lease_until = now + lease_for(timeout)
    with sessions() as session:
        ids = due_ids(session, now, limit=limit, subscribers=subscribers)
        claimed = claim(session, ids, now=now, lease_until=lease_until)
        session.commit()
    report = DeliveryReport(claimed=len(claimed))
    if not claimed:
        return report
    by_channel: dict[tuple[str, int], list[_Claimed]] = {}
    for item in claimed:
        by_channel.setdefault(item.target, []).append(item)
    setup = _Setup(allowed_networks=allowed_networks, timeout=timeout, mail=dict(mail) if mail else None,
                   public_url=public_url, pause_after=pause_after, zone=zone)

    def run(target: tuple[str, int]) -> DeliveryReport:
        return _deliver_target(sessions, target, by_channel[target], now=now, lease_until=lease_until, setup=setup)

    if len(by_channel) == 1:
        report.add(run(next(iter(by_channel))))
        return report
    with ThreadPoolExecutor(max_workers=min(parallel, len(by_channel)), thread_name_prefix="outbox") as pool:
        for part in pool.map(run, list(by_channel)):
            report.add(part)
    return report


@dataclass(frozen=True)
class _Setup:
    """What a round's deliveries share."""

    allowed_networks: Sequence[IPNetwork]
    timeout: float
    mail: dict[str, Any] | None
    public_url: str
    pause_after: int
    zone: ZoneInfo | None


@dataclass(frozen=True)
class _Destination:
    """A channel or subscriber as read at the start of its round."""

    kind: str
    config: dict[str, Any]
    # Why nothing may be sent to it now (empty: it may); `confirmable` lets a pending
    # subscriber receive its confirmation mail and nothing else.
    refusal: str
    confirmable: bool = False
    subscriber_id: int | None = None

    def refuses(self, item: _Claimed) -> str:
        if self.confirmable and item.event == CONFIRM_EVENT:
            return ""
        return self.refusal


def _destination(session: Session, target: tuple[str, int], setup: _Setup) -> _Destination:
    kind_of_target, target_id = target
    if kind_of_target == "channel":
        channel = session.get(TeamChannel, target_id)
        if channel is None:
            return _Destination("", {}, "the channel no longer exists")
        refusal = "" if channel.enabled else "the channel is disabled; re-enable it and retry the message"
        return _Destination(channel.kind, dict(channel.config), refusal)
    subscriber = session.get(Subscriber, target_id)
    if subscriber is None:
        return _Destination("", {}, "the subscriber no longer exists")
    refusal = "" if subscriber.state == SubscriberState.ACTIVE else f"not sent: the subscriber is {subscriber.state.value}"
    confirmable = subscriber.state == SubscriberState.PENDING
    config = dict(subscriber.config)
    if subscriber.kind == "email":
        if setup.mail is None:
            refusal, confirmable = "no SMTP server is set for subscriber mail (CRISIS_SMTP_HOST); retry once it is", False
        config = {**(setup.mail or {}), "to": [subscriber.address]}
    return _Destination(subscriber.kind, config, refusal, confirmable=confirmable, subscriber_id=subscriber.id)


def _deliver_target(
    sessions: SessionFactory, target: tuple[str, int], items: list[_Claimed], *, now: datetime,
    lease_until: datetime, setup: _Setup,
) -> DeliveryReport:
    report = DeliveryReport()
    with sessions() as session:
        destination = _destination(session, target, setup)
    with guarded_session(setup.allowed_networks) as http:
        for index, item in enumerate(items):
            refusal = destination.refuses(item)
            if refusal:
                outcome = _Outcome.give_up(refusal)
            else:
                stored = (absolutize(item.message, setup.public_url, setup.zone) if destination.subscriber_id
                          else item.message)
                outcome = _attempt(destination.kind, destination.config, stored,
                                   allowed_networks=setup.allowed_networks, timeout=setup.timeout, http=http)
            try:
                with sessions() as session:
                    recorded = _record(session, item, outcome, now=now, lease_until=lease_until)
                    if recorded and destination.subscriber_id is not None:
                        _count_for_subscriber(session, destination.subscriber_id, item, outcome, now=now,
                                              pause_after=setup.pause_after)
                    session.commit()
            except Exception:
                # The database hiccuped: the lease runs out and the message is tried again.
                log.exception("could not record the delivery of outbox message %s", item.id)
                continue
            if not recorded:
                report.lost_leases += 1
            elif outcome.result is not None and outcome.result.ok:
                report.delivered += 1
            elif outcome.retry_at(item.attempts + 1, now) is None:
                report.failed += 1
            else:
                report.retrying += 1
            if outcome.stops_channel:
                rest = items[index + 1:]
                report.deferred += _release(sessions, [other.id for other in rest], lease_until)
                break
    return report


@dataclass(frozen=True)
class _Outcome:
    """One attempt's result, or a reason not to attempt at all."""

    result: DeliveryResult | None
    error: str = ""
    duration_ms: int = 0

    @classmethod
    def give_up(cls, error: str) -> _Outcome:
        return cls(None, error[:ERROR_MAX])

    @property
    def retryable(self) -> bool:
        return self.result is not None and not self.result.ok and self.result.retryable

    @property
    def stops_channel(self) -> bool:
        """A failure that says the endpoint is unwell: don't send it more this round."""
        return self.retryable

    def retry_at(self, attempts: int, now: datetime) -> datetime | None:
        """When to try again after `attempts` attempts, or None when it is over."""
        if not self.retryable or attempts >= channels.MAX_ATTEMPTS:
            return None
        delay = channels.backoff_delay(attempts)
        hint = self.result.retry_after if self.result is not None else None
        return now + max(delay, hint or timedelta(0))

    @property
    def detail(self) -> str:
        if self.result is None:
            return self.error
        return self.result.detail[:ERROR_MAX]


def _attempt(
    kind: str, config: dict[str, Any], stored: dict[str, Any], *, allowed_networks: Sequence[IPNetwork],
    timeout: float, http: requests.Session,
) -> _Outcome:
    try:
        message = Message(**stored)
    except TypeError as error:
        return _Outcome.give_up(f"the stored message is malformed: {error}")
    started = time.monotonic()
    try:
        result = channels.deliver(kind, config, message, allowed_networks=allowed_networks, timeout=timeout,
                                  session=http)
    except ChannelConfigError as error:
        return _Outcome.give_up(f"the channel's settings are invalid ({error}); fix them and retry")
    return _Outcome(result, duration_ms=int((time.monotonic() - started) * 1000))


def _record(session: Session, item: _Claimed, outcome: _Outcome, *, now: datetime, lease_until: datetime) -> bool:
    """Write the attempt and the message's new state, if this worker still holds the lease."""
    attempted = outcome.result is not None
    attempts = item.attempts + 1 if attempted else item.attempts
    values: dict[str, Any] = {"lease_until": None, "attempts": attempts}
    retry_at = outcome.retry_at(attempts, now)
    if attempted and outcome.result.ok:
        values.update(state=OutboxState.DELIVERED, delivered_at=now, next_attempt_at=None, last_error="")
    elif retry_at is not None:
        values.update(next_attempt_at=retry_at, last_error=outcome.detail)
    else:
        values.update(state=OutboxState.FAILED, next_attempt_at=None, last_error=outcome.detail)
    changed = session.execute(
        sa.update(OutboxMessage)
        .where(
            OutboxMessage.id == item.id,
            OutboxMessage.state == OutboxState.PENDING,
            OutboxMessage.lease_until == lease_until,
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    ).rowcount
    if attempted:
        # Logged even when the lease was lost: the attempt happened.
        session.add(DeliveryAttempt(
            message_id=item.id, at=now, ok=outcome.result.ok, status_code=outcome.result.status_code,
            detail=outcome.detail, duration_ms=outcome.duration_ms,
        ))
    if changed != 1:
        log.warning("outbox message %s was taken over by another worker; its outcome was not recorded", item.id)
    elif not (attempted and outcome.result.ok):
        log.info("outbox message %s %s: %s", item.id, f"retries at {retry_at:%H:%M:%S}" if retry_at else "failed",
                 outcome.detail)
    return changed == 1


def _count_for_subscriber(
    session: Session, subscriber_id: int, item: _Claimed, outcome: _Outcome, *, now: datetime, pause_after: int,
) -> None:
    """Keep the subscriber's run of failures: a delivery ends it, a message failed for good
    lengthens it, and at `pause_after` the subscriber is paused (audited, shown to admins).
    A message not even attempted (paused, unsubscribed) counts for nothing."""
    if outcome.result is None:
        return
    if outcome.result.ok:
        session.execute(sa.update(Subscriber).where(Subscriber.id == subscriber_id)
                        .values(consecutive_failures=0, last_delivered_at=now, last_error="")
                        .execution_options(synchronize_session=False))
        return
    if outcome.retry_at(item.attempts + 1, now) is not None:
        return
    failures = session.execute(
        sa.update(Subscriber).where(Subscriber.id == subscriber_id)
        .values(consecutive_failures=Subscriber.consecutive_failures + 1, last_error=outcome.detail)
        .returning(Subscriber.consecutive_failures)
        .execution_options(synchronize_session=False)
    ).scalar_one()
    if failures < pause_after:
        return
    paused = session.execute(
        sa.update(Subscriber)
        .where(Subscriber.id == subscriber_id, Subscriber.state == SubscriberState.ACTIVE)
        .values(state=SubscriberState.PAUSED, paused_reason="failures", updated_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if paused == 1:
        log.warning("subscriber %s paused after %d failed messages in a row", subscriber_id, failures)
        record_audit(session, actor=Actor.system("outbox"), now=now, action="subscriber.paused",
                     target_type="subscriber", target_id=subscriber_id,
                     before={"state": SubscriberState.ACTIVE.value},
                     after={"state": SubscriberState.PAUSED.value, "paused_reason": "failures",
                            "failures": failures, "last_error": outcome.detail})


def _release(sessions: SessionFactory, ids: list[int], lease_until: datetime) -> int:
    """Give back claimed messages untouched (still due; the next round takes them)."""
    if not ids:
        return 0
    with sessions() as session:
        released = session.execute(
            sa.update(OutboxMessage)
            .where(OutboxMessage.id.in_(ids), OutboxMessage.lease_until == lease_until)
            .values(lease_until=None)
            .execution_options(synchronize_session=False)
        ).rowcount
        session.commit()
    return released


def release_leases(session: Session) -> int:
    """Drop every lease: called by a worker that just became the only active one, so work
    claimed by a predecessor that died is retried now rather than when its lease runs out."""
    return session.execute(
        sa.update(OutboxMessage)
        .where(OutboxMessage.state == OutboxState.PENDING, OutboxMessage.lease_until.is_not(None))
        .values(lease_until=None)
        .execution_options(synchronize_session=False)
    ).rowcount


def retry_message(session: Session, message_id: int, *, actor: Actor, now: datetime) -> OutboxMessage:
    """Requeue a failed message for delivery now, with a fresh count of attempts (audited)."""
    now = ensure_aware(now)
    message = session.get(OutboxMessage, message_id)
    if message is None:
        raise NotFound(f"no outbox message {message_id}")
    if message.state != OutboxState.FAILED:
        reason = "already_delivered" if message.state == OutboxState.DELIVERED else "already_queued"
        raise InvalidInput("message", f"only a failed message can be retried (this one is {message.state.value})",
                           reason=reason)
    before = {"state": message.state.value, "attempts": message.attempts, "last_error": message.last_error}
    message.state = OutboxState.PENDING
    message.attempts = 0
    message.next_attempt_at = now
    message.lease_until = None
    record_audit(
        session, actor=actor, now=now, action="outbox.retried", target_type="outbox_message", target_id=message.id,
        before=before, after={"state": OutboxState.PENDING.value, "channel": message.channel_id},
    )
    session.flush()
    return message


@dataclass(frozen=True)
class ChannelHealth:
    """How a team channel is doing, for the admin page."""

    channel: TeamChannel
    pending: int
    failed: int
    oldest_pending_at: datetime | None
    last_delivered_at: datetime | None
    last_error: str
    last_error_at: datetime | None


def channel_health(session: Session) -> list[ChannelHealth]:
    """Per channel: messages waiting, messages failed, the last delivery and the last error."""
    counts = {
        row.channel_id: row
        for row in session.execute(
            sa.select(
                OutboxMessage.channel_id,
                sa.func.count().filter(OutboxMessage.state == OutboxState.PENDING).label("pending"),
                sa.func.count().filter(OutboxMessage.state == OutboxState.FAILED).label("failed"),
                sa.func.min(OutboxMessage.created_at).filter(OutboxMessage.state == OutboxState.PENDING)
                .label("oldest_pending_at"),
                sa.func.max(OutboxMessage.delivered_at).label("last_delivered_at"),
            ).group_by(OutboxMessage.channel_id)
        )
    }
    latest_failure = (
        sa.select(
            OutboxMessage.channel_id,
            DeliveryAttempt.detail,
            DeliveryAttempt.at,
            sa.func.row_number()
            .over(partition_by=OutboxMessage.channel_id, order_by=(DeliveryAttempt.at.desc(), DeliveryAttempt.id.desc()))
            .label("place"),
        )
        .join(OutboxMessage, OutboxMessage.id == DeliveryAttempt.message_id)
        .where(DeliveryAttempt.ok.is_(False))
        .subquery()
    )
    errors = {
        row.channel_id: row
        for row in session.execute(sa.select(latest_failure).where(latest_failure.c.place == 1))
    }
    # A failure without an attempt (invalid settings, disabled channel) only shows on the message.
    given_up = dict(session.execute(
        sa.select(OutboxMessage.channel_id, OutboxMessage.last_error)
        .where(OutboxMessage.id.in_(
            sa.select(sa.func.max(OutboxMessage.id))
            .where(OutboxMessage.state == OutboxState.FAILED)
            .group_by(OutboxMessage.channel_id)
        ))
    ).all())
    health = []
    for channel in session.scalars(sa.select(TeamChannel).order_by(TeamChannel.name)):
        count = counts.get(channel.id)
        error = errors.get(channel.id)
        health.append(ChannelHealth(
            channel=channel,
            pending=count.pending if count is not None else 0,
            failed=count.failed if count is not None else 0,
            oldest_pending_at=count.oldest_pending_at if count is not None else None,
            last_delivered_at=count.last_delivered_at if count is not None else None,
            last_error=error.detail if error is not None else given_up.get(channel.id, ""),
            last_error_at=error.at if error is not None else None,
        ))
    return health


def failed_messages(session: Session, *, channel_id: int | None = None, limit: int = 100) -> list[OutboxMessage]:
    """Failed team-channel messages, newest first (what an admin may retry on the channels page)."""
    query = sa.select(OutboxMessage).where(OutboxMessage.state == OutboxState.FAILED,
                                           OutboxMessage.channel_id.is_not(None))
    if channel_id is not None:
        query = query.where(OutboxMessage.channel_id == channel_id)
    return list(session.scalars(query.order_by(OutboxMessage.id.desc()).limit(limit)))


def attempts_of(session: Session, message_id: int) -> list[DeliveryAttempt]:
    """Every attempt at one message, oldest first."""
    return list(session.scalars(
        sa.select(DeliveryAttempt).where(DeliveryAttempt.message_id == message_id).order_by(DeliveryAttempt.id)
    ))
