"""Subscribers against real servers: the app with SMTP pointed at aiosmtpd, webhooks on 127.0.0.1."""

from __future__ import annotations

import email
import email.policy
import re
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import sessionmaker

from console.subscriber_jobs import deliver_settings
from incidents import components, outbox, service
from incidents.actors import Actor
from incidents.timeutil import utcnow
from incidents.updates import publish_update, set_public_identity
from tests.channels.conftest import http_server, smtp_server  # noqa: F401 (fixtures)

ACTOR = Actor.system("test")
SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture()
def sub_app(app, smtp_server):  # noqa: ANN001, ANN201, F811
    """The console with subscriber mail going to the local SMTP server and 127.0.0.1 allowed."""
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=str(smtp_server.port), SMTP_SECURITY="none",
                      SMTP_FROM="服务状态 <status@example.com>", ALLOWED_NETWORKS=["127.0.0.1/32"],
                      PUBLIC_URL="http://status.example.com")
    return app


@pytest.fixture()
def deliver(sub_app, engine):  # noqa: ANN001, ANN201
    """Run the worker's subscriber delivery round once, as the job does, on the real outbox."""
    sessions = sessionmaker(bind=engine, expire_on_commit=False)

    def run(now: Any = None, **overrides: Any) -> outbox.DeliveryReport:
        settings = {**deliver_settings(sub_app.config), "timeout": 5.0, **overrides}
        return outbox.deliver_due(sessions, now=now or utcnow(), **settings)

    return run


@pytest.fixture()
def publish(sub_app, engine):  # noqa: ANN001, ANN201
    """Publish an update of a public incident as comms would: {component id: status} optional."""
    sessions = sessionmaker(bind=engine, expire_on_commit=False)

    def run(body: str, *, components_status: dict | None = None, title: str = "支付异常",
            reference: str | None = None, internal_only: bool = False) -> str:
        with sessions() as session:
            if reference is None:
                incident = service.open_incident(session, kind="outage", severity="P2", title="内部：支付网关超时",
                                                 actor=ACTOR, now=utcnow(), zone=SHANGHAI)
                set_public_identity(session, incident=incident, public_title=title, public_title_en="Payments failing",
                                    internal_only=internal_only, actor=ACTOR, now=utcnow())
            else:
                incident = service.get_incident(session, reference)
            publish_update(session, incident=incident, body=body, body_en=f"EN: {body}", actor=ACTOR, now=utcnow(),
                           zone=SHANGHAI, components=components_status)
            session.commit()
            return incident.reference

    return run


@pytest.fixture()
def component(sub_app, engine):  # noqa: ANN001, ANN201
    sessions = sessionmaker(bind=engine, expire_on_commit=False)

    def make(name: str) -> int:
        with sessions() as session:
            made = components.save_component(session, data={"name": name}, actor=ACTOR, now=utcnow())
            session.commit()
            return made.id

    return make


def mail(envelope: Any) -> email.message.EmailMessage:
    return email.message_from_bytes(envelope.content, policy=email.policy.default)


def plain_text(envelope: Any) -> str:
    return mail(envelope).get_body(preferencelist=("plain",)).get_content()


def link_in(envelope: Any, pattern: str) -> str:
    """The first link in the mail's text whose path matches `pattern`, made relative to the app."""
    found = re.search(r"http://status\.example\.com(" + pattern + r")", plain_text(envelope))
    assert found, plain_text(envelope)
    return found.group(1)
