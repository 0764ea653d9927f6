"""What is waiting right now: open deadlines, undelivered messages, the feed sources' health.

Counted from the database, so every process (any web worker, any machine) reports the same
figures whoever did the work; the console's /metrics reads them at scrape time. Each figure
is one aggregate query over indexed columns, cheap enough for a scrape every few seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incidents.models import Deadline, DeadlineState, OutboxMessage, OutboxState
from incidents.monitor_models import MonitorSource
from incidents.timeutil import ensure_aware


@dataclass(frozen=True)
class DeadlineBacklog:
    """Pending deadlines at one moment: how many, how many overdue or paused, steps the worker owes."""

    pending: int = 0
    overdue: int = 0
    paused: int = 0
    steps_due: int = 0
    oldest_step_due_at: datetime | None = None


@dataclass(frozen=True)
class OutboxBacklog:
    """Messages not delivered, by destination ("channel" or "subscriber")."""

    pending: dict[str, int] = field(default_factory=dict)
    due: dict[str, int] = field(default_factory=dict)
    retrying: dict[str, int] = field(default_factory=dict)
    failed: dict[str, int] = field(default_factory=dict)
    oldest_pending_at: datetime | None = None


@dataclass(frozen=True)
class SourceHealth:
    """One feed source as its last polls left it."""

    name: str
    enabled: bool
    consecutive_failures: int
    items_seen: int
    last_poll_at: datetime | None
    last_success_at: datetime | None
    last_error_at: datetime | None


def _aware(value: datetime | None) -> datetime | None:
    return ensure_aware(value) if value is not None else None


def deadline_backlog(session: Session, *, now: datetime) -> DeadlineBacklog:
    """Pending deadlines at `now`; a paused one is never overdue (its clock stands still)."""
    now = ensure_aware(now)
    running = Deadline.paused_at.is_(None)
    row = session.execute(
        sa.select(
            sa.func.count(),
            sa.func.count().filter(running, Deadline.due_at <= now),
            sa.func.count().filter(Deadline.paused_at.is_not(None)),
            sa.func.count().filter(running, Deadline.next_fire_at <= now),
            sa.func.min(Deadline.next_fire_at).filter(running, Deadline.next_fire_at <= now),
        ).where(Deadline.state == DeadlineState.PENDING)
    ).one()
    return DeadlineBacklog(row[0], row[1], row[2], row[3], _aware(row[4]))


def outbox_backlog(session: Session, *, now: datetime) -> OutboxBacklog:
    """Pending (due now, retrying) and failed messages, per destination; delivered rows are not read."""
    now = ensure_aware(now)
    destination = sa.case((OutboxMessage.channel_id.is_not(None), "channel"), else_="subscriber")
    rows = session.execute(
        sa.select(
            OutboxMessage.state, destination, sa.func.count(),
            sa.func.count().filter(OutboxMessage.next_attempt_at <= now),
            sa.func.count().filter(OutboxMessage.attempts > 0),
            sa.func.min(OutboxMessage.created_at),
        )
        .where(OutboxMessage.state.in_([OutboxState.PENDING, OutboxState.FAILED]))
        .group_by(OutboxMessage.state, destination)
    ).all()
    pending: dict[str, int] = {}
    due: dict[str, int] = {}
    retrying: dict[str, int] = {}
    failed: dict[str, int] = {}
    oldest: datetime | None = None
    for state, where, count, due_now, retried, first in rows:
        if state == OutboxState.FAILED:
            failed[where] = count
            continue
        pending[where], due[where], retrying[where] = count, due_now, retried
        first = _aware(first)
        if first is not None and (oldest is None or first < oldest):
            oldest = first
    return OutboxBacklog(pending, due, retrying, failed, oldest)


def source_health(session: Session) -> list[SourceHealth]:
    """Every feed source's poll health, by name."""
    rows = session.execute(
        sa.select(MonitorSource.name, MonitorSource.enabled, MonitorSource.consecutive_failures,
                  MonitorSource.items_seen, MonitorSource.last_poll_at, MonitorSource.last_success_at,
                  MonitorSource.last_error_at).order_by(MonitorSource.name)
    ).all()
    return [SourceHealth(name, enabled, failures, seen, _aware(polled), _aware(succeeded), _aware(failed))
            for name, enabled, failures, seen, polled, succeeded, failed in rows]
