"""Complaint intake and the surge rule: the threshold boundary, the local day, cool-down, rules, pages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from incidents import service
from incidents.actors import Actor
from incidents.intake_models import ComplaintReport
from incidents.models import AuditRecord, Incident, Notification, Role, TimelineEvent
from monitors import complaints
from tests.conftest import sign_in
from tests.support.snapshot import snapshot
from tests.support.reviews import waive_review

SHANGHAI = ZoneInfo("Asia/Shanghai")
DESK = Actor(label="api:service-desk")
# 10:00 in Shanghai on 2026-11-22.
MORNING = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)


def report(session, now: datetime, *, product: str = "智能手表 S3", category: str = "quality",  # noqa: ANN001
           channel: str = "hotline") -> complaints.ComplaintOutcome:
    outcome = complaints.record_complaint(
        session, product=product, category=category, channel=channel, text="表带断裂，要求退货",
        order_no="JD-20261122-001", actor=DESK, now=now, zone=SHANGHAI,
    )
    session.commit()
    return outcome


def rule(session, **values) -> None:  # noqa: ANN001, ANN003
    complaints.create_rule(session, values={"category": "quality", **values}, actor=Actor.system("test"),
                           now=MORNING)
    session.commit()


def incidents(session) -> list[Incident]:  # noqa: ANN001
    return list(session.scalars(sa.select(Incident).order_by(Incident.id)))


def test_the_tenth_complaint_of_the_day_raises_one_incident(db_session) -> None:  # noqa: ANN001
    rule(db_session)  # defaults: 10 a day, P2
    for minute in range(9):
        outcome = report(db_session, MORNING + timedelta(minutes=minute))
        assert not outcome.raised and outcome.incident is None
    assert outcome.count == 9 and incidents(db_session) == []
    tenth = report(db_session, MORNING + timedelta(minutes=9))
    assert tenth.raised and tenth.count == 10
    (incident,) = incidents(db_session)
    assert (incident.kind.value, incident.source.value, incident.severity.value) == ("complaint", "monitor", "P2")
    assert "智能手表 S3" in incident.title and "10" in incident.title
    attached = db_session.scalars(sa.select(ComplaintReport.incident_id)).all()
    assert attached == [incident.id] * 10  # the nine before it too
    surge = db_session.scalars(sa.select(TimelineEvent).where(TimelineEvent.kind == "complaint_surge")).one()
    assert surge.data["count"] == 10 and surge.data["threshold"] == 10 and len(surge.data["reports"]) == 10

    eleventh = report(db_session, MORNING + timedelta(minutes=10))
    assert not eleventh.raised and eleventh.incident.id == incident.id
    assert len(incidents(db_session)) == 1
    received = db_session.scalars(sa.select(TimelineEvent).where(TimelineEvent.kind == "complaint_received")).one()
    assert received.data["report"] == eleventh.report.id and received.body == "表带断裂，要求退货"


def test_the_count_is_per_local_day(db_session) -> None:  # noqa: ANN001
    rule(db_session, threshold=2)
    # 23:59 and 00:00 in Shanghai are two days, though both are 2026-11-22 in UTC.
    late = datetime(2026, 11, 22, 15, 59, tzinfo=UTC)
    assert complaints.local_day(late, SHANGHAI).isoformat() == "2026-11-22"
    assert not report(db_session, late).raised
    midnight = late + timedelta(minutes=1)
    assert complaints.local_day(midnight, SHANGHAI).isoformat() == "2026-11-23"
    assert not report(db_session, midnight).raised
    assert report(db_session, midnight + timedelta(hours=23, minutes=59)).raised


def test_products_and_categories_count_apart(db_session) -> None:  # noqa: ANN001
    rule(db_session, threshold=2)  # any product
    report(db_session, MORNING, product="A")
    report(db_session, MORNING, product="B")
    report(db_session, MORNING, product="A", category="logistics")
    assert incidents(db_session) == []
    assert report(db_session, MORNING, product="Ａ").raised  # full-width Ａ is the same product


def test_a_rule_naming_the_product_wins_over_any_product(db_session) -> None:  # noqa: ANN001
    rule(db_session, threshold=2)
    rule(db_session, product="旗舰机", threshold=3, severity="P1")
    report(db_session, MORNING, product="旗舰机")
    assert not report(db_session, MORNING, product="旗舰机").raised
    outcome = report(db_session, MORNING, product="旗舰机")
    assert outcome.raised and outcome.incident.severity.value == "P1"


def test_disabled_rules_and_categories_without_rules_never_raise(db_session) -> None:  # noqa: ANN001
    rule(db_session, threshold=1, enabled=False)
    assert not report(db_session, MORNING).raised
    assert not report(db_session, MORNING, category="logistics").raised
    assert incidents(db_session) == []


def test_a_fresh_install_raises_one_p2_on_ten_quality_complaints_about_one_product(fresh_database) -> None:  # noqa: ANN001
    with sa.orm.Session(fresh_database, expire_on_commit=False) as session:
        (shipped,) = complaints.list_rules(session)
        assert (shipped.product, shipped.category, shipped.threshold, shipped.severity.value, shipped.enabled) == (
            "", "quality", 10, "P2", True)
        # Nine in the evening and one after local midnight are two days, neither reaching ten.
        evening = datetime(2026, 11, 22, 15, 0, tzinfo=UTC)  # 23:00 in Shanghai
        for minute in range(9):
            report(session, evening + timedelta(minutes=minute))
            report(session, evening + timedelta(minutes=minute), product="蓝牙耳机 Pro")
            report(session, evening + timedelta(minutes=minute), category="logistics")
        next_morning = evening + timedelta(hours=10)
        assert not report(session, next_morning).raised
        assert incidents(session) == []
        for minute in range(1, 9):
            assert not report(session, next_morning + timedelta(minutes=minute)).raised
        tenth = report(session, next_morning + timedelta(minutes=9))
        assert tenth.raised and tenth.count == 10
        (incident,) = incidents(session)
        assert (incident.kind.value, incident.severity.value, incident.source.value) == ("complaint", "P2", "monitor")
        audit = session.scalars(sa.select(AuditRecord).where(AuditRecord.action == "surge_rule.created")).one()
        assert audit.target_id == str(shipped.id) and audit.after["threshold"] == 10


def test_a_fresh_install_s_rule_once_disabled_raises_nothing(fresh_database) -> None:  # noqa: ANN001
    with sa.orm.Session(fresh_database, expire_on_commit=False) as session:
        (shipped,) = complaints.list_rules(session)
        complaints.update_rule(session, rule_id=shipped.id, values={"enabled": False}, actor=Actor.system("test"),
                               now=MORNING)
        session.commit()
        for minute in range(12):
            assert not report(session, MORNING + timedelta(minutes=minute)).raised
        assert incidents(session) == []


def test_cool_down_after_the_incident_is_closed(db_session) -> None:  # noqa: ANN001
    rule(db_session, threshold=2, cooldown_minutes=120)
    report(db_session, MORNING)
    first = report(db_session, MORNING).incident
    waive_review(db_session, first, MORNING)
    for target in ("resolved", "closed"):
        service.transition_incident(db_session, incident=first, target=target, expected_version=None,
                                    actor=Actor.system("test"), now=MORNING, zone=SHANGHAI)
    db_session.commit()
    # Within the cool-down: logged, not attached to the closed incident, nothing raised.
    for minutes in (10, 20, 30):
        outcome = report(db_session, MORNING + timedelta(minutes=minutes))
        assert outcome.incident is None and not outcome.raised
    assert len(incidents(db_session)) == 1
    # After it, the complaints not yet attached to any incident count towards a new one.
    again = report(db_session, MORNING + timedelta(minutes=121))
    assert again.raised and again.count == 4
    assert len(incidents(db_session)) == 2


def test_an_open_surge_incident_keeps_collecting_the_next_days(db_session) -> None:  # noqa: ANN001
    rule(db_session, threshold=2, cooldown_minutes=0)
    report(db_session, MORNING)
    first = report(db_session, MORNING).incident
    next_day = report(db_session, MORNING + timedelta(days=1))
    assert next_day.incident.id == first.id and not next_day.raised


def test_duty_manager_is_told(db_session, make_user) -> None:  # noqa: ANN001
    manager = make_user(Role.DUTY_MANAGER, "duty", locale="zh_Hans_CN")
    rule(db_session, threshold=1)
    incident = report(db_session, MORNING).incident
    (told,) = db_session.scalars(sa.select(Notification)).all()
    assert told.user_id == manager.id and told.kind == "complaint_surge" and told.incident_id == incident.id
    assert told.title.startswith("【客诉激增】")


@pytest.fixture()
def desk(api_as):  # noqa: ANN001, ANN201
    """The service desk's integration: an agent's token."""
    return api_as(Role.AGENT)


GOOD = {"product": "智能手表 S3", "category": "quality", "channel": "online_chat", "text": "屏幕有划痕",
        "order_no": "TB-88123"}


def test_intake_through_the_api_raises_at_the_threshold(app, desk, api_as) -> None:  # noqa: ANN001
    admin = api_as(Role.ADMIN)
    created = admin("POST", "/api/v1/complaint-rules", json={"category": "quality", "threshold": 3})
    assert created.status_code == 201
    assert created.json == {**created.json, "product": "", "threshold": 3, "severity": "P2", "enabled": True,
                            "cooldown_minutes": 1440}
    answers = [desk("POST", "/api/v1/complaints", json=GOOD) for _ in range(4)]
    assert [a.status_code for a in answers] == [201] * 4
    assert [a.json["raised"] for a in answers] == [False, False, True, False]
    reference = answers[2].json["incident"]
    assert reference and answers[3].json["incident"] == reference and answers[0].json["incident"] is None
    listed = desk("GET", "/api/v1/complaints?category=quality&limit=2").json["complaints"]
    assert [c["id"] for c in listed] == [answers[3].json["id"], answers[2].json["id"]]
    assert listed[0]["incident"] == reference and listed[0]["reported_by"].startswith("api:")
    assert desk("GET", "/api/v1/complaints?category=logistics").json["complaints"] == []


@pytest.mark.parametrize(("change", "status", "field"), [
    ({"product": ""}, 422, "product"),
    ({"product": "x" * 101}, 422, "product"),
    ({"product": 7}, 422, "product"),
    ({"category": "weather"}, 422, "category"),
    ({"channel": "pigeon"}, 422, "channel"),
    ({"text": "   "}, 422, "text"),
    ({"text": "长" * 5001}, 422, "text"),
    ({"order_no": "<script>"}, 422, "order_no"),
    ({"order_no": "1" * 65}, 422, "order_no"),
    ({"customer": "王女士"}, 400, "customer"),
])
def test_bad_complaints_are_refused_at_the_field(app, desk, change, status, field) -> None:  # noqa: ANN001
    before = snapshot(app.extensions["db_engine"])
    response = desk("POST", "/api/v1/complaints", json={**GOOD, **change})
    assert response.status_code == status and response.json["error"]["field"] == field
    assert snapshot(app.extensions["db_engine"]) == before


def test_rules_through_the_api(app, api_as) -> None:  # noqa: ANN001
    admin = api_as(Role.ADMIN)
    rule_id = admin("POST", "/api/v1/complaint-rules", json={"category": "logistics", "product": "冰箱"}).json["id"]
    clash = admin("POST", "/api/v1/complaint-rules", json={"category": "logistics", "product": "冰箱"})
    assert clash.status_code == 422 and clash.json["error"]["field"] == "product"
    for body, field in (({"threshold": 0}, "threshold"), ({"cooldown_minutes": 99999}, "cooldown_minutes"),
                        ({"severity": "P7"}, "severity"), ({"enabled": "maybe"}, "enabled")):
        bad = admin("PATCH", f"/api/v1/complaint-rules/{rule_id}", json=body)
        assert bad.status_code == 422 and bad.json["error"]["field"] == field
    changed = admin("PATCH", f"/api/v1/complaint-rules/{rule_id}", json={"threshold": 5, "enabled": False})
    assert changed.json["threshold"] == 5 and changed.json["enabled"] is False
    assert admin("DELETE", f"/api/v1/complaint-rules/{rule_id}").status_code == 204
    assert admin("GET", "/api/v1/complaint-rules").json["rules"] == []
    assert admin("DELETE", f"/api/v1/complaint-rules/{rule_id}").status_code == 404


def test_rules_on_the_admin_page(app, client, make_user) -> None:  # noqa: ANN001
    sign_in(client, make_user(Role.ADMIN, "boss"))
    htmx = {"HX-Request": "true"}
    form = {"product": "", "category": "quality", "threshold": "10", "severity": "P2", "cooldown_minutes": "1440",
            "enabled": "on"}
    assert client.post("/settings/intake/rules", data=form).status_code == 303
    clash = client.post("/settings/intake/rules", data=form, headers=htmx)
    assert clash.status_code == 422 and "already exists" in clash.text and 'id="surge-rules"' in clash.text
    bad = client.post("/settings/intake/rules", data={**form, "category": "service", "threshold": "0"}, headers=htmx)
    assert bad.status_code == 422 and "from 1 to 10000" in bad.text
    with app.extensions["db_sessionmaker"]() as session:
        (only,) = complaints.list_rules(session)
    off = client.post(f"/settings/intake/rules/{only.id}", data={**form, "threshold": "12", "enabled": ""},
                      headers=htmx)
    assert off.status_code == 200 and 'value="12"' in off.text
    gone = client.post(f"/settings/intake/rules/{only.id}/delete", headers=htmx)
    assert gone.status_code == 200 and "No rules yet" in gone.text


def test_recent_complaints_page(app, client, desk, make_user) -> None:  # noqa: ANN001
    desk("POST", "/api/v1/complaints", json=GOOD)
    desk("POST", "/api/v1/complaints", json={**GOOD, "product": "扫地机器人", "category": "logistics",
                                             "text": "<b>快递三天没动</b>"})
    sign_in(client, make_user(Role.VIEWER, "watcher"))
    page = client.get("/complaints")
    assert page.status_code == 200
    assert "屏幕有划痕" in page.text and "&lt;b&gt;快递三天没动&lt;/b&gt;" in page.text
    assert "No surge rule" in page.text
    only = client.get("/complaints?category=logistics").text
    assert "扫地机器人" in only and "屏幕有划痕" not in only
