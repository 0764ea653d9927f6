"""The worker: fires due deadline steps and delivers the outbox, on an APScheduler clock.

What is due lives in the database (deadlines' `next_fire_at`, messages' `next_attempt_at`),
not in the scheduler's memory: the scheduler only wakes the worker up. So a worker that
starts after a crash or a stop does everything that came due meanwhile on its first tick,
and the atomic claims in incidents.escalation and incidents.outbox make each step happen
once even when two workers overlap.

Jobs (APScheduler 3 BackgroundScheduler, one instance each, missed runs coalesced):

    clock    every WORKER_TICK_SECONDS: fire_due in batches, a transaction per batch,
             until nothing is due
    outbox   every OUTBOX_TICK_SECONDS: deliver due messages

A job's exception is logged and the next tick runs as usual. Only the active worker acts
(console.leadership): a standby keeps trying to take over every WORKER_LOCK_RETRY_SECONDS.
The worker never serves HTTP; `crisis serve` runs it next to the web server in one process.
"""

from __future__ import annotations

import functools
import logging
import signal
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy.orm import sessionmaker

from console import config as console_config
from console.leadership import Leadership, leadership_for
from incidents import escalation, outbox
from incidents.netguard import IPNetwork
from console.clock import utcnow

log = logging.getLogger(__name__)


class _QuietSkips(logging.Filter):
    """A tick skipped because the previous one still runs is expected (max_instances=1)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "maximum number of running instances reached" not in record.getMessage()


logging.getLogger("apscheduler.scheduler").addFilter(_QuietSkips())


# How long a deadline whose step keeps failing waits before it is tried again.
SET_ASIDE = timedelta(minutes=5)


@dataclass(frozen=True)
class WorkerSettings:
    """What the worker reads from the console's configuration."""

    zone: ZoneInfo
    public_url: str = ""
    allowed_networks: list[IPNetwork] = field(default_factory=list)
    clock_tick: float = 0.5
    outbox_tick: float = 2.0
    lock_retry: float = 2.0
    outbox_timeout: float = 10.0
    clock_batch: int = escalation.BATCH
    outbox_batch: int = outbox.BATCH

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> WorkerSettings:
        return cls(
            zone=ZoneInfo(config["TIMEZONE"]),
            public_url=config.get("PUBLIC_URL", ""),
            allowed_networks=console_config.allowed_networks(config),
            clock_tick=config.get("WORKER_TICK_SECONDS", 0.5),
            outbox_tick=config.get("OUTBOX_TICK_SECONDS", 2.0),
            lock_retry=config.get("WORKER_LOCK_RETRY_SECONDS", 2.0),
            outbox_timeout=config.get("OUTBOX_TIMEOUT_SECONDS", 10.0),
        )


