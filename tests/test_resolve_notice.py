"""Resolving tells the public, through /api/v1 on both engines: the resolved notice goes out in
the same step, every public surface says resolved at once, and bad input changes nothing."""

from __future__ import annotations

from datetime import timedelta
from ipaddress import ip_network
from zoneinfo import ZoneInfo

import feedparser
import pytest
import sqlalchemy as sa

from incidents import resolution, service, subscribers
from incidents.actors import Actor
from incidents.errors import StaleVersion
from incidents.models import OutboxMessage, Role, StatusUpdate
from tests.conftest import FIXED_NOW

RECOVERED_ZH = "下单已恢复正常"
SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture()
def clock(app):  # noqa: ANN001, ANN201
    """The console's time, fixed at FIXED_NOW and moved on by the test (`clock.now`)."""

    class Clock:
        now = FIXED_NOW

    app.config["CLOCK"] = lambda: Clock.now
    return Clock


@pytest.fixture()
def api(api_as, clock):  # noqa: ANN001, ANN201
    return api_as(Role.DUTY_MANAGER)


@pytest.fixture()
def order(api_as, clock) -> int:  # noqa: ANN001
    made = api_as(Role.ADMIN)("POST", "/api/v1/components", json={"name": "下单", "name_en": "Ordering"})
    assert made.status_code == 201, made.json
    return made.json["id"]


def _open(api, *, public_title: str | None = "部分用户无法下单") -> str:  # noqa: ANN001
    ref = api("POST", "/api/v1/incidents", json={"kind": "outage", "severity": "P1", "title": "下单服务 502"}).json[
        "reference"]
    if public_title:
        assert api("PUT", f"/api/v1/incidents/{ref}/public", json={"public_title": public_title}).status_code == 200
    return ref


def _public(api, order) -> str:  # noqa: ANN001
    """An outage on the status page: titled, its first notice out, ordering down."""
    ref = _open(api)
    first = api("POST", f"/api/v1/incidents/{ref}/updates", json={
        "body": "我们正在排查下单失败的问题", "public_status": "investigating", "components": {str(order): "major_outage"}})
    assert first.status_code == 201, first.json
    return ref


def _updates(app, ref: str) -> list[StatusUpdate]:  # noqa: ANN001
    with app.extensions["db_sessionmaker"]() as session:
        return list(session.scalars(sa.select(StatusUpdate).join(StatusUpdate.incident)
                                    .where(StatusUpdate.incident.has(reference=ref)).order_by(StatusUpdate.id)))


def _resolve(api, ref: str, **body) -> object:  # noqa: ANN001, ANN003
    return api("POST", f"/api/v1/incidents/{ref}/transitions", json={"to": "resolved", **body})


def test_resolving_publishes_the_recovered_script_by_itself(app, api, order) -> None:  # noqa: ANN001
    ref = _public(api, order)
    resolved = _resolve(api, ref)
    assert resolved.status_code == 200, resolved.json
    assert resolved.json["status"] == "resolved"
    notice = resolved.json["public_update"]
    assert notice["public_status"] == "resolved" and notice["automatic"] is True
    assert notice["body"].startswith(RECOVERED_ZH)
    event = next(e for e in api("GET", f"/api/v1/incidents/{ref}").json["timeline"] if e["kind"] == "public_update")
    assert event["data"]["automatic"] is True and event["data"]["script"] == "outage.recovered"
    assert event["data"]["resolves"] is True


