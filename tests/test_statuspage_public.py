"""The public status page, its feeds and the Statuspage v2 API, as readers and consumers see them."""

from __future__ import annotations

import gzip
from datetime import timedelta
from zoneinfo import ZoneInfo

import feedparser
import pytest

from console import create_app
from incidents import components, maintenance, service
from incidents.actors import Actor
from incidents.models import Role
from incidents.publicity import PUBLIC_CHANGE_FLAG
from incidents.timeutil import utcnow
from incidents.updates import publish_update, set_public_identity
from tests.conftest import FIXED_NOW, sign_in

ACTOR = Actor.system("test")
SHANGHAI = ZoneInfo("Asia/Shanghai")
HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>&amp;'
INTERNAL = "内部标题-库存服务OOM-请勿外传"
NOTE = "内部备注-客户名单泄露风险"
PUBLIC_PATHS = ["/status", "/status?lang=en", "/status/history", "/history.atom", "/history.rss",
                "/api/v2/summary.json", "/api/v2/incidents.json", "/api/v2/components.json",
                "/api/v2/scheduled-maintenances.json", "/api/v2/incidents/unresolved.json"]


def _db(app):  # noqa: ANN001, ANN202
    return app.extensions["db_sessionmaker"]()


def _publish(app, reference: str, body: str, **kwargs) -> None:  # noqa: ANN001
    with _db(app) as session:
        incident = service.get_incident(session, reference)
        publish_update(session, incident=incident, body=body, actor=ACTOR, now=utcnow(), zone=SHANGHAI, **kwargs)
        session.commit()


@pytest.fixture()
def page(app):  # noqa: ANN001, ANN201
    """A page with a grouped and an ungrouped component, one public incident, one internal-only
    incident and an upcoming maintenance window; returns the references."""
    now = utcnow()
    with _db(app) as session:
        group = components.save_group(session, data={"name": "交易", "name_en": "Trading"}, actor=ACTOR, now=now)
        order = components.save_component(session, data={"name": "下单", "name_en": "Ordering",
                                                          "group_id": group.id}, actor=ACTOR, now=now)
        hotline = components.save_component(session, data={"name": "客服热线", "name_en": "Hotline",
                                                            "description": "400 电话"}, actor=ACTOR, now=now)
        public = service.open_incident(session, kind="outage", severity="P1", title=INTERNAL, actor=ACTOR,
                                       now=now, zone=SHANGHAI)
        set_public_identity(session, incident=public, public_title="下单缓慢", public_title_en="Slow ordering",
                            actor=ACTOR, now=now)
        service.add_note(session, incident=public, body=NOTE, actor=ACTOR, now=now)
        hidden = service.open_incident(session, kind="outage", severity="P1", title=INTERNAL + "2", actor=ACTOR,
                                       now=now, zone=SHANGHAI)
        set_public_identity(session, incident=hidden, public_title="隐藏事件标题", internal_only=True,
                            actor=ACTOR, now=now)
        maintenance.schedule_maintenance(session, data={
            "title": "热线系统升级", "title_en": "Hotline upgrade", "scheduled_start": now + timedelta(days=1),
            "scheduled_end": now + timedelta(days=1, hours=2), "components": [hotline.id]}, actor=ACTOR, now=now)
        session.commit()
        refs = {"public": public.reference, "hidden": hidden.reference, "order": order.id, "hotline": hotline.id}
    _publish(app, refs["public"], "我们正在排查下单缓慢的问题", body_en="We are looking into slow ordering",
             components={refs["order"]: "partial_outage"})
    _publish(app, refs["hidden"], "隐藏事件的更新内容", components={refs["hotline"]: "major_outage"})
    return refs


def test_the_page_in_chinese_by_default_and_english_on_request(client, page) -> None:  # noqa: ANN001
    zh = client.get("/status")
    assert zh.status_code == 200 and 'lang="zh-CN"' in zh.text
    for text in ("下单缓慢", "我们正在排查下单缓慢的问题", "部分中断", "交易", "客服热线", "热线系统升级", "部分服务暂时不可用"):
        assert text in zh.text, text
    en = client.get("/status?lang=en")
    for text in ("Slow ordering", "We are looking into slow ordering", "Partial outage", "Trading",
                 "Hotline upgrade", "Some services are partly unavailable"):
        assert text in en.text, text
    client.set_cookie("crisis_lang", "en")
    assert "Slow ordering" in client.get("/status").text
    assert "<script" not in zh.text and "<script" not in en.text  # the page needs no JavaScript


