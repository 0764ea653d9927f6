"""Helpers for the outbox and worker tests: team channels, queued messages, deadlines due at a
chosen time, and what the timeline says about them."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from console.leadership import WORKER_LOCK_KEY
from incidents import service
from incidents.actors import Actor
from incidents.channels import Message
from incidents.models import (
    Deadline, EventKind, Incident, OutboxMessage, OutboxState, TeamChannel, TimelineEvent,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
TESTER = Actor(label="tester")
# The outage playbook's first public notice falls due this long after opening.
FIRST_NOTICE = timedelta(minutes=5)
STEP_KINDS = (EventKind.DEADLINE_REMINDED, EventKind.DEADLINE_MISSED, EventKind.DEADLINE_ESCALATED)


def add_channel(session: Session, name: str, kind: str, config: dict[str, Any], *, now: datetime,
                reminders: bool = True, enabled: bool = True) -> TeamChannel:
    """A team channel taking reminders and escalations; committed."""
    channel = TeamChannel(name=name, kind=kind, config=config, enabled=enabled, reminders=reminders,
                          escalations=True, created_at=now, updated_at=now)
    session.add(channel)
    session.commit()
    return channel


def webhook(session: Session, name: str, url: str, *, now: datetime, **kwargs: Any) -> TeamChannel:
    return add_channel(session, name, "webhook", {"url": url, "secret": None}, now=now, **kwargs)


def queue(session: Session, channel: TeamChannel, key: str, *, now: datetime, text: str = "支付失败：请发布首次公告",
          **fields: Any) -> OutboxMessage:
    """One pending message for `channel`, due at `now`; committed."""
    message = Message(idempotency_key=key, subject=text, text=text, event="deadline.overdue",
                      payload={"incident": "INC-20261122-0001"})
    row = OutboxMessage(idempotency_key=key, channel_id=channel.id, event=message.event, message=asdict(message),
                        state=OutboxState.PENDING, attempts=0, next_attempt_at=now, created_at=now)
    for name, value in fields.items():
        setattr(row, name, value)
    session.add(row)
    session.commit()
    return row


def open_outage_due_at(session: Session, due_at: datetime, title: str = "支付通道故障") -> Incident:
    """An outage whose first-notice deadline falls due at `due_at` (its reminder 2 min before); committed."""
    incident = service.open_incident(session, kind="outage", severity="P2", title=title, actor=TESTER,
                                     now=due_at - FIRST_NOTICE, zone=SHANGHAI)
    session.commit()
    return incident


def step_counts(session: Session) -> Counter[tuple[int, int]]:
    """How many timeline entries each (deadline, stage) got: every value must be 1."""
    events = session.scalars(sa.select(TimelineEvent).where(TimelineEvent.kind.in_(STEP_KINDS)))
    return Counter((event.data["deadline"], event.data["stage"]) for event in events)


def deadlines(session: Session) -> list[Deadline]:
    return list(session.scalars(sa.select(Deadline).order_by(Deadline.id)))


def outbox_rows(session: Session) -> list[OutboxMessage]:
    return list(session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)))


def wait_for(check: Any, *, timeout: float = 30.0, interval: float = 0.1, what: Any = "the condition") -> Any:
    """Poll `check()` until it returns something truthy; fail with `what` (a text, or a callable
    giving one, e.g. a process's output) after `timeout` seconds.

    The timeout is generous on purpose: it only bounds a hung test, it asserts no speed.
    """
    end = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > end:
            raise AssertionError(f"gave up waiting for {what() if callable(what) else what}")
        time.sleep(interval)


def lock_holder(engine: sa.Engine) -> int | None:
    """PostgreSQL: the backend pid holding the worker lock in this database."""
    with engine.connect() as connection:
        return connection.scalar(sa.text(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND objid = :key"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        ), {"key": WORKER_LOCK_KEY})


def lock_connections(engine: sa.Engine) -> dict[int, int]:
    """PostgreSQL: workers' lock connections to this database, backend pid -> worker process id.

    A connection per call: pg_stat_activity is a snapshot per transaction."""
    with engine.connect() as connection:
        rows = connection.execute(sa.text(
            "SELECT pid, application_name FROM pg_stat_activity"
            " WHERE datname = current_database() AND application_name LIKE 'crisis-worker:%'"))
        return {pid: int(name.rsplit(":", 1)[1]) for pid, name in rows}
