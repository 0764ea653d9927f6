"""People and access in a real browser, in Chinese: an admin deactivates a colleague whose open
session ends on its next click; a person changes their password at /account; a temporary
password sends its holder to /account until they choose their own."""

from __future__ import annotations

import os
import re

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, expect

from incidents import accounts
from incidents.actors import Actor
from tests.browser.conftest import sign_in_page
from tests.conftest import FIXED_NOW, PASSWORD
from tests.support.servers import LiveServer

pytestmark = pytest.mark.browser
SHOTS = os.environ.get("CRISIS_PEOPLE_SHOTS", "/tmp/shots-people")
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
NEW_PASSWORD = "my-own-secret-2026"


def _people(app: Flask) -> None:
    """An admin (李静) and a duty manager (张伟)."""
    with app.extensions["db_sessionmaker"]() as session:
        for username, role, name in (("lijing", "admin", "李静"), ("zhangwei", "duty_manager", "张伟")):
            accounts.create_user(session, username=username, password=PASSWORD, role=role, display_name=name,
                                 actor=Actor.system("test"), now=FIXED_NOW)
        session.commit()


def _page(browser: Browser, viewport: dict[str, int] = DESKTOP) -> Page:
    return browser.new_context(locale="zh-CN", viewport=viewport).new_page()


def _sign_in_with(page: Page, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()


def _choose_password(page: Page, *, current: str) -> None:
    """Replace the password through /account's form."""
    page.get_by_label("当前密码").fill(current)
    page.get_by_label("新密码", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("再次输入新密码").fill(NEW_PASSWORD)
    page.get_by_role("button", name="修改密码").click()


def _open_people(page: Page) -> None:
    page.get_by_text("设置", exact=True).click()
    page.get_by_role("link", name="人员").click()
    expect(page.get_by_role("heading", name="人员", exact=True)).to_be_visible()


def test_a_deactivated_colleague_is_signed_out_on_their_next_click(live_server: LiveServer, browser: Browser) -> None:
    _people(live_server.app)
    base = live_server.url
    os.makedirs(SHOTS, exist_ok=True)
    colleague = _page(browser)
    sign_in_page(colleague, base, "zhangwei")
    admin = _page(browser)
    sign_in_page(admin, base, "lijing")
    _open_people(admin)
    expect(admin.locator("#person-zhangwei")).to_contain_text("账号启用中")
    admin.screenshot(path=f"{SHOTS}/people-desktop.png", full_page=True)

    admin.get_by_role("button", name="停用 张伟").click()
    expect(admin.get_by_role("status")).to_contain_text("已停用 张伟，其所有登录均已退出。")
    expect(admin.locator("#person-zhangwei")).to_contain_text("已停用")
    expect(admin.get_by_role("button", name="重新启用 张伟")).to_be_visible()

    colleague.get_by_role("link", name="时限").click()
    expect(colleague).to_have_url(re.compile(r"/login"))
    expect(colleague.get_by_role("heading", name="登录")).to_be_visible()

    # The last active admin cannot deactivate themselves: the reason is said, nothing changes.
    admin.get_by_role("button", name="停用 李静").click()
    expect(admin.get_by_role("alert")).to_contain_text("这是最后一位在用的管理员")

    phone = _page(browser, PHONE)
    sign_in_page(phone, base, "lijing")
    phone.goto(f"{base}/settings/people")
    expect(phone.get_by_role("button", name="重新启用 张伟")).to_be_visible()
    phone.screenshot(path=f"{SHOTS}/people-390.png", full_page=True)


def test_a_person_changes_their_password_at_account(live_server: LiveServer, browser: Browser) -> None:
    _people(live_server.app)
    base = live_server.url
    os.makedirs(SHOTS, exist_ok=True)
    page = _page(browser)
    sign_in_page(page, base, "zhangwei")
    page.get_by_role("link", name="我的账号").click()
    expect(page.get_by_role("heading", name="我的账号")).to_be_visible()
    page.get_by_label("手机号").fill("139 1234 5678")
    page.get_by_role("button", name="保存详情").click()
    expect(page.get_by_role("status")).to_have_text("资料已保存。")
    expect(page.get_by_label("手机号")).to_have_value("+8613912345678")
    page.screenshot(path=f"{SHOTS}/account-desktop.png", full_page=True)

    _choose_password(page, current=PASSWORD)
    expect(page.get_by_role("status")).to_have_text("密码已修改，其他设备上的登录已全部退出。")

    page.get_by_role("button", name="退出").click()
    _sign_in_with(page, base, "zhangwei", NEW_PASSWORD)
    expect(page.get_by_role("link", name="事件看板")).to_be_visible()

    phone = _page(browser, PHONE)
    _sign_in_with(phone, base, "zhangwei", NEW_PASSWORD)
    phone.goto(f"{base}/account")
    expect(phone.get_by_role("heading", name="我的账号")).to_be_visible()
    phone.screenshot(path=f"{SHOTS}/account-390.png", full_page=True)


def test_a_temporary_password_must_be_replaced_at_the_next_sign_in(live_server: LiveServer, browser: Browser) -> None:
    _people(live_server.app)
    base = live_server.url
    admin = _page(browser)
    sign_in_page(admin, base, "lijing")
    _open_people(admin)
    admin.get_by_role("button", name="为 张伟 设置临时密码").click()
    expect(admin.get_by_text("张伟 的临时密码：")).to_be_visible()
    temporary = admin.locator("code.secret").inner_text()
    os.makedirs(SHOTS, exist_ok=True)
    admin.screenshot(path=f"{SHOTS}/people-temporary-password.png", full_page=True)

    page = _page(browser)
    _sign_in_with(page, base, "zhangwei", temporary)
    expect(page).to_have_url(f"{base}/account")
    expect(page.get_by_role("alert")).to_contain_text("你使用的是临时密码")
    page.screenshot(path=f"{SHOTS}/account-must-change.png", full_page=True)
    page.get_by_role("link", name="时限").click()
    expect(page).to_have_url(f"{base}/account")  # nothing else until the password is changed

    _choose_password(page, current=temporary)
    expect(page).to_have_url(f"{base}/")
    page.get_by_role("link", name="时限").click()
    expect(page).to_have_url(f"{base}/deadlines")