def test_only_published_things_appear(client, page) -> None:  # noqa: ANN001
    ref = page["public"]
    paths = [*PUBLIC_PATHS, f"/status/incidents/{ref}", f"/status/incidents/{ref}.atom"]
    for path in paths:
        body = client.get(path).get_data(as_text=True)
        for secret in (INTERNAL, NOTE, "隐藏事件标题", "隐藏事件的更新内容", page["hidden"]):
            assert secret not in body, (path, secret)
    # The internal-only incident's component claim is not public either.
    hotline = client.get("/api/v2/components.json").json["components"]
    assert next(c for c in hotline if c["id"] == str(page["hotline"]))["status"] == "operational"
    assert client.get(f"/status/incidents/{page['hidden']}").status_code == 404
    assert client.get(f"/status/incidents/{page['hidden']}.atom").status_code == 404
    missing = client.get("/status/incidents/INC-20000101-0001")
    assert missing.status_code == 404 and "/login" not in missing.text


def test_hostile_text_is_escaped_everywhere(app, client, page) -> None:  # noqa: ANN001
    now = utcnow()
    with _db(app) as session:
        group = components.save_group(session, data={"name": HOSTILE}, actor=ACTOR, now=now)
        evil = components.save_component(session, data={"name": HOSTILE, "name_en": HOSTILE, "description": HOSTILE,
                                                         "group_id": group.id}, actor=ACTOR, now=now)
        incident = service.get_incident(session, page["public"])
        set_public_identity(session, incident=incident, public_title=HOSTILE, public_title_en=HOSTILE,
                            actor=ACTOR, now=now)
        maintenance.schedule_maintenance(session, data={
            "title": HOSTILE, "title_en": HOSTILE, "body": HOSTILE, "body_en": HOSTILE,
            "scheduled_start": now + timedelta(hours=1), "scheduled_end": now + timedelta(hours=2),
            "components": [evil.id]}, actor=ACTOR, now=now)
        session.commit()
        evil_id = evil.id
    _publish(app, page["public"], HOSTILE + "\x01\x08", body_en=HOSTILE, components={evil_id: "major_outage"})
    for path in [*PUBLIC_PATHS, f"/status/incidents/{page['public']}", f"/status/incidents/{page['public']}.atom"]:
        response = client.get(path)
        assert response.status_code == 200, path
        text = response.get_data(as_text=True)
        assert "<script>" not in text and "<img" not in text, path
        if path.endswith(".json"):
            assert any(HOSTILE in value for value in _strings(response.json)), path  # same text, decoded
        elif "atom" in path or "rss" in path:
            assert feedparser.parse(response.data).bozo == 0, path
        elif path != "/status/history":  # nothing resolved yet: the history has no text to show
            assert "&lt;script&gt;alert(" in text, path


def _strings(value):  # noqa: ANN001, ANN202
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def test_feeds_are_valid_and_carry_the_updates(client, page) -> None:  # noqa: ANN001
    atom = feedparser.parse(client.get("/history.atom").data)
    assert atom.bozo == 0 and atom.version == "atom10"
    titles = [e.title for e in atom.entries]
    assert "下单缓慢" in titles and "热线系统升级" in titles and "隐藏事件标题" not in titles
    incident_entry = next(e for e in atom.entries if e.title == "下单缓慢")
    assert "我们正在排查下单缓慢的问题" in incident_entry.content[0].value
    rss = feedparser.parse(client.get("/history.rss?lang=en").data)
    assert rss.bozo == 0 and rss.version == "rss20"
    assert "Slow ordering" in [e.title for e in rss.entries]
    single = client.get(f"/status/incidents/{page['public']}.atom")
    assert single.mimetype == "application/atom+xml"
    parsed = feedparser.parse(single.data)
    assert parsed.bozo == 0 and len(parsed.entries) == 1


