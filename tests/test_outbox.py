"""Outbox delivery on the real databases to real HTTP and SMTP servers on 127.0.0.1."""

from __future__ import annotations

import email
import email.policy
import threading
from collections import Counter
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import sessionmaker

from incidents import outbox
from incidents.channels import MAX_ATTEMPTS, backoff_delay
from incidents.channels.email import message_id
from incidents.errors import InvalidInput, NotFound
from incidents.models import AuditRecord, DeliveryAttempt, OutboxMessage, OutboxState
from tests.channels.conftest import LOCAL, closed_port, http_server, smtp_server  # noqa: F401 (fixtures)
from tests.conftest import FIXED_NOW
from tests.worker_support import TESTER, add_channel, queue, webhook

NOW = FIXED_NOW


@pytest.fixture()
def sessions(engine, db_session):  # noqa: ANN001, ANN201
    """A session factory on an empty database (db_session empties it)."""
    return sessionmaker(bind=engine, expire_on_commit=False)


def deliver(sessions, now=NOW, **kwargs):  # noqa: ANN001, ANN201
    kwargs.setdefault("timeout", 5.0)
    return outbox.deliver_due(sessions, now=now, allowed_networks=LOCAL, **kwargs)


def fresh(sessions, row_id: int) -> OutboxMessage:  # noqa: ANN001
    with sessions() as session:
        return session.get(OutboxMessage, row_id)


def attempts(sessions, row_id: int) -> list[DeliveryAttempt]:  # noqa: ANN001
    with sessions() as session:
        return outbox.attempts_of(session, row_id)


def test_webhook_message_arrives_with_its_body_and_idempotency_key(sessions, db_session, http_server) -> None:  # noqa: ANN001, F811
    channel = webhook(db_session, "值班群", http_server.url("/hooks/crisis"), now=NOW)
    row = queue(db_session, channel, "deadline:1:stage:2:channel:1", now=NOW)

    report = deliver(sessions)

    assert (report.claimed, report.delivered) == (1, 1)
    arrived = http_server.last
    assert arrived.path == "/hooks/crisis"
    assert arrived.headers["Idempotency-Key"] == "deadline:1:stage:2:channel:1"
    body = arrived.json()
    assert body["idempotency_key"] == "deadline:1:stage:2:channel:1"
    assert body["text"] == "支付失败：请发布首次公告"
    assert body["event"] == "deadline.overdue"
    assert body["data"] == {"incident": "INC-20261122-0001"}
    stored = fresh(sessions, row.id)
    assert stored.state == OutboxState.DELIVERED
    assert (stored.attempts, stored.delivered_at, stored.lease_until, stored.next_attempt_at) == (1, NOW, None, None)
    [attempt] = attempts(sessions, row.id)
    assert attempt.ok and attempt.status_code == 200 and attempt.at == NOW
    # Nothing is due any more: a second round sends nothing.
    assert deliver(sessions).claimed == 0
    assert len(http_server.requests) == 1


def test_email_message_arrives_over_smtp(sessions, db_session, smtp_server) -> None:  # noqa: ANN001, F811
    channel = add_channel(db_session, "邮件", "email", {
        "host": "127.0.0.1", "port": smtp_server.port, "security": "none",
        "from_addr": "危机值班 <ops@example.com>", "to": ["lead@example.com"],
    }, now=NOW)
    row = queue(db_session, channel, "deadline:7:stage:1:channel:1", now=NOW, text="支付通道故障：首次公告即将到期")

    assert deliver(sessions).delivered == 1

    [envelope] = smtp_server.handler.envelopes
    assert envelope.rcpt_tos == ["lead@example.com"]
    mail = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
    assert mail["Message-ID"] == message_id("deadline:7:stage:1:channel:1", "ops@example.com")
    assert "支付通道故障：首次公告即将到期" in mail.get_body(preferencelist=("plain",)).get_content()
    assert fresh(sessions, row.id).state == OutboxState.DELIVERED


def test_a_500_is_retried_after_the_backoff_and_delivered_once(sessions, db_session, http_server) -> None:  # noqa: ANN001, F811
    channel = webhook(db_session, "值班群", http_server.url("/hook"), now=NOW)
    row = queue(db_session, channel, "k-500", now=NOW)
    http_server.set(500, "upstream broken")

    report = deliver(sessions)

    assert (report.delivered, report.retrying) == (0, 1)
    stored = fresh(sessions, row.id)
    assert stored.state == OutboxState.PENDING
    assert stored.attempts == 1
    assert stored.next_attempt_at == NOW + backoff_delay(1)
    assert stored.lease_until is None
    assert "HTTP 500" in stored.last_error

    http_server.set(200, "ok")
    # Not before its time...
    assert deliver(sessions, NOW + backoff_delay(1) - timedelta(seconds=1)).claimed == 0
    # ...then once.
    later = NOW + backoff_delay(1)
    assert deliver(sessions, later).delivered == 1
    assert deliver(sessions, later + timedelta(hours=1)).claimed == 0

    assert [r.headers["Idempotency-Key"] for r in http_server.requests] == ["k-500", "k-500"]
    stored = fresh(sessions, row.id)
    assert (stored.state, stored.attempts, stored.delivered_at, stored.last_error) == (
        OutboxState.DELIVERED, 2, later, "")
    assert [(a.ok, a.status_code, a.at) for a in attempts(sessions, row.id)] == [(False, 500, NOW), (True, 200, later)]


