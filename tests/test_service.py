"""Service functions on the real databases: every change and its timeline, together."""

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from incidents import service
from incidents.actors import Actor
from incidents.errors import InvalidInput, StaleVersion
from incidents.lifecycle import Status, TransitionNotAllowed
from incidents.models import EventKind, Incident, TimelineEvent
from tests.conftest import FIXED_NOW

SHANGHAI = ZoneInfo("Asia/Shanghai")
ACTOR = Actor(label="tester")


def _open(session, **overrides):  # noqa: ANN001, ANN202
    values = {"kind": "outage", "severity": "P1", "title": "支付失败"}
    values.update(overrides)
    return service.open_incident(session, actor=ACTOR, now=FIXED_NOW, zone=SHANGHAI, **values)


def test_open_writes_incident_and_timeline(db_session) -> None:  # noqa: ANN001
    incident = _open(db_session)
    db_session.commit()
    assert incident.reference == "INC-20261122-0001"
    assert incident.status == Status.INVESTIGATING
    events = db_session.scalars(sa.select(TimelineEvent)).all()
    assert [e.kind for e in events] == [EventKind.OPENED]
    assert events[0].at == FIXED_NOW


def test_references_count_per_day_in_team_zone(db_session) -> None:  # noqa: ANN001
    first = _open(db_session)
    second = _open(db_session)
    # 16:30 UTC is already the next day in Shanghai.
    late = service.open_incident(db_session, kind="complaint", severity="P3", title="x", actor=ACTOR,
                                 now=FIXED_NOW.replace(hour=16, minute=30), zone=SHANGHAI)
    assert [first.reference, second.reference, late.reference] == [
        "INC-20261122-0001", "INC-20261122-0002", "INC-20261123-0001"]


@pytest.mark.parametrize(("field", "values"), [
    ("title", {"title": "   "}),
    ("title", {"title": "x" * 201}),
    ("kind", {"kind": "fire"}),
    ("severity", {"severity": "P0"}),
])
def test_bad_input_names_the_field_and_stores_nothing(db_session, field, values) -> None:  # noqa: ANN001
    with pytest.raises(InvalidInput) as caught:
        _open(db_session, **values)
    assert caught.value.field == field
    db_session.rollback()
    assert db_session.scalar(sa.select(sa.func.count(Incident.id))) == 0


def test_transition_stamps_times_and_timeline(db_session) -> None:  # noqa: ANN001
    incident = _open(db_session)
    later = FIXED_NOW + timedelta(minutes=30)
    service.transition_incident(db_session, incident=incident, target="resolved", expected_version=1, zone=SHANGHAI,
                                actor=ACTOR, now=later)
    assert incident.status == Status.RESOLVED
    assert incident.resolved_at == later
    assert incident.acknowledged_at == later
    assert incident.version == 2
    reopened = service.transition_incident(db_session, incident=incident, target="investigating",
                                           expected_version=None, actor=ACTOR, now=later, zone=SHANGHAI)
    assert reopened.resolved_at is None
    event = db_session.scalars(sa.select(TimelineEvent).order_by(TimelineEvent.id.desc())).first()
    assert {k: event.data[k] for k in ("from", "to", "reopen")} == {
        "from": "resolved", "to": "investigating", "reopen": True}


def test_forbidden_transition_changes_nothing(db_session) -> None:  # noqa: ANN001
    incident = _open(db_session)
    db_session.commit()
    with pytest.raises(TransitionNotAllowed):
        service.transition_incident(db_session, incident=incident, target="closed", expected_version=1, zone=SHANGHAI,
                                    actor=ACTOR, now=FIXED_NOW)
    db_session.rollback()
    assert db_session.get(Incident, incident.id).status == Status.INVESTIGATING
    assert db_session.scalar(sa.select(sa.func.count(TimelineEvent.id))) == 1


def test_stale_version_is_a_conflict(db_session) -> None:  # noqa: ANN001
    incident = _open(db_session)
    service.edit_incident(db_session, incident=incident, changes={"title": "新标题"}, expected_version=1,
                          actor=ACTOR, now=FIXED_NOW)
    with pytest.raises(StaleVersion):
        service.transition_incident(db_session, incident=incident, target="identified", expected_version=1, zone=SHANGHAI,
                                    actor=ACTOR, now=FIXED_NOW)


def test_concurrent_writers_cannot_both_win(engine, db_session) -> None:  # noqa: ANN001
    incident = _open(db_session)
    db_session.commit()
    other = sa.orm.Session(engine)
    theirs = other.get(Incident, incident.id)
    service.edit_incident(db_session, incident=incident, changes={"title": "A"}, expected_version=1,
                          actor=ACTOR, now=FIXED_NOW)
    db_session.commit()
    # The other session still believes version 1: the conditional UPDATE refuses it.
    with pytest.raises(StaleVersion):
        service.edit_incident(other, incident=theirs, changes={"title": "B"}, expected_version=1,
                              actor=ACTOR, now=FIXED_NOW)
    other.rollback()
    other.close()
    db_session.expire_all()
    assert db_session.get(Incident, incident.id).title == "A"


def test_stale_edit_of_other_fields_merges(db_session) -> None:  # noqa: ANN001
    incident = _open(db_session)
    seen = {"title": "支付失败", "severity": "P1"}
    service.edit_incident(db_session, incident=incident, changes={"title": "支付通道故障"},
                          expected_version=1, actor=ACTOR, now=FIXED_NOW)
    changed = service.edit_incident(db_session, incident=incident,
                                    changes={"title": "支付失败", "severity": "P2"}, seen=seen,
                                    expected_version=1, actor=ACTOR, now=FIXED_NOW)
    assert changed == [{"field": "severity", "before": "P1", "after": "P2"}]
    assert incident.title == "支付通道故障"


def test_stale_edit_of_the_same_field_conflicts(db_session) -> None:  # noqa: ANN001
    incident = _open(db_session)
    service.edit_incident(db_session, incident=incident, changes={"title": "支付通道故障"},
                          expected_version=1, actor=ACTOR, now=FIXED_NOW)
    with pytest.raises(StaleVersion) as caught:
        service.edit_incident(db_session, incident=incident, changes={"title": "支付宝渠道故障"},
                              seen={"title": "支付失败"}, expected_version=1, actor=ACTOR, now=FIXED_NOW)
    assert caught.value.fields == ["title"]


def test_notes_do_not_touch_the_lock(db_session) -> None:  # noqa: ANN001
    incident = _open(db_session)
    service.add_note(db_session, incident=incident, body="客服已统一口径", actor=ACTOR,
                     now=FIXED_NOW + timedelta(minutes=1))
    assert incident.version == 1
    assert incident.updated_at == FIXED_NOW + timedelta(minutes=1)
    with pytest.raises(InvalidInput):
        service.add_note(db_session, incident=incident, body="  ", actor=ACTOR, now=FIXED_NOW)


def test_assignment_is_recorded_by_name(db_session, make_user) -> None:  # noqa: ANN001
    user = make_user("duty_manager", "lihua")
    incident = _open(db_session)
    service.edit_incident(db_session, incident=incident, changes={"commander_id": user.id},
                          expected_version=1, actor=ACTOR, now=FIXED_NOW)
    event = db_session.scalars(sa.select(TimelineEvent).order_by(TimelineEvent.id.desc())).first()
    assert event.kind == EventKind.ASSIGNED
    assert event.data["changes"] == [{"field": "commander", "before": None, "after": "Lihua"}]
