"""Drill: a customer posts on Weibo that 鲜果多 ignored her refund and she is going to 12315.
The feed monitor raises a 舆情 incident, the comms desk's public statement waits for sign-off,
the duty manager approves it, the poster is reached privately (outreach logged), the matter is
resolved with its public notice, and the incident is closed after its 复盘.

At each step: what the public page and the v2 API say, what the mail and webhook subscribers
and the team channel received, and whose bell rang.
"""

from __future__ import annotations

from datetime import datetime
from email.utils import format_datetime
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.drills import audiences, people
from tests.drills.audiences import ALL_WELL, PARTLY_DOWN
from tests.drills.conftest import Drill
from tests.monitors.feedserver import running_feed_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PUBLIC_TITLE = "关于鲜果多退款处理迟缓的说明"
POST = "鲜果多退款拖了一个月，客服一直说在处理，我要投诉到12315"
POSTER = "爱吃水果的小王"


def _feed(post: str, author: str, at: datetime, number: int) -> bytes:
    """An RSSHub-like Weibo keyword feed with one post."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>微博关键词：鲜果多</title><link>https://s.weibo.com/</link>
<description>鲜果多 的微博搜索结果</description>
<item><title><![CDATA[{post}]]></title><description><![CDATA[{post}]]></description>
<pubDate>{format_datetime(at)}</pubDate><guid isPermaLink="false">https://weibo.com/3000000001/Xg{number:03d}</guid>
<link>https://weibo.com/3000000001/Xg{number:03d}</link><author><![CDATA[{author}]]></author></item>
</channel></rss>""".encode()


