"""The stage every drill plays on: the console served for real, its worker, the people on duty,
and every audience's receiver (a mail server, a webhook subscriber, the team channel).

Time is the drill's own: the console reads it from `app.config["CLOCK"]` and the worker's
ticks are given it, so "ten minutes later" is `drill.clock.advance(minutes=10)`, never a sleep.
The clock starts at the wall clock's minute (Alertmanager stamps its alerts with real time).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from playwright.sync_api import Browser, Page

from console import create_app, subscriber_jobs
from console.worker import Worker, WorkerSettings
from incidents import accounts, components, roster
from incidents.actors import Actor
from incidents.holding import publish_holding_statements
from incidents.models import Deadline, Incident, TimelineEvent
from monitors.polling import PollSettings, poll_due
from monitors.rulebook import CompiledRules
from tests.browser.conftest import browser_type_launch_args, sign_in_page  # noqa: F401 (fixture: Debian's Chromium)
from tests.channels.conftest import RecordingServer, SMTPHandler
from tests.support.alertmanager import free_port
from tests.conftest import PASSWORD
from tests.support.servers import LiveServer, serving
from tests.worker_support import add_channel, subscribe

SYSTEM = Actor.system("drill")
ZONE = ZoneInfo("Asia/Shanghai")
LOCAL = ["127.0.0.1/32"]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
MAIL_TO = "ops-watch@example.com"


class DrillClock:
    """The console's and the worker's time during a drill: still until the drill moves it."""

    def __init__(self, start: datetime):
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@dataclass
class Person:
    username: str
    display_name: str
    role: str
    user_id: int
    token: str  # their own API token, as a script of theirs would use
    page: Page | None = None


@dataclass
class Drill:
    """Everything a drill step touches."""

    server: LiveServer
    clock: DrillClock
    worker: Worker
    mailbox: SMTPHandler
    subscriber_hook: RecordingServer
    team_channel: RecordingServer
    browser: Browser
    tmp_path: Path
    people: dict[str, Person] = field(default_factory=dict)
    seen: dict[str, int] = field(default_factory=dict)  # per audience: how much was already looked at

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def app(self) -> Any:
        return self.server.app

    def sessions(self) -> Any:
        return self.app.extensions["db_sessionmaker"]()

    def person(self, username: str, display_name: str, role: str, *, on_duty: bool = False) -> Person:
        """Someone on the team (Chinese UI), with their own API token; on the roster now if `on_duty`."""
        with self.sessions() as session:
            user = accounts.create_user(session, username=username, password=PASSWORD, role=role,
                                        display_name=display_name, locale="zh_Hans_CN", actor=SYSTEM, now=self.clock())
            session.flush()
            _row, secret = accounts.create_token(session, name=f"{username}-script", role=role, user_id=user.id,
                                                 actor=SYSTEM, now=self.clock())
            if on_duty:
                roster.add_shift(session, user_id=user.id, starts_at=self.clock() - timedelta(hours=1),
                                 ends_at=self.clock() + timedelta(days=3), actor=SYSTEM, now=self.clock())
            session.commit()
            person = Person(username, display_name, role, user.id, secret)
        self.people[username] = person
        return person

    def browser_for(self, person: Person, *, viewport: dict[str, int] = DESKTOP) -> Page:
        """The person's own browser window, signed in."""
        page = self.browser.new_context(locale="zh-CN", viewport=viewport).new_page()
        sign_in_page(page, self.url, person.username)
        person.page = page
        return page

    def api(self, person: Person, method: str, path: str, **kwargs: Any) -> requests.Response:
        """`/api/v1` as the person's script (their token)."""
        return requests.request(method, f"{self.url}/api/v1{path}", timeout=15,
                                headers={"Authorization": f"Bearer {person.token}"}, **kwargs)

    def system_token(self, role: str, name: str) -> str:
        """A token of nobody in particular (a monitor's)."""
        with self.sessions() as session:
            _row, secret = accounts.create_token(session, name=name, role=role, user_id=None, actor=SYSTEM,
                                                 now=self.clock())
            session.commit()
        return secret

    def component(self, name: str, name_en: str) -> int:
        with self.sessions() as session:
            made = components.save_component(session, data={"name": name, "name_en": name_en}, actor=SYSTEM,
                                             now=self.clock())
            session.commit()
            return made.id

    def incident(self, reference: str | None = None) -> Incident:
        """The incident (the only one, or by reference) as the database has it now."""
        with self.sessions() as session:
            query = sa.select(Incident)
            if reference:
                query = query.where(Incident.reference == reference)
            return session.scalars(query.order_by(Incident.id)).one()

    def incident_count(self) -> int:
        with self.sessions() as session:
            return session.scalar(sa.select(sa.func.count()).select_from(Incident))

    def timeline_has(self, reference: str, kind: str) -> bool:
        with self.sessions() as session:
            return session.scalar(sa.select(sa.func.count()).select_from(TimelineEvent).join(Incident).where(
                Incident.reference == reference, TimelineEvent.kind == kind)) > 0

    def deadline(self, reference: str, rule: str) -> dict[str, Any]:
        """The incident's latest deadline of that rule: its state and when it was met."""
        with self.sessions() as session:
            row = session.scalars(sa.select(Deadline).join(Incident).where(
                Incident.reference == reference, Deadline.rule_key == rule).order_by(Deadline.id.desc())).first()
            assert row is not None, f"{reference} has no {rule} deadline"
            return {"state": row.state.value, "met_at": row.met_at, "due_at": row.due_at}

    def worker_runs(self) -> None:
        """One round of everything the worker does, at the drill's time: feeds polled, deadline
        steps taken, holding statements published, team channels' and subscribers' messages delivered."""
        now = self.clock()
        factory = self.app.extensions["db_sessionmaker"]
        poll_due(factory, now=now, settings=PollSettings.from_config(self.app.config), rules=CompiledRules())
        self.worker.tick_clock(now)
        with factory() as session:
            publish_holding_statements(session, now=now, zone=ZONE)
            session.commit()
        self.worker.tick_outbox(now)
        subscriber_jobs.deliver_subscribers(factory, subscriber_jobs.deliver_settings(self.app.config), now=now)


