"""The audit log's records on the real databases: one stream for incident changes and everything else."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from incidents import accounts, maintenance, service
from incidents.actors import Actor
from incidents.audit import record_audit
from incidents.audit_queries import AuditFilter, all_matching, audit_page, check_filter
from incidents.errors import InvalidInput
from incidents.models import AuditRecord
from monitors import complaints
from tests.conftest import FIXED_NOW, PASSWORD

SHANGHAI = ZoneInfo("Asia/Shanghai")
DUTY = Actor(label="王芳", user_id=None, ip="10.1.2.3", request_id="req-duty-1")


def _records(session: sa.orm.Session) -> list[AuditRecord]:
    return list(session.scalars(sa.select(AuditRecord).order_by(AuditRecord.id)))


def _open(session: sa.orm.Session, actor: Actor = DUTY) -> object:
    return service.open_incident(session, kind="outage", severity="P2", title="支付失败", actor=actor,
                                 now=FIXED_NOW, zone=SHANGHAI)


def test_a_record_keeps_who_when_where_what_before_and_after(db_session) -> None:  # noqa: ANN001
    record_audit(db_session, actor=DUTY, action="setting.changed", target_type="setting", target_id="business_hours",
                 now=FIXED_NOW, before={"start": "09:00"}, after={"start": "08:30"})
    db_session.commit()
    [record] = _records(db_session)
    assert (record.actor_label, record.ip, record.request_id) == ("王芳", "10.1.2.3", "req-duty-1")
    assert record.at == FIXED_NOW
    assert (record.action, record.target_type, record.target_id) == ("setting.changed", "setting", "business_hours")
    assert (record.before, record.after) == ({"start": "09:00"}, {"start": "08:30"})


def test_incident_changes_reach_the_audit_log_through_the_timeline(db_session) -> None:  # noqa: ANN001
    incident = _open(db_session)
    later = FIXED_NOW + timedelta(minutes=4)
    service.edit_incident(db_session, incident=incident, changes={"severity": "P1", "title": "支付全部失败"},
                          expected_version=incident.version, actor=DUTY, now=later)
    service.transition_incident(db_session, incident=incident, target="identified", expected_version=incident.version,
                                actor=DUTY, now=later, zone=SHANGHAI, note="定位到网关")
    service.add_note(db_session, incident=incident, body="已通知客服组", actor=DUTY, now=later)
    db_session.commit()
    mine = [r for r in _records(db_session) if r.target_type == "incident"]
    actions = [r.action for r in mine]
    assert actions[:1] == ["incident.opened"]
    assert {"incident.field_changed", "incident.status_changed", "incident.note"} <= set(actions)
    assert all(r.target_id == incident.reference and r.request_id == "req-duty-1" for r in mine)
    edited = next(r for r in mine if r.action == "incident.field_changed")
    assert edited.before == {"severity": "P2", "title": "支付失败"}
    assert edited.after == {"severity": "P1", "title": "支付全部失败"}
    moved = next(r for r in mine if r.action == "incident.status_changed")
    assert moved.before == {"status": "investigating"}
    assert moved.after["status"] == "identified" and moved.after["note"] == "定位到网关"
    assert next(r for r in mine if r.action == "incident.note").after == {"text": "已通知客服组"}


def test_a_failed_change_leaves_no_record(db_session) -> None:  # noqa: ANN001
    with pytest.raises(InvalidInput):
        service.open_incident(db_session, kind="fire", severity="P2", title="x", actor=DUTY, now=FIXED_NOW,
                              zone=SHANGHAI)
    db_session.rollback()
    assert _records(db_session) == []


def test_signing_in_is_audited_with_the_address_and_request(db_session) -> None:  # noqa: ANN001
    user = accounts.create_user(db_session, username="wangfang", password=PASSWORD, role="duty_manager",
                                display_name="王芳", actor=Actor.system("test"), now=FIXED_NOW)
    assert accounts.authenticate(db_session, username="wangfang", password="wrong-password", ip="10.0.0.9",
                                 now=FIXED_NOW) is None
    assert accounts.authenticate(db_session, username="wangfang", password=PASSWORD, ip="10.0.0.9",
                                 now=FIXED_NOW, request_id="login-1") is user
    accounts.record_sign_out(db_session, actor=Actor(label="王芳", user_id=user.id, request_id="logout-1"),
                             now=FIXED_NOW)
    db_session.commit()
    signed = [(r.action, r.actor_id, r.ip, r.request_id) for r in _records(db_session) if r.action.startswith("user.sign")]
    assert signed == [("user.signed_in", user.id, "10.0.0.9", "login-1"), ("user.signed_out", user.id, "", "logout-1")]


def test_filters_pages_and_free_text(db_session) -> None:  # noqa: ANN001
    for n in range(7):
        record_audit(db_session, actor=Actor(label=f"person{n % 2}", user_id=None, request_id=f"r{n}"),
                     action="roster.shift_added" if n % 2 else "channel.created",
                     target_type="duty_shift" if n % 2 else "team_channel", target_id=n,
                     now=FIXED_NOW + timedelta(hours=n), after={"name": f"值班{n}"})
    db_session.commit()
    first = audit_page(db_session, AuditFilter(), limit=3)
    assert [r.target_id for r in first.records] == ["6", "5", "4"]
    second = audit_page(db_session, AuditFilter(), before=first.next_before, limit=3)
    third = audit_page(db_session, AuditFilter(), before=second.next_before, limit=3)
    assert [r.target_id for r in second.records + third.records] == ["3", "2", "1", "0"]
    assert third.next_before is None
    assert [r.target_id for r in all_matching(db_session, AuditFilter(actor="person1"))] == ["5", "3", "1"]
    assert [r.target_id for r in audit_page(db_session, AuditFilter(action="roster.")).records] == ["5", "3", "1"]
    assert [r.target_id for r in audit_page(db_session, AuditFilter(target_type="team_channel", target_id="2")).records] == ["2"]
    assert [r.target_id for r in audit_page(db_session, AuditFilter(request_id="r4")).records] == ["4"]
    window = AuditFilter(since=FIXED_NOW + timedelta(hours=2), until=FIXED_NOW + timedelta(hours=4))
    assert [r.target_id for r in audit_page(db_session, window).records] == ["3", "2"]
    # Chinese inside before/after is found although JSON stores it escaped.
    assert [r.target_id for r in audit_page(db_session, AuditFilter(text="值班3")).records] == ["3"]
    assert [r.target_id for r in audit_page(db_session, AuditFilter(text="100%")).records] == []


def test_a_filter_that_cannot_mean_anything_is_refused(db_session) -> None:  # noqa: ANN001
    record_audit(db_session, actor=DUTY, action="user.create", target_type="user", target_id=1, now=FIXED_NOW)
    db_session.commit()
    check_filter(db_session, AuditFilter(target_type="user"))
    with pytest.raises(InvalidInput) as unknown:
        check_filter(db_session, AuditFilter(target_type="spaceship"))
    assert unknown.value.field == "target_type"
    with pytest.raises(InvalidInput) as backwards:
        check_filter(db_session, AuditFilter(since=FIXED_NOW, until=FIXED_NOW - timedelta(days=1)))
    assert backwards.value.field == "to"


def test_the_systems_own_moves_and_the_quieter_changes_are_audited(db_session) -> None:  # noqa: ANN001
    window = maintenance.schedule_maintenance(
        db_session, data={"title": "数据库升级", "scheduled_start": FIXED_NOW + timedelta(minutes=5),
                          "scheduled_end": FIXED_NOW + timedelta(minutes=65)}, actor=DUTY, now=FIXED_NOW)
    maintenance.advance_windows(db_session, now=FIXED_NOW + timedelta(minutes=6))
    complaints.record_complaint(db_session, product="会员", category="billing", channel="hotline", text="退款一直没到",
                                actor=Actor(label="api:desk", request_id="desk-1"), now=FIXED_NOW, zone=SHANGHAI)
    db_session.commit()
    by_action = {r.action: r for r in _records(db_session)}
    started = by_action["maintenance.advanced"]
    assert (started.actor_label, started.target_id) == ("scheduler", str(window.id))
    assert (started.before, started.after["status"]) == ({"status": "scheduled"}, "in_progress")
    recorded = by_action["complaint.recorded"]
    assert recorded.request_id == "desk-1" and recorded.after["product"] == "会员"
