"""A person clicks "Sign in with …" on the sign-in page and lands on the board, signed in; an admin
sets the provider up on a phone."""

from __future__ import annotations

import os

import pytest
from playwright.sync_api import Browser, expect

from incidents import accounts, single_sign_on
from incidents.actors import Actor
from tests.browser.conftest import sign_in_page
from tests.conftest import FIXED_NOW, PASSWORD
from tests.support.oidc_provider import CLIENT_ID, CLIENT_SECRET, running_provider
from tests.support.servers import LiveServer

pytestmark = pytest.mark.browser
SHOTS = os.environ.get("CRISIS_SCREENSHOTS", "/tmp")


def test_sign_in_with_the_provider_lands_on_the_board(live_server: LiveServer, browser: Browser) -> None:
    app = live_server.app
    app.config["CLOCK"] = lambda: FIXED_NOW
    app.config["ALLOWED_NETWORKS"] = ["127.0.0.0/8"]
    person = {"sub": "u-2002", "preferred_username": "wangfang", "name": "王芳", "groups": ["crisis-duty"]}
    with running_provider(FIXED_NOW, person) as provider:
        with app.extensions["db_sessionmaker"]() as session:
            single_sign_on.save(session, {
                "enabled": True, "name": "公司账号", "issuer": provider.issuer, "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "rules": [{"claim": "groups", "value": "crisis-duty", "role": "duty_manager"}],
            }, actor=Actor.system("test"), now=FIXED_NOW)
            session.commit()
        page = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844}).new_page()
        page.goto(f"{live_server.url}/login")
        page.screenshot(path=f"{SHOTS}/sso-login-phone.png", full_page=True)
        page.get_by_role("link", name="使用 公司账号 登录").click()
        expect(page.get_by_role("button", name="退出")).to_be_visible()  # the nav is folded at 390 px
        assert page.url == f"{live_server.url}/"
        expect(page.locator(".who")).to_have_text("王芳 · 值班主管")  # the mapped role


def test_an_admin_sets_up_single_sign_on_on_a_phone(live_server: LiveServer, browser: Browser) -> None:
    app = live_server.app
    app.config["CLOCK"] = lambda: FIXED_NOW
    with app.extensions["db_sessionmaker"]() as session:
        accounts.create_user(session, username="lijing", password=PASSWORD, role="admin", display_name="李静",
                             actor=Actor.system("test"), now=FIXED_NOW)
        session.commit()
    page = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844}).new_page()
    sign_in_page(page, live_server.url, "lijing")
    page.goto(f"{live_server.url}/settings/sso")
    page.get_by_label("在登录页提供身份提供方登录").check()
    page.get_by_label("登录按钮上显示的名称").fill("公司账号")
    page.get_by_label("签发方（发现地址）").fill("http://127.0.0.1:9/realms/staff")
    page.get_by_label("客户端 ID").fill(CLIENT_ID)
    page.get_by_label("客户端密钥").fill(CLIENT_SECRET)
    page.get_by_label("声明 1").fill("groups")
    page.get_by_label("包含 1").fill("crisis-duty")
    page.get_by_label("角色 1").select_option("duty_manager")
    page.get_by_role("button", name="保存单点登录设置").click()
    expect(page.get_by_text("单点登录设置已保存。")).to_be_visible()
    expect(page.get_by_label("客户端密钥")).to_have_value("")
    assert CLIENT_SECRET not in page.content()
    page.screenshot(path=f"{SHOTS}/sso-settings-phone.png", full_page=True)
