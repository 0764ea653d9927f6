"""The clock never hides a debt, on the real databases and through the console.

An automatic holding statement keeps the public informed, but the update a person owes stays
open and escalating until a person publishes, and the timeline, the incident's deadlines, the
review's figures and the reports say it was held by an automatic statement. Escalation widens
the circle step by step, and one person gets one message per step whatever roles they hold.
"""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from incidents import accounts, clock, deadlines, escalation, holding, roster, service
from incidents.actors import Actor
from incidents.models import Deadline, DeadlineState, EventKind, Notification, Role, TimelineEvent
from incidents.updates import publish_update, set_public_identity
from tests.conftest import FIXED_NOW, sign_in

SHANGHAI = ZoneInfo("Asia/Shanghai")
ACTOR = Actor(label="值班主管")
T0 = FIXED_NOW  # 2026-11-22 10:00 in Shanghai


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


def _user(session, role: Role, name: str):  # noqa: ANN001, ANN202
    return accounts.create_user(session, username=name, password="long-enough-pw", role=role.value,
                                display_name=name, locale="en", actor=ACTOR, now=T0)


def _outage(session, **extra):  # noqa: ANN001, ANN202
    incident = service.open_incident(session, kind="outage", severity="P1", title="内部：订单库主从延迟", actor=ACTOR,
                                     now=T0, zone=SHANGHAI, **extra)
    set_public_identity(session, incident=incident, public_title="部分用户下单失败", actor=ACTOR, now=T0)
    return incident


def _update_deadlines(session, incident) -> list[Deadline]:  # noqa: ANN001
    return [d for d in deadlines.incident_deadlines(session, incident) if d.rule_key == "public_update"]


def _held_story(session, **extra):  # noqa: ANN001, ANN202
    """A person publishes at +1; the next update (due +11) is not written; the console holds at +13."""
    incident = _outage(session, **extra)
    publish_update(session, incident=incident, body="正在排查", actor=ACTOR, now=T0 + minutes(1), zone=SHANGHAI)
    assert escalation.fire_due(session, now=T0 + minutes(11), zone=SHANGHAI).steps == 1  # overdue
    (statement,) = holding.publish_holding_statements(session, now=T0 + minutes(13), zone=SHANGHAI)
    return incident, statement


def test_a_holding_statement_leaves_the_human_update_open_and_escalating(db_session) -> None:  # noqa: ANN001
    commander = _user(db_session, Role.DUTY_MANAGER, "wang")
    incident, statement = _held_story(db_session, commander_id=commander.id)
    (owed,) = _update_deadlines(db_session, incident)
    assert statement.automatic
    assert owed.state == DeadlineState.MISSED and owed.met_at is None
    assert owed.next_fire_at == owed.due_at + minutes(5)  # the commander's step is still to come
    assert deadlines.held_deadlines(db_session, [owed.id]) == {owed.id}
    said = db_session.scalar(sa.select(TimelineEvent).where(TimelineEvent.kind == EventKind.PUBLIC_UPDATE)
                             .order_by(TimelineEvent.id.desc()).limit(1))
    assert said.data["holding_for"] == "public_update" and said.data["held_deadline"] == owed.id
    assert "met" not in said.data and "started" not in said.data  # the robot meets nothing, starts nothing

    assert escalation.fire_due(db_session, now=T0 + minutes(16), zone=SHANGHAI).steps == 1
    step = db_session.scalar(sa.select(TimelineEvent).where(TimelineEvent.kind == EventKind.DEADLINE_ESCALATED))
    assert (step.data["stage"], step.data["held"]) == (clock.COMMANDER, True)
    (bell,) = db_session.scalars(sa.select(Notification.title).where(Notification.kind == "escalation")).all()
    assert bell.endswith("overdue, please step in (an automatic statement is holding the public; a person still"
                         " owes the update)")
    # Never a second statement for the same debt: the people are being called instead.
    assert holding.publish_holding_statements(db_session, now=T0 + minutes(40), zone=SHANGHAI) == []

    publish_update(db_session, incident=incident, body="已定位原因，正在修复", actor=ACTOR, now=T0 + minutes(20),
                   zone=SHANGHAI)
    assert owed.state == DeadlineState.MET and owed.late_seconds == 9 * 60
    assert owed.met_by.kind == EventKind.PUBLIC_UPDATE and owed.met_by.actor_label == ACTOR.label
    following = [d for d in _update_deadlines(db_session, incident) if d.state == DeadlineState.PENDING]
    assert [d.due_at for d in following] == [T0 + minutes(30)]


def test_a_first_notice_held_by_the_console_keeps_the_cadence_waiting_for_a_person(db_session) -> None:  # noqa: ANN001
    incident = _outage(db_session)
    (statement,) = holding.publish_holding_statements(db_session, now=T0 + minutes(8), zone=SHANGHAI)
    first = next(d for d in deadlines.open_deadlines(db_session, incident) if d.rule_key == "first_notice")
    assert first.met_at is None and _update_deadlines(db_session, incident) == []
    publish_update(db_session, incident=incident, body="正在排查", actor=ACTOR, now=T0 + minutes(9), zone=SHANGHAI)
    assert first.state == DeadlineState.MET and len(_update_deadlines(db_session, incident)) == 1


