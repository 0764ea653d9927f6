"""The public side's domain at fixed times: component statuses, the 90-day bars, maintenance windows."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from incidents import components, maintenance, public_page, service
from incidents.actors import Actor
from incidents.deadlines import open_deadlines
from incidents.errors import InvalidInput
from incidents.lifecycle import Status
from incidents.models import EventKind, StatusUpdate, TimelineEvent
from incidents.public_models import ComponentStatus, MaintenanceStatus, MaintenanceUpdate
from incidents.publicity import public_version
from incidents.updates import publish_update, set_public_identity
from tests.conftest import FIXED_NOW
from tests.support.reviews import waive_review

ACTOR = Actor.system("test")
SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = FIXED_NOW


def minutes(n: int) -> timedelta:
    return timedelta(minutes=n)


def _component(session, name: str = "下单", **extra):  # noqa: ANN001, ANN202
    return components.save_component(session, data={"name": name, **extra}, actor=ACTOR, now=T0)


def _incident(session, *, public_title: str | None = "下单缓慢", internal_only: bool = False):  # noqa: ANN001, ANN202
    incident = service.open_incident(session, kind="outage", severity="P2", title="内部：库存服务 OOM",
                                     actor=ACTOR, now=T0, zone=SHANGHAI)
    set_public_identity(session, incident=incident, public_title=public_title, internal_only=internal_only,
                        actor=ACTOR, now=T0)
    return incident


def test_an_update_sets_components_and_resolving_returns_them(db_session) -> None:  # noqa: ANN001
    order, pay = _component(db_session), _component(db_session, "支付")
    incident = _incident(db_session)
    publish_update(db_session, incident=incident, body="下单失败率升高", components={order.id: "major_outage"},
                   actor=ACTOR, now=T0 + minutes(3), zone=SHANGHAI)
    assert (order.status, pay.status) == (ComponentStatus.MAJOR_OUTAGE, ComponentStatus.OPERATIONAL)
    publish_update(db_session, incident=incident, body="部分恢复", public_status="monitoring",
                   components={str(order.id): "degraded_performance", pay.id: "degraded_performance"},
                   actor=ACTOR, now=T0 + minutes(20), zone=SHANGHAI)
    assert order.status == pay.status == ComponentStatus.DEGRADED_PERFORMANCE
    resolved = publish_update(db_session, incident=incident, body="已恢复", public_status="resolved",
                              actor=ACTOR, now=T0 + minutes(40), zone=SHANGHAI)
    assert order.status == pay.status == ComponentStatus.OPERATIONAL
    assert resolved.components == [
        {"id": order.id, "status": "operational", "old_status": "degraded_performance"},
        {"id": pay.id, "status": "operational", "old_status": "degraded_performance"},
    ]
    # The first update's snapshot is unchanged by what came later: the history stays exact.
    first = db_session.scalars(sa.select(StatusUpdate).order_by(StatusUpdate.id)).first()
    assert first.components == [{"id": order.id, "status": "major_outage", "old_status": "operational"}]
    shown = public_page.public_incident(db_session, incident.reference)
    assert shown.status == Status.RESOLVED and shown.impact == "critical"
    assert [u.body for u in shown.updates] == ["已恢复", "部分恢复", "下单失败率升高"]


def test_publish_still_meets_the_clock_with_components(db_session) -> None:  # noqa: ANN001
    order = _component(db_session)
    incident = _incident(db_session)
    publish_update(db_session, incident=incident, body="排查中", body_en="Investigating",
                   components={order.id: "partial_outage"}, actor=ACTOR, now=T0 + minutes(4), zone=SHANGHAI)
    cadence = {d.rule_key: d for d in open_deadlines(db_session, incident)}["public_update"]
    assert cadence.due_at == T0 + minutes(14)
    event = db_session.scalars(sa.select(TimelineEvent).where(TimelineEvent.kind == EventKind.PUBLIC_UPDATE)).one()
    assert event.data["components"] == [{"id": order.id, "status": "partial_outage", "old_status": "operational"}]


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"components": {999: "major_outage"}}, "components"),
    ({"components": {"abc": "major_outage"}}, "components"),
    ({"components": {"ORDER": "on_fire"}}, "components"),
    ({"components": {"ORDER": "major_outage"}, "public_status": "resolved"}, "components"),
    ({"body_en": "x" * 5001}, "body_en"),
    ({"body": "   "}, "body"),
    ({"public_status": "closed"}, "public_status"),
])
def test_bad_updates_name_the_field_and_change_nothing(db_session, kwargs, field) -> None:  # noqa: ANN001
    order = _component(db_session)
    incident = _incident(db_session)
    db_session.commit()
    if "components" in kwargs:
        kwargs["components"] = {(order.id if k == "ORDER" else k): v for k, v in kwargs["components"].items()}
    arguments = {"body": "更新", **kwargs}
    with pytest.raises(InvalidInput) as caught:
        publish_update(db_session, incident=incident, actor=ACTOR, now=T0 + minutes(1), zone=SHANGHAI, **arguments)
    assert caught.value.field == field
    db_session.rollback()
    assert db_session.scalar(sa.select(sa.func.count()).select_from(StatusUpdate)) == 0
    assert order.status == ComponentStatus.OPERATIONAL


def test_only_public_incidents_move_components_and_appear(db_session) -> None:  # noqa: ANN001
    order = _component(db_session)
    hidden = _incident(db_session, public_title="下单缓慢", internal_only=True)
    untitled = _incident(db_session, public_title=None)
    for incident in (hidden, untitled):
        publish_update(db_session, incident=incident, body="内部排查", components={order.id: "major_outage"},
                       actor=ACTOR, now=T0 + minutes(2), zone=SHANGHAI)
    assert order.status == ComponentStatus.OPERATIONAL
    assert public_page.active_incidents(db_session) == []
    # Giving it a public face shows it, with what it already said about the component.
    set_public_identity(db_session, incident=untitled, public_title="下单异常", actor=ACTOR, now=T0 + minutes(5))
    assert order.status == ComponentStatus.MAJOR_OUTAGE
    assert [i.title for i in public_page.active_incidents(db_session)] == ["下单异常"]
    set_public_identity(db_session, incident=untitled, public_title="下单异常", internal_only=True, actor=ACTOR,
                        now=T0 + minutes(6))
    assert order.status == ComponentStatus.OPERATIONAL and public_page.active_incidents(db_session) == []


def test_closing_without_a_resolved_update_counts_as_resolved(db_session) -> None:  # noqa: ANN001
    order = _component(db_session)
    incident = _incident(db_session)
    publish_update(db_session, incident=incident, body="处理中", components={order.id: "partial_outage"},
                   actor=ACTOR, now=T0 + minutes(2), zone=SHANGHAI)
    before, _ = public_version(db_session)
    waive_review(db_session, incident, T0 + minutes(30))
    for target in ("resolved", "closed"):
        service.transition_incident(db_session, incident=incident, target=target, expected_version=None,
                                    actor=ACTOR, now=T0 + minutes(30), zone=SHANGHAI)
    assert order.status == ComponentStatus.OPERATIONAL
    assert public_version(db_session)[0] > before
    assert public_page.public_incident(db_session, incident.reference).resolved_at == T0 + minutes(30)


def test_the_worst_claim_wins_and_base_status_counts(db_session) -> None:  # noqa: ANN001
    order = _component(db_session, base_status="degraded_performance")
    assert order.status == ComponentStatus.DEGRADED_PERFORMANCE
    first, second = _incident(db_session), _incident(db_session)
    publish_update(db_session, incident=first, body="a", components={order.id: "partial_outage"}, actor=ACTOR,
                   now=T0 + minutes(1), zone=SHANGHAI)
    publish_update(db_session, incident=second, body="b", components={order.id: "major_outage"}, actor=ACTOR,
                   now=T0 + minutes(2), zone=SHANGHAI)
    assert order.status == ComponentStatus.MAJOR_OUTAGE
    publish_update(db_session, incident=second, body="ok", public_status="resolved", actor=ACTOR,
                   now=T0 + minutes(3), zone=SHANGHAI)
    assert order.status == ComponentStatus.PARTIAL_OUTAGE


def test_history_bars_take_the_worst_status_of_each_local_day(db_session) -> None:  # noqa: ANN001
    # Created 10 days ago, just after local midnight (Shanghai, UTC+8).
    created = T0.astimezone(SHANGHAI).replace(hour=0, minute=5) - timedelta(days=10)
    order = components.save_component(db_session, data={"name": "下单"}, actor=ACTOR, now=created)
    incident = _incident(db_session)
    day3 = created + timedelta(days=3)
    publish_update(db_session, incident=incident, body="a", components={order.id: "major_outage"}, actor=ACTOR,
                   now=day3 + timedelta(hours=23), zone=SHANGHAI)  # 23:05 local, held past midnight
    publish_update(db_session, incident=incident, body="b", components={order.id: "degraded_performance"},
                   actor=ACTOR, now=day3 + timedelta(hours=25), zone=SHANGHAI)
    publish_update(db_session, incident=incident, body="c", public_status="resolved", actor=ACTOR,
                   now=day3 + timedelta(hours=47, minutes=55), zone=SHANGHAI)  # 23:00 local on day 4
    bars = components.history(db_session, [order], now=T0, zone=SHANGHAI)[order.id]
    assert len(bars) == 90
    today = T0.astimezone(SHANGHAI).date()
    by_day = {bar.day: bar.status for bar in bars}
    assert by_day[today - timedelta(days=11)] is None  # before it existed
    assert by_day[today - timedelta(days=10)] == ComponentStatus.OPERATIONAL
    assert by_day[today - timedelta(days=7)] == ComponentStatus.MAJOR_OUTAGE
    assert by_day[today - timedelta(days=6)] == ComponentStatus.MAJOR_OUTAGE  # the outage ran past midnight
    assert by_day[today - timedelta(days=5)] == ComponentStatus.OPERATIONAL
    assert by_day[today] == ComponentStatus.OPERATIONAL


def _window(db_session, start, end, comps):  # noqa: ANN001, ANN202
    return maintenance.schedule_maintenance(
        db_session, data={"title": "数据库升级", "title_en": "Database upgrade", "scheduled_start": start,
                          "scheduled_end": end, "components": [c.id for c in comps]}, actor=ACTOR, now=T0)


def test_maintenance_starts_and_ends_by_itself(db_session) -> None:  # noqa: ANN001
    order = _component(db_session)
    window = _window(db_session, T0 + minutes(60), T0 + minutes(120), [order])
    assert maintenance.advance_windows(db_session, now=T0 + minutes(59)) == []
    started = maintenance.advance_windows(db_session, now=T0 + minutes(60))
    assert [(u.status, u.automatic) for u in started] == [(MaintenanceStatus.IN_PROGRESS, True)]
    assert window.status == MaintenanceStatus.IN_PROGRESS and window.started_at == T0 + minutes(60)
    assert order.status == ComponentStatus.UNDER_MAINTENANCE
    assert maintenance.advance_windows(db_session, now=T0 + minutes(61)) == []
    ended = maintenance.advance_windows(db_session, now=T0 + minutes(120))
    assert [u.status for u in ended] == [MaintenanceStatus.COMPLETED]
    assert window.completed_at == T0 + minutes(120) and order.status == ComponentStatus.OPERATIONAL


def test_a_missed_window_is_started_and_completed_in_one_tick(db_session) -> None:  # noqa: ANN001
    window = _window(db_session, T0 + minutes(5), T0 + minutes(10), [])
    written = maintenance.advance_windows(db_session, now=T0 + minutes(30))
    assert [u.status for u in written] == [MaintenanceStatus.IN_PROGRESS, MaintenanceStatus.COMPLETED]
    assert window.status == MaintenanceStatus.COMPLETED


def test_two_workers_never_announce_the_same_start(engine, db_session) -> None:  # noqa: ANN001
    _window(db_session, T0 + minutes(5), T0 + minutes(60), [])
    db_session.commit()
    with sa.orm.Session(engine) as first, sa.orm.Session(engine) as second:
        # Both read the window as scheduled; only one claim can win.
        assert len(maintenance.advance_windows(first, now=T0 + minutes(5))) == 1
        first.commit()
        assert maintenance.advance_windows(second, now=T0 + minutes(5)) == []
        second.commit()
    assert db_session.scalar(sa.select(sa.func.count()).select_from(MaintenanceUpdate)) == 2


@pytest.mark.parametrize(("start", "end", "field"), [
    (T0 + minutes(60), T0 + minutes(30), "scheduled_end"),
    (T0 - minutes(60), T0 - minutes(30), "scheduled_end"),
    (T0, T0 + timedelta(days=15), "scheduled_end"),
    (None, T0 + minutes(30), "scheduled_start"),
])
def test_bad_windows_are_refused(db_session, start, end, field) -> None:  # noqa: ANN001
    with pytest.raises(InvalidInput) as caught:
        maintenance.schedule_maintenance(db_session, data={"title": "升级", "scheduled_start": start,
                                                           "scheduled_end": end}, actor=ACTOR, now=T0)
    assert caught.value.field == field


def test_maintenance_updates_only_move_forward_and_cancel_hides(db_session) -> None:  # noqa: ANN001
    order = _component(db_session)
    window = _window(db_session, T0 - minutes(1), T0 + minutes(60), [order])
    maintenance.post_maintenance_update(db_session, maintenance=window, body="开始", status="in_progress",
                                        actor=ACTOR, now=T0)
    assert order.status == ComponentStatus.UNDER_MAINTENANCE
    with pytest.raises(InvalidInput) as caught:
        maintenance.post_maintenance_update(db_session, maintenance=window, body="回退", status="scheduled",
                                            actor=ACTOR, now=T0)
    assert caught.value.reason == "backwards"
    maintenance.cancel_maintenance(db_session, maintenance=window, actor=ACTOR, now=T0 + minutes(2))
    assert order.status == ComponentStatus.OPERATIONAL
    assert maintenance.upcoming_and_active(db_session) == []
    with pytest.raises(InvalidInput):
        maintenance.post_maintenance_update(db_session, maintenance=window, body="x", actor=ACTOR, now=T0)


def test_the_worker_job_is_registered_once_and_advances_windows(engine, db_session) -> None:  # noqa: ANN001
    from apscheduler.schedulers.background import BackgroundScheduler

    from console import statuspage_jobs
    from incidents.timeutil import utcnow

    scheduler = BackgroundScheduler(timezone="UTC")
    scheduler.start(paused=True)  # a real job store, nothing ever runs
    factory = sa.orm.sessionmaker(bind=engine, expire_on_commit=False)
    try:
        statuspage_jobs.register(scheduler, {}, factory)
        statuspage_jobs.register(scheduler, {"MAINTENANCE_TICK_SECONDS": 10}, factory)  # replaces, never doubles
        (job,) = scheduler.get_jobs()
    finally:
        scheduler.shutdown(wait=False)
    assert (job.id, job.max_instances, job.coalesce) == (statuspage_jobs.JOB_ID, 1, True)
    assert job.trigger.interval == timedelta(seconds=10)
    now = utcnow()
    maintenance.schedule_maintenance(db_session, data={"title": "升级", "scheduled_start": now - minutes(1),
                                                       "scheduled_end": now + minutes(30)}, actor=ACTOR, now=now)
    db_session.commit()
    assert statuspage_jobs.advance_maintenance(factory) == 1
    assert statuspage_jobs.advance_maintenance(factory) == 0
