"""The people behind an outage in a real browser, in Chinese: 20 affected customers, outreach
logged for some, the overdue ones shown, the incident resolved, the 复盘 completed with the
system's figures, the incident closed."""

from __future__ import annotations

import re
import pytest
import sqlalchemy as sa
from flask import Flask
from playwright.sync_api import Browser, expect

from incidents import accounts
from incidents.actors import Actor
from incidents.models import Deadline
from tests.browser.conftest import open_incident_in, sign_in_page
from tests.conftest import FIXED_NOW, PASSWORD
from tests.support.servers import LiveServer

pytestmark = pytest.mark.browser
CUSTOMERS = 20
REACHED = 5


def _duty_manager(app: Flask, username: str) -> None:
    with app.extensions["db_sessionmaker"]() as session:
        accounts.create_user(session, username=username, password=PASSWORD, role="duty_manager",
                             display_name="刘洋", actor=Actor.system("test"), now=FIXED_NOW)
        session.commit()


def _an_hour_passes(app: Flask) -> None:
    """The outreach deadline (an hour after resolving) falls due: bring it back to the resolution,
    which came after the customers reached so far and before everyone else."""
    with app.extensions["db_sessionmaker"]() as session:
        deadline = session.scalars(sa.select(Deadline).where(Deadline.rule_key == "outreach")).one()
        deadline.due_at = deadline.incident.resolved_at
        session.commit()


def test_an_outage_with_twenty_customers_from_outreach_to_the_closed_review(
    live_server: LiveServer, browser: Browser,
) -> None:
    _duty_manager(live_server.app, "liuyang")
    page = browser.new_context(locale="zh-CN").new_page()
    sign_in_page(page, live_server.url, "liuyang")

    open_incident_in(page, title="支付回调延迟，部分订单显示未支付")
    expect(page).to_have_url(re.compile(r"/incidents/INC-\d{8}-0001$"))
    incident_url = page.url

    outreach = page.locator("#outreach")
    outreach.get_by_role("link", name="粘贴名单").click()
    page.get_by_label("客户", exact=True).fill("\n".join(f"客户{i:02d},139{i:08d}" for i in range(1, CUSTOMERS + 1)))
    page.get_by_role("button", name="添加这些客户").click()
    counts = outreach.locator(".outreach-counts")
    expect(counts.locator("div").nth(0).locator("dd")).to_have_text(str(CUSTOMERS))

    for done in range(1, REACHED + 1):
        row = outreach.locator("tbody tr").filter(has_text=f"客户{done:02d}")
        row.get_by_role("button", name="已联系上").click()
        expect(counts.locator("dd.reached")).to_have_text(str(done))

    page.locator("#incident-header").get_by_role("button", name="标记解决").click()
    expect(page.locator("#incident-header")).to_contain_text("已解决")
    _an_hour_passes(live_server.app)
    page.goto(incident_url)
    overdue_tab = outreach.get_by_role("link", name=re.compile("已超时"))
    expect(overdue_tab.locator(".count")).to_have_text(str(CUSTOMERS - REACHED))
    overdue_tab.click()
    expect(outreach.locator("tbody tr.overdue")).to_have_count(CUSTOMERS - REACHED)
    expect(outreach.locator("tbody")).not_to_contain_text("客户01")

    page.get_by_role("link", name="打开复盘").click()
    page.get_by_label("概要").fill("支付渠道回调队列积压，约 40 分钟内部分订单状态未更新。")
    page.get_by_label("根本原因").fill("回调消费者扩容脚本未随大促预案执行。")
    page.get_by_label("责任认定").fill("公司责任：运维预案遗漏。")
    page.get_by_role("button", name="保存草稿").click()
    figures = page.locator("#review-figures")
    expect(figures).to_contain_text("按时联系上的客户")
    expect(figures).to_contain_text(f"{CUSTOMERS} 位中 {REACHED} 位按时联系上")
    page.get_by_role("button", name="完成复盘").click()
    expect(page.locator("#review-figures")).to_contain_text("完成复盘时固定的数据")

    page.goto(incident_url)
    page.locator("#incident-header").get_by_role("button", name="关闭事件").click()
    expect(page.locator("#incident-header")).to_contain_text("已关闭")
