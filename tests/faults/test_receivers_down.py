"""A webhook receiver and an SMTP server down for five minutes: everything arrives once, when they are back.

Five real minutes would be too long for CI, so the worker runs under libfaketime
(tests/faults/fake_clock.py) and the test moves its wall clock a minute at a time: at every
step the worker really knocks on the dead receivers, and the outbox's backoff
(incidents/channels/base.py BACKOFF_SCHEDULE) spaces its attempts in the worker's time. After
five and a half minutes of that the receivers come back on the same ports, and the test
moves the clock on until the next attempts find them.

Team channels (a webhook and a mailbox) and status-page subscribers (a webhook and an
address, through CRISIS_SMTP_*) are all tried; the HTTP receiver counts each
Idempotency-Key, the SMTP server each Message-ID.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from incidents import outbox
from incidents.channels import backoff_delay
from incidents.channels.email import message_id
from incidents.models import OutboxMessage, OutboxState
from incidents.timeutil import ensure_aware, utcnow
from tests.worker_support import (
    add_channel, fresh, outbox_rows, queue, queue_for_subscriber, subscribe, wait_for, webhook,
)

pytestmark = pytest.mark.slow

MAIL_FROM = "服务状态 <status@example.com>"
# How far the worker's clock moves per step, and for how long of it the receivers are down.
STEP_SECONDS = 60
OUTAGE = timedelta(minutes=5, seconds=30)


def _pending(rows: list[OutboxMessage]) -> list[OutboxMessage]:
    return [row for row in rows if row.state == OutboxState.PENDING]


def test_receivers_down_for_five_minutes_get_everything_once_when_back(
    processes, db_session, receiver, mail_server, fake_clock,  # noqa: ANN001
) -> None:
    now = utcnow()
    hook = webhook(db_session, "值班群", receiver.url("/team"), now=now)
    mailbox = add_channel(db_session, "值班邮箱", "email", {
        "host": "127.0.0.1", "port": mail_server.port, "security": "none", "from_addr": MAIL_FROM,
        "to": ["duty@example.com"]}, now=now)
    hook_reader = subscribe(db_session, url=receiver.url("/subscribers/hook"), now=now)
    mail_reader = subscribe(db_session, email="reader@example.com", now=now)
    receiver.server.stop()
    mail_server.stop()
    for number in range(2):
        queue(db_session, hook, f"team-hook-{number}", now=now)
        queue(db_session, mailbox, f"team-mail-{number}", now=now)
    queue_for_subscriber(db_session, hook_reader, "update:1:subscriber:hook", now=now)
    queue_for_subscriber(db_session, mail_reader, "update:1:subscriber:mail", now=now)
    worker = processes.start("worker", env={
        **fake_clock.env, "CRISIS_SMTP_HOST": "127.0.0.1", "CRISIS_SMTP_PORT": str(mail_server.port),
        "CRISIS_SMTP_SECURITY": "none", "CRISIS_SMTP_FROM": MAIL_FROM})

    def attempted_by(moment: datetime) -> bool:
        """Nothing due at `moment` is left untried: each message was tried and put off past it."""
        pending = _pending(fresh(db_session, outbox_rows))
        return all(row.attempts and ensure_aware(row.next_attempt_at) > moment for row in pending)

    def step() -> None:
        moment = fake_clock.advance(STEP_SECONDS)
        wait_for(lambda: attempted_by(moment), what=lambda: f"the worker's attempts at {moment:%H:%M:%S}\n"
                                                            f"{processes.output()}")

    wait_for(lambda: attempted_by(now), what=lambda: f"the first attempts\n{processes.output()}")
    down_since = fake_clock.now()
    while fake_clock.now() - down_since < OUTAGE:
        step()
    assert all(row.state == OutboxState.PENDING for row in fresh(db_session, outbox_rows)), "delivered to nobody?"
    receiver.server.start()
    mail_server.start()
    back_at = fake_clock.now()
    for _ in range(30):
        if not _pending(fresh(db_session, outbox_rows)):
            break
        step()
    assert processes.stop(worker) == 0, processes.output()

    rows = outbox_rows(db_session)
    assert all(row.state == OutboxState.DELIVERED for row in rows), [(r.idempotency_key, r.last_error) for r in rows]
    # Each message arrived exactly once: by its key at the receiver, by its Message-ID at the mail server.
    assert receiver.keys("/team") == {"team-hook-0", "team-hook-1"}
    assert receiver.keys("/subscribers/") == {"update:1:subscriber:hook"}
    assert not receiver.duplicates
    mail_keys = ("team-mail-0", "team-mail-1", "update:1:subscriber:mail")
    assert mail_server.message_ids() == {message_id(key, MAIL_FROM): 1 for key in mail_keys}
    for row in rows:
        attempts = outbox.attempts_of(db_session, row.id)
        failed, [delivered] = attempts[:-1], attempts[-1:]
        assert delivered.ok and ensure_aware(delivered.at) >= back_at, row.idempotency_key
        # Tried again and again while the receivers were down, each wait the backoff's.
        assert len(failed) >= 3 and not any(attempt.ok for attempt in failed), row.idempotency_key
        assert ensure_aware(failed[-1].at) - ensure_aware(failed[0].at) >= timedelta(minutes=3)
        for number, (before, after) in enumerate(zip(attempts, attempts[1:]), start=1):
            assert after.at - before.at >= backoff_delay(number), (row.idempotency_key, number)
