"""An admin changes the outage first-notice offset in a real browser; only new deadlines follow it."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask import Flask
from playwright.sync_api import Browser, Page, expect

from incidents import accounts
from incidents.actors import Actor
from incidents.models import Deadline, Incident, PlaybookRevision
from tests.browser.conftest import open_incident_in
from tests.support.servers import LiveServer
from tests.conftest import FIXED_NOW, PASSWORD

pytestmark = pytest.mark.browser

OFFSET = "首次公告 · 所有级别 · 到期时间（分钟）"


def _first_notice(app: Flask, title: str) -> tuple[Incident, Deadline]:
    with app.extensions["db_sessionmaker"]() as session:
        return session.execute(
            sa.select(Incident, Deadline).join(Deadline, Deadline.incident_id == Incident.id)
            .where(Incident.title == title, Deadline.rule_key == "first_notice")
        ).one()


def _open_outage(page: Page, title: str) -> None:
    open_incident_in(page, title=title)
    expect(page.get_by_role("heading", name=re.compile(title))).to_be_visible()


def test_admin_changes_first_notice_offset(live_server: LiveServer, browser: Browser) -> None:
    app, base = live_server.app, live_server.url
    with app.extensions["db_sessionmaker"]() as session:
        accounts.create_user(session, username="lijing", password=PASSWORD, role="admin", display_name="李静",
                             actor=Actor.system("test"), now=FIXED_NOW)
        session.commit()
    page = browser.new_context(locale="zh-CN").new_page()
    page.goto(f"{base}/login")
    page.get_by_label("用户名").fill("lijing")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("link", name="事件看板")).to_be_visible()

    _open_outage(page, "旧事件：支付回调失败")
    old, old_deadline = _first_notice(app, "旧事件：支付回调失败")
    assert old_deadline.due_at == old.opened_at + timedelta(minutes=5)

    page.get_by_text("设置", exact=True).click()
    page.get_by_role("link", name="处置预案").click()
    expect(page.get_by_role("link", name="系统故障")).to_have_attribute("aria-current", "page")
    expect(page.get_by_text("修改只对保存之后新产生的时限生效。")).to_be_visible()
    expect(page.get_by_label(OFFSET)).to_have_value("5")

    # A negative number is refused beside the field, and nothing is saved.
    page.get_by_label(OFFSET).fill("-1")
    page.get_by_role("button", name="保存数值").click()
    expect(page.get_by_text("请输入 0 到 43200 之间的整数分钟。")).to_be_visible()
    expect(page.get_by_label(OFFSET)).to_have_attribute("aria-invalid", "true")
    with app.extensions["db_sessionmaker"]() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(PlaybookRevision)) == 0

    page.get_by_label(OFFSET).fill("3")
    page.get_by_role("button", name="保存数值").click()
    expect(page.get_by_text("已保存为第 1 版。从现在起新产生的时限按新数值计算。")).to_be_visible()
    expect(page.locator(".revisions")).to_contain_text("首次公告 · 所有级别 · 到期时间（分钟）：5 → 3")
    expect(page.get_by_label(OFFSET)).to_have_value("3")
    page.screenshot(path="test-results/playbook-saved.png", full_page=True)

    _open_outage(page, "新事件：下单接口超时")
    new, new_deadline = _first_notice(app, "新事件：下单接口超时")
    assert new_deadline.due_at == new.opened_at + timedelta(minutes=3)
    assert new_deadline.rule["source"] == "revision 1"
    _, old_deadline_after = _first_notice(app, "旧事件：支付回调失败")
    assert old_deadline_after.due_at == old_deadline.due_at == old.opened_at + timedelta(minutes=5)