class Worker:
    """One worker process's scheduler, leadership and jobs."""

    def __init__(
        self, engine: sa.Engine, settings: WorkerSettings, *, leadership: Leadership | None = None,
        clock: Callable[[], datetime] = utcnow,
    ):
        self.engine = engine
        self.settings = settings
        self.sessions = sessionmaker(bind=engine, expire_on_commit=False)
        self.leadership = leadership or leadership_for(engine)
        self.clock = clock
        self._active = threading.Event()
        self._stopping = threading.Event()
        self._leader_thread: threading.Thread | None = None
        self._started = False
        self.scheduler = BackgroundScheduler(
            timezone=UTC,
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 60},
        )
        self.scheduler.add_job(self._guarded(self.tick_clock), "interval", seconds=settings.clock_tick,
                               id="clock", name="deadline steps", replace_existing=True)
        self.scheduler.add_job(self._guarded(self.tick_outbox), "interval", seconds=settings.outbox_tick,
                               id="outbox", name="outbox delivery", replace_existing=True)

    @classmethod
    def from_app(cls, app: Any) -> Worker:
        """A worker on the Flask app's engine and configuration (the app never serves here),
        with the jobs of every area that has some (feed polling, maintenance windows, holding statements, subscriber deliveries)."""
        from console import comms_jobs, monitor_jobs, statuspage_jobs, subscriber_jobs

        worker = cls(app.extensions["db_engine"], WorkerSettings.from_config(app.config))
        monitor_jobs.register(worker, app.config, worker.sessions)
        statuspage_jobs.register(worker, app.config, worker.sessions)
        comms_jobs.register(worker, app.config, worker.sessions)
        subscriber_jobs.register(worker, app.config, worker.sessions)
        return worker

    def add_job(self, func: Callable[..., object], *trigger: Any, args: tuple | list = (),
                kwargs: Mapping[str, Any] | None = None, **options: Any) -> None:
        """APScheduler's add_job, for an area's `register`: the job runs only while this worker
        is the active one, and its failures are logged like the clock's."""
        bound = functools.partial(func, *args, **(kwargs or {}))
        bound.__name__ = getattr(func, "__name__", "job")  # type: ignore[attr-defined]
        self.scheduler.add_job(self._guarded(bound), *trigger, **options)

    @property
    def active(self) -> bool:
        return self._active.is_set()

    def start(self) -> None:
        """Start the scheduler and the leadership loop; returns at once."""
        self._started = True
        self.scheduler.start()
        self._leader_thread = threading.Thread(target=self._lead, name="worker-leadership", daemon=True)
        self._leader_thread.start()

    def stop(self) -> None:
        """Stop taking work, let running jobs finish, step down."""
        self._stopping.set()
        self._active.clear()
        if self._leader_thread is not None:
            self._leader_thread.join()
        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)
        self.leadership.release()
        log.info("worker stopped")

    def run_until_signalled(self) -> None:
        """Run until SIGTERM or SIGINT, then stop gracefully."""
        stop = threading.Event()

        def on_signal(signum: int, _frame: Any) -> None:
            log.info("received %s, stopping", signal.Signals(signum).name)
            stop.set()

        previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
        self.start()
        try:
            while not stop.wait(1.0):
                pass
        finally:
            self.stop()
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _lead(self) -> None:
        """Take over when nobody is active; stop acting the moment the lock is lost."""
        said_standing_by = False
        while not self._stopping.is_set():
            if self.active:
                if not self.leadership.still_held():
                    self._active.clear()
                    log.error("lost the worker lock (database connection gone?); standing by")
            elif self.leadership.try_acquire() and not self._stopping.is_set():
                self._take_over()
            elif not said_standing_by:  # once, so an operator sees why this one does nothing
                log.info("standing by: another worker holds the lock")
                said_standing_by = True
            self._stopping.wait(self.settings.lock_retry)

    def _take_over(self) -> None:
        try:
            with self.sessions() as session:
                released = outbox.release_leases(session)
                session.commit()
        except sa.exc.SQLAlchemyError:
            log.exception("could not release stale outbox leases; they expire by themselves")
            released = 0
        self._active.set()
        log.info("worker active%s", f"; took back {released} message(s) left by a stopped worker" if released else "")
        # Everything that came due while no worker was active is handled now, not a tick later.
        for job_id in ("clock", "outbox"):
            job = self.scheduler.get_job(job_id)
            if job is not None:
                job.modify(next_run_time=datetime.now(UTC))

    def _guarded(self, job: Callable[[], object]) -> Callable[[], None]:
        def run() -> None:
            if not self.active:
                return
            try:
                job()
            except Exception:
                log.exception("the %s job failed; the next tick tries again", job.__name__)

        run.__name__ = job.__name__
        return run

    def _may_act(self) -> bool:
        """Between batches: go on unless stopping or no longer the active worker (a tick called
        directly, without start(), always acts)."""
        return not self._stopping.is_set() and (self.active or not self._started)

    def tick_clock(self, now: datetime | None = None) -> int:
        """Take every deadline step due at `now`, a transaction per batch; the steps taken."""
        now = now or self.clock()
        total = 0
        while self._may_act():
            try:
                report = self._fire(now, limit=self.settings.clock_batch)
            except sa.exc.OperationalError:
                raise  # the database itself is away: the job logs it and the next tick tries again
            except Exception:
                log.exception("a batch of deadline steps failed; taking them one by one")
                report = self._fire_one_by_one(now)
            total += report.steps
            if report.steps == 0 or not self._may_act():
                break
        if total:
            log.info("took %d deadline step(s)", total)
        return total

    def _fire(self, now: datetime, *, limit: int, only: list[int] | None = None) -> escalation.FireReport:
        with self.sessions() as session:
            report = escalation.fire_due(session, now=now, zone=self.settings.zone,
                                         public_url=self.settings.public_url, limit=limit, only=only)
            session.commit()
        return report

    def _fire_one_by_one(self, now: datetime) -> escalation.FireReport:
        """After a failed batch: each due deadline in its own transaction, so one that keeps
        failing (bad data, a bug) is set aside for a while and the others still fire."""
        total = escalation.FireReport()
        with self.sessions() as session:
            candidates = escalation.due_ids(session, now, limit=self.settings.clock_batch)
        for deadline_id, _stage in candidates:
            try:
                total.steps += self._fire(now, limit=1, only=[deadline_id]).steps
            except sa.exc.OperationalError:
                raise
            except Exception:
                log.exception("deadline %s failed its step; set aside for %s", deadline_id, SET_ASIDE)
                with self.sessions() as session:
                    escalation.set_aside(session, deadline_id, until=now + SET_ASIDE)
                    session.commit()
        return total

    def tick_outbox(self, now: datetime | None = None) -> outbox.DeliveryReport:
        """Deliver the messages due at `now`, batch after batch while batches come back full."""
        now = now or self.clock()
        total = outbox.DeliveryReport()
        while self._may_act():
            report = outbox.deliver_due(self.sessions, now=now, allowed_networks=self.settings.allowed_networks,
                                        limit=self.settings.outbox_batch, timeout=self.settings.outbox_timeout)
            total.add(report)
            # Put-back messages are still due: looping would knock on their dead channel again.
            if report.claimed < self.settings.outbox_batch or report.deferred or not self._may_act():
                break
        if total.claimed:
            log.info("outbox: %d delivered, %d to retry, %d failed, %d put back", total.delivered, total.retrying,
                     total.failed, total.deferred)
        return total
