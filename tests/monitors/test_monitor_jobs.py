"""The full loop through a real APScheduler running `console.monitor_jobs.register`: a post appears → an incident."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import sqlalchemy as sa
from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED
from apscheduler.schedulers.background import BackgroundScheduler

from console import monitor_jobs
from incidents.actors import Actor
from incidents.lifecycle import Kind, Source
from incidents.models import Deadline, Incident
from incidents.monitor_models import MonitorSource
from incidents.netguard import parse_networks
from incidents.timeutil import utcnow
from monitors import rulebook, sources
from tests.monitors.feedserver import FeedServer

ADMIN = Actor(label="test admin")
WAIT_S = 30  # an upper bound for a condition, not a speed claim (speed is in bench/)


def _wait_for(condition, ticks: threading.Event) -> object:  # noqa: ANN001
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        ticks.wait(0.5)
        ticks.clear()
    raise AssertionError("the worker did not get there")


def test_worker_job_polls_and_raises_with_the_contact_deadline(app, feed_server: FeedServer) -> None:  # noqa: ANN001
    factory = app.extensions["db_sessionmaker"]
    config = {**app.config, "ALLOWED_NETWORKS": ["127.0.0.1/32"], "MONITOR_TICK_SECONDS": 0.2}
    url = feed_server.set("/weibo", "weibo_v1.xml", etag='"v1"')
    with factory() as session:
        rulebook.create_rule(session, {"name": "鲜果多", "brand": "鲜果多",
                                       "negative_terms": rulebook.DEFAULT_NEGATIVE_TERMS,
                                       "critical_terms": rulebook.DEFAULT_CRITICAL_TERMS, "severity": "P2"},
                             actor=ADMIN, now=utcnow())
        session.commit()
    with factory() as session:
        source = sources.create_source(session, {"name": "微博", "url": url, "interval_s": 30},
                                       allowed_networks=parse_networks(config["ALLOWED_NETWORKS"]), actor=ADMIN,
                                       now=utcnow())
        sources.poll_soon(session, source, actor=Actor.system("test"), now=utcnow())
        session.commit()
        source_id = source.id

    scheduler = BackgroundScheduler(timezone="UTC")
    ticks = threading.Event()
    errors: list[BaseException] = []

    def listen(event) -> None:  # noqa: ANN001
        if event.exception:
            errors.append(event.exception)
        ticks.set()

    scheduler.add_listener(listen, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
    monitor_jobs.register(scheduler, config, factory)
    job = scheduler.get_job(monitor_jobs.JOB_ID)
    assert (job.max_instances, job.coalesce) == (1, True)
    scheduler.start()
    try:
        def polled() -> bool:
            with factory() as session:
                return session.get(MonitorSource, source_id).last_success_at is not None

        _wait_for(polled, ticks)
        with factory() as session:
            assert session.scalar(sa.select(sa.func.count(Incident.id))) == 0

        # The post appears; a person presses "poll now" (the interval is 30 s, too long to wait here).
        feed_server.set("/weibo", "weibo_v2.xml", etag='"v2"')
        appeared = utcnow()
        with factory() as session:
            sources.poll_soon(session, session.get(MonitorSource, source_id), actor=Actor.system("test"), now=appeared)
            session.commit()

        def raised() -> Incident | None:
            with factory() as session:
                return session.scalar(sa.select(Incident))

        incident = _wait_for(raised, ticks)
        assert incident.kind == Kind.PUBLIC_OPINION and incident.source == Source.MONITOR
        assert incident.opened_at >= appeared
        with factory() as session:
            contact = session.scalar(sa.select(Deadline).where(Deadline.rule_key == "contact_poster"))
            assert contact.due_at == incident.opened_at + timedelta(hours=1)
    finally:
        scheduler.shutdown(wait=True)
    assert errors == []
