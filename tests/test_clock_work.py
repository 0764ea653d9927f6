"""Every rule of the default playbooks, met by the work that fulfils it, on the real databases.

One test per rule, named after what meets it: the work a person does (publishing, logging
outreach, recording the case's plan or the customer's confirmation), or the checklist tick
alone when no recorded work fulfils the rule. Ticking the linked step stays the manual
fallback for every rule that has one.
"""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from incidents import cases, deadlines, outreach, playbooks, service
from incidents.actors import Actor
from incidents.checklist import tick_step
from incidents.lifecycle import Kind
from incidents.models import Deadline, DeadlineState, EventKind, Incident
from incidents.outreach_models import Compensation
from incidents.updates import publish_update
from tests.conftest import FIXED_NOW

SHANGHAI = ZoneInfo("Asia/Shanghai")
ACTOR = Actor(label="值班主管")
T0 = FIXED_NOW  # 2026-11-22 10:00 in Shanghai
FACTS = {"when": "11-21 晚八点", "who": "王女士", "impact": "婴儿奶粉结块", "demand": "退货并道歉"}
PLAN = {"action": "退货退款并赠送优惠券", "executor": "客服主管李", "by_when": "2026-11-23T12:00"}
CONFIRMED = {"communicated": "电话告知退款已原路退回", "customer_confirmed": "on", "confirmation": "王女士确认已收到"}


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


def _open(session, kind: str):  # noqa: ANN001, ANN202
    return service.open_incident(session, kind=kind, severity="P2", title="奶粉结块", actor=ACTOR, now=T0,
                                 zone=SHANGHAI)


def _resolve(session, incident, at=T0 + minutes(30)):  # noqa: ANN001, ANN202
    service.transition_incident(session, incident=incident, target="resolved", expected_version=None,
                                actor=ACTOR, now=at, zone=SHANGHAI)


def _pending(session, incident: Incident, rule_key: str) -> Deadline:  # noqa: ANN001
    (deadline,) = [d for d in deadlines.open_deadlines(session, incident) if d.rule_key == rule_key]
    assert deadline.state == DeadlineState.PENDING
    return deadline


def _met_by(deadline: Deadline, kind: EventKind) -> None:
    assert deadline.state == DeadlineState.MET
    assert deadline.met_by.kind == kind
    assert {"rule": deadline.rule_key, "late_seconds": 0} in deadline.met_by.data["met"]


def _publish(session, incident, at):  # noqa: ANN001, ANN202
    return publish_update(session, incident=incident, body="我们正在排查", actor=ACTOR, now=at, zone=SHANGHAI)


def _log_outreach(session, incident, at, **extra):  # noqa: ANN001, ANN202
    contact = outreach.add_contact(session, incident=incident, raw={"name": "王女士", "handle": "13800138000"},
                                   actor=ACTOR, now=at)
    return outreach.log_attempt(session, incident=incident, contact=contact, actor=ACTOR, now=at, zone=SHANGHAI,
                                **{"result": "reached", **extra})


def _step(session, incident, step: str, fields: dict, at):  # noqa: ANN001, ANN202
    return cases.record_step(session, incident=incident, step=step, fields=fields, actor=ACTOR, now=at,
                             zone=SHANGHAI)


def _confirm_with_the_customer(session, incident, at):  # noqa: ANN001, ANN202
    _step(session, incident, "facts", FACTS, at)
    _step(session, incident, "plan", PLAN, at)
    return _step(session, incident, "execute", CONFIRMED, at)


# --- outage ----------------------------------------------------------------------------------

def test_outage_first_notice_is_met_by_a_person_publishing(db_session) -> None:  # noqa: ANN001
    incident = _open(db_session, "outage")
    first = _pending(db_session, incident, "first_notice")
    _publish(db_session, incident, T0 + minutes(3))
    _met_by(first, EventKind.PUBLIC_UPDATE)


def test_outage_public_update_is_met_by_a_person_publishing(db_session) -> None:  # noqa: ANN001
    incident = _open(db_session, "outage")
    _publish(db_session, incident, T0 + minutes(3))
    cadence = _pending(db_session, incident, "public_update")
    _publish(db_session, incident, T0 + minutes(10))
    _met_by(cadence, EventKind.PUBLIC_UPDATE)
    assert _pending(db_session, incident, "public_update").sequence == 2


def test_outage_outreach_is_met_by_logging_outreach(db_session) -> None:  # noqa: ANN001
    incident = _open(db_session, "outage")
    _resolve(db_session, incident)
    due = _pending(db_session, incident, "outreach")
    _log_outreach(db_session, incident, T0 + minutes(40), result="no_answer")
    _met_by(due, EventKind.OUTREACH_LOGGED)