def test_a_weibo_flare_up_from_the_post_to_the_poster_reached_and_the_incident_closed(
    drill: Drill, tmp_path: Path,
) -> None:
    admin = drill.person("wangzhu", "王主管", "admin")
    duty = drill.person("liuyang", "刘洋", "duty_manager", on_duty=True)
    commander = drill.person("chenjing", "陈静", "duty_manager")
    comms = drill.person("lina", "李娜", "comms")
    # The team's settings: a P2 舆情 statement needs a duty manager's sign-off; Weibo is watched.
    assert drill.api(admin, "PUT", "/comms/settings", json={"signoff": {"public_opinion": ["P2"]}}).ok
    assert drill.api(admin, "POST", "/rules", json={
        "name": "鲜果多", "brand": "鲜果多", "critical_terms": ["12315", "媒体", "律师"], "severity": "P2",
        "instant": True}).status_code == 201

    with running_feed_server() as feeds:
        feed_url = feeds.set("/weibo", _feed("鲜果多的芒果今天特价", "路人甲", drill.clock(), 1))
        assert drill.api(admin, "POST", "/sources", json={"name": "微博搜索·鲜果多", "url": feed_url,
                                                           "interval_s": 60}).status_code == 201
        drill.clock.advance(minutes=1)
        drill.worker_runs()
        assert drill.incident_count() == 0  # a happy post raises nothing

        # 1. The angry post appears; the monitor raises a 舆情 incident by itself on its next poll.
        feeds.set("/weibo", _feed(POST, POSTER, drill.clock(), 2))
        drill.clock.advance(minutes=1)
        audiences.team_channel(drill, expect=["【舆情】"])
    incident = drill.incident()
    assert (incident.kind.value, incident.severity.value) == ("public_opinion", "P2")
    ref = incident.reference
    audiences.bell(drill, duty, expect=["【舆情】"])
    audiences.public(drill, headline=ALL_WELL, indicator="none")
    audiences.mail(drill, expect=[])
    audiences.webhook(drill, expect=[])

    # 2. The duty manager takes it: 陈静 commands, 李娜 speaks for the brand.
    assert drill.api(duty, "PATCH", f"/incidents/{ref}", json={
        "version": incident.version, "commander": "chenjing", "comms_lead": "lina"}).ok

    # 3. 李娜 drafts the first statement; it waits for sign-off, and the people who may give it hear so.
    page = drill.browser_for(comms)
    page.goto(f"{drill.url}/incidents/{ref}")
    assert drill.api(comms, "PUT", f"/incidents/{ref}/public", json={"public_title": PUBLIC_TITLE}).ok
    page.reload()
    people.compose(page, script="首次公告", button="提交签核", done=people.SENT_FOR_SIGNOFF)
    audiences.bell(drill, duty, expect=[ref])
    audiences.bell(drill, commander, expect=[ref])
    audiences.team_channel(drill, expect=[ref])
    audiences.public(drill, headline=ALL_WELL, indicator="none")
    audiences.mail(drill, expect=[])
    audiences.webhook(drill, expect=[])

    # 4. 刘洋 approves it on his screen: the statement is public at once.
    drill.clock.advance(minutes=1)
    approver = drill.browser_for(duty)
    approver.goto(f"{drill.url}/incidents/{ref}")
    approver.locator("#signoff").get_by_role("button", name="批准并发布").click()
    expect(approver.locator("#timeline")).to_contain_text("我们已关注到网上关于")
    audiences.public(drill, headline=PARTLY_DOWN, indicator="major", ongoing={PUBLIC_TITLE: "investigating"},
                     latest={PUBLIC_TITLE: "我们已关注到网上关于"})
    audiences.mail(drill, expect=[(f"【排查中】{PUBLIC_TITLE}", "我们已关注到网上关于")])
    audiences.webhook(drill, expect=[(f"【排查中】{PUBLIC_TITLE}", "我们已关注到网上关于")])
    audiences.team_channel(drill, expect=[])

    # 5. The poster is on the outreach list already (the monitor put her there). 李娜 reaches her
    # by Weibo private message and logs it: the 1-hour contact deadline is met.
    drill.clock.advance(minutes=20)
    page.goto(f"{drill.url}/incidents/{ref}")
    outreach = page.locator("#outreach")
    poster = outreach.locator("tbody tr").filter(has_text=POSTER)
    expect(poster).to_have_count(1)
    poster.get_by_role("button", name="已联系上").click()
    expect(outreach.locator(".outreach-counts dd.reached")).to_have_text("1")
    contact = drill.deadline(ref, "contact_poster")
    assert contact["state"] == "met", contact
    audiences.public(drill, headline=PARTLY_DOWN, indicator="major", ongoing={PUBLIC_TITLE: "investigating"})
    audiences.mail(drill, expect=[])
    audiences.webhook(drill, expect=[])
    audiences.team_channel(drill, expect=[])

    # 6. The refund went through and she is satisfied: 陈静 marks it resolved, and the composer
    # opens with the recovered statement; one click publishes it.
    drill.clock.advance(minutes=30)
    lead = drill.browser_for(commander)
    lead.goto(f"{drill.url}/incidents/{ref}")
    lead.locator("#incident-header").get_by_role("link", name="标记解决").click()
    expect(lead.locator("#update-form #update-body")).to_have_value(
        "关于“{title}”，我们已与当事用户沟通并妥善处理：{progress}。感谢大家的监督，我们会把改进落实到日常服务中。")
    people.fill(lead, variables={"progress": ("退款已于今日到账，用户表示认可", "the refund has been paid and she is satisfied")})
    lead.locator("#update-form").get_by_role("button", name="发布并标记解决").click()
    expect(lead.locator("#update-form .flash-done")).to_have_text("已发布，事件已标记解决。")
    expect(lead.locator("#incident-header").get_by_label("状态")).to_have_text("已解决")
    audiences.public(drill, headline=ALL_WELL, indicator="none", recently_resolved=(PUBLIC_TITLE,),
                     absent=(PUBLIC_TITLE,), in_feed={PUBLIC_TITLE: "退款已于今日到账"})
    audiences.mail(drill, expect=[(f"【已恢复】{PUBLIC_TITLE}", "退款已于今日到账")])
    audiences.webhook(drill, expect=[(f"【已恢复】{PUBLIC_TITLE}", "退款已于今日到账")])

    # 7. The 复盘, then the close: the public page does not move, no subscriber hears anything.
    drill.clock.advance(hours=2)
    people.complete_review_and_close(
        lead, drill.url, ref, summary="微博用户投诉退款超期，1 小时内私信联系，当日退款到账。",
        root_cause="退款审核积压，超时工单无人跟进。", responsibility="我方售后：退款时效监控缺失。")
    audiences.public(drill, headline=ALL_WELL, indicator="none", recently_resolved=(PUBLIC_TITLE,),
                     absent=(PUBLIC_TITLE,))
    audiences.mail(drill, expect=[])
    audiences.webhook(drill, expect=[])
