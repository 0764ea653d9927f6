"""The active worker SIGKILLed with work in flight: the standby takes over and nothing is lost or doubled.

PostgreSQL, where several `crisis worker` processes run and one holds the advisory lock. The
kill lands while deliveries are mid-request: the receiver has received them and acted on
them but not yet answered, so the dead worker never learnt they arrived. Meanwhile deadlines
are falling due, their reminders and overdue notices go to the team channel, and an update
goes to the status page's subscribers.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from incidents import clock
from incidents.models import Role
from incidents.timeutil import utcnow
from tests.channels.conftest import smtp_server  # noqa: F401 (fixture, for sub_app)
from tests.subscribers.conftest import publish, sub_app  # noqa: F401 (fixtures)
from tests.worker_support import (
    active_worker, fresh, open_outage_due_at, outbox_rows, overdue_and_delivered, queue, step_counts, subscribe,
    wait_for, wait_for_takeover, webhook,
)

pytestmark = pytest.mark.slow

# Deliveries wait long enough for the receiver that a held one is still mid-request when the kill lands.
PATIENT_DELIVERIES = {"CRISIS_OUTBOX_TIMEOUT": "60"}


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_the_standby_finishes_the_work_of_a_worker_killed_mid_delivery_once_and_only_once(
    processes, db_session, make_user, engine, receiver, publish,  # noqa: ANN001, F811
) -> None:
    make_user(Role.DUTY_MANAGER, "duty")
    now = utcnow()
    channel = webhook(db_session, "值班群", receiver.url("/team"), now=now)
    for number in range(3):
        subscribe(db_session, url=receiver.url(f"/subscribers/{number}"), now=now)
    receiver.hold()
    active, [standby] = active_worker(
        engine, [processes.start("worker", env=PATIENT_DELIVERIES), processes.start("worker", env=PATIENT_DELIVERIES)],
        processes)

    for number in range(3):
        queue(db_session, channel, f"waiting-{number}", now=now)
    publish("支付成功率下降，正在排查")
    start = utcnow()
    # Due one after another: some before the kill, some only the standby can take.
    outages = {open_outage_due_at(db_session, start + timedelta(seconds=seconds)).id for seconds in (1, 2, 4, 6)}

    def mid_flight() -> bool:
        held = receiver.in_flight()
        overdue = fresh(db_session, lambda s: any(stage == clock.OVERDUE for _, stage in step_counts(s)))
        return (any(key.startswith("waiting-") for key in held) and any(key.startswith("update:") for key in held)
                and overdue)

    wait_for(mid_flight, what=lambda: f"deliveries held mid-request and a deadline overdue\n{processes.output()}")
    active.kill()
    active.wait(timeout=10)
    # Whatever the receiver still holds was on its way when the worker died: acted on, never answered.
    in_flight = receiver.in_flight()
    receiver.release()
    wait_for_takeover(engine, standby, processes)

    wait_for(lambda: fresh(db_session, lambda s: overdue_and_delivered(s, outages)),
             what=lambda: f"every step taken, every message delivered\n{processes.output()}")
    assert processes.stop(standby) == 0, processes.output()

    counts = step_counts(db_session)
    assert set(counts.values()) == {1}, counts
    rows = outbox_rows(db_session)
    team = {row.idempotency_key for row in rows if row.channel_id is not None}
    updates = {row.idempotency_key for row in rows if row.subscriber_id is not None}
    # Every message was acted on once: the three waiting, a notice per step, the update to each subscriber.
    assert len(team) == 3 + len(counts) and len(updates) == 3
    assert receiver.keys("/team") == team and receiver.keys("/subscribers/") == updates
    # Only what was mid-request at the kill came again, once, and the receiver dropped it by its key.
    assert in_flight & team and in_flight & updates
    assert dict(receiver.duplicates) == {key: 1 for key in in_flight}
