"""Nothing typed is lost when a save fails, in a real browser, in Chinese.

With htmx: the answer is an error (503, 500), the connection drops, or the console really cannot
reach its database: the form keeps every character and says so next to itself. Without
JavaScript: the 503 page offers the text back with a button that posts it again, and reloading
that page posts again, never turns into a GET.
"""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, Route, expect

from incidents import accounts, service
from incidents.actors import Actor
from incidents.timeutil import utcnow
from tests.browser.conftest import htmx_settled, sign_in_page
from tests.conftest import FIXED_NOW, PASSWORD
from tests.support.database_away import database_away
from tests.support.servers import LiveServer

pytestmark = pytest.mark.browser
SYSTEM = Actor.system("test")
PHONE = {"width": 390, "height": 844}
NOTE = "18:05 已将支付流量切回主线路，<b>观察</b> 10 分钟 & 再确认回调成功率"


def _seed(app: Flask) -> str:
    with app.extensions["db_sessionmaker"]() as session:
        accounts.create_user(session, username="wangfang", password=PASSWORD, role="duty_manager",
                             display_name="王芳", actor=SYSTEM, now=FIXED_NOW)
        incident = service.open_incident(session, kind="outage", severity="P1", title="支付回调大面积失败",
                                         actor=SYSTEM, now=utcnow(), zone=ZoneInfo("Asia/Shanghai"))
        session.commit()
        return incident.reference


def _incident_page(browser: Browser, live_server: LiveServer, *, javascript: bool = True) -> tuple[Page, str]:
    reference = _seed(live_server.app)
    page = browser.new_context(locale="zh-CN", viewport=PHONE, java_script_enabled=javascript).new_page()
    sign_in_page(page, live_server.url, "wangfang")
    page.goto(f"{live_server.url}/incidents/{reference}")
    return page, reference


def test_a_note_whose_save_fails_keeps_its_text_and_says_why_next_to_the_form(
    live_server: LiveServer, browser: Browser,
) -> None:
    page, _reference = _incident_page(browser, live_server)
    note_form = page.locator("#note-form")
    note = note_form.get_by_label("在时间线上记一笔")
    note.fill(NOTE)
    held: list[Route] = []
    answers = iter([
        lambda route: route.fulfill(status=503, content_type="text/html", body="<h1>503</h1>",
                                    headers={"Retry-After": "10"}),
        lambda route: route.fulfill(status=500, content_type="text/html", body="<h1>500</h1>"),
        lambda route: route.abort("connectionrefused"),
        held.append,  # never answered: the browser gives up waiting
    ])

    def failing(route: Route) -> None:
        next(answers)(route)

    page.route(re.compile(r"/incidents/[^/]+/notes$"), failing)
    assert page.evaluate("htmx.config.timeout") == 30_000  # a save with no answer in 30 s has failed
    page.evaluate("htmx.config.timeout = 1000")  # a test does not wait that long
    for says in ("未保存：指挥台暂时连不上数据库。您填写的内容还在", "未保存：系统出了点问题（错误 500）",
                 "未保存：连不上指挥台。您填写的内容还在", "等待超时：可能没有保存。您填写的内容还在"):
        note_form.get_by_role("button", name="添加备注").click()
        expect(note_form.get_by_role("alert")).to_contain_text(says)
        expect(note_form.get_by_role("alert")).to_have_count(1)  # one note, the latest reason
        expect(note).to_have_value(NOTE)
    expect(page.locator("#timeline")).not_to_contain_text("已将支付流量切回主线路")
    note_form.screenshot(path="test-results/typed-text-kept-note.png")
    for route in held:
        route.abort()

    page.unroute(re.compile(r"/incidents/[^/]+/notes$"))
    note_form.get_by_role("button", name="添加备注").click()
    expect(page.locator("#timeline")).to_contain_text("18:05 已将支付流量切回主线路，<b>观察</b> 10 分钟")
    expect(page.locator("#note-form").get_by_label("在时间线上记一笔")).to_have_value("")
    expect(page.locator("#note-form").get_by_role("alert")).to_have_count(0)


def test_an_update_posted_while_the_database_is_away_keeps_its_text_then_publishes(
    live_server: LiveServer, browser: Browser,
) -> None:
    page, _reference = _incident_page(browser, live_server)
    composer = page.locator("#update-form")
    text = "我们发现部分用户支付失败，技术团队正在紧急处理，预计 30 分钟内给出进一步消息。"
    composer.get_by_label("公告内容").fill(text)
    composer.get_by_label("英文内容（可选）").fill("Some payments fail; next update within 30 minutes.")
    htmx_settled(page)

    with database_away(live_server.app):
        composer.get_by_role("button", name="发布公告").click()
        expect(composer.get_by_role("alert")).to_contain_text("未保存：指挥台暂时连不上数据库")
    expect(composer.get_by_label("公告内容")).to_have_value(text)
    expect(composer.get_by_label("英文内容（可选）")).to_have_value("Some payments fail; next update within 30 minutes.")

    composer.get_by_role("button", name="发布公告").click()
    expect(page.locator("#update-form .flash-done")).to_have_text("已发布。")
    expect(page.locator("#update-form .save-failed")).to_have_count(0)


def test_without_javascript_the_503_page_offers_the_text_back_and_posts_it_again(
    live_server: LiveServer, browser: Browser,
) -> None:
    page, reference = _incident_page(browser, live_server, javascript=False)
    note_path = f"/incidents/{reference}/notes"
    sent: list[str] = []
    page.on("request", lambda request: sent.append(request.method) if request.url.endswith(note_path) else None)
    page.get_by_label("在时间线上记一笔").fill(NOTE)

    with database_away(live_server.app):
        page.get_by_role("button", name="添加备注").click()
        expect(page.get_by_role("heading", name="暂时无法使用")).to_be_visible()
        expect(page.get_by_text("刚才提交的内容没有保存")).to_be_visible()
        expect(page.get_by_label("您填写的文字")).to_have_value(NOTE)
        expect(page.locator('meta[http-equiv="refresh"]')).to_have_count(0)
        expect(page.locator('input[name="csrf_token"]')).to_have_count(1)
        page.screenshot(path="test-results/typed-text-kept-503.png", full_page=True)
        assert sent == ["POST"]

        page.reload()  # the same POST again, never a GET of the note's address
        expect(page.get_by_label("您填写的文字")).to_have_value(NOTE)
        assert sent == ["POST", "POST"]

    page.get_by_role("button", name="重新提交").click()
    expect(page).to_have_url(re.compile(rf"/incidents/{reference}$"))
    expect(page.locator("#timeline")).to_contain_text("18:05 已将支付流量切回主线路，<b>观察</b> 10 分钟")
    assert sent == ["POST", "POST", "POST"]
