"""Resolving and the first notice in a real browser, in Chinese: Resolve opens the composer on the
recovered script and one click tells the public; a fresh P1 reaches /status in three actions."""

from __future__ import annotations

import re
from collections.abc import Callable
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from flask import Flask
from playwright.sync_api import Browser, Page, expect

from incidents import accounts, components, service
from incidents.actors import Actor
from incidents.models import StatusUpdate
from incidents.timeutil import utcnow
from incidents.updates import publish_update, set_public_identity
from tests.browser.conftest import htmx_settled, sign_in_page
from tests.conftest import FIXED_NOW, PASSWORD
from tests.support.servers import LiveServer

pytestmark = pytest.mark.browser
SYSTEM = Actor.system("test")
SHANGHAI = ZoneInfo("Asia/Shanghai")
PHONE = {"width": 390, "height": 844}


def _seed(app: Flask, *, on_the_page: bool) -> str:
    """A duty manager, the payments component and a P1 outage: already told the public, or fresh."""
    with app.extensions["db_sessionmaker"]() as session:
        accounts.create_user(session, username="wangqiang", password=PASSWORD, role="duty_manager",
                             display_name="王强", actor=SYSTEM, now=FIXED_NOW)
        payments = components.save_component(session, data={"name": "支付", "name_en": "Payments"}, actor=SYSTEM,
                                              now=utcnow())
        incident = service.open_incident(session, kind="outage", severity="P1", title="内部：支付网关证书过期",
                                         actor=SYSTEM, now=utcnow(), zone=SHANGHAI)
        if on_the_page:
            set_public_identity(session, incident=incident, public_title="部分用户支付失败",
                                public_title_en="Some payments fail", actor=SYSTEM, now=utcnow())
            publish_update(session, incident=incident, body="我们正在排查支付失败的问题。", actor=SYSTEM, now=utcnow(),
                           zone=SHANGHAI, components={payments.id: "major_outage"})
        session.commit()
        return incident.reference


def _updates(app: Flask, reference: str) -> list[str]:
    with app.extensions["db_sessionmaker"]() as session:
        incident = service.get_incident(session, reference)
        return [u.public_status.value for u in session.scalars(
            sa.select(StatusUpdate).where(StatusUpdate.incident_id == incident.id).order_by(StatusUpdate.id))]


def _public_page(browser: Browser, url: str) -> Page:
    page = browser.new_context(locale="zh-CN", viewport=PHONE, java_script_enabled=False).new_page()
    page.goto(url)
    return page


def test_resolve_opens_the_recovered_script_and_one_click_tells_the_public(
        live_server: LiveServer, browser: Browser) -> None:
    reference = _seed(live_server.app, on_the_page=True)
    page = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900}).new_page()
    sign_in_page(page, live_server.url, "wangqiang")
    page.goto(f"{live_server.url}/incidents/{reference}")

    page.locator("#incident-header").get_by_role("link", name="标记解决").click()
    composer = page.locator("#update-form")
    expect(composer.get_by_label("公告内容")).to_have_value(re.compile(r"^\{components\}已恢复正常"))
    expect(composer.get_by_label("支付")).to_have_value("operational")
    expect(composer.locator("#composer-preview [lang=zh-CN] .pv-text")).to_contain_text("支付已恢复正常")
    expect(composer.locator("#composer-preview [lang=zh-CN] .pv-status")).to_have_text("已解决")
    htmx_settled(page)

    # A double click is one resolve: the button is off while the first submit is on its way.
    composer.get_by_role("button", name="发布并标记解决").dblclick()
    expect(page.locator("#update-form .flash-done")).to_have_text("已发布，事件已标记解决。")
    expect(page.locator("#incident-header .badge")).to_have_text("已解决")
    expect(page.locator("#timeline")).to_contain_text("支付已恢复正常")
    assert _updates(live_server.app, reference) == ["investigating", "resolved"]

    public = _public_page(browser, f"{live_server.url}/status")
    expect(public.locator("#h-incidents")).to_have_count(0)  # nothing ongoing any more
    expect(public.get_by_role("link", name="部分用户支付失败")).to_be_visible()  # recently resolved
    public.goto(f"{live_server.url}/status/incidents/{reference}")
    expect(public.get_by_text(re.compile("支付已恢复正常"))).to_be_visible()
    summary = public.request.get(f"{live_server.url}/api/v2/summary.json").json()
    assert summary["incidents"] == [] and summary["status"]["indicator"] == "none"


def test_a_fresh_p1_reaches_the_status_page_in_three_actions(live_server: LiveServer, browser: Browser) -> None:
    reference = _seed(live_server.app, on_the_page=False)
    page = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900}).new_page()
    sign_in_page(page, live_server.url, "wangqiang")
    page.goto(f"{live_server.url}/incidents/{reference}")  # the fresh P1 page: no public title, nothing said yet
    actions: list[str] = []

    def act(name: str, do: Callable[[], object]) -> None:
        """One click, choice or submit of the person's (typing into a field is not counted)."""
        actions.append(name)
        do()

    composer = page.locator("#update-form")
    title = composer.get_by_label("公开标题", exact=True)
    expect(title).to_have_value("部分服务异常")  # asked inline, with a suggestion from the kind
    act("pick the first notice", lambda: composer.get_by_label("话术").select_option(label="首次公告"))
    expect(composer.get_by_label("公告内容")).to_have_value(re.compile(r"^我们发现\{components\}出现异常"))
    htmx_settled(page)
    act("say payments are down", lambda: composer.get_by_label("支付").select_option(label="严重中断"))
    expect(title).to_have_value("支付服务异常")  # the suggestion follows the components chosen
    composer.get_by_label(re.compile(r"^预计恢复时间")).fill("15:30")
    composer.get_by_label("英文", exact=True).fill("15:30")
    expect(composer.locator("#composer-preview [lang=zh-CN] .pv-text")).to_contain_text("预计15:30前给出进一步消息")
    act("publish", lambda: composer.get_by_role("button", name="发布公告").click())
    expect(page.locator("#update-form .flash-done")).to_have_text("已发布。")

    assert len(actions) <= 3, actions
    public = _public_page(browser, f"{live_server.url}/status")
    expect(public.get_by_role("link", name="支付服务异常")).to_be_visible()
    expect(public.get_by_text(re.compile("我们发现支付出现异常.*15:30前给出进一步消息"))).to_be_visible()


def test_publishing_without_a_title_is_refused_at_the_field(live_server: LiveServer, browser: Browser) -> None:
    reference = _seed(live_server.app, on_the_page=False)
    page = browser.new_context(locale="zh-CN", viewport=PHONE).new_page()
    sign_in_page(page, live_server.url, "wangqiang")
    page.goto(f"{live_server.url}/incidents/{reference}")
    composer = page.locator("#update-form")
    composer.get_by_label("公开标题", exact=True).fill("")
    composer.get_by_label("公告内容").fill("我们正在排查支付问题。")
    # The browser's own check would stop an empty required field; the server's answer is what counts.
    page.evaluate("document.getElementById('composer-public-title-input').removeAttribute('required')")
    composer.get_by_role("button", name="发布公告").click()
    expect(composer.locator("#composer-public-title .field-error")).to_have_text(
        "请先填写公开标题：没有公开标题，客户什么也看不到。")
    expect(composer.get_by_label("公告内容")).to_have_value("我们正在排查支付问题。")  # what was typed stays
    assert _updates(live_server.app, reference) == []
