"""The clock through /api/v1: what people do on the pages, scripts can do; errors are JSON."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from incidents import notify
from incidents.models import Deadline, Role, User
from incidents.timeutil import utcnow

ZONE = ZoneInfo("Asia/Shanghai")


@pytest.fixture()
def person(make_user):  # noqa: ANN001, ANN201
    return make_user(Role.DUTY_MANAGER, "zhangwei")


@pytest.fixture()
def api(client, make_token, person):  # noqa: ANN001, ANN201
    headers = make_token(Role.DUTY_MANAGER, user_id=person.id)

    def call(method: str, path: str, **kwargs):  # noqa: ANN202
        return client.open(path, method=method, headers={**headers, **kwargs.pop("headers", {})}, **kwargs)

    return call


def _incident(api, kind: str = "outage") -> str:  # noqa: ANN001
    """An incident with a public title (publishing needs one)."""
    ref = api("POST", "/api/v1/incidents", json={"kind": kind, "severity": "P1", "title": "支付失败"}).json["reference"]
    assert api("PUT", f"/api/v1/incidents/{ref}/public", json={"public_title": "部分用户支付失败"}).status_code == 200
    return ref


def test_deadlines_meet_by_publishing_and_list(api) -> None:  # noqa: ANN001
    ref = _incident(api)
    [first] = api("GET", f"/api/v1/incidents/{ref}/deadlines").json["deadlines"]
    assert first["rule"] == "first_notice" and first["state"] == "pending"
    assert first["name"] == {"zh": "首次公告", "en": "First public notice"}
    assert first["owner"] == {"role": "comms_lead", "person": None, "stand_in": False}
    published = api("POST", f"/api/v1/incidents/{ref}/updates", json={"body": "正在排查", "public_status": "investigating"})
    assert published.status_code == 201 and published.json["update"]["public_status"] == "investigating"
    assert [d["rule"] for d in published.json["deadlines"]] == ["public_update"]
    rows = api("GET", f"/api/v1/incidents/{ref}/deadlines").json["deadlines"]
    assert [(d["rule"], d["state"]) for d in rows] == [("public_update", "pending"), ("first_notice", "met")]
    assert rows[1]["late_seconds"] == 0 and rows[1]["met_by"]["kind"] == "public_update"
    assert [d["incident"] for d in api("GET", "/api/v1/deadlines").json["deadlines"]] == [ref]


def test_mark_met_waive_and_their_errors(api) -> None:  # noqa: ANN001
    ref = _incident(api)
    deadline_id = api("GET", f"/api/v1/incidents/{ref}/deadlines").json["deadlines"][0]["id"]
    base = f"/api/v1/incidents/{ref}/deadlines/{deadline_id}"
    missing = api("POST", f"{base}/waive", json={})
    assert missing.status_code == 422 and missing.json["error"]["field"] == "reason"
    assert api("POST", f"{base}/waive", json={"reason": 7}).json["error"]["field"] == "reason"
    assert api("POST", f"{base}/waive", json={"reason": "x", "colour": 1}).json["error"]["field"] == "colour"
    met = api("POST", f"{base}/met", json={"note": "电话通知了大客户"})
    assert met.status_code == 200 and met.json["state"] == "met"
    assert api("POST", f"{base}/met").json["error"]["message"] == "this deadline is already met"
    again = api("POST", f"{base}/waive", json={"reason": "x"})
    assert again.status_code == 422 and again.json["error"]["field"] == "deadline"
    assert api("POST", f"/api/v1/incidents/{ref}/deadlines/999999/met").status_code == 404


def test_pause_and_resume_a_complaint(api) -> None:  # noqa: ANN001
    outage = _incident(api)
    refused = api("POST", f"/api/v1/incidents/{outage}/clock/pause", json={"reason": "等客户"})
    assert refused.status_code == 422 and refused.json["error"]["field"] == "kind"
    ref = _incident(api, "complaint")
    paused = api("POST", f"/api/v1/incidents/{ref}/clock/pause", json={"reason": "等客户提供凭证"})
    assert paused.status_code == 200 and paused.json["paused_at"]
    assert all(d["paused"] for d in paused.json["deadlines"]) and len(paused.json["deadlines"]) == 3
    resumed = api("POST", f"/api/v1/incidents/{ref}/clock/resume")
    assert resumed.json["paused_at"] is None and not any(d["paused"] for d in resumed.json["deadlines"])
    assert api("POST", f"/api/v1/incidents/{ref}/clock/resume", json={}).json["error"]["field"] == "clock"


def test_checklist_read_and_tick(api) -> None:  # noqa: ANN001
    ref = _incident(api)
    steps = api("GET", f"/api/v1/incidents/{ref}/checklist").json["checklist"]
    assert [s["step"] for s in steps][:2] == ["banner", "agent_script"] and not any(s["done"] for s in steps)
    ticked = api("POST", f"/api/v1/incidents/{ref}/checklist/banner", json={"note": "官网已挂公告"})
    assert ticked.status_code == 201 and ticked.json["event"]["kind"] == "checklist_ticked"
    assert ticked.json["checklist"][0]["done"] and ticked.json["checklist"][0]["ticked_by"].startswith("api:")
    assert api("GET", f"/api/v1/incidents/{ref}/deadlines").json["deadlines"][0]["state"] == "met"
    unknown = api("POST", f"/api/v1/incidents/{ref}/checklist/dance")
    assert unknown.status_code == 422 and unknown.json["error"]["field"] == "step"


def test_publish_errors_are_json(api) -> None:  # noqa: ANN001
    ref = _incident(api)
    assert api("POST", f"/api/v1/incidents/{ref}/updates", json={}).json["error"]["field"] == "body"
    bad = api("POST", f"/api/v1/incidents/{ref}/updates", json={"body": "x", "public_status": "closed"})
    assert bad.status_code == 422 and bad.json["error"]["field"] == "public_status"
    assert api("POST", f"/api/v1/incidents/{ref}/updates", data="x").status_code == 400


def test_notifications_list_read_and_snooze(api, app, person) -> None:  # noqa: ANN001
    ref = _incident(api)
    with app.extensions["db_sessionmaker"]() as session:
        deadline = session.scalars(sa.select(Deadline)).one()
        rows = [notify.notify_people(session, [session.get(User, person.id)], kind=kind, incident=deadline.incident,
                                     deadline=deadline, now=utcnow(), zone=ZONE)[0] for kind in ("reminder", "overdue")]
        session.commit()
        first, second = (row.id for row in rows)
    listing = api("GET", "/api/v1/notifications").json
    assert listing["unread"] == 2 and listing["waiting"][0]["incident"] == ref
    assert api("POST", f"/api/v1/notifications/{first}/read").json["read_at"]
    bad = api("POST", f"/api/v1/notifications/{second}/snooze", json={"minutes": 10, "reason": "开会"})
    assert bad.status_code == 422 and bad.json["error"]["field"] == "minutes"
    assert api("POST", f"/api/v1/notifications/{second}/snooze", json={"minutes": 5}).json["error"]["field"] == "reason"
    snoozed = api("POST", f"/api/v1/notifications/{second}/snooze", json={"minutes": 30, "reason": "在处理别的事件"})
    assert snoozed.status_code == 200 and snoozed.json["snoozed_until"] and not snoozed.json["needs_you"]
    after = api("GET", "/api/v1/notifications").json
    assert after["unread"] == 0 and [n["id"] for n in after["snoozed"]] == [second]
    timeline = api("GET", f"/api/v1/incidents/{ref}").json["timeline"]
    assert timeline[0]["kind"] == "reminder_snoozed" and timeline[0]["body"] == "在处理别的事件"
    assert api("POST", "/api/v1/notifications/read-all").json == {"marked": 0}
    assert api("POST", "/api/v1/notifications/999999/read").status_code == 404


def test_mine_and_notifications_need_a_person(client, make_token) -> None:  # noqa: ANN001
    headers = make_token(Role.DUTY_MANAGER)  # a token for a script, not a person
    response = client.get("/api/v1/notifications", headers=headers)
    assert response.status_code == 403 and response.json["error"]["code"] == "no_person"
    assert client.get("/api/v1/deadlines?mine=1", headers=headers).json["error"]["code"] == "no_person"
    assert client.get("/api/v1/deadlines", headers=headers).json == {"deadlines": []}


def test_roles_through_the_api(client, make_token, api) -> None:  # noqa: ANN001
    ref = _incident(api)
    agent = make_token(Role.AGENT)
    assert client.post(f"/api/v1/incidents/{ref}/checklist/banner", headers=agent).status_code == 201
    assert client.post(f"/api/v1/incidents/{ref}/updates", json={"body": "x"}, headers=agent).status_code == 403
    comms = make_token(Role.COMMS)
    assert client.post(f"/api/v1/incidents/{ref}/updates", json={"body": "x"}, headers=comms).status_code == 201
    deadline_id = api("GET", f"/api/v1/incidents/{ref}/deadlines").json["deadlines"][0]["id"]
    waive = client.post(f"/api/v1/incidents/{ref}/deadlines/{deadline_id}/waive", json={"reason": "x"}, headers=comms)
    assert waive.status_code == 403
