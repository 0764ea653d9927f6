"""The system clock jumping an hour ahead under a running worker: every overdue step once.

The worker runs under libfaketime (tests/faults/fake_clock.py); the test sets its wall clock
an hour forward in one go, as a badly set NTP server or an operator would. Every deadline is
then far past due: each takes its overdue step and its whole escalation chain exactly once,
a reminder already given is not given again and one that would now come after the fact is
skipped, and the worker goes on afterwards without repeating anything.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from incidents import clock
from incidents.models import OutboxState, Role
from incidents.timeutil import utcnow
from tests.worker_support import (
    deadline_of, fresh, open_outage_due_at, outbox_rows, overdue_and_delivered, step_counts, wait_for, webhook,
)

pytestmark = pytest.mark.slow

ESCALATION = (clock.OVERDUE, clock.COMMANDER, clock.DUTY_MANAGER, clock.ADMINS)


def test_a_clock_jumping_an_hour_ahead_takes_each_overdue_step_once(
    processes, db_session, make_user, receiver, fake_clock,  # noqa: ANN001
) -> None:
    make_user(Role.DUTY_MANAGER, "duty")
    now = utcnow()
    webhook(db_session, "值班群", receiver.url("/team"), now=now)
    worker = processes.start("worker", env=fake_clock.env)
    # Its reminder is due already (the outage playbook reminds 2 minutes ahead); the other's is 8 minutes away.
    reminded = open_outage_due_at(db_session, now + timedelta(seconds=90))
    later = open_outage_due_at(db_session, now + timedelta(minutes=10), title="退款接口超时")
    reminded_deadline, later_deadline = deadline_of(db_session, reminded), deadline_of(db_session, later)
    wait_for(lambda: fresh(db_session, lambda s: step_counts(s) and all(
        row.state == OutboxState.DELIVERED for row in outbox_rows(s))),
        what=lambda: f"the reminder before the jump\n{processes.output()}")
    assert set(step_counts(db_session)) == {(reminded_deadline.id, clock.REMINDED)}

    fake_clock.advance(3600)

    # Within the hour both deadlines passed due and every escalation (5, 10, 15 minutes on).
    wait_for(lambda: fresh(db_session, lambda s: len(step_counts(s)) == 1 + 2 * len(ESCALATION)
                           and overdue_and_delivered(s)),
             what=lambda: f"the whole chains after the jump\n{processes.output()}")
    # Proof that the worker went on ticking after the jump: a deadline due at its new time is taken too.
    marker = deadline_of(db_session, open_outage_due_at(db_session, fake_clock.now(), title="到期标记"))
    wait_for(lambda: fresh(db_session, lambda s: (marker.id, clock.OVERDUE) in step_counts(s)
                           and overdue_and_delivered(s)),
             what=lambda: f"the worker to go on after the jump\n{processes.output()}")
    assert processes.stop(worker) == 0, processes.output()

    counts = step_counts(db_session)
    assert set(counts.values()) == {1}, counts
    assert set(counts) == {
        (reminded_deadline.id, clock.REMINDED),
        *((reminded_deadline.id, stage) for stage in ESCALATION),
        # A reminder that would come after the deadline itself is left out: the overdue notice says more.
        *((later_deadline.id, stage) for stage in ESCALATION),
        (marker.id, clock.OVERDUE),
    }
    # A message to the team channel per step, each arrived once.
    assert receiver.keys("/team") == {row.idempotency_key for row in outbox_rows(db_session)}
    assert len(receiver.keys("/team")) == len(counts) and not receiver.duplicates
