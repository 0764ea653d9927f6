"""Read side of the clock on the real databases: board order, owners, the deadlines list."""

from datetime import timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from incidents import accounts, deadlines, escalation, queries, roster, service
from incidents.actors import Actor
from incidents.lifecycle import Status
from incidents.models import Deadline, DeadlineState, User
from tests.conftest import FIXED_NOW
from tests.support.reviews import waive_review

ZONE = ZoneInfo("Asia/Shanghai")
SYSTEM = Actor.system("test")


def _open(session, title: str, kind: str = "outage", severity: str = "P2", minutes_ago: int = 0):  # noqa: ANN001, ANN202
    return service.open_incident(session, kind=kind, severity=severity, title=title, actor=SYSTEM,
                                 now=FIXED_NOW - timedelta(minutes=minutes_ago), zone=ZONE)


def _person(session, name: str, role: str = "duty_manager") -> User:  # noqa: ANN001
    user = accounts.create_user(session, username=name, password="correct-horse-battery", role=role,
                                display_name=name.title(), actor=SYSTEM, now=FIXED_NOW)
    session.flush()
    return user


def _titles(session) -> list[str]:  # noqa: ANN001
    return [i.title for i in queries.list_incidents(session, statuses=list(Status))]


def _acknowledge(session, incident, minutes_ago: int = 0) -> None:  # noqa: ANN001
    service.acknowledge_incident(session, incident=incident, actor=SYSTEM,
                                 now=FIXED_NOW - timedelta(minutes=minutes_ago), zone=ZONE)


def test_board_sorts_by_severity_the_unacknowledged_first_then_by_deadline(db_session) -> None:  # noqa: ANN001
    # An outage's first notice is due 5 minutes after opening, a public-opinion contact after 60.
    _open(db_session, "舆情：60 分钟内联系", kind="public_opinion", severity="P1")
    _open(db_session, "故障：首次公告 5 分钟", severity="P4")
    _open(db_session, "故障：已超时，无人认领", severity="P3", minutes_ago=8)
    _acknowledge(db_session, _open(db_session, "故障：已认领，5 分钟内公告", severity="P3"))
    _acknowledge(db_session, _open(db_session, "故障：已认领，已超时", severity="P3", minutes_ago=8), 7)
    _acknowledge(db_session, _open(db_session, "故障：P1 已认领且超时", severity="P1", minutes_ago=8), 7)
    paused = _open(db_session, "投诉：等待客户", kind="complaint", severity="P1")
    deadlines.pause_clock(db_session, incident=paused, reason="等客户提供凭证", actor=SYSTEM, now=FIXED_NOW)
    quiet = _open(db_session, "没有时限的投诉", kind="complaint", severity="P2")
    for d in deadlines.open_deadlines(db_session, quiet):
        deadlines.waive(db_session, incident=quiet, deadline=d, reason="测试", actor=SYSTEM, now=FIXED_NOW)
    resolved = _open(db_session, "已解决的故障", severity="P1", minutes_ago=30)
    service.transition_incident(db_session, incident=resolved, target="resolved", expected_version=None,
                                actor=SYSTEM, now=FIXED_NOW - timedelta(minutes=20), zone=ZONE)
    db_session.commit()
    assert _titles(db_session) == [
        "舆情：60 分钟内联系",  # P1 nobody has taken on, whatever its deadline
        "投诉：等待客户",  # (paused: no running deadline, so after the one with a countdown)
        "故障：P1 已认领且超时",  # then the P1 someone owns
        "没有时限的投诉",
        "故障：已超时，无人认领",  # within P3: unowned first,
        "故障：已认领，已超时",  # then the most urgent deadline (overdue before soonest due)
        "故障：已认领，5 分钟内公告",
        "故障：首次公告 5 分钟",  # P4 last among open work, though due soonest
        "已解决的故障",  # resolved last, though its outreach is due in 40 minutes
    ]


def test_overdue_count_moves_when_a_deadline_falls_due(db_session) -> None:  # noqa: ANN001
    incident = _open(db_session, "投诉：主管回电", kind="complaint")
    db_session.commit()
    due = min(d.due_at for d in deadlines.open_deadlines(db_session, incident))
    assert queries.overdue_deadline_count(db_session, due) == 0  # due, not yet past it
    assert queries.overdue_deadline_count(db_session, due + timedelta(seconds=1)) == 1
    deadlines.pause_clock(db_session, incident=incident, reason="等客户提供凭证", actor=SYSTEM, now=FIXED_NOW)
    assert queries.overdue_deadline_count(db_session, due + timedelta(seconds=1)) == 0  # a paused clock is not late


def test_owner_is_the_role_holder_or_who_stands_in(db_session) -> None:  # noqa: ANN001
    commander = _person(db_session, "zhangwei")
    comms = _person(db_session, "wangfang", "comms")
    duty = _person(db_session, "liuyang")
    roster.add_shift(db_session, user_id=duty.id, starts_at=FIXED_NOW - timedelta(hours=1),
                     ends_at=FIXED_NOW + timedelta(hours=8), actor=SYSTEM, now=FIXED_NOW)
    incident = _open(db_session, "支付失败")
    [first_notice] = deadlines.open_deadlines(db_session, incident)
    on_duty = roster.on_duty(db_session, FIXED_NOW)
    assert queries.deadline_owner(first_notice, incident, None) == queries.Owner("comms_lead", None)
    assert queries.deadline_owner(first_notice, incident, on_duty) == queries.Owner("comms_lead", duty, stand_in=True)
    incident.commander = commander
    assert queries.deadline_owner(first_notice, incident, on_duty) == queries.Owner("comms_lead", commander, True)
    incident.comms_lead = comms
    assert queries.deadline_owner(first_notice, incident, on_duty) == queries.Owner("comms_lead", comms)
    comms.active = False
    assert queries.deadline_owner(first_notice, incident, on_duty).person == commander


def test_a_closed_incidents_missed_deadlines_leave_the_lists(db_session) -> None:  # noqa: ANN001
    late = _open(db_session, "超时后关闭", minutes_ago=30)
    live = _open(db_session, "仍在处理")
    escalation.fire_due(db_session, now=FIXED_NOW, zone=ZONE)
    [missed] = deadlines.open_deadlines(db_session, late)
    assert missed.state == DeadlineState.MISSED
    waive_review(db_session, late, FIXED_NOW)
    for target in ("resolved", "closed"):
        service.transition_incident(db_session, incident=late, target=target, expected_version=None,
                                    actor=SYSTEM, now=FIXED_NOW, zone=ZONE)
    db_session.commit()
    assert db_session.get(Deadline, missed.id).state == DeadlineState.MISSED  # the record stays
    assert [d.incident_id for d in deadlines.pending_deadlines(db_session)] == [live.id]
    assert set(deadlines.next_deadline(db_session, [late.id, live.id])) == {live.id}
    assert db_session.scalar(sa.select(sa.func.count(Deadline.id))) >= 3
