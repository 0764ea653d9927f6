"""Sign-off reaches the approver, in a real browser and in Chinese: a comms writer sends an update for
sign-off; the duty manager on duty, on a 390 px phone, finds it on the bell and the board, and the draft
with 批准并发布 is the first thing the incident page shows."""

from __future__ import annotations

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from playwright.sync_api import Browser, expect

from incidents import accounts, comms, components, roster, service
from incidents.actors import Actor
from incidents.timeutil import utcnow
from incidents.updates import set_public_identity
from tests.browser.conftest import htmx_settled, sign_in_page
from tests.conftest import PASSWORD
from tests.support.servers import LiveServer

pytestmark = pytest.mark.browser
SYSTEM = Actor.system("test")
PHONE = {"width": 390, "height": 844}
# Nothing of the page's own content may start above the draft (the top bar is the console's, not the page's).
FIRST_IN_MAIN = """() => {
  const draft = document.querySelector('#signoff').getBoundingClientRect().top;
  return [...document.querySelectorAll('main section, main .panel')]
    .filter(e => e.id !== 'signoff' && !e.closest('#signoff') && e.getBoundingClientRect().height > 0)
    .every(e => e.getBoundingClientRect().top >= draft);
}"""


def _seed(app: Flask) -> str:
    now = utcnow()
    with app.extensions["db_sessionmaker"]() as session:
        accounts.create_user(session, username="lina", password=PASSWORD, role="comms", display_name="李娜",
                             actor=SYSTEM, now=now)
        duty = accounts.create_user(session, username="zhou", password=PASSWORD, role="duty_manager",
                                    display_name="周敏", actor=SYSTEM, now=now)
        session.flush()
        roster.add_shift(session, user_id=duty.id, starts_at=now - timedelta(hours=1), ends_at=now + timedelta(hours=8),
                         actor=SYSTEM, now=now)
        comms.save_comms_settings(session, {"signoff": {"outage": ["P1"]}}, actor=SYSTEM, now=now)
        components.save_component(session, data={"name": "支付", "name_en": "Payments"}, actor=SYSTEM, now=now)
        incident = service.open_incident(session, kind="outage", severity="P1", title="内部：支付网关证书过期",
                                         actor=SYSTEM, now=now, zone=ZoneInfo("Asia/Shanghai"))
        set_public_identity(session, incident=incident, public_title="部分用户支付失败",
                            public_title_en="Some payments fail", actor=SYSTEM, now=now)
        session.commit()
        return incident.reference


def test_the_duty_manager_finds_the_draft_on_the_bell_and_approves_it_first_thing(
    live_server: LiveServer, browser: Browser,
) -> None:
    reference = _seed(live_server.app)
    writer = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900}).new_page()
    sign_in_page(writer, live_server.url, "lina")
    writer.goto(f"{live_server.url}/incidents/{reference}")
    composer = writer.locator("#update-form")
    composer.get_by_label("话术").select_option(label="首次公告")
    htmx_settled(writer)
    composer.get_by_label("支付").select_option(label="严重中断")
    composer.get_by_label(re.compile(r"^预计恢复时间")).fill("15:30")
    composer.get_by_label("英文", exact=True).fill("15:30")
    # The next update's time is not the writer's to fix: it is filled in when the draft is approved.
    expect(composer.get_by_label(re.compile(r"^下次更新时间"))).to_have_count(0)
    expect(composer.locator("#composer-preview [lang=zh-CN] .fills-later")).to_have_text("下次更新时间，批准时填入")
    composer.get_by_role("button", name="提交签核").click()
    expect(writer.locator("#update-form .flash-warn")).to_contain_text("已提交签核")  # held, not yet published

    phone = browser.new_context(locale="zh-CN", viewport=PHONE).new_page()
    sign_in_page(phone, live_server.url, "zhou")
    waiting = phone.locator(".waiting-signoffs")  # the board, where sign-in lands
    expect(waiting).to_contain_text("待签核的公告")
    expect(waiting).to_contain_text("内部：支付网关证书过期")
    expect(waiting).to_contain_text("李娜 提交签核")
    expect(phone.locator("#bell .bell-count")).to_have_text("1")

    phone.locator("#bell").click()
    ringing = phone.locator(".notification.kind-signoff")
    expect(ringing).to_have_count(1)
    expect(ringing).to_contain_text("【待签核】")
    expect(ringing).to_contain_text("我们发现支付出现异常")
    ringing.get_by_role("link").click()

    expect(phone).to_have_url(re.compile(f"/incidents/{reference}$"))
    draft = phone.locator("#signoff .draft")
    approve = draft.get_by_role("button", name="批准并发布")
    expect(approve).to_be_in_viewport()  # no scrolling on a phone
    assert phone.evaluate("() => window.scrollY") == 0
    assert phone.evaluate(FIRST_IN_MAIN), "something on the incident page comes before the draft"
    expect(draft.locator(".fills-later").first).to_have_text("下次更新时间，批准时填入")

    approve.click()
    expect(phone.locator("#signoff")).to_contain_text("周敏 批准了 李娜 的公告")
    expect(phone.locator("#bell .bell-count")).to_have_count(0)
    public = browser.new_context(locale="zh-CN", viewport=PHONE, java_script_enabled=False).new_page()
    public.goto(f"{live_server.url}/status")
    expect(public.get_by_text(re.compile(r"我们将于 \d\d:\d\d 前发布下一次进展"))).to_be_visible()
