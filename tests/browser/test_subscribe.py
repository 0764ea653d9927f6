"""A visitor subscribes on the public status page, and uses the links from the mail, in a real browser, with CSRF on."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from playwright.sync_api import Browser, expect

from incidents import subscribers
from incidents.actors import Actor
from incidents.subscriber_models import Subscriber, SubscriberState
from tests.channels.conftest import http_server  # noqa: F401 (fixture)
from tests.support.servers import LiveServer

pytestmark = pytest.mark.browser


def test_visitor_subscribes_a_webhook_and_sees_bad_input_at_the_field(live_server: LiveServer, browser: Browser, http_server) -> None:  # noqa: ANN001, F811, E501
    live_server.app.config["ALLOWED_NETWORKS"] = ["127.0.0.1/32"]
    page = browser.new_context(locale="zh-CN").new_page()
    page.goto(f"{live_server.url}/status")
    page.get_by_role("link", name="订阅更新").click()
    expect(page.get_by_role("heading", name="订阅更新")).to_be_visible()
    # No SMTP server is set here: the page offers webhooks only.
    expect(page.get_by_role("heading", name="邮件订阅")).to_have_count(0)

    page.get_by_label("Webhook 地址").fill("http://10.1.2.3/hook")
    page.get_by_role("button", name="订阅 Webhook").click()
    expect(page.get_by_role("alert")).to_contain_text("该地址指向内网或本机")

    page.get_by_label("Webhook 地址").fill(http_server.url("/status-hook"))
    page.get_by_label("签名密钥（可选，至少 16 个字符）").fill("browser-test-shared-secret")
    page.get_by_role("button", name="订阅 Webhook").click()
    expect(page.get_by_role("heading", name="Webhook 已订阅")).to_be_visible()
    expect(page.locator("code.secret")).to_have_text("browser-test-shared-secret")

    with live_server.app.extensions["db_sessionmaker"]() as session:
        [subscriber] = session.scalars(sa.select(Subscriber)).all()
        assert (subscriber.kind, subscriber.state) == ("webhook", SubscriberState.ACTIVE)

    # The link only opens a page that asks (mail scanners open links too); its button unsubscribes.
    page.get_by_role("link", name="退订").click()
    expect(page.get_by_role("heading", name="停止接收通知？")).to_be_visible()
    with live_server.app.extensions["db_sessionmaker"]() as session:
        assert session.scalars(sa.select(Subscriber)).one().state == SubscriberState.ACTIVE
    page.get_by_role("button", name="退订").click()
    expect(page.get_by_role("heading", name="您已退订")).to_be_visible()
    with live_server.app.extensions["db_sessionmaker"]() as session:
        assert session.scalars(sa.select(Subscriber)).one().state == SubscriberState.UNSUBSCRIBED


def test_reader_confirms_from_the_mail_link_in_english(live_server: LiveServer, browser: Browser) -> None:
    """The confirmation link from the mail opens a page; only its button starts the subscription."""
    with live_server.app.extensions["db_sessionmaker"]() as session:
        done = subscribers.subscribe_email(session, email="reader@example.com", components=[], language="en",
                                           ip="127.0.0.1", now=datetime.now(UTC), actor=Actor.system("test"))
        session.commit()
        token = done.subscriber.token
    page = browser.new_context(locale="en-US").new_page()
    page.goto(f"{live_server.url}/status/subscribe/confirm/{token}?lang=en")
    expect(page.get_by_role("heading", name="Confirm your subscription")).to_be_visible()
    expect(page.get_by_text("reader@example.com")).to_be_visible()
    page.reload()  # opened twice, as a scanner and then the reader would: still pending
    with live_server.app.extensions["db_sessionmaker"]() as session:
        assert session.scalars(sa.select(Subscriber)).one().state == SubscriberState.PENDING
    page.get_by_role("button", name="Confirm subscription").click()
    expect(page.get_by_role("heading", name="Subscription confirmed")).to_be_visible()
    with live_server.app.extensions["db_sessionmaker"]() as session:
        assert session.scalars(sa.select(Subscriber)).one().state == SubscriberState.ACTIVE
