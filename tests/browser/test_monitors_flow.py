"""A duty manager in a real browser: add a source, watch the inbox fill, dismiss, raise, see the incident's mentions."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa
from playwright.sync_api import Browser, expect

from incidents import accounts
from incidents.actors import Actor
from incidents.monitor_models import MonitorSource
from incidents.netguard import parse_networks
from incidents.timeutil import utcnow
from monitors import rulebook
from monitors.polling import PollSettings, poll_due
from tests.support.servers import LiveServer
from tests.browser.conftest import sign_in_page
from tests.conftest import FIXED_NOW, PASSWORD
from tests.monitors.feedserver import FeedServer, running_feed_server

pytestmark = pytest.mark.browser
SHOTS = os.environ.get("CRISIS_SCREENSHOTS", "/tmp")


@pytest.fixture()
def feeds() -> Iterator[FeedServer]:
    with running_feed_server() as server:
        yield server


def _poll_all(live_server: LiveServer) -> None:
    """What the worker does on its tick, with every source made due first."""
    factory = live_server.app.extensions["db_sessionmaker"]
    with factory() as session:
        session.execute(sa.update(MonitorSource).values(next_poll_at=utcnow() - timedelta(seconds=1)))
        session.commit()
    poll_due(factory, now=utcnow(), settings=PollSettings(allowed_networks=tuple(parse_networks(["127.0.0.1/32"]))))


def test_watch_feeds_triage_and_raise(live_server: LiveServer, browser: Browser, feeds: FeedServer) -> None:
    app = live_server.app
    app.config["ALLOWED_NETWORKS"] = ["127.0.0.1/32"]
    with app.extensions["db_sessionmaker"]() as session:
        accounts.create_user(session, username="zhangwei", password=PASSWORD, role="duty_manager",
                             display_name="张伟", actor=Actor.system("test"), now=FIXED_NOW)
        rulebook.create_rule(session, {"name": "鲜果多", "brand": "鲜果多", "aliases": ["鮮果多"],
                                       "negative_terms": rulebook.DEFAULT_NEGATIVE_TERMS,
                                       "critical_terms": ["12315", "媒体", "律师"], "severity": "P2", "instant": False},
                             actor=Actor.system("test"), now=FIXED_NOW)
        session.commit()
    base = live_server.url
    page = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900}).new_page()
    sign_in_page(page, base, "zhangwei")

    page.get_by_role("link", name="舆情").first.click()
    page.get_by_role("link", name="订阅来源", exact=True).click()
    page.get_by_label("名称", exact=True).fill("微博搜索·鲜果多")
    page.get_by_label("订阅地址（RSS/Atom）").fill("http://10.0.0.9/weibo")
    page.get_by_role("button", name="添加来源").click()
    expect(page.get_by_role("alert")).to_contain_text("该地址（10.0.0.9）位于内网")
    page.get_by_label("订阅地址（RSS/Atom）").fill(feeds.set("/weibo", "weibo_v3.xml"))
    page.get_by_label("附加请求头（每行一个“名称: 值”）").fill("Cookie: SUB=never-shown")
    page.get_by_role("button", name="添加来源").click()
    expect(page.locator("#source-list")).to_contain_text("微博搜索·鲜果多")
    expect(page.locator("#source-list")).to_contain_text("尚未抓取")
    feeds.set("/gone", b"gone", status=410, content_type="text/plain")
    page.get_by_label("名称", exact=True).fill("已下线的论坛")
    page.get_by_label("订阅地址（RSS/Atom）").fill(feeds.base + "/gone")
    page.get_by_role("button", name="添加来源").click()
    expect(page.locator("#source-list")).to_contain_text("已下线的论坛")

    _poll_all(live_server)
    # The table refreshes itself: health appears without a reload.
    expect(page.locator("#source-list")).to_contain_text("正常", timeout=5000)
    expect(page.locator("#source-list")).to_contain_text("HTTP 410")
    page.screenshot(path=f"{SHOTS}/feeds-sources.png", full_page=True)

    page.get_by_role("link", name="舆情收件箱").click()
    cards = page.locator("article.mention")
    expect(cards).to_have_count(4)
    expect(page.get_by_role("link", name=re.compile("车厘子一半是烂的"))).to_have_attribute("rel", "noopener noreferrer")
    page.screenshot(path=f"{SHOTS}/feeds-inbox.png", full_page=True)

    mango = page.locator("article", has_text="芒果今天特价")
    mango.get_by_role("button", name="忽略").click()
    expect(mango).to_contain_text("已忽略")
    # The live list drops it from "new" on its next refresh.
    expect(page.locator("article", has_text="芒果今天特价")).to_have_count(0, timeout=5000)

    durian = page.locator("article", has_text="上吐下泻")
    durian.get_by_label("级别").select_option("P1")
    durian.get_by_role("button", name="发起事件").click()
    expect(page).to_have_url(re.compile(r"/incidents/INC-\d{8}-0001$"))
    panel = page.locator("#incident-mentions")
    expect(panel).to_contain_text("榴莲受害者王女士")
    expect(panel).to_contain_text("触发帖")
    expect(page.get_by_role("heading", name=re.compile("鲜果多舆情"))).to_be_visible()
    reference = page.url.rsplit("/", 1)[1]
    page.screenshot(path=f"{SHOTS}/feeds-incident.png", full_page=True)

    page.goto(f"{base}/monitors/mentions")
    follow = page.locator("article", has_text="一起维权")
    follow.get_by_label("事件编号").fill(reference)
    follow.get_by_role("button", name="归入事件").click()
    expect(follow).to_contain_text(reference)

    phone = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844}).new_page()
    sign_in_page(phone, base, "zhangwei")
    for path, name in (("/monitors/mentions?state=all", "inbox"), ("/monitors/sources", "sources"),
                       ("/monitors/rules", "rules"), (f"/incidents/{reference}", "incident")):
        phone.goto(base + path)
        phone.screenshot(path=f"{SHOTS}/feeds-phone-{name}.png", full_page=True)
    page.goto(f"{base}/monitors/rules")
    page.screenshot(path=f"{SHOTS}/feeds-rules.png", full_page=True)
    assert "never-shown" not in page.content()