def test_conditional_answers_and_publishing_invalidates(app, client, page) -> None:  # noqa: ANN001
    for path in ("/status", "/api/v2/summary.json", "/history.atom", f"/status/incidents/{page['public']}"):
        first = client.get(path)
        etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
        assert client.get(path, headers={"If-None-Match": etag}).status_code == 304, path
        assert client.get(path, headers={"If-Modified-Since": modified}).status_code == 304, path
    before = client.get("/status")
    _publish(app, page["public"], "已定位原因，正在修复", public_status="identified")
    after = client.get("/status", headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200 and "已定位原因，正在修复" in after.text
    assert after.headers["ETag"] != before.headers["ETag"]
    assert client.get("/status?lang=en", headers={"If-None-Match": before.headers["ETag"]}).status_code == 200


def test_statuspage_v2_shapes(client, page) -> None:  # noqa: ANN001
    summary = client.get("/api/v2/summary.json")
    assert summary.headers["Access-Control-Allow-Origin"] == "*"
    body = summary.json
    assert set(body) == {"page", "components", "incidents", "scheduled_maintenances", "status"}
    assert set(body["page"]) >= {"id", "name", "url", "time_zone", "updated_at"}
    # The component said partial outage: that, not the internal severity (P1), sets the impact.
    assert body["status"] == {"indicator": "major", "description": "Partial System Outage"}
    component = next(c for c in body["components"] if c["id"] == str(page["order"]))
    assert component["status"] == "partial_outage" and component["group"] is False
    assert set(component) >= {"id", "name", "status", "created_at", "updated_at", "position", "description",
                              "showcase", "start_date", "group_id", "page_id", "group", "only_show_if_degraded"}
    group = next(c for c in body["components"] if c["group"])
    assert group["components"] == [str(page["order"])] and component["group_id"] == group["id"]
    (incident,) = body["incidents"]
    assert incident["id"] == page["public"] and incident["name"] == "下单缓慢"
    assert incident["status"] == "investigating" and incident["impact"] == "major"
    assert set(incident) >= {"id", "name", "status", "created_at", "updated_at", "monitoring_at", "resolved_at",
                             "impact", "shortlink", "started_at", "page_id", "incident_updates", "components"}
    (update,) = incident["incident_updates"]
    assert set(update) >= {"id", "status", "body", "incident_id", "created_at", "updated_at", "display_at",
                           "affected_components"}
    assert isinstance(update["id"], str) and update["status"] == "investigating"
    assert update["affected_components"][0] == {"code": str(page["order"]), "name": "下单",
                                                "old_status": "operational", "new_status": "partial_outage"}
    (window,) = body["scheduled_maintenances"]
    assert window["status"] == "scheduled" and window["impact"] == "maintenance"
    assert window["scheduled_for"] and window["scheduled_until"] and window["components"][0]["name"] == "客服热线"
    english = client.get("/api/v2/incidents/unresolved.json?lang=en").json
    assert english["incidents"][0]["name"] == "Slow ordering"
    assert client.get("/api/v2/status.json").json["status"]["indicator"] == "major"
    assert client.get("/api/v2/scheduled-maintenances/upcoming.json").json["scheduled_maintenances"]
    assert client.get("/api/v2/scheduled-maintenances/active.json").json["scheduled_maintenances"] == []


def test_resolved_incidents_move_to_the_history(app, client, page) -> None:  # noqa: ANN001
    _publish(app, page["public"], "已全部恢复", body_en="All recovered", public_status="resolved")
    status = client.get("/api/v2/status.json").json["status"]
    assert status == {"indicator": "none", "description": "All Systems Operational"}
    assert client.get("/api/v2/incidents/unresolved.json").json["incidents"] == []
    incidents = client.get("/api/v2/incidents.json").json["incidents"]
    assert incidents[0]["status"] == "resolved" and incidents[0]["resolved_at"]
    history = client.get("/status/history")
    assert "下单缓慢" in history.text and "已全部恢复" in history.text
    assert client.get("/status/history?page=2").status_code == 404
    assert "所有服务运行正常" in client.get("/status").text


def test_readers_with_gzip_get_the_same_page_compressed(client, page) -> None:  # noqa: ANN001
    plain = client.get("/status")
    packed = client.get("/status", headers={"Accept-Encoding": "gzip, br"})
    assert packed.headers["Content-Encoding"] == "gzip" and "Accept-Encoding" in packed.headers["Vary"]
    assert gzip.decompress(packed.data) == plain.data
    assert packed.headers["ETag"] != plain.headers["ETag"]
    # A validator of one encoding never answers for the other.
    assert client.get("/status", headers={"If-None-Match": packed.headers["ETag"]}).status_code == 200
    again = client.get("/status", headers={"Accept-Encoding": "gzip", "If-None-Match": packed.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
    head = client.head("/status")
    assert head.status_code == 200 and head.data == b""


def test_signed_in_readers_see_the_page_in_their_language(client, make_user, page) -> None:  # noqa: ANN001
    assert "下单缓慢" in client.get("/status").text  # stored for anonymous Chinese readers
    sign_in(client, make_user(Role.VIEWER, locale="en"))
    assert "Slow ordering" in client.get("/status").text


@pytest.mark.parametrize("check_seconds", [0, 3600])
def test_a_publish_elsewhere_is_seen_through_the_database_version(engine, database_url, page, app,  # noqa: ANN001
                                                                  check_seconds) -> None:
    # A second app on the same database stands for another web process with its own cache.
    other = create_app({"TESTING": True, "DATABASE_URL": database_url, "ENGINE": engine, "SECRET_KEY": "t",
                        "STATUS_CACHE_SECONDS": check_seconds})
    reader = other.test_client()
    assert "我们正在排查下单缓慢的问题" in reader.get("/status").text
    with _db(app) as session:
        incident = service.get_incident(session, page["public"])
        publish_update(session, incident=incident, body="另一个进程发布的进展", actor=ACTOR, now=utcnow(), zone=SHANGHAI)
        session.info.pop(PUBLIC_CHANGE_FLAG)  # as if committed by another process: no local signal
        session.commit()
    fresh = "另一个进程发布的进展" in reader.get("/status").text
    # Checking the version on every request sees it at once; a long interval keeps the stored page.
    assert fresh is (check_seconds == 0)


def _headline(client, path: str = "/status") -> str:  # noqa: ANN001
    """The page's one line, as a reader sees it at the top."""
    html = client.get(path).text
    return html.split("<h1>", 1)[1].split("</h1>", 1)[0].strip()


def test_the_headline_says_what_the_incident_says_now_not_its_worst(app, client) -> None:  # noqa: ANN001
    app.config["CLOCK"] = lambda: FIXED_NOW
    with _db(app) as session:
        payments = components.save_component(session, data={"name": "支付", "name_en": "Payments"}, actor=ACTOR,
                                              now=FIXED_NOW)
        incident = service.open_incident(session, kind="outage", severity="P1", title="支付网关超时", actor=ACTOR,
                                         now=FIXED_NOW, zone=SHANGHAI)
        set_public_identity(session, incident=incident, public_title="支付失败", actor=ACTOR, now=FIXED_NOW)
        publish_update(session, incident=incident, body="支付暂时无法完成，正在排查", components={payments.id: "major_outage"},
                       actor=ACTOR, now=FIXED_NOW, zone=SHANGHAI)
        session.commit()
        reference, payments_id = incident.reference, payments.id
    assert _headline(client) == "服务严重中断"  # now stored for every anonymous reader
    assert client.get("/api/v2/status.json").json["status"]["indicator"] == "critical"

    later = FIXED_NOW + timedelta(minutes=20)
    app.config["CLOCK"] = lambda: later
    with _db(app) as session:
        publish_update(session, incident=service.get_incident(session, reference), body="大部分支付已恢复，仍有少量变慢",
                       public_status="identified", components={payments_id: "degraded_performance"}, actor=ACTOR,
                       now=later, zone=SHANGHAI)
        session.commit()
    assert _headline(client) == "部分服务响应变慢"
    assert f'class="incident impact-minor" id="incident-{reference}"' in client.get("/status").text
    assert _headline(client, "/status?lang=en") == "Some services are running slowly"
    assert client.get("/api/v2/status.json").json["status"] == {"indicator": "minor",
                                                                "description": "Minor Service Outage"}
    summary = client.get("/api/v2/summary.json").json
    assert summary["status"]["indicator"] == "minor"
    # The incident itself still records how bad it was at its worst, as Statuspage's impact does.
    (ongoing,) = summary["incidents"]
    assert ongoing["impact"] == "critical" and ongoing["components"][0]["status"] == "degraded_performance"


def test_lowering_components_lowers_the_headline_at_once(app, client) -> None:  # noqa: ANN001
    app.config["CLOCK"] = lambda: FIXED_NOW
    with _db(app) as session:
        hotline = components.save_component(session, data={"name": "客服热线", "base_status": "major_outage"},
                                            actor=ACTOR, now=FIXED_NOW)
        session.commit()
        hotline_id = hotline.id
    assert _headline(client) == "服务严重中断"
    assert client.get("/api/v2/summary.json").json["status"]["indicator"] == "critical"
    with _db(app) as session:
        components.save_component(session, component=components.get_component(session, hotline_id),
                                  data={"name": "客服热线", "base_status": "degraded_performance"}, actor=ACTOR,
                                  now=FIXED_NOW + timedelta(minutes=5))
        session.commit()
    assert _headline(client) == "部分服务响应变慢"
    assert client.get("/api/v2/summary.json").json["status"]["indicator"] == "minor"
    assert client.get("/api/v2/status.json").json["status"]["indicator"] == "minor"