@pytest.fixture()
def mail_server() -> Iterator[tuple[SMTPHandler, int]]:
    handler = SMTPHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield handler, controller.port
    finally:
        controller.stop()


@contextmanager
def recording_server() -> Iterator[RecordingServer]:
    """A local HTTP receiver that records every request and answers 200."""
    app = RecordingServer()
    app.set(200, '{"ok": true}')
    with serving(app, poll_interval=0.05) as live:
        app.base_url = live.url
        yield app


@pytest.fixture()
def drill(fresh_database: sa.Engine, browser: Browser, mail_server: tuple[SMTPHandler, int],
          tmp_path: Path) -> Iterator[Drill]:
    """The console on a newly installed database (what a team starts with, the shipped surge rule
    included) with CSRF on, its worker (ticked by the drill), a mail subscriber and a webhook
    subscriber of every component, and one team channel (a webhook taking reminders and escalations)."""
    engine = fresh_database
    database_url = engine.url.render_as_string(hide_password=False)
    clock = DrillClock(datetime.now(UTC).replace(second=0, microsecond=0))
    mailbox, smtp_port = mail_server
    app = create_app({
        "DATABASE_URL": database_url, "ENGINE": engine, "SECRET_KEY": "drill", "CLOCK": clock,
        "PUBLIC_URL": "http://status.example.test", "ALLOWED_NETWORKS": LOCAL, "TIMEZONE": "Asia/Shanghai",
        "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(smtp_port), "SMTP_SECURITY": "none",
        "SMTP_FROM": "status@example.test", "BOARD_POLL_SECONDS": 2,
        "STATUS_CACHE_SECONDS": 0,  # each public read checks the version: what every audience sees is now
    })
    worker = Worker(engine, WorkerSettings.from_config(app.config), clock=clock)
    with serving(app) as server, recording_server() as hook, recording_server() as team:
        stage = Drill(server, clock, worker, mailbox, hook, team, browser, tmp_path)
        with stage.sessions() as session:
            subscribe(session, now=clock(), url=hook.url("/status-updates"))
            subscribe(session, now=clock(), email=MAIL_TO)
            add_channel(session, "值班群", "webhook", {"url": team.url("/team"), "secret": None}, now=clock())
        try:
            yield stage
        finally:
            for context in browser.contexts:  # the people's windows, which would poll the next drill's server
                context.close()
