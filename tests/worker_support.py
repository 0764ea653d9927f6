"""Helpers for the outbox and worker tests: team channels, queued messages, deadlines due at a
chosen time, what the timeline says about them, and `crisis` commands run as real processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from console.leadership import WORKER_LOCK_KEY
from incidents import clock, service, subscriber_fanout, subscribers
from incidents.actors import Actor
from incidents.channels import Message
from incidents.models import (
    Deadline, EventKind, Incident, OutboxMessage, OutboxState, TeamChannel, TimelineEvent,
)
from incidents.netguard import parse_networks
from incidents.subscriber_models import Subscriber

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


def subscribe(session: Session, *, now: datetime, url: str | None = None, email: str | None = None) -> Subscriber:
    """An active subscriber of every component, as an admin adds one: a webhook to `url` (on
    127.0.0.1) or mail to `email`; committed."""
    data = {"kind": "webhook", "url": url} if url else {"kind": "email", "email": email}
    subscriber = subscribers.add_subscriber(session, data=data, actor=TESTER, now=now,
                                            allowed_networks=parse_networks(["127.0.0.1/32"]))
    session.commit()
    return subscriber


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


def queue_for_subscriber(session: Session, subscriber: Subscriber, key: str, *, now: datetime) -> OutboxMessage:
    """One pending update for a status-page subscriber, due at `now`; committed."""
    row = subscriber_fanout.queue_message(session, subscriber, key=key, event="incident.update",
                                          subject="【处理中】支付异常", text="支付成功率下降，正在排查", url=None, now=now)
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


def deadline_of(session: Session, incident: Incident) -> Deadline:
    """The one deadline of an incident opened by open_outage_due_at (its first public notice)."""
    return session.scalars(sa.select(Deadline).where(Deadline.incident_id == incident.id)).one()


def outbox_rows(session: Session) -> list[OutboxMessage]:
    return list(session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)))


def overdue_and_delivered(session: Session, incident_ids: set[int] | None = None) -> bool:
    """Every first-notice deadline (of these incidents) has had its overdue step, and every
    message is delivered. (Only those: a holding statement the worker publishes for an
    overdue incident starts the next deadline, due later.)"""
    wanted = {d.id for d in deadlines(session) if d.rule_key == "first_notice"
              and (incident_ids is None or d.incident_id in incident_ids)}
    overdue = {deadline_id for deadline_id, stage in step_counts(session) if stage == clock.OVERDUE}
    rows = outbox_rows(session)
    return bool(rows) and wanted <= overdue and all(row.state == OutboxState.DELIVERED for row in rows)


def wait_for(check: Any, *, timeout: float = 60.0, interval: float = 0.1, what: Any = "the condition") -> Any:
    """Poll `check()` until it returns something truthy; fail with `what` (a text, or a callable
    giving one, e.g. a process's output) after `timeout` seconds.

    The timeout is generous on purpose: it only bounds a hung test, it asserts no speed (a
    process starting on a machine shared with other suites may wait half a minute for a core).
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


ROOT = Path(__file__).resolve().parent.parent


class Processes:
    """`crisis` commands started by a test, with short ticks; whatever is left is killed at the end."""

    def __init__(self, database_url: str, logs: Path):
        self.database_url = database_url
        self.logs = logs
        self.started: list[subprocess.Popen[bytes]] = []

    def start(self, *args: str, env: Mapping[str, str] | None = None) -> subprocess.Popen[bytes]:
        """`crisis <args>` against the test database; `env` adds to or overrides its environment."""
        environment = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "CRISIS_DATABASE_URL": self.database_url,
            "CRISIS_SECRET_KEY": "test-secret",
            "CRISIS_ALLOWED_NETWORKS": "127.0.0.1/32",
            "CRISIS_PUBLIC_URL": "http://console.test",
            "CRISIS_WORKER_TICK": "0.2",
            "CRISIS_OUTBOX_TICK": "0.2",
            "CRISIS_WORKER_LOCK_RETRY": "0.5",
            "CRISIS_OUTBOX_TIMEOUT": "5",
            **(env or {}),
        }
        log = (self.logs / f"process-{len(self.started)}.log").open("wb")
        process = subprocess.Popen([sys.executable, "-m", "console.cli", *args], cwd=ROOT, env=environment,
                                   stdout=log, stderr=subprocess.STDOUT)
        log.close()
        self.started.append(process)
        return process

    def output(self) -> str:
        return "\n".join(path.read_text(errors="replace") for path in sorted(self.logs.glob("process-*.log")))

    def stop(self, process: subprocess.Popen[bytes]) -> int:
        """SIGTERM, then the exit code of a graceful stop."""
        process.send_signal(signal.SIGTERM)
        return process.wait(timeout=30)

    def kill_all(self) -> None:
        for process in self.started:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)


@pytest.fixture()
def processes(database_url: str, tmp_path: Path, db_session) -> Iterator[Processes]:  # noqa: ANN001
    """Processes on the session's test database (emptied first, by db_session)."""
    started = Processes(database_url, tmp_path)
    yield started
    started.kill_all()


def fresh(session: Session, read: Callable[[Session], object]) -> object:
    """Read with a new snapshot (other processes write meanwhile)."""
    session.rollback()
    session.expire_all()
    return read(session)


def active_worker(engine: sa.Engine, workers: list[subprocess.Popen[bytes]], processes: Processes,
                  ) -> tuple[subprocess.Popen[bytes], list[subprocess.Popen[bytes]]]:
    """PostgreSQL: once every worker is connected and one holds the lock, (the active one, the others)."""
    wait_for(lambda: len(lock_connections(engine)) == len(workers) and lock_holder(engine),
             what=lambda: f"one worker holding the lock and the others trying\n{processes.output()}")
    active_pid = lock_connections(engine)[lock_holder(engine)]
    [active] = [process for process in workers if process.pid == active_pid]
    return active, [process for process in workers if process is not active]


# The promise to operators: a standby is the active worker within this long of the active one dying.
TAKEOVER_SECONDS = 10.0


def wait_for_takeover(engine: sa.Engine, standby: subprocess.Popen[bytes], processes: Processes) -> None:
    """PostgreSQL: wait until `standby` holds the worker lock, failing after TAKEOVER_SECONDS."""
    wait_for(lambda: lock_connections(engine).get(lock_holder(engine)) == standby.pid, timeout=TAKEOVER_SECONDS,
             what=lambda: f"the standby to hold the lock within {TAKEOVER_SECONDS:.0f} s\n{processes.output()}")