def test_outage_follow_up_is_met_by_the_checklist_tick_only(db_session) -> None:  # noqa: ANN001
    incident = _open(db_session, "outage")
    _resolve(db_session, incident)
    follow_up = _pending(db_session, incident, "follow_up")
    # The contact after recovery is the outreach; the follow-up a day later has no record of its own.
    _log_outreach(db_session, incident, T0 + minutes(40))
    assert follow_up.state == DeadlineState.PENDING
    tick_step(db_session, incident=incident, step_key="follow_up", actor=ACTOR, now=T0 + minutes(600), zone=SHANGHAI)
    _met_by(follow_up, EventKind.CHECKLIST_TICKED)


# --- public opinion ------------------------------------------------------------------------------

def test_public_opinion_contact_poster_is_met_by_logging_outreach(db_session) -> None:  # noqa: ANN001
    incident = _open(db_session, "public_opinion")
    contact = _pending(db_session, incident, "contact_poster")
    _log_outreach(db_session, incident, T0 + minutes(20), channel="weibo")
    _met_by(contact, EventKind.OUTREACH_LOGGED)


def test_public_opinion_public_response_is_met_by_a_person_publishing(db_session) -> None:  # noqa: ANN001
    incident = _open(db_session, "public_opinion")
    response = _pending(db_session, incident, "public_response")
    _publish(db_session, incident, T0 + minutes(90))
    _met_by(response, EventKind.PUBLIC_UPDATE)


def test_public_opinion_follow_up_is_met_by_the_customer_confirmation(db_session) -> None:  # noqa: ANN001
    incident = _open(db_session, "public_opinion")
    _resolve(db_session, incident)
    follow_up = _pending(db_session, incident, "follow_up")
    _step(db_session, incident, "facts", FACTS, T0 + minutes(60))
    _step(db_session, incident, "plan", PLAN, T0 + minutes(60))
    _step(db_session, incident, "execute", {**CONFIRMED, "customer_confirmed": ""}, T0 + minutes(70))
    assert follow_up.state == DeadlineState.PENDING  # told, not yet confirmed
    _step(db_session, incident, "execute", CONFIRMED, T0 + minutes(900))
    _met_by(follow_up, EventKind.CASE_STEP_RECORDED)
    assert follow_up.met_by.data["step"] == "execute"


# --- complaint -----------------------------------------------------------------------------------

def test_complaint_supervisor_contact_is_met_by_logging_outreach(db_session) -> None:  # noqa: ANN001
    incident = _open(db_session, "complaint")
    call_back = _pending(db_session, incident, "supervisor_contact")
    _log_outreach(db_session, incident, T0 + minutes(12))
    _met_by(call_back, EventKind.OUTREACH_LOGGED)


def test_complaint_first_plan_is_met_by_recording_the_plan(db_session) -> None:  # noqa: ANN001
    incident = _open(db_session, "complaint")
    first_plan = _pending(db_session, incident, "first_plan")
    _step(db_session, incident, "facts", FACTS, T0 + minutes(30))
    assert first_plan.state == DeadlineState.PENDING  # facts are not a plan
    _step(db_session, incident, "plan", PLAN, T0 + minutes(45))
    _met_by(first_plan, EventKind.CASE_STEP_RECORDED)
    assert first_plan.met_by.data["step"] == "plan"


def test_complaint_progress_report_is_met_by_the_checklist_tick_only(db_session) -> None:  # noqa: ANN001
    incident = _open(db_session, "complaint")
    progress = _pending(db_session, incident, "progress_report")
    # Neither a call nor the case's steps record a progress report as such: the tick does.
    _log_outreach(db_session, incident, T0 + minutes(12))
    _confirm_with_the_customer(db_session, incident, T0 + minutes(60))
    assert progress.state == DeadlineState.PENDING
    tick_step(db_session, incident=incident, step_key="progress", actor=ACTOR, now=T0 + minutes(600), zone=SHANGHAI)
    _met_by(progress, EventKind.CHECKLIST_TICKED)
    assert _pending(db_session, incident, "progress_report").sequence == 2


def test_complaint_return_visit_is_met_by_the_customer_confirmation(db_session) -> None:  # noqa: ANN001
    incident = _open(db_session, "complaint")
    _step(db_session, incident, "facts", FACTS, T0 + minutes(10))
    _step(db_session, incident, "plan", PLAN, T0 + minutes(20))
    _resolve(db_session, incident)
    visit = _pending(db_session, incident, "return_visit")
    _step(db_session, incident, "execute", CONFIRMED, T0 + minutes(800))
    _met_by(visit, EventKind.CASE_STEP_RECORDED)


# --- a promise to one customer -----------------------------------------------------------------

