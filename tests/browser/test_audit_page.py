"""An admin reads what happened in the audit log, in Chinese, on a desktop and on a phone."""

from __future__ import annotations

import os
import re

import pytest
from flask import Flask
from playwright.sync_api import Browser, expect

from incidents import accounts
from incidents.actors import Actor
from tests.browser.conftest import sign_in_page
from tests.conftest import FIXED_NOW, PASSWORD
from tests.support.servers import LiveServer

pytestmark = pytest.mark.browser
SHOTS = os.environ.get("CRISIS_SCREENSHOTS", "/tmp")


def _admin(app: Flask) -> None:
    with app.extensions["db_sessionmaker"]() as session:
        accounts.create_user(session, username="lijing", password=PASSWORD, role="admin", display_name="李静",
                             actor=Actor.system("test"), now=FIXED_NOW)
        session.commit()


def test_admin_finds_a_change_reads_its_diff_and_its_request(live_server: LiveServer, browser: Browser) -> None:
    _admin(live_server.app)
    base = live_server.url
    page = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900}).new_page()
    sign_in_page(page, base, "lijing")
    page.get_by_role("link", name="发起事件").click()
    page.get_by_label("系统故障").check()
    page.get_by_label("P2 严重").check()
    page.get_by_label("标题").fill("会员积分发放延迟")
    page.get_by_role("button", name="发起事件").click()
    expect(page).to_have_url(re.compile(r"/incidents/INC-\d{8}-0001$"))
    reference = page.url.rsplit("/", 1)[-1]
    page.get_by_role("button", name="已确认原因").click()
    expect(page.get_by_label("状态")).to_have_text("已确认原因")

    page.get_by_text("设置", exact=True).click()
    page.get_by_role("link", name="审计日志").click()
    expect(page.get_by_role("heading", name="审计日志")).to_be_visible()
    moved = page.locator(".audit-record", has_text="incident.status_changed")
    expect(moved.locator("del")).to_have_text("排查中")  # the reader's words, not the stored codes
    expect(moved.locator("ins").first).to_have_text("已确认原因")
    expect(page.locator(".audit-record", has_text="user.signed_in")).to_contain_text("李静")

    page.get_by_label("操作", exact=True).fill("incident.")
    page.get_by_role("button", name="筛选").click()
    expect(page.locator(".audit-record", has_text="incident.opened")).to_contain_text("会员积分发放延迟")
    expect(page.locator(".audit-record", has_text="user.signed_in")).to_have_count(0)
    page.screenshot(path=f"{SHOTS}/audit-desktop.png", full_page=True)

    # One click's request id narrows to that click's records; the incident link leads to it.
    moved = page.locator(".audit-record", has_text="incident.status_changed")
    moved.locator(".audit-request").click()
    expect(page).to_have_url(re.compile(r"request_id="))
    expect(page.locator(".audit-record", has_text="incident.status_changed")).to_have_count(1)
    expect(page.locator(".audit-record", has_text="incident.opened")).to_have_count(0)
    page.get_by_role("link", name=reference).click()
    expect(page).to_have_url(re.compile(f"/incidents/{reference}$"))
    # The net under every browser test (conftest) saw these changes and will check each was audited.
    noted = {(c.method, c.path) for c in live_server.changes}
    assert {("POST", "/login"), ("POST", "/incidents"), ("POST", f"/incidents/{reference}/transitions")} <= noted

    phone = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844},
                                device_scale_factor=2, is_mobile=True, has_touch=True).new_page()
    sign_in_page(phone, base, "lijing")
    phone.goto(f"{base}/admin/audit")
    expect(phone.get_by_role("heading", name="审计日志")).to_be_visible()
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    phone.screenshot(path=f"{SHOTS}/audit-phone.png", full_page=True)
