"""Benchmark: the clock under load, through the real worker (APScheduler + console.worker.Worker).

Run from the repository root (PostgreSQL optional):

    .venv/bin/python bench/bench_clock.py --engine sqlite
    .venv/bin/python bench/bench_clock.py --engine postgresql --postgres-url postgresql+psycopg://postgres@127.0.0.1:5432/test

Three measurements, each against a baseline measured in the same run (see bench/README-clock.md):

1. Lateness: 10,000 open incidents with 30,000 pending deadlines due over a 10-minute
   window (reminder 2 min ahead, escalation every 5 min, as the outage rules). The worker
   runs as in production; every step's lateness is measured from when it was due to the end
   of the tick that took it. Baseline: a bare APScheduler job with the same tick walking an
   in-memory list of the same due times (the floor any polling scheduler has).
2. Idle: the worker with 30,000 deadlines none of which is due, for 30 s: CPU seconds per
   wall second of the whole process. Baseline: the same scheduler with no-op jobs.
3. Restart: 1,000 deadlines overdue when the worker starts; time until all are handled.
   Baseline: one bare UPDATE marking the same 1,000 rows missed (the least possible work).
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa  # noqa: E402
from apscheduler.schedulers.background import BackgroundScheduler  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from console import migrate  # noqa: E402
from console.db import make_engine  # noqa: E402
from console.worker import Worker, WorkerSettings  # noqa: E402
from incidents import clock  # noqa: E402
from incidents.models import Deadline, DeadlineState, EventKind, Incident, TimelineEvent  # noqa: E402
from incidents.playbooks import effective_playbook  # noqa: E402
from incidents.lifecycle import Kind, Severity, Source, Status  # noqa: E402

SHANGHAI = ZoneInfo("Asia/Shanghai")


# --- databases -------------------------------------------------------------------------------

def fresh_database(kind: str, postgres_url: str) -> tuple[str, callable]:
    if kind == "sqlite":
        folder = tempfile.mkdtemp(prefix="bench-clock-")
        url = f"sqlite:///{folder}/clock.db"
        migrate.upgrade(url)
        return url, lambda: None
    base = make_url(postgres_url)
    name = f"bench_clock_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = base.set(database=name).render_as_string(hide_password=False)
    migrate.upgrade(url)

    def drop() -> None:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return url, drop


def seed(engine: sa.Engine, *, incidents: int, per_incident: int, due_from: datetime, window: timedelta,
         escalate_every: int = 5, remind_before: int = 2, stage: int = clock.CREATED) -> list[datetime]:
    """Bulk-insert open outages and their pending deadlines; returns the due times."""
    rng = random.Random(7)
    with engine.begin() as connection:
        playbook_rule = None
        with sa.orm.Session(bind=connection) as session:
            playbook_rule = effective_playbook(session, Kind.OUTAGE).rule(Severity.P2, "public_update")
        opened = due_from - timedelta(minutes=30)
        rows = [
            {
                "reference": f"INC-BENCH-{i:06d}", "kind": Kind.OUTAGE.value, "severity": Severity.P2.value,
                "status": Status.INVESTIGATING.value, "title": f"压测事件 {i}", "summary": "", "source": Source.API.value,
                "opened_at": opened, "updated_at": opened, "version": 1,
            }
            for i in range(incidents)
        ]
        connection.execute(sa.insert(Incident), rows)
        ids = list(connection.scalars(sa.select(Incident.id).order_by(Incident.id)))
        snapshot = playbook_rule.snapshot(business_hours=False, source="bench")
        snapshot.update(remind_before=remind_before, escalate_every=escalate_every)
        dues: list[datetime] = []
        deadline_rows = []
        for incident_id in ids:
            for n in range(per_incident):
                due = due_from + window * rng.random()
                remind = due - timedelta(minutes=remind_before) if remind_before else None
                schedule = clock.Schedule(due_at=due, remind_at=remind, escalate_every=escalate_every)
                dues.append(due)
                deadline_rows.append({
                    "incident_id": incident_id, "rule_key": "public_update", "rule": snapshot, "owner": "comms_lead",
                    "sequence": n + 1, "created_at": opened, "due_at": due, "remind_at": remind,
                    "state": DeadlineState.PENDING.value, "stage": stage,
                    "next_fire_at": schedule.next_fire_at(stage), "waived_reason": "", "paused_seconds": 0,
                })
        for start in range(0, len(deadline_rows), 5000):
            connection.execute(sa.insert(Deadline), deadline_rows[start:start + 5000])
    return dues


# --- measurements ----------------------------------------------------------------------------

class TimedWorker(Worker):
    """The production worker, noting when each clock tick began and ended."""

    def __init__(self, *args, **kwargs):  # noqa: ANN002, ANN003
        super().__init__(*args, **kwargs)
        self.ticks: list[tuple[datetime, datetime, int]] = []

    def tick_clock(self, now: datetime | None = None) -> int:
        began = datetime.now(UTC)
        steps = super().tick_clock(began)
        if steps:
            self.ticks.append((began, datetime.now(UTC), steps))
        return steps


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def step_lateness(engine: sa.Engine, ticks: list[tuple[datetime, datetime, int]], since: datetime,
                  until: datetime) -> list[float]:
    """Seconds from each step's due time to the end of the tick that took it."""
    ends = {began: ended for began, ended, _ in ticks}
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(TimelineEvent.at, TimelineEvent.data).where(
                TimelineEvent.kind.in_([EventKind.DEADLINE_REMINDED, EventKind.DEADLINE_MISSED,
                                        EventKind.DEADLINE_ESCALATED])
            )
        ).all()
    lateness = []
    for at, data in rows:
        at = at if at.tzinfo else at.replace(tzinfo=UTC)
        due = datetime.fromisoformat(data["due_at"])
        stage = data["stage"]
        schedule = clock.Schedule(due_at=due, remind_at=due - timedelta(minutes=2), escalate_every=5)
        stage_at = schedule.stage_time(stage)
        if stage_at is None or not since <= stage_at <= until:
            continue
        ended = ends.get(at, at)
        lateness.append((ended - stage_at).total_seconds())
    return lateness


