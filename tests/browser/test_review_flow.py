"""The aftermath in a real browser, in Chinese: the six-step case, a refused close, the review, the close."""

from __future__ import annotations

import re
import shutil
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from playwright.sync_api import Browser, Locator, expect

from incidents import accounts, service
from incidents.actors import Actor
from incidents.timeutil import utcnow
from tests.browser.conftest import sign_in_page
from tests.conftest import FIXED_NOW, PASSWORD
from tests.support.servers import LiveServer

pytestmark = pytest.mark.browser
ZONE = ZoneInfo("Asia/Shanghai")
SHOTS = Path("test-results")


def _setup(app: Flask) -> str:
    with app.extensions["db_sessionmaker"]() as session:
        for username, name, role in (("liuyang", "刘洋", "duty_manager"), ("zhoumin", "周敏", "agent")):
            accounts.create_user(session, username=username, password=PASSWORD, role=role, display_name=name,
                                 actor=Actor.system("test"), now=FIXED_NOW)
        incident = service.open_incident(session, kind="complaint", severity="P2", title="婴儿奶粉结块投诉",
                                         actor=Actor.system("test"), now=utcnow() - timedelta(minutes=20), zone=ZONE)
        session.commit()
        return incident.reference


def _shot(page, name: str) -> None:  # noqa: ANN001
    SHOTS.mkdir(exist_ok=True)
    path = SHOTS / f"review-{name}.png"
    page.screenshot(path=str(path), full_page=True)
    shutil.copy(path, f"/tmp/review-{name}.png")


def _save_plan(case: Locator) -> None:
    """Open step 4 and save the plan: refund in full and a new tin, by 10:00 tomorrow."""
    step4 = case.locator("#case-plan")
    step4.locator("summary").click()
    step4.get_by_label("处理方案").fill("全额退款并赠送新品")
    step4.get_by_label("执行人").fill("客服主管周敏")
    step4.get_by_label("完成时间").fill((utcnow().astimezone(ZONE) + timedelta(days=1)).strftime("%Y-%m-%dT10:00"))
    step4.get_by_role("button", name="保存第 4 步").click()


def test_case_steps_refused_close_review_and_close(live_server: LiveServer, browser: Browser) -> None:
    ref = _setup(live_server.app)
    page = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900}).new_page()
    sign_in_page(page, live_server.url, "liuyang")
    page.goto(f"{live_server.url}/incidents/{ref}")
    case = page.locator("#incident-case")
    expect(case.get_by_role("heading", name=re.compile("六步法处理"))).to_be_visible()

    step1 = case.locator("#case-prejudge")
    step1.get_by_label("客户真实诉求").fill("要一个说法，担心孩子健康")
    step1.get_by_label("类别").select_option(label="产品质量")
    step1.get_by_role("button", name="保存第 1 步").click()
    expect(case.locator(".progress")).to_have_text("1/6")
    expect(step1.locator(".stamp")).to_contain_text("刘洋")

    # The method's pitfall: a plan before the facts is refused, and what was typed stays.
    _save_plan(case)
    expect(case.locator("#case-plan .alert")).to_have_text(re.compile("请先记录事实"))
    expect(case.locator("#case-plan").get_by_label("处理方案")).to_have_value("全额退款并赠送新品")

    step2 = case.locator("#case-facts")
    step2.locator("summary").click()
    step2.get_by_label("时间").fill("11月21日晚上开罐")
    step2.get_by_label("人物").fill("王女士")
    step2.get_by_label("对客户的影响").fill("不敢再给孩子喝")
    step2.get_by_label("诉求").fill("退款并检测")
    step2.get_by_label("内部记录显示").fill("同批次另有 2 起结块反馈")
    step2.get_by_role("button", name="保存第 2 步").click()
    expect(case.locator(".progress")).to_have_text("2/6")

    _save_plan(case)
    expect(case.locator(".progress")).to_have_text("3/6")
    expect(page.locator("#timeline")).to_contain_text("记录了六步法的一步")
    _shot(page, "case")

    header = page.locator("#incident-header")
    header.get_by_role("button", name="标记解决").click()
    expect(header.get_by_label("状态")).to_have_text("已解决")
    header.get_by_role("button", name="关闭事件").click()
    expect(header).to_contain_text("关闭事件前需要完成复盘")
    expect(header.get_by_label("状态")).to_have_text("已解决")

    page.get_by_role("link", name="打开复盘").click()
    expect(page.get_by_role("heading", name=re.compile("复盘"))).to_be_visible()
    expect(page.locator("#review-figures")).to_contain_text("认领用时")
    page.locator("#review-summary").fill("奶粉批次受潮结块，客户投诉后 20 分钟内响应。")
    page.locator("#review-root_cause").fill("仓库防潮措施失效")
    page.locator("#review-responsibility").fill("我方仓储")
    page.get_by_role("button", name="保存草稿").click()
    page.get_by_label("要改进什么").fill("仓库加装除湿设备")
    page.get_by_label("负责人", exact=True).select_option(label="周敏")
    page.get_by_label("截止日期").fill((utcnow().astimezone(ZONE) + timedelta(days=7)).strftime("%Y-%m-%d"))
    page.get_by_role("button", name="添加改进项").click()
    expect(page.locator("#action-items")).to_contain_text("仓库加装除湿设备")
    page.get_by_role("button", name="完成复盘").click()
    expect(page.locator(".page-head")).to_contain_text("已完成")
    expect(page.locator("#review-figures")).to_contain_text("完成复盘时固定的数据")
    _shot(page, "review")

    page.get_by_role("link", name=ref).click()
    page.locator("#incident-header").get_by_role("button", name="关闭事件").click()
    expect(page.locator("#incident-header").get_by_label("状态")).to_have_text("已关闭")
    expect(page.locator("#timeline")).to_contain_text("完成了复盘")

    phone = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844}).new_page()
    sign_in_page(phone, live_server.url, "liuyang")
    phone.goto(f"{live_server.url}/incidents/{ref}/review")
    _shot(phone, "review-phone")
    phone.goto(f"{live_server.url}/reports?days=7")
    expect(phone.locator(".reports-page")).to_contain_text("客诉分类")
    _shot(phone, "reports-phone")
    page.goto(f"{live_server.url}/reports?days=7")
    _shot(page, "reports")
