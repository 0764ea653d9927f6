"""The comms desk in a real browser, in Chinese: compose from a script with a live preview, publish, read /status."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from playwright.sync_api import Browser, expect

from incidents import accounts, components, service
from incidents.actors import Actor
from incidents.timeutil import utcnow
from incidents.updates import set_public_identity
from tests.browser.conftest import htmx_settled, sign_in_page
from tests.conftest import FIXED_NOW, PASSWORD
from tests.support.servers import LiveServer

pytestmark = pytest.mark.browser
SYSTEM = Actor.system("test")
PHONE = {"width": 390, "height": 844}


def _seed(app: Flask) -> str:
    with app.extensions["db_sessionmaker"]() as session:
        accounts.create_user(session, username="lina", password=PASSWORD, role="comms", display_name="李娜",
                             actor=SYSTEM, now=FIXED_NOW)
        components.save_component(session, data={"name": "支付", "name_en": "Payments"}, actor=SYSTEM, now=utcnow())
        incident = service.open_incident(session, kind="outage", severity="P1", title="内部：支付网关证书过期",
                                         actor=SYSTEM, now=utcnow(), zone=ZoneInfo("Asia/Shanghai"))
        set_public_identity(session, incident=incident, public_title="部分用户支付失败",
                            public_title_en="Some payments fail", actor=SYSTEM, now=utcnow())
        session.commit()
        return incident.reference


def test_compose_from_a_script_preview_publish_and_read_it_in_public(live_server: LiveServer, browser: Browser) -> None:
    reference = _seed(live_server.app)
    page = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900}).new_page()
    sign_in_page(page, live_server.url, "lina")
    page.goto(f"{live_server.url}/incidents/{reference}")

    composer = page.locator("#update-form")
    composer.get_by_label("话术").select_option(label="首次公告")
    expect(composer.get_by_label("公告内容")).to_have_value(re.compile(r"^我们发现\{components\}出现异常"))
    htmx_settled(page)  # the swapped-in form sends its preview on change only once htmx has settled it
    composer.get_by_label("支付").select_option(label="严重中断")
    preview = composer.locator("#composer-preview")
    expect(preview).to_contain_text("请填写 {eta}")  # nothing half-filled: the gap is named
    composer.get_by_label(re.compile(r"^预计恢复时间")).fill("15:30")
    composer.get_by_label("英文", exact=True).fill("15:30")
    expect(preview.locator("[lang=zh-CN] .pv-text")).to_contain_text("我们发现支付出现异常，部分用户可能无法正常使用。")
    expect(preview.locator("[lang=zh-CN] .pv-text")).to_contain_text("预计15:30前给出进一步消息")
    expect(preview.locator("[lang=en] .pv-text")).to_contain_text("We are seeing problems with Payments")
    expect(preview.locator("[lang=en] .pv-status")).to_have_text("Investigating")
    expect(preview.locator("[lang=zh-CN] .pv-affects")).to_contain_text("支付 · 严重中断")

    composer.get_by_role("button", name="发布公告").click()
    expect(page.locator("#update-form .flash-done")).to_have_text("已发布。")
    expect(page.locator("#timeline")).to_contain_text("已完成：首次公告")

    public = browser.new_context(locale="zh-CN", viewport=PHONE, java_script_enabled=False).new_page()
    public.goto(f"{live_server.url}/status")
    expect(public.get_by_role("link", name="部分用户支付失败")).to_be_visible()
    expect(public.get_by_text(re.compile("我们发现支付出现异常.*15:30前给出进一步消息"))).to_be_visible()