def test_a_person_holding_every_role_gets_one_message_per_step(db_session) -> None:  # noqa: ANN001
    li = _user(db_session, Role.ADMIN, "li")  # commander, comms lead, on duty, and an admin
    boss = _user(db_session, Role.ADMIN, "boss")
    roster.add_shift(db_session, user_id=li.id, starts_at=T0 - minutes(60), ends_at=T0 + minutes(600), actor=ACTOR,
                     now=T0)
    incident = _outage(db_session, commander_id=li.id)
    service.edit_incident(db_session, incident=incident, changes={"comms_lead_id": li.id}, expected_version=None,
                          actor=ACTOR, now=T0)
    db_session.commit()

    def told_at(at: float) -> list[tuple[int, str]]:
        before = db_session.scalar(sa.select(sa.func.coalesce(sa.func.max(Notification.id), 0)))
        escalation.fire_due(db_session, now=T0 + minutes(at), zone=SHANGHAI)
        db_session.commit()
        return db_session.execute(sa.select(Notification.user_id, Notification.kind)
                                  .where(Notification.id > before).order_by(Notification.id)).all()

    assert told_at(3) == [(li.id, "reminder")]
    assert told_at(5) == [(li.id, "overdue")]
    assert told_at(10) == [(li.id, "escalation")]  # owner and commander: one person, one message
    assert told_at(15) == [(li.id, "escalation")]  # and the duty manager on duty
    assert told_at(20) == [(li.id, "escalation"), (boss.id, "escalation")]  # and the admins
    steps = db_session.scalars(sa.select(TimelineEvent).where(TimelineEvent.kind == EventKind.DEADLINE_ESCALATED)
                               .order_by(TimelineEvent.id)).all()
    assert [event.data["to"] for event in steps] == [["li"], ["li"], ["li", "boss"]]


def test_a_worker_catching_up_tells_each_person_once_per_step_it_takes(db_session) -> None:  # noqa: ANN001
    li = _user(db_session, Role.DUTY_MANAGER, "li")  # commander and comms lead; nobody is on the roster
    wang = _user(db_session, Role.DUTY_MANAGER, "wang")
    boss = _user(db_session, Role.ADMIN, "boss")
    incident = _outage(db_session, commander_id=li.id)
    service.edit_incident(db_session, incident=incident, changes={"comms_lead_id": li.id}, expected_version=None,
                          actor=ACTOR, now=T0)
    report = escalation.fire_due(db_session, now=T0 + minutes(65), zone=SHANGHAI)
    assert report.steps == 4  # overdue, commander, duty managers, admins
    counts = dict(db_session.execute(sa.select(Notification.user_id, sa.func.count())
                                     .group_by(Notification.user_id)).all())
    assert counts == {li.id: 4, wang.id: 2, boss.id: 1}


# --- what people read --------------------------------------------------------------------------

def _held_and_escalated(app) -> str:  # noqa: ANN001
    """The held story committed, its commander's step taken; the console's clock at +17. Its reference."""
    app.config["CLOCK"] = lambda: T0 + minutes(17)
    with app.extensions["db_sessionmaker"]() as session:
        incident, _statement = _held_story(session)
        escalation.fire_due(session, now=T0 + minutes(16), zone=SHANGHAI)
        session.commit()
        return incident.reference


def test_the_timeline_deadlines_review_and_reports_say_held_by_an_automatic_statement(app, signed_in, api_as) -> None:  # noqa: ANN001
    reference = _held_and_escalated(app)

    timeline = signed_in.get(f"/incidents/{reference}/timeline").text
    assert "Held by an automatic statement: “Public progress update” stays open and escalating until a person" \
           " publishes." in timeline
    assert "held by an automatic statement: still owed by a person" in timeline  # on the escalation step
    deadline_panel = signed_in.get(f"/incidents/{reference}/clock").text
    assert "held by an automatic statement" in deadline_panel
    listed = api_as(Role.VIEWER)("GET", f"/api/v1/incidents/{reference}/deadlines").json["deadlines"]
    assert {(d["rule"], d["state"], d["held_by_automatic_statement"]) for d in listed} == {
        ("public_update", "missed", True), ("first_notice", "met", False)}
    review = signed_in.get(f"/incidents/{reference}/review").text
    assert "Held by an automatic statement: 1" in review
    markdown = signed_in.get(f"/incidents/{reference}/review.md").data.decode("utf-8")
    assert "| Deadlines: Held by an automatic statement | 1 |" in markdown

    report = signed_in.get("/reports?days=7").text
    table = report[report.index("Deadline adherence by rule"):report.index("Top root causes")]
    assert "Held by an automatic statement" in table and 'class="num outcome-held">1<' in table
    csv = api_as(Role.VIEWER)("GET", "/api/v1/reports/adherence.csv?days=7").data.decode("utf-8").splitlines()
    assert "held_by_automatic_statement" in csv[0]
    header = csv[0].split(",")
    row = next(line.split(",") for line in csv[1:] if line.startswith("public_update,"))
    assert row[header.index("held_by_automatic_statement")] == "1"


def test_the_held_wording_is_in_chinese_on_a_chinese_page(app, make_user, client) -> None:  # noqa: ANN001
    reference = _held_and_escalated(app)
    sign_in(client, make_user(Role.DUTY_MANAGER, "zhang", locale="zh_Hans_CN"))
    timeline = client.get(f"/incidents/{reference}/timeline").text
    assert "held by an automatic statement" not in timeline.lower()
    assert "已发自动缓冲声明：仍待有人发布更新" in timeline and "继续升级，直到有人发布更新" in timeline
