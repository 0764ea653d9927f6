"""An admin keeps the surge rules and alert mappings in a real browser (htmx swaps, 422 at the field)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from incidents import accounts
from incidents.actors import Actor
from tests.conftest import FIXED_NOW, PASSWORD
from tests.support.servers import LiveServer

pytestmark = pytest.mark.browser


def test_admin_adds_changes_and_removes_a_rule_and_fixes_a_mapping(live_server: LiveServer, browser: Browser) -> None:
    with live_server.app.extensions["db_sessionmaker"]() as session:
        accounts.create_user(session, username="boss", password=PASSWORD, role="admin", display_name="王主管",
                             actor=Actor.system("test"), now=FIXED_NOW)
        session.commit()
    page = browser.new_context(locale="zh-CN").new_page()
    page.goto(f"{live_server.url}/login")
    page.get_by_label("用户名").fill("boss")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.get_by_role("link", name="告警与规则").click()
    expect(page.get_by_text("还没有规则")).to_be_visible()

    rules = page.locator("#surge-rules")
    new = rules.locator("form.new")
    new.get_by_label("每日阈值").fill("0")
    new.evaluate("form => form.noValidate = true")  # let the server judge, as a script would
    new.get_by_role("button", name="添加规则").click()
    expect(rules.locator(".field-error")).to_contain_text("请输入 1 到 10000 之间的整数")
    rules.locator("form.new").get_by_label("每日阈值").fill("12")
    rules.locator("form.new").get_by_role("button", name="添加规则").click()
    saved = rules.get_by_role("form", name="规则 1")
    expect(saved.get_by_label("每日阈值")).to_have_value("12")

    saved.get_by_label("启用").uncheck()
    saved.get_by_role("button", name="保存").click()
    expect(rules.locator("form.rule-row.disabled")).to_have_count(1)

    page.once("dialog", lambda dialog: dialog.accept())
    rules.get_by_role("form", name="规则 1").get_by_role("button", name="删除").click()
    expect(page.get_by_text("还没有规则")).to_be_visible()

    mapping = page.locator("#hook-settings")
    mapping.get_by_label("标签 → 级别").fill("critical: P1\nwarning")
    mapping.get_by_role("button", name="保存映射").click()
    expect(mapping.locator(".field-error")).to_contain_text("第 2 行")
    mapping.get_by_label("标签 → 级别").fill("critical: P1\nteam=payments: P2")
    mapping.get_by_role("button", name="保存映射").click()
    expect(mapping.get_by_text("已保存。")).to_be_visible()
    page.reload()
    expect(page.get_by_label("标签 → 级别")).to_have_value("critical: P1\nteam=payments: P2")