def test_a_given_notice_is_published_and_every_public_surface_says_resolved(app, api, order, client) -> None:  # noqa: ANN001
    ref = _public(api, order)
    with app.extensions["db_sessionmaker"]() as session:
        subscribers.add_subscriber(session, data={"kind": "webhook", "url": "http://127.0.0.1:9/status"},
                                   actor=Actor.system("test"), now=FIXED_NOW,
                                   allowed_networks=[ip_network("127.0.0.1/32")])
        session.commit()
    assert client.get("/api/v2/summary.json").json["incidents"][0]["status"] == "investigating"
    resolved = _resolve(api, ref, public_update={"body": "下单已恢复，感谢耐心等待。", "body_en": "Ordering works again."})
    assert resolved.status_code == 200, resolved.json
    assert resolved.json["public_update"]["automatic"] is False
    assert resolved.json["public_update"]["body"] == "下单已恢复，感谢耐心等待。"
    summary = client.get("/api/v2/summary.json").json
    assert summary["incidents"] == [] and summary["status"]["indicator"] == "none"
    assert next(c for c in summary["components"] if c["id"] == str(order))["status"] == "operational"
    assert client.get("/api/v2/incidents/unresolved.json").json["incidents"] == []
    history = client.get("/api/v2/incidents.json").json["incidents"]
    assert history[0]["status"] == "resolved"
    page = client.get("/status").text
    assert "h-incidents" not in page and "部分用户无法下单" in page.split('id="h-past"')[1]
    assert "下单已恢复，感谢耐心等待。" in client.get(f"/status/incidents/{ref}").text
    single = feedparser.parse(client.get(f"/status/incidents/{ref}.atom").data)
    assert "下单已恢复，感谢耐心等待。" in single.entries[0].content[0].value
    feed = feedparser.parse(client.get("/history.atom").data)
    assert any("下单已恢复，感谢耐心等待。" in e.content[0].value for e in feed.entries)
    with app.extensions["db_sessionmaker"]() as session:
        queued = list(session.scalars(sa.select(OutboxMessage).where(OutboxMessage.subscriber_id.is_not(None))
                                      .order_by(OutboxMessage.id)))
    assert queued and "resolved" in str(queued[-1].message) and "下单已恢复" in str(queued[-1].message)


def test_a_refused_notice_resolves_nothing(app, api, order) -> None:  # noqa: ANN001
    ref = _public(api, order)
    version = api("GET", f"/api/v1/incidents/{ref}").json["version"]
    cases = [
        ({"body": "  "}, "public_update.body"),
        ({"body": "已恢复", "public_status": "monitoring"}, "public_update.public_status"),
        ({"body": "已恢复，下次更新 {next_update_at}"}, "public_update.body"),
        ({"body": "已恢复", "colour": "green"}, "public_update.colour"),
        ({"body": "已恢复", "components": {str(order): "major_outage"}}, "public_update.components"),
        ("已恢复", "public_update"),
    ]
    for notice, field in cases:
        refused = _resolve(api, ref, public_update=notice)
        assert refused.status_code == 422, (notice, refused.json)
        assert refused.json["error"]["field"] == field, (notice, refused.json)
    after = api("GET", f"/api/v1/incidents/{ref}").json
    assert after["status"] == "investigating" and after["version"] == version
    assert len(_updates(app, ref)) == 1


def test_publishing_without_a_public_title_is_refused(app, api, order) -> None:  # noqa: ANN001
    ref = _open(api, public_title=None)
    refused = api("POST", f"/api/v1/incidents/{ref}/updates", json={"body": "我们正在排查"})
    assert refused.status_code == 422 and refused.json["error"]["field"] == "public_title"
    notice = _resolve(api, ref, public_update={"body": "已恢复"})
    assert notice.status_code == 422 and notice.json["error"]["field"] == "public_title"
    assert api("GET", f"/api/v1/incidents/{ref}").json["status"] == "investigating"
    assert _updates(app, ref) == []
    # Without a public face and without a notice, resolving says nothing in public.
    quiet = _resolve(api, ref)
    assert quiet.status_code == 200 and quiet.json["public_update"] is None


def test_a_repeated_resolve_publishes_once(app, api, order) -> None:  # noqa: ANN001
    ref = _public(api, order)
    first, again = _resolve(api, ref), _resolve(api, ref)
    assert first.status_code == again.status_code == 200
    assert again.json["status"] == "resolved" and again.json["public_update"] is None
    assert [u.public_status.value for u in _updates(app, ref)] == ["investigating", "resolved"]


def test_closing_changes_nothing_public(app, api, api_as, order, client, clock) -> None:  # noqa: ANN001
    ref = _public(api, order)
    assert _resolve(api, ref).status_code == 200
    deadlines = api("GET", f"/api/v1/incidents/{ref}/deadlines").json["deadlines"]
    assert not [d for d in deadlines if d["rule"] == "public_update" and d["state"] == "pending"]
    summary, history = client.get("/api/v2/summary.json").json, client.get("/api/v2/incidents.json").json
    clock.now = FIXED_NOW + timedelta(minutes=30)
    waived = api_as(Role.ADMIN)("POST", f"/api/v1/incidents/{ref}/review/waive", json={"reason": "演练"})
    assert waived.status_code == 200, waived.json
    closed = api("POST", f"/api/v1/incidents/{ref}/transitions", json={"to": "closed"})
    assert closed.status_code == 200, closed.json
    assert client.get("/api/v2/summary.json").json == summary
    assert client.get("/api/v2/incidents.json").json == history
    assert len(_updates(app, ref)) == 2