def test_a_retry_after_longer_than_the_backoff_wins(sessions, db_session, http_server) -> None:  # noqa: ANN001, F811
    channel = webhook(db_session, "值班群", http_server.url("/hook"), now=NOW)
    row = queue(db_session, channel, "k-429", now=NOW)
    http_server.set(429, "slow down", headers={"Retry-After": "600"})

    deliver(sessions)

    assert fresh(sessions, row.id).next_attempt_at == NOW + timedelta(seconds=600)


def test_a_dead_receiver_fails_after_max_attempts_while_other_channels_keep_flowing(
    sessions, db_session, http_server, closed_port,  # noqa: ANN001, F811
) -> None:
    dead = webhook(db_session, "坏掉的群", f"http://127.0.0.1:{closed_port}/hook", now=NOW)
    alive = webhook(db_session, "值班群", http_server.url("/hook"), now=NOW)
    doomed = queue(db_session, dead, "k-dead", now=NOW)
    now = NOW
    for number in range(1, MAX_ATTEMPTS + 1):
        queue(db_session, alive, f"k-alive-{number}", now=now)
        report = deliver(sessions, now)
        assert report.delivered == 1, f"round {number}: the working channel must not wait"
        stored = fresh(sessions, doomed.id)
        assert stored.attempts == number
        assert stored.last_error == "connection refused"
        if number < MAX_ATTEMPTS:
            assert stored.state == OutboxState.PENDING
            assert stored.next_attempt_at == now + backoff_delay(number)
            now = stored.next_attempt_at

    assert stored.state == OutboxState.FAILED
    assert stored.next_attempt_at is None
    assert len(attempts(sessions, doomed.id)) == MAX_ATTEMPTS
    assert deliver(sessions, now + timedelta(days=1)).claimed == 0
    assert len(http_server.requests) == MAX_ATTEMPTS
    with sessions() as session:
        health = {h.channel.name: h for h in outbox.channel_health(session)}
    assert (health["坏掉的群"].failed, health["坏掉的群"].pending) == (1, 0)
    assert health["坏掉的群"].last_error == "connection refused"
    assert health["坏掉的群"].last_delivered_at is None
    assert (health["值班群"].failed, health["值班群"].last_error) == (0, "")
    assert health["值班群"].last_delivered_at == now


def test_a_refusal_that_a_retry_cannot_fix_fails_at_once(sessions, db_session, http_server) -> None:  # noqa: ANN001, F811
    channel = webhook(db_session, "值班群", http_server.url("/gone"), now=NOW)
    row = queue(db_session, channel, "k-404", now=NOW)
    http_server.set(404, "no such hook")

    assert deliver(sessions).failed == 1

    stored = fresh(sessions, row.id)
    assert (stored.state, stored.attempts) == (OutboxState.FAILED, 1)
    assert "HTTP 404" in stored.last_error


@pytest.mark.parametrize(("config", "enabled", "error"), [
    ({"url": "ftp://example.com/hook"}, True, "url: the URL must start with http:// or https://"),
    ({"url": "http://127.0.0.1:9/hook"}, False, "the channel is disabled"),
])
def test_a_channel_that_cannot_send_fails_its_messages_without_an_attempt(
    sessions, db_session, config, enabled, error,  # noqa: ANN001
) -> None:
    channel = add_channel(db_session, "配置有误", "webhook", config, now=NOW, enabled=enabled)
    row = queue(db_session, channel, "k-config", now=NOW)

    assert deliver(sessions).failed == 1

    stored = fresh(sessions, row.id)
    assert stored.state == OutboxState.FAILED
    assert error in stored.last_error
    assert (stored.attempts, attempts(sessions, row.id)) == (0, [])
    with sessions() as session:
        [health] = outbox.channel_health(session)
    assert error in health.last_error