def test_a_promise_is_met_by_the_compensation_confirmed_received(db_session) -> None:  # noqa: ANN001
    incident = _open(db_session, "outage")
    attempt = _log_outreach(db_session, incident, T0 + minutes(5), offer_kind="voucher", offer_value="20",
                            promise="两天内发放 20 元优惠券", promise_due_at=T0 + minutes(2880))
    promise = attempt.deadline
    other = outreach.add_contact(db_session, incident=incident, raw={"name": "李先生", "handle": "13900139000"},
                                 actor=ACTOR, now=T0)
    outreach.log_attempt(db_session, incident=incident, contact=other, result="reached", offer_kind="voucher",
                         offer_value="20", actor=ACTOR, now=T0 + minutes(6), zone=SHANGHAI)
    mine, theirs = db_session.scalars(sa.select(Compensation).order_by(Compensation.id)).all()
    for state in ("accepted", "delivered", "confirmed"):
        outreach.advance_compensation(db_session, incident=incident, compensation=theirs, to=state, actor=ACTOR,
                                      now=T0 + minutes(60), zone=SHANGHAI)
    assert promise.state == DeadlineState.PENDING  # another customer's compensation keeps nobody else's promise
    for state in ("accepted", "delivered"):
        outreach.advance_compensation(db_session, incident=incident, compensation=mine, to=state, actor=ACTOR,
                                      now=T0 + minutes(60), zone=SHANGHAI)
    assert promise.state == DeadlineState.PENDING  # delivered is not received
    outreach.advance_compensation(db_session, incident=incident, compensation=mine, to="confirmed", actor=ACTOR,
                                  now=T0 + minutes(120), zone=SHANGHAI)
    _met_by(promise, EventKind.COMPENSATION_CHANGED)


# --- every rule, and the manual fallback -------------------------------------------------------

MEETS = {
    ("outage", "first_notice"): test_outage_first_notice_is_met_by_a_person_publishing,
    ("outage", "public_update"): test_outage_public_update_is_met_by_a_person_publishing,
    ("outage", "outreach"): test_outage_outreach_is_met_by_logging_outreach,
    ("outage", "follow_up"): test_outage_follow_up_is_met_by_the_checklist_tick_only,
    ("public_opinion", "contact_poster"): test_public_opinion_contact_poster_is_met_by_logging_outreach,
    ("public_opinion", "public_response"): test_public_opinion_public_response_is_met_by_a_person_publishing,
    ("public_opinion", "follow_up"): test_public_opinion_follow_up_is_met_by_the_customer_confirmation,
    ("complaint", "supervisor_contact"): test_complaint_supervisor_contact_is_met_by_logging_outreach,
    ("complaint", "first_plan"): test_complaint_first_plan_is_met_by_recording_the_plan,
    ("complaint", "progress_report"): test_complaint_progress_report_is_met_by_the_checklist_tick_only,
    ("complaint", "return_visit"): test_complaint_return_visit_is_met_by_the_customer_confirmation,
}
DEFAULT_RULES = [(kind.value, raw["key"]) for kind in Kind for raw in playbooks.default_document(kind)["rules"]]


def test_every_default_rule_has_a_test_of_what_meets_it() -> None:
    assert sorted(MEETS) == sorted(DEFAULT_RULES)
    for (kind, key), test in MEETS.items():
        met_by = next(raw["met_by"] for raw in playbooks.default_document(Kind(kind))["rules"] if raw["key"] == key)
        work = [trigger for trigger in met_by if not trigger.startswith("checklist:")]
        assert test.__name__.endswith("checklist_tick_only") == (not work), (kind, key, met_by)


CHECKLIST_LINKED = [(kind, key) for kind, key in DEFAULT_RULES
                    if any(t.startswith("checklist:")
                           for raw in playbooks.default_document(Kind(kind))["rules"] if raw["key"] == key
                           for t in raw["met_by"])]


@pytest.mark.parametrize(("kind", "rule_key"), CHECKLIST_LINKED)
def test_ticking_the_linked_step_stays_the_manual_fallback(db_session, kind: str, rule_key: str) -> None:  # noqa: ANN001
    incident = _open(db_session, kind)
    rule = playbooks.effective_playbook(db_session, Kind(kind)).rule("P2", rule_key)
    if rule.anchor == "resolved":
        _resolve(db_session, incident)
    elif rule.anchor == "public_update":
        _publish(db_session, incident, T0 + minutes(1))
    deadline = _pending(db_session, incident, rule_key)
    (step,) = [t.removeprefix("checklist:") for t in rule.met_by if t.startswith("checklist:")]
    tick_step(db_session, incident=incident, step_key=step, actor=ACTOR, now=deadline.created_at + minutes(1),
              zone=SHANGHAI)
    _met_by(deadline, EventKind.CHECKLIST_TICKED)
