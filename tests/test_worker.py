"""The worker in this process: the real APScheduler, real databases, a real receiver."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from console import migrate
from console.cli import main
from console.db import make_engine
from console.worker import Worker, WorkerSettings
from incidents import clock
from incidents.models import DeadlineState, Notification, OutboxState, Role
from incidents.timeutil import utcnow
from tests.channels.conftest import LOCAL, http_server  # noqa: F401 (fixture)
from tests.conftest import FIXED_NOW
from tests.worker_support import (
    SHANGHAI, deadlines, lock_connections, lock_holder, open_outage_due_at, outbox_rows, step_counts, wait_for,
    webhook,
)


def settings(**overrides: object) -> WorkerSettings:
    values: dict[str, object] = {
        "zone": SHANGHAI, "public_url": "http://console.test", "allowed_networks": LOCAL,
        "clock_tick": 0.2, "outbox_tick": 0.2, "lock_retry": 0.2, "outbox_timeout": 5.0,
    }
    values.update(overrides)
    return WorkerSettings(**values)  # type: ignore[arg-type]


@pytest.fixture()
def workers() -> Iterator[list[Worker]]:
    """Workers the test starts; all stopped at the end, whatever happened."""
    started: list[Worker] = []
    yield started
    for worker in started:
        worker.stop()


def start(workers: list[Worker], engine: sa.Engine, **overrides: object) -> Worker:
    worker = Worker(engine, settings(**overrides))
    workers.append(worker)
    worker.start()
    return worker


def test_the_scheduler_fires_a_deadline_due_in_seconds_and_delivers_its_messages(
    engine, db_session, make_user, http_server, workers,  # noqa: ANN001, F811
) -> None:
    duty = make_user(Role.DUTY_MANAGER, "duty")
    webhook(db_session, "值班群", http_server.url("/hook"), now=FIXED_NOW)
    incident = open_outage_due_at(db_session, utcnow() + timedelta(seconds=2))
    [deadline] = deadlines(db_session)
    assert deadline.state == DeadlineState.PENDING

    start(workers, engine)

    def all_told() -> bool:
        db_session.expire_all()
        rows = outbox_rows(db_session)
        return (deadlines(db_session)[0].state == DeadlineState.MISSED and len(rows) == 2
                and all(row.state == OutboxState.DELIVERED for row in rows))

    wait_for(all_told, what="the deadline to be missed and both messages delivered")
    assert step_counts(db_session) == {(deadline.id, clock.REMINDED): 1, (deadline.id, clock.OVERDUE): 1}
    keys = [r.headers["Idempotency-Key"] for r in http_server.requests]
    assert sorted(keys) == [f"deadline:{deadline.id}:stage:1:channel:1", f"deadline:{deadline.id}:stage:2:channel:1"]
    assert all(r.json()["url"] == f"http://console.test/incidents/{incident.reference}" for r in http_server.requests)
    bell = db_session.scalars(sa.select(Notification).order_by(Notification.id)).all()
    assert [(n.user_id, n.kind) for n in bell] == [(duty.id, "reminder"), (duty.id, "overdue")]


def test_a_clock_jump_takes_each_overdue_step_once(engine, db_session, make_user) -> None:  # noqa: ANN001
    make_user(Role.DUTY_MANAGER, "duty")
    for minutes in range(1, 6):
        open_outage_due_at(db_session, FIXED_NOW + timedelta(minutes=minutes))
    worker = Worker(engine, settings(clock_batch=2))
    jumped = FIXED_NOW + timedelta(hours=1)

    taken = worker.tick_clock(jumped)

    ids = [d.id for d in deadlines(db_session)]
    # An hour late: overdue and every escalation (the reminder after the fact is skipped).
    expected = {(deadline_id, stage): 1 for deadline_id in ids for stage in range(clock.OVERDUE, clock.FINAL_STAGE + 1)}
    assert taken == len(expected)
    assert step_counts(db_session) == expected
    assert worker.tick_clock(jumped) == 0
    assert worker.tick_clock(jumped + timedelta(days=1)) == 0
    assert step_counts(db_session) == expected
    db_session.expire_all()
    assert {(d.state, d.stage, d.next_fire_at) for d in deadlines(db_session)} == {
        (DeadlineState.MISSED, clock.FINAL_STAGE, None)}


def test_a_deadline_that_keeps_failing_is_set_aside_and_the_others_fire(engine, db_session, make_user,
                                                                      caplog) -> None:  # noqa: ANN001
    make_user(Role.DUTY_MANAGER, "duty")
    for minutes in (1, 2, 3):
        open_outage_due_at(db_session, FIXED_NOW + timedelta(minutes=minutes))
    broken, *healthy = [d.id for d in deadlines(db_session)]
    # Bad data, as a bug or a hand edit could leave it: a rule snapshot without its numbers.
    with engine.begin() as connection:
        connection.execute(sa.text("UPDATE deadline SET rule = :rule WHERE id = :id"),
                           {"rule": '{"key": "first_notice"}', "id": broken})
    worker = Worker(engine, settings())
    later = FIXED_NOW + timedelta(minutes=10)

    taken = worker.tick_clock(later)

    assert taken == 2 * 2  # each healthy deadline: overdue, then the commander step
    counts = step_counts(db_session)
    assert {deadline_id for deadline_id, _ in counts} == set(healthy)
    db_session.expire_all()
    set_aside = next(d for d in deadlines(db_session) if d.id == broken)
    assert set_aside.next_fire_at == later + timedelta(minutes=5)
    assert "set aside" in caplog.text


def test_a_failing_job_is_logged_and_the_worker_recovers(tmp_path, caplog, workers) -> None:  # noqa: ANN001
    url = f"sqlite:///{tmp_path / 'late.db'}"
    engine = make_engine(url)
    try:
        worker = start(workers, engine)
        # No schema yet: every tick fails, and the worker goes on.
        wait_for(lambda: sum("the tick_clock job failed" in r.getMessage() for r in caplog.records) >= 2,
                 what="two logged failures")
        assert worker.scheduler.running and worker.active

        migrate.upgrade(url)
        with sa.orm.Session(engine) as session:
            open_outage_due_at(session, utcnow() - timedelta(seconds=1))
            wait_for(lambda: step_counts(session), what="the deadline step after the schema appeared")
    finally:
        for started in workers:
            started.stop()
        workers.clear()
        engine.dispose()
    assert any(r.levelno == logging.ERROR and r.exc_info for r in caplog.records)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_on_postgresql_one_worker_acts_and_another_takes_over(engine, db_session, caplog, workers) -> None:  # noqa: ANN001
    first = start(workers, engine)
    wait_for(lambda: first.active, what="the first worker to become active")
    second = start(workers, engine)
    holder = wait_for(lambda: lock_holder(engine), what="the lock to show in pg_locks")
    wait_for(lambda: len(lock_connections(engine)) == 2, what="the standby's lock connection")
    assert not second.active

    # The active worker's lock connection dies: it stops acting, and one worker (either)
    # holds the lock again.
    with engine.connect() as connection:
        connection.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": holder})
    wait_for(lambda: any("lost the worker lock" in r.getMessage() for r in caplog.records),
             what="the active worker to notice")
    wait_for(lambda: lock_holder(engine) not in (None, holder), what="a new lock holder")
    active = wait_for(lambda: [w for w in (first, second) if w.active], what="an active worker")
    assert len(active) == 1

    # A graceful stop hands over too.
    active[0].stop()
    workers.remove(active[0])
    standby = first if active[0] is second else second
    wait_for(lambda: standby.active, what="the other worker to take over")

    # And that one does the work.
    open_outage_due_at(db_session, utcnow() - timedelta(seconds=1))
    wait_for(lambda: step_counts(db_session), what="the deadline step by the new active worker")


def test_the_worker_command_refuses_a_database_not_at_the_migrations_head(tmp_path, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("CRISIS_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    monkeypatch.setenv("CRISIS_SECRET_KEY", "test-secret")

    result = CliRunner().invoke(main, ["worker"])

    assert result.exit_code == 1
    assert "the database is not migrated" in result.output
    assert "run `crisis db upgrade` first" in result.output
    assert "Traceback" not in result.output


def test_the_worker_command_names_a_malformed_setting(monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("CRISIS_SECRET_KEY", "test-secret")
    monkeypatch.setenv("CRISIS_WORKER_TICK", "-1")

    result = CliRunner().invoke(main, ["worker"])

    assert result.exit_code == 1
    assert "CRISIS_WORKER_TICK must be a number of seconds above 0" in result.output


def test_the_areas_jobs_run_only_in_the_active_worker(app) -> None:  # noqa: ANN001
    """`crisis serve`/`crisis worker` build the worker from the app: feed polling and
    maintenance windows ride on it, guarded like the clock."""
    from console.worker import Worker

    worker = Worker.from_app(app)
    ids = {job.id for job in worker.scheduler.get_jobs()}
    assert {"clock", "outbox"} < ids and len(ids) >= 4
    for job in worker.scheduler.get_jobs():
        job.func()  # not active and not started: each guarded job returns without acting
