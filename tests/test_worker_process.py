"""`crisis worker` and `crisis serve` as real processes: killed, restarted, replaced.

Each test starts the command with short ticks (CRISIS_WORKER_TICK and friends) against the
test database, makes deadlines fall due a few seconds later and messages wait for a local
receiver, then checks the database and the receiver: every step once, every message arrived.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import requests
import sqlalchemy as sa

from incidents import clock
from incidents.models import DeadlineState, OutboxState, Role
from incidents.timeutil import utcnow
from tests.channels.conftest import http_server  # noqa: F401 (fixture)
from tests.conftest import FIXED_NOW
from tests.support.alertmanager import free_port
from tests.worker_support import (  # noqa: F401 (processes: fixture)
    active_worker, deadlines, fresh, open_outage_due_at, outbox_rows, processes, queue, step_counts, wait_for,
    wait_for_takeover, webhook,
)

pytestmark = pytest.mark.slow


def test_a_worker_killed_mid_way_and_restarted_loses_nothing_and_doubles_nothing(
    processes, db_session, make_user, http_server,  # noqa: ANN001, F811
) -> None:
    make_user(Role.DUTY_MANAGER, "duty")
    # A slow receiver, so that the kill is likely to land while a message is on its way.
    http_server.set(200, "ok", delay=0.3)
    channel = webhook(db_session, "值班群", http_server.url("/hook"), now=FIXED_NOW)
    for number in range(4):
        queue(db_session, channel, f"waiting-{number}", now=FIXED_NOW)

    first = processes.start("worker")
    wait_for(lambda: http_server.requests, what=lambda: f"the first worker to deliver\n{processes.output()}")
    start = utcnow()
    for seconds in (1, 2, 3, 4):
        open_outage_due_at(db_session, start + timedelta(seconds=seconds))
    wait_for(lambda: fresh(db_session, lambda s: any(stage == clock.OVERDUE for _, stage in step_counts(s))),
             what=lambda: f"the first worker's first overdue step\n{processes.output()}")
    first.kill()
    first.wait(timeout=10)

    second = processes.start("worker")

    def settled(session: sa.orm.Session) -> bool:
        rows = outbox_rows(session)
        # A message per step taken (the channel takes reminders too), plus the four waiting.
        return (all(d.state == DeadlineState.MISSED for d in deadlines(session))
                and len(rows) == 4 + sum(step_counts(session).values())
                and all(row.state == OutboxState.DELIVERED for row in rows))

    def state() -> str:
        lines = [f"{d.id} {d.state} stage={d.stage} due={d.due_at} next={d.next_fire_at}" for d in deadlines(db_session)]
        lines += [f"{row.idempotency_key} {row.state} {row.attempts} {row.last_error}" for row in outbox_rows(db_session)]
        return "\n".join(lines)

    wait_for(lambda: fresh(db_session, settled),
             what=lambda: f"every deadline and message\n{state()}\n{processes.output()}")
    assert processes.stop(second) == 0, processes.output()

    counts = step_counts(db_session)
    assert set(counts.values()) == {1}, counts
    assert {deadline.id for deadline in deadlines(db_session)} == {deadline_id for deadline_id, stage in counts
                                                                    if stage == clock.OVERDUE}
    keys = {row.idempotency_key for row in outbox_rows(db_session)}
    arrived = [r.headers["Idempotency-Key"] for r in http_server.requests]
    # At least once; a repeat only ever carries a key the receiver has already seen.
    assert set(arrived) == keys


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_standby_worker_takes_over_when_the_active_one_is_killed(
    processes, db_session, make_user, engine,  # noqa: ANN001
) -> None:
    make_user(Role.DUTY_MANAGER, "duty")
    active, [standby] = active_worker(engine, [processes.start("worker"), processes.start("worker")], processes)

    active.kill()
    # The promise: a standby takes over within 10 s of the active worker dying.
    wait_for_takeover(engine, standby, processes)

    open_outage_due_at(db_session, utcnow())
    wait_for(lambda: fresh(db_session, step_counts), what=lambda: f"the standby to do the work\n{processes.output()}")
    assert processes.stop(standby) == 0, processes.output()
    assert set(step_counts(db_session).values()) == {1}


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_serve_runs_the_web_console_and_the_worker_in_one_process(processes, db_session) -> None:  # noqa: ANN001
    port = free_port()
    server = processes.start("serve", "--port", str(port), "--no-create-admin")

    def answers() -> bool:
        try:
            return requests.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200
        except requests.ConnectionError:
            return False

    wait_for(answers, what=lambda: f"the web console to answer\n{processes.output()}")
    open_outage_due_at(db_session, utcnow())
    wait_for(lambda: fresh(db_session, step_counts), what=lambda: f"the embedded worker to fire\n{processes.output()}")
    assert processes.stop(server) == 0, processes.output()
    assert "worker stopped" in processes.output()
