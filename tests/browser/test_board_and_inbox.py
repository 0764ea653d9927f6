"""In a real browser, on a desk and on a 390 px phone: the board shows what nobody owns and what
is late, the inbox shows the riskiest posts first and where each one is handled.

The console reads the test's clock (app CLOCK at FIXED_NOW); the page's countdowns tick on from it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, expect

from incidents import accounts, service
from incidents.actors import Actor
from monitors.polling import poll_due
from tests.browser.conftest import sign_in_page
from tests.conftest import FIXED_NOW, PASSWORD
from tests.monitors.feedserver import FeedServer, running_feed_server
from tests.monitors.risky_feed import BY_RISK, risky_feed
from tests.monitors.test_polling import LOCAL, add_rule, add_source
from tests.support.servers import LiveServer

pytestmark = pytest.mark.browser
SHOTS = os.environ.get("CRISIS_SCREENSHOTS", "/tmp/shots-board")
ZONE = ZoneInfo("Asia/Shanghai")
SYSTEM = Actor.system("test")
VIEWPORTS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}
RED_ROW = "rgb(253, 236, 234)"


@pytest.fixture(params=list(VIEWPORTS))
def screen(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture()
def feeds() -> Iterator[FeedServer]:
    with running_feed_server() as server:
        yield server


def _people(app: Flask, *usernames: str) -> None:
    app.config["CLOCK"] = lambda: FIXED_NOW
    with app.extensions["db_sessionmaker"]() as session:
        for username in usernames:
            accounts.create_user(session, username=username, password=PASSWORD, role="duty_manager",
                                 display_name=username.title(), actor=SYSTEM, now=FIXED_NOW)
        session.commit()


def _open(app: Flask, title: str, severity: str, *, ago: timedelta = timedelta(0), kind: str = "outage",
          acknowledged: bool = False) -> str:
    with app.extensions["db_sessionmaker"]() as session:
        at = FIXED_NOW - ago
        incident = service.open_incident(session, kind=kind, severity=severity, title=title, actor=SYSTEM,
                                         now=at, zone=ZONE)
        if acknowledged:
            service.acknowledge_incident(session, incident=incident, actor=SYSTEM, now=at, zone=ZONE)
        session.commit()
        return incident.reference


def _page(browser: Browser, screen: str, base: str, username: str) -> Page:
    page = browser.new_context(locale="zh-CN", viewport=VIEWPORTS[screen]).new_page()
    sign_in_page(page, base, username)
    return page


def _row(page: Page, title: str):  # noqa: ANN202
    return page.locator("#board tbody tr", has=page.get_by_role("link", name=title, exact=True))


def test_board_shows_who_owns_nothing_and_what_is_late(live_server: LiveServer, browser: Browser, screen: str) -> None:
    app, base = live_server.app, live_server.url
    _people(app, "zhangwei", "liuyang")
    late = _open(app, "支付接口超时", "P1", ago=timedelta(minutes=8))  # first notice was due 3 minutes ago
    _open(app, "APP 闪退", "P1", acknowledged=True)
    _open(app, "物流延迟投诉", "P3", kind="complaint")
    # Its first notice falls due a few seconds after the page opens: the row turns red by itself.
    _open(app, "短信验证码收不到", "P2", ago=timedelta(minutes=4, seconds=50), acknowledged=True)

    watcher = _page(browser, screen, base, "liuyang")
    rows = watcher.locator("#board tbody tr")
    expect(rows.first).to_contain_text("支付接口超时")  # P1 that nobody owns tops the board
    expect(rows.nth(1)).to_contain_text("APP 闪退")
    late_row = _row(watcher, "支付接口超时")
    expect(late_row).to_have_class(re.compile(r"\boverdue\b"))
    expect(late_row.get_by_text("未认领")).to_be_visible()
    expect(late_row.get_by_text("已超时", exact=True)).to_be_visible()
    assert late_row.evaluate("row => getComputedStyle(row).backgroundColor") == RED_ROW
    expect(_row(watcher, "APP 闪退").get_by_text("未认领")).to_have_count(0)
    expect(_row(watcher, "APP 闪退")).not_to_have_class(re.compile(r"\boverdue\b"))
    expect(_row(watcher, "物流延迟投诉").get_by_text("未认领")).to_be_visible()
    soon = _row(watcher, "短信验证码收不到")
    expect(soon).to_have_class(re.compile(r"\boverdue\b"), timeout=20_000)
    expect(soon.get_by_text("已超时", exact=True)).to_be_visible()
    watcher.screenshot(path=f"{SHOTS}/board-{screen}.png", full_page=True)

    # Someone takes it on elsewhere: the open board drops the tag by itself; the row stays red.
    commander = _page(browser, screen, base, "zhangwei")
    commander.goto(f"{base}/incidents/{late}")
    commander.get_by_role("button", name="认领").click()
    expect(commander.locator("#incident-header").get_by_text("Zhangwei")).to_be_visible()
    expect(late_row.get_by_text("未认领")).to_have_count(0, timeout=10_000)
    expect(late_row).to_have_class(re.compile(r"\boverdue\b"))
    expect(rows.first).to_contain_text("支付接口超时")  # still the most urgent P1: it is overdue


def test_inbox_shows_the_riskiest_first_and_links_to_the_incident(
        live_server: LiveServer, browser: Browser, feeds: FeedServer, screen: str) -> None:
    app, base = live_server.app, live_server.url
    _people(app, "zhangwei")
    factory = app.extensions["db_sessionmaker"]
    add_rule(factory, instant=False, volume_enabled=False)
    add_source(factory, feeds.set("/risky", risky_feed()))
    poll_due(factory, now=FIXED_NOW, settings=LOCAL)

    page = _page(browser, screen, base, "zhangwei")
    page.goto(f"{base}/monitors/mentions")
    cards = page.locator("article.mention")
    expect(cards).to_have_count(len(BY_RISK))  # what a rule matched; the weather post is left out
    for card, title in zip(cards.all(), BY_RISK, strict=True):
        expect(card).to_contain_text(title)
    expect(cards.first.locator(".score")).to_have_text("严重 14")
    expect(cards.first.locator(".score")).to_be_visible()
    expect(cards.nth(2).locator(".score")).to_have_text("高 3.5")
    expect(cards.last.locator(".score")).to_have_text("低 0")
    page.screenshot(path=f"{SHOTS}/inbox-{screen}.png", full_page=True)

    cards.first.get_by_role("button", name="发起事件").click()
    expect(page).to_have_url(re.compile(r"/incidents/INC-\d{8}-0001$"))
    reference = page.url.rsplit("/", 1)[1]
    page.goto(f"{base}/monitors/mentions?state=all")
    top = page.locator("article.mention").first
    expect(top).to_contain_text(BY_RISK[0])
    link = top.get_by_role("link", name=re.compile(reference))
    expect(link).to_be_visible()
    page.screenshot(path=f"{SHOTS}/inbox-handled-{screen}.png", full_page=True)
    link.click()
    expect(page).to_have_url(f"{base}/incidents/{reference}")


def test_an_empty_inbox_links_to_adding_a_source(live_server: LiveServer, browser: Browser, screen: str) -> None:
    _people(live_server.app, "zhangwei")
    page = _page(browser, screen, live_server.url, "zhangwei")
    page.goto(f"{live_server.url}/monitors/mentions")
    expect(page.get_by_text("还没有监控任何来源")).to_be_visible()
    page.screenshot(path=f"{SHOTS}/inbox-empty-{screen}.png", full_page=True)
    page.locator("#mention-list").get_by_role("link", name="添加订阅来源").click()
    expect(page).to_have_url(f"{live_server.url}/monitors/sources#add-source")
    expect(page.get_by_role("heading", name="添加订阅来源")).to_be_in_viewport()
    expect(page.get_by_label("名称", exact=True)).to_be_visible()