def scheduler_floor(count: int, spread: float, tick: float) -> list[float]:
    """Baseline: a bare APScheduler job with the same tick popping due times from memory."""
    rng = random.Random(11)
    origin = datetime.now(UTC) + timedelta(seconds=1)
    pending = sorted(origin + timedelta(seconds=spread * rng.random()) for _ in range(count))
    run_for = spread + 1 + 2 * tick
    lateness: list[float] = []
    index = [0]

    def job() -> None:
        now = datetime.now(UTC)
        while index[0] < len(pending) and pending[index[0]] <= now:
            lateness.append((datetime.now(UTC) - pending[index[0]]).total_seconds())
            index[0] += 1

    scheduler = BackgroundScheduler(timezone=UTC, job_defaults={"coalesce": True, "max_instances": 1})
    scheduler.add_job(job, "interval", seconds=tick)
    scheduler.start()
    time.sleep(run_for)
    scheduler.shutdown()
    return lateness


def measure_lateness(engine: sa.Engine, settings: WorkerSettings, *, incidents: int, minutes: float) -> dict:
    start = datetime.now(UTC) + timedelta(minutes=2, seconds=20)  # reminders fall inside the run too
    window = timedelta(minutes=minutes)
    dues = seed(engine, incidents=incidents, per_incident=3, due_from=start, window=window)
    worker = TimedWorker(engine, settings)
    began = datetime.now(UTC)
    worker.start()
    # Run until every due time of the window has passed, plus a margin for the last tick.
    finish = start + window + timedelta(seconds=3)
    cpu0 = time.process_time()
    time.sleep(max(0.0, (finish - datetime.now(UTC)).total_seconds()))
    cpu = time.process_time() - cpu0
    worker.stop()
    ended = datetime.now(UTC)
    lateness = step_lateness(engine, worker.ticks, began, finish - timedelta(seconds=3))
    return {
        "deadlines": len(dues),
        "steps_measured": len(lateness),
        "p50_s": round(percentile(lateness, 0.50), 3),
        "p99_s": round(percentile(lateness, 0.99), 3),
        "max_s": round(max(lateness), 3) if lateness else None,
        "busy_cpu_share": round(cpu / (ended - began).total_seconds(), 3),
        "slowest_tick_s": round(max(((e - b).total_seconds() for b, e, _ in worker.ticks), default=0.0), 3),
        "dues": dues,
    }


