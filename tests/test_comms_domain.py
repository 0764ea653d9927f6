"""The comms desk's domain at fixed times: scripts and variables, sign-off, holding statements, talking points."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from incidents import comms, components, holding, scripts, service, talking_points
from incidents.accounts import create_user
from incidents.actors import Actor
from incidents.comms_models import DraftState, HoldingClaim
from incidents.deadlines import open_deadlines
from incidents.errors import InvalidInput
from incidents.escalation import fire_due
from incidents.lifecycle import Kind
from incidents.models import AuditRecord, DeadlineState, EventKind, StatusUpdate, TimelineEvent
from incidents.updates import publish_update, set_public_identity
from tests.conftest import FIXED_NOW

ACTOR = Actor.system("test")
SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = FIXED_NOW


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


def _incident(session, *, kind: str = "outage", severity: str = "P1", public_title: str | None = "部分用户下单失败"):  # noqa: ANN001, ANN202
    incident = service.open_incident(session, kind=kind, severity=severity, title="内部：订单库主从延迟",
                                     actor=ACTOR, now=T0, zone=SHANGHAI)
    set_public_identity(session, incident=incident, public_title=public_title, public_title_en="Some orders fail",
                        actor=ACTOR, now=T0)
    return incident


def _order(session):  # noqa: ANN001, ANN202
    return components.save_component(session, data={"name": "下单", "name_en": "Ordering"}, actor=ACTOR, now=T0)


# --- variables -------------------------------------------------------------------------------

def test_placeholders_know_the_library_and_refuse_the_rest() -> None:
    assert scripts.placeholders("{components} 于 {eta} 恢复，{components}", field="zh") == ["components", "eta"]
    assert scripts.fill("{{字面}} {eta}", {"eta": "15:30"}, field="zh") == "{字面} 15:30"
    with pytest.raises(InvalidInput) as unknown:
        scripts.placeholders("预计 {etaa} 恢复", field="zh")
    assert (unknown.value.field, unknown.value.reason, unknown.value.params["name"]) == ("zh", "unknown_variable", "etaa")
    with pytest.raises(InvalidInput) as stray:
        scripts.placeholders("预计 {eta 恢复", field="zh")
    assert stray.value.reason == "stray_brace"
    with pytest.raises(InvalidInput) as attribute:
        scripts.placeholders("{eta.__class__}", field="en")
    assert attribute.value.reason == "unknown_variable"


def test_an_empty_variable_is_an_error_never_a_half_filled_text() -> None:
    with pytest.raises(InvalidInput) as empty:
        scripts.fill("进展：{progress}", {"progress": "   "}, field="zh")
    assert (empty.value.field, empty.value.reason) == ("var_progress", "variable_empty")


def test_every_default_script_parses_and_holding_scripts_need_nobody() -> None:
    for kind in Kind:
        for purpose in scripts.PURPOSES:
            script = scripts.default_script(kind, purpose)
            assert script is not None, (kind, purpose)
            assert script.zh and script.en
            used = script.variables()
            if purpose == scripts.HOLDING:
                assert set(used) <= scripts.AUTOMATIC


# --- the library's versions -------------------------------------------------------------------

def test_saving_a_script_makes_a_version_and_audits_it(db_session) -> None:  # noqa: ANN001
    assert scripts.current(db_session, Kind.OUTAGE, "progress").source == "defaults v1"
    saved = scripts.save_script(db_session, kind=Kind.OUTAGE, purpose="progress", zh="进展：{progress}",
                                en="Progress: {progress}", public_status="identified", actor=ACTOR, now=T0)
    again = scripts.save_script(db_session, kind=Kind.OUTAGE, purpose="progress", zh="进展：{progress}",
                                en="Progress: {progress}", public_status="identified", actor=ACTOR, now=T0)
    second = scripts.save_script(db_session, kind=Kind.OUTAGE, purpose="progress", zh="最新进展：{progress}",
                                 actor=ACTOR, now=T0 + minutes(1))
    assert (saved.version, again.version, second.version) == (1, 1, 2)
    assert [s.version for s in scripts.versions(db_session, Kind.OUTAGE, "progress")] == [2, 1, 0]
    assert scripts.current(db_session, Kind.OUTAGE, "progress").zh == "最新进展：{progress}"
    audits = db_session.scalars(sa.select(AuditRecord).where(AuditRecord.action == "script.saved")).all()
    assert [a.after["version"] for a in audits] == [1, 2]
    assert audits[0].before["source"] == "defaults v1"


@pytest.mark.parametrize(("purpose", "zh", "field", "reason"), [
    ("progress", "", "zh", "required"),
    ("progress", "进展 {unknown}", "zh", "unknown_variable"),
    ("progress", "x" * 5001, "zh", "too_long"),
    ("holding", "我们仍在处理，预计 {eta} 恢复", "zh", "holding_variables"),
    ("gossip", "随便说说", "purpose", "choice"),
])
def test_a_bad_script_is_refused_whole(db_session, purpose, zh, field, reason) -> None:  # noqa: ANN001
    with pytest.raises(InvalidInput) as error:
        scripts.save_script(db_session, kind=Kind.OUTAGE, purpose=purpose, zh=zh, actor=ACTOR, now=T0)
    assert (error.value.field, error.value.reason) == (field, reason)
    assert db_session.scalar(sa.select(sa.func.count()).select_from(AuditRecord)) == 0


# --- composing -----------------------------------------------------------------------------------

def test_render_fills_both_languages_with_the_components_names(db_session) -> None:  # noqa: ANN001
    order, incident = _order(db_session), _incident(db_session)
    script = scripts.current(db_session, Kind.OUTAGE, "first_notice")
    rendered = comms.render(db_session, incident, comms.Composition(
        zh=script.zh, en=script.en, values={"eta": "15:30", "eta_en": "15:30", "next_update_at": "10:10"},
        public_status="investigating", components={str(order.id): "major_outage"}))
    assert "下单出现异常" in rendered.body and "15:30" in rendered.body and "10:10" in rendered.body
    assert rendered.body_en.startswith("We are seeing problems with Ordering")
    assert "{" not in rendered.body + rendered.body_en


@pytest.mark.parametrize(("zh", "en", "values", "chosen", "field", "reason"), [
    ("进展：{progress}", "", {}, False, "var_progress", "variable_empty"),
    ("进展：{progress}", "Progress: {progress}", {"progress": "已定位"}, False, "var_progress_en", "variable_empty_en"),
    ("{components} 异常", "", {}, False, "components", "needs_components"),
    ("预计 {etta}", "", {}, False, "zh", "unknown_variable"),
])
def test_render_names_the_variable_at_fault(db_session, zh, en, values, chosen, field, reason) -> None:  # noqa: ANN001
    incident = _incident(db_session)
    with pytest.raises(InvalidInput) as error:
        comms.render(db_session, incident, comms.Composition(zh=zh, en=en, values=values))
    assert (error.value.field, error.value.reason) == (field, reason)


def test_title_needs_a_public_title(db_session) -> None:  # noqa: ANN001
    incident = _incident(db_session, public_title=None)
    with pytest.raises(InvalidInput) as error:
        comms.render(db_session, incident, comms.Composition(zh="关于“{title}”"))
    assert error.value.reason == "needs_public_title"


def test_submit_without_signoff_publishes_and_meets_the_deadline(db_session) -> None:  # noqa: ANN001
    order, incident = _order(db_session), _incident(db_session)
    update = comms.submit(db_session, incident=incident, composition=comms.Composition(
        zh="{components}异常，正在处理", public_status="investigating", components={str(order.id): "partial_outage"},
        script="outage.first_notice", script_version=0), may_approve=False, actor=ACTOR,
        now=T0 + minutes(2), zone=SHANGHAI)
    assert isinstance(update, StatusUpdate) and update.body == "下单异常，正在处理"
    event = db_session.scalar(sa.select(TimelineEvent).where(TimelineEvent.kind == EventKind.PUBLIC_UPDATE))
    assert event.data["script"] == "outage.first_notice" and event.data["met"][0]["rule"] == "first_notice"


# --- sign-off ------------------------------------------------------------------------------------

def _require_signoff(session) -> None:  # noqa: ANN001
    comms.save_comms_settings(session, {"signoff": {"outage": ["P1"]}}, actor=ACTOR, now=T0)


def test_a_draft_waits_on_its_own_deadline_and_approval_publishes_it(db_session) -> None:  # noqa: ANN001
    _require_signoff(db_session)
    incident = _incident(db_session)
    draft = comms.submit(db_session, incident=incident, composition=comms.Composition(zh="正在处理"),
                         may_approve=False, actor=ACTOR, now=T0 + minutes(1), zone=SHANGHAI)
    assert draft.state == DraftState.PENDING
    assert db_session.scalar(sa.select(sa.func.count()).select_from(StatusUpdate)) == 0
    signoff = draft.deadline
    assert (signoff.rule_key, signoff.owner, signoff.due_at) == ("signoff", "duty_manager", T0 + minutes(4))
    # Waiting shows on the clock and escalates like any deadline.
    report = fire_due(db_session, now=T0 + minutes(4), zone=SHANGHAI)
    assert report.steps >= 1 and signoff.state == DeadlineState.MISSED
    update = comms.approve(db_session, incident=incident, draft=draft, actor=Actor("Duty"), now=T0 + minutes(5),
                           zone=SHANGHAI)
    assert update.body == "正在处理" and draft.update_id == update.id and draft.state == DraftState.APPROVED
    assert signoff.state == DeadlineState.MET
    first_notice = next(d for d in incident_deadlines_by_rule(db_session, incident) if d.rule_key == "first_notice")
    assert first_notice.state == DeadlineState.MET
    with pytest.raises(InvalidInput) as twice:
        comms.reject(db_session, incident=incident, draft=draft, reason="晚了", actor=ACTOR, now=T0 + minutes(6),
                     zone=SHANGHAI)
    assert twice.value.reason == "draft_decided"


def incident_deadlines_by_rule(session, incident):  # noqa: ANN001, ANN201
    from incidents.deadlines import incident_deadlines
    return incident_deadlines(session, incident)


def test_rejecting_needs_a_reason_and_publishes_nothing(db_session) -> None:  # noqa: ANN001
    _require_signoff(db_session)
    incident = _incident(db_session)
    draft = comms.submit(db_session, incident=incident, composition=comms.Composition(zh="正在处理"),
                         may_approve=False, actor=ACTOR, now=T0, zone=SHANGHAI)
    with pytest.raises(InvalidInput) as no_reason:
        comms.reject(db_session, incident=incident, draft=draft, reason=" ", actor=ACTOR, now=T0, zone=SHANGHAI)
    assert no_reason.value.field == "reason"
    comms.reject(db_session, incident=incident, draft=draft, reason="语气太随意", actor=ACTOR, now=T0 + minutes(1),
                 zone=SHANGHAI)
    assert draft.state == DraftState.REJECTED and draft.deadline.state == DeadlineState.MET
    assert db_session.scalar(sa.select(sa.func.count()).select_from(StatusUpdate)) == 0
    assert "first_notice" in {d.rule_key for d in open_deadlines(db_session, incident)}


def test_closing_withdraws_a_draft_still_waiting_for_signoff(db_session) -> None:  # noqa: ANN001
    from incidents import reviews

    _require_signoff(db_session)
    incident = _incident(db_session)
    draft = comms.submit(db_session, incident=incident, composition=comms.Composition(zh="正在处理"),
                         may_approve=False, actor=ACTOR, now=T0, zone=SHANGHAI)
    for target in ("resolved", "closed"):
        if target == "closed":
            reviews.waive_review(db_session, incident=incident, reason="演练", actor=ACTOR, now=T0 + minutes(1))
        service.transition_incident(db_session, incident=incident, target=target, expected_version=None,
                                    actor=Actor("Duty"), now=T0 + minutes(2), zone=SHANGHAI)
    db_session.refresh(draft)
    assert (draft.state, draft.decided_by_label) == (DraftState.WITHDRAWN, "Duty")
    assert draft.deadline.state == DeadlineState.WAIVED
    closing = db_session.scalars(sa.select(TimelineEvent).where(TimelineEvent.kind == EventKind.STATUS_CHANGED)
                                 .order_by(TimelineEvent.id.desc())).first()
    assert closing.data["withdrawn_drafts"] == [draft.id]
    with pytest.raises(InvalidInput) as late:
        comms.approve(db_session, incident=incident, draft=draft, actor=ACTOR, now=T0 + minutes(3), zone=SHANGHAI)
    assert late.value.reason in ("draft_decided", "closed")
    assert db_session.scalar(sa.select(sa.func.count()).select_from(StatusUpdate)) == 0


def test_an_approver_publishes_directly_and_the_timeline_says_so(db_session) -> None:  # noqa: ANN001
    _require_signoff(db_session)
    incident = _incident(db_session)
    update = comms.submit(db_session, incident=incident, composition=comms.Composition(zh="正在处理"),
                          may_approve=True, actor=ACTOR, now=T0, zone=SHANGHAI)
    event = db_session.scalar(sa.select(TimelineEvent).where(TimelineEvent.kind == EventKind.PUBLIC_UPDATE))
    assert isinstance(update, StatusUpdate) and event.data["signoff"] == "self"


def test_signoff_only_for_the_configured_severity(db_session) -> None:  # noqa: ANN001
    _require_signoff(db_session)
    incident = _incident(db_session, severity="P3")
    assert isinstance(comms.submit(db_session, incident=incident, composition=comms.Composition(zh="处理中"),
                                   may_approve=False, actor=ACTOR, now=T0, zone=SHANGHAI), StatusUpdate)


@pytest.mark.parametrize(("value", "field"), [
    ({"signoff": {"outage": ["P9"]}}, "signoff.outage"),
    ({"signoff": {"meteor": ["P1"]}}, "signoff"),
    ({"holding": {"outage": "yes"}}, "holding.outage"),
    ({"signoff_minutes": 0}, "signoff_minutes"),
    ({"holding_after_minutes": "soon"}, "holding_after_minutes"),
    ({"colour": "red"}, "colour"),
])
def test_bad_settings_are_refused(db_session, value, field) -> None:  # noqa: ANN001
    with pytest.raises(InvalidInput) as error:
        comms.save_comms_settings(db_session, value, actor=ACTOR, now=T0)
    assert error.value.field == field
    assert comms.comms_settings(db_session)["signoff"]["outage"] == []


# --- holding statements -------------------------------------------------------------------------

def test_the_holding_statement_goes_out_once_when_the_update_is_overdue(db_session) -> None:  # noqa: ANN001
    incident = _incident(db_session)
    publish_update(db_session, incident=incident, body="正在排查", actor=ACTOR, now=T0 + minutes(1), zone=SHANGHAI)
    # The update deadline is due at +11 minutes; the statement waits 2 minutes more.
    assert holding.publish_holding_statements(db_session, now=T0 + minutes(12.9), zone=SHANGHAI) == []
    published = holding.publish_holding_statements(db_session, now=T0 + minutes(13), zone=SHANGHAI)
    assert len(published) == 1
    statement = published[0]
    assert statement.automatic and statement.published_by_label == "holding statement"
    assert "10:23" in statement.body  # 02:13 UTC + 10 minutes, in Shanghai
    assert statement.body_en.startswith("We are still working")
    event = db_session.scalar(sa.select(TimelineEvent).where(TimelineEvent.kind == EventKind.PUBLIC_UPDATE)
                              .order_by(TimelineEvent.id.desc()).limit(1))
    assert event.data["automatic"] is True and event.data["script"] == "outage.holding"
    assert db_session.scalar(sa.select(HoldingClaim.update_id)) == statement.id
    # Never twice in a row: the next overdue deadline is left to the people (escalation goes on).
    assert holding.publish_holding_statements(db_session, now=T0 + minutes(40), zone=SHANGHAI) == []


def test_a_claimed_deadline_is_not_published_again(db_session) -> None:  # noqa: ANN001
    incident = _incident(db_session)
    deadline = open_deadlines(db_session, incident)[0]
    db_session.add(HoldingClaim(deadline_id=deadline.id, incident_id=incident.id, claimed_at=T0))
    db_session.flush()
    assert holding.publish_holding_statements(db_session, now=T0 + minutes(30), zone=SHANGHAI) == []


def test_holding_off_for_the_kind_and_internal_incidents(db_session) -> None:  # noqa: ANN001
    _incident(db_session, kind="complaint")
    hidden = _incident(db_session)
    set_public_identity(db_session, incident=hidden, public_title="x", internal_only=True, actor=ACTOR, now=T0)
    assert holding.publish_holding_statements(db_session, now=T0 + minutes(60), zone=SHANGHAI) == []
    comms.save_comms_settings(db_session, {"holding": {"outage": False}}, actor=ACTOR, now=T0)
    _incident(db_session)
    assert holding.publish_holding_statements(db_session, now=T0 + minutes(60), zone=SHANGHAI) == []


def test_a_holding_script_that_cannot_be_filled_stays_quiet(db_session) -> None:  # noqa: ANN001
    scripts.save_script(db_session, kind=Kind.OUTAGE, purpose="holding", zh="{components}仍在处理中", actor=ACTOR,
                        now=T0)
    _incident(db_session)
    assert holding.publish_holding_statements(db_session, now=T0 + minutes(60), zone=SHANGHAI) == []
    assert db_session.scalar(sa.select(sa.func.count()).select_from(HoldingClaim)) == 0


# --- talking points ----------------------------------------------------------------------------

def test_talking_points_versions_and_who_confirmed(db_session) -> None:  # noqa: ANN001
    incident = _incident(db_session)
    agents = [create_user(db_session, username=f"agent{n}", password="correct-horse-battery", role="agent",
                          display_name=f"Agent {n}", actor=ACTOR, now=T0) for n in (1, 2)]
    first = talking_points.publish(db_session, incident=incident, body="告诉客户：订单不会丢失", actor=ACTOR, now=T0)
    assert talking_points.publish(db_session, incident=incident, body="告诉客户：订单不会丢失", actor=ACTOR,
                                  now=T0).version == 1
    assert talking_points.confirm(db_session, points=first, user_id=agents[0].id, actor=Actor(label="agent", user_id=agents[0].id), now=T0 + minutes(1)) is True
    assert talking_points.confirm(db_session, points=first, user_id=agents[0].id, actor=Actor(label="agent", user_id=agents[0].id), now=T0 + minutes(2)) is False
    readers = talking_points.readers(db_session, first)
    assert [(r.user.username, r.confirmed_at is not None) for r in readers] == [("agent2", False), ("agent1", True)]
    second = talking_points.publish(db_session, incident=incident, body="告诉客户：订单不会丢失，补偿自动发放",
                                    actor=ACTOR, now=T0 + minutes(5))
    assert second.version == 2
    assert all(r.confirmed_at is None for r in talking_points.readers(db_session, second))
    mine = talking_points.for_person(db_session, agents[0].id)
    assert [(a.points.version, a.confirmed_at) for a in mine] == [(2, None)]
    with pytest.raises(InvalidInput):
        talking_points.publish(db_session, incident=incident, body="  ", actor=ACTOR, now=T0)


def test_the_worker_job_is_registered_once_and_publishes_holding_statements(engine, db_session) -> None:  # noqa: ANN001
    from apscheduler.schedulers.background import BackgroundScheduler

    from console import comms_jobs
    from incidents.timeutil import utcnow

    scheduler = BackgroundScheduler(timezone="UTC")
    scheduler.start(paused=True)  # a real job store, nothing ever runs
    factory = sa.orm.sessionmaker(bind=engine, expire_on_commit=False)
    try:
        comms_jobs.register(scheduler, {"TIMEZONE": "Asia/Shanghai"}, factory)
        comms_jobs.register(scheduler, {"TIMEZONE": "Asia/Shanghai", "HOLDING_TICK_SECONDS": 10}, factory)
        (job,) = scheduler.get_jobs()
    finally:
        scheduler.shutdown(wait=False)
    assert (job.id, job.max_instances, job.coalesce) == (comms_jobs.JOB_ID, 1, True)
    assert job.trigger.interval == timedelta(seconds=10)
    incident = service.open_incident(db_session, kind="outage", severity="P2", title="支付超时", actor=ACTOR,
                                      now=utcnow() - minutes(8), zone=SHANGHAI)  # first notice due 3 minutes ago
    db_session.commit()
    assert comms_jobs.holding_tick(factory, SHANGHAI) == 1
    assert comms_jobs.holding_tick(factory, SHANGHAI) == 0
    db_session.expire_all()
    assert [u.automatic for u in db_session.scalars(sa.select(StatusUpdate).where(
        StatusUpdate.incident_id == incident.id))] == [True]
