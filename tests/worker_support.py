"""Helpers for the outbox and worker tests: team channels, queued messages, deadlines due at a
chosen time, and what the timeline says about them."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

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