def test_reopening_publishes_nothing_and_puts_the_first_notice_back(app, api, order, clock) -> None:  # noqa: ANN001
    ref = _public(api, order)
    assert _resolve(api, ref).status_code == 200
    clock.now = FIXED_NOW + timedelta(minutes=20)
    reopened = api("POST", f"/api/v1/incidents/{ref}/transitions", json={"to": "investigating"})
    assert reopened.status_code == 200, reopened.json
    assert len(_updates(app, ref)) == 2
    deadlines = api("GET", f"/api/v1/incidents/{ref}/deadlines").json["deadlines"]
    first = [d for d in deadlines if d["rule"] == "first_notice" and d["state"] == "pending"]
    assert len(first) == 1 and first[0]["due_at"].startswith((clock.now + timedelta(minutes=5)).isoformat()[:16])


def test_a_recovered_script_the_system_cannot_fill_asks_for_the_notice(app, api) -> None:  # noqa: ANN001
    ref = api("POST", "/api/v1/incidents", json={"kind": "public_opinion", "severity": "P2", "title": "微博投诉发酵"}).json[
        "reference"]
    assert api("PUT", f"/api/v1/incidents/{ref}/public", json={"public_title": "奶粉结块反馈"}).status_code == 200
    assert api("POST", f"/api/v1/incidents/{ref}/updates", json={"body": "我们正在核实。"}).status_code == 201
    refused = _resolve(api, ref)  # its recovered script says what was done: {progress}, which only a person knows
    assert refused.status_code == 422 and refused.json["error"]["field"] == "public_update.var_progress"
    assert api("GET", f"/api/v1/incidents/{ref}").json["status"] == "investigating"
    given = _resolve(api, ref, public_update={"script": "public_opinion.recovered",
                                             "variables": {"progress": "已为用户退款", "progress_en": "refunded"}})
    assert given.status_code == 200, given.json
    assert "已为用户退款" in given.json["public_update"]["body"] and given.json["public_update"]["automatic"] is False


def test_two_resolves_racing_publish_once(app, api, order) -> None:  # noqa: ANN001
    """Two people (or a retried call) resolving at once: both read the incident open, one wins."""
    ref = _public(api, order)
    sessions = app.extensions["db_sessionmaker"]
    with sessions() as first, sessions() as second:
        mine, theirs = service.get_incident(first, ref), service.get_incident(second, ref)
        resolution.resolve_incident(first, incident=mine, public_update=None, may_approve=True,
                                    actor=Actor.system("test"), now=FIXED_NOW, zone=SHANGHAI)
        first.commit()
        with pytest.raises(StaleVersion):
            resolution.resolve_incident(second, incident=theirs, public_update=None, may_approve=True,
                                        actor=Actor.system("test"), now=FIXED_NOW, zone=SHANGHAI)
        second.rollback()
    assert [u.public_status.value for u in _updates(app, ref)] == ["investigating", "resolved"]


def test_a_retried_publish_publishes_once(app, api, order, clock) -> None:  # noqa: ANN001
    """A script retrying after a timeout (or a double click without JavaScript) sends the same
    update twice: the second answer is the first update, 200, and nothing more goes out."""
    ref = _public(api, order)
    body = {"body": "支付通道已切换，正在观察", "public_status": "monitoring", "components": {str(order): "degraded_performance"}}
    clock.now = FIXED_NOW + timedelta(minutes=3)
    first = api("POST", f"/api/v1/incidents/{ref}/updates", json=body)
    clock.now = FIXED_NOW + timedelta(minutes=3, seconds=20)
    again = api("POST", f"/api/v1/incidents/{ref}/updates", json=body)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json["update"]["id"] == first.json["update"]["id"]
    assert [u.public_status.value for u in _updates(app, ref)] == ["investigating", "monitoring"]
    # The same words later, or other words at once, are a new update.
    clock.now = FIXED_NOW + timedelta(minutes=6)
    assert api("POST", f"/api/v1/incidents/{ref}/updates", json=body).status_code == 201
    other = api("POST", f"/api/v1/incidents/{ref}/updates", json={**body, "body": "支付已基本恢复"})
    assert other.status_code == 201 and len(_updates(app, ref)) == 4
