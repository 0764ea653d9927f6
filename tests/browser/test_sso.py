"""A person clicks "Sign in with …" on the sign-in page and lands on the board, signed in."""

from __future__ import annotations

import os

import pytest
from playwright.sync_api import Browser, expect

from incidents import single_sign_on
from incidents.actors import Actor
from tests.conftest import FIXED_NOW
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
        expect(page.get_by_role("link", name="事件看板")).to_be_visible()
        assert page.url == f"{live_server.url}/"
        expect(page.locator(".who")).to_have_text("王芳 · 值班主管")  # the mapped role
