"""Drill: the 客服工作台 goes down at night. Alertmanager raises it, the comms desk tells the public,
the service comes back, the duty manager resolves it, writes the 复盘 and closes it.

At each step: what the public page and the v2 API say, what the mail and webhook subscribers
and the team channel received, and what rang the duty manager's bell.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

from tests.drills import audiences, people
from tests.drills.audiences import ALL_WELL, OUTAGE, PARTLY_DOWN
from tests.drills.conftest import Drill
from tests.support.alertmanager import BINARY, running_alertmanager
from tests.worker_support import wait_for

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PUBLIC_TITLE = "客服工作台无法登录"
ALERT = {
    "labels": {"alertname": "客服工作台不可用", "severity": "critical", "service": "cs-desk"},
    "annotations": {"summary": "坐席登录接口连续 5 分钟返回 503"},
    "generatorURL": "http://127.0.0.1:9090/graph?g0.expr=up",
}


def test_an_alertmanager_outage_from_the_alert_to_the_closed_review(drill: Drill, tmp_path: Path) -> None:
    assert Path(BINARY).exists(), "install prometheus-alertmanager (Debian package)"
    duty = drill.person("liuyang", "刘洋", "duty_manager", on_duty=True)
    comms = drill.person("lina", "李娜", "comms")
    desk = drill.component("客服工作台", "Service desk")
    drill.component("支付", "Payments")

    # Before anything happens: all is well everywhere, and nobody was told anything.
    audiences.public(drill, headline=ALL_WELL, indicator="none")
    audiences.mail(drill, expect=[])
    audiences.webhook(drill, expect=[])
    audiences.team_channel(drill, expect=[])
    audiences.bell(drill, duty, expect=[])

    hook = f"{drill.url}/hooks/alertmanager"
    with running_alertmanager(tmp_path, hook, drill.system_token("agent", "alertmanager")) as alertmanager:
        # 1. The alert fires: an outage opens by itself. The team hears of it, the public not yet.
        started = datetime.now(UTC) - timedelta(minutes=5)
        firing = {**ALERT, "startsAt": started.isoformat()}
        assert requests.post(f"{alertmanager}/api/v2/alerts", json=[firing], timeout=5).status_code == 200
        wait_for(lambda: drill.incident_count() == 1, timeout=20, what="Alertmanager's webhook")
        incident = drill.incident()
        assert (incident.kind.value, incident.severity.value, incident.title) == ("outage", "P1", "客服工作台不可用")
        ref = incident.reference
        audiences.public(drill, headline=ALL_WELL, indicator="none")
        audiences.mail(drill, expect=[])
        audiences.webhook(drill, expect=[])
        audiences.team_channel(drill, expect=["客服工作台不可用"])
        audiences.bell(drill, duty, expect=["客服工作台不可用"])

        # 2. Three minutes on, nothing is public yet: the first notice is about to fall due.
        drill.clock.advance(minutes=3)
        audiences.team_channel(drill, expect=["【即将到期】"])
        audiences.bell(drill, duty, expect=["【即将到期】"])

        # 3. The comms desk publishes the first notice. A public update needs a public title:
        # without one the API answers at the field, and nothing is published.
        refused = drill.api(comms, "POST", f"/incidents/{ref}/updates", json={
            "script": "outage.first_notice", "components": {str(desk): "major_outage"},
            "variables": {"eta": "01:30", "eta_en": "01:30"}})
        assert refused.status_code == 422 and refused.json()["error"]["field"] == "public_title", refused.text
        assert drill.api(comms, "PUT", f"/incidents/{ref}/public",
                         json={"public_title": PUBLIC_TITLE, "public_title_en": "Agents cannot sign in"}).ok
        page = drill.browser_for(comms)
        page.goto(f"{drill.url}/incidents/{ref}")
        people.compose(page, script="首次公告", components={"客服工作台": "严重中断"},
                             variables={"eta": ("01:30", "01:30")})
        audiences.public(drill, headline=OUTAGE, indicator="critical", ongoing={PUBLIC_TITLE: "investigating"},
                         latest={PUBLIC_TITLE: "我们发现客服工作台出现异常"},
                         in_feed={PUBLIC_TITLE: "我们发现客服工作台出现异常"})
        audiences.mail(drill, expect=[(f"【排查中】{PUBLIC_TITLE}", "我们发现客服工作台出现异常")])
        audiences.webhook(drill, expect=[(f"【排查中】{PUBLIC_TITLE}", "我们发现客服工作台出现异常")])
        audiences.team_channel(drill, expect=[])
        audiences.bell(drill, duty, expect=[])

        # 4. Eight minutes later, progress: the cause is found, capacity is being added.
        drill.clock.advance(minutes=8)
        audiences.team_channel(drill, expect=["【即将到期】"])
        audiences.bell(drill, duty, expect=["【即将到期】"])  # he stands in for the comms lead
        people.compose(page, script="进展更新", components={"客服工作台": "部分中断"},
                             variables={"progress": ("已定位原因，正在扩容", "cause found, adding capacity"),
                                        "eta": ("01:30", "01:30")})
        audiences.public(drill, headline=PARTLY_DOWN, indicator="major",
                         ongoing={PUBLIC_TITLE: "identified"}, latest={PUBLIC_TITLE: "已定位原因，正在扩容"})
        audiences.mail(drill, expect=[(f"【已确认原因】{PUBLIC_TITLE}", "已定位原因，正在扩容")])
        audiences.webhook(drill, expect=[(f"【已确认原因】{PUBLIC_TITLE}", "已定位原因，正在扩容")])

        # 5. The service is back: Alertmanager says so, the console suggests resolving.
        ended = {**firing, "endsAt": (datetime.now(UTC) - timedelta(seconds=1)).isoformat()}
        assert requests.post(f"{alertmanager}/api/v2/alerts", json=[ended], timeout=5).status_code == 200
        wait_for(lambda: drill.timeline_has(ref, "alert_resolved"), timeout=20, what="the recovery")
    audiences.bell(drill, duty, expect=["【告警已全部恢复】"])
    audiences.public(drill, headline=PARTLY_DOWN, indicator="major", ongoing={PUBLIC_TITLE: "identified"})

    # 6. The duty manager resolves it from his script: the recovered notice goes out in the same step.
    drill.clock.advance(minutes=4)
    resolved = drill.api(duty, "POST", f"/incidents/{ref}/transitions", json={"to": "resolved"})
    assert resolved.status_code == 200, resolved.text
    audiences.public(drill, headline=ALL_WELL, indicator="none", recently_resolved=(PUBLIC_TITLE,),
                     absent=(PUBLIC_TITLE,), in_feed={PUBLIC_TITLE: "客服工作台已恢复正常"})
    audiences.mail(drill, expect=[(f"【已恢复】{PUBLIC_TITLE}", "客服工作台已恢复正常")])
    audiences.webhook(drill, expect=[(f"【已恢复】{PUBLIC_TITLE}", "客服工作台已恢复正常")])
    audiences.team_channel(drill, expect=[])
    audiences.bell(drill, duty, expect=[])

    # 7. Next morning, the 复盘 in the browser; then the incident is closed.
    drill.clock.advance(hours=8)
    people.complete_review_and_close(
        drill.browser_for(duty), drill.url, ref, summary="客服工作台登录接口 503 约 20 分钟，坐席无法接待。",
        root_cause="会话缓存节点内存耗尽，未设置自动扩容。", responsibility="我方运维：容量预案缺失。")

    # Closing changes nothing in public and tells no subscriber anything.
    audiences.public(drill, headline=ALL_WELL, indicator="none", recently_resolved=(PUBLIC_TITLE,),
                     absent=(PUBLIC_TITLE,))
    audiences.mail(drill, expect=[])
    audiences.webhook(drill, expect=[])
    audiences.bell(drill, duty, expect=[])
