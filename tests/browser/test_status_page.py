"""A customer on a phone reads the public status page, in Chinese and then in English."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from playwright.sync_api import Browser, expect

from incidents import components, maintenance, service
from incidents.actors import Actor
from incidents.timeutil import utcnow
from incidents.updates import publish_update, set_public_identity
from tests.support.servers import LiveServer

pytestmark = pytest.mark.browser

ACTOR = Actor.system("test")
PHONE = {"width": 390, "height": 844}


def _seed(app: Flask) -> str:
    now = utcnow()
    zone = ZoneInfo("Asia/Shanghai")
    with app.extensions["db_sessionmaker"]() as session:
        group = components.save_group(session, data={"name": "交易", "name_en": "Trading"}, actor=ACTOR, now=now)
        order = components.save_component(session, data={"name": "下单", "name_en": "Ordering", "group_id": group.id},
                                          actor=ACTOR, now=now)
        components.save_component(session, data={"name": "客服热线", "name_en": "Hotline"}, actor=ACTOR, now=now)
        incident = service.open_incident(session, kind="outage", severity="P1", title="内部：订单库主从延迟",
                                         actor=ACTOR, now=now, zone=zone)
        set_public_identity(session, incident=incident, public_title="部分用户下单失败",
                            public_title_en="Some orders fail", actor=ACTOR, now=now)
        publish_update(session, incident=incident, body="我们正在排查部分用户下单失败的问题。",
                       body_en="We are investigating failed orders.", components={order.id: "partial_outage"},
                       actor=ACTOR, now=now, zone=zone)
        maintenance.schedule_maintenance(session, data={
            "title": "支付系统例行维护", "title_en": "Routine payment maintenance",
            "scheduled_start": now + timedelta(days=2), "scheduled_end": now + timedelta(days=2, hours=1)},
            actor=ACTOR, now=now)
        session.commit()
        return incident.reference


def test_a_customer_reads_the_page_on_a_phone(live_server: LiveServer, browser: Browser) -> None:
    reference = _seed(live_server.app)
    page = browser.new_context(locale="zh-CN", viewport=PHONE, java_script_enabled=False).new_page()
    page.goto(f"{live_server.url}/status")
    expect(page.get_by_role("heading", name="部分服务暂时不可用")).to_be_visible()
    expect(page.get_by_role("link", name="部分用户下单失败")).to_be_visible()
    expect(page.get_by_text("我们正在排查部分用户下单失败的问题。")).to_be_visible()
    expect(page.get_by_text("支付系统例行维护")).to_be_visible()
    expect(page.get_by_role("img", name="下单 近 90 天状态")).to_be_visible()
    # Nothing sticks out sideways on a phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    page.get_by_role("link", name="English").click()
    expect(page.get_by_role("heading", name="Some services are partly unavailable")).to_be_visible()
    expect(page.get_by_text("We are investigating failed orders.")).to_be_visible()
    expect(page.get_by_text("Partial outage").first).to_be_visible()
    page.get_by_role("link", name="Some orders fail").click()
    expect(page).to_have_url(f"{live_server.url}/status/incidents/{reference}?lang=en")
    expect(page.locator(".update").first).to_contain_text("Investigating")
    page.get_by_role("link", name="简体中文").click()
    expect(page.get_by_role("link", name="部分用户下单失败")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
