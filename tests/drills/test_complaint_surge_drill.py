"""Drill: on a fresh install, ten customers complain in one day that the same infant formula
is clumping. The tenth complaint raises a complaint incident by itself; the duty manager works
the six-step case (the plan on record meets the first-plan deadline), resolves it, and the
return visit the next day (the customer's confirmation, step 5) meets the return-visit deadline.

At each step: the public page and the v2 API (a complaint has no public face: nothing changes
there), the mail and webhook subscribers (nothing), the team channel and the duty manager's bell.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import Locator, expect

from tests.drills import audiences
from tests.drills.audiences import ALL_WELL
from tests.drills.conftest import ZONE, Drill

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PRODUCT = "婴儿奶粉A段 800g"
COMPLAINTS = [f"奶粉开罐后结块，冲不开（第 {n} 位客户）" for n in range(1, 11)]


def _nobody_outside_hears(drill: Drill) -> None:
    """A complaint case stays inside: the public page, its API and the subscribers see nothing."""
    audiences.public(drill, headline=ALL_WELL, indicator="none")
    audiences.mail(drill, expect=[])
    audiences.webhook(drill, expect=[])


def _named(label: str) -> re.Pattern[str]:
    """A field's label, with or without its "required" star."""
    return re.compile(rf"^\s*{re.escape(label)}(\s*\*)?\s*$")


def _save_step(case: Locator, step: str, number: int, fields: dict[str, str], *, choices: dict[str, str] | None = None,
               ticks: tuple[str, ...] = ()) -> None:
    """Open one step of the six-step case, fill it in and save it."""
    item = case.locator(f"#case-{step}")
    if item.locator("details").first.get_attribute("open") is None:
        item.locator("summary").first.click()
    for label, value in fields.items():
        item.get_by_label(_named(label)).fill(value)
    for label, value in (choices or {}).items():
        item.get_by_label(_named(label)).select_option(label=value)
    for label in ticks:
        item.get_by_label(_named(label)).check()
    item.get_by_role("button", name=f"保存第 {number} 步").click()


def test_ten_quality_complaints_to_the_six_step_case_and_the_return_visit(drill: Drill) -> None:
    duty = drill.person("liuyang", "刘洋", "duty_manager", on_duty=True)
    agent = drill.person("zhoumin", "周敏", "agent")
    admin = drill.person("wangzhu", "王主管", "admin")

    # Out of the box, ten quality complaints about one product in a local day raise a P2 incident.
    rules = drill.api(admin, "GET", "/complaint-rules").json()["rules"]
    assert [(r["category"], r["threshold"], r["severity"], r["enabled"]) for r in rules] == [
        ("quality", 10, "P2", True)], rules

    # 1. Nine complaints come in at the hotline over the morning: nothing is raised yet.
    for text in COMPLAINTS[:9]:
        drill.clock.advance(minutes=7)
        logged = drill.api(agent, "POST", "/complaints", json={
            "product": PRODUCT, "category": "quality", "channel": "hotline", "text": text})
        assert logged.status_code == 201 and logged.json()["raised"] is False, logged.text
    assert drill.incident_count() == 0
    audiences.team_channel(drill, expect=[])
    audiences.bell(drill, duty, expect=[])
    _nobody_outside_hears(drill)

    # 2. The tenth: a P2 complaint incident opens by itself; the team and the duty manager hear of it.
    drill.clock.advance(minutes=7)
    tenth = drill.api(agent, "POST", "/complaints", json={
        "product": PRODUCT, "category": "quality", "channel": "online_chat", "text": COMPLAINTS[9],
        "order_no": "DD20261207001"})
    assert tenth.status_code == 201 and tenth.json()["raised"] is True, tenth.text
    incident = drill.incident()
    ref = incident.reference
    assert (incident.kind.value, incident.severity.value) == ("complaint", "P2")
    audiences.team_channel(drill, expect=["【客诉激增】"])
    audiences.bell(drill, duty, expect=["【客诉激增】"])
    _nobody_outside_hears(drill)

    # 3. Ten minutes later 刘洋 calls the customer back, then works the case: prejudge, facts, responsibility.
    drill.clock.advance(minutes=10)
    page = drill.browser_for(duty)
    page.goto(f"{drill.url}/incidents/{ref}")
    page.locator("#checklist").get_by_role("button", name="主管回电客户：先共情，复述诉求").click()
    expect(page.locator("#checklist .progress")).to_have_text("1/5")
    case = page.locator("#incident-case")
    _save_step(case, "prejudge", 1, {"客户真实诉求": "确认孩子喝了是否有影响，要一个说法"}, choices={"类别": "产品质量"})
    expect(case.locator(".progress")).to_have_text("1/6")
    _save_step(case, "facts", 2, {"时间": "12月6日至7日开罐", "人物": "十位客户，同一批次", "对客户的影响": "不敢再给孩子喝",
                                  "诉求": "退款并检测", "内部记录显示": "批次 B2611 出厂检测合格，仓库湿度记录异常"})
    expect(case.locator(".progress")).to_have_text("2/6")
    _save_step(case, "responsibility", 3, {"理由": "仓库除湿设备故障，批次受潮"}, choices={"责任方": "我方公司"})
    expect(case.locator(".progress")).to_have_text("3/6")
    audiences.team_channel(drill, expect=[])
    audiences.bell(drill, duty, expect=[])

    # 4. Step 4, the plan on record, is the first plan to the customer: its deadline is met.
    drill.clock.advance(minutes=20)
    by_when = (drill.clock() + timedelta(days=1)).astimezone(ZONE).strftime("%Y-%m-%dT10:00")
    _save_step(case, "plan", 4, {"处理方案": "同批次全额退款，赠送新品一罐并送检", "执行人": "客服主管周敏",
                                 "完成时间": by_when})
    expect(case.locator(".progress")).to_have_text("4/6")
    assert drill.deadline(ref, "first_plan")["state"] == "met"
    audiences.team_channel(drill, expect=[])
    _nobody_outside_hears(drill)

    # 5. The refunds are paid by the afternoon: 刘洋 marks it resolved. No public face, no notice.
    drill.clock.advance(hours=3)
    header = page.locator("#incident-header")
    header.get_by_role("button", name="标记解决").click()
    expect(header.get_by_label("状态")).to_have_text("已解决")
    _nobody_outside_hears(drill)

    # 6. The next morning the return visit falls due soon: the team channel and the bell say so.
    drill.clock.advance(hours=23, minutes=5)
    audiences.team_channel(drill, expect=["【即将到期】"])
    audiences.bell(drill, duty, expect=["【即将到期】"])

    # 7. The return visit: the customer confirms the refund arrived (step 5); the visit is met.
    page.goto(f"{drill.url}/incidents/{ref}")
    case = page.locator("#incident-case")
    _save_step(case, "execute", 5, {"与客户沟通的内容": "退款已到账，新品已寄出，检测结果出来后再告知",
                                    "确认方式": "电话回访，客户口头确认"}, ticks=("客户已确认",))
    expect(case.locator(".progress")).to_have_text("5/6")
    assert drill.deadline(ref, "return_visit")["state"] == "met"
    _save_step(case, "review", 6, {"经验教训": "仓库湿度告警要接入值班群；同批次投诉达到 3 起即提前排查"})
    expect(case.locator(".progress")).to_have_text("6/6")
    drill.clock.advance(hours=2)
    audiences.team_channel(drill, expect=[])
    audiences.bell(drill, duty, expect=[])
    _nobody_outside_hears(drill)
