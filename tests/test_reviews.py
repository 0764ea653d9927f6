"""The six-step case, the review (复盘) and its action items on the real databases."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from incidents import accounts, cases, deadlines, escalation, reviews, service
from incidents.actors import Actor
from incidents.errors import InvalidInput
from incidents.models import Deadline, DeadlineState, EventKind, Role, TimelineEvent
from incidents.review_models import ActionStatus, CaseStep, ReviewState
from incidents.updates import publish_update
from tests.conftest import FIXED_NOW

SHANGHAI = ZoneInfo("Asia/Shanghai")
ACTOR = Actor(label="tester")
T0 = FIXED_NOW  # 2026-11-22 10:00 in Shanghai
FACTS = {"when": "11-21 晚八点", "who": "王女士", "impact": "婴儿奶粉结块", "demand": "退货并道歉"}
PLAN = {"action": "退货退款并赠送优惠券", "executor": "客服主管李", "by_when": "2026-11-23T12:00"}


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


def _open(session, kind: str = "complaint"):  # noqa: ANN001, ANN202
    return service.open_incident(session, kind=kind, severity="P2", title="奶粉结块投诉", actor=ACTOR, now=T0,
                                 zone=SHANGHAI)


def _step(session, incident, step: str, fields: dict, at=T0):  # noqa: ANN001, ANN202
    return cases.record_step(session, incident=incident, step=step, fields=fields, actor=ACTOR, now=at,
                             zone=SHANGHAI)


def _move(session, incident, target: str, at=T0):  # noqa: ANN001, ANN202
    return service.transition_incident(session, incident=incident, target=target, expected_version=None,
                                       actor=ACTOR, now=at, zone=SHANGHAI)


def _user(session, name: str = "li"):  # noqa: ANN001, ANN202
    return accounts.create_user(session, username=name, password="long-enough-pw", role=Role.AGENT.value,
                                display_name=name, locale="en", actor=ACTOR, now=T0)


def test_a_plan_is_refused_before_the_facts_are_recorded(db_session) -> None:  # noqa: ANN001
    incident = _open(db_session)
    with pytest.raises(InvalidInput) as refused:
        _step(db_session, incident, "plan", PLAN)
    assert refused.value.field == "step" and refused.value.reason == "plan_before_facts"
    assert db_session.scalar(sa.select(sa.func.count()).select_from(CaseStep)) == 0
    _step(db_session, incident, "facts", FACTS)
    plan = _step(db_session, incident, "plan", PLAN)
    assert plan.fields["by_when"] == "2026-11-23T04:00:00+00:00"  # noon in Shanghai


def test_each_save_is_a_new_version_on_the_timeline(db_session) -> None:  # noqa: ANN001
    incident = _open(db_session)
    first = _step(db_session, incident, "prejudge", {"real_want": "道歉", "category": "quality"})
    same = _step(db_session, incident, "prejudge", {"real_want": "道歉", "category": "quality"}, at=T0 + minutes(1))
    second = _step(db_session, incident, "prejudge", {"real_want": "道歉和补偿", "category": "quality"},
                   at=T0 + minutes(2))
    assert (first.version, same.version, second.version) == (1, 1, 2)
    history = cases.step_history(db_session, incident, "prejudge")
    assert [row.fields["real_want"] for row in history] == ["道歉和补偿", "道歉"]
    events = db_session.scalars(sa.select(TimelineEvent).where(TimelineEvent.kind == EventKind.CASE_STEP_RECORDED))
    assert [(e.data["step"], e.data["version"], e.at) for e in events] == [
        ("prejudge", 1, T0), ("prejudge", 2, T0 + minutes(2))]


@pytest.mark.parametrize(("kind", "step", "fields", "field", "reason"), [
    ("outage", "prejudge", {"real_want": "x", "category": "quality"}, "kind", "case_kind"),
    ("complaint", "sideways", {}, "step", "choice"),
    ("complaint", "prejudge", {"real_want": "x", "category": "weather"}, "category", "choice"),
    ("complaint", "facts", {**FACTS, "demand": "  "}, "demand", "required"),
    ("complaint", "facts", {**FACTS, "colour": "red"}, "colour", "not_editable"),
    ("complaint", "responsibility", {"party": "shared", "reasons": "x" * 2001}, "reasons", "too_long"),
    ("complaint", "execute", {"communicated": "已电话告知"}, "step", "execute_before_plan"),
])
def test_bad_case_input_is_named_at_the_field(db_session, kind, step, fields, field, reason) -> None:  # noqa: ANN001
    incident = _open(db_session, kind)
    with pytest.raises(InvalidInput) as refused:
        _step(db_session, incident, step, fields)
    assert (refused.value.field, refused.value.reason) == (field, reason)


@pytest.mark.parametrize(("by_when", "reason"), [("2026-11-22T09:59", "in_the_past"), ("tomorrow", "not_a_time")])
def test_a_plan_due_in_the_past_or_unreadable_is_refused(db_session, by_when, reason) -> None:  # noqa: ANN001
    incident = _open(db_session)
    _step(db_session, incident, "facts", FACTS)
    with pytest.raises(InvalidInput) as refused:
        _step(db_session, incident, "plan", {**PLAN, "by_when": by_when})
    assert (refused.value.field, refused.value.reason) == ("by_when", reason)


def test_closing_needs_the_review_completed(db_session) -> None:  # noqa: ANN001
    incident = _open(db_session)
    _move(db_session, incident, "resolved", T0 + minutes(30))
    with pytest.raises(InvalidInput) as refused:
        _move(db_session, incident, "closed", T0 + minutes(40))
    assert (refused.value.field, refused.value.reason) == ("review", "review_required")
    with pytest.raises(InvalidInput) as incomplete:
        reviews.complete_review(db_session, incident=incident, actor=ACTOR, now=T0 + minutes(40))
    assert incomplete.value.reason == "review_incomplete"
    assert incomplete.value.params["missing"] == ["summary", "root_cause", "responsibility"]
    reviews.save_review(db_session, incident=incident, expected_version=None, actor=ACTOR, now=T0 + minutes(41),
                        values={"summary": "批次问题", "root_cause": "仓库受潮", "responsibility": "公司"})
    review = reviews.complete_review(db_session, incident=incident, actor=ACTOR, now=T0 + minutes(42))
    assert review.state == ReviewState.COMPLETED
    assert review.figures["time_to_resolve"] == 30 * 60 and review.figures["time_to_acknowledge"] == 30 * 60
    _move(db_session, incident, "closed", T0 + minutes(43))
    assert incident.status.value == "closed"


def test_a_review_is_completed_only_once_the_incident_is_resolved(db_session) -> None:  # noqa: ANN001
    incident = _open(db_session)
    reviews.save_review(db_session, incident=incident, expected_version=None, actor=ACTOR, now=T0,
                        values={"summary": "a", "root_cause": "b", "responsibility": "c"})
    with pytest.raises(InvalidInput) as refused:
        reviews.complete_review(db_session, incident=incident, actor=ACTOR, now=T0)
    assert refused.value.reason == "review_unresolved"


def test_a_waived_review_lets_the_incident_close(db_session) -> None:  # noqa: ANN001
    incident = _open(db_session, "outage")
    _move(db_session, incident, "resolved", T0 + minutes(5))
    with pytest.raises(InvalidInput) as refused:
        reviews.waive_review(db_session, incident=incident, reason=" ", actor=ACTOR, now=T0)
    assert refused.value.field == "reason"
    reviews.waive_review(db_session, incident=incident, reason="误报，无客户影响", actor=ACTOR, now=T0 + minutes(6))
    _move(db_session, incident, "closed", T0 + minutes(7))
    kinds = [e.kind for e in db_session.scalars(sa.select(TimelineEvent).order_by(TimelineEvent.id))]
    assert EventKind.REVIEW_WAIVED in kinds


def test_review_links_must_belong_to_the_incident(db_session) -> None:  # noqa: ANN001
    incident = _open(db_session, "outage")
    other = _open(db_session, "outage")
    update = publish_update(db_session, incident=other, body="处理中", actor=ACTOR, now=T0, zone=SHANGHAI)
    with pytest.raises(InvalidInput) as refused:
        reviews.save_review(db_session, incident=incident, expected_version=None, actor=ACTOR, now=T0,
                            values={"links": [{"kind": "update", "id": update.id}]})
    assert refused.value.field == "links"
    mine = publish_update(db_session, incident=incident, body="处理中", actor=ACTOR, now=T0, zone=SHANGHAI)
    review = reviews.save_review(db_session, incident=incident, expected_version=None, actor=ACTOR, now=T0,
                                 values={"links": [{"kind": "update", "id": str(mine.id)}]})
    assert review.links == [{"kind": "update", "id": mine.id}]


def test_figures_count_cadence_and_deadlines(db_session) -> None:  # noqa: ANN001
    incident = _open(db_session, "outage")
    for minute in (3, 13, 24):  # windows (3, 13] (13, 23] (23, 33]: the middle one had none
        publish_update(db_session, incident=incident, body="进展", actor=ACTOR, now=T0 + minutes(minute),
                       zone=SHANGHAI)
    _move(db_session, incident, "resolved", T0 + minutes(33))
    from incidents.review_figures import figures_for

    figures = figures_for(db_session, incident, now=T0 + minutes(90))
    assert figures["time_to_first_notice"] == 180 and figures["updates"] == 3
    assert figures["cadence"] == {"windows": 3, "kept": 2, "share": 2 / 3, "longest_silence": 660}
    assert figures["deadlines"]["met_on_time"] >= 2 and figures["deadlines"]["met_late"] == 1


def test_an_action_item_is_on_the_clock_and_outlives_the_close(db_session) -> None:  # noqa: ANN001
    incident = _open(db_session, "outage")
    owner = _user(db_session)
    with pytest.raises(InvalidInput) as past:
        reviews.add_action_item(db_session, incident=incident, title="加固仓库防潮", owner_id=owner.id,
                                due_date="2026-11-22T09:00", actor=ACTOR, now=T0, zone=SHANGHAI)
    assert (past.value.field, past.value.reason) == ("due_date", "in_the_past")
    with pytest.raises(InvalidInput) as nobody:
        reviews.add_action_item(db_session, incident=incident, title="x", owner_id="abc", due_date="2026-11-30",
                                actor=ACTOR, now=T0, zone=SHANGHAI)
    assert nobody.value.field == "owner_id"
    item = reviews.add_action_item(db_session, incident=incident, title="加固仓库防潮", owner_id=owner.id,
                                   due_date="2026-11-30", actor=ACTOR, now=T0, zone=SHANGHAI)
    deadline = item.deadline
    assert deadline.due_at == item.due_at and item.due_at.astimezone(SHANGHAI).hour == 18
    assert deadline.rule["owner_user_id"] == owner.id and deadline.rule["zh"] == "复盘改进项：加固仓库防潮"
    assert deadline.rule_key == f"review_action:{item.id}"  # each item names its own deadline
    _move(db_session, incident, "resolved", T0 + minutes(10))
    reviews.waive_review(db_session, incident=incident, reason="演练", actor=ACTOR, now=T0 + minutes(11))
    _move(db_session, incident, "closed", T0 + minutes(12))
    assert deadline.state == DeadlineState.PENDING
    assert deadline in deadlines.pending_deadlines(db_session)
    # Overdue after the close: the worker still tells the owner, by name.
    escalation.fire_due(db_session, now=item.due_at + minutes(1), zone=SHANGHAI)
    assert deadline.state == DeadlineState.MISSED and deadline.next_fire_at is not None
    missed = db_session.scalars(sa.select(TimelineEvent).where(TimelineEvent.kind == EventKind.DEADLINE_MISSED)).one()
    assert missed.data["to"] == ["li"]
    reviews.settle_action_item(db_session, incident=incident, item=item, status="done", actor=ACTOR,
                               now=item.due_at + minutes(5), zone=SHANGHAI)
    assert item.status == ActionStatus.DONE and deadline.state == DeadlineState.MET
    with pytest.raises(InvalidInput):
        reviews.settle_action_item(db_session, incident=incident, item=item, status="dropped", note="x",
                                   actor=ACTOR, now=item.due_at, zone=SHANGHAI)


def test_dropping_an_action_item_needs_a_reason(db_session) -> None:  # noqa: ANN001
    incident = _open(db_session, "outage")
    owner = _user(db_session)
    item = reviews.add_action_item(db_session, incident=incident, title="改造告警", owner_id=owner.id,
                                   due_date="2026-12-01", actor=ACTOR, now=T0, zone=SHANGHAI)
    with pytest.raises(InvalidInput) as refused:
        reviews.settle_action_item(db_session, incident=incident, item=item, status="dropped", actor=ACTOR,
                                   now=T0, zone=SHANGHAI)
    assert refused.value.field == "reason"
    reviews.settle_action_item(db_session, incident=incident, item=item, status="dropped", note="方案变更",
                               actor=ACTOR, now=T0, zone=SHANGHAI)
    assert db_session.get(Deadline, item.deadline_id).state == DeadlineState.WAIVED
