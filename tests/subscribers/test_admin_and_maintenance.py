"""Admins' subscribers through /api/v1 (robots delivered for real), and maintenance fanned out."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import sessionmaker

from console import subscriber_jobs
from incidents import maintenance
from incidents.models import Role
from incidents.timeutil import utcnow
from tests.channels.conftest import http_server, smtp_server  # noqa: F401 (fixtures)
from tests.subscribers.conftest import ACTOR, mail, plain_text


def test_admin_adds_robots_through_the_api_and_manages_them(sub_app, api_as, http_server, deliver, publish, component) -> None:  # noqa: ANN001, F811, E501
    admin = api_as(Role.ADMIN)
    pay = component("支付")
    robot = admin("POST", "/api/v1/subscribers", json={
        "kind": "wecom", "name": "客服值班群", "url": http_server.url("/cgi-bin/webhook/send?key=abc123"),
        "components": [pay]})
    assert robot.status_code == 201, robot.json
    body = robot.json
    assert (body["state"], body["address"], body["components"]) == ("active", http_server.url("/cgi-bin/webhook/send"),
                                                                     [pay])
    publish("支付失败率升高", components_status={pay: "major_outage"})
    assert deliver().delivered == 1
    assert http_server.last.args == {"key": "abc123"}
    assert "支付失败率升高" in http_server.last.json()["markdown"]["content"]

    shown = admin("GET", f"/api/v1/subscribers/{body['id']}").json
    assert [d["state"] for d in shown["deliveries"]] == ["delivered"]
    assert shown["deliveries"][0]["log"][0]["ok"] is True
    assert admin("POST", f"/api/v1/subscribers/{body['id']}/pause").json["state"] == "paused"
    again = admin("POST", f"/api/v1/subscribers/{body['id']}/pause")
    assert again.status_code == 422 and again.json["error"]["field"] == "state"
    assert admin("GET", "/api/v1/subscribers?state=paused").json["subscribers"][0]["id"] == body["id"]
    assert admin("POST", f"/api/v1/subscribers/{body['id']}/resume").json["state"] == "active"
    assert admin("DELETE", f"/api/v1/subscribers/{body['id']}").status_code == 204
    assert admin("GET", "/api/v1/subscribers").json["subscribers"] == []
    assert admin("GET", f"/api/v1/subscribers/{body['id']}").status_code == 404

    refused = admin("POST", "/api/v1/subscribers", json={"kind": "feishu", "url": "http://192.168.1.9/hook"})
    assert refused.status_code == 422 and refused.json["error"]["field"] == "url"
    assert admin("POST", "/api/v1/subscribers", json={"kind": "sms"}).json["error"]["field"] == "kind"
    assert api_as(Role.COMMS)("GET", "/api/v1/subscribers").status_code == 403


def test_maintenance_announcement_reminder_and_start_reach_mail_subscribers(sub_app, api_as, smtp_server, deliver, engine) -> None:  # noqa: ANN001, F811, E501
    api_as(Role.ADMIN)("POST", "/api/v1/subscribers", json={"kind": "email", "email": "ops@example.com"})
    sessions = sessionmaker(bind=engine, expire_on_commit=False)
    start = utcnow() + timedelta(minutes=50)
    with sessions() as session:
        maintenance.schedule_maintenance(session, data={
            "title": "支付系统升级", "body": "期间支付可能短暂失败", "scheduled_start": start,
            "scheduled_end": start + timedelta(hours=1)}, actor=ACTOR, now=utcnow())
        session.commit()
    assert subscriber_jobs.remind_maintenance(sessions) == 1
    assert subscriber_jobs.remind_maintenance(sessions) == 0  # once per window
    with sessions() as session:
        maintenance.advance_windows(session, now=start + timedelta(minutes=1))
        session.commit()
    assert deliver(now=start + timedelta(minutes=1)).delivered == 3
    subjects = [mail(e)["Subject"] for e in smtp_server.handler.envelopes]
    assert subjects == ["【计划维护】支付系统升级", "【维护即将开始】支付系统升级", "【维护进行中】支付系统升级"]
    announcement = plain_text(smtp_server.handler.envelopes[0])
    assert "期间支付可能短暂失败" in announcement
    local = start.astimezone(ZoneInfo("Asia/Shanghai"))
    assert f"维护时间：{local:%Y-%m-%d %H:%M} (UTC+08:00) 至 " in announcement
    footer = plain_text(smtp_server.handler.envelopes[0])  # in the subscriber's language (Chinese) only
    assert "退订: http://status.example.com/status/unsubscribe/" in footer and "Unsubscribe" not in footer


def test_the_jobs_register_on_a_scheduler(sub_app) -> None:  # noqa: ANN001
    added = []

    class Recorder:
        def add_job(self, func, *trigger, **options) -> None:  # noqa: ANN001, ANN002, ANN003
            added.append(options["id"])

    subscriber_jobs.register(Recorder(), sub_app.config, lambda: None)
    assert added == [subscriber_jobs.DELIVERY_JOB_ID, subscriber_jobs.REMINDER_JOB_ID, subscriber_jobs.EXPIRY_JOB_ID]
    assert subscriber_jobs.deliver_settings(sub_app.config)["mail"]["host"] == "127.0.0.1"