def measure_idle(engine: sa.Engine, settings: WorkerSettings, *, incidents: int, seconds: float) -> dict:
    seed(engine, incidents=incidents, per_incident=3, due_from=datetime.now(UTC) + timedelta(days=1),
         window=timedelta(minutes=10))
    worker = Worker(engine, settings)
    worker.start()
    time.sleep(3)  # let it take over and settle
    cpu0, wall0 = time.process_time(), time.monotonic()
    time.sleep(seconds)
    ours = (time.process_time() - cpu0) / (time.monotonic() - wall0)
    worker.stop()

    scheduler = BackgroundScheduler(timezone=UTC, job_defaults={"coalesce": True, "max_instances": 1})
    scheduler.add_job(lambda: None, "interval", seconds=settings.clock_tick)
    scheduler.add_job(lambda: None, "interval", seconds=settings.outbox_tick)
    scheduler.start()
    cpu0, wall0 = time.process_time(), time.monotonic()
    time.sleep(seconds)
    bare = (time.process_time() - cpu0) / (time.monotonic() - wall0)
    scheduler.shutdown()
    return {"worker_cpu_share": round(ours, 4), "bare_scheduler_cpu_share": round(bare, 4)}


def measure_restart(engine: sa.Engine, settings: WorkerSettings, *, overdue: int) -> dict:
    now = datetime.now(UTC)
    seed(engine, incidents=overdue, per_incident=1, due_from=now - timedelta(minutes=3),
         window=timedelta(minutes=2))
    with engine.connect() as connection:
        due_before = connection.scalar(sa.select(sa.func.count(Deadline.id)).where(Deadline.next_fire_at <= now))
    worker = Worker(engine, settings)
    started = time.monotonic()
    worker.start()
    handled_at = None
    while time.monotonic() - started < 60:
        with engine.connect() as connection:
            left = connection.scalar(sa.select(sa.func.count(Deadline.id)).where(Deadline.next_fire_at <= now))
        if left == 0:
            handled_at = time.monotonic() - started
            break
        time.sleep(0.05)
    worker.stop()
    with engine.connect() as connection:
        missed_events = connection.scalar(
            sa.select(sa.func.count(TimelineEvent.id)).where(TimelineEvent.kind == EventKind.DEADLINE_MISSED))
    # Baseline: the least work there is, one UPDATE of the same number of rows.
    with engine.begin() as connection:
        began = time.monotonic()
        connection.execute(sa.update(Deadline).where(Deadline.next_fire_at.is_(None))
                           .values(state=DeadlineState.MISSED, stage=clock.OVERDUE))
        bare = time.monotonic() - began
    return {"overdue": due_before, "handled_s": None if handled_at is None else round(handled_at, 3),
            "missed_events": missed_events, "bare_update_s": round(bare, 4)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--postgres-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--incidents", type=int, default=10_000)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--idle-seconds", type=float, default=30.0)
    parser.add_argument("--overdue", type=int, default=1_000)
    parser.add_argument("--tick", type=float, default=None, help="clock tick in seconds (default: the worker's)")
    parser.add_argument("--only", choices=["lateness", "idle", "restart"], default=None)
    args = parser.parse_args()

    results: dict = {"engine": args.engine, "machine": f"{platform.node()} {platform.processor() or platform.machine()}",
                     "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")}
    for name in ("restart", "idle", "lateness"):
        if args.only and args.only != name:
            continue
        url, drop = fresh_database(args.engine, args.postgres_url)
        engine = make_engine(url)
        settings = WorkerSettings.from_config({"TIMEZONE": "Asia/Shanghai"})
        if args.tick:
            settings = WorkerSettings(**{**settings.__dict__, "clock_tick": args.tick})
        try:
            if name == "restart":
                results["restart"] = measure_restart(engine, settings, overdue=args.overdue)
            elif name == "idle":
                results["idle"] = measure_idle(engine, settings, incidents=args.incidents, seconds=args.idle_seconds)
            else:
                late = measure_lateness(engine, settings, incidents=args.incidents, minutes=args.minutes)
                late.pop("dues")
                floor = scheduler_floor(3000, 60.0, settings.clock_tick)
                late["scheduler_floor_p99_s"] = round(percentile(floor, 0.99), 3) if floor else None
                results["lateness"] = late
        finally:
            engine.dispose()
            drop()
        print(json.dumps({name: results[name]}, ensure_ascii=False), flush=True)
    print(json.dumps(results, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
