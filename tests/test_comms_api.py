"""The comms desk through /api/v1: the library, previews and publishing, sign-off, talking points."""

from __future__ import annotations

import pytest

from incidents import components
from incidents.actors import Actor
from incidents.models import Role
from incidents.timeutil import utcnow

SYSTEM = Actor.system("test")


@pytest.fixture()
def order(app) -> int:  # noqa: ANN001
    with app.extensions["db_sessionmaker"]() as session:
        component = components.save_component(session, data={"name": "下单", "name_en": "Ordering"}, actor=SYSTEM,
                                              now=utcnow())
        session.commit()
        return component.id


def _incident(api) -> str:  # noqa: ANN001
    ref = api("POST", "/api/v1/incidents", json={"kind": "outage", "severity": "P1", "title": "支付失败"}).json["reference"]
    assert api("PUT", f"/api/v1/incidents/{ref}/public", json={"public_title": "部分用户支付失败"}).status_code == 200
    return ref


def test_the_library_and_its_versions(api_as) -> None:  # noqa: ANN001
    agent, writer = api_as(Role.AGENT), api_as(Role.COMMS)
    library = agent("GET", "/api/v1/scripts?kind=outage").json
    assert {s["purpose"] for s in library["scripts"]} >= {"first_notice", "progress", "holding", "reply_to_poster"}
    assert {v["name"] for v in library["variables"]} >= {"eta", "progress", "next_update_at", "components", "compensation"}
    assert agent("GET", "/api/v1/scripts?kind=meteor").status_code == 422
    assert agent("PUT", "/api/v1/scripts/outage/progress", json={"zh": "x"}).status_code == 403
    bad = writer("PUT", "/api/v1/scripts/outage/progress", json={"zh": "进展 {progres}"})
    assert bad.status_code == 422 and bad.json["error"]["field"] == "zh"
    assert writer("PUT", "/api/v1/scripts/outage/progress", json={"zh": "x", "colour": "red"}).status_code == 400
    saved = writer("PUT", "/api/v1/scripts/outage/progress", json={"zh": "进展：{progress}", "public_status": "identified"})
    assert saved.status_code == 200 and saved.json["script"]["version"] == 1
    versions = agent("GET", "/api/v1/scripts/outage/progress").json["versions"]
    assert [v["version"] for v in versions] == [1, 0] and versions[1]["source"] == "defaults v1"
    assert agent("GET", "/api/v1/scripts/outage/gossip").status_code == 404


def test_preview_and_publish_from_a_script(api_as, order) -> None:  # noqa: ANN001
    api = api_as(Role.COMMS)
    ref = _incident(api)
    body = {"script": "outage.first_notice", "variables": {"eta": "15:30", "eta_en": "15:30"},
            "components": {str(order): "major_outage"}}
    preview = api("POST", f"/api/v1/incidents/{ref}/updates/preview", json=body)
    assert preview.status_code == 200 and preview.json["body"].startswith("我们发现下单出现异常")
    assert preview.json["body_en"].startswith("We are seeing problems with Ordering")
    assert preview.json["public_status"] == "investigating" and preview.json["needs_signoff"] is False
    empty = api("POST", f"/api/v1/incidents/{ref}/updates/preview", json={**body, "variables": {"eta": "15:30"}})
    assert empty.status_code == 422 and empty.json["error"]["field"] == "var_eta_en"
    unknown = api("POST", f"/api/v1/incidents/{ref}/updates", json={"body": "预计 {etaa} 恢复"})
    assert unknown.status_code == 422 and unknown.json["error"]["field"] == "zh"
    wrong_kind = api("POST", f"/api/v1/incidents/{ref}/updates", json={"script": "complaint.progress"})
    assert wrong_kind.status_code == 422 and wrong_kind.json["error"]["field"] == "script"
    assert api("POST", f"/api/v1/incidents/{ref}/updates", json={**body, "variables": ["eta"]}).status_code == 422
    published = api("POST", f"/api/v1/incidents/{ref}/updates", json=body)
    assert published.status_code == 201 and published.json["update"]["body"].startswith("我们发现下单出现异常")
    assert [d["rule"] for d in published.json["deadlines"]] == ["public_update"]
    summary = api("GET", "/api/v2/summary.json").json
    assert summary["incidents"][0]["incident_updates"][0]["body"].startswith("我们发现下单出现异常")