def test_a_malformed_stored_message_fails_and_the_next_one_goes(sessions, db_session, http_server) -> None:  # noqa: ANN001, F811
    channel = webhook(db_session, "值班群", http_server.url("/hook"), now=NOW)
    broken = queue(db_session, channel, "k-broken", now=NOW, message={"text": "no key"})
    fine = queue(db_session, channel, "k-fine", now=NOW)

    report = deliver(sessions)

    assert (report.failed, report.delivered) == (1, 1)
    assert "malformed" in fresh(sessions, broken.id).last_error
    assert fresh(sessions, fine.id).state == OutboxState.DELIVERED


def test_two_rounds_at_once_never_deliver_a_row_twice(sessions, db_session, http_server) -> None:  # noqa: ANN001, F811
    http_server.set(200, "ok", delay=0.05)
    keys = []
    for place, name in enumerate(("甲群", "乙群", "丙群")):
        channel = webhook(db_session, name, http_server.url(f"/{place}"), now=NOW)
        for number in range(4):
            keys.append(queue(db_session, channel, f"channel-{place}-{number}", now=NOW).idempotency_key)
    start = threading.Barrier(3)
    reports = []

    def round_() -> None:
        start.wait()
        reports.append(deliver(sessions))

    threads = [threading.Thread(target=round_) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    arrived = Counter(r.headers["Idempotency-Key"] for r in http_server.requests)
    assert arrived == Counter(keys)
    assert sum(report.claimed for report in reports) == len(keys)
    assert sum(report.delivered for report in reports) == len(keys)
    with sessions() as session:
        assert session.scalar(sa.select(sa.func.count(DeliveryAttempt.id))) == len(keys)


def test_of_two_workers_that_saw_the_same_row_due_only_the_first_claims_it(sessions, db_session) -> None:  # noqa: ANN001
    """The claim re-checks, in its own UPDATE, that the row is still due and unleased: the
    race two rounds at once can only sometimes hit is held open here, step by step."""
    channel = webhook(db_session, "值班群", "http://127.0.0.1:9/hook", now=NOW)
    row = queue(db_session, channel, "k-raced", now=NOW)
    first_lease = NOW + outbox.lease_for(5.0)
    with sessions() as first, sessions() as second:
        # Both read the row as due before either claims it.
        assert outbox.due_ids(first, NOW) == outbox.due_ids(second, NOW) == [row.id]
        assert [item.id for item in outbox.claim(first, [row.id], now=NOW, lease_until=first_lease)] == [row.id]
        first.commit()
        assert outbox.claim(second, [row.id], now=NOW, lease_until=first_lease + timedelta(seconds=1)) == []
        second.commit()
    assert fresh(sessions, row.id).lease_until == first_lease


def test_a_worker_that_lost_its_lease_cannot_overwrite_its_successors_outcome(
    sessions, db_session, http_server, closed_port,  # noqa: ANN001, F811
) -> None:
    channel = webhook(db_session, "值班群", http_server.url("/hook"), now=NOW)
    row = queue(db_session, channel, "k-fenced", now=NOW)
    # Worker A's send is held at the receiver (which then accepts it) until the test lets it go.
    http_server.set(200, delay=60)
    late: dict[str, outbox.DeliveryReport] = {}
    worker_a = threading.Thread(target=lambda: late.update(report=deliver(sessions, NOW, timeout=30.0)))
    worker_a.start()
    try:
        arrived = threading.Event()
        for _ in range(200):
            if http_server.requests:
                arrived.set()
                break
            arrived.wait(0.05)
        assert arrived.is_set(), "worker A's send never reached the receiver"
        # A's lease runs out; worker B takes the row over, finds the receiver gone and records a retry.
        channel.config = {"url": f"http://127.0.0.1:{closed_port}/hook", "secret": None}
        db_session.commit()
        taken_over = NOW + outbox.lease_for(30.0) + timedelta(seconds=1)
        successor = deliver(sessions, taken_over)
        assert (successor.claimed, successor.retrying) == (1, 1)
        recorded_by_b = fresh(sessions, row.id)
    finally:
        http_server.release.set()
        worker_a.join(timeout=30)

    # A's send succeeded, late: its outcome is not written over B's.
    assert (late["report"].claimed, late["report"].lost_leases, late["report"].delivered) == (1, 1, 0)
    stored = fresh(sessions, row.id)
    assert stored.state == OutboxState.PENDING
    assert (stored.attempts, stored.next_attempt_at, stored.last_error, stored.delivered_at, stored.lease_until) == (
        1, taken_over + backoff_delay(1), "connection refused", None, None)
    assert (recorded_by_b.attempts, recorded_by_b.next_attempt_at) == (stored.attempts, stored.next_attempt_at)
    # Both attempts happened and both are logged, B's first.
    assert [(attempt.at, attempt.ok) for attempt in attempts(sessions, row.id)] == [(taken_over, False), (NOW, True)]


def test_a_leased_row_waits_for_its_lease_unless_a_new_worker_takes_over(sessions, db_session, http_server) -> None:  # noqa: ANN001, F811
    channel = webhook(db_session, "值班群", http_server.url("/hook"), now=NOW)
    # Claimed by a worker that died before recording anything.
    lease_until = NOW + outbox.lease_for(5.0)
    row = queue(db_session, channel, "k-leased", now=NOW, lease_until=lease_until)

    assert deliver(sessions).claimed == 0
    assert deliver(sessions, lease_until + timedelta(seconds=1)).delivered == 1
    assert len(http_server.requests) == 1

    with sessions() as session:
        session.execute(sa.update(OutboxMessage).values(state=OutboxState.PENDING, next_attempt_at=NOW,
                                                         lease_until=lease_until))
        session.commit()
        assert outbox.release_leases(session) == 1
        session.commit()
    assert fresh(sessions, row.id).lease_until is None
    assert deliver(sessions).delivered == 1


def test_a_slow_channel_times_out_without_holding_up_the_others(sessions, db_session, http_server, smtp_server) -> None:  # noqa: ANN001, F811
    slow = webhook(db_session, "很慢的群", http_server.url("/slow"), now=NOW)
    mail = add_channel(db_session, "邮件", "email", {
        "host": "127.0.0.1", "port": smtp_server.port, "security": "none",
        "from_addr": "ops@example.com", "to": ["lead@example.com"],
    }, now=NOW)
    first = queue(db_session, slow, "slow-1", now=NOW)
    second = queue(db_session, slow, "slow-2", now=NOW)
    mailed = queue(db_session, mail, "mail-1", now=NOW)
    http_server.set(200, "ok", delay=30)

    report = deliver(sessions, timeout=0.3)

    assert (report.claimed, report.delivered, report.retrying, report.deferred) == (3, 1, 1, 1)
    assert fresh(sessions, mailed.id).state == OutboxState.DELIVERED
    timed_out = fresh(sessions, first.id)
    assert (timed_out.attempts, timed_out.last_error) == (1, "timeout after 0.3s")
    # The slow channel's other message was put back untried, due as before.
    untried = fresh(sessions, second.id)
    assert (untried.state, untried.attempts, untried.lease_until, untried.next_attempt_at) == (
        OutboxState.PENDING, 0, None, NOW)
    assert len(http_server.requests) == 1


def test_a_flood_on_one_channel_does_not_starve_another(sessions, db_session, http_server) -> None:  # noqa: ANN001, F811
    busy = webhook(db_session, "忙碌的群", http_server.url("/busy"), now=NOW)
    quiet = webhook(db_session, "安静的群", http_server.url("/quiet"), now=NOW)
    for number in range(outbox.PER_CHANNEL + 5):
        queue(db_session, busy, f"busy-{number}", now=NOW - timedelta(minutes=1))
    queue(db_session, quiet, "quiet-1", now=NOW)

    report = deliver(sessions, limit=outbox.PER_CHANNEL + 1)

    assert report.delivered == outbox.PER_CHANNEL + 1
    assert "quiet-1" in {r.headers["Idempotency-Key"] for r in http_server.requests}


def test_an_admin_requeues_a_failed_message_with_an_audit_record(sessions, db_session, http_server) -> None:  # noqa: ANN001, F811
    channel = webhook(db_session, "值班群", http_server.url("/hook"), now=NOW)
    row = queue(db_session, channel, "k-retry", now=NOW, state=OutboxState.FAILED, attempts=MAX_ATTEMPTS,
                next_attempt_at=None, last_error="connection refused")
    later = NOW + timedelta(hours=2)

    with sessions() as session:
        assert [m.id for m in outbox.failed_messages(session)] == [row.id]
        outbox.retry_message(session, row.id, actor=TESTER, now=later)
        session.commit()

    assert deliver(sessions, later).delivered == 1
    with sessions() as session:
        stored = session.get(OutboxMessage, row.id)
        assert (stored.state, stored.attempts) == (OutboxState.DELIVERED, 1)
        [audit] = session.scalars(sa.select(AuditRecord).where(AuditRecord.action == "outbox.retried")).all()
        assert (audit.action, audit.target_id, audit.actor_label, audit.at) == ("outbox.retried", str(row.id), "tester", later)
        assert audit.before == {"state": "failed", "attempts": MAX_ATTEMPTS, "last_error": "connection refused"}
        # Only failed messages can be retried.
        with pytest.raises(InvalidInput) as caught:
            outbox.retry_message(session, row.id, actor=TESTER, now=later)
        assert caught.value.reason == "already_delivered"
        with pytest.raises(NotFound):
            outbox.retry_message(session, row.id + 1000, actor=TESTER, now=later)
