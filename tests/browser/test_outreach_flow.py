"""A duty manager imports the affected customers, skips a bad row, logs a call with a promise and sees it on the clock."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, expect

from incidents import accounts, service
from incidents.actors import Actor
from tests.browser.conftest import sign_in_page
from tests.conftest import FIXED_NOW, PASSWORD
from tests.support.servers import LiveServer

pytestmark = pytest.mark.browser

CSV = "姓名,平台,联系方式,订单号,诉求\n王女士,电话,13800138000,E1001,补偿\n李先生,飞鸽,li01,,\n赵女士,微信,zhao_wx,E2002,退货\n"


def test_import_skip_a_bad_row_log_a_promise_and_see_its_deadline(live_server: LiveServer, browser: Browser,
                                                                   tmp_path: Path) -> None:
    with live_server.app.extensions["db_sessionmaker"]() as session:
        accounts.create_user(session, username="zhangwei", password=PASSWORD, role="duty_manager",
                             display_name="张伟", actor=Actor.system("test"), now=FIXED_NOW)
        incident = service.open_incident(session, kind="complaint", severity="P2", title="订单重复扣款",
                                         actor=Actor.system("test"), now=datetime.now(ZoneInfo("UTC")),
                                         zone=ZoneInfo("Asia/Shanghai"))
        session.commit()
        ref = incident.reference
    export = tmp_path / "受影响客户.csv"
    export.write_bytes(CSV.encode("gbk"))  # as Excel on a Chinese Windows saves it

    page = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900}).new_page()
    sign_in_page(page, live_server.url, "zhangwei")
    page.goto(f"{live_server.url}/incidents/{ref}")
    panel = page.locator("#outreach")
    expect(panel.get_by_role("heading", name="受影响客户")).to_be_visible()

    panel.get_by_role("link", name="导入 CSV").click()
    action = page.locator("#outreach-action")
    action.get_by_label("CSV 文件").set_input_files(str(export))
    action.get_by_role("button", name="预览").click()
    expect(action.get_by_text("共 3 行，其中 2 行可以导入。")).to_be_visible()
    expect(action.get_by_text("第 3 行 · 无法识别的平台「飞鸽」。")).to_be_visible()
    action.get_by_role("button", name="导入 2 位客户").click()
    expect(action.get_by_role("alert").first).to_contain_text("有 1 行有错误")
    action.get_by_label("跳过错误行，导入其余客户").check()
    action.get_by_role("button", name="导入 2 位客户").click()
    expect(action.get_by_text("已添加 2 位客户，跳过错误行 1 行。")).to_be_visible()
    expect(panel.get_by_role("link", name="王女士")).to_be_visible()
    expect(panel.get_by_role("link", name="李先生")).to_have_count(0)

    panel.get_by_role("link", name="王女士").click()
    expect(action.get_by_role("heading", name="记录一次联系")).to_be_visible()
    action.get_by_label("已联系上").check()
    action.get_by_label("金额（元）").fill("20")
    action.get_by_label("承诺内容").fill("退回重复扣款")
    promised = (datetime.now(ZoneInfo("Asia/Shanghai")) + timedelta(days=1)).replace(hour=18, minute=0)
    action.get_by_label("承诺兑现时间").fill(promised.strftime("%Y-%m-%dT%H:%M"))
    action.get_by_role("button", name="保存联系记录").click()
    # An amount without saying what it is for is refused at the field, and nothing typed is lost.
    expect(action.get_by_text("请选择给出的补偿方式。")).to_be_visible()
    expect(action.get_by_label("承诺内容")).to_have_value("退回重复扣款")
    action.get_by_label("给出的补偿").select_option("refund")
    action.get_by_role("button", name="保存联系记录").click()
    expect(action.get_by_text("已记录 王女士：已联系上。")).to_be_visible()

    clock = page.locator("#incident-clock")
    expect(clock.get_by_text("兑现对王女士的承诺")).to_be_visible()
    expect(clock.get_by_text(f"{promised:%m-%d} 18:00").first).to_be_visible()
    expect(page.locator("#timeline")).to_contain_text("记录了一次客户联系")
    expect(panel.locator("dl.outreach-counts")).to_contain_text("已联系上1")
    expect(panel.locator(".compensations")).to_contain_text("退款 ¥20.00")