def test_signoff_through_the_api(api_as, app) -> None:  # noqa: ANN001
    admin, writer, duty = api_as(Role.ADMIN), api_as(Role.COMMS), api_as(Role.DUTY_MANAGER)
    assert admin("PUT", "/api/v1/comms/settings", json={"signoff": {"outage": ["P9"]}}).status_code == 422
    assert admin("PUT", "/api/v1/comms/settings", json={"signoff": {"outage": ["P1"]}, "signoff_minutes": 5}).json[
        "signoff_minutes"] == 5
    assert writer("GET", "/api/v1/comms/settings").status_code == 403
    ref = _incident(writer)
    sent = writer("POST", f"/api/v1/incidents/{ref}/updates", json={"body": "正在排查支付失败"})
    assert sent.status_code == 202 and sent.json["draft"]["state"] == "pending"
    draft = sent.json["draft"]["id"]
    assert "signoff" in [d["rule"] for d in sent.json["deadlines"]]
    assert writer("POST", f"/api/v1/incidents/{ref}/drafts/{draft}/approve").status_code == 403
    assert [d["id"] for d in duty("GET", f"/api/v1/incidents/{ref}/drafts?state=pending").json["drafts"]] == [draft]
    no_reason = duty("POST", f"/api/v1/incidents/{ref}/drafts/{draft}/reject", json={})
    assert no_reason.status_code == 422 and no_reason.json["error"]["field"] == "reason"
    approved = duty("POST", f"/api/v1/incidents/{ref}/drafts/{draft}/approve", json={"reason": "可以"})
    assert approved.status_code == 200 and approved.json["update"]["body"] == "正在排查支付失败"
    again = duty("POST", f"/api/v1/incidents/{ref}/drafts/{draft}/approve")
    assert again.status_code == 409 and again.json["error"]["state"] == "approved"
    assert duty("POST", f"/api/v1/incidents/{ref}/drafts/999/approve").status_code == 404
    # A duty manager's own update needs no one else.
    assert duty("POST", f"/api/v1/incidents/{ref}/updates", json={"body": "已定位原因"}).status_code == 201


def test_talking_points_through_the_api(client, make_token, make_user, api_as) -> None:  # noqa: ANN001
    writer = api_as(Role.COMMS)
    ref = _incident(writer)
    agent_user = make_user(Role.AGENT, "xiaowang")
    agent = make_token(Role.AGENT, user_id=agent_user.id)
    assert writer("POST", f"/api/v1/incidents/{ref}/talking-points", json={"body": ""}).status_code == 422
    created = writer("POST", f"/api/v1/incidents/{ref}/talking-points", json={"body": "订单不会丢失"})
    assert created.status_code == 201 and created.json["version"] == 1
    mine = client.get("/api/v1/talking-points", headers=agent).json["talking_points"]
    assert [(p["incident"], p["confirmed_at"]) for p in mine] == [(ref, None)]
    stale = client.post(f"/api/v1/incidents/{ref}/talking-points/confirm", json={"version": 2}, headers=agent)
    assert stale.status_code == 409 and stale.json["error"]["current"] == 1
    assert client.post(f"/api/v1/incidents/{ref}/talking-points/confirm", json={"version": "1"},
                       headers=agent).status_code == 422
    confirmed = client.post(f"/api/v1/incidents/{ref}/talking-points/confirm", json={"version": 1}, headers=agent)
    assert confirmed.status_code == 200 and confirmed.json["first_time"] is True
    shown = writer("GET", f"/api/v1/incidents/{ref}/talking-points").json
    assert shown["current"]["body"] == "订单不会丢失"
    assert [(r["username"], r["confirmed_at"] is not None) for r in shown["readers"]] == [("xiaowang", True)]
    assert client.post(f"/api/v1/incidents/{ref}/talking-points", json={"body": "x"}, headers=agent).status_code == 403
    nobody = make_token(Role.AGENT)
    assert client.post(f"/api/v1/incidents/{ref}/talking-points/confirm", json={"version": 1},
                       headers=nobody).status_code == 403
