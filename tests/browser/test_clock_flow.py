"""The clock in a real browser, in Chinese: a ticking countdown, publish, tick, waive, the bell."""

from __future__ import annotations

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from flask import Flask
from playwright.sync_api import Browser, expect

from incidents import accounts, notify, roster
from incidents.actors import Actor
from incidents.models import Deadline, DeadlineState, User
from incidents.timeutil import utcnow
from tests.browser.conftest import open_incident_in, sign_in_page
from tests.support.servers import LiveServer
from tests.conftest import FIXED_NOW, PASSWORD

pytestmark = pytest.mark.browser


def _duty_manager_on_shift(app: Flask, username: str) -> int:
    with app.extensions["db_sessionmaker"]() as session:
        user = accounts.create_user(session, username=username, password=PASSWORD, role="duty_manager",
                                    display_name="张伟", actor=Actor.system("test"), now=FIXED_NOW)
        now = utcnow()
        roster.add_shift(session, user_id=user.id, starts_at=now - timedelta(hours=1), ends_at=now + timedelta(hours=8),
                         actor=Actor.system("test"), now=now)
        session.commit()
        return user.id


def _remind(app: Flask, user_id: int) -> None:
    """What the worker does when a reminder falls due: a bell row for the owner."""
    with app.extensions["db_sessionmaker"]() as session:
        deadline = session.scalars(sa.select(Deadline).where(Deadline.state == DeadlineState.PENDING)).one()
        notify.notify_people(session, [session.get(User, user_id)], kind="reminder", incident=deadline.incident,
                             deadline=deadline, now=utcnow(), zone=ZoneInfo("Asia/Shanghai"))
        session.commit()


def test_countdown_publish_tick_waive_and_the_bell(live_server: LiveServer, browser: Browser) -> None:
    user_id = _duty_manager_on_shift(live_server.app, "zhangwei")
    page = browser.new_context(locale="zh-CN").new_page()
    sign_in_page(page, live_server.url, "zhangwei")
    expect(page.locator("#board")).to_contain_text("当班值班主管: 张伟")

    open_incident_in(page, title="APP 下单接口超时", severity="P1 紧急")
    expect(page).to_have_url(re.compile(r"/incidents/INC-\d{8}-0001$"))

    clock = page.locator("#incident-clock")
    expect(clock.locator(".next-name")).to_have_text("首次公告")
    big = clock.locator(".countdown.big .count")
    expect(big).to_have_text(re.compile(r"^0[45]:\d\d$"))
    first_reading = big.text_content()
    expect(big).not_to_have_text(first_reading)  # it ticks in the browser, no reload

    page.get_by_label("公告内容").fill("APP 下单接口超时，技术团队正在排查，已下单的订单不受影响。")
    page.get_by_role("button", name="发布公告").click()
    expect(page.locator("#update-form")).to_contain_text("已发布")
    expect(clock.locator(".next-name")).to_have_text("进展更新")
    expect(clock.locator("#deadline-1")).to_contain_text("按时完成")
    expect(clock.locator(".countdown.big .count")).to_have_text(re.compile(r"^(10:00|09:\d\d)$"))
    expect(page.locator("#timeline")).to_contain_text("已完成：首次公告")

    page.locator("#checklist").get_by_role("button", name=re.compile("向一线客服下发统一口径")).click()
    expect(page.locator("#checklist")).to_contain_text(re.compile(r"张伟 于 \d\d-\d\d \d\d:\d\d 完成"))
    expect(page.locator("#checklist .progress")).to_have_text("1/5")

    expect(page.locator("#bell .bell-count")).to_have_count(0)
    _remind(live_server.app, user_id)
    expect(page.locator("#bell .bell-count")).to_have_text("1", timeout=5000)  # the bell polls every 2 s here

    page.get_by_role("link", name="为「进展更新」写说明或免除").click()
    action = page.locator("#clock-action")
    expect(action.get_by_label("说明（标记完成时可不填，免除时必填）")).to_be_focused()
    action.get_by_role("button", name="免除").click()
    expect(action.locator(".field-error")).to_have_text("此项必填。")
    action.get_by_label("说明（标记完成时可不填，免除时必填）").fill("已转为在客户群每 30 分钟通报")
    action.get_by_role("button", name="免除").click()
    expect(action).to_contain_text("「进展更新」已免除。")
    expect(clock).to_contain_text("已转为在客户群每 30 分钟通报")
    expect(clock).to_contain_text("目前没有正在计时的时限")
    # A reminder for a waived promise is history: the bell stops counting it.
    expect(page.locator("#bell .bell-count")).to_have_count(0)

    page.screenshot(path="test-results/clock-incident.png", full_page=True)
